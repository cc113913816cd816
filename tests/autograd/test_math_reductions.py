"""Scans and reductions of ``axon.autograd.math_api`` vs torch: cumsum, cumprod (zeros
included), cummax/cummin, logcumsumexp, prod, mean(dtype), nansum/nanmean,
std_mean/var_mean, aminmax, count_nonzero, all/any; forward, gradients, float64
gradcheck, dtypes and torch's errors."""

import math

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op

SCANS = ["cumsum", "cumprod", "logcumsumexp"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", SCANS)
def test_scans(name, dim, dtype):
    helper_test_op(
        [(3, 4, 5)],
        lambda x: getattr(torch, name)(x, dim),
        lambda x: getattr(ax, name)(x, dim),
        dtype=dtype,
        low=0.5,
        high=1.5,
    )
    helper_test_op([(4, 3)], lambda x: getattr(x, name)(dim=dim), dtype=dtype, layout="transposed")


@pytest.mark.parametrize("name", SCANS + ["cummax", "cummin"])
def test_scan_gradcheck(name):
    x = ax.from_numpy(np.random.default_rng(3).uniform(-2, 2, (3, 4))).requires_grad_()
    fn = getattr(ax, name)
    assert ax.gradcheck(lambda t: fn(t, 1) if name in SCANS else fn(t, 1).values, [x])


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradient_with_zeros(dim):
    x = [
        [2.0, 0.0, 3.0, 0.0, 1.5],
        [0.0, 1.5, -2.0, 0.5, 4.0],
        [1.0, -2.0, 0.5, 3.0, 0.0],
        [0.0, 0.0, 2.0, 1.0, 3.0],
    ]
    helper_test_op(None, lambda t: torch.cumprod(t, dim), lambda t: ax.cumprod(t, dim), arrays=[x])
    assert ax.gradcheck(
        lambda t: ax.cumprod(t, dim), [ax.tensor(x, dtype=ax.float64, requires_grad=True)]
    )


def test_logcumsumexp_is_stable_for_large_values():
    x = [[800.0, -800.0, 801.0, 3.0], [-1000.0, -999.0, 0.0, 1000.0]]
    helper_test_op(
        None, lambda t: torch.logcumsumexp(t, 1), lambda t: ax.logcumsumexp(t, 1), arrays=[x]
    )


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cummax_cummin_with_ties(name, dtype):
    x = [[1.0, 3.0, 3.0, 2.0, 5.0, 5.0], [4.0, 4.0, 1.0, 1.0, 0.5, 6.0]]
    helper_test_op(
        None,
        lambda t: tuple(getattr(torch, name)(t, 1)),
        lambda t: tuple(getattr(ax, name)(t, 1)),
        arrays=[x],
        dtype=dtype,
    )
    helper_test_op(None, lambda t: tuple(getattr(t, name)(0)), arrays=[x], dtype=dtype)
    out = getattr(ax, name)(ax.tensor(x), dim=1)
    values, indices = out
    assert out.values is values and out.indices is indices


def test_cummax_with_nan_and_integers():
    x = torch.tensor([1.0, math.nan, 2.0, math.nan, 3.0])
    want, got = torch.cummax(x, 0), ax.cummax(ax.tensor(x.numpy()), 0)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())  # NaN where torch
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    ints = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]])
    helper_test_op(
        None,
        lambda t: tuple(torch.cummin(t, 1)),
        lambda t: tuple(ax.cummin(t, 1)),
        arrays=[ints],
        forward_only=True,
    )


def test_scan_dtypes():
    ints = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    helper_test_op(
        None,
        lambda t: (
            torch.cumsum(t, 1),
            torch.cumprod(t, 0),
            torch.cumsum(t, 0, dtype=torch.float64),
        ),
        lambda t: (ax.cumsum(t, 1), ax.cumprod(t, 0), ax.cumsum(t, 0, dtype=ax.float64)),
        arrays=[ints],
        forward_only=True,
    )
    helper_test_op(
        [(2, 3)],
        lambda t: torch.cumsum(t, 1, dtype=torch.float64),
        lambda t: ax.cumsum(t, 1, dtype=ax.float64),
        dtype=np.float32,
    )


