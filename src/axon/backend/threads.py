"""How many cores axon uses: the thread count of the BLAS library NumPy links, and two
halves of a batch run at once on two Python threads.

NumPy has no call to set its BLAS's thread count; the environment variable
``OPENBLAS_NUM_THREADS`` works only before NumPy loads. Like threadpoolctl, this module
finds the OpenBLAS that NumPy's wheels bundle and calls its own
``openblas_set_num_threads``. That gives PyTorch's ``set_num_threads`` /
``get_num_threads``, and lets an op run its two batch halves on two threads with a
one-thread BLAS each (:func:`run_halves`): for the small products of a LeNet (a (16, 150)
by (150, 6400) convolution) that is about twice as fast as one call on a two-thread
BLAS, whose threads spend more time handing work over than computing.

Where no OpenBLAS is found (another BLAS, another platform), :func:`get_num_threads`
reports ``os.cpu_count()``, :func:`set_num_threads` only sets axon's own budget, and
products are never split (their speed would depend on a BLAS we cannot steer).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["get_num_threads", "set_num_threads", "run_halves", "matmul", "defer", "Deferred",
           "blas_found"]

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


def get_num_threads() -> int:
    """The number of threads axon's ops use (PyTorch's ``get_num_threads``): the BLAS's
    own count (``OPENBLAS_NUM_THREADS``, :func:`set_num_threads`, or threadpoolctl)."""
    return _blas[1]() if _blas else _budget


def set_num_threads(n: int) -> None:
    """Use ``n`` threads: for NumPy's BLAS (when axon can steer it, see the module doc)
    and for the batch halves of the convolution and pooling ops (two when n >= 2)."""
    global _budget
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    if _blas:
        _blas[0](n)
    else:
        _budget = n


# ---------------------------------------------------------------- small products

small_product = 4_000_000
"""While batch halves run (:func:`run_halves`), :func:`matmul` runs products below this
many multiply-adds on one BLAS thread, and larger ones as two halves on two threads."""

split_window = 0.2
"""Seconds after a split during which :func:`matmul` keeps OpenBLAS's own thread pool
asleep (it spins for about 0.1 s after each product it shares): it would take turns on
the second core with the halves, or with axon's spinning helper."""

spin_window = 0.02
"""Seconds axon's helper thread spins after a split, waiting for the next one, before
it sleeps (:class:`_SpinningHelper`); at most :data:`split_window`."""

_last_split = float("-inf")  # time.perf_counter() when the last run_halves ended


def matmul(a, b, out=None):
    """``a @ b`` for 2-D arrays; ``np.matmul``, except while axon splits batches.

    OpenBLAS hands a product of more than 262,144 multiply-adds to its second thread,
    and afterwards that thread spins, waiting for more work, for about 0.1 s of a core.
    For a network of matrix products alone that is right: the spinning thread picks up
    the next product within a microsecond. But a convolution that splits its batch over
    two threads (:func:`run_halves`) then shares its second core with the spinning
    thread. So within :data:`split_window` seconds of such a split, this keeps
    OpenBLAS's pool asleep: products of fewer than :data:`small_product` multiply-adds
    run on one BLAS thread (a LeNet's 64x400x120 layer: 50 microseconds against 45 on
    two), larger ones as two halves (of a's rows, or of b's columns when b is wider) on
    two threads with one BLAS thread each. Measured on 2 cores: the LeNet-5 training
    step 9.3 -> 7.4 ms, the conv32-conv64 CNN step 96 -> 65 ms; an MLP, which never
    splits, keeps OpenBLAS's faster hand-off (its step is 2.2 ms either way, against 2.8
    ms with its 25M-multiply-add products split by this function)."""
    if not splitting():
        return np.matmul(a, b, out=out)
    (m, k), n = a.shape, b.shape[1]
    if m * k * n >= small_product:
        if out is None:
            out = np.empty((m, n), np.result_type(a, b))
        if m >= n:
            def body(part):
                np.matmul(a[part], b, out=out[part])
        else:
            def body(part):
                np.matmul(a, b[:, part], out=out[:, part])
        if run_halves(body, max(m, n), products=True):
            return out
    with one_blas_thread():
        return np.matmul(a, b, out=out)


@contextlib.contextmanager
def one_blas_thread():
    """Run the block on one BLAS thread (the count comes back after it)."""
    threads = _blas[1]() if _blas else 1
    if threads == 1:
        yield
        return
    _blas[0](1)
    try:
        yield
    finally:
        _blas[0](threads)


