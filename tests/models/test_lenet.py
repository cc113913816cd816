"""LeNet-5: layout and outputs against torch, both variants, and one training step."""

import numpy as np
import pytest
import torch

import axon
from axon import nn, optim
from axon.models import LeNet5, lenet5

from . import torch_reference as ref
from .parity import assert_same_layout, assert_same_output, assert_same_repr, n_params


def test_parameter_count_and_default_variant():
    model = lenet5()
    assert n_params(model) == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    kinds = [type(m).__name__ for m in model.features]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d"]


def test_classic_variant():
    model = lenet5(activation="tanh", pooling="avg")
    kinds = [type(m).__name__ for m in model.features]
    assert kinds == ["Conv2d", "Tanh", "AvgPool2d", "Conv2d", "Tanh", "AvgPool2d"]
    assert isinstance(model.classifier[1], nn.Tanh)


@pytest.mark.parametrize(
    ("activation", "pooling", "t_act", "t_pool"),
    [
        ("relu", "max", torch.nn.ReLU, torch.nn.MaxPool2d),
        ("tanh", "avg", torch.nn.Tanh, torch.nn.AvgPool2d),
    ],
)
def test_matches_torch(activation, pooling, t_act, t_pool):
    twin = ref.LeNet5(activation=t_act, pool=t_pool)
    model = lenet5(activation=activation, pooling=pooling)
    assert_same_layout(model, twin)
    assert_same_repr(model, twin)
    assert_same_output(model, twin, (3, 1, 28, 28), rtol=1e-5, atol=1e-5)


def test_shapes_per_layer_as_documented():
    s = axon.summary(lenet5(), input_shape=(1, 1, 28, 28), print_fn=None)
    got = {r.name: r.output_shape for r in s.rows}
    assert got["features.0"] == (1, 6, 28, 28)
    assert got["features.2"] == (1, 6, 14, 14)
    assert got["features.3"] == (1, 16, 10, 10)
    assert got["features.5"] == (1, 16, 5, 5)
    assert got["classifier.0"] == (1, 120)
    assert got["classifier.2"] == (1, 84)
    assert got["classifier.4"] == (1, 10)
    assert s.total_params == 61_706


def test_other_channels_and_classes():
    model = LeNet5(num_classes=3, in_channels=3)
    out = model(axon.randn(2, 3, 28, 28))
    assert out.shape == (2, 3)


def test_bad_pooling():
    with pytest.raises(ValueError, match="pooling"):
        lenet5(pooling="median")


@pytest.mark.parametrize("variant", [{}, {"activation": "tanh", "pooling": "avg"}])
def test_one_training_step_lowers_the_loss(variant):
    model = lenet5(**variant)
    rng = np.random.default_rng(0)
    x = axon.tensor(rng.standard_normal((16, 1, 28, 28)).astype(np.float32))
    y = axon.tensor(rng.integers(0, 10, 16))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.05)
    loss = loss_fn(model(x), y)
    opt.zero_grad()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.step()
    after = loss_fn(model(x), y)
    assert float(after.item()) < float(loss.item())
