"""The activations added for running PyTorch programs unchanged (hardtanh, relu6,
hardsigmoid, hardswish, selu, celu, silu, mish, logsigmoid, softsign, tanhshrink, softmin,
threshold, softshrink, hardshrink, glu, prelu, rrelu, their in-place forms, and
gumbel_softmax), and the Tensor methods torch has for them. :mod:`axon.nn.functional`
re-exports every name here.

Each is one primitive op (``axon.autograd.ops.activation``) where PyTorch's kernel has its
own subgradients at kinks, and PyTorch's own composition otherwise (softsign, tanhshrink,
softmin, glu, prelu), so values and gradients match it exactly.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd import ops
from ..autograd.tensor import Tensor, _wrap, bind_methods, normalize_dim, where
from ..backend import xp
from .functional import _inplace, _softmax_dim, elu, leaky_relu, relu

__all__ = [
    "celu",
    "celu_",
    "elu_",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu_",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "silu",
    "softmin",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
    "threshold_",
]


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """clip(x, min_val, max_val); the gradient is 1 strictly between the bounds, else 0."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace(input, ops.Hardtanh.apply(input, min_val, max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)``, so the gradient is 0 at 0 and at 6."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6, a piecewise-linear sigmoid."""
    return _inplace(input, ops.Hardsigmoid.apply(input), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6 (MobileNetV3's swish)."""
    return _inplace(input, ops.Hardswish.apply(input), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (x for x > 0, alpha (e^x - 1) otherwise), with the self-normalising constants
    alpha = 1.6732632423543772, scale = 1.0507009873554805."""
    return _inplace(input, ops.ScaledElu.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)): an ELU continuously differentiable
    at 0 for every alpha."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu: alpha must not be 0")
    return _inplace(input, ops.ScaledElu.apply(input, float(alpha), 1.0, 1.0 / alpha), inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (also called swish)."""
    return _inplace(input, ops.Silu.apply(input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _inplace(input, ops.Mish.apply(input), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(1 / (1 + e^-x)), computed without overflow as -softplus(-x)."""
    return ops.LogSigmoid.apply(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) (PyTorch's own composition)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - input.tanh()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``: the weights favour the smallest entries."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return (-input).softmax(dim)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``."""
    return _inplace(input, ops.Threshold.apply(input, threshold, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return _inplace(input, ops.Threshold.apply(input, threshold, value), True)


def _check_lambd(lambd: float) -> None:
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 in between."""
    _check_lambd(lambd)
    return ops.Shrink.apply(input, lambd, True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 in between."""
    _check_lambd(lambd)
    return ops.Shrink.apply(input, lambd, False)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: split ``input`` in halves a, b along ``dim``; a sigmoid(b)."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = normalize_dim(dim, input.ndim)
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim} is size {input.shape[dim]}"
        )
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, w x otherwise, with one learnable slope w per channel (dim 1) or one
    for all (a weight of one element)."""
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {n} and channel size = {channels}."
            )
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif weight.ndim > input.ndim:  # a (1,) slope on a 0-d input keeps the output 0-d
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: in training, each x <= 0 is scaled by a slope drawn uniformly
    from [lower, upper] (the gradient uses the same slope); otherwise by (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = B.rng().uniform(lower, upper, input.shape).astype(input.dtype)  # on the host,
    slopes = B.of(input.array).from_host(slopes)  # then moved to the input's device
    return _inplace(input, ops.LeakyRelu.apply(input, slopes), inplace)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def _sigmoid_(input: Tensor) -> Tensor:
    """In-place sigmoid (``x.sigmoid_()``)."""
    return input.copy_(input.sigmoid())


def _tanh_(input: Tensor) -> Tensor:
    """In-place tanh (``x.tanh_()``)."""
    return input.copy_(input.tanh())


# the Tensor methods torch has for these: x.relu_(), x.sigmoid_(), x.tanh_(), x.prelu(w),
# x.hardshrink(lambd)
bind_methods(relu_=relu_, sigmoid_=_sigmoid_, tanh_=_tanh_, prelu=prelu, hardshrink=hardshrink)


# ============================================================ sampling


def gumbel_softmax(
    logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A differentiable sample from the categorical distribution of ``logits``:
    softmax((logits + g) / tau) with g ~ Gumbel(0, 1) (g = -log E, E ~ Exp(1)). ``hard``
    returns the one-hot of its argmax in the forward pass and the soft sample's gradient
    in the backward (the straight-through estimator). ``eps`` is unused, as in PyTorch."""
    dim = normalize_dim(dim, logits.ndim)
    # drawn on the host from the seeded generator, then moved to the logits' device
    gumbels = -xp.log(B.rng().exponential(1.0, logits.shape)).astype(logits.dtype)
    y_soft = ((logits + _wrap(B.of(logits.array).from_host(gumbels))) / tau).softmax(dim)
    if not hard:
        return y_soft
    ns = B.namespace(y_soft.array)
    index = ns.expand_dims(y_soft.array.argmax(axis=dim), dim)
    y_hard = ns.zeros_like(y_soft.array)
    ns.put_along_axis(y_hard, index, 1.0, axis=dim)
    return _wrap(y_hard) - y_soft.detach() + y_soft
