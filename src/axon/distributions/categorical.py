"""``torch.distributions.categorical``'s path."""

from . import Categorical

__all__ = ["Categorical"]
