"""Layers that join several tensors (Keras' merging layers), and ``Lambda``.

They are what a functional graph (:mod:`axon.nn.functional_api`) uses where branches
meet, and work on real tensors as well. Each takes its tensors as separate arguments or
as one list: ``Add()(a, b)`` or ``Add()([a, b])``.

- ``Concatenate(dim=-1)``: the tensors joined along ``dim`` (every other size equal).
- ``Add``, ``Multiply``: the elementwise sum / product of two or more tensors;
  ``Subtract``: ``a - b``. Shapes must broadcast together (NumPy's rules).
- ``Lambda(fn)``: ``fn(*inputs)`` as a layer without weights (``|a - b|`` in a siamese
  model).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

from .. import backend as B
from ..autograd.creation import cat
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["Add", "Concatenate", "Lambda", "Multiply", "Subtract"]


def _tensors(layer: Module, tensors: tuple, least: int, most: int | None = None) -> list[Tensor]:
    """The inputs given separately or as one list, counted."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    name = type(layer).__name__
    if len(tensors) < least or (most is not None and len(tensors) > most):
        want = f"exactly {least}" if most == least else f"at least {least}"
        raise ValueError(f"{name} takes {want} tensors, got {len(tensors)}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: input {i} is a {type(t).__name__}, not a Tensor")
    return list(tensors)


def _broadcast(layer: Module, tensors: list[Tensor]) -> None:
    try:
        B.xp.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        raise ValueError(
            f"{type(layer).__name__}: the input shapes {shapes} do not broadcast together"
        ) from None


class Concatenate(Module):
    """The inputs joined along ``dim`` (default the last): sizes (N, 3) and (N, 4) give
    (N, 7). Every other dimension must be equal."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *tensors) -> Tensor:
        ts = _tensors(self, tensors, 2)
        ndim = ts[0].ndim
        if not -ndim <= self.dim < ndim or any(t.ndim != ndim for t in ts):
            raise ValueError(
                f"Concatenate(dim={self.dim}): inputs of shapes "
                f"{[tuple(t.shape) for t in ts]} (all need {ndim} dims)"
            )
        d = self.dim % ndim
        others = {tuple(t.shape[:d] + t.shape[d + 1 :]) for t in ts}
        if len(others) > 1:
            raise ValueError(
                f"Concatenate(dim={self.dim}): inputs of shapes "
                f"{[tuple(t.shape) for t in ts]} differ outside dim {self.dim}"
            )
        return cat(ts, dim=d)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Add(Module):
    """The elementwise sum of two or more inputs."""

    def forward(self, *tensors) -> Tensor:
        ts = _tensors(self, tensors, 2)
        _broadcast(self, ts)
        return reduce(lambda a, b: a + b, ts)


class Subtract(Module):
    """``a - b`` for exactly two inputs."""

    def forward(self, *tensors) -> Tensor:
        a, b = _tensors(self, tensors, 2, 2)
        _broadcast(self, [a, b])
        return a - b


class Multiply(Module):
    """The elementwise product of two or more inputs."""

    def forward(self, *tensors) -> Tensor:
        ts = _tensors(self, tensors, 2)
        _broadcast(self, ts)
        return reduce(lambda a, b: a * b, ts)


class Lambda(Module):
    """``fn(*inputs, **kwargs)`` as a layer; it has no weights, and its state dict is
    empty (the function itself is not saved)."""

    def __init__(self, fn: Callable) -> None:
        super().__init__()
        if not callable(fn):
            raise TypeError(f"Lambda needs a function, got {type(fn).__name__}")
        self.fn = fn

    def forward(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def extra_repr(self) -> str:
        return getattr(self.fn, "__name__", type(self.fn).__name__)
