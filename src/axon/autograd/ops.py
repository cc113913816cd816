"""The primitive ops: each forward beside its local derivative, so the chain rule shows.

Every op works on backend arrays. ``backward`` receives the gradient of the output and
returns one gradient per input (``None`` where ``self.parents[i] is None``, i.e. where no
gradient is needed). Broadcasting is undone by the engine, not here.

Subgradients at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, clamp passes the
gradient at the bounds, max/min of a whole tensor share the gradient evenly among ties,
``maximum``/``minimum`` split it in half on ties.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..backend import xp
from .function import Op

# ============================================================ elementwise binary


def _shape_error(op: str, a, b) -> RuntimeError:
    return RuntimeError(
        f"{op}: shapes {xp.shape(a)} and {xp.shape(b)} cannot be broadcast together"
    )


def _weak(x):
    """A NumPy scalar acts like a Python one, weakly typed as in torch: a float32 tensor
    times ``np.sqrt(2)`` stays float32."""
    return x.item() if isinstance(x, xp.generic) else x


def _torch_float(out, a, b):
    """torch makes ``int_tensor * 0.5`` and ``int_tensor / int_tensor`` the default float
    dtype; NumPy makes them float64. Recast when no float64 array took part."""
    if out.dtype == xp.float64 and not (
        getattr(a, "dtype", None) == xp.float64 or getattr(b, "dtype", None) == xp.float64
    ):
        return out.astype(B.get_default_dtype())
    return out


def _binary(op: str, ufunc, a, b):
    try:
        return _torch_float(ufunc(a, b), a, b)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        raise _shape_error(op, a, b) from None


class Add(Op):
    def forward(self, a, b):
        return _binary("add", xp.add, _weak(a), _weak(b))

    def backward(self, g):
        return g, g


class Sub(Op):
    def forward(self, a, b):
        return _binary("sub", xp.subtract, _weak(a), _weak(b))

    def backward(self, g):
        return g, (-g if self.parents[1] is not None else None)


class Mul(Op):
    def forward(self, a, b):
        a, b = _weak(a), _weak(b)
        self.a, self.b = a, b
        return _binary("mul", xp.multiply, a, b)

    def backward(self, g):
        pa, pb = self.parents
        return (
            g * self.b if pa is not None else None,
            g * self.a if pb is not None else None,
        )


class Div(Op):
    def forward(self, a, b):
        a, b = _weak(a), _weak(b)
        self.a, self.b = a, b
        return _binary("div", xp.true_divide, a, b)

    def backward(self, g):
        pa, pb = self.parents
        ga = g / self.b if pa is not None else None
        gb = -g * self.a / (self.b * self.b) if pb is not None else None
        return ga, gb


class Pow(Op):
    """a ** b: d/da = b a^(b-1) (0 where b == 0, as in torch), d/db = a^b log a."""

    def forward(self, a, b):
        a, b = _weak(a), _weak(b)
        self.a, self.b = a, b
        self.out = _binary("pow", xp.power, a, b)
        return self.out

    def backward(self, g):
        pa, pb = self.parents
        a, b = self.a, self.b
        ga = gb = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if pa is not None:
                if isinstance(b, int | float):  # a Python exponent
                    if b == 2:
                        ga = g * (2 * a)
                    elif b == 0:
                        ga = xp.zeros_like(g)
                    else:
                        ga = g * (b * xp.power(a, b - 1))
                else:
                    ga = g * xp.where(b == 0, 0, b * xp.power(a, b - 1))
            if pb is not None:
                # torch defines d(a^b)/db as 0 where a == 0 and b >= 0
                zero_base = (xp.asarray(a) == 0) & (xp.asarray(b) >= 0)
                gb = g * xp.where(zero_base, 0, self.out * xp.log(a))
        return ga, gb


class Maximum(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return _binary("maximum", xp.maximum, a, b)

    def backward(self, g):
        a, b = self.a, self.b
        # on ties torch sends half of the gradient to each input
        wa = (a > b) + 0.5 * (a == b)
        return g * wa.astype(g.dtype), g * (1 - wa).astype(g.dtype)


class Minimum(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return _binary("minimum", xp.minimum, a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = (a < b) + 0.5 * (a == b)
        return g * wa.astype(g.dtype), g * (1 - wa).astype(g.dtype)


class Where(Op):
    def forward(self, cond, a, b):
        self.cond = xp.asarray(cond, dtype=bool)
        return xp.where(self.cond, a, b)

    def backward(self, g):
        _, pa, pb = self.parents
        zero = xp.zeros((), dtype=g.dtype)
        return (
            None,
            xp.where(self.cond, g, zero) if pa is not None else None,
            xp.where(self.cond, zero, g) if pb is not None else None,
        )


# ============================================================ elementwise unary


class Neg(Op):
    def forward(self, a):
        return xp.negative(a)

    def backward(self, g):
        return (-g,)


class Exp(Op):
    def forward(self, a):
        self.out = xp.exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Op):
    def forward(self, a):
        self.a = a
        return xp.log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Op):
    def forward(self, a):
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Abs(Op):
    def forward(self, a):
        self.a = a
        return xp.abs(a)

    def backward(self, g):
        return (g * xp.sign(self.a),)  # sign(0) = 0, as in torch


class Sin(Op):
    def forward(self, a):
        self.a = a
        return xp.sin(a)

    def backward(self, g):
        return (g * xp.cos(self.a),)


class Cos(Op):
    def forward(self, a):
        self.a = a
        return xp.cos(a)

    def backward(self, g):
        return (-g * xp.sin(self.a),)


class Clamp(Op):
    """clip(a, lo, hi), as torch.clamp; either bound may be None, a number or a tensor.

    The gradient goes to ``a`` where lo <= a <= hi (bounds included), to a tensor ``lo``
    where a < lo < hi, and to a tensor ``hi`` where a > hi or hi < lo (then hi wins)."""

    def forward(self, a, lo, hi):
        lo, hi = _weak(lo), _weak(hi)
        self.a, self.lo, self.hi = a, lo, hi
        return xp.clip(a, lo, hi)

    def backward(self, g):
        a, lo, hi = self.a, self.lo, self.hi
        _, p_lo, p_hi = self.parents
        inside = True
        if lo is not None:
            inside = inside & (a >= lo)
        if hi is not None:
            inside = inside & (a <= hi)
        g_lo = g_hi = None
        if p_lo is not None:
            g_lo = g * ((a < lo) & (lo < hi) if hi is not None else a < lo)
        if p_hi is not None:
            g_hi = g * ((a > hi) | (hi < lo) if lo is not None else a > hi)
        return g * inside, g_lo, g_hi


class Sigmoid(Op):
    """s(a) = 1 / (1 + e^-a);  s' = s (1 - s)."""

    def forward(self, a):
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
        self.out = xp.tanh(a)
        return self.out

    def backward(self, g):
        t = self.out
        return (g * (1 - t * t),)


