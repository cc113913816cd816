"""``torch.distributions.bernoulli``'s path."""

from . import Bernoulli

__all__ = ["Bernoulli"]
