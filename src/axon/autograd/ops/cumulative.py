"""Scans along one axis (cumsum, cumprod, logcumsumexp, and the indices of cummax/cummin)
and the product reduction ``prod``, which shares cumprod's care with zeros.

The gradient of a product with respect to one factor is the product of the others. Dividing
the product by the factor gives it only where no factor is 0; these ops handle zeros
exactly, as torch does: where one factor is 0 its gradient is the product of the rest, and
every factor after (or beside) a 0 of the same product gets 0 from that product.
"""

from __future__ import annotations

from ... import backend as B
from ..function import Op


def accumulate(ufunc, a, axis: int):
    """``ufunc.accumulate(a, axis)``: out_i = ufunc(out_{i-1}, a_i) along ``axis``.

    CuPy implements ``accumulate`` for add and multiply only (the others raise
    NotImplementedError); for them this scans by doubling instead: after the step with shift
    s every out_i combines the 2s elements ending at i, so ceil(log2 n) whole-array calls of
    ``ufunc`` do it. Exact for maximum and minimum; for logaddexp the sums are grouped
    differently from a running sum, so they may differ in the last bits."""
    try:
        return ufunc.accumulate(a, axis=axis)
    except NotImplementedError:
        pass
    out = a.copy()
    n = a.shape[axis]
    lead = (slice(None),) * (axis % a.ndim)
    shift = 1
    while shift < n:
        out[(*lead, slice(shift, None))] = ufunc(
            out[(*lead, slice(shift, None))], out[(*lead, slice(None, n - shift))]
        )
        shift *= 2
    return out


def _reverse_cumsum(a, axis: int):
    """sum_{j >= i} a_j along ``axis``: how every later output depends on position i."""
    xp = B.namespace(a)
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis), axis)


class Cumsum(Op):
    """out_i = sum_{j <= i} a_j;  d/da_i = sum_{j >= i} g_j."""

    def forward(self, a, axis):
        self.axis = axis
        return self.xp.cumsum(a, axis=axis)

    def backward(self, g):
        return _reverse_cumsum(g, self.axis), None


class Cumprod(Op):
    """out_i = prod_{j <= i} a_j;  d/da_i = sum_{j >= i} g_j prod_{k <= j, k != i} a_k.

    Before the first zero of a line this is sum_{j >= i} g_j out_j / a_i; at the first
    zero it is the same sum over the cumulative product with that zero replaced by 1; after
    it, 0 (each product there holds the first zero as well as a_i).
    """

    def forward(self, a, axis):
        self.a, self.axis = a, axis
        self.out = self.xp.cumprod(a, axis=axis)
        return self.out

    def backward(self, g):
        xp = self.xp
        a, axis = self.a, self.axis
        zeros_so_far = xp.cumsum(a == 0, axis=axis)
        before = zeros_so_far == 0
        with xp.errstate(divide="ignore", invalid="ignore"):
            grad = _reverse_cumsum(g * self.out, axis) / a
        grad = xp.where(before, grad, 0)
        first = (a == 0) & (zeros_so_far == 1)
        if first.any():
            skip_first = xp.cumprod(xp.where(first, 1, a), axis=axis)  # the zero replaced by 1
            grad = xp.where(first, _reverse_cumsum(g * skip_first, axis), grad)
        return grad.astype(g.dtype, copy=False), None


class Prod(Op):
    """prod(a) over ``axis`` (all elements when None);  d/da_i = prod_{k != i} a_k: out / a_i
    without zeros, the product of the others at a lone zero, 0 everywhere with two zeros."""

    def forward(self, a, axis, keepdim):
        self.a, self.axis, self.keepdim = a, axis, keepdim
        self.out = self.xp.prod(a, axis=axis, keepdims=True)
        if keepdim:
            return self.out
        return self.out.reshape(()) if axis is None else self.out.squeeze(axis)

    def backward(self, g):
        xp = self.xp
        a, axis = self.a, self.axis
        g = g.reshape(self.out.shape)
        is_zero = a == 0
        n_zero = is_zero.sum(axis=axis, keepdims=True)
        with xp.errstate(divide="ignore", invalid="ignore"):
            grad = xp.where(n_zero == 0, self.out / a, 0)
        lone = is_zero & (n_zero == 1)
        if lone.any():
            others = xp.prod(xp.where(is_zero, 1, a), axis=axis, keepdims=True)
            grad = xp.where(lone, others, grad)
        return (g * grad).astype(g.dtype, copy=False), None, None


def running_extreme_indices(a, axis: int, largest: bool):
    """Where the running maximum (``largest``) or minimum of ``a`` along ``axis`` was
    taken: ties and NaN move the index to the latest position, as torch's cummax/cummin.
    The values are ``a`` gathered at these indices, so their gradient is gather's."""
    xp = B.namespace(a)
    values = accumulate(xp.maximum if largest else xp.minimum, a, axis)
    pos = xp.arange(a.shape[axis]).reshape((-1,) + (1,) * (a.ndim - 1 - axis))
    hit = a == values
    if a.dtype.kind == "f":
        hit |= xp.isnan(a)  # a NaN is the extreme from there on
    return accumulate(xp.maximum, xp.where(hit, pos, 0), axis)


class LogCumSumExp(Op):
    """out_i = log sum_{j <= i} e^(a_j), stably;  d/da_i = sum_{j >= i} g_j e^(a_i - out_j),
    summed in log space separately for the positive and negative parts of g (no overflow)."""

    def forward(self, a, axis):
        self.a, self.axis = a, axis
        self.out = accumulate(self.xp.logaddexp, a, axis) if a.size else a.copy()
        return self.out

    def backward(self, g):
        xp = self.xp
        a, axis, out = self.a, self.axis, self.out
        with xp.errstate(divide="ignore", invalid="ignore"):
            grad = xp.zeros_like(g)
            for sign in (1, -1):
                part = xp.log(xp.maximum(sign * g, 0)) - out  # log(g_j^+) - out_j
                rev = xp.flip(accumulate(xp.logaddexp, xp.flip(part, axis), axis), axis)
                grad = grad + sign * xp.exp(a + rev)
        return grad, None
