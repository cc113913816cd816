"""Matrix products vs torch: 2-D, batched, broadcast batches, 1-D operands on either side,
the fused linear op, and errors that name both shapes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import axon as ax
from axon.autograd import ops
from tests.autograd.parity import helper_test_exception, helper_test_op

MATMUL_SHAPES = [
    [(3, 4), (4, 5)],
    [(2, 3, 4), (2, 4, 5)],
    [(2, 1, 3, 4), (5, 4, 6)],  # batch dims broadcast: (2, 1) with (5,)
    [(3, 4), (2, 4, 5)],
    [(2, 3, 4), (4, 5)],
    [(4,), (4,)],
    [(4,), (4, 5)],
    [(3, 4), (4,)],
    [(4,), (2, 4, 5)],
    [(2, 3, 4), (4,)],
    [(4,), (2, 1, 4, 5)],
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes, dtype):
    helper_test_op(shapes, lambda a, b: a @ b, dtype=dtype)


@pytest.mark.parametrize("layout", ["strided", "transposed"])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES[:5], ids=str)
def test_matmul_non_contiguous(shapes, layout):
    helper_test_op(shapes, lambda a, b: a @ b, layout=layout)


def test_matmul_forms():
    helper_test_op([(3, 4), (4, 2)], torch.matmul, ax.matmul)
    helper_test_op([(2, 3, 4), (2, 4, 2)], torch.bmm, ax.bmm)
    helper_test_op([(3, 4), (4, 2)], lambda a, b: a @ b, requires_grad=[False, True])
    helper_test_op([(3, 4), (4, 2)], lambda a, b: a @ b, requires_grad=[True, False])


def test_matmul_with_numpy_operand():
    w = np.arange(8.0).reshape(4, 2)  # a NumPy operand is host memory: the CPU's alone
    helper_test_op([(3, 4)], lambda a: a @ torch.tensor(w), lambda a: a @ w, devices=("cpu",))
    helper_test_op([(2, 3)], lambda a: torch.tensor(w) @ a, lambda a: w @ a, devices=("cpu",))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)], ids=str)
def test_linear(x_shape, bias):
    shapes = [x_shape, (3, 4)] + ([(3,)] if bias else [])

    def a_fn(x, w, b=None):
        return ops.Linear.apply(x, w, b)

    helper_test_op(shapes, F.linear, a_fn)
    helper_test_op(shapes, F.linear, a_fn, dtype=np.float32, layout="transposed")


def test_matmul_errors_name_both_shapes():
    helper_test_exception(
        [(2, 3), (4, 5)], lambda a, b: a @ b, match=["matmul", "(2, 3)", "(4, 5)"]
    )
    helper_test_exception([(3,), (4,)], lambda a, b: a @ b, match=["matmul", "(3,)", "(4,)"])
    helper_test_exception(
        [(2, 2, 3), (3, 3, 4)], lambda a, b: a @ b, match=["matmul", "(2, 2, 3)", "(3, 3, 4)"]
    )
    helper_test_exception([(), (3,)], lambda a, b: a @ b, match=["matmul"])
    helper_test_exception([(2, 3, 4), (4, 5)], torch.bmm, ax.bmm, match=["bmm", "(4, 5)"])
    helper_test_exception(
        [(2, 3), (4, 5)],
        F.linear,
        lambda x, w: ops.Linear.apply(x, w, None),
        match=["linear", "(2, 3)", "(4, 5)"],
    )
