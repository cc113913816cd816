"""axon.backend.numpy.threads: the BLAS thread count, batch halves on two threads, one-thread
BLAS sections, deferred work, and products whose bits depend on their shapes alone.

Every test here checks behaviour that holds whatever the machine's load: results,
restored settings, errors that come back, which pieces ran. Where a test needs the
helper thread to have done something by itself (the watchdog parking it), it waits with
a deadline of a minute, never a guess of how long it takes.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

import axon as ax
from axon import nn
from axon.backend.numpy import threads
from tests.helpers import assert_close, assert_equal

needs_blas = pytest.mark.skipif(not threads.blas_found, reason="no OpenBLAS axon can steer")
needs_spin = pytest.mark.skipif(threads._spin is None, reason="no pthread spin locks (not glibc)")
DEADLINE = 60.0  # seconds: for what a loaded machine may take, never to pass a test


@pytest.fixture
def two_threads(monkeypatch):
    """Behave as on a 2-core machine whatever this one has."""
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)


@pytest.fixture
def blas_count():
    """Gives the BLAS thread count back after the test."""
    before = threads.get_num_threads()
    yield
    threads.set_num_threads(before)


def run_in_thread(fn, name="test-thread"):
    """Run ``fn`` on another Python thread and return (thread, box): box holds its
    value or its error once the thread ends."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as error:  # noqa: BLE001 - the test reads it
            box["error"] = error

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread, box


# ---------------------------------------------------------------- two batch halves


def test_run_halves_covers_the_batch_once_on_two_threads(two_threads):
    seen, names = [], set()

    def body(part):
        seen.append(part)
        names.add(threading.current_thread().name)

    assert threads.run_halves(body, 7)
    assert sorted((p.start, p.stop) for p in seen) == [(0, 3), (3, 7)]
    assert names == {threading.current_thread().name, "axon-split"}


def test_run_halves_declines_one_item_one_thread_or_a_nested_split(monkeypatch):
    calls = []
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    assert not threads.run_halves(calls.append, 1)
    inner = []

    def outer(part):
        inner.append(threads.run_halves(calls.append, 4))

    assert threads.run_halves(outer, 4)
    assert inner == [False, False] and calls == []
    monkeypatch.setattr(threads, "get_num_threads", lambda: 1)
    assert not threads.run_halves(calls.append, 4) and calls == []


def test_run_halves_raises_the_helpers_error_and_stays_usable(two_threads):
    def body(part):
        if part.start > 0:
            raise ValueError("second half failed")

    with pytest.raises(ValueError, match="second half"):
        threads.run_halves(body, 4)
    assert not threads._busy.locked()
    assert threads.run_halves(lambda part: None, 4)  # the lock was released


@pytest.mark.parametrize("refused_by", ["one thread", "the lock", "nothing"])
def test_halves_runs_the_same_two_pieces_whether_the_split_runs_or_not(monkeypatch, refused_by):
    """The pieces never depend on whether the split ran: a sum over the batch adds the
    same two partial sums either way (refused: in order, on the caller's thread)."""
    monkeypatch.setattr(threads, "get_num_threads", lambda: 1 if refused_by == "one thread" else 2)
    seen = []
    if refused_by == "the lock":
        with threads._busy:
            threads.halves(lambda part: seen.append((part.start, part.stop)), 9)
    else:
        threads.halves(lambda part: seen.append((part.start, part.stop)), 9)
    assert sorted(seen) == [(0, 4), (4, 9)]
    if refused_by != "nothing":
        assert seen == [(0, 4), (4, 9)]  # in order
    seen.clear()
    threads.halves(lambda part: seen.append((part.start, part.stop)), 1)
    assert seen == [(0, 1)]  # a batch of one is one piece


@needs_blas
@pytest.mark.parametrize("refused", [False, True])
def test_halves_of_products_run_on_one_blas_thread_either_way(two_threads, blas_count, refused):
    threads.set_num_threads(2)
    counts = []

    def body(part):
        counts.append(threads._blas[1]())

    if refused:
        with threads._busy:
            threads.halves(body, 4, products=True)
    else:
        threads.halves(body, 4, products=True)
    assert counts == [1, 1]
    assert threads._blas[1]() == 2  # given back


@needs_spin
def test_spinning_helper_parks_when_idle_and_wakes_again(two_threads):
    assert threads.run_halves(lambda part: None, 4)
    helper = threads._helper
    assert isinstance(helper, threads._SpinningHelper)
    helper._park_if_idle(0.0)  # the watchdog's step, now (it may have parked it already)
    assert not helper._awake.is_set()
    assert not helper._park_if_idle(0.0)  # parked already: nothing to do
    seen, names = [], set()

    def body(part):
        seen.append((part.start, part.stop))
        names.add(threading.current_thread().name)

    assert threads.run_halves(body, 6)  # wakes it
    assert sorted(seen) == [(0, 3), (3, 6)] and threads._helper is helper
    assert names == {threading.current_thread().name, "axon-split"}