def test_scans_of_a_0d_tensor():
    helper_test_op(
        [()],
        lambda t: (
            torch.cumsum(t, 0),
            torch.cumprod(t, -1),
            torch.cummax(t, 0).values,
            torch.logcumsumexp(t, 0),
        ),
        lambda t: (
            ax.cumsum(t, 0),
            ax.cumprod(t, -1),
            ax.cummax(t, 0).values,
            ax.logcumsumexp(t, 0),
        ),
    )


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"])
def test_scan_dim_errors(name):
    helper_test_exception(
        [(2, 3)],
        lambda t: getattr(torch, name)(t, 2),
        lambda t: getattr(ax, name)(t, 2),
        exact=IndexError,
        match=["[-2, 1]", "2"],
    )
    helper_test_exception(
        [(2, 3)],
        lambda t: getattr(torch, name)(t, None),
        lambda t: getattr(ax, name)(t, None),
        exact=TypeError,
        match=["dim", "NoneType"],
    )


def test_logcumsumexp_refuses_integers():
    helper_test_exception(
        None,
        lambda t: torch.logcumsumexp(t, 0),
        lambda t: ax.logcumsumexp(t, 0),
        arrays=[np.array([1, 2])],
        exact=NotImplementedError,
        match=["logcumsumexp", "Long"],
    )


# ----------------------------------------------------------------- reductions
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_prod(dtype):
    helper_test_op(
        [(3, 4)],
        lambda t: (
            torch.prod(t),
            t.prod(1),
            torch.prod(t, 0, keepdim=True),
            t.prod(dim=-1, keepdim=False),
        ),
        lambda t: (
            ax.prod(t),
            t.prod(1),
            ax.prod(t, 0, keepdim=True),
            t.prod(dim=-1, keepdim=False),
        ),
        dtype=dtype,
        low=0.5,
        high=1.5,
    )


def test_prod_gradient_with_zeros():
    # rows with no zero, one zero and two zeros
    x = [[2.0, 3.0, -1.5, 0.5], [2.0, 0.0, -1.5, 0.5], [0.0, 3.0, 0.0, 0.5]]
    helper_test_op(
        None, lambda t: (t.prod(1), torch.prod(t)), lambda t: (t.prod(1), ax.prod(t)), arrays=[x]
    )
    helper_test_op(None, lambda t: t.prod(0), arrays=[x])
    x64 = ax.tensor(x, dtype=ax.float64, requires_grad=True)
    assert ax.gradcheck(lambda t: ax.prod(t, 1), [x64])
    assert ax.gradcheck(lambda t: ax.prod(t[1]), [x64])


def test_prod_dtypes():
    ints = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    helper_test_op(
        None,
        lambda t: (torch.prod(t), t.prod(1), t.prod(0, dtype=torch.float64)),
        lambda t: (ax.prod(t), t.prod(1), t.prod(0, dtype=ax.float64)),
        arrays=[ints],
        forward_only=True,
    )


def test_mean_dtype_and_integer_error():
    helper_test_op(
        [(3, 4)],
        lambda t: (t.mean(dtype=torch.float64), torch.mean(t, (0, 1)), t.mean(-1, keepdim=True)),
        lambda t: (t.mean(dtype=ax.float64), ax.mean(t, (0, 1)), t.mean(-1, keepdim=True)),
        dtype=np.float32,
    )
    helper_test_op(
        None,
        lambda t: t.mean(dtype=torch.float32),
        lambda t: t.mean(dtype=ax.float32),
        arrays=[np.array([1, 2, 4])],
        forward_only=True,
    )
    helper_test_exception(
        None, torch.mean, ax.mean, arrays=[np.array([1, 2])], match=["mean", "Long"]
    )
    helper_test_exception([(2, 3)], lambda t: t.mean((0, 0)), match=["multiple times"])
    helper_test_exception([(2, 3)], lambda t: t.mean(3), exact=IndexError, match=["[-2, 1]"])


