"""Memory of initialisation and of backward (issue 14).

* ``nn.init`` draws in the parameter's dtype, straight into its memory: no float64
  temporary of the parameter's size (tracemalloc), and the float32 values are exactly
  NumPy's float32 draws scaled in float32 (the oracle: a generator in the same state).
* Each parameter is drawn at most once while a layer or a model is built: the draws are
  counted per parameter through a counting stand-in for the global generator.
* Saved arrays are released by backward (not with ``retain_graph=True``); ``Mul`` keeps
  no factor it does not need; a convolution whose columns do not fit its budget makes
  them again in backward, with bit-identical gradients.
"""

import gc
import math
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import axon as ax
from axon import backend as B
from axon import models, nn
from axon.backend.numpy import scratch
from axon.nn import functional as F
from axon.nn import init

from ..helpers import assert_close, assert_equal


def _peak_bytes(fn) -> int:
    """Peak bytes traced (NumPy reports its allocations to tracemalloc) while fn runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- draws in the dtype


def test_a_large_linear_allocates_its_float32_weights_only():
    nbytes = (1024 * 2048 + 1024) * 4  # weight and bias in float32: 8 MB
    peak = _peak_bytes(lambda: nn.Linear(2048, 1024))
    assert peak < 1.5 * nbytes, f"building Linear(2048, 1024) peaked at {peak} bytes"


@pytest.mark.parametrize(
    "fill",
    [
        init.uniform_,
        init.normal_,
        init.xavier_uniform_,
        init.xavier_normal_,
        init.kaiming_uniform_,
        init.kaiming_normal_,
        init.eye_,
        lambda w: init.sparse_(w, 0.3),
        lambda w: init.constant_(w, 0.5),
    ],
    ids=[
        "uniform",
        "normal",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "eye",
        "sparse",
        "constant",
    ],
)
def test_fills_allocate_next_to_nothing(fill):
    w = ax.empty(1024, 1024)  # float32, 4 MB
    peak = _peak_bytes(lambda: fill(w))
    assert peak < 0.05 * w.array.nbytes, f"peak {peak} bytes for a {w.array.nbytes}-byte fill"
    assert np.isfinite(w.array).all()


def test_trunc_normal_works_in_float64_blocks_of_bounded_size():
    w = ax.empty(512, 512)  # float32, 1 MB; its float64 copy would be 2 MB
    peak = _peak_bytes(lambda: init.trunc_normal_(w))
    assert peak < 0.75 * w.array.nbytes, f"peak {peak} bytes"
    assert np.isfinite(w.array).all()


def _generator_like_the_global():
    """A NumPy generator in the state the global one is in now."""
    g = np.random.Generator(np.random.PCG64())
    g.bit_generator.state = B.rng().bit_generator.state
    return g


def test_uniform_and_normal_are_float32_draws_scaled_in_float32():
    g = _generator_like_the_global()
    w = ax.empty(300, 200)
    init.uniform_(w, -0.25, 0.75)
    expected = g.random((300, 200), dtype=np.float32)
    expected *= np.float32(1.0)
    expected += np.float32(-0.25)
    assert_equal(w.array, expected)
    init.normal_(w, 0.5, 2.0)
    expected = g.standard_normal((300, 200), dtype=np.float32) * np.float32(2.0)
    expected += np.float32(0.5)
    assert_equal(w.array, expected)
    assert w.dtype == ax.float32


def test_float64_draws_in_float64_and_float16_through_a_float32_scratch():
    g = _generator_like_the_global()
    w64 = ax.empty(50, 40, dtype=ax.float64)
    init.uniform_(w64)
    assert_equal(w64.array, g.random((50, 40)))
    w16 = ax.empty(50, 40, dtype=ax.float16)
    init.normal_(w16)
    assert w16.dtype == ax.float16
    assert_equal(w16.array, g.standard_normal((50, 40), dtype=np.float32).astype(np.float16))


def test_a_non_contiguous_view_is_filled_in_place():
    w = ax.zeros(6, 8)
    init.uniform_(w[:, ::2], 1.0, 2.0)  # the columns of a strided view
    assert (w.array[:, ::2] >= 1).all() and (w.array[:, ::2] <= 2).all()
    assert not w.array[:, 1::2].any()


@pytest.mark.parametrize(
    "mode,nonlinearity,a", [("fan_in", "leaky_relu", math.sqrt(5)), ("fan_out", "relu", 0)]
)
def test_float32_kaiming_and_xavier_match_torch_statistics(mode, nonlinearity, a):
    """Bounds and standard deviations of float32 draws against torch's float32 ones."""
    shape = (256, 128, 3, 3)
    for ours, theirs, kw in [
        (
            init.kaiming_uniform_,
            torch.nn.init.kaiming_uniform_,
            {"a": a, "mode": mode, "nonlinearity": nonlinearity},
        ),
        (
            init.kaiming_normal_,
            torch.nn.init.kaiming_normal_,
            {"a": a, "mode": mode, "nonlinearity": nonlinearity},
        ),
        (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {"gain": 1.3}),
        (init.xavier_normal_, torch.nn.init.xavier_normal_, {"gain": 1.3}),
    ]:
        w = ours(ax.empty(*shape), **kw).array
        tw = theirs(torch.empty(shape), **kw).numpy()
        assert w.dtype == tw.dtype == np.float32
        assert abs(w.std() / tw.std() - 1) < 0.01, ours.__name__
        assert abs(w.mean()) < 0.01 * tw.std(), ours.__name__
        if "uniform" in ours.__name__:  # the same bound, reached
            assert np.abs(w).max() <= np.abs(tw).max() * (1 + 1e-3)
            assert np.abs(w).max() > 0.999 * np.abs(tw).max()


