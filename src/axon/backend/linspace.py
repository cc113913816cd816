"""``linspace`` as torch computes it, bit for bit.

torch's CPU kernel fills the first half as ``start + step * i`` and the second half as
``end - step * (steps - 1 - i)``, each a fused multiply-add (one rounding), with ``step``
computed in the output dtype. NumPy's ``linspace`` rounds differently in a few places per
array; a grid built on it then puts some points one ulp on the other side of a pixel
centre, where bilinear sampling has a kink, and the gradients of a spatial transformer
at its identity initialisation come out different. Matching the values avoids that.
"""

from __future__ import annotations

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1: Dekker's splitting constant for float64


def fused_multiply_add(a, b, c):
    """``a * b + c`` with a single rounding, for float64 arrays: the product is made exact
    by Dekker's splitting, then added to ``c`` by an error-free sum."""

    def halves(v):
        t = _SPLIT * v
        hi = t - (t - v)
        return hi, v - hi

    p = a * b
    ah, al = halves(a)
    bh, bl = halves(b)
    product_error = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    v = s - p
    sum_error = (p - (s - v)) + (c - v)
    return s + (sum_error + product_error)


def torch_linspace(start: float, end: float, steps: int, dtype) -> np.ndarray:
    """``steps`` values from ``start`` to ``end`` in ``dtype`` (float32 or float64), equal
    to ``torch.linspace``'s; other dtypes fall back to NumPy's values."""
    dt = np.dtype(dtype)
    if steps <= 1 or dt not in (np.float32, np.float64):
        return np.linspace(start, end, steps).astype(dt)
    lo, hi = dt.type(start), dt.type(end)
    step = np.float64((hi - lo) / dt.type(steps - 1))
    half = steps // 2
    first = np.arange(half, dtype=np.float64)
    last = np.arange(steps - half - 1, -1, -1, dtype=np.float64)  # steps - 1 - i
    if dt == np.float32:  # float32 products and sums are exact in float64: one rounding
        values = (np.float64(lo) + step * first, np.float64(hi) - step * last)
    else:
        values = (
            fused_multiply_add(np.full(half, step), first, np.float64(lo)),
            fused_multiply_add(np.full(steps - half, -step), last, np.float64(hi)),
        )
    return np.concatenate(values).astype(dt)
