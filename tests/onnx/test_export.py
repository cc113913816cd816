"""Tests for ``axon.onnx.export``: each exported model, run in onnxruntime, gives axon's
outputs (float32, 1e-5), at the traced size and at another size of its dynamic axes."""

import io
import sys

import numpy as np
import pytest

import axon as ax
from axon import models, nn
from axon.lab.shared.text_common import RNNLanguageModel
from tests.helpers import assert_close

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _flat(out):
    if isinstance(out, tuple | list):
        return [t for o in out for t in _flat(o)]
    return [out]


def _export(model, args, **kwargs) -> bytes:
    buffer = io.BytesIO()
    ax.onnx.export(model, args, buffer, **kwargs)
    return buffer.getvalue()


def _assert_runs_like_axon(data: bytes, model, feeds: list[dict], tol: float = 1e-5):
    """Each feed ({input name: array}) through onnxruntime gives the model's outputs."""
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    model.eval()
    for feed in feeds:
        with ax.no_grad():
            want = _flat(model(*(ax.tensor(v) for v in feed.values())))
        got = session.run(None, feed)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype
            assert_close(g, w, rtol=tol, atol=tol)


def _images(n, c, h, w, seed):
    return np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)


def _ids(shape, vocab, seed):
    return np.random.default_rng(seed).integers(0, vocab, shape)


class GRULanguageModel(nn.Module):
    """Embedding -> 2-layer GRU -> Linear, batch first."""

    def __init__(self, vocab=20, emb=8, hidden=12):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.gru = nn.GRU(emb, hidden, num_layers=2, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, ids):
        out, _ = self.gru(self.embedding(ids))
        return self.decoder(out)


class BiRNNClassifier(nn.Module):
    """Bidirectional LSTM, GRU or Elman RNN over float inputs; the final states classified."""

    def __init__(self, kind, features=5, hidden=7):
        super().__init__()
        self.rnn = getattr(nn, kind)(features, hidden, bidirectional=True, batch_first=True)
        self.kind = kind
        self.out = nn.Linear(2 * hidden, 3)

    def forward(self, x):
        _, h = self.rnn(x)
        h = h[0] if self.kind == "LSTM" else h
        return self.out(ax.cat([h[0], h[1]], dim=1)).log_softmax(dim=1)


ZOO = {
    "mlp": lambda: (
        models.mlp([8, 16, 16, 4], activation="gelu", batch_norm=True, dropout=0.2),
        lambda n, s: np.random.default_rng(s).standard_normal((n, 8)).astype(np.float32),
        0,
    ),
    "lenet5": lambda: (models.lenet5(), lambda n, s: _images(n, 1, 28, 28, s), 0),
    "lenet5_classic": lambda: (
        models.get_model("lenet5_classic"),
        lambda n, s: _images(n, 1, 28, 28, s),
        0,
    ),
    "resnet_basic": lambda: (
        models.ResNet(models.BasicBlock, [1, 1, 1, 1], num_classes=7),
        lambda n, s: _images(n, 3, 16, 16, s),
        0,
    ),
    "lstm_lm": lambda: (
        RNNLanguageModel(20, 8, 8, layers=2),
        lambda n, s: _ids((5, n), 20, s),
        1,
    ),  # time first: batch is axis 1
    "gru_lm": lambda: (GRULanguageModel(), lambda n, s: _ids((n, 6), 20, s), 0),
    "bi_lstm": lambda: (BiRNNClassifier("LSTM"), lambda n, s: _images(n, 4, 5, 1, s)[..., 0], 0),
    "bi_gru": lambda: (BiRNNClassifier("GRU"), lambda n, s: _images(n, 4, 5, 1, s)[..., 0], 0),
    "bi_rnn": lambda: (BiRNNClassifier("RNN"), lambda n, s: _images(n, 4, 5, 1, s)[..., 0], 0),
    "transformer_lm": lambda: (
        models.TransformerLM(20, 16, 2, 2, 32, max_len=10),
        lambda n, s: _ids((n, 6), 20, s),
        0,
    ),
    "transformer_encoder": lambda: (
        nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2),
        lambda n, s: np.random.default_rng(s).standard_normal((n, 6, 16)).astype(np.float32),
        0,
    ),
    "transformer_encoder_post_norm_gelu": lambda: (
        nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 4, 24, activation="gelu", norm_first=True), 1
        ),
        lambda n, s: np.random.default_rng(s).standard_normal((6, n, 16)).astype(np.float32),
        1,  # sequence first
    ),
}


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_models_run_in_onnxruntime_with_a_dynamic_batch(name):
    model, make_input, batch_axis = ZOO[name]()
    model.train()  # export runs in eval mode and gives the mode back
    data = _export(
        model,
        (ax.tensor(make_input(3, 0)),),
        input_names=["x"],
        output_names=None,
        dynamic_axes={"x": {batch_axis: "batch"}},
    )
    assert model.training
    onnx.checker.check_model(onnx.load_from_string(data))
    _assert_runs_like_axon(data, model, [{"x": make_input(3, 1)}, {"x": make_input(5, 2)}])


