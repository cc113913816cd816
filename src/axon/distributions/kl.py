"""``torch.distributions.kl``'s path."""

from . import kl_divergence

__all__ = ["kl_divergence"]
