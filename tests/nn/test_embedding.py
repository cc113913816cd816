"""``nn.Embedding`` and ``functional.embedding`` against torch; the row scatter-add."""

import numpy as np
import pytest
import torch

import axon as ax
import axon.nn.functional as F
from axon import nn
from axon.autograd.ops.embedding import _ONE_HOT_MAX_ROWS, scatter_add_rows
from tests.helpers import assert_close


def _pair(num, dim, padding_idx=None, dtype=np.float32, seed=0, **kw):
    """The same table in axon and torch."""
    w = np.random.default_rng(seed).standard_normal((num, dim)).astype(dtype)
    a = nn.Embedding(num, dim, padding_idx=padding_idx, _weight=w.copy(), **kw)
    t = torch.nn.Embedding(num, dim, padding_idx=padding_idx, _weight=torch.tensor(w), **kw)
    return a, t


def _compare(a, t, idx, seed=1, rtol=1e-5, atol=1e-6):
    """Forward and weight gradient (for a random upstream gradient) of both modules."""
    out_a, out_t = a(ax.tensor(idx)), t(torch.tensor(idx))
    assert out_a.shape == tuple(out_t.shape)
    assert_close(out_a, out_t)
    g = np.random.default_rng(seed).standard_normal(out_t.shape).astype(out_a.dtype)
    out_a.backward(g)
    out_t.backward(torch.tensor(g))
    assert_close(a.weight.grad, t.weight.grad, rtol=rtol, atol=atol, msg="weight grad:")


# small V takes the one-hot product, large V the flat np.add.at
@pytest.mark.parametrize("num", [7, _ONE_HOT_MAX_ROWS + 1, 1000])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
def test_matches_torch_any_index_shape(num, shape):
    idx = np.random.default_rng(2).integers(0, num, shape)
    _compare(*_pair(num, 6), idx)


@pytest.mark.parametrize("num", [5, 300])
def test_repeated_indices_add_up(num):
    idx = np.array([[1, 1, 1, 4], [4, 1, 0, 1]])  # row 1 picked five times, row 4 twice
    a, t = _pair(num, 3)
    _compare(a, t, idx)
    out = a(ax.tensor(idx))
    a.weight.grad = None
    out.sum().backward()
    assert_close(
        a.weight.grad.array[[0, 1, 2, 4]], np.array([[1.0] * 3, [5.0] * 3, [0.0] * 3, [2.0] * 3])
    )


@pytest.mark.parametrize("num", [6, 500])
@pytest.mark.parametrize("padding_idx", [0, 3, -1])
def test_padding_row_gets_no_gradient(num, padding_idx):
    idx = np.array([[0, 3, 3, num - 1], [2, 0, num - 1, 3]])
    a, t = _pair(num, 4, padding_idx=padding_idx)
    _compare(a, t, idx)
    row = padding_idx % num
    assert not a.weight.grad.array[row].any()


def test_padding_row_starts_at_zero_and_init_is_standard_normal():
    e = nn.Embedding(2000, 50, padding_idx=7)
    w = e.weight.array
    assert w.shape == (2000, 50) and w.dtype == np.float32
    assert not w[7].any()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02
    assert e.weight.requires_grad
    assert list(e.state_dict()) == ["weight"]
    assert repr(e) == "Embedding(2000, 50, padding_idx=7)"


def test_loads_a_torch_state_dict():
    t = torch.nn.Embedding(11, 5, padding_idx=2)
    a = nn.Embedding(11, 5, padding_idx=2)
    a.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    idx = np.array([[2, 10, 0]])
    assert_close(a(ax.tensor(idx)), t(torch.tensor(idx)))


def test_scale_grad_by_freq_matches_torch():
    idx = np.array([[1, 1, 2, 0], [1, 3, 2, 0]])
    _compare(*_pair(6, 3, padding_idx=0, scale_grad_by_freq=True), idx)
    _compare(*_pair(400, 3, scale_grad_by_freq=True), idx)


def test_max_norm_renormalises_looked_up_rows_in_place_like_torch():
    a, t = _pair(8, 4, max_norm=1.0, dtype=np.float64)
    idx = np.array([[1, 2, 2], [5, 1, 7]])
    _compare(a, t, idx)
    assert_close(a.weight, t.weight.detach(), rtol=1e-7, atol=1e-9)
    norms = np.linalg.norm(a.weight.array, axis=1)
    assert (norms[[1, 2, 5, 7]] <= 1.0 + 1e-6).all()
    assert (norms[[0, 3, 4, 6]] > 1.0).any()  # rows not looked up are left alone


