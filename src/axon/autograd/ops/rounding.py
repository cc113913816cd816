"""Rounding and the functions built on it: sign, floor, ceil, trunc, round, frac, division
with rounding (div's rounding_mode, floor_divide), fmod and remainder, heaviside, nextafter, frexp.

Each forward sits beside its local derivative. The rounding family has gradient 0 everywhere,
as in torch, and keeps an integer input's dtype; integer division by zero raises, as torch.
The dtype helpers (``promote_float_only``, torch's error messages) live in ``pointwise.py``.
"""

from __future__ import annotations

from ... import backend as B
from ..function import Op
from .elementwise import _binary, _weak, promote
from .pointwise import namespace_of, not_implemented, promote_float_only, require_float


# ------------------------------------------------------------------ rounding: gradient 0
class _Step(Op):
    """A piecewise-constant function: its gradient is 0 wherever it is defined, and torch
    returns 0 at the jumps too. Integer inputs keep their dtype."""

    @staticmethod
    def fn(a):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, a):
        return self.fn(a)

    def backward(self, g):
        return (self.xp.zeros_like(g),)


def _keep_int(fn: str, kernel: str):
    """The namespace function ``fn`` for floats; a copy of an integer array, which it leaves
    unchanged; torch's NotImplementedError for bool."""

    def rounded(a):
        if a.dtype == bool:
            raise not_implemented(kernel, a.dtype)
        return getattr(B.namespace(a), fn)(a) if a.dtype.kind in "fc" else a.copy()

    return rounded


def _sign(a):
    """-1, 0 or 1; torch gives 0 for NaN (NumPy NaN) and keeps a bool tensor as it is."""
    xp = B.namespace(a)
    if a.dtype == bool:
        return a.copy()
    out = xp.sign(a)
    return xp.where(xp.isnan(out), 0, out).astype(a.dtype) if a.dtype.kind == "f" else out


class Sign(_Step):
    fn = staticmethod(_sign)


class Floor(_Step):
    fn = staticmethod(_keep_int("floor", "floor_vml"))


class Ceil(_Step):
    fn = staticmethod(_keep_int("ceil", "ceil_vml"))


class Trunc(_Step):
    fn = staticmethod(_keep_int("trunc", "trunc_vml"))


class Round(_Step):
    """Round half to even, to ``decimals`` places (as torch: scale, rint, unscale)."""

    def forward(self, a, decimals):
        if a.dtype == bool:
            raise not_implemented("round_vml", a.dtype)
        if a.dtype.kind not in "fc":
            if decimals:
                raise not_implemented("round", a.dtype)
            return a.copy()
        return self.xp.round(a, decimals)

    def backward(self, g):
        return self.xp.zeros_like(g), None


class Frac(Op):
    """a - trunc(a), the fractional part with a's sign;  d/da = 1."""

    def forward(self, a):
        require_float("frac", a)
        return a - self.xp.trunc(a)

    def backward(self, g):
        return (g,)


# ------------------------------------------------------------------ division and remainders
def _check_int_divisor(a, b) -> None:
    """torch refuses integer division by zero (NumPy would give 0 and a warning)."""
    xp = namespace_of(a, b)
    if xp.asarray(a).dtype.kind in "iub" and xp.asarray(b).dtype.kind in "iub":
        if xp.any(xp.asarray(b) == 0):
            raise RuntimeError("ZeroDivisionError")


class DivRounded(Op):
    """a / b rounded toward zero ("trunc") or down ("floor"); integers stay integers.
    The gradient is 0 for both inputs, as torch's ``div(rounding_mode=...)``."""

    def forward(self, a, b, mode):
        xp = self.xp
        a, b = _weak(a), _weak(b)
        _check_int_divisor(a, b)
        if mode == "floor":
            return _binary("div", xp.floor_divide, a, b)
        if xp.result_type(a, b).kind in "iub":  # floor, then one up where negative, inexact
            q = _binary("div", xp.floor_divide, a, b)
            return xp.where((q < 0) & (xp.remainder(a, b) != 0), q + 1, q)
        return xp.trunc(_binary("div", xp.true_divide, a, b))

    def backward(self, g):
        pa, pb = self.parents[:2]
        zero = self.xp.zeros_like(g)
        return (zero if pa is not None else None, zero if pb is not None else None, None)


class FloorDivide(DivRounded):
    """``a // b``: torch computes it but has no derivative for it."""

    def forward(self, a, b):
        return super().forward(a, b, "floor")

    def backward(self, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


class Fmod(Op):
    """The C remainder a - trunc(a / b) b (the sign of a);  d/da = 1, d/db = -trunc(a/b)."""

    def forward(self, a, b):
        a, b = _weak(a), _weak(b)
        _check_int_divisor(a, b)
        self.a, self.b = a, b
        return _binary("fmod", self.xp.fmod, a, b)

    def backward(self, g):
        xp = self.xp
        pa, pb = self.parents
        gb = None
        if pb is not None:
            gb = -g * xp.trunc(xp.true_divide(self.a, self.b))
        return (g if pa is not None else None), gb


class Remainder(Op):
    """Python's remainder a - floor(a / b) b (the sign of b);
    d/da = 1, d/db = -floor(a / b)."""

    def forward(self, a, b):
        a, b = _weak(a), _weak(b)
        _check_int_divisor(a, b)
        self.a, self.b = a, b
        return _binary("remainder", self.xp.remainder, a, b)

    def backward(self, g):
        pa, pb = self.parents
        gb = None
        if pb is not None:
            gb = -g * self.xp.floor_divide(self.a, self.b)
        return (g if pa is not None else None), gb


# ------------------------------------------------------------------ steps and float representation
class Heaviside(Op):
    """The step function: 0 for a < 0, ``values`` at 0, 1 for a > 0. torch records it but
    has no derivative for it."""

    def forward(self, a, values):
        a, values, _ = promote(_weak(a), _weak(values))
        return _binary("heaviside", self.xp.heaviside, a, values)

    def backward(self, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


class NextAfter(Op):
    """The next floating-point value after a in the direction of b;  d/da = 1 (torch's
    choice: a step of one ulp), d/db = 0."""

    def forward(self, a, b):
        a, b = promote_float_only("nextafter", a, b)
        return _binary("nextafter", self.xp.nextafter, a, b)

    def backward(self, g):
        pa, pb = self.parents
        return (g if pa is not None else None), (self.xp.zeros_like(g) if pb is not None else None)


class Frexp(Op):
    """The mantissa m of a = m 2^e, 0.5 <= |m| < 1 (e in ``self.exponent``);
    d/da = 2^-e."""

    def forward(self, a):
        xp = self.xp
        if a.dtype.kind != "f":
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        mantissa, exponent = xp.frexp(a)
        self.exponent = exponent.astype(xp.int32)
        return mantissa

    def backward(self, g):
        return (g * self.xp.exp2(-self.exponent.astype(g.dtype)),)