@needs_spin
def test_the_watchdog_parks_the_helper_by_itself(monkeypatch, two_threads):
    monkeypatch.setattr(threads, "spin_window", 0.01)
    assert threads.run_halves(lambda part: None, 4)
    helper = threads._helper
    deadline = time.monotonic() + DEADLINE
    while helper._awake.is_set() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not helper._awake.is_set()


@needs_spin
def test_a_split_that_comes_while_the_helper_is_parked_waits_and_is_never_refused(two_threads):
    """The watchdog parks under ``_handoff``, not the split lock: a split that comes
    meanwhile waits for the park to end and then runs on two threads (it used to be
    refused, and the test that saw it failed on loaded machines)."""
    assert threads.run_halves(lambda part: None, 4)
    helper = threads._helper
    names = set()
    with helper._handoff:  # as the watchdog holds it while it parks the helper
        thread, box = run_in_thread(
            lambda: threads.run_halves(lambda part: names.add(threading.current_thread().name), 4),
            name="caller",
        )
        thread.join(0.05)  # the caller waits for the hand-off (it may not have come yet)
    thread.join(DEADLINE)
    assert not thread.is_alive()
    assert box == {"value": True} and names == {"caller", "axon-split"}


@needs_spin
def test_parking_a_helper_that_is_late_back_to_its_wait_never_deadlocks(monkeypatch):
    """A helper descheduled between one job and its wait for the next (a loaded machine)
    while the watchdog parks it: the watchdog used to clear ``_awake`` first, so the
    helper slept at that wait and the watchdog spun for its answer forever, holding
    ``_handoff`` (CI hung in a convolution's backward). The helper is held at that point
    here, and the park must still end."""
    monkeypatch.setattr(threads, "spin_window", 1e6)  # its own watchdog stays out of it

    class Late(threads._SpinningHelper):
        def __init__(self, *spin):
            self.gate, self.at_gate, self.hold = threading.Event(), threading.Event(), False
            super().__init__(*spin)

        def _between_jobs(self):
            if self.hold:
                self.at_gate.set()
                self.gate.wait(DEADLINE)

    helper = Late(*threads._spin)
    ran = []
    helper.hold = True
    helper.start(lambda: ran.append(1))
    helper.wait()
    assert ran == [1] and helper.at_gate.wait(DEADLINE)  # the helper is held, late
    parking, box = run_in_thread(lambda: helper._park_if_idle(0.0), name="watchdog")
    parking.join(0.05)  # the park begins while the helper is away
    helper.hold = False
    helper.gate.set()
    parking.join(DEADLINE)
    assert not parking.is_alive(), "the park never ended: helper and watchdog deadlocked"
    assert box == {"value": True} and not helper._awake.is_set()
    helper.start(lambda: ran.append(2))  # and a parked helper still wakes for a job
    helper.wait()
    assert ran == [1, 2]
    # parked for good: its watchdog sleeps for spin_window = 1e6 s, and a helper left
    # spinning took a core from every test after this one (they ran up to 2.5x slower)
    assert helper._park_if_idle(0.0) and not helper._awake.is_set()


def test_sleeping_helper_runs_the_other_half_and_raises_its_error(monkeypatch, two_threads):
    """Where glibc's spin locks are missing, a ThreadPoolExecutor is the helper."""
    monkeypatch.setattr(threads, "_helper", threads._SleepingHelper())
    names, seen = set(), []

    def body(part):
        seen.append((part.start, part.stop))
        names.add(threading.current_thread().name)

    assert threads.run_halves(body, 5)
    assert sorted(seen) == [(0, 2), (2, 5)] and len(names) == 2

    def fails(part):
        if part.start:
            raise KeyError("helper's half")

    with pytest.raises(KeyError, match="helper's half"):
        threads.run_halves(fails, 4)
    assert threads.run_halves(lambda part: None, 4)


# ---------------------------------------------------------------- thread counts


@needs_blas
def test_set_num_threads_steers_the_blas(blas_count):
    threads.set_num_threads(1)
    assert threads.get_num_threads() == 1 == threads._blas[1]()
    threads.set_num_threads(2)
    assert threads.get_num_threads() == 2
    assert ax.get_num_threads() == 2
    with pytest.raises(ValueError, match="positive number of threads, got 0"):
        threads.set_num_threads(0)