def test_from_pretrained_freezes_and_keeps_the_given_rows():
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    e = nn.Embedding.from_pretrained(ax.tensor(w), padding_idx=1)
    assert not e.weight.requires_grad
    assert_close(e.weight, w)  # the padding row is not zeroed
    assert (e.num_embeddings, e.embedding_dim, e.padding_idx) == (4, 3, 1)
    out = e(ax.tensor(np.array([1, 3])))
    assert not out.requires_grad
    assert_close(out, w[[1, 3]])
    trainable = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    trainable(ax.tensor(np.array([1, 1, 2]))).sum().backward()
    assert_close(trainable.weight.grad, np.array([[0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]]))
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(np.zeros(3, np.float32))


@pytest.mark.parametrize("bad", [10, 11, -1])
def test_out_of_range_index_names_the_index_and_the_size(bad):
    e = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=rf"index {bad} is out of range .* size 10"):
        e(ax.tensor(np.array([[0, bad], [2, 3]])))
    with pytest.raises(IndexError):  # torch refuses the same index
        torch.nn.Embedding(10, 3)(torch.tensor([[0, bad], [2, 3]]))


def test_bad_arguments():
    with pytest.raises(TypeError, match="integer indices"):
        nn.Embedding(5, 2)(ax.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx must be within"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="does not match"):
        nn.Embedding(5, 2, _weight=np.zeros((4, 2), np.float32))
    with pytest.raises(NotImplementedError):
        nn.Embedding(5, 2, sparse=True)


def test_functional_embedding_and_int32_indices():
    w = ax.tensor(np.random.default_rng(0).standard_normal((9, 4)), requires_grad=True)
    idx = np.array([[8, 0, 8]], dtype=np.int32)
    out = F.embedding(ax.tensor(idx), w, padding_idx=-1)
    t_w = torch.tensor(w.array, requires_grad=True)
    t_out = torch.nn.functional.embedding(torch.tensor(idx), t_w, padding_idx=8)
    assert_close(out, t_out, rtol=1e-12, atol=1e-12)
    out.sum().backward()
    t_out.sum().backward()
    assert_close(w.grad, t_w.grad, rtol=1e-12, atol=1e-12)


def test_gradcheck_float64():
    w = ax.tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    idx = ax.tensor(np.array([[0, 4, 4], [2, 0, 1]]))
    assert ax.gradcheck(lambda w: F.embedding(idx, w), (w,))  # (padding breaks it by design)


# ----------------------------------------------------------------------------- scatter-add


@pytest.mark.parametrize("num_rows", [1, 3, _ONE_HOT_MAX_ROWS, _ONE_HOT_MAX_ROWS + 1, 5000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_rows_both_paths_equal_add_at(num_rows, dtype):
    rng = np.random.default_rng(num_rows)
    index = rng.integers(0, num_rows, 300)
    src = rng.standard_normal((300, 7)).astype(dtype)
    expected = np.zeros((num_rows, 7), dtype)
    np.add.at(expected, index, src)
    out = scatter_add_rows(index, src, num_rows)
    assert out.dtype == dtype and out.shape == (num_rows, 7)
    assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert scatter_add_rows(index[:0], src[:0], num_rows).shape == (num_rows, 7)


def test_a_non_finite_gradient_row_stays_in_its_row():
    index = np.array([0, 1, 1, 2])
    src = np.ones((4, 2), np.float32)
    src[1, 0] = np.inf
    out = scatter_add_rows(index, src, 4)  # the one-hot product would make 0 * inf = NaN
    assert np.isposinf(out[1, 0])
    assert_close(np.delete(out.ravel(), 2), [1, 1, 2, 1, 1, 0, 0])


def test_scatter_add_rows_in_several_chunks():
    rng = np.random.default_rng(0)
    index = rng.integers(0, 700, 5000)  # 5000 x 30 elements: three np.add.at calls
    src = rng.standard_normal((5000, 30))
    expected = np.zeros((700, 30))
    np.add.at(expected, index, src)
    assert_close(scatter_add_rows(index, src, 700), expected, rtol=1e-12, atol=1e-12)
