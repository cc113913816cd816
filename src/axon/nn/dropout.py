"""``Dropout`` and ``Dropout2d``: inverted dropout of elements or of whole channels,
active in training mode only."""

from __future__ import annotations

from ..autograd.tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the survivors by
    1 / (1 - p), so E[output] = input; the identity in eval mode. Masks are drawn from
    ``axon.backend.rng()`` (seeded by ``axon.manual_seed``)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """Channel dropout: zero each whole channel of a sample with probability ``p`` in
    training and scale the survivors by 1 / (1 - p) (for (N, C, H, W) inputs: one
    Bernoulli draw per (n, c)); the identity in eval mode. Neighbouring pixels of a feature
    map are strongly correlated, so dropping single pixels barely regularises a CNN;
    dropping whole maps does (Tompson et al., 2015)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
