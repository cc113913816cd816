"""How many cores axon uses, and how it uses two of them without changing a bit.

**Thread count.** NumPy has no call to set its BLAS's thread count; the environment
variable ``OPENBLAS_NUM_THREADS`` works only before NumPy loads. Like threadpoolctl, this
module finds the OpenBLAS that NumPy's wheels bundle and calls its own
``openblas_set_num_threads``. That gives PyTorch's ``set_num_threads`` /
``get_num_threads``. Where no OpenBLAS is found (another BLAS, another platform),
:func:`get_num_threads` reports ``os.cpu_count()``, :func:`set_num_threads` only sets
axon's own budget, and products are never split (their speed would depend on a BLAS we
cannot steer).

**Two batch halves.** An op runs its two batch halves on two Python threads with a
one-thread BLAS each (:func:`run_halves`): for the small products of a LeNet (a (16, 150)
by (150, 6400) convolution) that is about twice as fast as one call on a two-thread BLAS,
whose threads spend more time handing work over than computing.

**The same bits whatever the load and the thread count.** OpenBLAS's result for an
element of a product depends on how the product is cut: into threads (its two-thread
sgemm of (16, 150) by (150, 6400) differs from its one-thread one in 64% of the
elements), and into pieces (the products of the two halves of a's rows, or of b's
columns, differ from the whole product in up to 72% of the elements for the shapes of
LeNet, a small CNN and ResNet-18, in float32 and float64; OpenBLAS 0.3.31, Haswell
kernels). So the products axon cuts itself always run on a one-thread BLAS
(:func:`one_blas_thread`), over pieces that depend on the shapes alone: :func:`halves`
runs the two halves at once when it can, and one after the other when it cannot (one
thread allowed, or another split running), and a sum over the batch adds the same two
partial sums either way. :func:`matmul` (Linear and every 2-D product routed through it)
and the convolution and pooling ops give the same bits at 1 and 2 threads, under any
load, with or without a concurrent Python thread splitting beside them. Products that
call ``np.matmul`` directly with a multi-thread BLAS follow OpenBLAS: their bits may
change with the thread count.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "get_num_threads",
    "set_num_threads",
    "run_halves",
    "halves",
    "matmul",
    "defer",
    "Deferred",
    "one_blas_thread",
    "blas_found",
]

# symbol names of (set, get) in the OpenBLAS builds NumPy ships (64-bit ints first)
_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


def _find_openblas():
    """(set, get) of the OpenBLAS NumPy loaded, or None."""
    root = os.path.dirname(np.__file__)
    patterns = (
        os.path.join(root, "..", "numpy.libs", "*openblas*"),  # Linux wheels
        os.path.join(root, ".dylibs", "*openblas*"),  # macOS wheels
        os.path.join(root, "..", "numpy.libs", "*openblas*.dll"),  # Windows wheels
    )
    for path in sorted(p for pattern in patterns for p in glob.glob(pattern)):
        try:
            lib = ctypes.CDLL(path)  # already loaded by NumPy: this only finds it
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                getter.restype = ctypes.c_int
                setter.argtypes = [ctypes.c_int]
                setter.restype = None
                return setter, getter
    return None


_blas = _find_openblas()
blas_found = _blas is not None
"""Whether axon can steer the BLAS's thread count (NumPy's bundled OpenBLAS)."""

_budget = os.cpu_count() or 1  # the count when there is no OpenBLAS to ask

# One-thread sections (one_blas_thread): while any runs, in any Python thread, OpenBLAS
# runs one thread, and the count to give back when the last one ends is kept here.
_count_lock = threading.Lock()
_sections = 0
_saved = 1


def get_num_threads() -> int:
    """The number of threads axon's ops use (PyTorch's ``get_num_threads``): the BLAS's
    own count (``OPENBLAS_NUM_THREADS``, :func:`set_num_threads`, or threadpoolctl), as
    it is outside axon's one-thread sections."""
    if not _blas:
        return _budget
    with _count_lock:
        return _saved if _sections else _blas[1]()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads: for NumPy's BLAS (when axon can steer it, see the module doc)
    and for the batch halves of the convolution and pooling ops (two when n >= 2). The
    results are the same bits whatever ``n`` (see the module doc)."""
    global _budget, _saved
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    if not _blas:
        _budget = n
        return
    with _count_lock:
        if _sections:
            _saved = n  # set when the last one-thread section ends
        else:
            _blas[0](n)


def _enter_one_thread() -> None:
    """Begin a one-thread section (end it with :func:`_leave_one_thread`)."""
    global _sections, _saved
    if _blas:
        with _count_lock:
            if not _sections:
                _saved = _blas[1]()
                if _saved != 1:
                    _blas[0](1)
            _sections += 1


def _leave_one_thread() -> None:
    global _sections
    if _blas:
        with _count_lock:
            _sections -= 1
            if not _sections and _saved != 1:
                _blas[0](_saved)


class one_blas_thread:  # noqa: N801 - used as a function, like contextlib's managers
    """``with one_blas_thread():`` the block's products run on one BLAS thread. Sections
    nest and overlap across Python threads: the count comes back when the last ends."""

    __slots__ = ()

    def __enter__(self) -> None:
        _enter_one_thread()

    def __exit__(self, *exc) -> None:
        _leave_one_thread()


# ---------------------------------------------------------------- products

small_product = 30_000_000
"""Multiply-adds from which :func:`matmul` runs a 2-D product as two halves on two
threads (of a's rows, or of b's columns when b is wider); smaller ones run whole. Both
on a one-thread BLAS. Handing a half to the helper thread costs a GIL hand-off, tens of
microseconds, and far more when other processes load the cores: measured on 2 cores
(paired blocks, load 2-3), a (2048, 128) by (128, 128) product (33M multiply-adds) took
635 us as halves against 945 whole on one thread, a (128, 784) by (784, 256) one (25M)
572 against 616, a (128, 256) by (256, 256) one (8M) 281 against 236."""


def matmul(a, b, out=None):
    """``a @ b`` for 2-D arrays, or for stacks of them (3-D: a grouped convolution's
    products), with bits that depend on the shapes alone.

    A 2-D product of :data:`small_product` multiply-adds or more runs as two halves (of
    a's rows, or of b's columns when b is wider; :func:`halves`), each on a one-thread
    BLAS, at once on two threads or one after the other; a smaller one, and a stack of
    more than one, runs whole on a one-thread BLAS. OpenBLAS's own two threads would
    give other bits than one (see the module doc); they are faster for mid-sized
    products on an idle machine (an MLP 784-256-256-10 step at batch 128, its products
    timed alone: about 0.7 ms more on one thread), and slower on a loaded one, where
    every spinning thread waits for a core (the same step at load 3.5: 3.9 ms on one
    thread, 11.4 ms on OpenBLAS's two). After each product they share they also spin
    for about 0.1 s of a core, which the batch halves of a convolution need: the LeNet-5
    step went 9.3 -> 7.4 ms, the conv32-conv64 CNN's 96 -> 65 ms, when its products
    kept them asleep."""
    if not _blas:
        return np.matmul(a, b, out=out)
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0] == 1:  # one group
        c = matmul(a[0], b[0], None if out is None else out[0])
        return c[None] if out is None else out
    if a.ndim == 2 and b.ndim == 2:
        (m, k), n = a.shape, b.shape[1]
        if m * k * n >= small_product and max(m, n) >= 2:
            if out is None:
                out = np.empty((m, n), np.result_type(a, b))
            if m >= n:

                def body(part):
                    np.matmul(a[part], b, out=out[part])
            else:

                def body(part):
                    np.matmul(a, b[:, part], out=out[:, part])

            halves(body, max(m, n), products=True)
            return out
    _enter_one_thread()
    try:
        return np.matmul(a, b, out=out)
    finally:
        _leave_one_thread()


# ---------------------------------------------------------------- two batch halves


class _SleepingHelper:
    """The second thread of :func:`run_halves`, a ThreadPoolExecutor's: it sleeps between
    jobs, and waking it costs 50-200 microseconds on a virtual machine (where spin locks
    are not at hand: not Linux)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="axon-split")
        self._future = None

    def start(self, job) -> None:
        self._future = self._pool.submit(job)

    def wait(self) -> None:
        self._future.result()


