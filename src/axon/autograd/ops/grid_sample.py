"""``grid_sample``: read (N, C, H, W) input at the real-valued positions of a sampling
grid (N, Ho, Wo, 2) of normalised (x, y) in [-1, 1], by bilinear interpolation or the
nearest pixel, with PyTorch's padding modes and its gradients for both the input and the
grid (the spatial transformer's building block).

Position x in [-1, 1] maps to the pixel coordinate ((x + 1) / 2)(W - 1) with
``align_corners`` (-1 and 1 are the corner pixels' centres), else ((x + 1) W - 1) / 2
(-1 and 1 are the corner pixels' outer edges). Padding: ``zeros`` reads 0 outside the
input; ``border`` clamps the coordinate into it; ``reflection`` mirrors it at the border
(about the centres with ``align_corners``, else about the edges), then clamps.
"""

from __future__ import annotations

from ...backend import xp
from ..function import Op


def _reflect(coord, twice_low: float, twice_high: float):
    """Mirror ``coord`` into [twice_low / 2, twice_high / 2]; also d(result)/d(coord)."""
    if twice_low == twice_high:
        return xp.zeros_like(coord), xp.zeros_like(coord)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = coord - low
    sign = xp.where(shifted < 0, -1.0, 1.0)
    shifted = xp.abs(shifted)
    extra = xp.fmod(shifted, span)
    even = (xp.floor(shifted / span) % 2) == 0
    return (xp.where(even, extra + low, span - extra + low),
            xp.where(even, sign, -sign))


def _source_coordinate(coord, size: int, padding_mode: str, align_corners: bool):
    """Pixel coordinates of normalised ``coord`` along an axis of ``size`` pixels, after
    padding; also the derivative d(pixel)/d(coord)."""
    if align_corners:
        pix, grad = (coord + 1) / 2 * (size - 1), xp.full_like(coord, (size - 1) / 2)
    else:
        pix, grad = ((coord + 1) * size - 1) / 2, xp.full_like(coord, size / 2)
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
    """out[n, c, i, j] = input[n, c] read at grid[n, i, j] (bilinear or nearest)."""

    def forward(self, a, grid, mode, padding_mode, align_corners):
        self.dtype, self.shape, self.mode = a.dtype, a.shape, mode
        _, _, H, W = a.shape
        g = grid.astype(xp.float64)
        ix, self.dix = _source_coordinate(g[..., 0], W, padding_mode, align_corners)
        iy, self.diy = _source_coordinate(g[..., 1], H, padding_mode, align_corners)
        self.a = a
        self.taps = self._taps(ix, iy, H, W)
        vals = sum(w[..., None] * self._read(a, xi, yi) for xi, yi, w, _, _ in self.taps)
        return xp.ascontiguousarray(vals.transpose(0, 3, 1, 2)).astype(a.dtype)

    def _taps(self, ix, iy, H, W):
        """Per neighbour: clamped x and y indices, the weight (0 outside the input), and
        the weight's derivatives along x and y."""
        if self.mode == "nearest":
            xn, yn = xp.rint(ix), xp.rint(iy)  # half to even, as nearbyint
            ok = (xn >= 0) & (xn <= W - 1) & (yn >= 0) & (yn <= H - 1)
            zero = xp.zeros_like(ix)
            return [(xp.clip(xn, 0, W - 1).astype(xp.int64),
                     xp.clip(yn, 0, H - 1).astype(xp.int64), ok * 1.0, zero, zero)]
        x0, y0 = xp.floor(ix), xp.floor(iy)
        fx, fy = ix - x0, iy - y0
        taps = []
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            xi, yi = x0 + dx, y0 + dy
            ok = (xi >= 0) & (xi <= W - 1) & (yi >= 0) & (yi <= H - 1)
            wx, wy = (fx if dx else 1 - fx), (fy if dy else 1 - fy)
            sx, sy = (1.0 if dx else -1.0), (1.0 if dy else -1.0)
            taps.append((xp.clip(xi, 0, W - 1).astype(xp.int64),
                         xp.clip(yi, 0, H - 1).astype(xp.int64),
                         wx * wy * ok, sx * wy * ok, sy * wx * ok))
        return taps

    @staticmethod
    def _read(a, xi, yi):
        """a[n, :, yi, xi] for every grid point: (N, Ho, Wo, C)."""
        n = xp.arange(a.shape[0])[:, None, None]
        return a[n, :, yi, xi]

    def backward(self, g):
        g_t = g.transpose(0, 2, 3, 1).astype(xp.float64)  # (N, Ho, Wo, C)
        grad_a = grad_grid = None
        n = xp.arange(self.shape[0])[:, None, None]
        if self.parents[0] is not None:
            acc = xp.zeros((self.shape[0], self.shape[2], self.shape[3], self.shape[1]))
            for xi, yi, w, _, _ in self.taps:
                xp.add.at(acc, (n, yi, xi), g_t * w[..., None])
            grad_a = acc.transpose(0, 3, 1, 2).astype(self.dtype)
        if self.parents[1] is not None:
            gx = gy = 0.0
            for xi, yi, _, wdx, wdy in self.taps:
                dot = (g_t * self._read(self.a, xi, yi)).sum(-1)
                gx, gy = gx + dot * wdx, gy + dot * wdy
            grad_grid = xp.stack([gx * self.dix, gy * self.diy], axis=-1).astype(self.dtype)
        return grad_a, grad_grid, None, None, None
