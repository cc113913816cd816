"""Pointwise math beyond the arithmetic of ``elementwise.py``: logs and exponentials,
hyperbolic and inverse trigonometric functions, logit, and the binary float functions.

The binary ones are atan2, hypot, logaddexp, xlogy, copysign, lerp and fmax/fmin; rounding,
division with rounding and remainders are in ``rounding.py``, the special functions in
``special.py`` (erf family, Bessel, sinc) and ``gamma.py`` (lgamma, digamma, zeta, ...).
Here too are the dtype helpers they share (torch's promotion to float, its error messages).

Each forward sits beside its local derivative. Float functions of integer tensors compute
in the default dtype (float32), as torch.
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op
from .elementwise import _binary, _weak, float_input, promote

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

_TORCH_TYPE = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def torch_type_name(dtype) -> str:
    """The name torch's kernels use for a dtype in their errors ('Float', 'Long', ...)."""
    return _TORCH_TYPE.get(B.dtype(dtype).name, str(dtype))


def not_implemented(kernel: str, dtype) -> NotImplementedError:
    """torch's error for a kernel that does not exist for a dtype (a RuntimeError)."""
    return NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{torch_type_name(dtype)}'")


def namespace_of(a, b):
    """The array namespace of ``a``, or of ``b`` when ``a`` is a number (NumPy for two)."""
    return B.namespace(a if B.of(a) is not None else b)


def promote_float(a, b):
    """``a`` and ``b`` as arrays of torch's result dtype (``promote``), made floating point
    (the default dtype) when that is an integer type, as torch's float functions."""
    xp = namespace_of(a, b)
    a, b, dt = promote(_weak(a), _weak(b))
    if dt.kind not in "fc":
        dt = B.get_default_dtype()
    return xp.asarray(a, dtype=dt), xp.asarray(b, dtype=dt)


def require_float(kernel: str, a) -> None:
    """Refuse an integer input, for the functions torch has no integer kernel for."""
    if a.dtype.kind not in "fc":
        raise not_implemented(kernel, a.dtype)


def promote_float_only(kernel: str, a, b):
    """``a`` and ``b`` as arrays of their common dtype, which must be floating point: torch
    promotes first, then finds no integer kernel (``hypot(int, float)`` is fine)."""
    xp = namespace_of(a, b)
    a, b, dt = promote(_weak(a), _weak(b))
    if dt.kind not in "fc":
        raise not_implemented(kernel, dt)
    return xp.asarray(a, dtype=dt), xp.asarray(b, dtype=dt)


# ------------------------------------------------------------------ logs and exponentials
class Log1p(Op):
    """log(1 + a), exact for small a;  d/da = 1 / (1 + a)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.log1p(self.a)

    def backward(self, g):
        return (g / (1 + self.a),)


class Expm1(Op):
    """e^a - 1, exact for small a;  d/da = e^a."""

    def forward(self, a):
        self.out = self.xp.expm1(float_input(a))
        return self.out

    def backward(self, g):
        return (g * (self.out + 1),)


class Log2(Op):
    """log2(a);  d/da = 1 / (a ln 2)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.log2(self.a)

    def backward(self, g):
        return (g / (self.a * _LN2),)


class Log10(Op):
    """log10(a);  d/da = 1 / (a ln 10)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.log10(self.a)

    def backward(self, g):
        return (g / (self.a * _LN10),)


class Exp2(Op):
    """2^a;  d/da = 2^a ln 2."""

    def forward(self, a):
        self.out = self.xp.exp2(float_input(a))
        return self.out

    def backward(self, g):
        return (g * self.out * _LN2,)


# ------------------------------------------------------------------ trigonometric
class Tan(Op):
    """tan(a);  d/da = 1 + tan^2(a)."""

    def forward(self, a):
        self.out = self.xp.tan(float_input(a))
        return self.out

    def backward(self, g):
        return (g * (1 + self.out * self.out),)


class Asin(Op):
    """asin(a);  d/da = 1 / sqrt(1 - a^2)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.arcsin(self.a)

    def backward(self, g):
        return (g / self.xp.sqrt(1 - self.a * self.a),)