def test_float32_trunc_normal_stays_in_bounds_with_torch_moments():
    shape = (400, 500)
    w = init.trunc_normal_(ax.empty(*shape), mean=0.5, std=1.0, a=-1.0, b=1.5).array
    tw = torch.nn.init.trunc_normal_(torch.empty(shape), mean=0.5, std=1.0, a=-1.0, b=1.5).numpy()
    assert w.dtype == np.float32
    assert w.min() >= -1.0 and w.max() <= 1.5
    assert w.min() < -0.99 and w.max() > 1.49  # the whole interval is reached
    assert abs(w.mean() - tw.mean()) < 0.01 and abs(w.std() / tw.std() - 1) < 0.01


@pytest.mark.parametrize("shape", [(64, 256), (256, 64), (32, 16, 3, 3)])
def test_float32_orthogonal_is_orthogonal(shape):
    w = init.orthogonal_(ax.empty(*shape), gain=1.5).array
    assert w.dtype == np.float32
    m = w.reshape(shape[0], -1).astype(np.float64) / 1.5
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    assert_close(gram, np.eye(small), atol=2e-6)


def test_large_tensors_draw_in_blocks_with_the_same_bits_at_one_and_two_threads():
    """A tensor of 2^22 elements or more draws in fixed blocks, each from its own
    stream, on two threads when it can: the values depend on the seed alone."""
    shape = (1024, 4096 + 7)  # 4.2M elements: five blocks, the last one short
    results = []
    previous = ax.get_num_threads()
    try:
        for threads in (1, 2):
            ax.set_num_threads(threads)
            ax.manual_seed(11)
            w = init.normal_(ax.empty(*shape), 0.5, 2.0).array.copy()
            u = init.uniform_(ax.empty(*shape), -1.0, 3.0).array.copy()
            results.append((w, u))
    finally:
        ax.set_num_threads(previous)
    for w, u in results[1:]:
        assert_equal(w, results[0][0])
        assert_equal(u, results[0][1])
    w, u = results[0]
    assert w.dtype == u.dtype == np.float32
    assert abs(w.mean() - 0.5) < 0.01 and abs(w.std() / 2.0 - 1) < 0.005
    assert u.min() >= -1.0 and u.max() <= 3.0 and abs(u.mean() - 1.0) < 0.01
    blocks = w.reshape(-1)[: 4 << 20].reshape(4, 1 << 20)  # independent streams
    assert not np.array_equal(blocks[0], blocks[1])


