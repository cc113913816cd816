"""Lazy layers against PyTorch's: placeholders before the first call (same state-dict
keys, a ValueError on use), the shapes read from the first input, torch's initialisation,
the class they become, an optimizer made before the first call, and state dicts that
materialise them, both ways."""

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from tests.autograd.parity import helper_test_op
from tests.helpers import assert_close, assert_differs
from tests.nn.contract import on_input_device

# name: (constructor arguments, first input's shape)
LAZY = {
    "LazyLinear": ((3,), (2, 5)),
    "LazyConv1d": ((4, 3), (2, 3, 7)),
    "LazyConv2d": ((4, 3), (2, 3, 6, 5)),
    "LazyConvTranspose1d": ((4, 3), (2, 3, 5)),
    "LazyConvTranspose2d": ((4, 3), (2, 3, 4, 5)),
    "LazyBatchNorm1d": ((), (4, 3, 5)),
    "LazyBatchNorm2d": ((), (4, 3, 5, 4)),
    "LazyInstanceNorm1d": ((), (2, 3, 6)),
    "LazyInstanceNorm2d": ((), (2, 3, 5, 4)),
}


@pytest.mark.parametrize("name", list(LAZY))
def test_lazy_layer_becomes_torch_s_layer(name):
    args, shape = LAZY[name]
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    theirs(torch.tensor(x))
    ours(ax.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__  # e.g. LazyLinear -> Linear
    assert repr(ours) == repr(theirs)
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape), key
    # now an ordinary layer: with torch's values it computes what torch computes
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs.eval()
    ours.eval()
    assert_close(ours(ax.tensor(x)), theirs(torch.tensor(x)).detach(), 1e-5, 1e-5)


def test_initialised_like_torch():
    """LazyLinear(64) on 400 features: uniform within torch's bound 1/sqrt(400), with
    torch's spread; a lazy convolution likewise with fan_in = C k k."""
    ax.manual_seed(0)
    torch.manual_seed(0)
    for ours, theirs, x in [
        (nn.LazyLinear(64), torch.nn.LazyLinear(64), (2, 400)),
        (nn.LazyConv2d(32, 3), torch.nn.LazyConv2d(32, 3), (1, 16, 5, 5)),
    ]:
        ours(ax.zeros(x))
        theirs(torch.zeros(x))
        for a, t in [(ours.weight, theirs.weight), (ours.bias, theirs.bias)]:
            a, t = a.detach().numpy(), t.detach().numpy()
            bound = 1 / np.sqrt(np.prod(t.shape[1:]) if t.ndim > 1 else theirs.weight[0].numel())
            assert abs(a).max() <= bound and abs(t).max() <= bound
            assert abs(a.std() / t.std() - 1) < 0.15


def test_optimizer_made_before_the_first_call():
    ax.manual_seed(0)
    model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(1))
    opt = ax.optim.SGD(model.parameters(), lr=0.1)
    x, y = ax.randn(8, 3), ax.randn(8, 1)
    nn.MSELoss()(model(x), y).backward()
    before = model[0].weight.detach().numpy().copy()
    opt.step()
    assert opt.param_groups[0]["params"][0] is model[0].weight
    assert model[0].weight.shape == (4, 3)
    assert_differs(model[0].weight.detach().numpy(), before)


def test_placeholder_used_too_early():
    layer = nn.LazyLinear(3)
    assert isinstance(layer.weight, nn.UninitializedParameter)
    assert isinstance(layer.weight, nn.Parameter)
    for use, error in (
        (lambda w: w.shape, RuntimeError),
        (lambda w: w.numel(), ValueError),
        (len, ValueError),
    ):
        with pytest.raises(error, match="forward"):
            use(layer.weight)
        with pytest.raises(error):
            use(torch.nn.LazyLinear(3).weight)
    assert repr(layer.weight) == "<UninitializedParameter>"


def test_state_dict_materialises_lazy_layers_both_ways():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 2),
    )
    theirs.double()
    f64 = dict(dtype=ax.float64)
    ours = nn.Sequential(
        nn.LazyConv2d(4, 3, **f64),
        nn.LazyBatchNorm2d(**f64),
        nn.ReLU(),
        nn.Flatten(),
        nn.LazyLinear(2, **f64),
    )
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert ours[0].in_channels == 3 and ours[4].in_features == 36
    theirs.eval()
    ours.eval()
    helper_test_op([(2, 3, 5, 5)], theirs, on_input_device(ours))
    ours.cpu()
    # and back: axon's materialised weights into torch's lazy layers
    back = torch.nn.Sequential(
        torch.nn.LazyConv2d(4, 3),
        torch.nn.LazyBatchNorm2d(),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.LazyLinear(2),
    )
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    back.eval()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    assert_close(back.double()(x).detach(), theirs(x).detach(), 1e-12, 1e-12)


def test_lazy_float64_and_batch_norm_statistics():
    ours = nn.LazyBatchNorm1d(momentum=0.3, dtype=ax.float64)
    theirs = torch.nn.LazyBatchNorm1d(momentum=0.3, dtype=torch.float64)
    x = np.random.default_rng(1).standard_normal((6, 4)) * 3 + 1
    assert_close(ours(ax.tensor(x)), theirs(torch.tensor(x)).detach(), 1e-10, 1e-12)
    assert ours.running_mean.dtype == ax.float64
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, 1e-10, 1e-12, msg=key)


def test_lazy_conv_groups_must_divide_the_input_channels():
    with pytest.raises(ValueError, match=r"\(2, 3, 5, 5\)"):
        nn.LazyConv2d(4, 3, groups=2)(ax.randn(2, 3, 5, 5))