_PARK = object()  # the job that sends a spinning helper to sleep


class _SpinningHelper:
    """The second thread of :func:`run_halves`, waiting for work in C, in glibc's
    ``pthread_spin_lock`` (through ctypes, which lets go of the GIL): it picks a job up
    within a microsecond, and the caller picks the result up as fast. A thread that
    sleeps between jobs must be woken by the kernel, which on a virtual machine costs
    50-200 microseconds a hand-off, about what LeNet's split convolutions save (measured:
    4 splits of elementwise work with single-thread work between them, 10.2 ms on one
    thread, 10.4 ms split with a sleeping helper, 6.3 ms with this one).

    Two spin locks, both held between jobs: ``go`` (released to hand a job over; the
    helper takes it back) and ``done`` (released by the helper when the job is over; the
    caller takes it back). A watchdog thread sends the helper to sleep (a job ``_PARK``)
    after :data:`spin_window` seconds without work, so a spinning core is only ever
    spent while a network trains, as OpenBLAS spends its own after each product.

    ``_handoff`` (a lock) orders the watchdog's park and the callers' jobs: a caller
    that comes while the watchdog parks waits for the park (a few microseconds, or a
    time slice when the machine is loaded) and then wakes the helper; it is never
    refused, so a program with one Python thread always gets its two threads."""

    def __init__(self, spin_init, spin_lock, spin_unlock) -> None:
        self._lock, self._unlock = spin_lock, spin_unlock
        self._go, self._done = ctypes.c_int(), ctypes.c_int()  # glibc: pthread_spinlock_t
        self._pgo, self._pdone = ctypes.byref(self._go), ctypes.byref(self._done)
        for lock in (self._pgo, self._pdone):
            spin_init(lock, 0)
            spin_lock(lock)
        self._job = self._error = None
        self._running = False  # a job was handed over and not yet waited for
        self._last = time.perf_counter()  # when the last job ended
        self._awake = threading.Event()  # set while the helper spins
        self._handoff = threading.Lock()
        for target, name in ((self._serve, "axon-split"), (self._watch, "axon-split-watch")):
            threading.Thread(target=target, name=name, daemon=True).start()

    def start(self, job) -> None:
        """Hand ``job`` over (the caller holds ``_busy``, so no other job is running)."""
        with self._handoff:
            self._running = True
            self._job = job
            self._awake.set()
            self._unlock(self._pgo)

    def wait(self) -> None:
        """Wait for the job to end; raise what it raised."""
        self._lock(self._pdone)
        with self._handoff:
            self._last = time.perf_counter()
            self._running = False
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _serve(self) -> None:
        while True:
            self._between_jobs()
            self._awake.wait()  # asleep while parked
            self._lock(self._pgo)  # spins until a job comes
            job, self._job = self._job, None
            if job is _PARK:
                # the helper itself goes to sleep: had the watchdog cleared ``_awake``, a
                # helper not yet back at the wait above (descheduled on a loaded machine)
                # would sleep there while the watchdog spun for its answer, holding
                # ``_handoff``, and the next caller waited on it: a deadlock
                self._awake.clear()
            else:
                try:
                    job()
                except BaseException as error:  # noqa: BLE001 - the caller re-raises it
                    self._error = error
            job = None  # not kept alive (with what it holds) until the next job comes
            self._unlock(self._pdone)

    def _between_jobs(self) -> None:
        """Called by the helper before it waits for each job (a seam for the tests, which
        hold the helper here to play a descheduled thread)."""

    def _watch(self) -> None:
        while True:
            self._awake.wait()
            window = max(spin_window, 0.001)
            time.sleep(window)
            self._park_if_idle(window)

    def _park_if_idle(self, window: float) -> bool:
        """Send the helper to sleep if no job ran for ``window`` seconds and none is
        running; return whether it was parked."""
        with self._handoff:
            if (
                self._running
                or not self._awake.is_set()
                or time.perf_counter() - self._last < window
            ):
                return False
            self._job = _PARK
            self._unlock(self._pgo)
            self._lock(self._pdone)  # the helper took _PARK and cleared _awake: asleep
            return True


