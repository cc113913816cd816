"""Special functions, each forward beside its derivative: the error functions (erf, erfc,
erfcx, erfinv), the modified Bessel functions I0 and I1 (plain and scaled), and sinc.

The gamma family (lgamma, digamma, polygamma, zeta, incomplete gamma) is in ``gamma.py``.
NumPy has none of them. ``erf`` (W. J. Cody's rational forms) lives in ``activation.py``
for GELU; erfc reuses its tail forms; erfinv refines an approximation by Newton steps on
erf. Integer inputs compute in the default dtype, as torch.
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op
from .activation import _ERF_C, _ERF_D, _ERF_P, _ERF_Q, erf
from .elementwise import float_input

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erfcx_tail(y):
    """e^(y^2) erfc(y) for y > 0.5, from Cody's rational tail forms (the ones ``erf`` uses):
    P(y) / Q(y) up to 4, (1/sqrt(pi) - R(1/y^2)) / y beyond. No exponential is taken, so
    this neither underflows nor loses digits for large y."""
    xp = B.namespace(y)
    with xp.errstate(divide="ignore", invalid="ignore"):
        num, den = _ERF_C[8] * y, y
        for i in range(7):
            num, den = (num + _ERF_C[i]) * y, (den + _ERF_D[i]) * y
        mid = (num + _ERF_C[7]) / (den + _ERF_D[7])
        w = 1 / (y * y)
        num, den = _ERF_P[5] * w, w
        for i in range(4):
            num, den = (num + _ERF_P[i]) * w, (den + _ERF_Q[i]) * w
        big = (1 / math.sqrt(math.pi) - w * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / y
    return xp.where(y <= 4, mid, big)


def erfc(x):
    """1 - erf(x), without the cancellation of that difference for large x: for |x| > 0.5
    it is e^(-x^2) times the scaled tail (0 beyond 27, where float64 underflows)."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    y = xp.abs(x).astype(xp.float64)
    with xp.errstate(under="ignore"):
        tail = xp.where(y < 27, _erfcx_tail(y) * xp.exp(-y * y), 0.0)  # erfc(|x|)
    small = 1 - erf(x.astype(xp.float64))
    out = xp.where(y <= 0.5, small, xp.where(x > 0, tail, 2 - tail))
    return out.astype(x.dtype)


def erfcx(x):
    """The scaled complementary error function e^(x^2) erfc(x), finite for large x (about
    1 / (x sqrt(pi))); it overflows to inf for x below about -26, as torch's."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    t = x.astype(xp.float64)
    y = xp.abs(t)
    with xp.errstate(over="ignore", invalid="ignore"):
        e = xp.exp(t * t)
        small = e * (1 - erf(t))
        out = xp.where(y <= 0.5, small, xp.where(t > 0, _erfcx_tail(y), 2 * e - _erfcx_tail(y)))
    return out.astype(x.dtype)


def erfinv(y):
    """The inverse of erf on (-1, 1): Giles' single-precision approximation, then Newton
    steps on erf(x) = y to float64 accuracy; +-inf at +-1 and NaN outside [-1, 1]."""
    xp = B.namespace(y)
    y = xp.asarray(y)
    t = y.astype(xp.float64)
    with xp.errstate(divide="ignore", invalid="ignore"):
        w = -xp.log((1 - t) * (1 + t))
        central = w - 2.5  # Giles (2010), "Approximating the erfinv function"
        p = 2.81022636e-08
        for c in (
            3.43273939e-07,
            -3.5233877e-06,
            -4.39150654e-06,
            0.00021858087,
            -0.00125372503,
            -0.00417768164,
            0.246640727,
            1.50140941,
        ):
            p = p * central + c
        tail = xp.sqrt(w) - 3
        q = -0.000200214257
        for c in (
            0.000100950558,
            0.00134934322,
            -0.00367342844,
            0.00573950773,
            -0.0076224613,
            0.00943887047,
            1.00167406,
            2.83297682,
        ):
            q = q * tail + c
        x = xp.where(w < 5, p, q) * t
        for _ in range(3):  # Newton: x -= (erf(x) - y) / erf'(x)
            step = (erf(x) - t) / (_TWO_OVER_SQRT_PI * xp.exp(-x * x))
            x = xp.where(xp.isfinite(step), x - step, x)
    x = xp.where(t == 1, xp.inf, xp.where(t == -1, -xp.inf, x))
    x = xp.where(xp.abs(t) > 1, xp.nan, x)
    return x.astype(y.dtype)


class Erf(Op):
    """erf(a);  d/da = 2 / sqrt(pi) e^(-a^2)."""

    def forward(self, a):
        self.a = float_input(a)
        return erf(self.a)

    def backward(self, g):
        return (g * _TWO_OVER_SQRT_PI * self.xp.exp(-self.a * self.a),)


class Erfc(Op):
    """erfc(a) = 1 - erf(a);  d/da = -2 / sqrt(pi) e^(-a^2)."""

    def forward(self, a):
        self.a = float_input(a)
        return erfc(self.a)

    def backward(self, g):
        return (-g * _TWO_OVER_SQRT_PI * self.xp.exp(-self.a * self.a),)


class Erfcx(Op):
    """erfcx(a) = e^(a^2) erfc(a);  d/da = 2 a erfcx(a) - 2 / sqrt(pi)."""

    def forward(self, a):
        self.a = float_input(a)
        self.out = erfcx(self.a)
        return self.out

    def backward(self, g):
        return (g * (2 * self.a * self.out - _TWO_OVER_SQRT_PI),)


class Erfinv(Op):
    """erfinv(a);  d/da = sqrt(pi) / 2 e^(erfinv(a)^2)."""

    def forward(self, a):
        self.out = erfinv(float_input(a))
        return self.out

    def backward(self, g):
        return (g / _TWO_OVER_SQRT_PI * self.xp.exp(self.out * self.out),)


# ------------------------------------------------------------------ modified Bessel I0, I1
def _bessel_i_scaled(nu: int, x):
    """e^-|x| I_nu(|x|) for nu in {0, 1}, in float64: the power series
    sum_k (x/2)^(2k+nu) / (k! (k+nu)!) up to |x| = 20 (all terms positive, so no digits are
    lost), the asymptotic series e^x / sqrt(2 pi x) sum_k (-1)^k a_k / x^k beyond, with
    a_k = prod_{j<=k} (4 nu^2 - (2j - 1)^2) / (k! 8^k)."""
    xp = B.namespace(x)
    y = xp.abs(xp.asarray(x, dtype=xp.float64))
    small = xp.minimum(y, 20.0)
    term = (small / 2) ** nu / math.factorial(nu)
    series = term
    quarter = small * small / 4
    for k in range(1, 80):
        term = term * quarter / (k * (k + nu))
        series = series + term
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        big = xp.maximum(y, 20.0)
        term, asym = xp.ones_like(big), xp.ones_like(big)
        for k in range(1, 25):
            term = term * -(4 * nu * nu - (2 * k - 1) ** 2) / (k * 8 * big)
            asym = asym + term
        asym = asym / xp.sqrt(2 * math.pi * big)
        return xp.where(y <= 20, series * xp.exp(-small), asym)


def i0e(x):
    """e^-|x| I0(x), the exponentially scaled modified Bessel function of order 0."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    return _bessel_i_scaled(0, x).astype(x.dtype)


