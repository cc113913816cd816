"""``Tensor`` basics vs torch: dtypes of new tensors and of results, which tensors may
require grad, conversions, and views."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_op
from tests.helpers import assert_close


@pytest.mark.parametrize(
    "data",
    [
        [[1.0, 2.0]],
        3.0,
        [1, 2],
        7,
        [True, False],
        [1, 2.5],
        np.arange(3.0),
        np.arange(3, dtype=np.int32),
        np.float64(2.0),
    ],
    ids=repr,
)
def test_new_tensor_dtype_matches_torch(data):
    assert ax.tensor(data).dtype == torch.tensor(data).numpy().dtype


@pytest.mark.parametrize("name", ["zeros", "ones", "rand", "randn", "empty"])
def test_factories_are_float32(name):
    assert getattr(ax, name)(2, 3).dtype == np.float32
    assert getattr(ax, name)((2, 3)).shape == (2, 3)
    assert getattr(ax, name)(2, dtype=ax.float64).dtype == np.float64


def test_arange_and_full_dtypes_match_torch():
    for args in [(5,), (0.0, 1.0, 0.25), (1, 7, 2)]:
        assert ax.arange(*args).dtype == torch.arange(*args).numpy().dtype
    assert ax.full((2,), 1.5).dtype == torch.full((2,), 1.5).numpy().dtype
    assert ax.full((2,), 3).dtype == torch.full((2,), 3).numpy().dtype


@pytest.mark.parametrize(
    "make",
    [
        lambda: ax.tensor([1, 2], requires_grad=True),
        lambda: ax.tensor([1, 2]).requires_grad_(),
        lambda: ax.zeros(2, dtype=ax.int64, requires_grad=True),
        lambda: ax.tensor([True], requires_grad=True),
    ],
)
def test_integer_tensors_cannot_require_grad(make):
    with pytest.raises(RuntimeError, match="floating point"):
        make()
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2], requires_grad=True)


def test_float32_stays_float32_with_python_and_numpy_scalars():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    for y in [
        x * 0.5,
        0.5 * x,
        x + 1,
        x - 2.0,
        x / 3,
        2.0 / x,
        x**2,
        x**0.5,
        2**x,
        x * np.float64(0.5),
        np.float64(2.0) + x,
        x.clamp(0.5, 1.5),
        -x,
        x.exp(),
        x.maximum(ax.tensor(1.5)),
        ax.where(x > 1, x, 0.0),
        x.sigmoid(),
        x.gelu(),
        x.softplus(),
        x.std(),
        x.softmax(0),
    ]:
        assert y.dtype == np.float32, y


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t * 0.5,
        lambda t: t / 2,
        lambda t: t / t,
        lambda t: 1.5 + t,
        lambda t: t**0.5,
        lambda t: t * t,
        lambda t: t // 2,
        lambda t: t.sum(),
        lambda t: t.float() * 2,
    ],
    ids=[
        "mul_float",
        "div_int",
        "div_self",
        "radd_float",
        "pow_half",
        "mul_int",
        "floordiv",
        "sum",
        "float",
    ],
)
def test_integer_tensor_promotion_matches_torch(fn):
    a, t = ax.arange(1, 4), torch.arange(1, 4)
    out, expected = fn(a), fn(t)
    assert out.dtype == expected.numpy().dtype
    assert_close(out, expected)


def test_conversions_to_integer_drop_the_graph():
    x = ax.tensor([1.5, 2.5], requires_grad=True)
    for y, t in [(x.long(), torch.long), (x.int(), torch.int32), (x.bool(), torch.bool)]:
        assert not y.requires_grad and y.grad_fn is None
        assert y.dtype == torch.tensor([1.5]).to(t).numpy().dtype


def test_float_casts_carry_the_gradient_back_in_the_input_dtype():
    helper_test_op([(2, 3)], lambda x: x.double() * 2, dtype=np.float32)
    helper_test_op([(2, 3)], lambda x: x.float().exp(), dtype=np.float64, rtol=1e-5, atol=1e-6)
    helper_test_op(
        [(2, 3)],
        lambda x: x.to(torch.float64) if isinstance(x, torch.Tensor) else x.to(ax.float64),
        dtype=np.float32,
    )


def test_numpy_and_item():
    x = ax.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy() is x.array
    assert ax.tensor([3.5]).item() == 3.5
    with pytest.raises(RuntimeError, match="2 elements"):
        x.item()


def test_from_numpy_shares_memory_and_tensor_copies():
    arr = np.zeros(3, dtype=np.float32)
    shared, copied = ax.from_numpy(arr), ax.tensor(arr)
    arr[0] = 5.0
    assert shared.array[0] == 5.0 and copied.array[0] == 0.0


def test_requires_grad_flags_and_leaves():
    x = ax.tensor([1.0], requires_grad=True)
    c = ax.tensor([2.0])
    assert x.is_leaf and x.grad_fn is None
    y = x * c
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name == "MulBackward"
    z = c * 2
    assert not z.requires_grad and z.grad_fn is None
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_repr_shows_grad_fn_and_dtype():
    x = ax.tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "dtype=axon.float64" in repr(ax.tensor(np.array([1.0])))