def test_initializers_are_named_by_state_dict_keys():
    model = models.mlp([4, 6, 6, 2], batch_norm=True)  # parameters and running statistics
    proto = onnx.load_from_string(_export(model, (ax.ones(2, 4),)))
    state = model.state_dict()
    named = {
        i.name: onnx.numpy_helper.to_array(i)
        for i in proto.graph.initializer
        if not i.name.startswith(("const_", "ints_", "shape_", "axes_", "split_"))
    }
    expected = {k for k in state if not k.endswith("num_batches_tracked")}
    assert set(named) == expected
    for key in expected:
        assert np.array_equal(named[key], state[key].array), key


def test_dynamic_sequence_length_of_a_recurrent_model():
    model = RNNLanguageModel(20, 8, 8, layers=2)
    data = _export(
        model,
        (ax.tensor(_ids((5, 3), 20, 0)),),
        input_names=["ids"],
        output_names=["logits", "h", "c"],
        dynamic_axes={"ids": {0: "time", 1: "batch"}, "logits": {0: "time"}},
    )
    graph = onnx.load_from_string(data).graph
    assert [d.dim_param for d in graph.output[0].type.tensor_type.shape.dim][:2] == [
        "time",
        "logits_dim_1",
    ]
    _assert_runs_like_axon(data, model, [{"ids": _ids((9, 2), 20, 1)}])


def test_dynamic_batch_and_time_of_a_bidirectional_stacked_gru():
    from axon.lab.deep_rnn import SequenceTagger

    model = SequenceTagger(12, 8, 10, num_layers=2, bidirectional=True)
    data = _export(
        model,
        (ax.tensor(_ids((3, 7), 12, 0)),),
        input_names=["x"],
        dynamic_axes={"x": {0: "batch", 1: "time"}},
    )
    _assert_runs_like_axon(data, model, [{"x": _ids((5, 11), 12, 1)}])


def test_a_carried_state_in_a_nested_argument_is_an_input():
    """forward(x, (h, c)): the tuple's Tensors become inputs ``state_0``, ``state_1``."""
    model = RNNLanguageModel(20, 8, 8, layers=2)

    def state(n, seed):
        return tuple(_floats(2, n, 8, seed=seed + i) for i in range(2))

    data = _export(
        model,
        (ax.tensor(_ids((5, 3), 20, 0)), state(3, 0)),
        dynamic_axes={"x": [1], "state_0": [1], "state_1": [1]},
    )
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x", "state_0", "state_1"]
    ids, (h, c) = _ids((5, 4), 20, 1), state(4, 7)
    got = session.run(None, {"x": ids, "state_0": h.array, "state_1": c.array})
    model.eval()
    with ax.no_grad():
        want = _flat(model(ax.tensor(ids), (h, c)))
    for g, w in zip(got, want, strict=True):
        assert_close(g, w, rtol=1e-5, atol=1e-5)


