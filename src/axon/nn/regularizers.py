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
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..autograd.function import Op
from ..autograd.tensor import Tensor
from ..backend import xp

__all__ = ["weight_elimination"]


class WeightElimination(Op):
    """``lam * sum over all given arrays of w^2 / (beta^2 + w^2)``: one graph node for
    every parameter, the gradient written out in closed form."""

    def forward(self, lam, beta, *ws):
        b2 = beta * beta
        dtype = np.result_type(*ws)
        total = sum(float((w * w / (w * w + b2)).sum(dtype=np.float64)) for w in ws)
        self.lam, self.b2, self.ws = lam, b2, ws
        return xp.asarray(lam * total, dtype=dtype)

    def backward(self, g):
        grads = []
        scale = 2.0 * self.lam * self.b2 * float(g)  # dR/dw = lam 2 w b^2 / (b^2 + w^2)^2
        for w, parent in zip(self.ws, self.parents[2:], strict=True):
            if parent is None:
                grads.append(None)
                continue
            d = w * w
            d += self.b2
            np.multiply(d, d, out=d)  # (b^2 + w^2)^2
            grads.append((w * scale / d).astype(w.dtype, copy=False))
        return (None, None, *grads)


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
