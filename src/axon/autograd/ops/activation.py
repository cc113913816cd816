"""Activations: sigmoid, tanh, relu, leaky_relu, elu, softplus, gelu (with an exact
``erf``), softmax and log_softmax, each forward beside its derivative.

relu'(0) = 0, as in PyTorch.
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op
from .elementwise import float_input


class Sigmoid(Op):
    """s(a) = 1 / (1 + e^-a);  s' = s (1 - s)."""

    def forward(self, a):
        xp = self.xp
        a = float_input(a)
        # e^-|a| never overflows: for a >= 0, 1/(1+e^-a); for a < 0, e^a/(1+e^a)
        e = xp.exp(-xp.abs(a))
        self.out = xp.where(a >= 0, 1, e) / (1 + e)
        return self.out

    def backward(self, g):
        s = self.out
        return (g * s * (1 - s),)


class Tanh(Op):
    """tanh' = 1 - tanh^2."""

    def forward(self, a):
        self.out = self.xp.tanh(float_input(a))
        return self.out

    def backward(self, g):
        t = self.out
        return (g * (1 - t * t),)


class Relu(Op):
    """relu(a) = max(a, 0);  relu'(a) = 1 if a > 0 else 0 (0 at a = 0, as in torch).

    Backward keeps the mask out > 0 (a byte per value), not the output: an in-place
    ReLU (``x.copy_``) rebinds its tensor to another array, and the output would stay
    alive for backward alone (a large share of a ResNet's activation memory)."""

    def forward(self, a):
        out = self.xp.maximum(a, 0)
        if self.parents is not None:  # recording
            self.mask = out > 0
        return out

    def backward(self, g):
        return (B.masked(g, self.mask, self.xp),)  # selected: a NaN in g stays out


class LeakyRelu(Op):
    def forward(self, a, slope):
        self.mask = a > 0
        self.slope = slope
        return self.xp.where(self.mask, a, a * slope)

    def backward(self, g):
        return self.xp.where(self.mask, g, g * self.slope), None


class Elu(Op):
    """elu(a) = a for a > 0, alpha (e^a - 1) otherwise."""

    def forward(self, a, alpha):
        xp = self.xp
        self.mask = a > 0
        self.alpha = alpha
        self.em1 = alpha * xp.expm1(xp.minimum(a, 0))
        return xp.where(self.mask, a, self.em1)

    def backward(self, g):
        return self.xp.where(self.mask, g, g * (self.em1 + self.alpha)), None


class Softplus(Op):
    """softplus(a) = log(1 + e^(beta a)) / beta, linear above ``threshold``."""

    def forward(self, a, beta, threshold):
        xp = self.xp
        self.a, self.beta, self.threshold = a, beta, threshold
        z = a * beta
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        return xp.where(z > threshold, a, soft)

    def backward(self, g):
        xp = self.xp
        z = self.a * self.beta
        e = xp.exp(-xp.abs(z))
        sig = xp.where(z >= 0, 1, e) / (1 + e)
        return xp.where(z > self.threshold, g, g * sig), None, None


_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Gelu(Op):
    """gelu(a) = a Phi(a), Phi the standard normal CDF (exact via erf, or the tanh form)."""

    def forward(self, a, approximate):
        xp = self.xp
        self.a, self.approximate = a, approximate
        if approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a * a * a))
            return 0.5 * a * (1 + self.t)
        if approximate != "none":
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.cdf = _normal_cdf_f32(a) if a.dtype == xp.float32 else 0.5 * (1 + erf(a / _SQRT_2))
        return a * self.cdf

    def backward(self, g):
        a = self.a
        if self.approximate == "tanh":
            t = self.t
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
            return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * dinner), None
        pdf = _INV_SQRT_2PI * self.xp.exp(-0.5 * a * a)
        return g * (self.cdf + a * pdf), None


