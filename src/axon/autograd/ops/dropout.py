"""Dropout ops: zeroing random elements (Dropout) or whole feature maps (FeatureDropout).

Each keeps its mask for backward. The mask is drawn on the host from the seeded generator
and moved to the input's device, or on the device itself where its backend draws there
(``Backend.device_rng``: a GPU, whose masks then differ from the CPU's for one seed).
"""

from __future__ import annotations

from ..function import Op


class Dropout(Op):
    """Inverted dropout: y = x * m / (1 - p) with m ~ Bernoulli(1 - p), so E[y] = x;
    dy/dx = m / (1 - p)."""

    def forward(self, x, p, rng):
        xp = self.xp
        if p == 1:
            self.mask = xp.zeros_like(x)
        else:
            dt = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else xp.float64
            rng = self.backend.device_rng() or rng
            keep = self.backend.from_host(rng.random(x.shape, dtype=dt) >= p)
            self.mask = xp.multiply(keep, 1.0 / (1.0 - p), dtype=x.dtype)
        return x * self.mask

    def backward(self, g):
        return g * self.mask, None, None


class FeatureDropout(Op):
    """Dropout of whole channels: y = x * m / (1 - p) with one m ~ Bernoulli(1 - p) per
    (sample, channel), broadcast over the spatial positions; dy/dx = m / (1 - p)."""

    def forward(self, x, p, rng):
        xp = self.xp
        shape = x.shape[:2] + (1,) * (x.ndim - 2)  # (N, C, 1, 1)
        if p == 1:
            self.mask = xp.zeros(shape, x.dtype)
        else:
            dt = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else xp.float64
            rng = self.backend.device_rng() or rng
            keep = self.backend.from_host(rng.random(shape, dtype=dt) >= p)
            self.mask = xp.multiply(keep, 1.0 / (1.0 - p), dtype=x.dtype)
        return x * self.mask

    def backward(self, g):
        return g * self.mask, None, None