def test_same_seed_same_weights_other_seed_other_weights():
    def build(seed):
        ax.manual_seed(seed)
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8, 4), nn.LSTM(4, 6), nn.Embedding(10, 3)
        )
        return [p.array.copy() for p in model.parameters()]

    first, again, other = build(5), build(5), build(6)
    for a, b, c in zip(first, again, other, strict=True):
        assert_equal(a, b)
        assert not np.array_equal(a, c)


# ---------------------------------------------------------------- each drawn once


class _CountingRng:
    """Stands in for the global generator: records the array each draw fills (by the
    address of its memory) and draws nothing, so building even VGG-16 costs no time."""

    def __init__(self):
        self.draws: dict[int, int] = {}

    def _count(self, out):
        key = out.__array_interface__["data"][0]
        self.draws[key] = self.draws.get(key, 0) + 1
        return out

    def random(self, size=None, dtype=np.float64, out=None):
        return self._count(out if out is not None else np.zeros(size, dtype))

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return self._count(out if out is not None else np.zeros(size, dtype))

    def permutation(self, n):
        return np.arange(n)


def _draws_per_parameter(monkeypatch, build):
    counter = _CountingRng()
    monkeypatch.setattr(B, "rng", lambda: counter)
    with np.errstate(all="ignore"):  # the undrawn memory is scaled as it is
        model = build()
    per_param = {
        name: counter.draws.get(p.array.__array_interface__["data"][0], 0)
        for name, p in model.named_parameters()
    }
    return model, per_param


@pytest.mark.parametrize(
    "build",
    [
        lambda: nn.Linear(20, 30),
        lambda: nn.Bilinear(4, 5, 6),
        lambda: nn.Conv2d(3, 8, 3),
        lambda: nn.ConvTranspose2d(3, 8, 3),
        lambda: nn.Conv1d(2, 4, 5),
        lambda: nn.Embedding(10, 4),
        lambda: nn.LSTM(4, 8, num_layers=2),
        lambda: nn.GRU(4, 8, bidirectional=True),
        lambda: nn.MultiheadAttention(8, 2),
        lambda: nn.MultiheadAttention(8, 2, kdim=4, vdim=6, add_bias_kv=True),
    ],
    ids=[
        "Linear",
        "Bilinear",
        "Conv2d",
        "ConvTranspose2d",
        "Conv1d",
        "Embedding",
        "LSTM",
        "GRU",
        "MultiheadAttention",
        "MultiheadAttention-kv",
    ],
)
def test_each_parameter_of_a_layer_is_drawn_once(monkeypatch, build):
    _, draws = _draws_per_parameter(monkeypatch, build)
    for name, n in draws.items():  # MultiheadAttention's zero in_proj_bias: no draw
        assert n == (0 if name == "in_proj_bias" else 1), (name, n)


def test_resnet18_draws_each_convolution_once(monkeypatch):
    model, draws = _draws_per_parameter(monkeypatch, models.resnet18)
    for name, n in draws.items():
        random = (
            name.endswith("conv1.weight")
            or name.endswith("conv2.weight")
            or name.endswith("downsample.0.weight")
            or name.startswith("fc.")
        )
        assert n == (1 if random else 0), (name, n)


class _NarrowLinear(nn.Linear):
    """VGG's classifier at most 64 wide: a build that costs no memory (the draws are
    what is counted, not the shapes)."""

    def __init__(self, in_features, out_features, *args, **kwargs):
        super().__init__(min(in_features, 64), min(out_features, 64), *args, **kwargs)


