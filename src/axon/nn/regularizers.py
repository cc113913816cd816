"""Penalties on the weights, added to the loss: the course's weight elimination.

Weight elimination (Weigend, Rumelhart and Huberman, 1991) adds

    R(w) = lam * sum_i w_i^2 / (beta^2 + w_i^2)

to the loss. A weight much smaller than ``beta`` costs about ``lam w^2 / beta^2``, an L2
penalty that pulls it to zero; a weight much larger than ``beta`` costs about ``lam``
whatever its size, so it is left alone. The penalty therefore counts the weights that
matter rather than their size, and drives the rest towards zero (eliminates them). Its
gradient is

    dR/dw = lam * 2 w beta^2 / (beta^2 + w^2)^2,

largest at ``|w| = beta / sqrt(3)`` and vanishing for large weights.

Use it inside the loss: ``loss = ce(model(x), y) + weight_elimination(weights, 1e-4, 0.5)``.
The op, with that gradient as its backward, is ``axon.autograd.ops.loss.WeightElimination``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..autograd.ops.loss import WeightElimination
from ..autograd.tensor import Tensor

__all__ = ["weight_elimination"]


def weight_elimination(params: Tensor | Iterable[Tensor], lam: float, beta: float) -> Tensor:
    """The weight-elimination penalty ``lam * sum_i w_i^2 / (beta^2 + w_i^2)`` over every
    element of every tensor in ``params``, as a 0-d Tensor (in the parameters' dtype)
    that back-propagates ``lam * 2 w beta^2 / (beta^2 + w^2)^2`` to each weight.

    Args:
        params: a Tensor or an iterable of Tensors (e.g. the weight matrices of a model;
            biases are usually left out).
        lam: the strength ``lam >= 0``.
        beta: the scale ``beta > 0`` that separates small weights (penalised like L2
            with ``lam / beta^2``) from large ones (each costing about ``lam``).
    """
    tensors = [params] if isinstance(params, Tensor) else list(params)
    if not tensors:
        raise ValueError("weight_elimination: params is empty; give at least one Tensor")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"weight_elimination: params[{i}] is a {type(t).__name__}, not a Tensor"
            )
        if t.dtype.kind != "f":
            raise TypeError(
                f"weight_elimination: params[{i}] has dtype {t.dtype}; the "
                "penalty needs floating-point weights"
            )
    lam, beta = float(lam), float(beta)
    if not lam >= 0:
        raise ValueError(f"weight_elimination: lam must be >= 0, got {lam}")
    if not beta > 0:
        raise ValueError(f"weight_elimination: beta must be > 0, got {beta}")
    return WeightElimination.apply(lam, beta, *tensors)