spin_window = 0.02
"""Seconds axon's helper thread spins after a job, waiting for the next one, before it
sleeps (:class:`_SpinningHelper`)."""


def _spin_locks():
    """glibc's (pthread_spin_init, pthread_spin_lock, pthread_spin_unlock), or None."""
    try:
        libc = ctypes.CDLL(None)
        return libc.pthread_spin_init, libc.pthread_spin_lock, libc.pthread_spin_unlock
    except (OSError, AttributeError, TypeError):
        return None


_spin = _spin_locks()
_helper = None  # made at the first split
_busy = threading.Lock()  # one split at a time: a nested or concurrent one is refused


def _one_malloc_arena() -> None:
    """Ask glibc's malloc for one arena for every thread (unless ``MALLOC_ARENA_MAX`` is
    set). With an arena per thread, the arrays the helper thread allocates and frees stay
    in its own arena, where the main thread's next arrays cannot reuse them: ResNet-18's
    step at batch 8 peaked at 444 MiB at 2 threads against 373 with no split (torch:
    395-406); with one arena, 388. A no-op where malloc is not glibc's."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(ctypes.c_int(-8), ctypes.c_int(1))  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _get_helper():
    global _helper
    if _helper is None:
        _one_malloc_arena()  # before the helper thread makes an arena of its own
        _helper = _SpinningHelper(*_spin) if _spin else _SleepingHelper()
    return _helper


def _before_fork() -> None:
    _count_lock.acquire()  # no other thread is halfway through a count change


def _after_fork_in_parent() -> None:
    _count_lock.release()


def _after_fork_in_child() -> None:
    """A forked child has no helper thread (a new one comes with its first split) and
    none of the parent's one-thread sections: its BLAS count comes back."""
    global _helper, _busy, _deferred, _sections, _count_lock
    if _blas and _sections and _saved != 1:
        _blas[0](_saved)
    _sections = 0
    _count_lock = threading.Lock()
    if _deferred is not None:  # forked while the helper computed it: it never comes
        _deferred._running = False
        _deferred._error = RuntimeError(
            "a deferred value the parent process's helper thread was computing when this "
            "process forked: only the parent can take it"
        )
    _helper = _deferred = None
    _busy = threading.Lock()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)


