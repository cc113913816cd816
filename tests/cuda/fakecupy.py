"""A stand-in for CuPy on a machine without a GPU: NumPy arrays that say which "GPU" holds
them, and the few ``cupy.cuda`` calls axon's CUDA backend makes.

It tests the backend's own code (``axon/backend/cupy``: devices, moves, draws, the
``axon.cuda`` functions, the errors) where CI runs, with two fake GPUs. It does not test
CuPy's arithmetic or axon's CUDA kernels: the tests' strict backend checks that the ops use
only CuPy's names (``tests/backend/cupy_api.json``), and ``tests/cuda/test_gpu.py`` runs
the kernels on a real GPU.

``install(count)`` puts the fake into ``sys.modules`` as ``cupy`` and ``cupyx``;
``uninstall()`` takes it out. A fake array is an ``np.ndarray`` subclass (``ndarray``)
with its GPU's ordinal; whatever NumPy computes from it stays a fake array on that GPU, and
the namespace's functions put plain arrays they make (``zeros``, ``arange``...) on the
current GPU.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import types

import numpy as np


class ndarray(np.ndarray):  # noqa: N801  (CuPy's name)
    """A NumPy array "on" GPU ``gpu``."""

    gpu = 0

    def __array_finalize__(self, obj) -> None:
        self.gpu = getattr(obj, "gpu", _current[0])

    @property
    def device(self):
        return Device(self.gpu)

    def get(self) -> np.ndarray:
        return np.array(self.view(np.ndarray), copy=True)

    def __array_function__(self, func, types, args, kwargs):
        return _on_gpu(super().__array_function__(func, types, args, kwargs))


_current = [0]
"""The current GPU's ordinal (``Device.use``)."""
_count = [2]
SYNCS: list[int] = []
"""The GPUs ``synchronize`` was called on, in order (the tests read it)."""


def _on_gpu(x):
    """Plain NumPy results as fake arrays on the current GPU."""
    if x.__class__ is np.ndarray:
        out = x.view(ndarray)
        out.gpu = _current[0]
        return out
    if isinstance(x, tuple):
        return type(x)(*map(_on_gpu, x)) if hasattr(x, "_fields") else tuple(map(_on_gpu, x))
    if isinstance(x, list):
        return [_on_gpu(v) for v in x]
    return x


