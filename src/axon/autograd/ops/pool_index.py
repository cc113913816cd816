"""The index ops behind adaptive max pooling, max unpooling and the max mode of
``embedding_bag``: gathering values from flattened planes at given positions and
scattering values into zero planes (each the other's adjoint), the max over bags of rows,
and the first-maximum positions of adaptive windows.

A plane is one (sample, channel) image flattened to P = H W positions, so an index is
PyTorch's flat ``h W + w`` (what ``max_pool2d(return_indices=True)`` returns).
"""

from __future__ import annotations

import itertools
import math

from ..function import Op
from .scatter import ufunc_at


class PlaneGather(Op):
    """y[r, k] = x[r, idx[r, k]] for x of shape (R, P) and integer idx (R, K).

    dx scatter-adds g back: dx[r, idx[r, k]] += g[r, k] (a position picked twice, as
    overlapping adaptive windows can, gets both gradients)."""

    def forward(self, x, idx):
        self.x_shape, self.idx = x.shape, idx
        return self.xp.take_along_axis(x, idx, axis=1)

    def backward(self, g):
        dx = self.xp.zeros(self.x_shape, g.dtype)
        rows = self.xp.arange(self.x_shape[0])[:, None]
        self.backend.scatter_add(dx, (rows, self.idx), g)
        return dx, None


class PlaneScatter(Op):
    """y = zeros (R, size); y[r, idx[r, k]] = x[r, k] (a later k wins a shared position);
    dx[r, k] = g[r, idx[r, k]]."""

    def forward(self, x, idx, size: int):
        self.idx = idx
        out = self.xp.zeros((x.shape[0], size), x.dtype)
        self.xp.put_along_axis(out, idx, x, axis=1)
        return out

    def backward(self, g):
        return self.xp.take_along_axis(g, self.idx, axis=1), None, None


def adaptive_windows(n_in: int, n_out: int):
    """PyTorch's adaptive window of each output position i along one axis:
    floor(i n_in / n_out) <= h < ceil((i + 1) n_in / n_out)."""
    return [((i * n_in) // n_out, -(-(i + 1) * n_in // n_out)) for i in range(n_out)]


def adaptive_max_indices(xp, x4, out_hw: tuple):
    """The flat plane index (h W + w) of the first maximum of every adaptive window of
    the (N, C, H, W) array ``x4`` (of namespace ``xp``): an int64 array (N, C, Ho, Wo)."""
    N, C, H, W = x4.shape
    Ho, Wo = out_hw
    idx = xp.empty((N, C, Ho, Wo), dtype=xp.int64)
    for i, (h0, h1) in enumerate(adaptive_windows(H, Ho)):
        for j, (w0, w1) in enumerate(adaptive_windows(W, Wo)):
            window = x4[:, :, h0:h1, w0:w1].reshape(N, C, -1)
            a = xp.argmax(window, axis=2)  # first maximum (NaN counts as the maximum)
            idx[:, :, i, j] = (h0 + a // (w1 - w0)) * W + w0 + a % (w1 - w0)
    return idx


class SegmentMax(Op):
    """out[b] = elementwise max of rows[t] over the t with bag[t] == b (0 for an empty
    bag), for rows (T, D); the gradient of each (b, d) goes to its first maximum."""

    def forward(self, rows, bag, num_bags: int):
        xp = self.xp
        T, D = rows.shape
        out = xp.full((num_bags, D), -math.inf, rows.dtype)
        ufunc_at(xp, "maximum", out, bag, rows)
        # the first t reaching each maximum: where the gradient of (b, d) goes (int32: CuPy's
        # minimum.at has no int64)
        t = xp.where(rows == out[bag], xp.arange(T, dtype=xp.int32)[:, None], T)
        first = xp.full((num_bags, D), T, dtype=xp.int32)
        ufunc_at(xp, "minimum", first, bag, t)
        self.rows_shape, self.first = rows.shape, first
        return xp.where(first < T, out, 0).astype(rows.dtype)

    def backward(self, g):
        T, D = self.rows_shape
        drows = self.xp.zeros((T + 1, D), g.dtype)  # row T collects the empty bags' gradient
        drows[self.first, self.xp.arange(D)] = g
        return drows[:T], None, None


def adaptive_max_indices_nd(xp, x, out_size: tuple):
    """:func:`adaptive_max_indices` for any number of spatial dimensions: for (N, C, *S)
    the flat index into prod(S) of each adaptive window's first maximum,
    an int64 array (N, C, *out_size) of namespace ``xp``."""
    n, c, *size = x.shape
    idx = xp.empty((n, c, *out_size), dtype=xp.int64)
    per_axis = [adaptive_windows(s, o) for s, o in zip(size, out_size, strict=True)]
    for position in itertools.product(*(range(o) for o in out_size)):
        bounds = [per_axis[a][i] for a, i in enumerate(position)]
        window = x[(slice(None), slice(None), *(slice(lo, hi) for lo, hi in bounds))]
        local = xp.unravel_index(
            xp.argmax(window.reshape(n, c, -1), axis=2), [hi - lo for lo, hi in bounds]
        )
        flat = xp.zeros((n, c), dtype=xp.int64)
        for (lo, _), offset, s in zip(bounds, local, size, strict=True):
            flat = flat * s + lo + offset
        idx[(slice(None), slice(None), *position)] = flat
    return idx
