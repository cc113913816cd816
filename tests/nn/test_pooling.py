"""Max, average and adaptive-average pooling (1-D and 2-D) against PyTorch: values and
input gradients over strides, padding, dilation, ceil mode and ties; finite differences;
``return_indices``; the modules; error messages."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from axon.backend.numpy import chunking, scratch, threads
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


def _both(name, **kw):
    """(torch fn, axon fn) of one input calling ``name`` with the same keywords."""
    return (lambda x: getattr(TF, name)(x, **kw)), (lambda x: getattr(F, name)(x, **kw))


# (input shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX_GRID = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),  # the common non-overlapping case
    ((1, 2, 9, 7), 2, None, 0, 1, False),  # odd sizes: the last row/column is dropped
    ((2, 2, 9, 7), 2, None, 0, 1, True),  # ceil mode keeps a partial window
    ((2, 3, 8, 8), 3, 2, 1, 1, False),  # overlapping windows with padding
    ((2, 3, 10, 9), (3, 2), (1, 2), (1, 0), 1, True),
    ((2, 2, 11, 11), 3, 2, 1, 2, False),  # dilation
    ((2, 2, 11, 11), 3, 3, 1, (2, 1), True),
    ((2, 2, 6, 6), 2, 3, 0, 1, False),  # stride past the kernel: pixels in no window
    ((2, 2, 7, 6), 2, 2, 1, 1, False),  # 2x2 pairs over a padded border
    ((1, 2, 7, 9), 2, 2, 1, 1, True),
]


@pytest.mark.parametrize("case", MAX_GRID, ids=str)
def test_max_pool2d_matches_torch(case):
    shape, k, s, p, d, ceil = case
    t_fn, a_fn = _both("max_pool2d", kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    helper_test_op([shape], t_fn, a_fn)
    helper_test_op([shape], t_fn, a_fn, dtype=np.float32, layout="transposed")


@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 1, 1), (2, 1, 0)])
def test_max_pool2d_ties_go_to_the_first_max(k, s, p):
    rng = np.random.default_rng(0)
    x = rng.integers(-1, 2, size=(2, 3, 6, 6)).astype(np.float64)  # many ties
    x[0, 0] = 0.0  # whole windows equal
    t_fn, a_fn = _both("max_pool2d", kernel_size=k, stride=s, padding=p)
    helper_test_op(None, t_fn, a_fn, arrays=[x])


@pytest.mark.parametrize("case", [MAX_GRID[0], MAX_GRID[3]], ids=str)
def test_max_pool2d_split_over_two_threads(monkeypatch, case):
    monkeypatch.setattr(chunking, "split_threshold", 0)
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    shape, k, s, p, d, ceil = case
    x = np.random.default_rng(0).integers(-1, 2, size=(5, *shape[1:])).astype(np.float64)
    t_fn, a_fn = _both("max_pool2d", kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    helper_test_op(None, t_fn, a_fn, arrays=[x])


@pytest.mark.parametrize("kernel", [2, 3])
def test_max_pool2d_window_with_nan_outputs_nan_and_sends_no_gradient(kernel):
    """NaN propagates like torch's; unlike torch (which picks the NaN's index), the NaN
    window's gradient is dropped. Every other window matches torch, 2x2 pairs included."""
    x = ax.randn(2, 3, 6, 6, requires_grad=True)
    data = x.detach().numpy()
    data[1, 2, 0, 1] = np.nan
    y = F.max_pool2d(x, kernel)
    y.sum().backward()
    xt = torch.tensor(data, requires_grad=True)
    yt = TF.max_pool2d(xt, kernel)
    yt.sum().backward()
    out, ref = y.detach().numpy(), yt.detach().numpy()
    nan = np.isnan(ref)
    assert nan.sum() == 1 and nan[1, 2, 0, 0] and np.array_equal(np.isnan(out), nan)
    assert_close(out[~nan], ref[~nan])
    grad, gt = x.grad.numpy(), xt.grad.numpy()
    assert not np.isnan(grad).any()
    assert grad[1, 2, :kernel, :kernel].sum() == 0
    gt[1, 2, :kernel, :kernel] = 0  # torch's gradient of the NaN window, dropped
    assert_close(grad, gt)


def test_max_pool2d_after_relu_ties_at_zero():
    x = ax.randn(2, 4, 8, 8, requires_grad=True)
    F.max_pool2d(F.relu(x - 1.0), 2).sum().backward()
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    TF.max_pool2d(TF.relu(xt - 1.0), 2).sum().backward()
    assert_close(x.grad, xt.grad)


@pytest.mark.parametrize(
    "case", [(2, None, 0, 1, False), (3, 2, 1, 2, True), (4, 1, 2, 1, False)], ids=str
)
def test_max_pool1d_matches_torch(case):
    k, s, p, d, ceil = case
    t_fn, a_fn = _both("max_pool1d", kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    helper_test_op([(2, 3, 13)], t_fn, a_fn)
    helper_test_op([(3, 13)], t_fn, a_fn)  # unbatched


@pytest.mark.parametrize("case", MAX_GRID[:5] + [MAX_GRID[6]], ids=str)
def test_max_pool_return_indices(case):
    shape, k, s, p, d, ceil = case
    x = np.random.default_rng(0).integers(0, 3, size=shape).astype(np.float32)  # with ties
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil, return_indices=True)
    out, idx = F.max_pool2d(ax.tensor(x), **kw)
    t_out, t_idx = TF.max_pool2d(torch.tensor(x), **kw)
    assert_close(out, t_out)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    out1, idx1 = F.max_pool1d(ax.tensor(x[0]), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(
        idx1.numpy(), TF.max_pool1d(torch.tensor(x[0]), 3, 2, 1, return_indices=True)[1].numpy()
    )


# (input shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_GRID = [
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((2, 3, 9, 7), 3, 2, 1, False, True, None),
    ((2, 3, 9, 7), 3, 2, 1, False, False, None),
    ((2, 2, 10, 9), (3, 2), (2, 3), (1, 1), True, True, None),  # windows past the padding
    ((2, 2, 10, 9), (3, 2), (2, 3), (1, 1), True, False, None),
    ((2, 2, 7, 7), 3, 1, 1, False, True, 5),
    ((1, 2, 5, 5), 2, 3, 0, True, True, None),
]


