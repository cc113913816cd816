"""The array backend: the one place that names the array library.

Every array call in axon goes through ``xp`` (NumPy today). A CuPy backend can later be
swapped in here without touching the ops. This layer also owns the default dtype and the
seeded random generator, so ``manual_seed`` makes every run reproducible.
"""

from __future__ import annotations

import numpy as np

xp = np
"""The array namespace: NumPy."""

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
    global _rng, _seed
    _seed = int(seed)
    _rng = np.random.default_rng(seed)
    return _rng


def initial_seed() -> int:
    """The seed last given to :func:`manual_seed`."""
    return _seed


def rng() -> np.random.Generator:
    """The global seeded generator every random draw in axon uses."""
    return _rng


def to_dtype(dtype) -> np.dtype | None:
    """Turn a dtype-like (np.dtype, type, string such as 'float32') into an np.dtype."""
    if dtype is None:
        return None
    return np.dtype(dtype)
