"""``torch.distributions.transforms``: invertible maps of a random variable, with the log
of their Jacobian's absolute determinant, so a :class:`TransformedDistribution` can give
the density of ``y = f(x)`` (the tanh-squashed Gaussian of SAC policies, for one).

``cache_size=1`` remembers the last ``(x, y)`` pair, so ``inverse(y)`` of a ``y`` this
transform just produced returns the exact ``x`` (``atanh`` of a tanh near 1 would not)."""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ..nn import functional as F

__all__ = [
    "AffineTransform",
    "ComposeTransform",
    "ExpTransform",
    "SigmoidTransform",
    "TanhTransform",
    "Transform",
]


class Transform:
    """The base: ``t(x)``, ``t.inv(y)``, ``t.log_abs_det_jacobian(x, y)``; ``event_dim``
    is how many rightmost dims one application maps together (0: elementwise)."""

    event_dim = 0

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._cached: tuple | None = None

    def __call__(self, x: Tensor) -> Tensor:
        y = self._call(x)
        if self._cache_size:
            self._cached = (x, y)
        return y

    @property
    def inv(self) -> _Inverse:
        return _Inverse(self)

    def _inverse_cached(self, y: Tensor) -> Tensor:
        if self._cached is not None and self._cached[1] is y:
            return self._cached[0]
        return self._inverse(y)

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError


class _Inverse(Transform):
    def __init__(self, transform: Transform) -> None:
        super().__init__()
        self._transform = transform

    def _call(self, y: Tensor) -> Tensor:
        return self._transform._inverse_cached(y)

    def log_abs_det_jacobian(self, y: Tensor, x: Tensor) -> Tensor:
        return -self._transform.log_abs_det_jacobian(x, y)


class ExpTransform(Transform):
    """``y = exp(x)``."""

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class SigmoidTransform(Transform):
    """``y = sigmoid(x)``."""

    def _call(self, x):
        return x.sigmoid()

    def _inverse(self, y):
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x) - F.softplus(x)


class TanhTransform(Transform):
    """``y = tanh(x)``; log|dy/dx| = 2 (log 2 - x - softplus(-2x)), stable for large x."""

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return 0.5 * (y.log1p() - (-y).log1p())

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AffineTransform(Transform):
    """``y = loc + scale x``."""

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        self.loc, self.scale, self.event_dim = loc, scale, event_dim

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        if isinstance(self.scale, Tensor):
            out = self.scale.abs().log().expand(*x.shape)
        else:
            out = x * 0 + math.log(abs(self.scale))
        if self.event_dim:
            out = out.sum(tuple(range(-self.event_dim, 0)))
        return out


class ComposeTransform(Transform):
    """The transforms applied in order."""

    def __init__(self, parts: list, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        self.parts = list(parts)

    def _call(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def _inverse(self, y):
        for part in reversed(self.parts):
            y = part.inv(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        total = 0
        for part in self.parts:
            nxt = part(x)
            total = total + part.log_abs_det_jacobian(x, nxt)
            x = nxt
        return total
