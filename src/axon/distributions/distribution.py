"""``torch.distributions.distribution``'s path."""

from . import Distribution

__all__ = ["Distribution"]
