"""Nearest-neighbour upsampling (``interpolate(mode="nearest" / "nearest-exact")``) of
(N, C, L) or (N, C, H, W) inputs: one gather per axis forward, one run-sum per axis back.
"""

from __future__ import annotations

from ..function import Op
from .spatial import to_4d


def nearest_index(xp, n_in: int, n_out: int, scale: float | None, exact: bool):
    """Source index of every output position (an array of namespace ``xp``), PyTorch's
    rule (float32 arithmetic):
    src = min(floor(j * r), n_in - 1) with r = 1 / scale_factor when one is given, else
    n_in / n_out; ``nearest-exact`` uses floor((j + 0.5) r)."""
    j = xp.arange(n_out)
    if not exact and n_out == n_in:
        return j
    if not exact and n_out == 2 * n_in:
        return j >> 1
    r = xp.float32(1.0 / scale) if scale else xp.float32(n_in) / xp.float32(n_out)
    pos = (j.astype(xp.float32) + xp.float32(0.5)) * r if exact else j.astype(xp.float32) * r
    return xp.minimum(xp.floor(pos).astype(xp.int64), n_in - 1)


def _sum_runs(xp, g, idx, n: int, axis: int):
    """Adjoint of ``take(x, idx, axis)`` for a non-decreasing ``idx``: sum the slices of
    ``g`` that came from the same source (one ``reduceat``); sources never taken get 0."""
    starts = xp.flatnonzero(xp.concatenate((xp.ones(1, bool), idx[1:] != idx[:-1])))
    summed = xp.add.reduceat(g, starts, axis=axis)
    if len(starts) == n:
        return summed
    shape = list(g.shape)
    shape[axis] = n
    out = xp.zeros(shape, g.dtype)
    where = [slice(None)] * g.ndim
    where[axis] = idx[starts]
    out[tuple(where)] = summed
    return out


class UpsampleNearest(Op):
    """y[..., h, w] = x[..., ih[h], iw[w]] (:func:`nearest_index`); dx sums the gradient
    of every output that copied a pixel."""

    def forward(self, x, out_size, scales, exact, name):
        nd = x.ndim - 2
        self.x_shape = x.shape
        x4 = to_4d(x, nd)
        N, C, H, W = x4.shape
        if nd == 1:
            out_size, scales = (1, *out_size), (None, *scales)
        xp = self.xp
        self.ih = nearest_index(xp, H, out_size[0], scales[0], exact)
        self.iw = nearest_index(xp, W, out_size[1], scales[1], exact)
        xc = x4.transpose(1, 0, 2, 3)  # (C, N, H, W)
        out = xp.take(xp.take(xc, self.ih, axis=2), self.iw, axis=3)  # (C, N, Ho, Wo)
        self.out_shape4, self.in_hw = (N, C, *out_size), (H, W)
        y = out.transpose(1, 0, 2, 3)
        return y[:, :, 0] if nd == 1 else y

    def backward(self, g):
        N, C, Ho, Wo = self.out_shape4
        H, W = self.in_hw
        gc = g.reshape(N, C, Ho, Wo).transpose(1, 0, 2, 3)  # (C, N, Ho, Wo)
        gc = _sum_runs(self.xp, _sum_runs(self.xp, gc, self.iw, W, axis=3), self.ih, H, axis=2)
        return gc.transpose(1, 0, 2, 3).reshape(self.x_shape), None, None, None, None
