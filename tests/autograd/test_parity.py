"""The parity helper itself: it must fail on a wrong value, a wrong gradient, a wrong
dtype, a NaN, and when only one library raises; and really feed non-contiguous views."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import _layout, helper_test_exception, helper_test_op


class WrongGrad(ax.Function):
    """exp with the gradient of x^2 / 2 (1 * x instead of e^x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.exp()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


def test_catches_wrong_forward():
    with pytest.raises(AssertionError, match="forward output 0"):
        helper_test_op([(2, 3)], lambda x: x * 3, lambda x: x * 3.0001)


def test_catches_wrong_gradient():
    with pytest.raises(AssertionError, match="grad of input 0"):
        helper_test_op([(2, 3)], torch.exp, WrongGrad.apply)


def test_catches_wrong_dtype():
    with pytest.raises(AssertionError, match="dtype"):
        helper_test_op([(2, 3)], lambda x: x * 2, lambda x: x.double() * 2, dtype=np.float32)


def test_catches_nan():
    with pytest.raises(AssertionError, match="non-finite"):
        helper_test_op([(3,)], lambda x: x.sqrt(), lambda x: x.sqrt() * np.nan, low=1, high=2)


def test_float32_tolerance_is_looser_and_overridable():
    helper_test_op([(3,)], lambda x: x * 2, lambda x: x * 2 * (1 + 1e-6), dtype=np.float32)
    with pytest.raises(AssertionError):
        helper_test_op([(3,)], lambda x: x * 2, lambda x: x * 2 * (1 + 1e-6))  # float64
    with pytest.raises(AssertionError):
        helper_test_op(
            [(3,)],
            lambda x: x * 2,
            lambda x: x * 2 * (1 + 1e-6),
            dtype=np.float32,
            rtol=1e-8,
            atol=1e-12,
        )


def test_exception_helper_needs_both_to_raise_and_a_clear_message():
    with pytest.raises(pytest.fail.Exception):  # torch raises, axon does not
        helper_test_exception([(2, 3), (4, 5)], lambda a, b: a @ b, lambda a, b: a)
    with pytest.raises(AssertionError, match="does not mention"):
        helper_test_exception([(2, 3), (4, 5)], lambda a, b: a @ b, match=["conv2d"])


@pytest.mark.parametrize("layout", ["strided", "transposed"])
def test_layouts_are_really_non_contiguous(layout):
    arr = np.arange(12.0).reshape(3, 4)
    view = _layout(arr, layout)
    np.testing.assert_array_equal(view, arr)
    assert not view.flags.c_contiguous
    assert not ax.from_numpy(view).array.flags.c_contiguous
