"""``Linear`` (the fully connected layer), ``Bilinear``, ``Identity``, ``Flatten`` and
``Unflatten``."""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd import ops
from ..autograd.tensor import Tensor
from . import functional as F
from . import init
from ._factory import factory_dtype, place
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch.

    Weights and bias start uniform in [-1/sqrt(in_features), 1/sqrt(in_features)]
    (PyTorch's default: Kaiming-uniform with a = sqrt(5)).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        dt = factory_dtype(device, dtype)
        self.weight = Parameter(B.xp.empty((out_features, in_features), dtype=dt))
        self.bias = Parameter(B.xp.empty((out_features,), dtype=dt)) if bias else None
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: Kaiming-uniform with a = sqrt(5), i.e. weight and bias
        uniform in [-1/sqrt(in_features), 1/sqrt(in_features)]; a parameter a builder
        draws itself (``init._deferred``) is skipped here."""
        if not init._defers(self, self.weight):
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None and not init._defers(self, self.bias):
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return ops.Linear.apply(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1^T A x2 + b: one bilinear form per output feature, for inputs (*, in1) and
    (*, in2), with weight A (out_features, in1_features, in2_features) and bias b
    (out_features), both uniform in [-1/sqrt(in1_features), 1/sqrt(in1_features)] as in
    PyTorch."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        dt = factory_dtype(device, dtype)
        shape = (out_features, in1_features, in2_features)
        self.weight = Parameter(B.xp.empty(shape, dtype=dt))
        self.bias = Parameter(B.xp.empty((out_features,), dtype=dt)) if bias else None
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.shape[1])
        if not init._defers(self, self.weight):
            init.uniform_(self.weight, -bound, bound)
        if self.bias is not None and not init._defers(self, self.bias):
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Flattens dimensions ``start_dim`` to ``end_dim`` (by default all but the batch)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``."""

    def __init__(self, dim: int, unflattened_size: tuple) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