@needs_blas
def test_one_blas_thread_restores_the_count_even_on_error(blas_count):
    threads.set_num_threads(2)
    with threads.one_blas_thread():
        assert threads._blas[1]() == 1
        assert threads.get_num_threads() == 2  # the count axon's splits go by
    assert threads._blas[1]() == 2
    with pytest.raises(RuntimeError), threads.one_blas_thread():
        raise RuntimeError("inside")
    assert threads._blas[1]() == 2


@needs_blas
def test_one_blas_thread_sections_nest_and_overlap_across_threads(blas_count):
    """The count comes back when the last section ends, whichever thread ends it first
    (a section of one thread must not give the BLAS its two threads back while another
    thread's section still computes), and a count set meanwhile applies then."""
    threads.set_num_threads(2)
    inside, leave = threading.Event(), threading.Event()

    def other():
        with threads.one_blas_thread():
            inside.set()
            assert leave.wait(DEADLINE)
            return threads._blas[1]()

    with threads.one_blas_thread():
        with threads.one_blas_thread():
            assert threads._blas[1]() == 1
        assert threads._blas[1]() == 1
        thread, box = run_in_thread(other)
        assert inside.wait(DEADLINE)
    assert threads._blas[1]() == 1  # the other thread's section still runs
    threads.set_num_threads(3)  # applies when it ends
    assert threads.get_num_threads() == 3
    leave.set()
    thread.join(DEADLINE)
    assert box == {"value": 1}
    assert threads._blas[1]() == 3 == threads.get_num_threads()


# ---------------------------------------------------------------- products


@pytest.mark.parametrize(
    "shape", [(5, 7, 3), (64, 400, 120), (300, 200, 80), (40, 150, 900), (1, 5000, 900)], ids=str
)
def test_matmul_equals_numpy(monkeypatch, shape):
    """Small products whole, large ones as two halves (rows, or columns when b is
    wider): the product, into a fresh array or ``out``, from operands of any strides."""
    monkeypatch.setattr(threads, "small_product", 1_000_000)
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    before = threads.get_num_threads()
    assert_close(threads.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    out = np.full((m, n), np.nan)
    assert threads.matmul(a, b.T.copy().T, out=out) is out  # any strides, and out= kept
    assert_close(out, a @ b, rtol=1e-12, atol=1e-12)
    assert threads.get_num_threads() == before
    if threads.blas_found:
        assert threads._blas[1]() == before


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_gives_the_same_bits_at_one_and_two_threads_and_when_refused(blas_count, dtype):
    """OpenBLAS's bits depend on its thread count and on how a product is cut: matmul's
    depend on the shapes alone (the shapes of a LeNet's and an MLP's layers, forward and
    backward, whole and split by rows or by columns)."""
    assert 64 * 9216 * 128 >= threads.small_product > 256 * 128 * 784
    rng = np.random.default_rng(1)
    shapes = [
        (64, 400, 120),
        (120, 64, 400),
        (64, 84, 10),
        (128, 784, 256),
        (256, 128, 784),
        (16, 150, 6400),
        (64, 9216, 128),
        (128, 64, 9216),
    ]  # the last two: halves
    pairs = [
        (rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype))
        for m, k, n in shapes
    ]
    threads.set_num_threads(2)
    reference = [threads.matmul(a, b) for a, b in pairs]
    threads.set_num_threads(1)
    assert_equal_all([threads.matmul(a, b) for a, b in pairs], reference, "1 thread")
    threads.set_num_threads(2)
    with threads._busy:  # split refused
        assert_equal_all([threads.matmul(a, b) for a, b in pairs], reference, "refused")
    for (a, b), c in zip(pairs, reference, strict=True):  # and still the product
        assert_close(c, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


def assert_equal_all(actual, expected, what):
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert_equal(a, e, msg=f"{what}, product {i}")
        assert a.tobytes() == e.tobytes(), f"{what}, product {i}: other bytes"


@needs_blas
def test_lenet_convolutions_split_forward_and_backward(monkeypatch, two_threads):
    """At the default thresholds a LeNet-sized convolution runs as two halves on two
    threads, forward and backward."""
    counts = []
    real = threads.run_halves

    def spy(body, n, products=False):
        done = real(body, n, products)
        counts.append((n, products, done))
        return done

    monkeypatch.setattr(threads, "run_halves", spy)
    conv = nn.Conv2d(6, 16, 5)
    x = ax.randn(64, 6, 14, 14, requires_grad=True)
    conv(x).sum().backward()
    assert counts.count((64, True, True)) == 2  # forward and backward
    assert np.isfinite(x.grad.numpy()).all()


# ---------------------------------------------------------------- work for later


@needs_blas
def test_defer_computes_on_the_helper_with_one_blas_thread_and_restores_it(two_threads):
    before = threads._blas[1]()
    seen = {}

    def work():
        seen["thread"] = threading.current_thread().name
        seen["blas"] = threads._blas[1]()
        return np.arange(3.0) * 2

    d = threads.defer(work)
    assert_close(d.result(), [0.0, 2.0, 4.0])
    assert d.result() is d.result()  # taken once, kept
    assert seen == {"thread": "axon-split", "blas": 1}
    assert threads._blas[1]() == before and threads._deferred is None
    assert not threads._busy.locked()


@needs_blas
def test_defer_refused_computes_here_on_one_blas_thread(two_threads, blas_count):
    threads.set_num_threads(2)
    seen = []
    with threads._busy:  # another split runs
        d = threads.defer(
            lambda: seen.append((threading.current_thread().name, threads._blas[1]())) or 4
        )
    assert seen == [(threading.current_thread().name, 1)] and d.result() == 4
    assert threads._blas[1]() == 2


@needs_blas
def test_a_split_waits_for_the_deferred_value_and_errors_come_back(two_threads):
    order = []

    def slow():
        time.sleep(0.05)  # the order holds however long this takes
        order.append("deferred")
        return 1

    d = threads.defer(slow)
    assert threads.run_halves(lambda part: order.append("half"), 4)  # waits, then splits
    assert order == ["deferred", "half", "half"] and d.result() == 1

    def fails():
        raise ArithmeticError("in the helper")

    d = threads.defer(fails)
    with pytest.raises(ArithmeticError, match="in the helper"):
        d.result()
    assert threads.run_halves(lambda part: None, 4)  # the helper is free again


def test_defer_runs_in_place_on_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "get_num_threads", lambda: 1)
    where = []
    d = threads.defer(lambda: where.append(threading.current_thread().name) or 5)
    assert where == [threading.current_thread().name] and d.result() == 5