# erfc(u) = t exp(-u^2 + P(t)), t = 1 / (1 + u / 2), u >= 0: the Chebyshev fit of
# Numerical Recipes (section 6.2), relative error below 1.2e-7 for every u >= 0.
_ERFC_T = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def _normal_cdf_f32(a):
    """Phi(a) = erfc(-a / sqrt 2) / 2 for float32 ``a``, in float32 from one formula (the
    float64 ``erf`` below evaluates three branches everywhere, several times slower). Its
    relative error, about 1.2e-7, is float32's own resolution; a < 0 uses erfc(u) directly
    and a > 0 the mirror 1 - erfc(u) / 2, so Phi keeps its relative accuracy in the tail."""
    xp = B.namespace(a)
    u = xp.abs(a) * xp.float32(1 / _SQRT_2)
    t = 1 / (1 + xp.float32(0.5) * u)
    poly = xp.full_like(t, _ERFC_T[9])
    for c in _ERFC_T[8::-1]:
        poly *= t
        poly += xp.float32(c)
    poly -= u * u
    half_erfc = xp.float32(0.5) * t * xp.exp(poly)  # erfc(|a| / sqrt 2) / 2
    return xp.where(a < 0, half_erfc, 1 - half_erfc)


# W. J. Cody's rational approximations of erf/erfc (accurate to float64 round-off).
_ERF_A = (
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
    1.85777706184603153e-1,
)
_ERF_B = (
    2.36012909523441209e01,
    2.44024637934444173e02,
    1.28261652607737228e03,
    2.84423683343917062e03,
)
_ERF_C = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
    2.15311535474403846e-8,
)
_ERF_D = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_ERF_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_ERF_Q = (
    2.56852019228982242e00,
    1.87295284992346725e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)


def erf(x):
    """The error function, elementwise, in the dtype of ``x`` (NumPy has none)."""
    xp = B.namespace(x)
    x = xp.asarray(x)
    y = xp.abs(x).astype(xp.float64)
    # |x| <= 0.5: erf = x P(x^2) / Q(x^2)
    z = y * y
    num, den = _ERF_A[4] * z, z
    for i in range(3):
        num, den = (num + _ERF_A[i]) * z, (den + _ERF_B[i]) * z
    small = y * (num + _ERF_A[3]) / (den + _ERF_B[3])
    # 0.5 < |x| <= 4: erfc = e^(-x^2) P(x) / Q(x)
    num, den = _ERF_C[8] * y, y
    for i in range(7):
        num, den = (num + _ERF_C[i]) * y, (den + _ERF_D[i]) * y
    expz = xp.exp(-z)
    mid = 1 - (num + _ERF_C[7]) / (den + _ERF_D[7]) * expz
    # |x| > 4: erfc = e^(-x^2) / x (1/sqrt(pi) - R(1/x^2))
    with xp.errstate(divide="ignore", invalid="ignore"):
        w = 1 / z
        num, den = _ERF_P[5] * w, w
        for i in range(4):
            num, den = (num + _ERF_P[i]) * w, (den + _ERF_Q[i]) * w
        r = w * (num + _ERF_P[4]) / (den + _ERF_Q[4])
        big = 1 - (1 / math.sqrt(math.pi) - r) / y * expz
    out = xp.where(y <= 0.5, small, xp.where(y <= 4, mid, xp.where(y < 27, big, 1.0)))
    return (xp.sign(x) * out).astype(x.dtype if x.dtype.kind == "f" else xp.float64)


