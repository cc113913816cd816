"""The weight-elimination penalty: value against NumPy and torch, gradient against float64
central differences and the closed form, limits, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from axon.autograd import gradcheck
from axon.nn.regularizers import weight_elimination
from tests.helpers import assert_close

SHAPES = [(5, 4), (4,), (2, 3, 2)]


def _weights(dtype=np.float64, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, scale, s).astype(dtype) for s in SHAPES]


def _closed_form_value(ws, lam, beta):
    return lam * sum(float((w * w / (beta**2 + w * w)).sum()) for w in ws)


@pytest.mark.parametrize("lam,beta", [(1e-2, 0.5), (1.0, 1.0), (3.0, 0.1)])
def test_value_and_gradient_match_the_closed_form_and_torch(lam, beta):
    ws = _weights()
    params = [ax.tensor(w, requires_grad=True) for w in ws]
    penalty = weight_elimination(params, lam, beta)
    assert penalty.shape == () and penalty.dtype == np.float64
    assert_close(penalty, _closed_form_value(ws, lam, beta), rtol=1e-12, atol=0)
    penalty.backward()

    twins = [torch.tensor(w, requires_grad=True) for w in ws]
    expected = lam * sum((t * t / (beta**2 + t * t)).sum() for t in twins)
    expected.backward()
    assert_close(penalty, expected, rtol=1e-12, atol=0)
    for p, t, w in zip(params, twins, ws, strict=True):
        closed = 2 * w * beta**2 / (beta**2 + w * w) ** 2 * lam
        assert_close(p.grad, closed, rtol=1e-12, atol=1e-15)
        assert_close(p.grad, t.grad, rtol=1e-12, atol=1e-15)


def test_gradcheck_in_float64_through_a_surrounding_graph():
    ws = _weights(seed=1)
    params = [ax.tensor(w, requires_grad=True) for w in ws]
    # scaled by 3 and squared: the upstream gradient is not 1
    assert gradcheck(lambda a, b, c: (weight_elimination([a, b, c], 0.3, 0.7) * 3.0) ** 2, params)


def test_limits_small_weights_cost_like_l2_large_weights_cost_lam_each():
    lam, beta = 0.5, 2.0
    small = ax.tensor(np.full(10, 1e-3), requires_grad=True)
    value = weight_elimination(small, lam, beta).item()
    l2 = lam / beta**2 * 10 * 1e-6
    assert value == pytest.approx(l2, rel=1e-5)
    big = ax.tensor(np.full(10, 1e4), requires_grad=True)
    penalty = weight_elimination(big, lam, beta)
    assert penalty.item() == pytest.approx(10 * lam, rel=1e-7)
    penalty.backward()
    assert 0 < big.grad.numpy().max() < 1e-11  # large weights are left alone
    # the gradient is largest at |w| = beta / sqrt(3)
    w = ax.tensor(np.linspace(0.01, 3 * beta, 3001), requires_grad=True)
    weight_elimination(w, lam, beta).backward()
    peak = w.detach().numpy()[w.grad.numpy().argmax()]
    assert peak == pytest.approx(beta / np.sqrt(3), abs=2e-3)


def test_float32_weights_get_float32_gradients_and_frozen_ones_none():
    w32 = ax.tensor(_weights(np.float32)[0], requires_grad=True)
    frozen = ax.tensor(_weights(np.float32)[1])
    penalty = weight_elimination(iter([w32, frozen]), 1e-2, 0.5)  # any iterable
    assert penalty.dtype == np.float32
    penalty.backward()
    assert w32.grad.dtype == np.float32 and frozen.grad is None
    w = w32.detach().numpy().astype(np.float64)
    assert_close(w32.grad, 2e-2 * w * 0.25 / (0.25 + w * w) ** 2, rtol=1e-5, atol=1e-8)
    with ax.no_grad():
        assert not weight_elimination([w32], 1e-2, 0.5).requires_grad


def test_model_parameters_train_towards_zero_below_beta_and_stay_above():
    w = ax.tensor(np.array([0.05, -0.1, 5.0, -8.0]), requires_grad=True)
    opt = ax.optim.SGD([w], lr=0.5)
    for _ in range(200):
        opt.zero_grad()
        weight_elimination([w], 0.1, 1.0).backward()
        opt.step()
    small, large = np.abs(w.detach().numpy()[:2]), np.abs(w.detach().numpy()[2:])
    assert (small < 1e-3).all()  # eliminated
    assert (large > 0.95 * np.array([5.0, 8.0])).all()  # barely touched


@pytest.mark.parametrize(
    "args,error,match",
    [
        (([], 1.0, 1.0), ValueError, "empty"),
        (([np.ones(3)], 1.0, 1.0), TypeError, r"params\[0\] is a ndarray"),
        (([ax.tensor([1, 2])], 1.0, 1.0), TypeError, "floating-point"),
        (([ax.ones(3)], -1.0, 1.0), ValueError, "lam must be >= 0"),
        (([ax.ones(3)], 1.0, 0.0), ValueError, "beta must be > 0"),
        (([ax.ones(3)], float("nan"), 1.0), ValueError, "lam must be >= 0"),
    ],
)
def test_bad_input_raises_a_clear_error(args, error, match):
    with pytest.raises(error, match=match):
        weight_elimination(*args)