def test_export_to_a_path_with_parameters_as_inputs(tmp_path):
    model = models.mlp([4, 6, 2])
    path = tmp_path / "mlp.onnx"
    ax.onnx.export(
        model,
        ax.ones(2, 4),
        str(path),
        export_params=False,
        input_names=["x"],
        output_names=["y"],
        opset_version=18,
    )
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 18
    assert len(proto.graph.initializer) == 0
    names = [i.name for i in proto.graph.input]
    assert names == ["x", "0.weight", "0.bias", "2.weight", "2.bias"]
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    feed = {"x": x, **{k: v.array for k, v in model.state_dict().items()}}
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)
    with ax.no_grad():
        assert_close(got[0], model(ax.tensor(x)), rtol=1e-5, atol=1e-5)


class InPlace(nn.Module):
    """In-place methods rebind a Tensor to a new value: the trace must follow them."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        h = self.fc(x)
        skip = h
        h = nn.functional.relu(h, inplace=True)
        h += 1.5
        h.mul_(skip)
        return h.clamp(min=0.5, max=3.0).softmax(dim=-1)


def test_in_place_ops_are_traced():
    model = InPlace()
    data = _export(model, (ax.ones(2, 4),), input_names=["x"], dynamic_axes={"x": [0]})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    _assert_runs_like_axon(data, model, [{"x": x}])


class CopyBroadcast(nn.Module):
    """``copy_`` of a (4,) float64 parameter into a (batch, 4) float32 tensor: cast and
    broadcast to a size that follows the dynamic batch."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(ax.ones(4))
        self.b = nn.Parameter(ax.arange(4, dtype=ax.float64))

    def forward(self, x):
        y = x * self.w
        y.copy_(self.b)
        return y + x


def test_copy_into_a_tensor_casts_and_broadcasts_over_a_dynamic_batch():
    model = CopyBroadcast()
    data = _export(model, (ax.ones(2, 4),), input_names=["x"], dynamic_axes={"x": [0]})
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    _assert_runs_like_axon(data, model, [{"x": x}])


class Slicing(nn.Module):
    def forward(self, x):
        a = x[:, 1:, None, ::2]
        b = x[..., -1]
        return a.sum(dim=(2, 3)) + b[:, 1:].mean(dim=1, keepdim=True), x[:, 0].exp()


def test_indexing_and_reductions():
    data = _export(Slicing(), (ax.ones(2, 3, 5),), input_names=["x"], dynamic_axes={"x": {0: "n"}})
    x = np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32)
    _assert_runs_like_axon(data, Slicing(), [{"x": x}])


class WithLoss(nn.Module):
    def forward(self, x):
        return nn.functional.cross_entropy(x, ax.tensor(np.zeros(x.shape[0], np.int64)))


def test_an_op_without_a_rule_is_named():
    with pytest.raises(NotImplementedError, match="ONNX export: no rule for op 'ClassIndexLoss'"):
        _export(WithLoss(), (ax.ones(2, 3),))


