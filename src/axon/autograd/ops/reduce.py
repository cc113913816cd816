"""Reductions: sum, mean, var, std, norm, logsumexp, amax/amin.

max/min of a whole tensor (and amax/amin) share the gradient evenly among ties, as in
PyTorch.
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op
from .elementwise import float_input


def _expand_back(g, shape, axes, keepdim):
    """Put back the reduced axes of ``g`` so it broadcasts against the input."""
    xp = B.namespace(g)
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
        xp = self.xp
        self.shape = a.shape
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        if a.dtype.kind in "biu":  # torch sums bool and integer tensors as int64
            return xp.asarray(a.sum(axis=self.axes, keepdims=keepdim, dtype=xp.int64))
        return xp.asarray(a.sum(axis=self.axes, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g, self.shape, self.axes, self.keepdim), None, None


class Mean(Op):
    def forward(self, a, axes, keepdim):
        a = float_input(a)
        self.shape = a.shape
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        out = self.xp.asarray(a.mean(axis=self.axes, keepdims=keepdim))
        self.n = a.size // max(out.size, 1) if a.size else 0
        return out

    def backward(self, g):
        return _expand_back(g / self.n, self.shape, self.axes, self.keepdim), None, None


class Var(Op):
    """var = sum((a - mean)^2) / (n - correction);  d/da = 2 (a - mean) / (n - correction)."""

    def forward(self, a, axes, correction, keepdim):
        xp = self.xp
        a = float_input(a)
        self.shape = a.shape
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        mean = a.mean(axis=self.axes, keepdims=True)
        self.centered = a - mean
        n = a.size // max(mean.size, 1)
        self.denom = max(n - correction, 0)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.asarray(
                (self.centered * self.centered).sum(axis=self.axes, keepdims=keepdim) / self.denom
            )

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        if self.denom:
            return g * self.centered * (2 / self.denom), None, None, None
        with self.xp.errstate(invalid="ignore"):  # n <= correction: inf (or NaN), as in torch
            return g * self.centered * math.inf, None, None, None


class Std(Var):
    """std = sqrt(var);  d/da = (a - mean) / ((n - correction) std), and 0 where std == 0
    (torch's choice, instead of the 0 / 0 of composing sqrt and var)."""

    def forward(self, a, axes, correction, keepdim):
        self.out = self.xp.sqrt(super().forward(a, axes, correction, keepdim))
        return self.out

    def backward(self, g):
        xp = self.xp
        with xp.errstate(divide="ignore", invalid="ignore"):
            g = xp.where(self.out == 0, 0, g / (2 * self.out)).astype(g.dtype, copy=False)
        return super().backward(g)


class Norm(Op):
    """The p-norm (sum |a|^p)^(1/p) over ``axes``, for a finite p other than 1;
    d/da = sign(a) |a|^(p-1) / norm^(p-1), and 0 where the norm is 0 (as torch)."""

    def forward(self, a, p, axes, keepdim):
        xp = self.xp
        a = float_input(a)
        self.a, self.p = a, p
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        absp = a * a if p == 2 else xp.abs(a) ** p
        self.out = xp.asarray(absp.sum(axis=self.axes, keepdims=True) ** (1.0 / p))
        if keepdim:
            return self.out
        return self.out.reshape(()) if self.axes is None else self.out.squeeze(self.axes)

    def backward(self, g):
        xp = self.xp
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
        xp = self.xp
        a = float_input(a)
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
            g = self.xp.expand_dims(g, self.axes)
        return g * self.e / self.s, None, None


class Amax(Op):
    """Largest value(s); ties share the gradient evenly (torch's ``amax``/``max()``)."""

    pick = "max"  # the array method that reduces

    def forward(self, a, axes, keepdim):
        if a.size == 0:
            raise RuntimeError(f"{type(self).__name__.lower()}: the tensor is empty")
        self.a = a
        self.axes = _norm_axes(axes, a.ndim)
        self.keepdim = keepdim
        self.out = self.xp.asarray(getattr(a, self.pick)(axis=self.axes, keepdims=True))
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
    pick = "min"