def test_nansum_and_nanmean():
    x = [[1.0, math.nan, 3.0], [math.nan, math.nan, 2.0], [0.5, -1.0, 4.0]]
    helper_test_op(
        None,
        lambda t: (
            torch.nansum(t),
            t.nansum(1),
            torch.nansum(t, 0, True),
            torch.nanmean(t),
            t.nanmean(1),
            t.nanmean((0, 1)),
        ),
        lambda t: (
            ax.nansum(t),
            t.nansum(1),
            ax.nansum(t, 0, True),
            ax.nanmean(t),
            t.nanmean(1),
            t.nanmean((0, 1)),
        ),
        arrays=[x],
    )
    helper_test_op(
        None,
        lambda t: (torch.nansum(t), t.nansum(0)),
        lambda t: (ax.nansum(t), t.nansum(0)),
        arrays=[np.array([[1, 2], [3, 4]], np.int32)],
        forward_only=True,
    )
    helper_test_exception(
        None, torch.nanmean, ax.nanmean, arrays=[np.array([1, 2])], match=["nanmean", "Long"]
    )


@pytest.mark.parametrize("name", ["std_mean", "var_mean"])
def test_std_mean_and_var_mean(name):
    t_fn, a_fn = getattr(torch, name), getattr(ax, name)
    helper_test_op([(4, 5)], lambda t: t_fn(t), lambda t: a_fn(t))
    helper_test_op(
        [(4, 5)],
        lambda t: t_fn(t, 1, correction=0, keepdim=True),
        lambda t: a_fn(t, 1, correction=0, keepdim=True),
        dtype=np.float32,
    )
    helper_test_op(
        [(4, 5)],
        lambda t: t_fn(t, (0, 1), unbiased=False),
        lambda t: a_fn(t, (0, 1), unbiased=False),
    )
    helper_test_op([(4, 5)], lambda t: t_fn(t, 0, True), lambda t: a_fn(t, 0, True))
    helper_test_op([(4, 5)], lambda t: t_fn(t, False), lambda t: a_fn(t, False))


def test_aminmax():
    x = [[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]]  # ties share the gradient
    helper_test_op(
        None, lambda t: tuple(torch.aminmax(t)), lambda t: tuple(ax.aminmax(t)), arrays=[x]
    )
    helper_test_op(
        None, lambda t: tuple(t.aminmax(dim=1, keepdim=True)), arrays=[x], dtype=np.float32
    )
    helper_test_op(
        None,
        lambda t: tuple(torch.aminmax(t, dim=-2)),
        lambda t: tuple(ax.aminmax(t, dim=-2)),
        arrays=[x],
    )
    out = ax.aminmax(ax.tensor(x))
    assert out.min.item() == -1.0 and out.max.item() == 3.0


def test_aminmax_errors():
    helper_test_exception(
        None,
        lambda t: torch.aminmax(t),
        lambda t: ax.aminmax(t),
        arrays=[np.ones((2, 0))],
        match=["aminmax", "empty"],
    )
    helper_test_exception(
        None,
        lambda t: torch.aminmax(t, dim=1),
        lambda t: ax.aminmax(t, dim=1),
        arrays=[np.ones((2, 0))],
        exact=IndexError,
        match=["aminmax", "dim 1"],
    )


def test_count_nonzero():
    x = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, -3.0]])
    helper_test_op(
        None,
        lambda t: (
            torch.count_nonzero(t),
            t.count_nonzero(1),
            torch.count_nonzero(t, dim=(0, 1)),
            t.count_nonzero(-2),
        ),
        lambda t: (
            ax.count_nonzero(t),
            t.count_nonzero(1),
            ax.count_nonzero(t, dim=(0, 1)),
            t.count_nonzero(-2),
        ),
        arrays=[x],
        forward_only=True,
    )


@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any(name):
    x = np.array([[[1.0, 0.0], [2.0, 3.0]], [[0.0, 0.0], [1.0, 1.0]]])
    t_fn, a_fn = getattr(torch, name), getattr(ax, name)
    helper_test_op(
        None,
        lambda t: (t_fn(t), t_fn(t, dim=(0, 2)), t_fn(t, 1, keepdim=True), getattr(t, name)(-1)),
        lambda t: (a_fn(t), a_fn(t, dim=(0, 2)), a_fn(t, 1, keepdim=True), getattr(t, name)(-1)),
        arrays=[x],
        forward_only=True,
    )
    helper_test_op(
        None,
        lambda t: (t_fn(t), t_fn(t, 0)),
        lambda t: (a_fn(t), a_fn(t, 0)),
        arrays=[np.array([[1, 0], [2, 3]], np.uint8)],
        forward_only=True,
    )
    helper_test_exception(
        [(2, 3)], lambda t: t_fn(t, 2), lambda t: a_fn(t, 2), exact=IndexError, match=["[-2, 1]"]
    )


