"""``mlp``: the course's network, layer layout, options and parity with torch."""

import pytest
import torch

from axon import nn
from axon.models import make_activation, mlp

from . import torch_reference as ref
from .parity import assert_same_layout, assert_same_output, n_params


def test_course_network_has_13002_parameters():
    model = mlp([784, 16, 16, 10], activation="sigmoid")
    assert n_params(model) == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10 == 13_002
    assert [type(m).__name__ for m in model] == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]


def test_matches_torch_sequential():
    twin = ref.mlp([784, 16, 16, 10], activation=torch.nn.Sigmoid)
    model = mlp([784, 16, 16, 10], activation="sigmoid")
    assert_same_layout(model, twin)
    assert_same_output(model, twin, (5, 784))


def test_activation_by_class_gives_separate_instances():
    model = mlp([4, 8, 8, 2], activation=nn.Tanh)
    acts = [m for m in model if isinstance(m, nn.Tanh)]
    assert len(acts) == 2 and acts[0] is not acts[1]


def test_dropout_batch_norm_and_output_activation():
    model = mlp(
        [4, 8, 3], activation="relu", output_activation="softmax", dropout=0.25, batch_norm=True
    )
    assert [type(m).__name__ for m in model] == [
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Dropout",
        "Linear",
        "Softmax",
    ]
    assert model[3].p == 0.25 and model[5].dim == 1
    assert list(model.state_dict()) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
        "4.weight",
        "4.bias",
    ]


def test_single_layer_is_one_linear():
    model = mlp([3, 2])
    assert len(model) == 1 and isinstance(model[0], nn.Linear)


@pytest.mark.parametrize("bad", [[5], []])
def test_too_few_sizes(bad):
    with pytest.raises(ValueError, match="at least"):
        mlp(bad)


def test_bad_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        mlp([2, 2, 2], activation="swishy")
    with pytest.raises(TypeError, match="not an instance"):
        make_activation(nn.ReLU())
    with pytest.raises(ValueError, match="dropout"):
        mlp([2, 2, 2], dropout=1.0)
