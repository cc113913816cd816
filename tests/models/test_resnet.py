"""ResNet against the torchvision-style torch twin: keys, shapes, counts, outputs, init,
and the residual blocks' gradients in training mode."""

import numpy as np
import pytest
import torch

import axon
from axon import nn
from axon.models import BasicBlock, Bottleneck, resnet18, resnet34, resnet50
from tests.helpers import assert_close

from . import torch_reference as ref
from .parity import assert_same_layout, assert_same_output, assert_same_repr, n_params
from .torch_reference import numpy_state_dict

MODELS = {
    "resnet18": (resnet18, lambda: ref.resnet(18), 11_689_512),
    "resnet34": (resnet34, lambda: ref.resnet(34), 21_797_672),
}


@pytest.fixture(scope="module", params=list(MODELS))
def pair(request):
    make, make_twin, count = MODELS[request.param]
    torch.manual_seed(0)
    return make(), ref.randomize_batchnorm(make_twin()), count


def test_state_dict_layout_and_repr(pair):
    model, twin, _ = pair
    assert_same_layout(model, twin)
    assert_same_repr(model, twin)
    keys = list(model.state_dict())
    for key in (
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv1.weight",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.num_batches_tracked",
        "fc.weight",
        "fc.bias",
    ):
        assert key in keys
    assert "layer1.0.downsample.0.weight" not in keys


def test_parameter_count(pair):
    model, twin, count = pair
    assert n_params(model) == n_params(twin) == count


def test_initialisation(pair):
    model, _, _ = pair  # runs before the outputs test loads the twin's weights
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            std = float(np.std(m.weight.array))
            assert abs(std / np.sqrt(2 / fan_out) - 1) < 0.15
        elif isinstance(m, nn.BatchNorm2d):
            assert (m.weight.array == 1).all() and not m.bias.array.any()


def test_outputs_match_on_64x64(pair):
    model, twin, _ = pair
    assert_same_output(model, twin, (1, 3, 64, 64))


def test_zero_init_residual():
    model = resnet18(num_classes=10, zero_init_residual=True)
    assert all(
        not b.bn2.weight.array.any()
        for layer in (model.layer1, model.layer2, model.layer3, model.layer4)
        for b in layer
    )


@pytest.mark.parametrize(
    ("block", "twin_block", "inplanes", "planes", "stride"),
    [
        (BasicBlock, ref.BasicBlock, 8, 8, 1),  # identity shortcut: F(x) + x
        (BasicBlock, ref.BasicBlock, 4, 8, 2),  # 1x1-conv-bn downsample
        (Bottleneck, ref.Bottleneck, 8, 4, 2),
    ],
)
def test_block_forward_and_gradients_in_training_mode(block, twin_block, inplanes, planes, stride):
    torch.manual_seed(0)
    downsample = twin_down = None
    if stride != 1 or inplanes != planes * block.expansion:
        twin_down = torch.nn.Sequential(
            ref.conv1x1(inplanes, planes * block.expansion, stride),
            torch.nn.BatchNorm2d(planes * block.expansion),
        )
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
            nn.BatchNorm2d(planes * block.expansion),
        )
    twin = ref.randomize_batchnorm(twin_block(inplanes, planes, stride, twin_down))
    ours = block(inplanes, planes, stride, downsample)
    ours.load_state_dict(numpy_state_dict(twin))

    x = np.random.default_rng(0).standard_normal((3, inplanes, 8, 8)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ax = axon.tensor(x, requires_grad=True)
    t_out, a_out = twin(tx), ours(ax)
    assert_close(a_out, t_out, rtol=1e-4, atol=1e-4)
    w = np.random.default_rng(1).standard_normal(t_out.shape).astype(np.float32)
    (t_out * torch.from_numpy(w)).sum().backward()
    (a_out * axon.tensor(w)).sum().backward()
    assert_close(ax.grad, tx.grad, rtol=1e-3, atol=1e-4)
    t_grads = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, t_grads[name].grad, rtol=1e-3, atol=1e-3, msg=name)
    t_bufs = dict(twin.named_buffers())
    for name, b in ours.named_buffers():  # running statistics updated alike
        assert_close(b, t_bufs[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.slow
def test_resnet50():
    torch.manual_seed(0)
    model, twin = resnet50(), ref.randomize_batchnorm(ref.resnet(50))
    assert_same_layout(model, twin)
    assert n_params(model) == n_params(twin) == 25_557_032
    assert_same_output(model, twin, (1, 3, 64, 64))


@pytest.mark.slow
def test_resnet18_full_size_forward():
    torch.manual_seed(0)
    model, twin = resnet18(), ref.randomize_batchnorm(ref.resnet(18))
    assert_same_output(model, twin, (2, 3, 224, 224))
