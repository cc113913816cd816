"""VGG against the torchvision-style torch twin: keys, shapes, counts, outputs, init.

Building a VGG means drawing ~130M random weights (about 4 s of CPU for an initialised
VGG-16), so the layout, count and output checks build the axon model without drawing its
weights (``undrawn``) and the torch twin on the meta device (no memory, no time); outputs are
compared for VGG-16-BN by default (every layer type VGG has), the initialisation checked on
VGG-11-BN. Those and the layouts of VGG-11 and VGG-11-BN cover both configurations' layers
with and without batch norm; the other variants' layouts and outputs (2.5-6 s each) run
with --runslow.
"""

import math

import numpy as np
import pytest
import torch

from axon import nn
from axon.models import (
    CFGS,
    VGG,
    make_layers,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

from . import torch_reference as ref
from .parity import assert_same_layout, assert_same_output, assert_same_repr, n_params

# name: (axon constructor, torch twin, parameter count)
MODELS = {
    "vgg11": (vgg11, lambda **kw: ref.vgg("A", **kw), 132_863_336),
    "vgg16": (vgg16, lambda **kw: ref.vgg("D", **kw), 138_357_544),
    "vgg11_bn": (vgg11_bn, lambda **kw: ref.vgg("A", batch_norm=True, **kw), 132_868_840),
    "vgg16_bn": (vgg16_bn, lambda **kw: ref.vgg("D", batch_norm=True, **kw), 138_365_992),
    "vgg13": (vgg13, lambda **kw: ref.vgg("B", **kw), 133_047_848),
    "vgg13_bn": (vgg13_bn, lambda **kw: ref.vgg("B", batch_norm=True, **kw), 133_053_736),
    "vgg19": (vgg19, lambda **kw: ref.vgg("E", **kw), 143_667_240),
    "vgg19_bn": (vgg19_bn, lambda **kw: ref.vgg("E", batch_norm=True, **kw), 143_678_248),
}
SLOW = pytest.mark.slow


def undrawn(make, **kw):
    """``make(**kw)`` with no weight drawn (their values left as allocated): with
    ``init_weights`` the layers leave their draws to ``_initialize_weights``, a no-op
    here. For a model whose weights are never looked at or are about to be loaded;
    drawing VGG's 130M took 1.5-4 s."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(VGG, "_initialize_weights", lambda self: None)
        return make(init_weights=True, **kw)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("vgg16", marks=SLOW),  # config D and no batch norm: vgg16_bn and vgg11
        "vgg11",
        "vgg11_bn",
        pytest.param("vgg13", marks=SLOW),
        pytest.param("vgg13_bn", marks=SLOW),
        pytest.param("vgg19", marks=SLOW),
        pytest.param("vgg19_bn", marks=SLOW),
    ],
)
def test_state_dict_layout_and_parameter_count(name):
    make, make_twin, count = MODELS[name]
    with torch.device("meta"):
        twin = make_twin()
    model = undrawn(make)
    assert_same_layout(model, twin)
    assert_same_repr(model, twin)
    assert n_params(model) == n_params(twin) == count


@pytest.fixture(
    scope="module",
    params=[
        "vgg16_bn",
        pytest.param("vgg11", marks=SLOW),
        pytest.param("vgg16", marks=SLOW),
        pytest.param("vgg11_bn", marks=SLOW),
    ],
)
def pair(request):
    """The axon model (its weights are about to be replaced), a twin with torchvision's
    initialisation and random batch-norm statistics, and the parameter count."""
    make, make_twin, count = MODELS[request.param]
    torch.manual_seed(0)
    kw = {"dropout": 0.3} if request.param == "vgg11" else {}  # the repr shows p=0.3
    with torch.device("meta"):  # torchvision draws every weight twice: here once
        twin = make_twin(init_weights=False, **kw)
    twin = twin.to_empty(device="cpu")
    for m in twin.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
    twin._initialize_weights()
    return (undrawn(make, **kw), ref.randomize_batchnorm(twin), count)


def test_state_dict_layout_and_parameter_count_of_built_pair(pair):
    model, twin, count = pair
    assert_same_layout(model, twin)
    assert_same_repr(model, twin)
    assert n_params(model) == n_params(twin) == count


def test_outputs_match_on_64x64(pair):
    """64x64 leaves 2x2 after the five pools; the adaptive pool spreads it over 7x7."""
    model, twin, _ = pair
    assert_same_output(model, twin, (1, 3, 64, 64))


def spread(a: np.ndarray) -> float:
    """The standard deviation of all of ``a``, from its sum and its sum of squares (dot
    products of blocks of 2^20 with themselves, added in float64): ``np.std`` makes
    temporaries the size of ``a`` (400 MB for the first Linear), which took seconds."""
    x = a.reshape(-1)
    mean = float(x.sum(dtype=np.float64)) / x.size
    squares = math.fsum(float(np.dot(b, b)) for b in np.split(x, range(2**20, x.size, 2**20)))
    return math.sqrt(squares / x.size - mean * mean)


def test_initialisation():
    """torchvision's scheme: conv Kaiming-normal (fan_out, ReLU), BN 1/0, Linear N(0, 0.01).

    VGG-11-BN's own ``_initialize_weights`` draws its layers, with the three Linear layers
    of the classifier made smaller first (their 120M draws took 3-4 s; the rule for a
    Linear does not depend on its size)."""
    model = undrawn(vgg11_bn)
    for i, layer in enumerate(model.classifier):
        if isinstance(layer, nn.Linear):
            model.classifier[i] = nn.Linear(min(layer.in_features, 300), layer.out_features)
    model._initialize_weights()
    seen = set()
    for m in model.modules():
        seen.add(type(m).__name__)
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * 9
            assert abs(spread(m.weight.array) / np.sqrt(2 / fan_out) - 1) < 0.1
            assert not m.bias.array.any()
        elif isinstance(m, nn.BatchNorm2d):
            assert (m.weight.array == 1).all() and not m.bias.array.any()
        elif isinstance(m, nn.Linear):
            assert abs(spread(m.weight.array) / 0.01 - 1) < 0.1
            assert not m.bias.array.any()
    assert {"Conv2d", "BatchNorm2d", "Linear"} <= seen


def test_make_layers():
    plain, bn = make_layers(CFGS["A"]), make_layers(CFGS["A"], batch_norm=True)
    assert sum(isinstance(m, nn.Conv2d) for m in plain) == 8
    assert sum(isinstance(m, nn.MaxPool2d) for m in plain) == 5
    assert sum(isinstance(m, nn.BatchNorm2d) for m in plain) == 0
    assert [type(m).__name__ for m in bn][:4] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert len(bn) == 8 * 3 + 5
