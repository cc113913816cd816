"""The gamma family, each forward beside its derivative: log-gamma, digamma, trigamma,
polygamma, the Hurwitz zeta function and the regularized incomplete gamma functions.

NumPy has none of them. lgamma is the C library's; digamma and trigamma sum the recurrence
up to x >= 10 and then their asymptotic series; polygamma is a Hurwitz zeta value. Integer
inputs compute in the default dtype, as torch. The error and Bessel functions are in
``special.py``.
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op
from .elementwise import float_input
from .pointwise import namespace_of, promote_float_only

# ------------------------------------------------------------ lgamma and its derivatives, zeta
_lgamma = B.xp.frompyfunc(math.lgamma, 1, 1)  # a NumPy ufunc of the C library's lgamma


def lgamma(x):
    """log |Gamma(x)|, elementwise (the C library's, as torch); +inf at 0 and the negative
    integers. An array of another backend is computed on the host and moved back (no array
    namespace has lgamma)."""
    b = B.of(x)
    if b is not None and b is not B.cpu:
        return b.from_host(lgamma(b.to_host(x)), b.device_of(x))
    xp = B.xp
    x = xp.asarray(x)
    y = x.astype(xp.float64)
    pole = (y <= 0) & (y == xp.floor(y))
    safe = xp.where(pole | ~xp.isfinite(y), 1.0, y)
    out = xp.asarray(_lgamma(safe), dtype=xp.float64)  # (a Python float for 0-d input)
    out = xp.where(pole | xp.isinf(y), xp.inf, xp.where(xp.isnan(y), xp.nan, out))
    return out.astype(x.dtype)


def _shift_up(x, term, to: int = 10):
    """Move x up to >= ``to`` by the recurrence f(x) = f(x + 1) + term(x) (x >= 0), where
    the asymptotic series is accurate to float64; returns the shifted x and the sum of the
    terms (0 where no shift was needed)."""
    xp = B.namespace(x)
    acc = xp.zeros_like(x)
    for _ in range(to):
        low = x < to
        acc = acc + xp.where(low, term(x), 0)
        x = xp.where(low, x + 1, x)
    return x, acc


def digamma(x):
    """psi(x) = d/dx log Gamma(x): the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10,
    then ln x - 1/(2x) - sum B_2k / (2k x^2k); reflection psi(1 - x) - pi / tan(pi x) for
    x < 0. -inf at 0 and NaN at the negative integers, as torch."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    y = x.astype(xp.float64)
    with xp.errstate(divide="ignore", invalid="ignore"):
        neg = y < 0
        z = xp.where(neg, 1 - y, y)
        z, acc = _shift_up(xp.where(z == 0, 1.0, z), lambda t: -1 / t)
        w = 1 / (z * z)
        series = w * (
            1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (1 / 132 - w * 691 / 32760))))
        )
        out = acc + xp.log(z) - 0.5 / z - series
        out = xp.where(neg, out - math.pi / xp.tan(math.pi * y), out)
        out = xp.where(neg & (y == xp.floor(y)), xp.nan, out)
        out = xp.where(y == 0, -xp.inf, out)
    return out.astype(x.dtype)