class Relu(Op):
    """relu(a) = max(a, 0);  relu'(a) = 1 if a > 0 else 0 (0 at a = 0, as in torch)."""

    def forward(self, a):
        self.out = xp.maximum(a, 0)
        return self.out

    def backward(self, g):
        return (xp.multiply(g, self.out > 0),)


class LeakyRelu(Op):
    def forward(self, a, slope):
        self.mask = a > 0
        self.slope = slope
        return xp.where(self.mask, a, a * slope)

    def backward(self, g):
        return xp.where(self.mask, g, g * self.slope), None


class Elu(Op):
    """elu(a) = a for a > 0, alpha (e^a - 1) otherwise."""

    def forward(self, a, alpha):
        self.mask = a > 0
        self.alpha = alpha
        self.em1 = alpha * xp.expm1(xp.minimum(a, 0))
        return xp.where(self.mask, a, self.em1)

    def backward(self, g):
        return xp.where(self.mask, g, g * (self.em1 + self.alpha)), None


class Softplus(Op):
    """softplus(a) = log(1 + e^(beta a)) / beta, linear above ``threshold``."""

    def forward(self, a, beta, threshold):
        self.a, self.beta, self.threshold = a, beta, threshold
        z = a * beta
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        return xp.where(z > threshold, a, soft)

    def backward(self, g):
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
        self.a, self.approximate = a, approximate
        if approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a * a * a))
            return 0.5 * a * (1 + self.t)
        if approximate != "none":
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.cdf = 0.5 * (1 + erf(a / _SQRT_2))
        return a * self.cdf

    def backward(self, g):
        a = self.a
        if self.approximate == "tanh":
            t = self.t
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
            return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * dinner), None
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * a * a)
        return g * (self.cdf + a * pdf), None


# W. J. Cody's rational approximations of erf/erfc (accurate to float64 round-off).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)


def erf(x):
    """The error function, elementwise, in the dtype of ``x`` (NumPy has none)."""
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


class Cast(Op):
    def forward(self, a, dtype):
        self.in_dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        if self.in_dtype.kind not in "fc":
            return None, None
        return g.astype(self.in_dtype), None


class Clone(Op):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


# ============================================================ reductions


