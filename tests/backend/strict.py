"""A second backend for the tests: device "strict", whose arrays wrap NumPy's but refuse to be
NumPy arrays, so any code that calls ``np.`` on one instead of its backend fails loudly, and
whose namespace offers only what CuPy offers, so the ops proved here run on CuPy too.

``StrictArray`` is not an ``np.ndarray``: ``np.asarray`` of one raises, ufuncs and array
functions return NotImplemented. ``strict_xp`` mirrors NumPy's names by unwrapping the
arguments, calling NumPy and wrapping the results; the array's operators and methods are
forwarded the same way. Importing this module registers the backend (``backend.register``).

The names are CuPy's: ``cupy_api.json`` (written by ``snapshot_cupy_api.py`` from an
installed CuPy) lists every public name of ``cupy``, its submodules linalg, fft, random, lib
and lib.stride_tricks, and ``cupy.ndarray``, with the keyword arguments each accepts where
its signature is known. A name CuPy lacks raises AttributeError, an unknown keyword raises
TypeError, a ufunc method CuPy has not implemented (``maximum.accumulate``) raises
NotImplementedError when called, as it does on CuPy, and so does ``ufunc.at`` on a dtype
CuPy's atomic scatter lacks (``add.at`` into int64) with TypeError; each message says
"CuPy 14 has no ...".
The one name allowed beyond CuPy's is ``errstate``, which axon's CUDA backend adds to its
namespace (``backend/cupy/__init__.py``). Dunders pass through as NumPy's, so NumPy's own
probes (``__array_interface__`` and the like) behave as before.
"""

from __future__ import annotations

import json
import operator
import types
from pathlib import Path

import numpy as np

from axon import backend
from axon.backend.base import Backend

_API = json.loads(Path(__file__).with_name("cupy_api.json").read_text())
CUPY = f"CuPy {_API['cupy_version'].split('.')[0]}"  # "CuPy 14", as the messages name it
_EXTRAS = {"errstate"}  # names axon's CUDA namespace adds to CuPy's
_INDEXERS = {"c_", "mgrid", "ogrid", "r_"}  # objects indexed, not called: np.ogrid[:2, :3]
_UFUNC_METHODS = {"accumulate", "at", "reduce", "reduceat"}  # the ones CuPy has for a few


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
        spec = _API["ndarray"].get(name)
        if spec is None:  # (the engine's hasattr(grad, "result") lands here: False, as CuPy's)
            raise AttributeError(f"{CUPY} has no ndarray.{name}")
        value = getattr(self._a, name)
        return _Call(value, f"ndarray.{name}", spec) if callable(value) else _wrap(value)

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
    if callable(x) and not isinstance(x, type):
        return _Call(x)
    return x


def _check_keywords(name: str, spec: dict, kwargs: dict) -> None:
    """Refuse a keyword argument that ``name``'s CuPy signature lacks (when it is known)."""
    known = spec.get("kwargs")
    bad = sorted(set(kwargs) - set(known)) if known is not None else ()
    if bad:
        raise TypeError(
            f"{CUPY} has no keyword argument {', '.join(map(repr, bad))} for {name} "
            f"(it takes {', '.join(known) or 'none'})"
        )


def _check_at_dtype(name: str, dtypes: list, target, index, *values) -> None:
    """Refuse ``ufunc.at`` on a dtype CuPy's atomic scatter lacks (``add.at`` of int64),
    which it refuses when the index holds an integer array."""
    items = index if isinstance(index, tuple) else (index,)
    by_array = any(
        isinstance(i, list) or (getattr(i, "dtype", None) is not None and i.dtype.kind in "iu")
        for i in items
    )
    if by_array and target.dtype.name not in dtypes:
        raise TypeError(
            f"{CUPY} has no {name} for {target.dtype} arrays indexed by an integer array "
            f"(only {', '.join(dtypes)})"
        )


class _Call:
    """A NumPy function (or ufunc, or bound method) behind the wall: unwrap, call, wrap;
    its attributes (``np.add.at``, ``.reduce``) too. With ``spec`` (its entry in
    ``cupy_api.json``) the keywords and ufunc methods CuPy lacks are refused."""

    __slots__ = ("fn", "name", "spec")

    def __init__(self, fn, name: str = "", spec: dict | None = None) -> None:
        self.fn, self.name, self.spec = fn, name, spec

    def __call__(self, *args, **kwargs):
        if kwargs and self.spec:
            _check_keywords(self.name, self.spec, kwargs)
        if self.spec and "index_dtypes" in self.spec:  # a ufunc's at
            _check_at_dtype(self.name, self.spec["index_dtypes"], *args)
        return _wrap(self.fn(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):
        if self.spec is None or "ufunc" not in self.spec or name.startswith("__"):
            return _wrap(getattr(self.fn, name))
        spec = _API["ufunc"].get(name)
        if spec is None:
            raise AttributeError(f"{CUPY} has no ufunc attribute {self.name}.{name}")
        if name in _UFUNC_METHODS and name not in self.spec["ufunc"]:
            return _NotImplemented(f"{self.name}.{name}")
        if name == "at":
            spec = {**spec, "index_dtypes": self.spec["at_dtypes"]}
        value = getattr(self.fn, name)
        return _Call(value, f"{self.name}.{name}", spec) if callable(value) else value


class _NotImplemented:
    """A ufunc method CuPy has but raises NotImplementedError for (``maximum.accumulate``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args, **kwargs):
        method = self.name.rsplit(".", 1)[1]
        having = [k for k, v in _API["modules"]["cupy"].items() if method in v.get("ufunc", ())]
        raise NotImplementedError(
            f"{CUPY} has no {self.name} (it raises NotImplementedError): its {method} is "
            f"implemented for {', '.join(having)} only"
        )


class _Indexer:
    """NumPy's ``ogrid``, ``mgrid``, ``r_`` and ``c_`` behind the wall: index, then wrap."""

    __slots__ = ("obj",)

    def __init__(self, obj) -> None:
        self.obj = obj

    def __getitem__(self, key):
        return _wrap(self.obj[_unwrap(key)])


class _Module:
    """One of CuPy's modules (``cupy``, ``cupy.linalg``) answered with NumPy's namesakes:
    functions wrapped, submodules too, types and constants as NumPy's; a name the CuPy
    module lacks raises AttributeError."""

    __slots__ = ("module", "name", "names")

    def __init__(self, module: types.ModuleType, name: str) -> None:
        self.module, self.name, self.names = module, name, _API["modules"][name]

    def __getattr__(self, name):
        if name.startswith("__"):
            return getattr(self.module, name)
        spec = self.names.get(name)
        if spec is None and not (self.name == "cupy" and name in _EXTRAS):
            raise AttributeError(f"{CUPY} has no {self.name}.{name}")
        value = getattr(self.module, name)
        full = f"{self.name}.{name}"
        if isinstance(value, types.ModuleType):  # np.linalg, np.lib: their names checked too
            if full not in _API["modules"]:
                raise AttributeError(
                    f"the strict backend does not mirror {full}: add it to SUBMODULES in "
                    f"snapshot_cupy_api.py and rerun it"
                )
            return _Module(value, full)
        if name in _INDEXERS:
            return _Indexer(value)
        if isinstance(value, type) or not callable(value):
            return value  # dtypes, np.generic, np.errstate (a class), pi, newaxis, ...
        return _Call(value, full, spec)


class _Namespace(_Module):
    """CuPy's names for strict arrays (``xp``), NumPy's behind the wall."""

    __slots__ = ()
    ndarray = StrictArray

    def __init__(self) -> None:
        super().__init__(np, "cupy")


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