def test_sum_dtype_casts_before_summing():
    x = np.full(10_000, 0.1, np.float32)
    helper_test_op(
        None,
        lambda t: (t.sum(dtype=torch.float64), torch.sum(t, 0, dtype=torch.float64)),
        lambda t: (t.sum(dtype=ax.float64), ax.sum(t, 0, dtype=ax.float64)),
        arrays=[x],
        dtype=np.float32,
        rtol=1e-12,
        atol=1e-12,
    )
    helper_test_op(
        None,
        lambda t: (t.sum(), t.sum((0, 1)), torch.sum(t, 1, True)),
        lambda t: (t.sum(), t.sum((0, 1)), ax.sum(t, 1, True)),
        arrays=[np.array([[1, 2], [3, 4]], np.int32)],
        forward_only=True,
    )
    helper_test_exception([(2, 3)], lambda t: t.sum((1, -1)), match=["multiple times"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_diff(dtype):
    helper_test_op(
        [(3, 5)],
        lambda t: (torch.diff(t), t.diff(n=2, dim=0), torch.diff(t, n=3)),
        lambda t: (ax.diff(t), t.diff(n=2, dim=0), ax.diff(t, n=3)),
        dtype=dtype,
    )
    helper_test_op(
        [(3, 5), (3, 1), (3, 2)],
        lambda t, p, a: torch.diff(t, dim=1, prepend=p, append=a),
        lambda t, p, a: ax.diff(t, dim=1, prepend=p, append=a),
        dtype=dtype,
    )


def test_diff_integers_bools_and_errors():
    helper_test_op(
        None,
        lambda t, b: (torch.diff(t), torch.diff(t, n=5), torch.diff(b)),
        lambda t, b: (ax.diff(t), ax.diff(t, n=5), ax.diff(b)),
        arrays=[np.array([[1, 3, 6], [2, 2, 9]]), np.array([True, False, False])],
        forward_only=True,
    )
    helper_test_exception([()], torch.diff, ax.diff, match=["one-dimensional"])
    helper_test_exception(
        [(3,)], lambda t: torch.diff(t, n=-1), lambda t: ax.diff(t, n=-1), match=["-1"]
    )
    helper_test_exception(
        [(2, 3), (3,)],
        lambda t, p: torch.diff(t, prepend=p),
        lambda t, p: ax.diff(t, prepend=p),
        match=["same dimension"],
    )
    helper_test_exception(
        [(2, 3)],
        lambda t: torch.diff(t, dim=2),
        lambda t: ax.diff(t, dim=2),
        exact=IndexError,
        match=["[-2, 1]"],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trapezoid(dtype):
    helper_test_op(
        [(3, 5)],
        lambda y: (
            torch.trapezoid(y),
            torch.trapezoid(y, dx=0.5, dim=0),
            torch.trapz(y),
            torch.cumulative_trapezoid(y, dim=0),
        ),
        lambda y: (
            ax.trapezoid(y),
            ax.trapezoid(y, dx=0.5, dim=0),
            ax.trapz(y),
            ax.cumulative_trapezoid(y, dim=0),
        ),
        dtype=dtype,
    )
    x = np.array([0.0, 0.5, 1.5, 1.75, 3.0])
    helper_test_op(
        None,
        lambda y, s: (torch.trapezoid(y, s), torch.cumulative_trapezoid(y, s)),
        lambda y, s: (ax.trapezoid(y, s), ax.cumulative_trapezoid(y, s)),
        arrays=[np.random.default_rng(0).uniform(-1, 1, (3, 5)), x],
        dtype=dtype,
    )
    helper_test_op(
        None,
        lambda y, s: torch.trapezoid(y, s, dim=0),
        lambda y, s: ax.trapezoid(y, s, dim=0),
        arrays=[np.random.default_rng(1).uniform(-1, 1, (5, 2)), x],
        dtype=dtype,
    )


def test_trapezoid_of_integers_and_single_samples():
    helper_test_op(
        None,
        lambda y: (torch.trapezoid(y), torch.cumulative_trapezoid(y)),
        lambda y: (ax.trapezoid(y), ax.cumulative_trapezoid(y)),
        arrays=[np.array([[1, 2, 4], [0, 3, 3]])],
        forward_only=True,
    )
    helper_test_op(
        [(3, 1)],
        lambda y: (torch.trapezoid(y), torch.cumulative_trapezoid(y)),
        lambda y: (ax.trapezoid(y), ax.cumulative_trapezoid(y)),
    )


def test_numpy_axis_and_keepdims_keywords():
    helper_test_op(
        [(3, 4)],
        lambda t: (
            t.sum(axis=1, keepdims=True),
            torch.mean(t, axis=0),
            t.prod(axis=1),
            t.cumsum(axis=0),
            torch.nansum(t, axis=1),
            t.cummax(axis=1).values,
            torch.diff(t, axis=0),
        ),
        lambda t: (
            t.sum(axis=1, keepdims=True),
            ax.mean(t, axis=0),
            t.prod(axis=1),
            t.cumsum(axis=0),
            ax.nansum(t, axis=1),
            t.cummax(axis=1).values,
            ax.diff(t, axis=0),
        ),
    )
    helper_test_op(
        [(3, 4)],
        lambda t: (t.all(axis=1), torch.any(t > 0, axis=0, keepdim=True), t.count_nonzero(axis=0)),
        lambda t: (t.all(axis=1), ax.any(t > 0, axis=0, keepdim=True), t.count_nonzero(axis=0)),
        forward_only=True,
    )


def test_numpy_keywords_on_the_tensor_reductions():
    helper_test_op(
        [(3, 4)],
        lambda t: (
            t.argmax(axis=1),
            torch.argmin(t, axis=0, keepdims=True),
            t.max(axis=1).values,
            t.amin(axis=0),
            t.std(axis=1),
            torch.var(t, axis=0),
            t.logsumexp(axis=1),
        ),
        lambda t: (
            t.argmax(axis=1),
            ax.argmin(t, axis=0, keepdims=True),
            t.max(axis=1).values,
            t.amin(axis=0),
            t.std(axis=1),
            ax.var(t, axis=0),
            t.logsumexp(axis=1),
        ),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cov_and_corrcoef(dtype):
    helper_test_op(
        [(3, 6)],
        lambda x: (torch.cov(x), x.cov(correction=0), torch.corrcoef(x)),
        lambda x: (ax.cov(x), x.cov(correction=0), ax.corrcoef(x)),
        dtype=dtype,
    )
    helper_test_op(
        [(6,)],
        lambda x: (torch.cov(x), torch.corrcoef(x)),
        lambda x: (ax.cov(x), ax.corrcoef(x)),
        dtype=dtype,
    )
    helper_test_op(
        [(1, 6)],
        lambda x: (torch.cov(x), torch.corrcoef(x)),
        lambda x: (ax.cov(x), ax.corrcoef(x)),
        dtype=dtype,
    )
    fw, aw = np.array([1, 2, 1, 3, 1, 2]), np.linspace(0.5, 2.0, 6)
    helper_test_op(
        None,
        lambda x, a: torch.cov(x, fweights=torch.tensor(fw), aweights=a),
        lambda x, a: ax.cov(x, fweights=ax.tensor(fw, device=x.device), aweights=a),
        arrays=[np.random.default_rng(2).uniform(-2, 2, (2, 6)), aw],
        dtype=dtype,
    )
    x = ax.from_numpy(np.random.default_rng(3).uniform(-2, 2, (2, 5))).requires_grad_()
    assert ax.gradcheck(lambda t: ax.corrcoef(t), [x])


def test_cov_errors():
    helper_test_exception([(2, 2, 2)], torch.cov, ax.cov, match=["two or fewer", "3"])
    helper_test_exception(
        [(2, 3), (3,)],
        lambda x, f: torch.cov(x, fweights=f),
        lambda x, f: ax.cov(x, fweights=f),
        match=["fweights", "integral"],
    )
    helper_test_exception(
        None,
        lambda x, f: torch.cov(x, fweights=f),
        lambda x, f: ax.cov(x, fweights=f),
        arrays=[np.ones((2, 3)), np.array([1, 2])],
        match=["2 != 3"],
    )
    helper_test_op(
        None, torch.cov, ax.cov, arrays=[np.array([[1, 2, 4], [0, 1, 1]])], dtype=np.float32
    )  # integers give float32