def splitting() -> bool:
    """Whether axon split a batch over two threads within :data:`split_window` seconds:
    then products it runs whole go on one BLAS thread, to keep OpenBLAS's pool asleep."""
    return _blas is not None and time.perf_counter() - _last_split <= split_window


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
    spent while a network trains, as OpenBLAS spends its own after each product."""

    def __init__(self, spin_init, spin_lock, spin_unlock) -> None:
        self._lock, self._unlock = spin_lock, spin_unlock
        self._go, self._done = ctypes.c_int(), ctypes.c_int()  # glibc: pthread_spinlock_t
        self._pgo, self._pdone = ctypes.byref(self._go), ctypes.byref(self._done)
        for lock in (self._pgo, self._pdone):
            spin_init(lock, 0)
            spin_lock(lock)
        self._job = self._error = None
        self._last = time.perf_counter()  # when the last job ended
        self._awake = threading.Event()  # set while the helper spins
        for target, name in ((self._serve, "axon-split"), (self._watch, "axon-split-watch")):
            threading.Thread(target=target, name=name, daemon=True).start()

    def start(self, job) -> None:
        """Hand ``job`` over (the caller holds ``_busy``, so no job is running)."""
        self._job = job
        self._awake.set()
        self._unlock(self._pgo)

    def wait(self) -> None:
        """Wait for the job to end; raise what it raised."""
        self._lock(self._pdone)
        self._last = time.perf_counter()
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _serve(self) -> None:
        while True:
            self._awake.wait()  # asleep while parked
            self._lock(self._pgo)  # spins until a job comes
            job, self._job = self._job, None
            if job is not _PARK:
                try:
                    job()
                except BaseException as error:  # noqa: BLE001 - the caller re-raises it
                    self._error = error
            self._unlock(self._pdone)

    def _watch(self) -> None:
        while True:
            self._awake.wait()
            window = max(min(spin_window, split_window), 0.001)
            time.sleep(window)
            idle = time.perf_counter() - self._last >= window
            if idle and _busy.acquire(blocking=False):
                try:
                    if time.perf_counter() - self._last >= window:
                        self._awake.clear()
                        self._job = _PARK
                        self._unlock(self._pgo)
                        self._lock(self._pdone)
                finally:
                    _busy.release()


def _spin_locks():
    """glibc's (pthread_spin_init, pthread_spin_lock, pthread_spin_unlock), or None."""
    try:
        libc = ctypes.CDLL(None)
        return libc.pthread_spin_init, libc.pthread_spin_lock, libc.pthread_spin_unlock
    except (OSError, AttributeError, TypeError):
        return None


_spin = _spin_locks()
_helper = None  # made at the first split
_busy = threading.Lock()  # one split at a time: a nested or concurrent one runs whole


def _forget_helper() -> None:  # a forked child has no helper thread: make a new one
    global _helper, _busy, _deferred
    if _deferred is not None:  # forked while the helper computed: the BLAS count back
        _blas[0](_deferred._threads)
    _helper = _deferred = None
    _busy = threading.Lock()


os.register_at_fork(after_in_child=_forget_helper)


def run_halves(body, n: int, products: bool = False) -> bool:
    """Run ``body(slice(0, h))`` here and ``body(slice(h, n))`` on a helper thread at
    the same time (h = n // 2), and return True; NumPy releases the GIL while it copies,
    adds, compares and multiplies, so two cores work. ``products``: the body calls the
    BLAS, which then runs one thread per half.

    Returns False, having run nothing, when the halves cannot run at once: fewer than 2
    threads allowed, a batch of 1, products without a BLAS axon can steer, or another
    split already running (a nested call, or another Python thread's). The caller then
    runs ``body(slice(0, n))`` itself.

    The helper waits for work spinning (:class:`_SpinningHelper`) for
    :data:`spin_window` seconds after a split, and :func:`matmul` keeps OpenBLAS's own
    threads asleep meanwhile: the two would take turns on the second core."""
    global _helper, _last_split
    if n < 2 or (products and not _blas):
        return False
    _join_own_deferred()
    threads = get_num_threads()
    if threads < 2 or not _busy.acquire(blocking=False):
        return False
    try:
        if _helper is None:
            _helper = _SpinningHelper(*_spin) if _spin else _SleepingHelper()
        if products:
            _blas[0](1)
        half = n // 2
        _helper.start(lambda: body(slice(half, n)))
        try:
            body(slice(0, half))
        finally:
            _helper.wait()
            _last_split = time.perf_counter()
    finally:
        if products:
            _blas[0](threads)
        _busy.release()
    return True


# ---------------------------------------------------------------- work for later

_deferred = None  # the Deferred the helper is computing, if any


class Deferred:
    """A value the helper thread computes while the caller goes on (:func:`defer`);
    :meth:`result` waits for it."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self._box = [None]
        self._running = False
        self._threads = 1

    def result(self):
        """The value (raises what computing it raised); waits for the helper if needed."""
        global _deferred, _last_split
        if self._running:
            self._running = False
            try:
                _helper.wait()
            finally:
                _last_split = time.perf_counter()
                _deferred = None
                _blas[0](self._threads)
                _busy.release()
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
    thread, no BLAS axon can steer, another split running), ``fn`` runs here, now."""
    global _helper, _deferred
    _join_own_deferred()
    d = Deferred()
    threads = get_num_threads()
    if not _blas or threads < 2 or not _busy.acquire(blocking=False):
        d._box[0] = fn()
        return d
    try:
        if _helper is None:
            _helper = _SpinningHelper(*_spin) if _spin else _SleepingHelper()
        d._threads = threads
        _blas[0](1)
        box = d._box

        def job():
            box[0] = fn()

        _helper.start(job)
    except BaseException:
        _blas[0](threads)
        _busy.release()
        raise
    d._running = True
    _deferred = d
    return d
