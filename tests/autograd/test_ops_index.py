"""Indexing vs torch: basic (ints, slices with steps, None, Ellipsis), integer arrays with
repeated indices (their gradients add up), boolean masks, gather, index_select, setitem."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op

IDX = np.array([0, 2, 0, 0, 3])  # repeats: rows 0 and 3 get several gradients
BASIC = {
    "int": lambda x: x[1],
    "negative_int": lambda x: x[-1, 2],
    "scalar": lambda x: x[1, 2, 3],
    "slice": lambda x: x[1:3],
    "slice_step": lambda x: x[::2, 1::2],
    "slice_of_slice": lambda x: x[:, 1:4][..., ::2],
    "none": lambda x: x[None, :, None, 0],
    "ellipsis": lambda x: x[..., 1],
    "ellipsis_middle": lambda x: x[0, ..., 1:],
    "mixed": lambda x: x[1:, None, ::3, -1],
}
ADVANCED = {
    "int_array_repeats": (lambda x: x[torch.tensor(IDX)], lambda x: x[ax.tensor(IDX)]),
    "list_repeats": (lambda x: x[[0, 0, 1, 0]], None),
    "int_array_on_dim1": (
        lambda x: x[:, torch.tensor([1, 1, 0])],
        lambda x: x[:, ax.tensor([1, 1, 0])],
    ),
    "two_int_arrays": (
        lambda x: x[torch.tensor([0, 0, 2]), torch.tensor([1, 1, 1])],
        lambda x: x[ax.tensor([0, 0, 2]), ax.tensor([1, 1, 1])],
    ),
    "bool_mask": (lambda x: x[x > 0], None),
    "bool_mask_rows": (
        lambda x: x[torch.tensor([True, False, True, True])],
        lambda x: x[ax.tensor([True, False, True, True])],
    ),
    "index_select_repeats": (
        lambda x: x.index_select(1, torch.tensor([2, 0, 2])),
        lambda x: x.index_select(1, ax.tensor([2, 0, 2])),
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", BASIC)
def test_basic_indexing(name, dtype):
    helper_test_op([(4, 5, 6)], BASIC[name], dtype=dtype)


@pytest.mark.parametrize("name", BASIC)
def test_basic_indexing_non_contiguous(name):
    helper_test_op([(4, 5, 6)], BASIC[name], layout="transposed")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ADVANCED)
def test_advanced_indexing(name, dtype):
    t_fn, a_fn = ADVANCED[name]
    helper_test_op([(4, 5)], t_fn, a_fn, dtype=dtype)
    helper_test_op([(4, 5)], t_fn, a_fn, dtype=dtype, layout="strided")


def test_repeated_indices_add_up():
    x = ax.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.array, [3.0, 0.0, 1.0])


def test_index_out_of_range_names_the_shape():
    helper_test_exception([(3, 4)], lambda x: x[5], exact=IndexError, match=["(3, 4)"])


GATHER = {
    "dim0": (0, [[0, 1, 2, 0], [2, 2, 2, 1]]),
    "dim1_repeats": (1, [[0, 0], [3, 3], [1, 0]]),
    "dim_neg": (-1, [[1, 1, 1, 1, 1], [0, 2, 0, 2, 0], [3, 3, 3, 0, 0]]),
    "smaller_index": (1, [[0, 3]]),  # index smaller than the input off the gather dim
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", GATHER)
def test_gather(name, dtype):
    dim, index = GATHER[name]
    index = np.array(index)
    helper_test_op(
        [(3, 4)],
        lambda x: torch.gather(x, dim, torch.tensor(index)),
        lambda x: ax.gather(x, dim, ax.tensor(index, device=x.device)),
        dtype=dtype,
    )
    helper_test_op(
        [(3, 4)],
        lambda x: x.gather(dim, torch.tensor(index)),
        lambda x: x.gather(dim, ax.tensor(index, device=x.device)),
        layout="transposed",
    )


# ------------------------------------------------------------------ setitem


def _setitem(index, value_is_input=True, scalar=None):
    def fn(x, v):
        y = x * 1.0  # setitem on a non-leaf
        y[index] = v if value_is_input else scalar
        return y * 2.0

    return fn


SETITEM = {
    "row": ((4, 5), (5,), 1),
    "slice_broadcast": ((4, 5), (1, 5), slice(1, 3)),
    "step": ((4, 5), (2, 3), (slice(None, None, 2), slice(1, 4))),
    "int_array": ((4, 5), (2, 5), np.array([3, 0])),
    "scalar_position": ((4, 5), (), (2, 3)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", SETITEM)
def test_setitem(name, dtype):
    x_shape, v_shape, index = SETITEM[name]
    t_index = torch.tensor(index) if isinstance(index, np.ndarray) else index
    helper_test_op([x_shape, v_shape], _setitem(t_index), _setitem(index), dtype=dtype)


def test_setitem_scalar_and_mask():
    helper_test_op([(4, 5), ()], _setitem(1, False, 0.5), requires_grad=[True, False])

    def masked(x, v):
        y = x * 1.0
        y[x > 0] = 0.0
        return y

    helper_test_op([(4, 5), ()], masked, requires_grad=[True, False])


def test_setitem_value_carries_gradient_into_a_plain_tensor():
    for lib in (torch, ax):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        buf = lib.zeros(3)
        buf[1:] = w * 3.0
        buf.sum().backward()
        np.testing.assert_array_equal(np.asarray(w.grad.tolist()), [3.0, 3.0])
        assert buf.requires_grad and not buf.is_leaf


def test_setitem_on_leaf_requiring_grad_raises():
    for lib in (torch, ax):
        x = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            x[0] = 1.0


def test_augmented_assignment_into_an_index():
    def fn(x):
        y = x * 1.0
        y[1:3] += x[0]  # y[1:3] = y[1:3].__iadd__(x[0])
        y[:, 0] *= 2.0
        return y

    helper_test_op([(4, 3)], fn)


def test_inplace_into_a_plain_tensor_records_the_value_graph():
    for lib in (torch, ax):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        buf = lib.ones(2)
        buf += w * w
        buf.sum().backward()
        np.testing.assert_array_equal(np.asarray(w.grad.tolist()), [2.0, 4.0])
