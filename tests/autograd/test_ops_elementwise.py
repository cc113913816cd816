"""Elementwise ops vs torch: arithmetic (plain, reflected, in-place), unary math,
maximum/minimum/where/clamp, comparisons; broadcasting, non-contiguous inputs and kinks."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op

BROADCAST_SHAPES = [
    [(3, 4), (3, 4)],
    [(3, 1, 4), (2, 4)],
    [(5,), (2, 3, 5)],
    [(2, 3, 5), (5,)],
    [(), (2, 3)],
    [(4, 1), (1, 3)],
]

# name -> (function of two tensors, input range): pow and div stay on positive bases
BINARY = {
    "add": (lambda a, b: a + b, (-2, 2)),
    "sub": (lambda a, b: a - b, (-2, 2)),
    "mul": (lambda a, b: a * b, (-2, 2)),
    "div": (lambda a, b: a / b, (0.5, 2)),
    "pow": (lambda a, b: a**b, (0.5, 2)),
    "maximum": (lambda a, b: a.maximum(b), (-2, 2)),
    "minimum": (lambda a, b: a.minimum(b), (-2, 2)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcasting(name, shapes, dtype):
    fn, (low, high) = BINARY[name]
    helper_test_op(shapes, fn, dtype=dtype, low=low, high=high)


@pytest.mark.parametrize("layout", ["strided", "transposed"])
@pytest.mark.parametrize("name", BINARY)
def test_binary_non_contiguous(name, layout):
    fn, (low, high) = BINARY[name]
    helper_test_op([(3, 4), (3, 4)], fn, low=low, high=high, layout=layout)


def test_div_negative_denominator():
    helper_test_op(None, lambda a, b: a / b, arrays=[[1.0, -2.0, 3.0], [-0.5, -2.0, 4.0]])


SCALAR_FORMS = {
    "radd": lambda x: 2.5 + x,
    "rsub": lambda x: 2.5 - x,
    "rmul": lambda x: 2.5 * x,
    "rdiv": lambda x: 2.5 / x,
    "rpow": lambda x: 2.5**x,
    "sub_scalar": lambda x: x - 2.5,
    "div_scalar": lambda x: x / 4,
    "square": lambda x: x**2,
    "cube": lambda x: x**3,
    "sqrt_pow": lambda x: x**0.5,
    "neg_pow": lambda x: x**-1.5,
    "numpy_scalar": lambda x: x * np.sqrt(2.0),  # a np.float64 must not widen float32
    "rnumpy_scalar": lambda x: np.float64(2.0) - x,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", SCALAR_FORMS)
def test_scalar_forms(name, dtype):
    helper_test_op([(2, 3)], SCALAR_FORMS[name], dtype=dtype, low=0.5, high=2)


def test_integer_power_of_negative_base():
    helper_test_op(None, lambda x: x**3, arrays=[[-2.0, -0.5, 0.0, 1.5]])


def test_pow_zero_exponent_at_zero_base():
    # d/dx x^0 is 0 everywhere in torch, also at x = 0 (not 0 * 0^-1 = NaN)
    helper_test_op(None, lambda x: x**0, arrays=[[0.0, 1.0, -2.0]])
    helper_test_op(None, lambda x, y: x**y, arrays=[[0.0, 0.0, 2.0], [0.0, 2.0, 0.0]])


def _inplace(op: str, alpha: bool = False):
    """``(a * 1).op(b)``: the in-place method ``op`` applied to a non-leaf tensor."""

    def fn(a, b):
        y = a * 1.0
        out = getattr(y, op)(b, alpha=2.0) if alpha else getattr(y, op)(b)
        assert out is y  # in place: the same tensor comes back
        return y

    return fn


INPLACE = [
    "__iadd__",
    "__isub__",
    "__imul__",
    "__itruediv__",
    "__ipow__",
    "add_",
    "sub_",
    "mul_",
    "div_",
    "pow_",
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", INPLACE)
def test_inplace_on_non_leaf(op, dtype):
    helper_test_op([(3, 4), (4,)], _inplace(op), dtype=dtype, low=0.5, high=2)


@pytest.mark.parametrize("op", ["add_", "sub_"])
def test_inplace_with_alpha(op):
    helper_test_op([(3, 4), (3, 4)], _inplace(op, alpha=True))


@pytest.mark.parametrize("op", INPLACE)
def test_inplace_on_leaf_requiring_grad_raises(op):
    for lib in (torch, ax):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(x, op)(2.0)


def test_inplace_under_no_grad_updates_the_leaf_itself():
    w = ax.tensor([1.0, 2.0], requires_grad=True)
    data = w.array
    with ax.no_grad():
        w -= 0.5 * ax.tensor([2.0, 2.0])
        w.mul_(2.0)
    assert w.is_leaf and w.requires_grad and w.array is data
    np.testing.assert_array_equal(w.array, [0.0, 2.0])


# ------------------------------------------------------------------ unary math


UNARY = {
    "neg": (lambda x: -x, (-2, 2)),
    "exp": (lambda x: x.exp(), (-2, 2)),
    "log": (lambda x: x.log(), (0.1, 3)),
    "sqrt": (lambda x: x.sqrt(), (0.1, 3)),
    "abs": (lambda x: x.abs(), (-2, 2)),
    "sin": (lambda x: x.sin(), (-3, 3)),
    "cos": (lambda x: x.cos(), (-3, 3)),
    "rsqrt": (lambda x: x.rsqrt(), (0.1, 3)),
    "square": (lambda x: x.square(), (-2, 2)),
    "reciprocal": (lambda x: x.reciprocal(), (0.5, 2)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, dtype):
    fn, (low, high) = UNARY[name]
    helper_test_op([(2, 3, 4)], fn, dtype=dtype, low=low, high=high)


@pytest.mark.parametrize("name", UNARY)
def test_unary_strided(name):
    fn, (low, high) = UNARY[name]
    helper_test_op([(3, 4)], fn, low=low, high=high, layout="strided")


def test_abs_at_zero():
    helper_test_op(None, lambda x: x.abs(), arrays=[[-1.0, 0.0, 2.0, -0.0]])


def test_functional_forms():
    helper_test_op([(3,)], torch.exp, ax.exp)
    helper_test_op([(3,)], torch.abs, ax.abs)
    helper_test_op([(3,)], torch.log, ax.log, low=0.5)


# ------------------------------------------------------------------ maximum, minimum, where, clamp


TIES = [[1.0, 2.0, -1.0, 0.5, 3.0], [1.0, 0.0, -1.0, 2.0, 3.0]]


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient(name):
    helper_test_op(None, lambda a, b: getattr(a, name)(b), arrays=TIES)
    helper_test_op(
        None,
        lambda a, b: getattr(torch, name)(a, b),
        lambda a, b: getattr(ax, name)(a, b),
        arrays=TIES,
    )


def test_maximum_with_broadcast_ties():
    helper_test_op(None, lambda a, b: a.maximum(b), arrays=[[[0.0], [1.0]], [0.0, 1.0, 2.0]])


WHERE_CASES = {
    "tensors": (
        [(3, 4), (3, 4)],
        lambda a, b: torch.where(a > 0, a, b),
        lambda a, b: ax.where(a > 0, a, b),
    ),
    "broadcast": (
        [(3, 1, 4), (2, 4)],
        lambda a, b: torch.where(b > 0, a, b),
        lambda a, b: ax.where(b > 0, a, b),
    ),
    "scalar_other": (
        [(3, 4)],
        lambda a: torch.where(a > 0, a, 0.0),
        lambda a: ax.where(a > 0, a, 0.0),
    ),
    "scalar_input": (
        [(3, 4)],
        lambda a: torch.where(a > 0, 1.5, a),
        lambda a: ax.where(a > 0, 1.5, a),
    ),
    "method": ([(3, 4), (3, 4)], lambda a, b: a.where(a < b, b), None),
    "masked_fill": ([(3, 4)], lambda a: a.masked_fill(a < 0, 2.0), None),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", WHERE_CASES)
def test_where(name, dtype):
    shapes, t_fn, a_fn = WHERE_CASES[name]
    helper_test_op(shapes, t_fn, a_fn, dtype=dtype)


CLAMPS = {
    "both": dict(min=-0.5, max=0.5),
    "min_only": dict(min=-0.5),
    "max_only": dict(max=0.5),
    "min_above_max": dict(min=1.0, max=0.5),
}
AT_BOUNDS = [[-1.0, -0.5, -0.25, 0.0, 0.5, 0.75]]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CLAMPS)
def test_clamp(name, dtype):
    kw = CLAMPS[name]
    helper_test_op([(3, 4)], lambda x: x.clamp(**kw), dtype=dtype)
    helper_test_op(None, lambda x: x.clamp(**kw), arrays=AT_BOUNDS, dtype=dtype)
    helper_test_op(
        None,
        lambda x: torch.clamp(x, **kw),
        lambda x: ax.clamp(x, **kw),
        arrays=AT_BOUNDS,
        dtype=dtype,
    )


# x, lo, hi: inside, below, above, on each bound, lo > hi, and lo == hi
BOUNDS = [
    [0.0, -1.0, 1.0, -0.5, 0.5, 0.2, 0.1, 0.5, 0.3],
    [-0.5, -0.5, -0.5, -0.5, -0.5, 0.4, 0.3, 0.3, 0.3],
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.1, 0.3, 0.3, 0.3],
]


def test_clamp_with_tensor_bounds():
    helper_test_op(None, lambda x, lo, hi: x.clamp(lo, hi), arrays=BOUNDS)
    helper_test_op(None, lambda x, lo: x.clamp(min=lo), arrays=BOUNDS[:2])
    helper_test_op(None, lambda x, hi: x.clamp(max=hi), arrays=BOUNDS[::2])
    helper_test_op([(3, 4), (4,)], lambda x, lo: x.clamp(min=lo), dtype=np.float32)
    helper_test_op([(3, 1), (4,)], lambda x, hi: x.clamp(max=hi))


def test_clamp_inplace():
    def fn(x):
        y = x * 1.0
        y.clamp_(-0.5, 0.5)
        return y

    helper_test_op([(3, 4)], fn)
    w = ax.tensor([-2.0, 0.0, 2.0], requires_grad=True)
    with ax.no_grad():
        w.clamp_(max=1.0)
    np.testing.assert_array_equal(w.array, [-2.0, 0.0, 1.0])


def test_clamp_without_bounds_raises():
    helper_test_exception([(3,)], lambda x: x.clamp(), match=["clamp"])


# ------------------------------------------------------------------ comparisons


COMPARISONS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "gt_scalar": lambda a, b: a > 0.0,
    "rlt_scalar": lambda a, b: 0.0 < b,
    "method": lambda a, b: a.le(b),
}


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons_give_bool_without_grad(name):
    rng = np.random.default_rng(0)
    # small integers as floats, so that ties (==) really occur
    a, b = (rng.integers(-1, 2, size=s).astype(np.float64) for s in [(3, 1, 4), (2, 4)])
    helper_test_op(
        None, COMPARISONS[name], arrays=[a, b], requires_grad=[True, True], forward_only=True
    )


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_broadcast_mismatch_names_op_and_shapes(name):
    fn, _ = BINARY[name]
    helper_test_exception([(3, 4), (2, 4)], fn, match=[name, "(3, 4)", "(2, 4)"])