@needs_blas
@pytest.mark.parametrize("deferred_product", [0, 1 << 40])
def test_convolution_weight_gradient_deferred_or_not_matches_torch(
    monkeypatch, two_threads, deferred_product
):
    """A shared leaf weight used twice (two deferred gradients for one leaf), a second
    backward that accumulates: the same gradients as torch either way."""
    import torch

    from axon.backend.numpy import chunking

    monkeypatch.setattr(chunking, "deferred_product", deferred_product)
    deferred = []
    real = threads.defer
    monkeypatch.setattr(threads, "defer", lambda fn: deferred.append(1) or real(fn))
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((5, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
    xa, wa = ax.tensor(x, requires_grad=True), ax.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    for _ in range(2):
        (ax.nn.functional.conv2d(xa, wa) * ax.nn.functional.conv2d(xa + 1, wa)).sum().backward()
        (
            torch.nn.functional.conv2d(xt, wt) * torch.nn.functional.conv2d(xt + 1, wt)
        ).sum().backward()
    assert_close(wa.grad, wt.grad, rtol=1e-10, atol=1e-10)
    assert_close(xa.grad, xt.grad, rtol=1e-10, atol=1e-10)
    assert len(deferred) == (4 if deferred_product else 0)
    assert threads._deferred is None


@needs_blas
def test_a_failing_node_after_a_deferred_gradient_frees_the_helper(two_threads):
    class Fails(ax.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            raise FloatingPointError("node failed")

    x = ax.randn(4, 2, 6, 6, requires_grad=True)
    w = ax.randn(3, 2, 3, 3, requires_grad=True)
    y = ax.nn.functional.conv2d(Fails.apply(x), w)  # backward: conv first, then Fails
    with pytest.raises(FloatingPointError, match="node failed"):
        y.sum().backward()
    assert threads._deferred is None and not threads._busy.locked()
    assert threads.run_halves(lambda part: None, 4)


@needs_blas
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_gets_its_own_helper_and_blas_threads(two_threads, blas_count):
    """Forked while the helper computes a deferred value: the child has no helper thread
    and must not keep the one-thread BLAS of the parent's pending value."""
    threads.set_num_threads(2)
    assert threads.run_halves(lambda part: None, 4)
    d = threads.defer(lambda: time.sleep(0.02) or 3)
    pid = os.fork()
    if pid == 0:  # the child: split, defer, and report through the exit code
        try:
            ok = threads._blas[1]() == 2 and threads.run_halves(lambda part: None, 4)
            try:
                d.result()
                ok = False  # the parent's value cannot come here
            except RuntimeError:
                pass
            ok = ok and threads.defer(lambda: 7).result() == 7
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + DEADLINE
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child did not finish")
    assert done[1] == 0
    assert d.result() == 3
