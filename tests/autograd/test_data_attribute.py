"""``Tensor.data`` as in PyTorch: a Tensor that shares storage and records nothing."""

import numpy as np
import torch

import axon as ax
from axon import nn
from tests.helpers import assert_close


def test_data_shares_storage_and_does_not_require_grad():
    p = ax.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = p.data
    assert isinstance(d, ax.Tensor) and not d.requires_grad and d.grad_fn is None
    d.mul_(2)  # in place on the shared storage, allowed although p is a leaf needing grad
    assert_close(p.detach(), [2.0, 4.0, 6.0], rtol=0, atol=0)
    c = p.data.clone()
    c.fill_(0)  # a clone is its own storage
    assert_close(p.detach(), [2.0, 4.0, 6.0], rtol=0, atol=0)


def test_data_setter_replaces_the_values_as_torch():
    a = ax.zeros(2, 3, requires_grad=True)
    t = torch.zeros(2, 3, requires_grad=True)
    a.data = ax.ones(4)
    t.data = torch.ones(4)
    assert a.shape == tuple(t.shape) and a.requires_grad == t.requires_grad
    assert_close(a.detach(), t, rtol=0, atol=0)


def test_manual_sgd_through_data_tracks_torch():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    am, tm = nn.Linear(4, 1).double(), torch.nn.Linear(4, 1).double()
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(am.weight.detach().numpy()))
    am.bias.data.fill_(0.01)
    tm.bias.data.fill_(0.01)
    for _ in range(5):
        for m, X, Y in ((am, ax.tensor(x), ax.tensor(y)), (tm, torch.tensor(x), torch.tensor(y))):
            loss = ((m(X) - Y) ** 2).mean()
            m.zero_grad()
            loss.backward()
            for p in m.parameters():
                p.data.add_(p.grad, alpha=-0.1)
    assert_close(am.weight.detach(), tm.weight, rtol=1e-12, atol=1e-12)
    assert_close(am.bias.detach(), tm.bias, rtol=1e-12, atol=1e-12)
    assert am.weight.grad_fn is None and am.weight.is_leaf


def test_masked_gradients_keep_nan_out_as_torch():
    """relu and clamp select their gradient: a NaN arriving from above at a position they
    block must give 0 there, as torch's, not NaN (NaN times a zero mask)."""
    v = np.array([-1.0, 0.5, 2.0, 5.0])
    for f in (
        lambda t: t.clamp(min=0),
        lambda t: t.relu(),
        lambda t: t.clamp(max=3),
        lambda t: t.clamp(0, 3),
    ):
        probe = torch.tensor(v, requires_grad=True)
        f(probe).sum().backward()
        blocked = probe.grad.numpy() == 0
        assert blocked.any() and not blocked.all()
        w = np.where(blocked, np.nan, 1.5)
        a, t = ax.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
        (f(a) * ax.tensor(w)).sum().backward()
        (f(t) * torch.tensor(w)).sum().backward()
        assert_close(a.grad, t.grad, rtol=0, atol=0)
