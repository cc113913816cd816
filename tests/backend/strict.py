"""A second backend for the tests: device "strict", whose arrays wrap NumPy's but refuse to be
NumPy arrays, so any code that calls ``np.`` on one instead of its backend fails loudly.

``StrictArray`` is not an ``np.ndarray``: ``np.asarray`` of one raises, ufuncs and array
functions return NotImplemented. ``strict_xp`` mirrors NumPy's names by unwrapping the
arguments, calling NumPy and wrapping the results; the array's operators and methods are
forwarded the same way. Importing this module registers the backend (``backend.register``).
"""

from __future__ import annotations

import operator
import types

import numpy as np

from axon import backend
from axon.backend.base import Backend


class StrictArray:
    """A NumPy array behind a wall: every operation unwraps it, runs NumPy's, wraps back."""

    __slots__ = ("_a", "__weakref__")
    __array_ufunc__ = None  # ``ndarray + StrictArray`` defers to StrictArray.__radd__

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a strict array is not a NumPy array: move it with .cpu() / to_host first")

    def __array_function__(self, func, types, args, kwargs):
        return NotImplemented

    def __getattr__(self, name):
        if name == "_a" or name.startswith("__"):  # NumPy's __array_interface__ and the like
            raise AttributeError(name)
        return _wrap(getattr(self._a, name))

    # the attributes the engine and the ops read as they are
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value) -> None:
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __index__(self) -> int:
        return operator.index(self._a)

    def __complex__(self) -> complex:
        return complex(self._a)

    def __repr__(self) -> str:
        return f"strict({self._a!r})"

    __hash__ = None


def _forward(op):
    def method(self, *args):
        return _wrap(op(self._a, *_unwrap(args)))

    method.__name__ = op.__name__
    return method


for _name in (
    "add sub mul truediv floordiv mod pow matmul and or xor lshift rshift lt le gt ge eq ne"
).split():
    _op = getattr(operator, _name if _name not in ("and", "or") else _name + "_")
    setattr(StrictArray, f"__{_name}__", _forward(_op))
    if _name not in ("lt", "le", "gt", "ge", "eq", "ne"):
        setattr(
            StrictArray,
            f"__r{_name}__",
            _forward(lambda a, b, _op=_op: _op(b, a)),
        )
        setattr(StrictArray, f"__i{_name}__", _forward(getattr(operator, f"i{_name}")))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(StrictArray, f"__{_name}__", _forward(getattr(operator, _name)))


def _unwrap(x):
    if x.__class__ is StrictArray:
        return x._a
    if x.__class__ is list or x.__class__ is tuple:
        return x.__class__(_unwrap(v) for v in x)
    if x.__class__ is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, np.ndarray | np.generic):
        return StrictArray(np.asarray(x))
    if x.__class__ is tuple or x.__class__ is list:
        return x.__class__(_wrap(v) for v in x)
    if isinstance(x, tuple):  # a named tuple (np.linalg.svd's, eigh's, slogdet's)
        return tuple(_wrap(v) for v in x)
    if isinstance(x, types.ModuleType):  # np.lib.stride_tricks
        return _Call(x)
    if callable(x) and not isinstance(x, type):
        return _Call(x)
    return x


class _Call:
    """A NumPy function (or ufunc, or bound method) behind the wall: unwrap, call, wrap;
    its attributes (``np.add.at``, ``.reduce``) too."""

    __slots__ = ("fn",)

    def __init__(self, fn) -> None:
        self.fn = fn

    def __call__(self, *args, **kwargs):
        return _wrap(self.fn(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):
        return _wrap(getattr(self.fn, name))


class _Namespace:
    """NumPy's names for strict arrays: functions wrapped, types and constants as NumPy's."""

    ndarray = StrictArray

    def __getattr__(self, name):
        value = getattr(np, name)
        if isinstance(value, types.ModuleType):  # np.linalg, np.lib: their functions wrapped
            return _Call(value)
        if isinstance(value, type) or not callable(value):
            return value  # dtypes, np.generic, np.errstate (a class), pi, newaxis, ...
        return _Call(value)


strict_xp = _Namespace()


class StrictBackend(Backend):
    """The test backend: device ``strict:0``, arrays that are not NumPy's."""

    name = "strict"
    array_type = StrictArray
    xp = strict_xp

    def to_host(self, array) -> np.ndarray:
        return array._a.copy()

    def from_host(self, array: np.ndarray, dev=None) -> StrictArray:
        if array.__class__ is StrictArray:
            raise TypeError("from_host takes a NumPy array")
        return StrictArray(np.array(array, copy=True))


STRICT = backend.register(StrictBackend())