def run_halves(body, n: int, products: bool = False) -> bool:
    """Run ``body(slice(0, h))`` here and ``body(slice(h, n))`` on a helper thread at
    the same time (h = n // 2), and return True; NumPy releases the GIL while it copies,
    adds, compares and multiplies, so two cores work. ``products``: the body calls the
    BLAS, which then runs one thread per half.

    Returns False, having run nothing, when the halves cannot run at once: fewer than 2
    threads allowed, a batch of 1, products without a BLAS axon can steer, or another
    split already running (a nested call, or another Python thread's). The caller then
    runs the body itself: :func:`halves` does it over the same two halves, which a body
    that sums over the batch needs to give the same bits.

    The helper waits for work spinning (:class:`_SpinningHelper`) for
    :data:`spin_window` seconds after a split."""
    if n < 2 or (products and not _blas):
        return False
    _join_own_deferred()
    if get_num_threads() < 2 or not _busy.acquire(blocking=False):
        return False
    try:
        helper = _get_helper()
        if products:
            _enter_one_thread()
        try:
            half = n // 2
            helper.start(lambda: body(slice(half, n)))
            try:
                body(slice(0, half))
            finally:
                helper.wait()
        finally:
            if products:
                _leave_one_thread()
    finally:
        _busy.release()
    return True


def halves(body, n: int, products: bool = False) -> None:
    """Run ``body`` over the halves ``slice(0, n // 2)`` and ``slice(n // 2, n)`` of a
    batch of ``n``: at once on two threads (:func:`run_halves`), or, where that is
    refused, one after the other here. ``products``: on a one-thread BLAS either way.
    The pieces, and so the bits, are the same whichever ran (a batch of 1 is one piece).
    """
    if run_halves(body, n, products):
        return
    if products:
        _enter_one_thread()
    try:
        if n < 2:
            body(slice(0, n))
        else:
            body(slice(0, n // 2))
            body(slice(n // 2, n))
    finally:
        if products:
            _leave_one_thread()


# ---------------------------------------------------------------- work for later

_deferred = None  # the Deferred the helper is computing, if any


class Deferred:
    """A value the helper thread computes while the caller goes on (:func:`defer`);
    :meth:`result` waits for it."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self._box = [None]
        self._running = False
        self._error = None

    def result(self):
        """The value (raises what computing it raised); waits for the helper if needed."""
        global _deferred
        if self._running:
            self._running = False
            try:
                _helper.wait()
            finally:
                _deferred = None
                _leave_one_thread()
                _busy.release()
        if self._error is not None:
            raise self._error
        return self._box[0]


def _join_own_deferred() -> None:
    """Wait for the helper's deferred work if this thread gave it (before using it)."""
    d = _deferred
    if d is not None and d.owner == threading.get_ident():
        d.result()


def defer(fn) -> Deferred:
    """Start ``fn()`` on the helper thread and return a :class:`Deferred` for its value,
    so that the caller's thread goes on with other work (inter-op parallelism): the
    autograd engine takes a convolution's weight gradient this way, while the main
    thread carries the input's gradient on back through the pooling and ReLU below it,
    single-threaded work that left the second core idle.

    ``fn`` runs with a one-thread BLAS (so do the caller's products meanwhile: the count
    comes back when the value is taken). The caller's next split (:func:`run_halves`) or
    :func:`defer` first waits for the value. Where the helper cannot take it (one
    thread, no BLAS axon can steer, another split running), ``fn`` runs here, now, on a
    one-thread BLAS too: the same bits either way."""
    global _deferred
    _join_own_deferred()
    d = Deferred()
    if not _blas or get_num_threads() < 2 or not _busy.acquire(blocking=False):
        _enter_one_thread()
        try:
            d._box[0] = fn()
        finally:
            _leave_one_thread()
        return d
    _enter_one_thread()
    try:
        helper = _get_helper()
        box = d._box

        def job():
            box[0] = fn()

        helper.start(job)
    except BaseException:
        _leave_one_thread()
        _busy.release()
        raise
    d._running = True
    _deferred = d
    return d
