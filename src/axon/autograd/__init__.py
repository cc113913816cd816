"""Reverse-mode autodiff: ``Tensor``, the graph, the primitive ops and ``gradcheck``."""

from .tensor import Tensor  # noqa: I001  (first: the other modules import it)
from .function import Function, FunctionCtx, Op
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckReport, gradcheck

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckReport",
    "Op",
    "Tensor",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