@pytest.mark.parametrize("make", [models.vgg16, models.vgg11_bn])
def test_vgg_draws_each_weight_once(monkeypatch, make):
    """torchvision draws every VGG weight twice (the layer's default, then its own
    scheme); axon draws each once, in torchvision's scheme (biases set to 0)."""
    monkeypatch.setattr(nn, "Linear", _NarrowLinear)
    model, draws = _draws_per_parameter(monkeypatch, make)
    assert isinstance(model.classifier[0], _NarrowLinear)
    for name, n in draws.items():
        module = model.get_submodule(name.rsplit(".", 1)[0])
        drawn = isinstance(module, nn.Conv2d | nn.Linear) and name.endswith("weight")
        assert n == (1 if drawn else 0), (name, n)


def test_transformer_draws_each_parameter_once(monkeypatch):
    build = lambda: nn.Transformer(16, 2, 2, 2, 32)  # noqa: E731
    model, draws = _draws_per_parameter(monkeypatch, build)
    for name, n in draws.items():
        assert n <= 1, (name, n)
        if model.get_parameter(name).ndim > 1:
            assert n == 1, name


def test_deferred_draws_are_made_by_the_builder_with_the_right_distribution():
    """The builders' own schemes (the draws the layers skipped are all made)."""
    ax.manual_seed(1)
    resnet = models.resnet18(num_classes=10)
    w = resnet.layer1[0].conv1.weight.array  # Kaiming-normal, fan_out = 64 * 9
    assert abs(w.std() / math.sqrt(2 / (64 * 9)) - 1) < 0.02
    bound = 1 / math.sqrt(512)
    assert np.abs(resnet.fc.weight.array).max() <= bound  # the Linear's own default
    assert np.abs(resnet.fc.bias.array).max() <= bound and resnet.fc.bias.array.any()
    model = nn.Transformer(32, 4, 1, 1, 64)
    lin = model.encoder.layers[0].linear1
    a = math.sqrt(6 / (32 + 64))  # Xavier-uniform on the (64, 32) weight
    assert np.abs(lin.weight.array).max() <= a and np.abs(lin.weight.array).max() > 0.95 * a
    assert np.abs(lin.bias.array).max() <= 1 / math.sqrt(32) and lin.bias.array.any()
    attn = model.encoder.layers[0].self_attn
    assert not attn.in_proj_bias.array.any() and not attn.out_proj.bias.array.any()
    # outside the builders, layers initialise as before
    assert np.abs(nn.Linear(32, 8).weight.array).max() > 0.9 / math.sqrt(32)


def test_reset_parameters_draws_again_after_a_deferred_build():
    conv = models.resnet18(num_classes=4).conv1
    before = conv.weight.array.copy()
    conv.reset_parameters()  # torch's default: Kaiming-uniform, a = sqrt(5)
    bound = 1 / math.sqrt(3 * 49)
    assert np.abs(conv.weight.array).max() <= bound
    assert not np.array_equal(before, conv.weight.array)


# ---------------------------------------------------------------- saved arrays freed


def _graph_with_a_saved_intermediate():
    """loss = sum(exp(x) * w): Mul saves exp(x), referenced by nothing else."""
    x = ax.randn(50, 40, requires_grad=True)
    w = ax.randn(50, 40, requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h.array)
    loss = (h * w).sum()
    del h
    gc.collect()
    return x, w, loss, ref


def test_backward_frees_the_saved_arrays():
    _, _, loss, ref = _graph_with_a_saved_intermediate()
    assert ref() is not None  # the graph holds it
    loss.backward()
    gc.collect()
    assert ref() is None


def test_retain_graph_keeps_them_until_the_last_backward():
    x, _, loss, ref = _graph_with_a_saved_intermediate()
    loss.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    first = x.grad.array.copy()
    loss.backward()
    assert_equal(x.grad.array, 2 * first)
    gc.collect()
    assert ref() is None


def test_mul_keeps_no_factor_whose_partner_needs_no_gradient():
    x = ax.randn(30, requires_grad=True)
    h = x + 1
    ref = weakref.ref(h.array)
    y = h * ax.randn(30)  # the constant's gradient is not needed: h is not kept
    del h
    gc.collect()
    assert ref() is None
    y.sum().backward()
    assert x.grad is not None