def _expand_back(g, shape, axes, keepdim):
    """Put back the reduced axes of ``g`` so it broadcasts against the input."""
    if axes is not None and not keepdim:
        g = xp.expand_dims(g, axes)
    return xp.broadcast_to(g, shape)


def _norm_axes(axes, ndim):
    """Non-negative axes; a 0-d tensor accepts dim 0 or -1 and reduces over nothing."""
    if axes is None:
        return None
    return tuple(a % ndim for a in axes) if ndim else ()


class Sum(Op):
    def forward(self, a, axes, keepdim):
        self.shape = a.shape
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        return xp.asarray(a.sum(axis=self.axes, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g, self.shape, self.axes, self.keepdim), None, None


class Mean(Op):
    def forward(self, a, axes, keepdim):
        self.shape = a.shape
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        out = xp.asarray(a.mean(axis=self.axes, keepdims=keepdim))
        self.n = a.size // max(out.size, 1) if a.size else 0
        return out

    def backward(self, g):
        return _expand_back(g / self.n, self.shape, self.axes, self.keepdim), None, None


class Var(Op):
    """var = sum((a - mean)^2) / (n - correction);  d/da = 2 (a - mean) / (n - correction)."""

    def forward(self, a, axes, correction, keepdim):
        self.shape = a.shape
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        mean = a.mean(axis=self.axes, keepdims=True)
        self.centered = a - mean
        n = a.size // max(mean.size, 1)
        self.denom = max(n - correction, 0)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.asarray(
                (self.centered * self.centered).sum(axis=self.axes, keepdims=keepdim)
                / self.denom
            )

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        if self.denom:
            return g * self.centered * (2 / self.denom), None, None, None
        with xp.errstate(invalid="ignore"):  # n <= correction: inf (or NaN), as in torch
            return g * self.centered * math.inf, None, None, None


class Std(Var):
    """std = sqrt(var);  d/da = (a - mean) / ((n - correction) std), and 0 where std == 0
    (torch's choice, instead of the 0 / 0 of composing sqrt and var)."""

    def forward(self, a, axes, correction, keepdim):
        self.out = xp.sqrt(super().forward(a, axes, correction, keepdim))
        return self.out

    def backward(self, g):
        with xp.errstate(divide="ignore", invalid="ignore"):
            g = xp.where(self.out == 0, 0, g / (2 * self.out)).astype(g.dtype, copy=False)
        return super().backward(g)


class Norm(Op):
    """The p-norm (sum |a|^p)^(1/p) over ``axes``, for a finite p other than 1;
    d/da = sign(a) |a|^(p-1) / norm^(p-1), and 0 where the norm is 0 (as torch)."""

    def forward(self, a, p, axes, keepdim):
        self.a, self.p = a, p
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        absp = a * a if p == 2 else xp.abs(a) ** p
        self.out = xp.asarray(absp.sum(axis=self.axes, keepdims=True) ** (1.0 / p))
        if keepdim:
            return self.out
        return self.out.reshape(()) if self.axes is None else self.out.squeeze(self.axes)

    def backward(self, g):
        a, p, norm = self.a, self.p, self.out
        if not self.keepdim:
            g = g.reshape(norm.shape)
        with xp.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                d = a / norm
            else:
                d = xp.sign(a) * (xp.abs(a) / norm) ** (p - 1)
            d = xp.where(norm == 0, 0, d)
        return g * d, None, None, None


class LogSumExp(Op):
    """log sum e^a, computed stably; its gradient is softmax(a)."""

    def forward(self, a, axes, keepdim):
        self.shape = a.shape
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        m = a.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        self.e = xp.exp(a - m)
        s = self.e.sum(axis=self.axes, keepdims=True)
        self.s = s
        out = xp.log(s) + m
        return out if keepdim else out.squeeze(self.axes)

    def backward(self, g):
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        return g * self.e / self.s, None, None


class Amax(Op):
    """Largest value(s); ties share the gradient evenly (torch's ``amax``/``max()``)."""

    pick = staticmethod(xp.max)

    def forward(self, a, axes, keepdim):
        if a.size == 0:
            raise RuntimeError(f"{type(self).__name__.lower()}: the tensor is empty")
        self.a = a
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        self.out = xp.asarray(self.pick(a, axis=self.axes, keepdims=True))
        if keepdim:
            return self.out
        if self.axes is None:
            return self.out.reshape(())
        return self.out.squeeze(self.axes)

    def backward(self, g):
        mask = self.a == self.out
        count = mask.sum(axis=self.axes, keepdims=True)
        if not self.keepdim:
            g = g.reshape(self.out.shape)
        return g * mask / count, None, None


class Amin(Amax):
    pick = staticmethod(xp.min)


class Softmax(Op):
    """softmax(a)_i = e^(a_i - max) / sum_j e^(a_j - max);
    backward: s * (g - sum(g * s))."""

    def forward(self, a, dim):
        self.dim = dim
        e = xp.exp(a - a.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        self.out = e
        return e

    def backward(self, g):
        s = self.out
        return s * (g - (g * s).sum(axis=self.dim, keepdims=True)), None


class LogSoftmax(Op):
    """log_softmax(a) = a - logsumexp(a);  backward: g - softmax * sum(g)."""

    def forward(self, a, dim):
        self.dim = dim
        shifted = a - a.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.out = out
        return out

    def backward(self, g):
        return g - xp.exp(self.out) * g.sum(axis=self.dim, keepdims=True), None


# ============================================================ linear algebra


class MatMul(Op):
    """Batched, broadcasting a @ b.  dA = g @ B^T,  dB = A^T @ g (1-D operands promoted)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(
                f"matmul: both arguments need at least 1 dimension, got shapes {a.shape} "
                f"and {b.shape}"
            )
        try:
            return xp.matmul(a, b)
        except ValueError:
            k_a = a.shape[-1]
            k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
            if k_a != k_b:
                raise RuntimeError(
                    f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                    f"({k_a} columns against {k_b} rows)"
                ) from None
            raise RuntimeError(
                f"matmul: batch dimensions of {a.shape} and {b.shape} cannot be broadcast"
            ) from None

    def backward(self, g):
        a, b = self.a, self.b
        pa, pb = self.parents
        a2 = a[None, :] if a.ndim == 1 else a  # (k,) -> (1, k)
        b2 = b[:, None] if b.ndim == 1 else b  # (k,) -> (k, 1)
        g2 = g[..., None] if b.ndim == 1 else g  # (..., m) -> (..., m, 1)
        if a.ndim == 1:
            g2 = g2[..., None, :]  # (..., n) -> (..., 1, n); a 0-d g becomes (1, 1)
        ga = gb = None
        if pa is not None:
            ga = xp.matmul(g2, xp.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                ga = ga.reshape(-1, a.shape[0]).sum(axis=0) if ga.ndim > 2 else ga[0]
        if pb is not None:
            gb = xp.matmul(xp.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                gb = gb.reshape(-1, b.shape[0]).sum(axis=0) if gb.ndim > 2 else gb[:, 0]
        return ga, gb


class Linear(Op):
    """y = x W^T + b for x of shape (..., in), W (out, in), b (out,): one fused node.

    dx = g W,  dW = g^T x,  db = sum of g over the leading dimensions.
    """

    def forward(self, x, w, b):
        self.x, self.w = x, w
        if x.shape[-1] != w.shape[1]:
            raise RuntimeError(
                f"linear: input of shape {x.shape} has {x.shape[-1]} features, but the "
                f"weight of shape {w.shape} expects {w.shape[1]}"
            )
        out = x @ w.T
        if b is not None:
            out += b
        return out

    def backward(self, g):
        px, pw, pb = self.parents
        x, w = self.x, self.w
        gx = g @ w if px is not None else None
        gw = gb = None
        if pw is not None or pb is not None:
            g2 = g.reshape(-1, g.shape[-1])
            if pw is not None:
                gw = g2.T @ x.reshape(-1, x.shape[-1])
            if pb is not None:
                gb = g2.sum(axis=0)
        return gx, gw, gb


# ============================================================ movement


class Reshape(Op):
    def forward(self, a, shape):
        self.in_shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: shape {tuple(shape)} is invalid for a tensor of shape {a.shape} "
                f"({a.size} elements)"
            ) from None

    def backward(self, g):
        return g.reshape(self.in_shape), None


class Permute(Op):
    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, g):
        inv = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inv[ax] = i
        return g.transpose(inv), None


class Expand(Op):
    def forward(self, a, shape):
        try:
            return xp.broadcast_to(a, shape)
        except ValueError:
            raise RuntimeError(f"expand: cannot expand shape {a.shape} to {shape}") from None

    def backward(self, g):
        return g, None  # the engine sums it back to the input's shape


class Repeat(Op):
    def forward(self, a, reps):
        self.in_shape = a.shape
        if len(reps) < a.ndim:
            raise RuntimeError(
                f"repeat: {len(reps)} repeats given for a tensor of {a.ndim} dimensions"
            )
        self.reps = reps
        return xp.tile(a, reps)

    def backward(self, g):
        lead = len(self.reps) - len(self.in_shape)
        shape = (1,) * lead + self.in_shape
        split = []
        for r, s in zip(self.reps, shape, strict=True):
            split += [r, s]
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(self.in_shape), None


def _is_basic(index) -> bool:
    """True when indexing can never pick an element twice (ints, slices, None, ...)."""
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if not (i is None or i is Ellipsis or isinstance(i, int | slice)):
            if hasattr(i, "dtype") and i.dtype == bool:
                continue
            return False
    return True


class Index(Op):
    """a[index]: basic and integer-array indexing; backward scatter-adds (repeats add up)."""

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        try:
            out = a[index]
        except IndexError as e:
            raise IndexError(
                f"index {index!r} is invalid for a tensor of shape {a.shape}: {e}"
            ) from None
        return out if isinstance(out, xp.ndarray) else xp.asarray(out)

    def backward(self, g):
        full = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            full[self.index] = g
        else:
            xp.add.at(full, self.index, g)
        return full, None


class IndexPut(Op):
    """out = a with out[index] = v (the functional form of ``a[index] = v``)."""

    def forward(self, a, index, v):
        self.index, self.v_shape = index, v.shape
        out = a.copy()
        out[index] = v
        return out

    def backward(self, g):
        pa, _, pv = self.parents
        ga = gv = None
        if pa is not None:
            ga = g.copy()
            ga[self.index] = 0
        if pv is not None:
            picked = g[self.index]
            gv = picked if picked.shape == self.v_shape else _sum_to(picked, self.v_shape)
        return ga, None, gv


def _sum_to(g, shape):
    from .function import _reduce_to

    return _reduce_to(g, shape)


class Gather(Op):
    """out[i][j] = a[i][index[i][j]] along ``dim`` (torch.gather); backward scatter-adds.

    ``index`` may be smaller than ``a`` off ``dim``; it is never broadcast."""

    def forward(self, a, dim, index):
        if index.ndim != a.ndim:
            raise RuntimeError(
                f"gather: index of shape {index.shape} needs as many dimensions as the "
                f"input of shape {a.shape}"
            )
        self.shape = a.shape
        where = list(xp.indices(index.shape, sparse=True))
        where[dim] = index
        self.where = tuple(where)
        return a[self.where]

    def backward(self, g):
        full = xp.zeros(self.shape, dtype=g.dtype)
        xp.add.at(full, self.where, g)
        return full, None, None


class Cat(Op):
    def forward(self, dim, *arrays):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        try:
            return xp.concatenate(arrays, axis=dim)
        except ValueError:
            raise RuntimeError(
                f"cat: tensors of shapes {[a.shape for a in arrays]} do not match outside "
                f"dim {dim}"
            ) from None

    def backward(self, g):
        bounds = list(xp.cumsum(self.sizes)[:-1])
        return (None, *xp.split(g, bounds, axis=self.dim))


class Stack(Op):
    def forward(self, dim, *arrays):
        self.dim = dim
        try:
            return xp.stack(arrays, axis=dim)
        except ValueError:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, got {[a.shape for a in arrays]}"
            ) from None

    def backward(self, g):
        n = g.shape[self.dim]
        return (None, *(xp.take(g, i, axis=self.dim) for i in range(n)))


class Pad(Op):
    """Constant padding with PyTorch's ``pad`` order: (left, right, top, bottom, ...)
    from the last dimension backwards."""

    def forward(self, a, pad, value):
        if len(pad) % 2 or len(pad) // 2 > a.ndim:
            raise RuntimeError(f"pad: {pad} is not a valid padding for shape {a.shape}")
        width = [(0, 0)] * a.ndim
        for i in range(len(pad) // 2):
            width[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        self.width = width
        self.shape = a.shape
        if any(lo < 0 or hi < 0 for lo, hi in width):  # negative padding crops
            pos = [(max(lo, 0), max(hi, 0)) for lo, hi in width]
            out = xp.pad(a, pos, constant_values=value)
            sl = tuple(slice(-min(lo, 0), out.shape[d] + min(hi, 0))
                       for d, (lo, hi) in enumerate(width))
            self.crop = (pos, sl)
            return out[sl]
        self.crop = None
        return xp.pad(a, width, constant_values=value)

    def backward(self, g):
        if self.crop is not None:
            pos, sl = self.crop
            full_shape = tuple(s + lo + hi for s, (lo, hi) in zip(self.shape, pos, strict=True))
            full = xp.zeros(full_shape, dtype=g.dtype)
            full[sl] = g
            g = full
            width = pos
        else:
            width = self.width
        sl = tuple(slice(lo, g.shape[d] - hi) for d, (lo, hi) in enumerate(width))
        return g[sl], None, None
