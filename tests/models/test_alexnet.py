"""AlexNet against the torchvision-style torch twin: keys, shapes, count, outputs."""

import pytest
import torch

from axon import nn
from axon.models import alexnet

from . import torch_reference as ref
from .parity import assert_same_layout, assert_same_output, assert_same_repr, n_params


@pytest.fixture(scope="module")
def pair():
    """The axon model without its weights drawn (the twin's are loaded into it before any
    output is compared: drawing 61M took 1.5-3 s) and its twin."""
    torch.manual_seed(0)
    with nn.init._deferred(lambda module, tensor: True):
        model = alexnet()
    return model, ref.AlexNet()


def test_state_dict_layout_and_repr(pair):
    assert_same_layout(*pair)
    assert_same_repr(*pair)


def test_parameter_count(pair):
    model, twin = pair
    assert n_params(model) == n_params(twin) == 61_100_840


def test_outputs_match_on_64x64(pair):
    assert_same_output(*pair, (1, 3, 64, 64))


def test_structure():
    with nn.init._deferred(lambda module, tensor: True):  # no weights drawn: 61M took 1.5 s
        model = alexnet(num_classes=10, dropout=0.3)
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d)
    drops = [m for m in model.classifier if isinstance(m, nn.Dropout)]
    assert [d.p for d in drops] == [0.3, 0.3]
    assert model.classifier[6].out_features == 10


@pytest.mark.slow
def test_outputs_match_on_224x224(pair):
    assert_same_output(*pair, (2, 3, 224, 224))
