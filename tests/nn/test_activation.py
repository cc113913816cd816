"""Activation and dropout modules: same outputs, gradients and reprs as PyTorch's."""

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from tests.autograd.parity import helper_test_op

# (axon module, torch module): same arguments
MODULES = [
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.ELU(), torch.nn.ELU()),
    (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
    (nn.Softplus(), torch.nn.Softplus()),
    (nn.Softplus(beta=2.0, threshold=1.0), torch.nn.Softplus(beta=2.0, threshold=1.0)),
    (nn.GELU(), torch.nn.GELU()),
    (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0)),
]
IDS = [repr(t) for _, t in MODULES]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("a_mod,t_mod", MODULES, ids=IDS)
def test_activation_module_matches_torch(a_mod, t_mod, dtype):
    helper_test_op([(3, 4, 2)], t_mod, a_mod, dtype=dtype, low=-3, high=3)


@pytest.mark.parametrize("a_mod,t_mod", MODULES, ids=IDS)
def test_activation_repr_matches_torch(a_mod, t_mod):
    assert repr(a_mod) == repr(t_mod)


def test_inplace_reprs_match_torch():
    pairs = [
        (nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
        (nn.LeakyReLU(0.1, inplace=True), torch.nn.LeakyReLU(0.1, inplace=True)),
        (nn.ELU(inplace=True), torch.nn.ELU(inplace=True)),
        (nn.Dropout(), torch.nn.Dropout()),
        (nn.Dropout(0.25, inplace=True), torch.nn.Dropout(0.25, inplace=True)),
        (nn.Softmax(), torch.nn.Softmax()),
    ]
    for a, t in pairs:
        assert repr(a) == repr(t)


def test_inplace_relu_module_modifies_its_input():
    x = ax.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x
    assert x.tolist() == [0.0, 2.0]


def test_activations_have_no_parameters():
    for a_mod, _ in MODULES:
        assert list(a_mod.parameters()) == []
        assert a_mod.state_dict() == {}


# ------------------------------------------------------------------ Dropout


def test_dropout_module_trains_and_evaluates():
    drop = nn.Dropout(0.4)
    x = ax.ones(100, 100, requires_grad=True)
    out = drop(x)
    kept = out.array != 0
    assert abs(kept.mean() - 0.6) < 0.02
    np.testing.assert_allclose(out.array[kept], 1 / 0.6, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.array, out.array)  # the gradient is the scaled mask
    drop.eval()
    assert drop(x) is x
    drop.train()
    assert (drop(x).array == 0).any()


def test_dropout_inside_a_model_follows_train_and_eval():
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.ReLU())
    x = ax.randn(4, 8)
    model.eval()
    a, b = model(x).array, model(x).array
    np.testing.assert_array_equal(a, b)
    model.train()
    ax.manual_seed(1)
    c = model(x).array
    ax.manual_seed(1)
    np.testing.assert_array_equal(model(x).array, c)  # reproducible with the seed
    assert not np.array_equal(c, a)


@pytest.mark.parametrize("p", [-0.5, 1.01])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
