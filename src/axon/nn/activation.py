"""Activation layers: ``ReLU``, ``Sigmoid``, ``Tanh``, ``LeakyReLU``, ``ELU``,
``Softplus``, ``GELU``, ``Softmax``, ``LogSoftmax``, ``Hardtanh``, ``ReLU6``,
``Hardsigmoid``, ``Hardswish``, ``SELU``, ``CELU``, ``SiLU``, ``Mish``, ``Softsign``,
``Tanhshrink``, ``LogSigmoid``, ``Softmin``, ``GLU``, ``Threshold``, ``Softshrink``,
``Hardshrink``, ``PReLU``, ``RReLU`` (PyTorch's names, arguments and reprs). Each is a
thin module around the function of the same name in ``functional``."""

from __future__ import annotations

import warnings

from ..autograd.tensor import Tensor
from ..backend import xp
from . import functional as F
from ._factory import factory_dtype, place
from .module import Module, Parameter


def _inplace_str(inplace: bool, lead: str = ", ") -> str:
    return f"{lead}inplace=True" if inplace else ""


class ReLU(Module):
    """relu(x) = max(x, 0); its derivative is 0 at x = 0."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, lead="")


class Sigmoid(Module):
    """sigmoid(x) = 1 / (1 + e^-x);  sigmoid' = sigmoid (1 - sigmoid)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x);  tanh' = 1 - tanh^2."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_str(self.inplace)}"


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, a smooth ReLU (linear where beta x > threshold)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(Module):
    """x Phi(x), Phi the standard normal CDF (``approximate='tanh'``: its tanh form)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax(x) = x - log sum_j e^(x_j) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


# ------------------------------------------------------------------------ more activations


class Hardtanh(Module):
    """clip(x, min_val, max_val); gradient 1 strictly between the bounds, else 0."""

    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> None:
        super().__init__()
        for old, value in (("min_value", min_value), ("max_value", max_value)):
            if value is not None:  # torch's deprecated spellings
                warnings.warn(
                    f"keyword argument `{old}` is deprecated and renamed to `{old[:3]}_val`",
                    FutureWarning,
                    stacklevel=2,
                )
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        if max_val <= min_val:  # torch asserts this
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_str(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, lead="")


class _InplaceActivation(Module):
    """An activation with only an ``inplace`` flag, calling ``F.<_fn>``."""

    _fn: str

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, lead="")


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6."""

    _fn = "hardsigmoid"


class Hardswish(_InplaceActivation):
    """x relu6(x + 3) / 6."""

    _fn = "hardswish"


class SELU(_InplaceActivation):
    """scale (x for x > 0, alpha (e^x - 1) otherwise), the self-normalising ELU."""

    _fn = "selu"


class SiLU(_InplaceActivation):
    """x sigmoid(x)."""

    _fn = "silu"


class Mish(_InplaceActivation):
    """x tanh(softplus(x))."""

    _fn = "mish"


class CELU(Module):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class _Elementwise(Module):
    """A parameter-free activation calling ``F.<_fn>(input)``."""

    _fn: str

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input)


class Softsign(_Elementwise):
    """x / (1 + |x|)."""

    _fn = "softsign"


class Tanhshrink(_Elementwise):
    """x - tanh(x)."""

    _fn = "tanhshrink"


class LogSigmoid(_Elementwise):
    """log sigmoid(x), computed stably."""

    _fn = "logsigmoid"


class Softmin(Module):
    """softmax(-x) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GLU(Module):
    """a sigmoid(b), with a and b the halves of the input along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Threshold(Module):
    """x where x > threshold, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class Softshrink(Module):
    """x - lambd sign(x) where |x| > lambd, else 0."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    """x where |x| > lambd, else 0."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)


class _ParameterCount(int):
    """PReLU's ``num_parameters``: PyTorch's int attribute that can still be called as
    axon's ``Module.num_parameters(trainable_only=False)`` (the two names clash here)."""

    def __new__(cls, value: int, module: Module):
        count = super().__new__(cls, value)
        count.module = module
        return count

    def __call__(self, trainable_only: bool = False) -> int:
        return Module.num_parameters(self.module, trainable_only)


class PReLU(Module):
    """x for x > 0, w x otherwise, with a learnable slope w (``weight``): one shared, or
    one per channel (dim 1) with ``num_parameters = C``; each starts at ``init``."""

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None
    ) -> None:
        super().__init__()
        self._num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(
            xp.full((num_parameters,), init, dtype=factory_dtype(device, dtype))
        )
        place(self, device)

    @property
    def num_parameters(self) -> _ParameterCount:
        return _ParameterCount(self._num_parameters, self)

    def reset_parameters(self) -> None:
        self.weight.array[...] = self.init

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: in training, each x <= 0 gets a slope drawn from
    U(lower, upper); in evaluation, the mean slope (lower + upper) / 2."""

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False
    ) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_str(self.inplace)}"


class Softmax2d(Module):
    """Softmax over the channels (dim -3) at every spatial position of (N, C, H, W) or
    (C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(
                f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                f"instead (input of shape {tuple(input.shape)})"
            )
        return F.softmax(input, -3, _stacklevel=5)
