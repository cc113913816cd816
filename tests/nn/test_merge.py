"""The merging layers and ``Lambda`` on real tensors: values and gradients against torch,
both calling forms, and the errors."""

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from tests.helpers import assert_close


def _pair(shape_a, shape_b, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    return (
        (ax.tensor(a, requires_grad=True), ax.tensor(b, requires_grad=True)),
        (torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)),
    )


@pytest.mark.parametrize(
    "layer, ref, shape_b",
    [
        (nn.Concatenate(), lambda a, b: torch.cat([a, b], dim=-1), (3, 5)),
        (nn.Concatenate(dim=0), lambda a, b: torch.cat([a, b], dim=0), (4, 2)),
        (nn.Add(), torch.add, (3, 2)),
        (nn.Subtract(), torch.sub, (1, 2)),  # broadcast over the batch
        (nn.Multiply(), torch.mul, (3, 2)),
        (nn.Lambda(lambda a, b: (a - b).abs()), lambda a, b: (a - b).abs(), (3, 2)),
    ],
)
def test_values_and_gradients_match_torch(layer, ref, shape_b):
    (a, b), (ta, tb) = _pair((3, 2), shape_b)
    out, tout = layer(a, b), ref(ta, tb)
    assert_close(out, tout)
    w = np.random.default_rng(1).normal(size=tout.shape)
    (out * ax.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    assert_close(a.grad, ta.grad)
    assert_close(b.grad, tb.grad)


def test_a_list_is_the_same_as_separate_arguments_and_more_than_two_add_up():
    a, b, c = ax.randn(2, 3), ax.randn(2, 3), ax.randn(2, 3)
    assert_close(nn.Add()([a, b, c]), nn.Add()(a, b, c))
    assert_close(nn.Multiply()(a, b, c), a * b * c)
    assert nn.Concatenate()((a, b, c)).shape == (2, 9)


def test_bad_inputs_are_reported_with_their_shapes():
    a, b = ax.randn(2, 3), ax.randn(2, 4)
    with pytest.raises(
        ValueError,
        match=r"Add: the input shapes \(2, 3\), \(2, 4\) do not "
        r"broadcast",
    ):
        nn.Add()(a, b)
    with pytest.raises(ValueError, match=r"differ outside dim 0"):
        nn.Concatenate(dim=0)(a, b)
    with pytest.raises(ValueError, match="Subtract takes exactly 2 tensors, got 3"):
        nn.Subtract()(a, a, a)
    with pytest.raises(ValueError, match="at least 2"):
        nn.Concatenate()(a)
    with pytest.raises(TypeError, match="input 1 is a ndarray"):
        nn.Add()(a, np.ones((2, 3)))
    with pytest.raises(TypeError, match="needs a function"):
        nn.Lambda(3)