class Acos(Op):
    """acos(a);  d/da = -1 / sqrt(1 - a^2)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.arccos(self.a)

    def backward(self, g):
        return (-g / self.xp.sqrt(1 - self.a * self.a),)


class Atan(Op):
    """atan(a);  d/da = 1 / (1 + a^2)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.arctan(self.a)

    def backward(self, g):
        return (g / (1 + self.a * self.a),)


class Atan2(Op):
    """atan2(a, b), the angle of the point (b, a);
    d/da = b / (a^2 + b^2),  d/db = -a / (a^2 + b^2)."""

    def forward(self, a, b):
        self.a, self.b = promote_float(a, b)
        return _binary("atan2", self.xp.arctan2, self.a, self.b)

    def backward(self, g):
        pa, pb = self.parents
        r2 = self.a * self.a + self.b * self.b
        return (
            g * self.b / r2 if pa is not None else None,
            -g * self.a / r2 if pb is not None else None,
        )


# ------------------------------------------------------------------ hyperbolic
class Sinh(Op):
    """sinh(a);  d/da = cosh(a)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.sinh(self.a)

    def backward(self, g):
        return (g * self.xp.cosh(self.a),)


class Cosh(Op):
    """cosh(a);  d/da = sinh(a)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.cosh(self.a)

    def backward(self, g):
        return (g * self.xp.sinh(self.a),)


class Asinh(Op):
    """asinh(a);  d/da = 1 / sqrt(a^2 + 1)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.arcsinh(self.a)

    def backward(self, g):
        return (g / self.xp.sqrt(self.a * self.a + 1),)


class Acosh(Op):
    """acosh(a), a >= 1;  d/da = 1 / sqrt(a^2 - 1)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.arccosh(self.a)

    def backward(self, g):
        return (g / self.xp.sqrt(self.a * self.a - 1),)


class Atanh(Op):
    """atanh(a), |a| < 1;  d/da = 1 / (1 - a^2)."""

    def forward(self, a):
        self.a = float_input(a)
        return self.xp.arctanh(self.a)

    def backward(self, g):
        return (g / (1 - self.a * self.a),)


class Logit(Op):
    """log(a / (1 - a)), with ``a`` first clamped to [eps, 1 - eps] when eps is given;
    d/da = 1 / (a (1 - a)), and 0 where the clamp cut ``a`` (torch's choice)."""

    def forward(self, a, eps):
        xp = self.xp
        a = float_input(a)
        if eps is not None:
            self.cut = (a < eps) | (a > 1 - eps)
            a = xp.clip(a, eps, 1 - eps)
        else:
            self.cut = None
        self.a = a
        with xp.errstate(divide="ignore"):
            return xp.log(a / (1 - a))

    def backward(self, g):
        d = g / (self.a * (1 - self.a))
        if self.cut is not None:
            d = self.xp.where(self.cut, 0, d).astype(g.dtype, copy=False)
        return d, None


# ------------------------------------------------------------------ binary functions
class Hypot(Op):
    """sqrt(a^2 + b^2) without overflow;  d/da = a / out, d/db = b / out."""

    def forward(self, a, b):
        self.a, self.b = promote_float_only("hypot", a, b)
        self.out = _binary("hypot", self.xp.hypot, self.a, self.b)
        return self.out

    def backward(self, g):
        pa, pb = self.parents
        return (
            g * self.a / self.out if pa is not None else None,
            g * self.b / self.out if pb is not None else None,
        )


class LogAddExp(Op):
    """log(e^a + e^b), stably;  d/da = e^(a - out) = sigmoid(a - b)."""

    def forward(self, a, b):
        self.a, self.b = promote_float_only("logaddexp", a, b)
        self.out = _binary("logaddexp", self.xp.logaddexp, self.a, self.b)
        return self.out

    def backward(self, g):
        xp = self.xp
        pa, pb = self.parents
        return (
            g * xp.exp(self.a - self.out) if pa is not None else None,
            g * xp.exp(self.b - self.out) if pb is not None else None,
        )


