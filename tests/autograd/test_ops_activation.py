"""Activations and (log-)softmax vs torch: values, gradients, kinks at 0, large inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import axon as ax
from tests.autograd.parity import helper_test_op

# name -> (torch function, axon function)
ACTIVATIONS = {
    "sigmoid": (torch.sigmoid, lambda x: x.sigmoid()),
    "tanh": (torch.tanh, lambda x: x.tanh()),
    "relu": (torch.relu, lambda x: x.relu()),
    "leaky_relu": (lambda x: F.leaky_relu(x), lambda x: x.leaky_relu()),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: x.leaky_relu(0.2)),
    "elu": (F.elu, lambda x: x.elu()),
    "elu_alpha": (lambda x: F.elu(x, alpha=1.5), lambda x: x.elu(1.5)),
    "softplus": (F.softplus, lambda x: x.softplus()),
    # beta 2, threshold 1: inputs above 0.5 take the linear branch
    "softplus_beta_threshold": (
        lambda x: F.softplus(x, beta=2.0, threshold=1.0),
        lambda x: x.softplus(beta=2.0, threshold=1.0),
    ),
    "gelu": (F.gelu, lambda x: x.gelu()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: x.gelu("tanh")),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(name, dtype):
    t_fn, a_fn = ACTIVATIONS[name]
    helper_test_op([(4, 5)], t_fn, a_fn, dtype=dtype, low=-3, high=3)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_at_kinks_and_large_inputs(name):
    # 0 is the kink of relu / leaky_relu / elu; +-50 checks overflow-free forms
    x = [[-50.0, -3.0, -1e-3, 0.0, 1e-3, 0.5, 3.0, 50.0]]
    t_fn, a_fn = ACTIVATIONS[name]
    for dtype in (np.float64, np.float32):
        helper_test_op(None, t_fn, a_fn, arrays=x, dtype=dtype)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_non_contiguous(name):
    t_fn, a_fn = ACTIVATIONS[name]
    helper_test_op([(3, 4)], t_fn, a_fn, layout="transposed")


def test_functional_forms():
    helper_test_op([(3, 4)], torch.sigmoid, ax.sigmoid)
    helper_test_op([(3, 4)], torch.tanh, ax.tanh)
    helper_test_op([(3, 4)], torch.relu, ax.relu)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        ax.tensor([1.0]).gelu("fast")


# ------------------------------------------------------------------ softmax


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, dim, dtype):
    helper_test_op([(3, 4, 5)], lambda x: getattr(x, name)(dim), dtype=dtype, low=-4, high=4)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_non_contiguous_and_functional(name):
    helper_test_op([(4, 5)], lambda x: getattr(x, name)(0), layout="transposed")
    helper_test_op(
        [(4, 5)], lambda x: getattr(torch, name)(x, -1), lambda x: getattr(ax, name)(x, -1)
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_is_stable_for_huge_inputs(name, dtype):
    x = [[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1001.0]]
    helper_test_op(None, lambda x: getattr(x, name)(-1), arrays=[x], dtype=dtype)
    out = getattr(ax.tensor(x, dtype=dtype), name)(-1)
    assert np.isfinite(out.array).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_with_masked_minus_inf_entries(dtype):
    # attention masks: -inf logits get probability 0 and gradient 0
    x = [[0.5, -np.inf, 1.0, -np.inf], [-np.inf, 2.0, -1.0, 0.0]]
    helper_test_op(None, lambda x: x.softmax(-1), arrays=[x], dtype=dtype)
    helper_test_op(None, lambda x: x.logsumexp(-1), arrays=[x], dtype=dtype)
    helper_test_op(None, lambda x: x.log_softmax(-1).clamp(min=-1e4), arrays=[x], dtype=dtype)
