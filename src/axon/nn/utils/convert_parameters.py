"""Flatten parameters into one vector and back (for line searches, second-order methods)."""

from __future__ import annotations

from collections.abc import Iterable

from ...autograd import Tensor
from ...autograd.creation import cat


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D Tensor (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Set the parameters' data from consecutive slices of the 1-D Tensor ``vec``.

    As in PyTorch, each parameter's array becomes a view of ``vec``'s memory.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected axon.Tensor, but got: {type(vec).__name__}")
    parameters = list(parameters)
    total = sum(p.array.size for p in parameters)
    if vec.array.ndim != 1 or vec.array.size != total:
        raise ValueError(
            f"vec must be a 1-D Tensor with {total} elements (the parameters' total), "
            f"but has shape {vec.array.shape}"
        )
    start = 0
    for p in parameters:
        n = p.array.size
        piece = vec.array[start : start + n].reshape(p.array.shape)
        p.array = piece.astype(p.array.dtype, copy=False)
        start += n