def i1e(x):
    """e^-|x| I1(x) (odd in x)."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    return (xp.sign(x) * _bessel_i_scaled(1, x)).astype(x.dtype)


def i0(x):
    """I0(x), the modified Bessel function of the first kind of order 0."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    with xp.errstate(over="ignore"):
        return (_bessel_i_scaled(0, x) * xp.exp(xp.abs(x.astype(xp.float64)))).astype(x.dtype)


def i1(x):
    """I1(x), the modified Bessel function of the first kind of order 1."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    with xp.errstate(over="ignore", invalid="ignore"):
        out = xp.sign(x) * _bessel_i_scaled(1, x) * xp.exp(xp.abs(x.astype(xp.float64)))
    return out.astype(x.dtype)


class I0(Op):
    """I0(a);  d/da = I1(a)."""

    def forward(self, a):
        self.a = float_input(a)
        return i0(self.a)

    def backward(self, g):
        return (g * i1(self.a),)


class I0e(Op):
    """e^-|a| I0(a);  d/da = i1e(a) - sign(a) i0e(a)."""

    def forward(self, a):
        self.a = float_input(a)
        self.out = i0e(self.a)
        return self.out

    def backward(self, g):
        return (g * (i1e(self.a) - self.xp.sign(self.a) * self.out),)


class I1(Op):
    """I1(a);  d/da = I0(a) - I1(a) / a (1/2 at 0)."""

    def forward(self, a):
        self.a = float_input(a)
        self.out = i1(self.a)
        return self.out

    def backward(self, g):
        xp = self.xp
        with xp.errstate(divide="ignore", invalid="ignore"):
            d = xp.where(self.a == 0, 0.5, i0(self.a) - self.out / self.a)
        return (g * d.astype(g.dtype, copy=False),)


class I1e(Op):
    """e^-|a| I1(a);  d/da = i0e(a) - i1e(a) (sign(a) + 1/a) (1/2 at 0)."""

    def forward(self, a):
        self.a = float_input(a)
        self.out = i1e(self.a)
        return self.out

    def backward(self, g):
        xp = self.xp
        a = self.a
        with xp.errstate(divide="ignore", invalid="ignore"):
            d = xp.where(a == 0, 0.5, i0e(a) - self.out * (xp.sign(a) + 1 / a))
        return (g * d.astype(g.dtype, copy=False),)


# ------------------------------------------------------------------ sinc
class Sinc(Op):
    """sin(pi a) / (pi a), 1 at 0;  d/da = (cos(pi a) - sinc(a)) / a, 0 at 0."""

    def forward(self, a):
        xp = self.xp
        a = float_input(a)
        self.a = a
        with xp.errstate(divide="ignore", invalid="ignore"):
            self.out = xp.where(a == 0, 1, xp.sin(math.pi * a) / (math.pi * a)).astype(a.dtype)
        return self.out

    def backward(self, g):
        xp = self.xp
        a = self.a
        with xp.errstate(divide="ignore", invalid="ignore"):
            d = xp.where(a == 0, 0, (xp.cos(math.pi * a) - self.out) / a)
        return (g * d.astype(g.dtype, copy=False),)