FUNCTIONS = {
    "var": lambda x: x.var(dim=1),
    "std_all": lambda x: x.std(),
    "var_biased": lambda x: x.var(dim=(1, 2), unbiased=False, keepdim=True),
    "norm3": lambda x: x.norm(p=3, dim=1),
    "norm2": lambda x: x.norm(dim=-1),
    "logsumexp": lambda x: x.logsumexp(dim=2),
    "cumsum": lambda x: x.cumsum(dim=1),
    "prod": lambda x: x.prod(dim=1),
    "einsum": lambda x: ax.einsum("bij,bkj->bik", x, x),
    "repeat": lambda x: x.repeat(2, 1, 1, 2),
    "interpolate2d": lambda x: nn.functional.interpolate(x[:, None], scale_factor=2),
    "interpolate1d": lambda x: nn.functional.interpolate(x, size=7),
    "pad": lambda x: nn.functional.pad(x, (1, 2), value=0.5),
    "amax_mean": lambda x: x.amax(dim=1) + x.mean(),
    "clamp_pow": lambda x: x.clamp(-0.5, 0.5) ** 2 + 1 / (x.abs() + 1),
    "sqrt_log_exp": lambda x: (x.abs() + 1).sqrt().log().exp().neg(),
    "stack_cat": lambda x: ax.cat([ax.stack([x, x], dim=-1), x[..., None]], dim=-1),
    "transpose_reshape": lambda x: x.transpose(1, 2).reshape(x.shape[0], -1),
    "expand": lambda x: x.unsqueeze(1).expand(x.shape[0], 5, 3, 4),
    "index_array": lambda x: x[:, [0, 2]],
    "matmul_softmax": lambda x: nn.functional.softmax(x @ x.transpose(1, 2), dim=1),
    "cast": lambda x: x.double().float(),
    "trig": lambda x: x.sin() * x.cos() + x.tanh().sigmoid(),
    "selu_celu": lambda x: nn.functional.selu(x) + nn.functional.celu(x, alpha=0.7),
    "threshold_shrink": lambda x: (
        nn.functional.threshold(x, 0.1, -2.0)
        + nn.functional.hardshrink(x, 0.3)
        + nn.functional.softshrink(x, 0.4)
    ),
    "division_family": lambda x: (
        ax.div(x, 0.3, rounding_mode="floor")
        + ax.div(x, -0.7, rounding_mode="trunc")
        + x % 0.4
        + ax.fmod(x, -0.3)
        + ax.hypot(x, x * 2)
        + ax.logaddexp(x, -x)
        + ax.xlogy(x.abs(), x.abs() + 1)
        + ax.lerp(x, x * 3, 0.25)
        + (x * 7).round()
        + x.round(decimals=1)
    ),
    "log_exp_family": lambda x: (
        (x.abs() + 0.5).log1p()
        + x.expm1()
        + (x.abs() + 1).log2()
        + (x.abs() + 1).log10()
        + x.exp2()
        + x.erfc()
        + (x * 3).trunc()
    ),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_functions_with_a_dynamic_batch(name):
    fn = FUNCTIONS[name]
    x = ax.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32))
    data = _export(fn, (x,), input_names=["x"], dynamic_axes={"x": [0]})
    x2 = np.random.default_rng(1).standard_normal((5, 3, 4)).astype(np.float32)
    got = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x2})
    with ax.no_grad():
        assert_close(got[0], fn(ax.tensor(x2)), rtol=1e-5, atol=1e-5)


def test_flip_roll_and_gather_at_a_fixed_size():
    index = ax.tensor(np.random.default_rng(2).integers(0, 4, (2, 3, 4)))

    def fn(x):
        return x.flip(1) + x.roll(1, 2) + x.gather(2, index)

    x = ax.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32))
    got = ort.InferenceSession(
        _export(fn, (x,), input_names=["x"]), providers=["CPUExecutionProvider"]
    ).run(None, {"x": x.array})
    assert_close(got[0], fn(x), rtol=1e-6, atol=1e-6)


class NumpyConstant(nn.Module):
    def forward(self, x):
        return x + ax.tensor(np.ones(x.shape, dtype=np.float32))  # shaped like the batch


def test_a_constant_that_follows_a_dynamic_axis_is_refused():
    with pytest.raises(
        ax.onnx.ExportError,
        match="input 1 of op 'Add' is a constant of "
        r"shape \(2, 3\)",
    ):
        _export(
            NumpyConstant(), (ax.ones(2, 3),), input_names=["x"], dynamic_axes={"x": {0: "batch"}}
        )
    # without dynamic axes the constant is fine
    _assert_runs_like_axon(
        _export(NumpyConstant(), (ax.ones(2, 3),), input_names=["x"]),
        NumpyConstant(),
        [{"x": np.full((2, 3), 2.0, np.float32)}],
    )


class NumpyMask(nn.Module):
    def forward(self, x):
        keep = ax.tensor((x.array > 0).astype(np.float32))  # NumPy: invisible to the trace
        return x * keep


def test_a_constant_computed_from_the_input_values_is_refused():
    x = ax.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32))
    with pytest.raises(
        ax.onnx.ExportError, match="input 1 of op 'Mul' .* changes with the input's values"
    ):
        _export(NumpyMask(), (x,))


def test_padding_masks_built_in_numpy_are_refused_not_frozen():
    model = models.TransformerEncoderModel(20, 16, 2, 1, 32, max_len=10)
    ids = _ids((3, 6), 20, 0)
    ids[:, -2:] = 0  # padding
    with pytest.raises(ax.onnx.ExportError, match="changes with the input's values"):
        _export(model, (ax.tensor(ids),))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x, y, scale=1.0):
        return self.fc(x) * scale + y, x.sum(dim=1)


