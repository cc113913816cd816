"""``Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout`` and ``FeatureAlphaDropout``:
inverted dropout of elements or of whole channels (alpha dropout: to SELU's saturation
value, keeping mean and variance), active in training mode only."""

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


class _DropoutNd(Module):
    """``p`` and ``inplace``, checked and shown as torch does; ``_fn`` is the functional."""

    _fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Channel dropout of (N, C, L) or (C, L): each whole channel zeroed with probability
    ``p`` in training, the rest scaled by 1 / (1 - p)."""

    _fn = staticmethod(F.dropout1d)


class Dropout3d(_DropoutNd):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W)."""

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: dropped units take SELU's negative saturation value and
    an affine map keeps the input's mean and variance (Klambauer et al., 2017); the
    identity in eval mode."""

    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """:class:`AlphaDropout` of whole channels (one draw per (sample, channel))."""

    _fn = staticmethod(F.feature_alpha_dropout)