class LogAddExp2(Op):
    """log2(2^a + 2^b), stably;  d/da = 2^(a - out)."""

    def forward(self, a, b):
        self.a, self.b = promote_float_only("logaddexp2", a, b)
        self.out = _binary("logaddexp2", self.xp.logaddexp2, self.a, self.b)
        return self.out

    def backward(self, g):
        xp = self.xp
        pa, pb = self.parents
        return (
            g * xp.exp2(self.a - self.out) if pa is not None else None,
            g * xp.exp2(self.b - self.out) if pb is not None else None,
        )


class Xlogy(Op):
    """a log(b), and 0 where a == 0 (even for b == 0), NaN where b is NaN;
    d/da = log(b) (torch's 0 where a == 0 and b <= 0), d/db = a / b."""

    def forward(self, a, b):
        xp = self.xp
        a, b = promote_float(a, b)
        self.a, self.b = a, b
        with xp.errstate(divide="ignore", invalid="ignore"):
            prod = _binary("xlogy", xp.multiply, a, xp.log(b))
        return xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), prod.dtype), prod)

    def backward(self, g):
        xp = self.xp
        pa, pb = self.parents
        ga = gb = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if pa is not None:
                cut = (self.a == 0) & (self.b <= 0)
                ga = g * xp.where(cut, xp.zeros((), g.dtype), xp.log(self.b))
            if pb is not None:
                gb = g * self.a / self.b
        return ga, gb


class Copysign(Op):
    """|a| with the sign of b (the sign bit: -0.0 counts as negative);
    d/da = out / a (0 where a == 0), d/db = 0."""

    def forward(self, a, b):
        self.a, b = promote_float(a, b)
        self.out = _binary("copysign", self.xp.copysign, self.a, b)
        return self.out

    def backward(self, g):
        xp = self.xp
        pa, pb = self.parents
        ga = None
        if pa is not None:
            with xp.errstate(divide="ignore", invalid="ignore"):
                ga = g * xp.where(self.a == 0, xp.zeros((), g.dtype), self.out / self.a)
        return ga, (xp.zeros_like(g) if pb is not None else None)


class Lerp(Op):
    """start + weight (end - start), computed as torch does for accuracy near both ends
    (from ``end`` when weight >= 0.5);  d/dstart = 1 - w, d/dend = w, d/dw = end - start."""

    def forward(self, start, end, weight):
        xp = self.xp
        w = _weak(weight)
        self.w, self.diff = w, end - start
        if isinstance(w, int | float):
            return start + w * self.diff if abs(w) < 0.5 else end - self.diff * (1 - w)
        out = xp.where(xp.abs(w) < 0.5, start + w * self.diff, end - self.diff * (1 - w))
        return out.astype(xp.result_type(start, end), copy=False)

    def backward(self, g):
        ps, pe, pw = self.parents
        w = self.w
        return (
            g * (1 - w) if ps is not None else None,
            g * w if pe is not None else None,
            g * self.diff if pw is not None else None,
        )


class Fmax(Op):
    """The larger of a and b, ignoring NaN (NaN only where both are); the gradient goes to
    ``a`` where a >= b or b is NaN, else to ``b`` (ties to ``a``, as torch)."""

    pick = "fmax"  # the namespace function

    def forward(self, a, b):
        a, b, _ = promote(_weak(a), _weak(b))
        self.out = _binary(type(self).__name__.lower(), getattr(self.xp, self.pick), a, b)
        self.to_a = (self.out == a) | self.xp.isnan(b)
        return self.out

    def backward(self, g):
        xp = self.xp
        pa, pb = self.parents
        zero = xp.zeros((), g.dtype)
        return (
            xp.where(self.to_a, g, zero) if pa is not None else None,
            xp.where(self.to_a, zero, g) if pb is not None else None,
        )


class Fmin(Fmax):
    """The smaller of a and b, ignoring NaN; ties send the gradient to ``a``."""

    pick = "fmin"
