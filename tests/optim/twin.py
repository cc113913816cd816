"""The same tiny MLP built twice, in axon and in torch, from one set of NumPy weights.

``x -> tanh(x W1^T + b1) W2^T + b2``, trained with a mean squared error, so optimizer tests
can step both frameworks side by side and compare the weights.
"""

from __future__ import annotations

import numpy as np
import torch

import axon as ax

SHAPES = [(6, 4), (6,), (3, 6), (3,)]  # W1, b1, W2, b2


def initial_weights(dtype=np.float64, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, s).astype(dtype) for s in SHAPES]


def batch(dtype=np.float64, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(8, 4)).astype(dtype), rng.normal(size=(8, 3)).astype(dtype)


def axon_params(weights: list[np.ndarray]) -> list[ax.Tensor]:
    return [ax.tensor(w.copy(), requires_grad=True) for w in weights]


def torch_params(weights: list[np.ndarray]) -> list[torch.Tensor]:
    return [torch.tensor(w.copy(), requires_grad=True) for w in weights]


def axon_loss(params, x: np.ndarray, y: np.ndarray) -> ax.Tensor:
    w1, b1, w2, b2 = params
    h = (ax.tensor(x) @ w1.T + b1).tanh()
    return ((h @ w2.T + b2 - ax.tensor(y)) ** 2).mean()


def torch_loss(params, x: np.ndarray, y: np.ndarray) -> torch.Tensor:
    w1, b1, w2, b2 = params
    h = torch.tanh(torch.from_numpy(x) @ w1.T + b1)
    return ((h @ w2.T + b2 - torch.from_numpy(y)) ** 2).mean()


def train(opt, params, loss_fn, x, y, steps: int) -> None:
    """``steps`` rounds of zero_grad, loss, backward, step (batch varied each round).

    An optimizer with ``maximize=True`` is given the negated loss, so it still fits the
    data (ascending the plain loss would blow the weights up chaotically).
    """
    sign = -1.0 if opt.param_groups[0].get("maximize") else 1.0
    for t in range(steps):
        opt.zero_grad()
        scale = 1.0 + 0.1 * t  # a different batch each step, same in both frameworks
        (loss_fn(params, x * scale, y) * sign).backward()
        opt.step()