def test_double_backward_through_mul_by_a_constant():
    x = ax.tensor([0.5, -1.5, 2.0], requires_grad=True)
    c = ax.tensor([3.0, 2.0, -1.0])
    (g,) = ax.autograd.grad((x * x * c).sum(), x, create_graph=True)
    (gg,) = ax.autograd.grad(g.sum(), x)
    assert_close(g, 2 * x.array * c.array)
    assert_close(gg, 2 * c.array)


@pytest.mark.parametrize("stride,padding,groups", [(1, 1, 1), (2, 1, 1), (1, 0, 2), (2, 2, 2)])
def test_conv_columns_made_again_in_backward_give_the_same_bits(
    monkeypatch, stride, padding, groups
):
    """A convolution over its columns' budget keeps its input, not its columns, and
    makes them again in backward: the gradients are bit for bit those of a kept run, and
    match torch's."""
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((6, 4, 11, 11)).astype(np.float32)
    wa = rng.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
    ba = rng.standard_normal(8).astype(np.float32)
    ga = rng.standard_normal(
        (6, 8, (11 + 2 * padding - 3) // stride + 1, (11 + 2 * padding - 3) // stride + 1)
    ).astype(np.float32)

    def run(budget):
        monkeypatch.setattr(scratch, "keep_columns_bytes", budget)
        x = ax.tensor(xa, requires_grad=True)
        w = ax.tensor(wa, requires_grad=True)
        b = ax.tensor(ba, requires_grad=True)
        y = F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
        node = y.grad_fn
        kept = (node.cols is not None, node.x is not None)
        y.backward(ax.tensor(ga))
        return kept, y.array.copy(), x.grad.array, w.grad.array, b.grad.array

    kept, *keep = run(1 << 40)
    again, *made = run(0)
    assert kept == (True, False) and again == (False, True)
    for a, b in zip(keep, made, strict=True):
        assert_equal(b, a)
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, torch.tensor(ba), stride, padding, 1, groups)
    ty.backward(torch.tensor(ga))
    assert_close(made[1], tx.grad, rtol=1e-4, atol=1e-4)
    assert_close(made[2], tw.grad, rtol=1e-4, atol=1e-4)


def test_conv_column_budget_is_given_back_after_backward_or_with_the_graph():
    before = scratch._kept[0]
    x = ax.randn(4, 3, 16, 16, requires_grad=True)
    conv = nn.Conv2d(3, 8, 3)
    conv(x).sum().backward()
    gc.collect()
    assert scratch._kept[0] == before
    y = conv(x)  # a graph dropped without backward gives its columns back too
    assert scratch._kept[0] > before
    del y
    gc.collect()
    assert scratch._kept[0] == before


def test_convolutions_with_many_output_channels_keep_their_input_not_their_columns():
    """Columns are kh kw times the input; making them again costs one copy beside a
    weight-gradient product of O multiply-adds per element: kept only for few output
    channels (the budget permitting)."""
    x = ax.randn(2, 4, 10, 10, requires_grad=True)
    few = F.conv2d(x, ax.randn(scratch.keep_columns_max_channels, 4, 3, 3, requires_grad=True))
    many = F.conv2d(x, ax.randn(scratch.keep_columns_max_channels + 1, 4, 3, 3, requires_grad=True))
    assert few.grad_fn.cols is not None and few.grad_fn.x is None
    assert many.grad_fn.cols is None and many.grad_fn.x is not None


def test_max_pool_keeps_a_byte_per_output_for_backward_not_its_input():
    x = ax.randn(2, 3, 13, 13, requires_grad=True)
    y = F.max_pool2d(x, 3, 2, 1)  # ResNet's: overlapping windows, the general path
    node = y.grad_fn
    saved = [v for v in vars(node).values() if isinstance(v, np.ndarray)]
    assert [a.dtype for a in saved] == [np.uint8]
    assert saved[0].size == y.numel()
