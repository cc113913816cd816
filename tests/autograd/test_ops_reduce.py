"""Reductions vs torch: sum, mean, var, std, logsumexp, max/min/amax/amin (with ties),
argmax/argmin, over all dims, an int dim, a tuple of dims, with and without keepdim."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op

SHAPE = (2, 3, 4)
DIMS = [None, 0, -1, (0, 2), (-1, 1)]


def _kw(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean(name, dim, keepdim):
    helper_test_op([SHAPE], lambda x: getattr(x, name)(**_kw(dim, keepdim)))


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean_float32_non_contiguous(name):
    helper_test_op([SHAPE], lambda x: getattr(x, name)(1), dtype=np.float32, layout="strided")
    helper_test_op([(3, 4)], lambda x: getattr(x, name)(0), layout="transposed")
    helper_test_op([(3, 4)], lambda x: getattr(torch, name)(x), lambda x: getattr(ax, name)(x))


def test_sum_of_bool_and_int_is_int64():
    for data in ([True, False, True], [1, 2, 3]):
        assert ax.tensor(data).sum().dtype == torch.tensor(data).sum().numpy().dtype


# torch call -> axon call (the spellings agree except for torch's keyword-only correction)
VAR_FORMS = {
    "default": ({}, {}),
    "unbiased_false": ({"unbiased": False}, {"unbiased": False}),
    "correction_0": ({"correction": 0}, {"correction": 0}),
    "correction_2": ({"correction": 2}, {"correction": 2}),
}


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("form", VAR_FORMS)
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std(name, form, dim, keepdim):
    t_kw, a_kw = VAR_FORMS[form]
    shape = (3, 4, 5)  # every dim larger than the correction
    if "unbiased" in t_kw:  # torch's unbiased= needs the positional-dim overload
        helper_test_op([shape], lambda x: getattr(x, name)(dim, t_kw["unbiased"], keepdim))
        return
    helper_test_op(
        [shape],
        lambda x: getattr(x, name)(**_kw(dim, keepdim), **t_kw),
        lambda x: getattr(x, name)(**_kw(dim, keepdim), **a_kw),
    )


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_without_degrees_of_freedom_is_inf(name):
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    out = getattr(ax.tensor(x, requires_grad=True), name)(0, correction=2)
    with pytest.warns(UserWarning):
        expected = getattr(torch.tensor(x), name)(0, correction=2).numpy()
    np.testing.assert_array_equal(out.array, expected)
    assert np.isinf(out.array).all()
    out.sum().backward()  # no ZeroDivisionError


def test_var_std_float32_and_functional():
    helper_test_op([(5, 6)], lambda x: x.std(0), dtype=np.float32)
    helper_test_op([(5, 6)], lambda x: torch.var(x, 1), lambda x: ax.var(x, 1))


def test_std_of_constant_has_zero_gradient():
    # torch masks the 1 / (2 std) of sqrt where std == 0 instead of giving NaN
    helper_test_op(None, lambda x: x.std(), arrays=[[1.5, 1.5, 1.5]])
    helper_test_op(None, lambda x: x.std(1), arrays=[[[2.0, 2.0], [1.0, 3.0]]])


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, -1, (0, 2)], ids=str)
def test_logsumexp(dim, keepdim):
    helper_test_op([SHAPE], lambda x: x.logsumexp(dim, keepdim=keepdim))
    helper_test_op(
        [SHAPE],
        lambda x: torch.logsumexp(x, dim, keepdim),
        lambda x: ax.logsumexp(x, dim, keepdim),
        dtype=np.float32,
    )


def test_logsumexp_huge_inputs():
    helper_test_op(
        None,
        lambda x: x.logsumexp(1),
        arrays=[[[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -999.0]]],
    )


def _ties(shape, seed=0):
    """Small integers as floats: a reduction of them has many tied extremes."""
    return np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_full_reduction_shares_gradient_among_ties(name):
    helper_test_op(None, lambda x: getattr(x, name)(), arrays=[_ties(SHAPE)])
    helper_test_op(
        None,
        lambda x: getattr(torch, name)(x),
        lambda x: getattr(ax, name)(x),
        arrays=[_ties(SHAPE)],
        dtype=np.float32,
    )


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, -1, (0, 2), (2, 1)], ids=str)
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_dims_with_ties(name, dim, keepdim):
    helper_test_op(None, lambda x: getattr(x, name)(dim, keepdim), arrays=[_ties(SHAPE)])


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_return_values_and_indices(name, dim, keepdim):
    # on ties the gradient goes to the returned index only (the first extreme)
    helper_test_op(None, lambda x: getattr(x, name)(dim, keepdim), arrays=[_ties(SHAPE)])
    helper_test_op(
        None,
        lambda x: getattr(x, name)(dim, keepdim=keepdim),
        arrays=[_ties(SHAPE, seed=1)],
        dtype=np.float32,
        layout="strided",
    )


def test_max_dim_result_has_named_fields():
    values, indices = ax.tensor([[1.0, 3.0], [4.0, 2.0]]).max(1)
    out = ax.tensor([[1.0, 3.0], [4.0, 2.0]]).max(1)
    assert out.values is out[0] and out.indices is out[1]
    np.testing.assert_array_equal(values.array, [3.0, 4.0])
    np.testing.assert_array_equal(indices.array, [1, 0])
    assert indices.dtype == np.int64


def test_max_of_two_tensors_is_maximum():
    helper_test_op([(3, 4), (3, 4)], lambda a, b: a.max(b))
    helper_test_op([(3, 4), (3, 4)], lambda a, b: torch.min(a, b), lambda a, b: ax.min(a, b))


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name, dim, keepdim):
    # first index among ties, as torch documents; int64, no grad
    helper_test_op(
        None,
        lambda x: getattr(x, name)(dim, keepdim),
        arrays=[_ties(SHAPE)],
        requires_grad=[True],
        forward_only=True,
    )


def test_reductions_of_empty_tensor_raise():
    helper_test_exception(None, lambda x: x.max(), arrays=[np.zeros((0, 3))], match=["empty"])


NORMS = {
    "p2": (2, None, False),
    "p2_dim": (2, 1, False),
    "p1_keepdim": (1, 0, True),
    "inf": (float("inf"), None, False),
    "inf_dim": (float("inf"), -1, False),
    "p3": (3, (0, 1), False),
}


@pytest.mark.parametrize("name", NORMS)
def test_norm(name):
    p, dim, keepdim = NORMS[name]
    helper_test_op([(3, 4)], lambda x: x.norm(p, dim, keepdim))
    # a zero row and ties in |x|: torch's subgradients (0 at a zero norm)
    x = [[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [2.0, 0.0, -2.0]]
    helper_test_op(None, lambda x: x.norm(p, dim, keepdim), arrays=[x])


@pytest.mark.parametrize(
    "name", ["sum", "mean", "amax", "amin", "logsumexp", "max", "min", "argmax", "norm"]
)
@pytest.mark.parametrize("dim", [0, -1])
def test_reduce_a_zero_dim_tensor_over_dim(name, dim):
    if name == "norm":
        helper_test_op([()], lambda x: x.norm(2, dim))
        return
    helper_test_op([()], lambda x: getattr(x, name)(dim), forward_only=name == "argmax")
