"""``grid_sample``: read (N, C, H, W) input at the real-valued positions of a sampling
grid (N, Ho, Wo, 2) of normalised (x, y) in [-1, 1] (or (N, C, D, H, W) input at
(N, Do, Ho, Wo, 3) positions (x, y, z)), by bilinear (trilinear) interpolation between the
2^d neighbours or the nearest pixel, with PyTorch's padding modes and its gradients for
both the input and the grid (the spatial transformer's building block).

Position x in [-1, 1] maps to the pixel coordinate ((x + 1) / 2)(W - 1) with
``align_corners`` (-1 and 1 are the corner pixels' centres), else ((x + 1) W - 1) / 2
(-1 and 1 are the corner pixels' outer edges). Padding: ``zeros`` reads 0 outside the
input; ``border`` clamps the coordinate into it; ``reflection`` mirrors it at the border
(about the centres with ``align_corners``, else about the edges), then clamps.
"""

from __future__ import annotations

import itertools
import math

from ... import backend as B
from ...backend.linspace import fused_multiply_add
from ..function import Op


def _reflect(coord, twice_low: float, twice_high: float):
    """Mirror ``coord`` into [twice_low / 2, twice_high / 2]; also d(result)/d(coord)."""
    xp = B.namespace(coord)
    if twice_low == twice_high:
        return xp.zeros_like(coord), xp.zeros_like(coord)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = coord - low
    sign = xp.where(shifted < 0, -1.0, 1.0)
    shifted = xp.abs(shifted)
    extra = xp.fmod(shifted, span)
    even = (xp.floor(shifted / span) % 2) == 0
    return (xp.where(even, extra + low, span - extra + low), xp.where(even, sign, -sign))


def _unnormalize(coord, size: int, align_corners: bool, volumetric: bool):
    """The pixel coordinate of ``coord``, computed in ``coord``'s dtype by torch's CPU
    formula (its vectorised 2-D kernel and its scalar 3-D one round differently): a point
    on a pixel centre then has torch's floor, so it takes torch's side of bilinear's kink
    (what a spatial transformer at its identity initialisation is made of)."""
    xp = B.namespace(coord)
    t = coord.dtype.type
    if volumetric:
        if align_corners:
            return (coord + t(1)) / t(2) * t(size - 1)
        return ((coord + t(1)) * t(size) - t(1)) / t(2)
    scale = t(size - 1) / t(2) if align_corners else t(size) / t(2)
    shift = 0.0 if align_corners else -0.5
    # (coord + 1) * scale + shift as one fused multiply-add, as torch's compiled kernel does
    shifted = xp.asarray(coord + t(1), dtype=xp.float64)
    return fused_multiply_add(shifted, float(scale), shift).astype(coord.dtype)


def _source_coordinate(
    coord, size: int, padding_mode: str, align_corners: bool, volumetric: bool = False
):
    """Pixel coordinates of normalised ``coord`` along an axis of ``size`` pixels, after
    padding (float64); also the derivative d(pixel)/d(coord)."""
    xp = B.namespace(coord)
    pix = _unnormalize(coord, size, align_corners, volumetric).astype(xp.float64)
    coord = coord.astype(xp.float64)
    if align_corners:
        grad = xp.full_like(coord, (size - 1) / 2)
    else:
        grad = xp.full_like(coord, size / 2)
    if padding_mode == "reflection":
        if align_corners:
            pix, d = _reflect(pix, 0.0, 2.0 * (size - 1))
        else:
            pix, d = _reflect(pix, -1.0, 2.0 * size - 1)
        grad = grad * d
    if padding_mode in ("border", "reflection"):  # clamp; no gradient at or past the ends
        inside = (pix > 0) & (pix < size - 1)
        pix, grad = xp.clip(pix, 0, size - 1), grad * inside
    return pix, grad


