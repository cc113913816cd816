"""Every layer of ``axon.nn`` that PyTorch also has takes PyTorch's constructor arguments,
in PyTorch's positional order, and the ``device=`` / ``dtype=`` keywords work: float64
parameters initialised like torch's, the CPU in any spelling, a device with a backend
(the tests' "strict") holding the CPU's values, a device without one refused.

torch is the oracle: its ``inspect.signature`` gives the names and order, its layers built
with the same arguments give the state-dict keys, shapes and the spread of the initial
values."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from tests.helpers import assert_equal

# deliberate differences from torch's signatures, each with its reason
DELIBERATE = {
    # torch declares *args, **kwargs (Module's) for layers that take nothing
    "Module": "torch's Module.__init__ forwards *args/**kwargs for mixins; axon's takes none",
    "Sigmoid": "takes no arguments (torch inherits Module's *args, **kwargs)",
    "Tanh": "takes no arguments (torch inherits Module's *args, **kwargs)",
    "LogSigmoid": "takes no arguments (torch inherits Module's *args, **kwargs)",
    "Softsign": "takes no arguments (torch inherits Module's *args, **kwargs)",
    "Tanhshrink": "takes no arguments (torch inherits Module's *args, **kwargs)",
    "Softmax2d": "takes no arguments (torch inherits Module's *args, **kwargs)",
    # the name of a *args parameter cannot be passed by keyword: only the kind matters
    "Sequential": "*modules against torch's *args: the same call either way",
    "ParameterList": "its one argument is named params (torch: values); positional use is the same",
}

# torch's RNN, LSTM and GRU take *args, **kwargs and read them in this documented order
RNN_ORDER = {
    "RNN": [
        "input_size",
        "hidden_size",
        "num_layers",
        "nonlinearity",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "device",
        "dtype",
    ],
    "LSTM": [
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "proj_size",
        "device",
        "dtype",
    ],
    "GRU": [
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "device",
        "dtype",
    ],
}

# constructor arguments (besides device and dtype) of every torch layer with factory kwargs;
# sizes large enough that the spread of the initial values can be compared
SPECS = {
    "Linear": ((40, 30), {}),
    "Bilinear": ((12, 10, 30), {}),
    "AdaptiveLogSoftmaxWithLoss": ((64, 40, [10, 25]), {}),
    "LazyLinear": ((30,), {}),
    "Conv1d": ((8, 16, 5), {}),
    "Conv2d": ((8, 16, 3), {}),
    "Conv3d": ((8, 16, 3), {}),
    "ConvTranspose3d": ((8, 16, 3), {}),
    "LazyConv3d": ((16, 3), {}),
    "LazyConvTranspose3d": ((16, 3), {}),
    "ConvTranspose1d": ((8, 16, 5), {}),
    "ConvTranspose2d": ((8, 16, 3), {}),
    "LazyConv1d": ((16, 5), {}),
    "LazyConv2d": ((16, 3), {}),
    "LazyConvTranspose1d": ((16, 5), {}),
    "LazyConvTranspose2d": ((16, 3), {}),
    "LazyBatchNorm1d": ((), {}),
    "LazyBatchNorm2d": ((), {}),
    "LazyInstanceNorm1d": ((), {}),
    "LazyInstanceNorm2d": ((), {}),
    "BatchNorm1d": ((10,), {}),
    "BatchNorm2d": ((10,), {}),
    "BatchNorm3d": ((10,), {}),
    "SyncBatchNorm": ((10,), {}),
    "InstanceNorm3d": ((10,), {"affine": True, "track_running_stats": True}),
    "LazyBatchNorm3d": ((), {}),
    "LazyInstanceNorm3d": ((), {}),
    "InstanceNorm1d": ((10,), {"affine": True, "track_running_stats": True}),
    "InstanceNorm2d": ((10,), {"affine": True, "track_running_stats": True}),
    "LayerNorm": ((10,), {}),
    "GroupNorm": ((2, 10), {}),
    "RMSNorm": ((10,), {}),
    "Embedding": ((50, 20), {}),
    "EmbeddingBag": ((50, 20), {}),
    "PReLU": ((), {}),
    "RNNCell": ((20, 30), {}),
    "LSTMCell": ((20, 30), {}),
    "GRUCell": ((20, 30), {}),
    "RNN": ((20, 30), {}),
    "LSTM": ((20, 30), {}),
    "GRU": ((20, 30), {}),
    "MultiheadAttention": ((32, 4), {}),
    "TransformerEncoderLayer": ((32, 4, 64), {}),
    "TransformerDecoderLayer": ((32, 4, 64), {}),
    "Transformer": (
        (),
        {
            "d_model": 32,
            "nhead": 4,
            "num_encoder_layers": 1,
            "num_decoder_layers": 1,
            "dim_feedforward": 64,
        },
    ),
}


def _torch_layer_names() -> list[str]:
    return sorted(
        n
        for n in dir(torch.nn)
        if isinstance(getattr(torch.nn, n), type)
        and issubclass(getattr(torch.nn, n), torch.nn.Module)
    )


SHARED = [n for n in _torch_layer_names() if hasattr(nn, n)]


def _params(cls) -> list[str]:
    """The parameter names of ``cls.__init__``, keyword-only ones marked with a '*'."""
    return [
        ("*" if p.kind == p.KEYWORD_ONLY else "") + name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self"
    ]


@pytest.mark.parametrize("name", SHARED)
def test_signature_matches_torch(name):
    """Parameter names, positional order and which are keyword-only are torch's (or the
    difference is listed)."""
    if name in DELIBERATE:
        pytest.skip(DELIBERATE[name])
    expected = RNN_ORDER.get(name) or _params(getattr(torch.nn, name))
    assert _params(getattr(nn, name)) == expected


def test_deliberate_differences_are_real():
    """No stale entry: each listed layer's signature does differ from torch's."""
    stale = [
        n
        for n in DELIBERATE
        if hasattr(nn, n) and _params(getattr(nn, n)) == _params(getattr(torch.nn, n))
    ]
    assert stale == []


def test_every_factory_layer_has_a_spec():
    """Each torch layer taking device/dtype that axon has is covered by the checks below."""
    with_factory = [
        n for n in SHARED if "device" in (RNN_ORDER.get(n) or _params(getattr(torch.nn, n)))
    ]
    assert [n for n in with_factory if n not in SPECS and not n.endswith("Base")] == []


_LAZY_SHAPES = {
    "LazyLinear": (2, 12),
    "LazyConv1d": (2, 8, 9),
    "LazyConv2d": (2, 8, 7, 7),
    "LazyConvTranspose1d": (2, 8, 9),
    "LazyConvTranspose2d": (2, 8, 7, 7),
    "LazyBatchNorm1d": (4, 10),
    "LazyBatchNorm2d": (4, 10, 3, 3),
    "LazyInstanceNorm1d": (2, 10, 5),
    "LazyInstanceNorm2d": (2, 10, 3, 3),
    "LazyBatchNorm3d": (2, 10, 2, 2, 2),
    "LazyConv3d": (2, 8, 4, 4, 4),
    "LazyConvTranspose3d": (2, 8, 3, 3, 3),
    "LazyInstanceNorm3d": (2, 10, 2, 2, 2),
}
"""The input each lazy layer of SPECS is first called with."""


def _first_call(name, layer):
    """Run lazy layers once so their parameters exist (torch's rule: shapes from input)."""
    if not name.startswith("Lazy"):
        return
    shape = _LAZY_SHAPES[name]
    if isinstance(layer, torch.nn.Module):
        layer(torch.zeros(shape, dtype=torch.float64))
    else:
        layer(ax.zeros(shape, dtype=layer.weight.array.dtype))


FACTORY = [n for n in SPECS if hasattr(nn, n)]


@pytest.mark.parametrize("name", FACTORY)
def test_float64_parameters_initialised_like_torch(name):
    """dtype=float64: every floating parameter and buffer is float64, the state-dict keys
    and shapes are torch's, constants (ones, zeros) equal torch's and random initial
    values have torch's spread (std within 15%, means
    within 0.2 std, where there are enough of them)."""
    args, kwargs = SPECS[name]
    ax.manual_seed(0)
    torch.manual_seed(0)
    ours = getattr(nn, name)(*args, **kwargs, device="cpu", dtype=ax.float64)
    theirs = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    _first_call(name, ours)
    _first_call(name, theirs)
    sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
    assert list(sd_ours) == list(sd_theirs)
    for key, t in sd_theirs.items():
        a, b = sd_ours[key].numpy(), t.numpy()
        assert a.shape == b.shape, key
        if b.dtype.kind == "f":
            assert a.dtype == np.float64, key
        if b.size and (b == b.flat[0]).all():
            assert_equal(a, b, msg=key)
        elif b.size >= 500:
            assert abs(a.std() / b.std() - 1) < 0.15, key
            assert abs(a.mean() - b.mean()) < 0.2 * b.std(), key


@pytest.mark.parametrize("name", FACTORY)
def test_device_cpu_accepted_other_devices_refused(name):
    args, kwargs = SPECS[name]
    cls = getattr(nn, name)
    devices = ["cpu", "cpu:0", torch.device("cpu")]
    if hasattr(ax, "device"):
        devices.append(ax.device("cpu"))
    for device in devices:
        layer = cls(*args, **kwargs, device=device)
        _first_call(name, layer)
        for p in layer.parameters():
            assert p.dtype == ax.get_default_dtype()
    with pytest.raises(RuntimeError, match="cuda"):
        cls(*args, **kwargs, device="cuda")
    with pytest.raises(RuntimeError, match="mps"):  # torch's AssertionError for cuda too
        cls(*args, **kwargs, device=ax.device("mps"))


@pytest.mark.parametrize("name", FACTORY)
def test_device_builds_the_layer_there_with_the_cpus_values(name):
    """device="strict" (the test backend): every parameter and buffer lives there and
    holds what the same seed gives on the CPU (drawn on the host, then moved), also
    after a lazy layer's first call materialises it there."""
    from tests.backend.strict import StrictArray

    args, kwargs = SPECS[name]
    cls = getattr(nn, name)
    ax.manual_seed(0)
    on_cpu = cls(*args, **kwargs)
    ax.manual_seed(0)
    there = cls(*args, **kwargs, device="strict")
    if name.startswith("Lazy"):
        for layer, dev in ((on_cpu, "cpu"), (there, "strict")):
            ax.manual_seed(1)
            layer.initialize_parameters(ax.zeros(_LAZY_SHAPES[name], device=dev))
    tensors = list(there.parameters()) + list(there.buffers())
    assert tensors and all(isinstance(t.array, StrictArray) for t in tensors)
    want = on_cpu.state_dict()
    for key, t in there.state_dict().items():
        np.testing.assert_array_equal(t.cpu().numpy(), want[key].numpy(), err_msg=key)


def test_dtype_and_device_by_position():
    """torch's positional order: Linear(in, out, bias, device, dtype)."""
    layer = nn.Linear(3, 2, True, "cpu", ax.float64)
    assert layer.weight.dtype == ax.float64 and layer.bias.dtype == ax.float64
    bn = nn.BatchNorm1d(4, 1e-5, 0.1, True, True, "cpu", ax.float64)
    assert bn.running_mean.dtype == ax.float64 and bn.weight.dtype == ax.float64
    conv = nn.Conv2d(1, 2, 3, 1, 0, 1, 1, True, "zeros", "cpu", ax.float64)
    assert conv.weight.dtype == ax.float64


# reprs that differ on purpose: axon's MultiheadAttention shows its sizes, and its out_proj
# is a plain Linear (torch names it NonDynamicallyQuantizableLinear, a quantisation marker)
REPR_DIFFERS = {
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "Transformer",
}


@pytest.mark.parametrize("name", [n for n in FACTORY if n not in REPR_DIFFERS])
def test_repr_matches_torch(name):
    args, kwargs = SPECS[name]
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(
        getattr(torch.nn, name)(*args, **kwargs)
    )


def test_causal_mask_device():
    mask = nn.Transformer.generate_square_subsequent_mask(3, device="cpu", dtype=ax.float64)
    assert mask.dtype == ax.float64
    with pytest.raises(RuntimeError, match="cuda"):
        nn.Transformer.generate_square_subsequent_mask(3, device="cuda")


# forward signatures that differ on purpose
FORWARD_DIFFERS = {
    "Module": "torch's abstract forward(input); axon's Module.forward(*args, **kwargs)",
    "RNNBase": "torch's RNNBase.forward is abstract; axon's runs the layers (input, hx)",
    "RNNCellBase": "torch's abstract; axon's cells define their own forward",
    "Sequential": "containers are another slice's (forward(x))",
    "ModuleDict": "containers have no forward",
    "ModuleList": "containers have no forward",
    "ParameterList": "containers have no forward",
    "ParameterDict": "containers have no forward",
    "Container": "inherits Module's forward (see Module)",
}


@pytest.mark.parametrize("name", [n for n in SHARED if hasattr(getattr(torch.nn, n), "forward")])
def test_forward_signature_matches_torch(name):
    """layer(input=x), mha(q, k, v, need_weights=False), ...: forward's parameter names are
    torch's, so keyword calls work (a lazy layer forwards whatever its target takes)."""
    if name in FORWARD_DIFFERS:
        pytest.skip(FORWARD_DIFFERS[name])
    theirs = [p for p in inspect.signature(getattr(torch.nn, name).forward).parameters][1:]
    ours = [p for p in inspect.signature(getattr(nn, name).forward).parameters][1:]
    if name.startswith("Lazy"):
        assert ours == ["input", "args", "kwargs"]
    else:
        assert ours == theirs