def test_keyword_arguments_names_and_no_file(capsys):
    model = TwoInputs()
    x, y = ax.ones(2, 3), ax.zeros(2, 2)
    proto = ax.onnx.export(
        model, (x, y), kwargs={"scale": 2.0}, keep_initializers_as_inputs=True, verbose=True
    )
    assert [i.name for i in proto.graph.input] == ["x", "y", "fc.weight", "fc.bias"]
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]
    assert "Gemm" in capsys.readouterr().out
    feed = {
        "x": np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32),
        "y": np.ones((2, 2), np.float32),
    }
    for exported in (proto, ax.onnx.export(model, (x, y, {"scale": 2.0}))):  # torch's 2 forms
        session = ort.InferenceSession(
            exported.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        got = session.run(None, feed)
        with ax.no_grad():
            want = model(ax.tensor(feed["x"]), ax.tensor(feed["y"]), scale=2.0)
        for g, w in zip(got, want, strict=True):
            assert_close(g, w, rtol=1e-5, atol=1e-5)


def test_bad_arguments():
    model = models.mlp([4, 2])
    with pytest.warns(UserWarning, match="dynamic_axes names 'input'.*not an input"):
        _export(model, (ax.ones(1, 4),), input_names=["x"], dynamic_axes={"input": [0]})
    with pytest.raises(ValueError, match="opset_version 9"):
        _export(model, (ax.ones(1, 4),), opset_version=9)
    with pytest.raises(ValueError, match="2 output_names given for 1 output"):
        _export(model, (ax.ones(1, 4),), output_names=["a", "b"])
    with pytest.raises(TypeError, match="output is a str"):
        _export(lambda x: "text", (ax.ones(1, 4),))


def test_missing_onnx_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install axon\[onnx\]"):
        _export(models.mlp([4, 2]), (ax.ones(1, 4),))


@pytest.mark.slow
@pytest.mark.parametrize(
    "build",
    [
        lambda: models.alexnet(num_classes=5),
        lambda: models.resnet18(num_classes=5),
        lambda: models.resnet50(num_classes=5),  # Bottleneck blocks
        lambda: models.VGG(models.make_layers([16, "M", 512, "M"], batch_norm=True), num_classes=5),
    ],
)
def test_large_vision_models(build):
    model = build()
    size = {models.AlexNet: 64, models.VGG: 28}.get(type(model), 32)
    data = _export(
        model,
        (ax.tensor(_images(1, 3, size, size, 0)),),
        input_names=["x"],
        dynamic_axes={"x": {0: "batch"}},
    )
    _assert_runs_like_axon(data, model, [{"x": _images(2, 3, size, size, 1)}], tol=1e-4)


class Layers2d(nn.Module):
    """Many layers and activations in one model (each op kind's rule)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, stride=2, padding=1, dilation=1),
            nn.BatchNorm2d(4),
            nn.LeakyReLU(0.2),
            nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
            nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2, bias=False),
            nn.GroupNorm(2, 6),
            nn.ELU(0.7),
            nn.AvgPool2d(2, padding=1, ceil_mode=True, count_include_pad=False),
            nn.AdaptiveAvgPool2d((3, 2)),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(36, 16),
            nn.Softplus(beta=2.0),
            nn.SiLU(),
            nn.Linear(16, 16),
            nn.Hardtanh(-0.5, 0.5),
            nn.Hardswish(),
            nn.LayerNorm(16, elementwise_affine=False),
            nn.Mish(),
            nn.Hardsigmoid(),
            nn.LogSigmoid(),
            nn.GELU(approximate="tanh"),
            nn.Linear(16, 5),
            nn.LogSoftmax(dim=1),
        )

    def forward(self, x):
        return self.head(self.features(x))


class Layers1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(2, 3, 3, padding=2, dilation=2),
            nn.Tanh(),
            nn.AvgPool1d(2),
            nn.MaxPool1d(2),
            nn.AdaptiveAvgPool1d(3),
            nn.Sigmoid(),
            nn.Softmax(dim=-1),
        )

    def forward(self, x):
        return self.net(x)


class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU())
        self.decode = nn.Sequential(
            nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
            nn.ReLU(),
            nn.ConvTranspose2d(4, 1, 3, padding=2, dilation=2),
            nn.Sigmoid(),
        )
        self.line = nn.ConvTranspose1d(1, 2, 4, stride=3, padding=1, bias=False)

    def forward(self, x):
        y = self.decode(self.encode(x))
        return y, self.line(y.mean(dim=2))


class Volumetric(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv3d(2, 4, 3, stride=(1, 2, 2), padding=1, dilation=1),
            nn.ReLU(),
            nn.MaxPool3d(2, stride=1, padding=1, ceil_mode=True),
            nn.AvgPool3d(2, count_include_pad=False, padding=1),
            nn.ConvTranspose3d(4, 3, 3, stride=2, padding=1, output_padding=1, groups=1),
        )

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (Layers2d, (3, 3, 17, 15)),
        (Layers1d, (3, 2, 23)),
        (ConvAutoencoder, (2, 1, 12, 10)),
        (Volumetric, (2, 2, 5, 6, 7)),
    ],
)
def test_layers_and_activations(model, shape):
    model = model()
    rng = np.random.default_rng(0)
    with ax.no_grad():  # running statistics away from 0 and 1
        model(ax.tensor(rng.standard_normal(shape).astype(np.float32) * 2 + 1))
    data = _export(model, (ax.ones(*shape),), input_names=["x"], dynamic_axes={"x": [0]})
    other = (5, *shape[1:])
    _assert_runs_like_axon(data, model, [{"x": rng.standard_normal(other).astype(np.float32)}])


def _floats(*shape, seed=0):
    return ax.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


ATTENTION = {
    # self-attention (one Tensor passed three times: the packed path) returns the weights too
    "mha_self": lambda: (
        nn.MultiheadAttention(16, 2, batch_first=True),
        lambda n, s: (_floats(n, 5, 16, seed=s),) * 3,
        ["q", "k", "v"],
    ),
    "mha_cross": lambda: (
        nn.MultiheadAttention(16, 4),  # sequence first: batch is axis 1
        lambda n, s: (_floats(5, n, 16, seed=s), *(_floats(7, n, 16, seed=s + 9),) * 2),
        ["q", "k", "v"],
    ),
    "transformer_decoder": lambda: (
        nn.TransformerDecoder(nn.TransformerDecoderLayer(16, 2, 32, batch_first=True), 2),
        lambda n, s: (_floats(n, 5, 16, seed=s), _floats(n, 7, 16, seed=s + 9)),
        ["tgt", "memory"],
    ),
    "transformer": lambda: (
        nn.Transformer(16, 2, 1, 1, 32, batch_first=True),
        lambda n, s: (_floats(n, 7, 16, seed=s), _floats(n, 5, 16, seed=s + 9)),
        ["src", "tgt"],
    ),
}


@pytest.mark.parametrize("name", list(ATTENTION))
def test_attention_models(name):
    model, make_inputs, names = ATTENTION[name]()
    batch = 1 if name == "mha_cross" else 0
    data = _export(
        model, make_inputs(2, 0), input_names=names, dynamic_axes={n: [batch] for n in names}
    )
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    model.eval()
    inputs = make_inputs(3, 1)
    feed = {n: t.array for n, t in zip(names, inputs, strict=True)}
    got = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})
    with ax.no_grad():
        want = _flat(model(*inputs))
    for g, w in zip(got, want, strict=True):
        assert_close(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", [17, 18, 19, 20, 21])
def test_every_supported_opset(opset):
    """Reductions change form at opset 18 (axes become an input): both forms run."""
    model = Layers2d()
    data = _export(
        model,
        (ax.ones(2, 3, 9, 9),),
        input_names=["x"],
        opset_version=opset,
        dynamic_axes={"x": [0]},
    )
    assert onnx.load_from_string(data).opset_import[0].version == opset
    x = np.random.default_rng(opset).standard_normal((3, 3, 9, 9)).astype(np.float32)
    _assert_runs_like_axon(data, model, [{"x": x}])