class GridSample(Op):
    """out[n, c, *j] = input[n, c] read at grid[n, *j] (bilinear/trilinear or nearest),
    for 4-D input with a (N, Ho, Wo, 2) grid or 5-D input with a (N, Do, Ho, Wo, 3) grid.
    The grid's last axis lists x (the last spatial axis) first."""

    def forward(self, a, grid, mode, padding_mode, align_corners):
        xp = self.xp
        self.dtype, self.shape, self.mode, self.a = a.dtype, a.shape, mode, a
        sizes = a.shape[2:]
        nd = len(sizes)
        g = grid if grid.dtype in (xp.float32, xp.float64) else grid.astype(xp.float64)
        coords, self.dcoords = [], []  # per spatial axis of the input, in its order
        for axis, size in enumerate(sizes):
            c, d = _source_coordinate(
                g[..., nd - 1 - axis], size, padding_mode, align_corners, volumetric=nd == 3
            )
            coords.append(c)
            self.dcoords.append(d)
        self.taps = self._taps(coords, sizes)
        vals = sum(w[..., None] * self._read(a, idx) for idx, w, _ in self.taps)
        return xp.ascontiguousarray(xp.moveaxis(vals, -1, 1)).astype(a.dtype)

    def _taps(self, coords, sizes):
        """Per neighbour: its clamped index along each spatial axis, its weight (0 outside
        the input), and the weight's derivative along each axis."""
        xp = self.xp
        if self.mode == "nearest":
            near = [xp.rint(c) for c in coords]  # half to even, as nearbyint
            ok = xp.ones(near[0].shape, dtype=bool)
            for r, size in zip(near, sizes, strict=True):
                ok &= (r >= 0) & (r <= size - 1)
            idx = tuple(
                xp.clip(r, 0, size - 1).astype(xp.int64)
                for r, size in zip(near, sizes, strict=True)
            )
            return [(idx, ok * 1.0, [xp.zeros_like(coords[0])] * len(sizes))]
        low = [xp.floor(c) for c in coords]
        frac = [c - lo for c, lo in zip(coords, low, strict=True)]
        taps = []
        for corner in itertools.product((0, 1), repeat=len(sizes)):
            ok = xp.ones(coords[0].shape, dtype=bool)
            idx, factors = [], []
            for bit, lo, f, size in zip(corner, low, frac, sizes, strict=True):
                i = lo + bit
                ok &= (i >= 0) & (i <= size - 1)
                idx.append(xp.clip(i, 0, size - 1).astype(xp.int64))
                factors.append(f if bit else 1 - f)
            weight = math.prod(factors) * ok
            slopes = [
                (1.0 if bit else -1.0) * math.prod(factors[:k] + factors[k + 1 :]) * ok
                for k, bit in enumerate(corner)
            ]
            taps.append((tuple(idx), weight, slopes))
        return taps

    def _read(self, a, idx):
        """a[n, :, *idx] for every grid point: (N, *grid_spatial, C)."""
        n = self.xp.arange(a.shape[0]).reshape((-1,) + (1,) * (idx[0].ndim - 1))
        return a[(n, slice(None)) + idx]

    def backward(self, g):
        xp = self.xp
        g_t = xp.moveaxis(g, 1, -1).astype(xp.float64)  # (N, *grid_spatial, C)
        grad_a = grad_grid = None
        if self.parents[0] is not None:
            n = xp.arange(self.shape[0]).reshape((-1,) + (1,) * (g_t.ndim - 2))
            acc = xp.zeros((self.shape[0], *self.shape[2:], self.shape[1]))
            for idx, w, _ in self.taps:
                self.backend.scatter_add(acc, (n,) + idx, g_t * w[..., None])
            grad_a = xp.moveaxis(acc, -1, 1).astype(self.dtype)
        if self.parents[1] is not None:
            nd = len(self.shape) - 2
            per_axis = [0.0] * nd
            for idx, _, slopes in self.taps:
                dot = (g_t * self._read(self.a, idx)).sum(-1)
                per_axis = [p + dot * s for p, s in zip(per_axis, slopes, strict=True)]
            grad_grid = xp.stack(
                [per_axis[axis] * self.dcoords[axis] for axis in reversed(range(nd))], axis=-1
            ).astype(self.dtype)
        return grad_a, grad_grid, None, None, None
