"""The boundary between axon and array libraries: devices, dtypes and type promotion, the
seeded generators, and the registry of backends (``base``; the CPU's is ``backend/numpy``).

``xp`` is the CPU's namespace (NumPy); an op reads its inputs' namespace as ``self.xp``
(``Op.apply`` finds the backend of its inputs), so another backend registers and computes.
"""

from __future__ import annotations

import numpy as np

from .base import _by_class as _array_types

xp = np
"""The CPU's array namespace: NumPy."""

host = np
"""The host's array namespace (NumPy), for work done in host memory on purpose: shapes and
index arithmetic, type checks, gradcheck's Jacobians, draws made before they move to a
device. Arrays of a tensor are computed with their own backend's namespace, never this."""

dtype = np.dtype
"""The type of axon's dtypes (``isinstance(x.dtype, axon.dtype)``, as ``torch.dtype``)."""

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

# PyTorch's aliases (``axon.float`` is float32, ``axon.long`` is int64, as in torch)
half = float16
double = float64
long = int64

_default_dtype = float32
_rng = np.random.default_rng(0)
_seed = 0
device_salt = 0
"""Mixed into the seed of every draw made on a GPU (``axon.cuda.manual_seed`` sets it;
``manual_seed`` puts it back to 0, as torch's seeds every device)."""


def get_default_dtype() -> np.dtype:
    """The floating dtype used for new tensors made from Python floats (float32)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype (float32 or float64)."""
    global _default_dtype
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"default dtype must be floating point, got {dt}")
    _default_dtype = dt


def manual_seed(seed: int) -> np.random.Generator:
    """Seed axon's random generator (weights, dropout, shuffling); returns it."""
    global _rng, _seed, device_salt
    _seed, device_salt = int(seed), 0
    _rng = np.random.default_rng(seed)
    return _rng


def initial_seed() -> int:
    """The seed last given to :func:`manual_seed`."""
    return _seed


def rng() -> np.random.Generator:
    """The global seeded generator every random draw in axon uses."""
    return _rng


# ------------------------------------------------------------------ type promotion
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # bool < integer < floating < complex
_ndarray = np.ndarray


def promote_types(a, b) -> np.dtype:
    """torch.promote_types: the higher category wins as it is (``float16`` with ``int64`` is
    float16, where NumPy says float64); within a category the wider type wins."""
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb and ca + cb < 5:  # not float with complex: NumPy's rule is torch's there
        return a if ca > cb else b
    return np.promote_types(a, b)


def _scalar_dtype(x) -> np.dtype:
    """The dtype torch gives a Python number taking part in an op (a "wrapped number")."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    if isinstance(x, float):
        return _default_dtype
    if isinstance(x, complex):
        return np.dtype("complex64") if _default_dtype == float32 else np.dtype("complex128")
    return np.asarray(x).dtype


def result_type(a, b) -> np.dtype:
    """The dtype of ``a op b`` by torch.result_type, for arrays and Python numbers.

    Three priorities: arrays with dimensions, then 0-d arrays, then Python numbers. A lower
    priority operand decides only when its category (bool < int < float < complex) is
    higher: ``float32 array + float64 0-d array`` is float32, ``int array + 0.5`` is the
    default float, ``int32 array + int64 array`` is int64.
    """
    a_arr = a.__class__ is _ndarray or a.__class__ in _array_types
    b_arr = b.__class__ is _ndarray or b.__class__ in _array_types
    if a_arr and b_arr:
        da, db = a.dtype, b.dtype
        if da == db:
            return da
        if (a.ndim == 0) == (b.ndim == 0):
            return promote_types(da, db)
        return _combine(da, db) if a.ndim else _combine(db, da)
    if a_arr:
        return _combine(a.dtype, _scalar_dtype(b))
    if b_arr:
        return _combine(b.dtype, _scalar_dtype(a))
    return promote_types(_scalar_dtype(a), _scalar_dtype(b))


def _combine(strong: np.dtype, weak: np.dtype) -> np.dtype:
    """``strong`` (higher priority) unless ``weak`` is of a higher category."""
    if _CATEGORY[weak.kind] > _CATEGORY[strong.kind]:
        return promote_types(strong, weak)
    return strong


def to_dtype(dtype) -> np.dtype | None:
    """Turn a dtype-like (np.dtype, type, string such as 'float32') into an np.dtype."""
    if dtype is None:
        return None
    return np.dtype(dtype)


# ------------------------------------------------------------------ masked gradients
_SAME_WIDTH_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def masked(g, keep, xp=np):
    """``g`` where the bool array ``keep`` holds, +0 elsewhere: the gradient a kink passes
    (``xp``: the arrays' namespace).

    Unlike ``g * keep``, a NaN or inf in ``g`` stays out of the blocked positions (torch
    gives 0 there). ``np.where(keep, g, 0)`` does the same at about 7x the cost of the
    multiply on NumPy 2.4; ANDing ``g``'s bits with all-ones or all-zeros patterns made
    from ``keep`` costs about 1.4x.
    """
    ints = _SAME_WIDTH_INT.get(g.dtype.itemsize) if g.dtype.kind == "f" else None
    if ints is None:
        return xp.where(keep, g, 0)
    bits = xp.negative(keep.view(np.int8), dtype=np.int8)  # True -> -1 (all ones), False -> 0
    return xp.bitwise_and(g.view(ints), bits, dtype=ints).view(g.dtype)


# ------------------------------------------------------------------ backends and devices
from .base import Backend, for_device, namespace, of, register  # noqa: E402
from .device import DeviceUnavailableError, device  # noqa: E402
from .numpy import cpu  # noqa: E402  (registers the CPU backend)
