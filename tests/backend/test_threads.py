"""axon.backend.threads: the BLAS thread count, batch halves on two threads, and the
products that keep OpenBLAS's pool asleep while convolutions split their batches."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import axon as ax
from axon import nn
from axon.backend import threads
from tests.helpers import assert_close


@pytest.fixture
def two_threads(monkeypatch):
    """Behave as on a 2-core machine whatever this one has."""
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)


def test_run_halves_covers_the_batch_once_on_two_threads(two_threads):
    seen, names = [], set()

    def body(part):
        seen.append(part)
        names.add(threading.current_thread().name)

    assert threads.run_halves(body, 7)
    assert sorted((p.start, p.stop) for p in seen) == [(0, 3), (3, 7)]
    assert len(names) == 2  # the caller's thread and the helper


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
    assert threads.run_halves(lambda part: None, 4)  # the lock was released


@pytest.mark.skipif(threads._spin is None, reason="no pthread spin locks (not glibc)")
def test_spinning_helper_sleeps_after_the_spin_window_and_wakes_again(monkeypatch, two_threads):
    monkeypatch.setattr(threads, "spin_window", 0.01)
    names = set()
    assert threads.run_halves(lambda part: names.add(threading.current_thread().name), 4)
    helper = threads._helper
    assert isinstance(helper, threads._SpinningHelper)
    deadline = time.perf_counter() + 5.0
    while helper._awake.is_set() and time.perf_counter() < deadline:
        time.sleep(0.005)
    assert not helper._awake.is_set()  # parked by the watchdog
    with threads._busy:  # which holds the split lock until the helper has stopped
        pass
    seen = []
    assert threads.run_halves(lambda part: seen.append((part.start, part.stop)), 6)
    assert sorted(seen) == [(0, 3), (3, 6)] and threads._helper is helper
    assert names == {threading.current_thread().name, "axon-split"}


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


@pytest.mark.skipif(not threads.blas_found, reason="no OpenBLAS that axon can steer")
def test_set_num_threads_steers_the_blas():
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        assert threads.get_num_threads() == 1 == threads._blas[1]()
        threads.set_num_threads(2)
        assert threads.get_num_threads() == 2
        assert ax.get_num_threads() == 2
    finally:
        threads.set_num_threads(before)
    with pytest.raises(ValueError, match="positive number of threads, got 0"):
        threads.set_num_threads(0)


@pytest.mark.parametrize("shape", [(5, 7, 3), (64, 400, 120), (300, 200, 80), (40, 150, 900)],
                         ids=str)
@pytest.mark.parametrize("splitting", [False, True])
def test_matmul_equals_numpy(monkeypatch, two_threads, shape, splitting):
    """Small products on one BLAS thread, large ones as two halves (rows, or columns when b
    is wider), or plain np.matmul outside a split window: the same product every way."""
    monkeypatch.setattr(threads, "small_product", 1_000_000)
    monkeypatch.setattr(threads, "split_window", float("inf") if splitting else -1.0)
    monkeypatch.setattr(threads, "_last_split", 0.0)
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    before = threads._blas[1]() if threads.blas_found else None
    assert_close(threads.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    out = np.full((m, n), np.nan)
    assert threads.matmul(a, b.T.copy().T, out=out) is out  # any strides, and out= kept
    assert_close(out, a @ b, rtol=1e-12, atol=1e-12)
    if threads.blas_found:
        assert threads._blas[1]() == before


@pytest.mark.skipif(not threads.blas_found, reason="no OpenBLAS that axon can steer")
def test_lenet_convolutions_split_and_open_the_window(monkeypatch, two_threads):
    """At the default thresholds a LeNet-sized convolution runs as two halves, forward and
    backward, and the products after it keep OpenBLAS's pool asleep."""
    counts = []
    real = threads.run_halves

    def spy(body, n, products=False):
        done = real(body, n, products)
        counts.append((n, products, done))
        return done

    monkeypatch.setattr(threads, "run_halves", spy)
    monkeypatch.setattr(threads, "_last_split", float("-inf"))
    conv = nn.Conv2d(6, 16, 5)
    x = ax.randn(64, 6, 14, 14, requires_grad=True)
    conv(x).sum().backward()
    assert counts.count((64, True, True)) == 2  # forward and backward
    assert threads._last_split > float("-inf")
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.skipif(not threads.blas_found, reason="no OpenBLAS that axon can steer")
def test_one_blas_thread_restores_the_count_even_on_error():
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(2)
        with threads.one_blas_thread():
            assert threads._blas[1]() == 1
        assert threads._blas[1]() == 2
        with pytest.raises(RuntimeError), threads.one_blas_thread():
            raise RuntimeError("inside")
        assert threads._blas[1]() == 2
    finally:
        threads.set_num_threads(before)


def test_splitting_is_a_window_after_the_last_split(monkeypatch, two_threads):
    monkeypatch.setattr(threads, "_last_split", float("-inf"))
    assert not threads.splitting()
    if threads.blas_found:
        threads.run_halves(lambda part: None, 4, products=True)
        assert threads.splitting()
        monkeypatch.setattr(threads, "split_window", -1.0)
        assert not threads.splitting()


# ---------------------------------------------------------------- work for later

needs_blas = pytest.mark.skipif(not threads.blas_found, reason="no OpenBLAS axon can steer")


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


@needs_blas
def test_a_split_waits_for_the_deferred_value_and_errors_come_back(two_threads):
    order = []

    def slow():
        time.sleep(0.05)
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
def test_convolution_weight_gradient_deferred_or_not_matches_torch(monkeypatch, two_threads,
                                                                   deferred_product):
    """A shared leaf weight used twice (two deferred gradients for one leaf), a second
    backward that accumulates: the same gradients as torch either way."""
    import torch

    from axon.nn import _conv_ops

    monkeypatch.setattr(_conv_ops, "deferred_product", deferred_product)
    deferred = []
    real = threads.defer
    monkeypatch.setattr(threads, "defer", lambda fn: deferred.append(1) or real(fn))
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((5, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
    xa, wa = ax.tensor(x, requires_grad=True), ax.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    for _ in range(2):
        (ax.nn.functional.conv2d(xa, wa) * ax.nn.functional.conv2d(xa + 1, wa)).sum().backward()
        (torch.nn.functional.conv2d(xt, wt) * torch.nn.functional.conv2d(xt + 1, wt)).sum(
            ).backward()
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
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork")
def test_a_forked_child_gets_its_own_helper_and_blas_threads(two_threads):
    """Forked while the helper computes a deferred value: the child has no helper thread
    and must not keep the one-thread BLAS of the parent's pending value."""
    import os

    assert threads.run_halves(lambda part: None, 4)
    d = threads.defer(lambda: time.sleep(0.02) or 3)
    pid = os.fork()
    if pid == 0:  # the child: split, defer, and report through the exit code
        ok = threads._blas[1]() >= 2 and threads.run_halves(lambda part: None, 4)
        os._exit(0 if ok and threads.defer(lambda: 7).result() == 7 else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert d.result() == 3
