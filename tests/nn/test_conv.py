"""``conv1d`` / ``conv2d`` and ``Conv1d`` / ``Conv2d`` against PyTorch: values and the
gradients of input, weight and bias over a grid of geometries, 'same' padding, layouts,
finite differences, error messages, and the scratch-buffer reuse of the convolution ops."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from axon.backend.numpy import chunking, im2col, scratch, threads
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_close


class _PoisonedWorkspace(scratch.Workspace):
    """New scratch buffers start as NaN, so any element an op forgets to write shows."""

    @staticmethod
    def _new(shape, dtype, fill):
        return np.full(shape, np.nan if fill is None else fill, dtype)


@pytest.fixture(autouse=True)
def _fresh_workspace(monkeypatch):
    monkeypatch.setattr(scratch, "workspace", _PoisonedWorkspace())


def _pair(fn_t, fn_a, **kw):
    """The same call on torch and on axon: (x, w, b) -> conv(x, w, b, **kw)."""
    return (lambda x, w, b: fn_t(x, w, b, **kw)), (lambda x, w, b: fn_a(x, w, b, **kw))


# (N, C, H, W, O, kh, kw, stride, padding, dilation, groups)
CONV2D_GRID = [
    (2, 3, 8, 8, 4, 3, 3, 1, 0, 1, 1),
    (1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1),  # batch 1
    (2, 2, 9, 7, 3, 3, 2, 2, 1, 1, 1),  # rectangular kernel and input, stride 2
    (2, 4, 10, 10, 6, 3, 3, (2, 1), (1, 2), (2, 1), 2),  # per-axis settings, groups
    (3, 1, 28, 28, 6, 5, 5, 1, 0, 1, 1),  # LeNet's first layer
    (2, 6, 7, 7, 6, 3, 3, 1, 1, 1, 6),  # depthwise
    (2, 4, 11, 9, 4, 1, 1, 3, 0, 1, 1),  # 1x1 kernel, stride past the kernel
    (2, 3, 12, 12, 2, 3, 3, 3, 2, 2, 1),  # dilation with stride and padding
    (2, 4, 5, 5, 8, 5, 5, 1, 2, 1, 4),  # kernel as large as the input, padded
]


@pytest.mark.parametrize("case", CONV2D_GRID, ids=str)
def test_conv2d_matches_torch_float64(case):
    N, C, H, W, O, kh, kw, s, p, d, g = case
    t_fn, a_fn = _pair(TF.conv2d, F.conv2d, stride=s, padding=p, dilation=d, groups=g)
    helper_test_op([(N, C, H, W), (O, C // g, kh, kw), (O,)], t_fn, a_fn)


@pytest.mark.parametrize("case", CONV2D_GRID[::2], ids=str)
def test_conv2d_matches_torch_float32(case):
    N, C, H, W, O, kh, kw, s, p, d, g = case
    t_fn, a_fn = _pair(TF.conv2d, F.conv2d, stride=s, padding=p, dilation=d, groups=g)
    helper_test_op(
        [(N, C, H, W), (O, C // g, kh, kw), (O,)],
        t_fn,
        a_fn,
        dtype=np.float32,
        rtol=1e-4,
        atol=1e-4,
    )


# (N, C, L, O, k, stride, padding, dilation, groups)
CONV1D_GRID = [
    (2, 3, 10, 4, 3, 1, 0, 1, 1),
    (1, 4, 13, 6, 4, 2, 3, 2, 2),
    (3, 2, 9, 2, 1, 1, 0, 1, 2),
]


@pytest.mark.parametrize("case", CONV1D_GRID, ids=str)
def test_conv1d_matches_torch(case):
    N, C, L, O, k, s, p, d, g = case
    t_fn, a_fn = _pair(TF.conv1d, F.conv1d, stride=s, padding=p, dilation=d, groups=g)
    helper_test_op([(N, C, L), (O, C // g, k), (O,)], t_fn, a_fn)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel", [(3, 3), (4, 4), (2, 5)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_conv2d_same_padding_even_and_odd_kernels(kernel, dilation):
    t_fn, a_fn = _pair(TF.conv2d, F.conv2d, padding="same", dilation=dilation)
    helper_test_op([(2, 3, 7, 8), (4, 3, *kernel), (4,)], t_fn, a_fn)
    out = F.conv2d(ax.randn(1, 3, 7, 8), ax.randn(4, 3, *kernel), padding="same", dilation=dilation)
    assert out.shape == (1, 4, 7, 8)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("k", [3, 4])
def test_conv1d_same_and_valid_padding(k):
    for padding in ("same", "valid"):
        t_fn, a_fn = _pair(TF.conv1d, F.conv1d, padding=padding)
        helper_test_op([(2, 3, 9), (5, 3, k), (5,)], t_fn, a_fn)


@pytest.mark.parametrize("layout", ["strided", "transposed"])
def test_conv2d_non_contiguous_inputs(layout):
    t_fn, a_fn = _pair(TF.conv2d, F.conv2d, stride=2, padding=1, groups=2)
    helper_test_op([(3, 4, 9, 8), (6, 2, 3, 3), (6,)], t_fn, a_fn, layout=layout)


def test_conv2d_unbatched_and_without_bias():
    helper_test_op(
        [(3, 8, 8), (4, 3, 3, 3)],
        lambda x, w: TF.conv2d(x, w, padding=1),
        lambda x, w: F.conv2d(x, w, padding=1),
    )
    helper_test_op(
        [(3, 11), (2, 3, 4)],
        lambda x, w: TF.conv1d(x, w, stride=2),
        lambda x, w: F.conv1d(x, w, stride=2),
    )


def test_conv2d_float32_stays_float32():
    x = ax.randn(2, 3, 8, 8, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3)
    y = conv(x)
    y.sum().backward()
    assert y.dtype == np.float32
    assert x.grad.dtype == conv.weight.grad.dtype == conv.bias.grad.dtype == np.float32


def test_conv_gradcheck():
    rng = np.random.default_rng(0)

    def t(*shape):
        return ax.tensor(rng.standard_normal(shape), requires_grad=True, dtype=ax.float64)

    ax.gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=(1, 2), dilation=(2, 1), groups=2),
        [t(2, 4, 6, 5), t(4, 2, 2, 3), t(4)],
    )
    ax.gradcheck(
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
        [t(2, 2, 9), t(3, 2, 3), t(3)],
    )
    ax.gradcheck(lambda x, w: F.conv2d(x, w, padding="same"), [t(1, 2, 5, 4), t(2, 2, 2, 2)])


# ============================================================ first layer, shared layers


def test_input_gradient_is_skipped_when_the_input_needs_none(monkeypatch):
    pool = scratch.Workspace()
    monkeypatch.setattr(scratch, "workspace", pool)
    conv = nn.Conv2d(1, 4, 3, padding=1)
    conv(ax.randn(2, 1, 6, 6)).sum().backward()
    assert conv.weight.grad is not None and conv.bias.grad is not None
    tags = {key[0] for key in pool._pool}
    assert "conv-dcols" not in tags and "conv-dx" not in tags
    conv.requires_grad_(False)  # a frozen layer under a trainable input: no columns kept
    x = ax.randn(2, 1, 6, 6, requires_grad=True)
    y = conv(x)
    assert y.grad_fn.cols is None
    y.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None  # the old grads stay


def test_shared_conv_called_twice_before_backward():
    """The second call must not overwrite the columns the first saved for backward."""
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(3, 5, 3, padding=1, dtype=torch.float64)
    conv = nn.Conv2d(3, 5, 3, padding=1, dtype=ax.float64)
    conv.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((2, 2, 3, 7, 7))
    a1, a2 = ax.tensor(x1, requires_grad=True), ax.tensor(x2, requires_grad=True)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    ya1, ya2 = conv(a1), conv(a2)
    assert ya1.grad_fn.cols is not ya2.grad_fn.cols
    assert not np.shares_memory(ya1.array, ya2.array)
    (ya1 * ya2).sum().backward()
    (ref(t1) * ref(t2)).sum().backward()
    assert_close(ya1, ref(t1).detach(), rtol=1e-12, atol=1e-12)
    for a, t in [
        (a1.grad, t1.grad),
        (a2.grad, t2.grad),
        (conv.weight.grad, ref.weight.grad),
        (conv.bias.grad, ref.bias.grad),
    ]:
        assert_close(a, t, rtol=1e-10, atol=1e-12)


def test_retain_graph_backward_twice_and_buffers_come_back():
    conv = nn.Conv2d(2, 3, 3, dtype=ax.float64)
    x = ax.randn(2, 2, 6, 6, dtype=ax.float64, requires_grad=True)
    y = conv(x)
    y.sum().backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    conv(ax.randn(2, 2, 6, 6, dtype=ax.float64)).sum().backward()  # another call in between
    x.grad = None
    y.sum().backward()
    assert_close(x.grad, g1, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_split_over_two_threads_matches_torch(monkeypatch, stride, groups):
    """Whole convolutions (copies and products) run on two threads, each on half the batch
    with a one-thread BLAS (here: every call, odd N); the BLAS gets its count back."""
    monkeypatch.setattr(chunking, "split_threshold", 0)
    monkeypatch.setattr(chunking, "product_split_threshold", 0)
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    before = threads._blas[1]() if threads.blas_found else None
    t_fn, a_fn = _pair(TF.conv2d, F.conv2d, stride=stride, padding=1, groups=groups)
    helper_test_op([(5, 4, 9, 8), (6, 4 // groups, 3, 3), (6,)], t_fn, a_fn)
    if threads.blas_found:
        assert threads._blas[1]() == before


def test_conv1d_split_over_two_threads_matches_torch(monkeypatch):
    monkeypatch.setattr(chunking, "product_split_threshold", 0)
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    t_fn, a_fn = _pair(TF.conv1d, F.conv1d, padding=2, dilation=2)
    helper_test_op([(3, 2, 11), (4, 2, 3), (4,)], t_fn, a_fn)


def test_workspace_reuses_only_free_buffers():
    pool = scratch.Workspace(max_bytes=1 << 20, per_key=2)
    a = pool.get("t", (4, 4), np.float32)
    b = pool.get("t", (4, 4), np.float32)
    assert a is not b  # a is still held
    view = b[1:]
    del b
    c = pool.get("t", (4, 4), np.float32)
    assert c is not view.base and c is not a  # a view keeps its buffer busy: a fresh one
    del a
    assert pool.get("t", (4, 4), np.float32) is not None
    big = pool.get("big", (1 << 19,), np.float32)  # 2 MB: over the budget, never pooled
    assert pool.nbytes <= pool.max_bytes and big.shape == (1 << 19,)
    pool.clear()
    assert pool.nbytes == 0


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_padding_buffer_keeps_a_zero_border_across_shapes():
    """'same' with k=4 pads (1, 2): a 6x7 input fills a 9x10 buffer, as a 7x8 input padded
    by 1 does; the second's extra interior row and column must not leak into the first's
    padding when the buffer is reused."""
    w = ax.randn(1, 1, 4, 4)
    for shape, padding in [((6, 7), "same"), ((7, 8), 1), ((6, 7), "same")]:
        x = ax.randn(1, 1, *shape) + 5.0
        out = F.conv2d(x, w, padding=padding)
        ref = TF.conv2d(torch.tensor(x.numpy()), torch.tensor(w.numpy()), padding=padding)
        assert_close(out, ref, rtol=1e-4, atol=1e-4)


# ============================================================ modules


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_module_loads_torch_weights(mode):
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(
        4, 6, (3, 4), stride=1, padding="same", dilation=1, groups=2, padding_mode=mode
    )
    conv = nn.Conv2d(4, 6, (3, 4), padding="same", groups=2, padding_mode=mode)
    conv.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 9)).astype(np.float32)
    assert_close(conv(ax.tensor(x)), ref(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    assert repr(conv) == repr(ref)


def test_conv1d_module_matches_torch():
    torch.manual_seed(0)
    ref = torch.nn.Conv1d(3, 4, 5, stride=2, padding=2, bias=False)
    conv = nn.Conv1d(3, 4, 5, stride=2, padding=2, bias=False)
    conv.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 11)).astype(np.float32)
    assert_close(conv(ax.tensor(x)), ref(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    assert repr(conv) == repr(ref)
    assert set(conv.state_dict()) == {"weight"}


def test_conv2d_init_follows_torch():
    conv = nn.Conv2d(6, 16, 5, groups=2)
    assert conv.weight.shape == (16, 3, 5, 5) and conv.bias.shape == (16,)
    bound = 1 / math.sqrt(3 * 25)  # kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), ...)
    for p in (conv.weight.array, conv.bias.array):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.8 * bound
    assert conv.weight.array.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    ax.manual_seed(3)
    a = nn.Conv2d(2, 3, 3).weight.array
    ax.manual_seed(3)
    assert np.array_equal(a, nn.Conv2d(2, 3, 3).weight.array)


# ============================================================ errors


def test_conv_errors_name_the_shapes():
    msg = helper_test_exception(
        [(2, 3, 8, 8), (6, 1, 5, 5)],
        TF.conv2d,
        F.conv2d,
        match=["conv2d", "3 channels", "expects 1", "(6, 1, 5, 5)"],
    )
    assert "weight shape" in msg
    helper_test_exception(
        [(2, 3, 4, 4), (6, 3, 5, 5)],
        TF.conv2d,
        F.conv2d,
        match=["conv2d", "too small", "(4, 4)", "(5, 5)"],
    )
    helper_test_exception(
        [(2, 3, 8, 8), (6, 3, 3, 3)],
        lambda x, w: TF.conv2d(x, w, stride=2, padding="same"),
        lambda x, w: F.conv2d(x, w, stride=2, padding="same"),
        match=["same", "strided"],
    )
    helper_test_exception(
        [(2, 3, 8, 8), (6, 1, 3, 3)],
        lambda x, w: TF.conv2d(x, w, groups=2),
        lambda x, w: F.conv2d(x, w, groups=2),
        match=["groups=2"],
    )
    helper_test_exception(
        [(2, 3, 8, 8), (6, 3, 3, 3), (5,)], TF.conv2d, F.conv2d, match=["bias", "(5,)"]
    )
    helper_test_exception([(3, 8), (6, 3, 3, 3)], TF.conv2d, F.conv2d, match=["conv2d", "(3, 8)"])
    helper_test_exception(
        [(2, 3, 8, 8), (6, 3, 3, 3)],
        lambda x, w: TF.conv2d(x, w, padding=-1),
        lambda x, w: F.conv2d(x, w, padding=-1),
        match=["negative"],
    )
    helper_test_exception(
        [(2, 3, 8), (6, 3, 3)],
        lambda x, w: TF.conv1d(x, w, stride=0),
        lambda x, w: F.conv1d(x, w, stride=0),
        match=["stride"],
    )
    with pytest.raises(RuntimeError, match="dtype"):
        F.conv2d(ax.randn(1, 3, 5, 5), ax.randn(2, 3, 3, 3, dtype=ax.float64))
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 6, 3, padding_mode="mirror")


def _split_conv_pair(monkeypatch, shape, kw, split):
    """(axon, torch) float64 convolutions of one weight for inputs of ``shape``, on a
    2-thread machine whose convolutions split into batch halves or (``split`` False) not."""
    monkeypatch.setattr(chunking, "product_split_threshold", 0 if split else float("inf"))
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    nd = len(shape) - 2
    tconv = (torch.nn.Conv1d if nd == 1 else torch.nn.Conv2d)(**kw).double()
    conv = (nn.Conv1d if nd == 1 else nn.Conv2d)(**kw, dtype=ax.float64)
    conv.load_state_dict({k: v.detach().numpy() for k, v in tconv.state_dict().items()})
    return conv, tconv


FIRST_LAYER_GRID = [  # (input shape, conv kwargs): C_in, C_out, kernel, stride, padding, ...
    ((7, 1, 12, 12), dict(in_channels=1, out_channels=6, kernel_size=5, padding=2)),
    ((5, 3, 9, 8), dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1)),
    ((6, 4, 10, 10), dict(in_channels=4, out_channels=6, kernel_size=3, dilation=2, groups=2)),
    ((5, 2, 11), dict(in_channels=2, out_channels=3, kernel_size=4, padding=3)),  # 1-D
]


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("chunk_bytes", [1, 3000, chunking.chunk_bytes, 10**12])
@pytest.mark.parametrize("case", FIRST_LAYER_GRID, ids=lambda c: str(c[0]))
def test_first_layer_convolution_in_chunks_matches_torch(monkeypatch, case, chunk_bytes, split):
    """An input that needs no gradient runs in batch chunks and recomputes its columns for
    the weight's gradient: chunks of one item, a few with a shorter last one, the default;
    on one thread or as two batch halves."""
    shape, kw = case
    monkeypatch.setattr(chunking, "chunk_bytes", chunk_bytes)
    conv, tconv = _split_conv_pair(monkeypatch, shape, kw, split)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    y, yt = conv(ax.tensor(x)), tconv(torch.tensor(x))
    assert y.grad_fn.chunk == 1 if chunk_bytes == 1 else y.grad_fn.chunk >= 1  # chunked
    gy = rng.standard_normal(yt.shape)
    (y * ax.tensor(gy)).sum().backward()
    (yt * torch.tensor(gy)).sum().backward()
    assert_close(y, yt.detach(), rtol=1e-10, atol=1e-10)
    assert_close(conv.weight.grad, tconv.weight.grad, rtol=1e-10, atol=1e-10)
    assert_close(conv.bias.grad, tconv.bias.grad, rtol=1e-10, atol=1e-10)
    with ax.no_grad():  # not recording: chunks too, the same output
        assert_close(conv(ax.tensor(x)), yt.detach(), rtol=1e-10, atol=1e-10)
    xg = ax.tensor(x, requires_grad=True)  # an input that needs its gradient: no chunks
    assert conv(xg).grad_fn.chunk == 0


def test_first_layer_chunk_stays_within_chunk_macs(monkeypatch):
    """The chunk grows with chunk_bytes only up to chunk_macs multiply-adds (OpenBLAS's
    unpacked kernels); the results do not depend on where it stops."""
    shape, kw = FIRST_LAYER_GRID[0]  # 6 x 25 x 144 = 21,600 multiply-adds per item
    monkeypatch.setattr(chunking, "chunk_bytes", 10**12)
    monkeypatch.setattr(chunking, "chunk_macs", 3 * 21_600 + 100)
    conv, tconv = _split_conv_pair(monkeypatch, shape, kw, False)
    x = np.random.default_rng(1).standard_normal(shape)
    y, yt = conv(ax.tensor(x)), tconv(torch.tensor(x))
    assert y.grad_fn.chunk == 3  # 7 items: chunks of 3, 3, 1
    y.sum().backward()
    yt.sum().backward()
    assert_close(y, yt.detach(), rtol=1e-10, atol=1e-10)
    assert_close(conv.weight.grad, tconv.weight.grad, rtol=1e-10, atol=1e-10)


PLANES_GRID = [  # stride-1 convolutions whose input's gradient runs plane by plane
    ((5, 6, 14, 14), dict(in_channels=6, out_channels=16, kernel_size=5)),  # LeNet's second
    (
        (4, 4, 9, 8),
        dict(
            in_channels=4,
            out_channels=6,
            kernel_size=(3, 2),
            dilation=(2, 1),
            padding="same",
            groups=2,
        ),
    ),  # asymmetric padding, groups
    ((3, 2, 6, 7), dict(in_channels=2, out_channels=3, kernel_size=(6, 1), padding=(1, 0))),
    ((5, 3, 11), dict(in_channels=3, out_channels=2, kernel_size=4, padding=3, dilation=2)),
]


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("items", [1, 2, None])
@pytest.mark.parametrize("case", PLANES_GRID, ids=lambda c: str(c[0]))
def test_stride_one_input_gradient_by_planes_matches_torch(monkeypatch, case, items, split):
    """dx = a sum over kernel offsets of shifted rows of W^T g laid out in zero planes, in
    chunks of one item, of two with a shorter last one, or of the whole half; each shift
    that reaches back past a plane must land on zeros."""
    shape, kw = case
    conv, tconv = _split_conv_pair(monkeypatch, shape, kw, split)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    xa, xt = ax.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = conv(xa), tconv(xt)
    assert_close(y, yt.detach(), rtol=1e-10, atol=1e-10)
    if items is not None:  # bytes of W^T g per item: G K rows by Hp Wp columns of float64
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, *_ = y.grad_fn.geometry
        monkeypatch.setattr(chunking, "planes_bytes", items * G * K * Hp * Wp * 8)
    gy = rng.standard_normal(yt.shape)
    for _ in range(2):  # twice: reused buffers must still hold their zeros
        xa.grad = None
        xt.grad = None
        conv(xa).backward(ax.tensor(gy))
        tconv(xt).backward(torch.tensor(gy))
        assert_close(xa.grad, xt.grad, rtol=1e-10, atol=1e-10)


def test_stride_one_input_gradient_by_planes_gradcheck():
    rng = np.random.default_rng(2)

    def t(*shape):
        return ax.tensor(rng.standard_normal(shape), requires_grad=True, dtype=ax.float64)

    ax.gradcheck(
        lambda x, w: F.conv2d(x, w, padding=(2, 1), dilation=(1, 2), groups=2),
        [t(3, 4, 5, 6), t(2, 2, 3, 2)],
    )


@pytest.mark.parametrize("narrow_width", [0, 10**6])
@pytest.mark.parametrize(
    "case",
    [
        ((3, 4, 9, 11), dict(stride=(1, 2), dilation=(2, 1), padding=(1, 2), groups=2)),
        ((2, 3, 8, 7), dict(stride=(2, 1), dilation=(1, 2), padding=1)),  # rows at stride 2
        ((4, 2, 6, 6), dict(padding="same", dilation=2)),
    ],
    ids=lambda c: str(c[1]),
)
def test_im2col_by_rows_and_by_offsets_match_torch(monkeypatch, case, narrow_width):
    """Columns copied row-shifts first (stride 1 down the rows, narrow outputs) or one
    strided copy per kernel offset: the same convolution and gradients either way."""
    monkeypatch.setattr(im2col, "narrow_width", narrow_width)
    shape, kw = case
    t_fn, a_fn = _pair(TF.conv2d, F.conv2d, **kw)
    C, g = shape[1], kw.get("groups", 1)
    helper_test_op([shape, (4, C // g, 3, 2), (4,)], t_fn, a_fn)