@pytest.mark.parametrize("case", AVG_GRID, ids=str)
def test_avg_pool2d_matches_torch(case):
    shape, k, s, p, ceil, incl, div = case
    t_fn, a_fn = _both(
        "avg_pool2d",
        kernel_size=k,
        stride=s,
        padding=p,
        ceil_mode=ceil,
        count_include_pad=incl,
        divisor_override=div,
    )
    helper_test_op([shape], t_fn, a_fn)
    helper_test_op([shape[1:]], t_fn, a_fn, dtype=np.float32, layout="strided")  # unbatched


@pytest.mark.parametrize("case", [(3, None, 1, False, True), (4, 3, 2, True, False)], ids=str)
def test_avg_pool1d_matches_torch(case):
    k, s, p, ceil, incl = case
    t_fn, a_fn = _both(
        "avg_pool1d", kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=incl
    )
    helper_test_op([(2, 3, 14)], t_fn, a_fn)


@pytest.mark.parametrize(
    "in_hw, out_size",
    [
        ((8, 8), 4),
        ((7, 10), (3, 4)),
        ((5, 9), (None, 2)),
        ((3, 4), (5, 7)),
        ((6, 6), 1),
        ((7, 5), (7, 5)),
    ],
    ids=str,
)
def test_adaptive_avg_pool2d_matches_torch(in_hw, out_size):
    t_fn, a_fn = _both("adaptive_avg_pool2d", output_size=out_size)
    helper_test_op([(2, 3, *in_hw)], t_fn, a_fn)
    helper_test_op([(3, *in_hw)], t_fn, a_fn, dtype=np.float32, layout="transposed")


@pytest.mark.parametrize("out_size", [1, 4, 5, 13])
def test_adaptive_avg_pool1d_matches_torch(out_size):
    t_fn, a_fn = _both("adaptive_avg_pool1d", output_size=out_size)
    helper_test_op([(2, 3, 11)], t_fn, a_fn)


def test_pool_gradcheck():
    rng = np.random.default_rng(0)
    x = ax.tensor(rng.standard_normal((2, 2, 7, 6)), requires_grad=True)  # float64, no ties
    x1 = ax.tensor(rng.standard_normal((2, 2, 9)), requires_grad=True)
    ax.gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, dilation=(1, 2), ceil_mode=True), [x])
    ax.gradcheck(lambda a: F.max_pool2d(a, 2), [x])
    ax.gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    ax.gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), [x])
    ax.gradcheck(lambda a: F.max_pool1d(a, 3, 2, 1), [x1])
    ax.gradcheck(lambda a: F.avg_pool1d(a, 2, 1), [x1])
    ax.gradcheck(lambda a: F.adaptive_avg_pool1d(a, 4), [x1])


def test_pooling_modules_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(2, count_include_pad=False), torch.nn.AvgPool2d(2, count_include_pad=False)),
        (nn.AdaptiveAvgPool2d((None, 4)), torch.nn.AdaptiveAvgPool2d((None, 4))),
        (nn.MaxPool1d(2), torch.nn.MaxPool1d(2)),
        (nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1)),
        (nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4)),
    ]
    for ours, theirs in pairs:
        inp = x if "2d" in type(ours).__name__ else x[:, :, 0]
        assert_close(ours(ax.tensor(inp)), theirs(torch.tensor(inp)), msg=repr(ours))
        assert repr(ours) == repr(theirs)
    out, idx = nn.MaxPool2d(2, return_indices=True)(ax.tensor(x))
    assert out.shape == idx.shape == (2, 3, 4, 4)


def test_pooling_output_is_float32_and_channel_major_is_invisible():
    x = ax.randn(2, 3, 8, 8, requires_grad=True)
    y = F.max_pool2d(F.avg_pool2d(x, 2, 1), 2)
    assert y.dtype == np.float32 and y.shape == (2, 3, 3, 3)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == (2, 3, 8, 8)


def test_pooling_errors():
    helper_test_exception(
        [(2, 3, 4, 4)],
        lambda x: TF.max_pool2d(x, 5),
        lambda x: F.max_pool2d(x, 5),
        match=["max_pool2d", "too small"],
    )
    helper_test_exception(
        [(2, 3, 4, 4)],
        lambda x: TF.avg_pool2d(x, 5),
        lambda x: F.avg_pool2d(x, 5),
        match=["avg_pool2d", "too small"],
    )
    helper_test_exception(
        [(2, 3, 4, 4)],
        lambda x: TF.max_pool2d(x, 3, padding=2),
        lambda x: F.max_pool2d(x, 3, padding=2),
        match=["pad should be at most half", "pad=2"],
    )
    helper_test_exception(
        [(2, 3, 4, 4)],
        lambda x: TF.max_pool2d(x, 2, stride=0),
        lambda x: F.max_pool2d(x, 2, stride=0),
        match=["stride"],
    )
    helper_test_exception(
        [(4, 4)], lambda x: TF.max_pool2d(x, 2), lambda x: F.max_pool2d(x, 2), match=["(4, 4)"]
    )
