"""Property tests (Hypothesis): ops agree with torch on shapes and values Hypothesis picks.

One table of functions drives the checks, as in minitorch: broadcasting binary ops over
mutually broadcastable shapes, reductions over random dims with and without keepdim,
and movement ops over random permutations and reshapes, each on contiguous and
non-contiguous inputs. Values come from safe domains (positive where log/sqrt need it).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.autograd.parity import helper_test_op

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": lambda a, b: a.maximum(b),
}

UNARY = {
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "sqrt": lambda a: a.sqrt(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "softplus": lambda a: (
        torch.nn.functional.softplus(a) if isinstance(a, torch.Tensor) else a.softplus()
    ),
}

REDUCE = {
    "sum": lambda a, d, k: a.sum(d, keepdim=k),
    "mean": lambda a, d, k: a.mean(d, keepdim=k),
    "amax": lambda a, d, k: a.amax(d, keepdim=k),
    "logsumexp": lambda a, d, k: a.logsumexp(d, keepdim=k),
    "var": lambda a, d, k: a.var(d, keepdim=k),
}


@st.composite
def broadcast_pair(draw):
    shapes = draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4
        )
    )
    return shapes.input_shapes


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(
    shapes=broadcast_pair(),
    seed=st.integers(0, 2**16),
    layout=st.sampled_from(["contiguous", "strided"]),
)
def test_binary_broadcasting(name, shapes, seed, layout):
    fn = BINARY[name]
    positive = name in ("pow", "div")  # base > 0 for pow, denominator away from 0
    helper_test_op(
        list(shapes),
        fn,
        seed=seed,
        low=0.5 if positive else -2.0,
        high=2.0,
        layout=layout if all(len(s) for s in shapes) else "contiguous",
    )


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=5), seed=st.integers(0, 2**16))
def test_unary(name, shape, seed):
    low = 0.1 if name in ("log", "sqrt") else -3.0
    helper_test_op([shape], UNARY[name], seed=seed, low=low, high=3.0)


@st.composite
def shape_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=2, max_side=5))
    dims = draw(
        st.lists(
            st.integers(-len(shape), len(shape) - 1),
            min_size=1,
            max_size=len(shape),
            unique_by=lambda d: d % len(shape),
        )
    )
    return shape, tuple(dims)


@pytest.mark.parametrize("name", sorted(REDUCE))
@SETTINGS
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions(name, sd, keepdim, seed):
    shape, dims = sd
    helper_test_op([shape], lambda a: REDUCE[name](a, dims, keepdim), seed=seed)


@SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=5, max_side=4),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_permute_then_reshape(shape, data, seed):
    perm = data.draw(st.permutations(range(len(shape))))
    size = int(np.prod(shape))

    def fn(a):
        b = a.permute(*perm)
        return (b * b).reshape(-1, size) if size else b.reshape(-1)

    helper_test_op([shape], fn, seed=seed, layout="transposed" if len(shape) > 1 else "contiguous")


@SETTINGS
@given(
    batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    n=st.integers(1, 4),
    k=st.integers(1, 4),
    m=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_batched_matmul(batch, n, k, m, seed):
    helper_test_op([(*batch, n, k), (k, m)], lambda a, b: a @ b, seed=seed)
