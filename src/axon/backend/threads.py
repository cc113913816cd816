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

__all__ = ["get_num_threads", "set_num_threads", "run_halves", "matmul", "blas_found"]

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
"""Seconds after a split of products during which :func:`matmul` keeps OpenBLAS's own
thread pool asleep (it spins for about 0.1 s after each product it shares)."""

_last_split = float("-inf")  # time.perf_counter() of the last run_halves with products


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
    """Whether axon split products over two threads within :data:`split_window` seconds:
    then products it runs whole go on one BLAS thread, to keep OpenBLAS's pool asleep."""
    return _blas is not None and time.perf_counter() - _last_split <= split_window


# ---------------------------------------------------------------- two batch halves

_helper: ThreadPoolExecutor | None = None
_busy = threading.Lock()  # one split at a time: a nested or concurrent one runs whole


def _forget_helper() -> None:  # a forked child has no helper thread: make a new one
    global _helper
    _helper = None


os.register_at_fork(after_in_child=_forget_helper)


def run_halves(body, n: int, products: bool = False) -> bool:
    """Run ``body(slice(0, h))`` here and ``body(slice(h, n))`` on a helper thread at
    the same time (h = n // 2), and return True; NumPy releases the GIL while it copies,
    adds, compares and multiplies, so two cores work. ``products``: the body calls the
    BLAS, which then runs one thread per half.

    Returns False, having run nothing, when the halves cannot run at once: fewer than 2
    threads allowed, a batch of 1, products without a BLAS axon can steer, or another
    split already running (a nested call, or another Python thread's). The caller then
    runs ``body(slice(0, n))`` itself."""
    global _helper, _last_split
    if n < 2 or (products and not _blas):
        return False
    threads = get_num_threads()
    if threads < 2 or not _busy.acquire(blocking=False):
        return False
    try:
        if _helper is None:
            _helper = ThreadPoolExecutor(1, thread_name_prefix="axon-split")
        if products:
            _blas[0](1)
            _last_split = time.perf_counter()
        half = n // 2
        other = _helper.submit(body, slice(half, n))
        try:
            body(slice(0, half))
        finally:
            other.result()
    finally:
        if products:
            _blas[0](threads)
        _busy.release()
    return True