def _wrapped(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        return _on_gpu(fn(*args, **kwargs))

    return call


class CUDARuntimeError(RuntimeError):
    pass


class Device:
    def __init__(self, index: int = None) -> None:
        self.id = _current[0] if index is None else index

    def use(self) -> None:
        _current[0] = self.id

    def __enter__(self):
        self._before = _current[0]
        _current[0] = self.id
        return self

    def __exit__(self, *exc) -> None:
        _current[0] = self._before


class _Stream:
    def synchronize(self) -> None:
        SYNCS.append(_current[0])


def _runtime(count_error: str | None):
    def get_device_count() -> int:
        if count_error:
            raise CUDARuntimeError(count_error)
        return _count[0]

    return types.SimpleNamespace(
        CUDARuntimeError=CUDARuntimeError,
        getDeviceCount=get_device_count,
        getDevice=lambda: _current[0],
        getDeviceProperties=lambda i: {
            "name": f"Fake GPU {i}".encode(),
            "totalGlobalMem": 80 * 2**30,
            "major": 9,
            "minor": 0,
            "multiProcessorCount": 132,
        },
    )


class RandomState:
    """cuRAND's host API as CuPy wraps it: reseeding restarts the stream."""

    def __init__(self, seed=0, method=None) -> None:
        self.seed(seed)

    def seed(self, seed) -> None:
        self._rng = np.random.Generator(np.random.Philox(seed))

    def random_sample(self, size=None, dtype=np.float64):
        return _on_gpu(self._rng.random(size, dtype=dtype))


class _Pool:
    def used_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


def _as_strided(x, shape, strides):
    return _on_gpu(np.lib.stride_tricks.as_strided(x, shape, strides))


def _cupy_module(count_error: str | None) -> types.ModuleType:
    cupy = types.ModuleType("cupy", "a fake CuPy for the tests (tests/cuda/fakecupy.py)")
    for name, value in vars(np).items():
        if name.startswith("__") or name == "ndarray":
            continue
        is_ufunc = isinstance(value, np.ufunc)
        if callable(value) and not isinstance(value, type) and not is_ufunc:
            value = _wrapped(value)
        setattr(cupy, name, value)
    cupy.__version__ = "14.2.0-fake"
    cupy.ndarray = ndarray
    cupy.asnumpy = lambda a: np.array(a.view(np.ndarray) if isinstance(a, ndarray) else a)
    cupy.array = lambda a, dtype=None, copy=True: _on_gpu(
        np.array(a.view(np.ndarray) if isinstance(a, ndarray) else a, dtype=dtype, copy=True)
    )
    cupy.asarray = lambda a, dtype=None: a if isinstance(a, ndarray) else cupy.array(a, dtype)
    stride_tricks = types.SimpleNamespace(
        as_strided=_as_strided,
        sliding_window_view=_wrapped(np.lib.stride_tricks.sliding_window_view),
    )
    cupy.lib = types.SimpleNamespace(stride_tricks=stride_tricks)
    cupy.random = types.SimpleNamespace(RandomState=RandomState)
    cupy.get_default_memory_pool = lambda: _Pool()
    curand = types.SimpleNamespace(CURAND_RNG_PSEUDO_PHILOX4_32_10=104)
    stream = _Stream()
    cupy.cuda = types.SimpleNamespace(
        runtime=_runtime(count_error),
        Device=Device,
        Stream=types.SimpleNamespace(null=stream),
        get_current_stream=lambda: stream,
        curand=curand,
    )
    return cupy


SCATTER_ADD_DTYPES = {np.dtype(t) for t in ("float32", "float64", "int32", "uint32", "uint64")}
"""The targets CuPy's ``scatter_add`` (CUDA's atomic adds) takes; others raise TypeError."""


def _scatter_add(target, index, values) -> None:
    if target.dtype not in SCATTER_ADD_DTYPES:
        raise TypeError(f"cupyx.scatter_add does not support {target.dtype} (the fake's rule)")
    np.add.at(target, index, values)


MODULES = ("cupy", "cupyx", "axon.backend.cupy", "axon.backend.cupy.kernels")


def install(count: int = 2, count_error: str | None = None) -> types.ModuleType:
    """Make ``import cupy`` give the fake, with ``count`` GPUs (or ``getDeviceCount``
    raising ``count_error``), and forget any earlier answer about CUDA."""
    from axon.backend.device import _why_not

    uninstall()
    _count[0], _current[0] = count, 0
    SYNCS.clear()
    cupy = _cupy_module(count_error)
    sys.modules["cupy"] = cupy
    sys.modules["cupyx"] = types.SimpleNamespace(scatter_add=_scatter_add)
    _why_not.pop("cuda", None)
    return cupy


def uninstall() -> None:
    """Take the fake and the CUDA backend it loaded out again."""
    from axon.backend import base
    from axon.backend.device import _available, _why_not

    for name in MODULES:
        sys.modules.pop(name, None)
    backend = base._by_type.pop("cuda", None)
    if backend is not None:
        base._by_class.pop(backend.array_type, None)
    for cls in [c for c in base._by_class if issubclass(c, ndarray)]:
        base._by_class.pop(cls)
    _available.discard("cuda")
    _why_not.pop("cuda", None)


@contextlib.contextmanager
def gpus(count: int = 2):
    """The fake installed with ``count`` GPUs, and the CUDA backend loaded on it with its
    fused kernels off (they are CUDA C: only a real GPU runs them)."""
    install(count)
    try:
        import axon

        assert axon.cuda.is_available()
        from axon.backend.cupy import cuda

        cuda.fused = False
        yield cuda
    finally:
        uninstall()
