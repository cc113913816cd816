"""``torch.autograd.variable``'s path: ``Variable``, which is Tensor since torch 0.4."""

from .function import Variable

__all__ = ["Variable"]
