"""``torch.nn.grad``: the gradients of a convolution with respect to its input and to its
weight, as functions (for hand-written backward passes). Each runs the convolution on a
stand-in and asks autograd, so it agrees with ``F.conv*d``'s own backward by construction.
The results carry no graph: axon's convolutions have no second derivative yet.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import grad
from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor, _wrap
from . import functional as F

__all__ = [
    "conv1d_input",
    "conv1d_weight",
    "conv2d_input",
    "conv2d_weight",
    "conv3d_input",
    "conv3d_weight",
]


def _conv_grad(
    conv, wrt: str, size, other: Tensor, grad_output: Tensor, stride, padding, dilation, groups
) -> Tensor:
    """d(conv)/d(``wrt``) applied to ``grad_output``; ``size`` is the shape of ``wrt``.
    The stand-in's graph is recorded even under ``no_grad``; the result carries no graph
    (axon's convolutions have no second derivative yet)."""
    stand_in = _wrap(B.namespace(other.array).zeros(tuple(size), dtype=other.dtype), True)
    x, w = (stand_in, other) if wrt == "input" else (other, stand_in)
    with enable_grad():
        out = conv(x, w, None, stride, padding, dilation, groups)
        return grad(out, stand_in, grad_output)[0]


def _pair(conv, wrt):
    if wrt == "input":

        def fn(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
            return _conv_grad(
                conv, "input", input_size, weight, grad_output, stride, padding, dilation, groups
            )
    else:

        def fn(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
            return _conv_grad(
                conv, "weight", weight_size, input, grad_output, stride, padding, dilation, groups
            )

    fn.__name__ = fn.__qualname__ = f"{conv.__name__}_{wrt}"
    fn.__doc__ = f"The gradient of ``{conv.__name__}`` with respect to its {wrt}."
    return fn


conv1d_input, conv1d_weight = _pair(F.conv1d, "input"), _pair(F.conv1d, "weight")
conv2d_input, conv2d_weight = _pair(F.conv2d, "input"), _pair(F.conv2d, "weight")
conv3d_input, conv3d_weight = _pair(F.conv3d, "input"), _pair(F.conv3d, "weight")
