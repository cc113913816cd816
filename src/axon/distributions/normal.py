"""``torch.distributions.normal``'s path."""

from . import Normal

__all__ = ["Normal"]