def trigamma(x):
    """psi'(x): the recurrence psi'(x) = psi'(x + 1) + 1/x^2 up to x >= 10, then
    1/x + 1/(2x^2) + sum B_2k / x^(2k+1); reflection pi^2 / sin^2(pi x) - psi'(1 - x)."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    y = x.astype(xp.float64)
    with xp.errstate(divide="ignore", invalid="ignore"):
        neg = y < 0
        z = xp.where(neg, 1 - y, y)
        z, acc = _shift_up(z, lambda t: 1 / (t * t))
        w = 1 / (z * z)
        series = 1 + w * (1 / 6 - w * (1 / 30 - w * (1 / 42 - w * (1 / 30 - w * 5 / 66))))
        series = series / z + 0.5 * w
        out = acc + series
        out = xp.where(neg, math.pi**2 / xp.sin(math.pi * y) ** 2 - out, out)
    return out.astype(x.dtype)


# B_2j / (2j)!, the coefficients of the Euler-Maclaurin tail of the Hurwitz zeta function
_BERNOULLI_OVER_FACTORIAL = tuple(
    b / math.factorial(2 * j)
    for j, b in enumerate(
        (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510), start=1
    )
)


def hurwitz_zeta(s, q):
    """zeta(s, q) = sum_{k >= 0} (q + k)^-s for s > 1: the terms summed directly until
    q + k >= 10 + s, the rest by Euler-Maclaurin, (q+k)^(1-s) / (s-1) + (q+k)^-s / 2 +
    sum_j B_2j / (2j)! s (s+1) ... (s+2j-2) (q+k)^(-s-2j+1) (about 1e-13 relative). A
    negative q works for integer s (the terms pass through it, as Cephes does); inf at
    q = 0, -1, ...; NaN for s < 1 or a negative q with fractional s; inf at s = 1."""
    xp = namespace_of(s, q)
    s, q = xp.broadcast_arrays(xp.asarray(s, xp.float64), xp.asarray(q, xp.float64))
    start = 10 + xp.maximum(s, 0)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        total = xp.zeros_like(q)
        gap = xp.ceil(start - q)  # the terms summed directly; NaN where s is
        gap = xp.where(xp.isfinite(q) & ~xp.isnan(gap), gap, 0)
        steps = int(gap.max()) if gap.size else 0
        for _ in range(max(steps, 0)):
            low = q < start
            total = total + xp.where(low, q**-s, 0)
            q = xp.where(low, q + 1, q)
        total = total + q ** (1 - s) / (s - 1) + 0.5 * q**-s
        rising, power = s.copy(), q ** (-s - 1)  # s (s+1) ... (s+2j-2), q^(-s-2j+1)
        for j, c in enumerate(_BERNOULLI_OVER_FACTORIAL, start=1):
            total = total + c * rising * power
            rising = rising * (s + 2 * j - 1) * (s + 2 * j)
            power = power / (q * q)
        total = xp.where(s == 1, xp.inf, xp.where(s < 1, xp.nan, total))
    return total


def polygamma(n: int, x):
    """The n-th derivative of digamma: psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 2;
    n = 0 is digamma and n = 1 trigamma (with their reflections for x < 0)."""
    xp = B.namespace(x)
    if n == 0:
        return digamma(x)
    if n == 1:
        return trigamma(x)
    x = xp.asarray(x)
    with xp.errstate(invalid="ignore", over="ignore"):
        out = (-1) ** (n + 1) * math.factorial(n) * hurwitz_zeta(n + 1, x)
    return out.astype(x.dtype)


# ------------------------------------------------------------------ incomplete gamma
def _gammainc_series(a, x):
    """P(a, x) = e^-x x^a / Gamma(a + 1) sum_n x^n / ((a+1)...(a+n)), for x < a + 1."""
    xp = B.namespace(a)
    term = 1 / a
    total = term
    ap = a.copy()
    for _ in range(1000):
        ap = ap + 1
        term = term * x / ap
        total = total + term
        if xp.all(xp.abs(term) <= xp.abs(total) * 1e-17):
            break
    return total * xp.exp(-x + a * xp.log(x) - lgamma(a))


def _gammaincc_fraction(a, x):
    """Q(a, x) = e^-x x^a / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...)), the
    continued fraction (evaluated by Lentz's method), for x >= a + 1."""
    xp = B.namespace(a)
    tiny = 1e-300
    b = x + 1 - a
    c = xp.full_like(x, 1 / tiny)
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = xp.where(xp.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = xp.where(xp.abs(c) < tiny, tiny, c)
        d = 1 / d
        step = d * c
        h = h * step
        if xp.all(xp.abs(step - 1) <= 1e-16):
            break
    return h * xp.exp(-x + a * xp.log(x) - lgamma(a))


def gammainc(a, x, upper: bool = False):
    """The regularized lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a), or the upper
    Q = 1 - P when ``upper``: the series where x < a + 1, the continued fraction beyond
    (each where it converges fast), the other one as 1 minus it. NaN for a < 0 or x < 0;
    P(0, x > 0) = 1 and P(a, 0) = 0, as torch."""
    xp = namespace_of(a, x)
    a, x = xp.broadcast_arrays(xp.asarray(a, xp.float64), xp.asarray(x, xp.float64))
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inside = (a > 0) & (x > 0) & xp.isfinite(x)
        use_series = inside & (x < a + 1)
        aa = xp.where(inside, a, 1.0)
        p = xp.where(use_series, _gammainc_series(aa, xp.where(use_series, x, 0.5)), 0.0)
        q = xp.where(
            inside & ~use_series,
            _gammaincc_fraction(aa, xp.where(inside & ~use_series, x, 2.0)),
            0.0,
        )
        lower = xp.where(use_series, p, 1 - q)
        lower = xp.where((a == 0) & (x > 0), 1.0, lower)
        lower = xp.where((x == 0) & (a > 0), 0.0, lower)
        lower = xp.where(xp.isinf(x) & (a >= 0), 1.0, lower)
        lower = xp.where((a < 0) | (x < 0) | xp.isnan(a) | xp.isnan(x), xp.nan, lower)
        upper_q = xp.where(inside & ~use_series, q, 1 - lower)
    return upper_q if upper else lower


class Gammainc(Op):
    """P(a, x) (or Q(a, x) when ``upper``);  d/dx = +-e^-x x^(a-1) / Gamma(a). torch has no
    derivative with respect to a."""

    def forward(self, a, x, upper):
        a, x = promote_float_only("igammac" if upper else "igamma", a, x)
        self.a, self.x, self.upper = a, x, upper
        return gammainc(a, x, upper).astype(a.dtype)

    def backward(self, g):
        xp = self.xp
        pa, px = self.parents[:2]
        if pa is not None:
            raise NotImplementedError(
                f"the derivative for '{'igammac' if self.upper else 'igamma'}: input' is not "
                "implemented."
            )
        a, x = self.a, self.x
        with xp.errstate(divide="ignore", invalid="ignore"):
            density = xp.exp(-x + (a - 1) * xp.log(x) - lgamma(a))
        return None, g * (-density if self.upper else density), None


class Lgamma(Op):
    """log |Gamma(a)|;  d/da = digamma(a)."""

    def forward(self, a):
        self.a = float_input(a)
        return lgamma(self.a)

    def backward(self, g):
        return (g * digamma(self.a),)


class Digamma(Op):
    """digamma(a);  d/da = trigamma(a)."""

    def forward(self, a):
        self.a = float_input(a)
        return digamma(self.a)

    def backward(self, g):
        return (g * trigamma(self.a),)


class Polygamma(Op):
    """polygamma(n, a), the n-th derivative of digamma;  d/da = polygamma(n + 1, a)."""

    def forward(self, a, n):
        self.a, self.n = float_input(a), n
        return polygamma(n, self.a)

    def backward(self, g):
        return g * polygamma(self.n + 1, self.a), None


class Zeta(Op):
    """The Hurwitz zeta function zeta(s, q);  d/dq = -s zeta(s + 1, q). torch has no
    derivative with respect to s."""

    def forward(self, s, q):
        s, q = promote_float_only("zeta", s, q)
        self.s, self.q = s, q
        return hurwitz_zeta(s, q).astype(s.dtype)

    def backward(self, g):
        ps, pq = self.parents
        if ps is not None:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        return None, g * -self.s * hurwitz_zeta(self.s + 1, self.q)
