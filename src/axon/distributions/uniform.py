"""``torch.distributions.uniform``'s path."""

from . import Uniform

__all__ = ["Uniform"]
