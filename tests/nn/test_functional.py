"""``axon.nn.functional`` (activations, linear, dropout, one_hot, pad) against
``torch.nn.functional``. The losses are in ``test_loss.py``."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from tests.autograd.parity import helper_test_op
from tests.helpers import assert_close

# name -> (torch function, axon function), both taking one tensor
ACTIVATIONS = {
    "relu": (TF.relu, F.relu),
    "sigmoid": (TF.sigmoid, F.sigmoid),
    "tanh": (TF.tanh, F.tanh),
    "leaky_relu": (TF.leaky_relu, F.leaky_relu),
    "leaky_relu_0.2": (
        lambda x: TF.leaky_relu(x, negative_slope=0.2),
        lambda x: F.leaky_relu(x, negative_slope=0.2),
    ),
    "elu_1.5": (lambda x: TF.elu(x, alpha=1.5), lambda x: F.elu(x, alpha=1.5)),
    "softplus_2_1": (
        lambda x: TF.softplus(x, beta=2.0, threshold=1.0),
        lambda x: F.softplus(x, beta=2.0, threshold=1.0),
    ),
    "gelu": (TF.gelu, F.gelu),
    "gelu_tanh": (
        lambda x: TF.gelu(x, approximate="tanh"),
        lambda x: F.gelu(x, approximate="tanh"),
    ),
    "softmax_0": (lambda x: TF.softmax(x, dim=0), lambda x: F.softmax(x, dim=0)),
    "softmax_-1": (lambda x: TF.softmax(x, dim=-1), lambda x: F.softmax(x, dim=-1)),
    "log_softmax_1": (lambda x: TF.log_softmax(x, dim=1), lambda x: F.log_softmax(x, dim=1)),
}

KINKS = [[-50.0, -3.0, -1e-3, 0.0, 1e-3, 0.5, 3.0, 50.0], [0.0, 0.0, 1.0, 1.0, -2, -2, 7, 0]]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(name, dtype):
    t_fn, a_fn = ACTIVATIONS[name]
    helper_test_op([(3, 4, 5)], t_fn, a_fn, dtype=dtype, low=-3, high=3)
    helper_test_op(None, t_fn, a_fn, arrays=[KINKS], dtype=dtype)  # kinks, ties, +-50


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu"])
def test_inplace_activation_writes_into_its_input(name):
    x = ax.tensor([[-1.0, 0.0, 2.0]])
    out = getattr(F, name)(x, inplace=True)
    assert out is x
    assert_close(x, getattr(TF, name)(torch.tensor([[-1.0, 0.0, 2.0]])))


def test_inplace_activation_keeps_the_gradient():
    w = ax.tensor([[-1.0, 0.5, 2.0]], requires_grad=True)
    y = w * 2
    F.relu(y, inplace=True)
    y.sum().backward()
    assert_close(w.grad, [[0.0, 2.0, 2.0]])
    with pytest.raises(RuntimeError, match="in-place"):
        F.relu(w, inplace=True)  # a leaf that requires grad, as in torch


def test_softmax_without_dim_warns_and_picks_torchs_dim():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    for shape in [(5,), (2, 3), (2, 3, 4), (2, 3, 4, 2)]:
        x = np.random.default_rng(0).normal(size=shape)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            out = F.softmax(ax.tensor(x))
        with pytest.warns(UserWarning):
            expected = TF.softmax(torch.tensor(x))
        assert_close(out, expected)
    with pytest.warns(UserWarning):
        assert_close(F.log_softmax(ax.tensor(x)), TF.log_softmax(torch.tensor(x), dim=1))


def test_softmax_dtype_argument():
    x = ax.tensor([[1.0, 2.0, 3.0]])
    out = F.softmax(x, dim=1, dtype=ax.float64)
    assert out.dtype == np.float64
    assert_close(out, TF.softmax(torch.tensor([[1.0, 2.0, 3.0]]), dim=1, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_matches_torch(dtype):
    helper_test_op([(4, 3), (5, 3), (5,)], TF.linear, F.linear, dtype=dtype)
    helper_test_op([(2, 4, 3), (5, 3)], TF.linear, F.linear, dtype=dtype)


# ------------------------------------------------------------------ dropout


def test_dropout_is_inverted_and_unbiased():
    x = ax.ones(200, 500)
    out = F.dropout(x, p=0.3)
    kept = out.array != 0
    assert_close(out.array[kept], np.full(kept.sum(), 1 / 0.7), rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.01
    assert abs(out.array.mean() - 1.0) < 0.02
    assert out.dtype == np.float32


def test_dropout_gradient_is_the_mask():
    x = ax.randn(50, 40, requires_grad=True)
    out = F.dropout(x, p=0.5)
    out.backward(np.ones(out.shape, dtype=np.float32))
    mask = (out.array != 0) * 2.0
    assert_close(x.grad, mask)
    assert 0.4 < (mask != 0).mean() < 0.6


def test_dropout_is_reproducible_with_the_seed():
    ax.manual_seed(3)
    a = F.dropout(ax.ones(10, 10)).array
    b = F.dropout(ax.ones(10, 10)).array
    ax.manual_seed(3)
    assert np.array_equal(F.dropout(ax.ones(10, 10)).array, a)
    assert not np.array_equal(a, b)


def test_dropout_edge_cases():
    x = ax.randn(4, 5, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert_close(F.dropout(x, 0.0), x)
    zero = F.dropout(x, 1.0)
    assert not zero.array.any()
    zero.sum().backward()
    assert not x.grad.array.any()
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p)


def test_dropout_inplace():
    x = ax.ones(20, 20)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    assert set(np.unique(x.array)) <= {0.0, 2.0}


# ------------------------------------------------------------------ one_hot and pad


def test_one_hot_matches_torch():
    idx = np.array([[0, 2], [1, 4]])
    for n in (-1, 6):
        out = F.one_hot(ax.tensor(idx), n)
        expected = TF.one_hot(torch.tensor(idx), n).numpy()
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.array, expected)


def test_one_hot_rejects_bad_classes():
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(ax.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(ax.tensor([0, -1]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(ax.tensor([0.0, 1.0]))


@pytest.mark.parametrize(
    "pad,value", [((1, 2), 0.0), ((1, 1, 2, 0), -1.5), ((0, 0, 1, 1, 1, 0), 3.0), ((-1, 2), 0.0)]
)
def test_pad_constant_matches_torch(pad, value):
    helper_test_op(
        [(2, 3, 4)], lambda x: TF.pad(x, pad, value=value), lambda x: F.pad(x, pad, value=value)
    )


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (2, 1)), ((1, 2, 4, 5), (1, 2, 3, 1))])
def test_pad_modes_match_torch(mode, shape, pad):
    helper_test_op([shape], lambda x: TF.pad(x, pad, mode=mode), lambda x: F.pad(x, pad, mode=mode))


def test_pad_rejects_bad_padding():
    with pytest.raises(RuntimeError, match="less than"):
        F.pad(ax.ones(1, 2, 3), (3, 3), mode="reflect")
    with pytest.raises(RuntimeError, match="more than once"):
        F.pad(ax.ones(1, 2, 3), (4, 4), mode="circular")
    with pytest.raises(NotImplementedError):
        F.pad(ax.ones(1, 2, 3), (1, 1), mode="wrap")