class Softmax(Op):
    """softmax(a)_i = e^(a_i - max) / sum_j e^(a_j - max);
    backward: s * (g - sum(g * s))."""

    def forward(self, a, dim):
        self.dim = dim
        a = float_input(a)
        self.fused = self.backend.kernels() if dim in (-1, a.ndim - 1) else None
        if self.fused is not None:  # a GPU: one kernel per pass
            self.out = self.fused.softmax_rows(a)[0]
            return self.out
        e = self.xp.exp(a - a.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        self.out = e
        return e

    def backward(self, g):
        s = self.out
        if self.fused is not None:
            return self.fused.softmax_backward(s, g), None
        return s * (g - (g * s).sum(axis=self.dim, keepdims=True)), None


class LogSoftmax(Op):
    """log_softmax(a) = a - logsumexp(a);  backward: g - softmax * sum(g)."""

    def forward(self, a, dim):
        xp = self.xp
        self.dim = dim
        a = float_input(a)
        fused = self.backend.kernels() if dim in (-1, a.ndim - 1) else None
        if fused is not None:  # a GPU: three launches
            self.out = fused.log_softmax_rows(a)
            return self.out
        shifted = a - a.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.out = out
        return out

    def backward(self, g):
        return g - self.xp.exp(self.out) * g.sum(axis=self.dim, keepdims=True), None


# ---------------------------------------------------------------- piecewise activations
# Each backward follows PyTorch's subgradient at the kinks exactly: the masks below use
# the same strict or non-strict comparisons as its kernels.


class Hardtanh(Op):
    """clip(a, min_val, max_val); the gradient passes only strictly inside the bounds
    (0 at a = min_val and a = max_val, unlike ``clamp``)."""

    def forward(self, a, min_val, max_val):
        self.inside = (a > min_val) & (a < max_val)
        return self.xp.clip(a, min_val, max_val).astype(a.dtype, copy=False)

    def backward(self, g):
        return g * self.inside, None, None


class Hardsigmoid(Op):
    """relu6(a + 3) / 6;  derivative 1/6 strictly inside (-3, 3), else 0."""

    def forward(self, a):
        self.inside = (a > -3) & (a < 3)
        return (self.xp.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)

    def backward(self, g):
        return (g * self.inside / 6,)


class Hardswish(Op):
    """a relu6(a + 3) / 6;  derivative 0 for a <= -3, a / 3 + 1/2 for -3 < a < 3, 1 for
    a >= 3 (PyTorch's choice at the kinks: 0 at a = -3 and 1 at a = 3)."""

    def forward(self, a):
        self.a = a
        return (a * self.xp.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)

    def backward(self, g):
        xp = self.xp
        a = self.a
        d = xp.where(a <= -3, 0, xp.where(a < 3, a / 3 + 0.5, 1))
        return ((g * d).astype(g.dtype, copy=False),)


class ScaledElu(Op):
    """scale * (a for a > 0, alpha (e^(input_scale a) - 1) otherwise): SELU and CELU.
    The derivative below 0 (and at 0) is scale alpha input_scale e^(input_scale a)."""

    def forward(self, a, alpha, scale, input_scale):
        xp = self.xp
        self.mask = a > 0
        self.neg = alpha * xp.exp(xp.minimum(a, 0) * input_scale)  # alpha e^(s a)
        self.coef = (scale, input_scale)
        return (scale * xp.where(self.mask, a, self.neg - alpha)).astype(a.dtype, copy=False)

    def backward(self, g):
        scale, input_scale = self.coef
        d = self.xp.where(self.mask, scale, scale * input_scale * self.neg)
        return (g * d).astype(g.dtype, copy=False), None, None, None


def _stable_sigmoid(a):
    xp = B.namespace(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1, e) / (1 + e)


def _stable_softplus(a):
    """log(1 + e^a) without overflow."""
    xp = B.namespace(a)
    return xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))


class Silu(Op):
    """silu(a) = a sigmoid(a);  silu' = s (1 + a (1 - s))."""

    def forward(self, a):
        self.a, self.s = a, _stable_sigmoid(a)
        return a * self.s

    def backward(self, g):
        a, s = self.a, self.s
        return (g * s * (1 + a * (1 - s)),)


class Mish(Op):
    """mish(a) = a tanh(softplus(a));  mish' = tanh(sp) + a sigmoid(a) (1 - tanh(sp)^2)."""

    def forward(self, a):
        self.a, self.t = a, self.xp.tanh(_stable_softplus(a))
        return a * self.t

    def backward(self, g):
        a, t = self.a, self.t
        return (g * (t + a * _stable_sigmoid(a) * (1 - t * t)),)


class LogSigmoid(Op):
    """log sigmoid(a) = -softplus(-a);  derivative sigmoid(-a) = 1 - sigmoid(a)."""

    def forward(self, a):
        self.a = a
        return -_stable_softplus(-a)

    def backward(self, g):
        return (g * _stable_sigmoid(-self.a),)


class Threshold(Op):
    """a where a > threshold, else ``value``;  derivative 1 where a > threshold, else 0."""

    def forward(self, a, threshold, value):
        xp = self.xp
        self.mask = a > threshold
        return xp.where(self.mask, a, xp.asarray(value, dtype=a.dtype))

    def backward(self, g):
        return g * self.mask, None, None


class Shrink(Op):
    """Soft shrinkage (a - lambd sign(a) outside [-lambd, lambd], 0 inside) or hard
    shrinkage (a outside, 0 inside); both have derivative 1 outside the closed interval
    and 0 on it (so 0 at a = +-lambd, as in PyTorch)."""

    def forward(self, a, lambd, soft):
        xp = self.xp
        self.outside = (a < -lambd) | (a > lambd)
        out = a - xp.sign(a) * a.dtype.type(lambd) if soft else a
        return xp.where(self.outside, out, 0).astype(a.dtype, copy=False)

    def backward(self, g):
        return g * self.outside, None, None
