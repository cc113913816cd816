"""``copy_`` and the in-place functional ops against torch: an inf survives, the gradient
goes to the source (summed over the broadcast, in its dtype) and a zero one to the old
value."""

import numpy as np
import torch

import axon as ax
import axon.nn.functional as F
from tests.helpers import assert_close, assert_equal


def test_an_in_place_relu_keeps_an_inf_as_torch_does_and_its_gradient_is_finite():
    values = [1.0, np.inf, -2.0, 0.5]
    x, tx = ax.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    y, ty = x * 1, tx * 1
    F.relu(y, inplace=True)
    torch.relu_(ty)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())  # inf on purpose
    y.sum().backward()
    ty.sum().backward()
    assert_equal(x.grad.numpy(), tx.grad.numpy())


def test_copy_sends_the_gradient_to_the_source_through_broadcast_and_cast():
    weight = np.arange(6.0).reshape(2, 3)
    a, ta = ax.zeros(2, 3, requires_grad=True), torch.zeros(2, 3, requires_grad=True)
    s = ax.tensor([1.0, 2.0, 3.0], dtype=ax.float64, requires_grad=True)
    ts = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    b, tb = a * 1, ta * 1
    b.copy_(s)
    tb.copy_(ts)
    assert b.dtype == ax.float32 and b.requires_grad
    (b * ax.tensor(weight, dtype=ax.float32)).sum().backward()
    (tb * torch.tensor(weight, dtype=torch.float32)).sum().backward()
    assert_equal(a.grad.numpy(), ta.grad.numpy())  # zeros, not None, as torch
    assert s.grad.dtype == ax.float64
    assert_close(s.grad.numpy(), ts.grad.numpy(), rtol=0, atol=0)


def test_copy_from_a_constant_into_a_tensor_that_requires_grad_keeps_it_in_the_graph():
    a, ta = ax.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    b, tb = a * 2, ta * 2
    b.copy_(ax.tensor([np.inf, 1.0, 2.0]))
    tb.copy_(torch.tensor([np.inf, 1.0, 2.0]))
    assert b.requires_grad == tb.requires_grad
    np.testing.assert_array_equal(b.detach().numpy(), tb.detach().numpy())  # inf on purpose
    b.sum().backward()
    tb.sum().backward()
    assert_equal(a.grad.numpy(), ta.grad.numpy())


def test_copy_has_a_second_derivative():
    x = ax.tensor([1.0, 2.0], dtype=ax.float64, requires_grad=True)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    z, tz = ax.zeros(2, dtype=ax.float64) * x, torch.zeros(2, dtype=torch.float64) * tx
    z.copy_(x**3)
    tz.copy_(tx**3)
    (g,) = ax.autograd.grad(z.sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(tz.sum(), tx, create_graph=True)
    (gg,) = ax.autograd.grad(g.sum(), x)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    assert_close(gg.numpy(), tgg.numpy(), rtol=1e-12, atol=0)


def test_uniform_and_normal_draw_in_the_tensors_dtype_and_honour_a_generator():
    t = ax.empty(1000, dtype=ax.float32).uniform_(-2.0, 3.0)
    assert t.dtype == ax.float32
    assert t.numpy().min() >= -2.0 and t.numpy().max() < 3.0
    first = ax.empty(50).normal_(1.0, 2.0, generator=ax.Generator().manual_seed(5))
    again = ax.empty(50).normal_(1.0, 2.0, generator=ax.Generator().manual_seed(5))
    assert_equal(first.numpy(), again.numpy())
