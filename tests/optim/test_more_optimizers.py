"""Adadelta, Adamax, NAdam, RAdam, Rprop and ASGD match torch.optim step for step; every
optimizer takes torch's keywords and keeps torch's group entries; state dicts resume a run
exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
import axon.optim  # noqa: F401  (axon/__init__ may not import it yet)
from tests.helpers import assert_close, assert_differs
from tests.optim.twin import (
    axon_loss,
    axon_params,
    batch,
    initial_weights,
    torch_loss,
    torch_params,
    train,
)

STEPS = 25

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.7, eps=1e-4)),
    ("Adadelta", dict(weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6)),
    ("Adamax", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),  # rho_t <= 5 for the first 6 steps: momentum alone, then adaptive
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    (
        "RAdam",
        dict(
            lr=0.01, betas=(0.3, 0.7), weight_decay=0.1, decoupled_weight_decay=True, maximize=True
        ),
    ),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1, maximize=True)),
]

ALL = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "Rprop",
    "ASGD",
]


def _ids(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def _pair(name, kwargs, dtype=np.float64, groups=None):
    """Twin parameters and an axon and a torch optimizer over them."""
    weights = initial_weights(dtype)
    pa, pt = axon_params(weights), torch_params(weights)
    if groups is None:
        return (
            pa,
            pt,
            getattr(ax.optim, name)(pa, **kwargs),
            getattr(torch.optim, name)(pt, **kwargs),
        )
    opt_a = getattr(ax.optim, name)(
        [dict(g, params=[pa[i] for i in g["params"]]) for g in groups], **kwargs
    )
    opt_t = getattr(torch.optim, name)(
        [dict(g, params=[pt[i] for i in g["params"]]) for g in groups], **kwargs
    )
    return pa, pt, opt_a, opt_t


def _assert_params_match(pa, pt, rtol, atol):
    for i, (a, t) in enumerate(zip(pa, pt, strict=True)):
        assert_close(a, t, rtol=rtol, atol=atol, msg=f"param {i}")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch_float64(case):
    name, kwargs = case
    x, y = batch()
    pa, pt, opt_a, opt_t = _pair(name, kwargs)
    train(opt_a, pa, axon_loss, x, y, STEPS)
    train(opt_t, pt, torch_loss, x, y, STEPS)
    _assert_params_match(pa, pt, rtol=1e-10, atol=1e-12)
    assert_differs(pa[0].array, initial_weights()[0], atol=1e-3)  # it moved


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch_float32_and_stays_float32(case):
    name, kwargs = case
    x, y = batch(np.float32)
    pa, pt, opt_a, opt_t = _pair(name, kwargs, np.float32)
    train(opt_a, pa, axon_loss, x, y, STEPS)
    train(opt_t, pt, torch_loss, x, y, STEPS)
    _assert_params_match(pa, pt, rtol=1e-5, atol=1e-5)
    for p in pa:
        assert p.array.dtype == np.float32
        for key, value in opt_a.state[p].items():
            if isinstance(value, np.ndarray) and value.ndim:  # not a scalar like mu_product
                assert value.dtype == np.float32, f"state {key} is {value.dtype}"


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"])
def test_param_groups_with_their_own_options(name):
    groups = [dict(params=[0, 1], lr=0.05), dict(params=[2, 3], lr=0.002, weight_decay=0.1)]
    x, y = batch()
    pa, pt, opt_a, opt_t = _pair(name, dict(lr=0.01), groups=groups)
    train(opt_a, pa, axon_loss, x, y, STEPS)
    train(opt_t, pt, torch_loss, x, y, STEPS)
    _assert_params_match(pa, pt, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_groups_hold_torchs_entries(name):
    """Every option torch keeps in a group (implementation switches included) is there,
    with torch's default, so a state dict's param_groups read the same."""
    opt_a = getattr(ax.optim, name)([ax.zeros(2, requires_grad=True)])
    opt_t = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    got = {k: v for k, v in opt_a.param_groups[0].items() if k != "params"}
    want = {k: v for k, v in opt_t.param_groups[0].items() if k != "params"}
    assert got == want


@pytest.mark.parametrize(
    "name, kwargs",
    [
        (
            "SGD",
            dict(
                lr=0.1,
                momentum=0.9,
                dampening=0.1,
                nesterov=False,
                maximize=True,
                foreach=None,
                differentiable=False,
                fused=None,
            ),
        ),
        (
            "Adam",
            dict(
                lr=0.01,
                amsgrad=True,
                maximize=True,
                foreach=False,
                fused=None,
                capturable=False,
                differentiable=False,
            ),
        ),
        ("AdamW", dict(lr=0.01, amsgrad=True, foreach=None, fused=True)),
        ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, foreach=True, capturable=False)),
        (
            "Adagrad",
            dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, foreach=None, fused=None),
        ),
        ("Adadelta", dict(foreach=False, capturable=False, differentiable=False)),
    ],
)
def test_torch_keywords_are_accepted_and_steps_still_match(name, kwargs):
    x, y = batch()
    pa, pt, opt_a, opt_t = _pair(name, kwargs)
    train(opt_a, pa, axon_loss, x, y, 5)
    train(opt_t, pt, torch_loss, x, y, 5)
    _assert_params_match(pa, pt, rtol=1e-10, atol=1e-12)


def test_fused_and_foreach_together_raise_like_torch():
    for lib in (ax, torch):
        p = lib.zeros(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="cannot be `True` together"):
            lib.optim.Adam([p], foreach=True, fused=True)


def test_differentiable_is_refused():
    with pytest.raises(NotImplementedError, match="differentiable"):
        ax.optim.Adam([ax.zeros(2, requires_grad=True)], differentiable=True)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
        ("Adadelta", dict(lr=-1.0), "Invalid learning rate: -1.0"),
        ("Adamax", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
        ("NAdam", dict(momentum_decay=-0.1), "Invalid momentum_decay value: -0.1"),
        ("RAdam", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
        ("RAdam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
        ("Rprop", dict(etas=(1.1, 1.2)), "Invalid eta values: 1.1, 1.2"),
        ("ASGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ],
)
def test_bad_hyperparameters_raise_value_error_like_torch(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=message):
        getattr(ax.optim, name)([ax.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("Adadelta", dict(weight_decay=0.1)),
        ("Adamax", dict(lr=0.05)),
        ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
        ("RAdam", dict(lr=0.01)),
        ("Rprop", dict(lr=0.05)),
        ("ASGD", dict(lr=0.05, t0=5)),
    ],
)
def test_state_dict_round_trip_resumes_like_an_unbroken_run(name, kwargs):
    """10 steps, a state dict, a fresh optimizer on copies of the weights loads it, 15
    more steps: the weights of torch's unbroken 25-step run. The state holds torch's
    entries under torch's names."""
    x, y = batch()
    pa, pt, opt_a, opt_t = _pair(name, kwargs)
    train(opt_a, pa, axon_loss, x, y, 10)
    train(opt_t, pt, torch_loss, x, y, STEPS)
    saved = opt_a.state_dict()
    want = opt_t.state_dict()
    assert saved["param_groups"] == want["param_groups"]
    assert sorted(saved["state"]) == sorted(want["state"])
    for i, entries in saved["state"].items():
        assert set(entries) == set(want["state"][i]), f"state {i}"

    resumed = [ax.tensor(p.array.copy(), requires_grad=True) for p in pa]
    opt_b = getattr(ax.optim, name)(resumed, lr=123.0)  # options come from the state dict
    opt_b.load_state_dict(saved)
    train(opt_a, pa, axon_loss, x, y, 5)  # the saved dict must not follow the old run
    assert opt_b.param_groups[0]["lr"] == opt_t.param_groups[0]["lr"]
    train_rest(opt_b, resumed, x, y)
    _assert_params_match(resumed, pt, rtol=1e-10, atol=1e-12)


def train_rest(opt, params, x, y):
    """The last 15 steps of a 25-step ``train`` (the same batch scales)."""
    for t in range(10, STEPS):
        opt.zero_grad()
        (axon_loss(params, x * (1.0 + 0.1 * t), y)).backward()
        opt.step()


def test_zero_grad_sets_none_or_zeros():
    pa = axon_params(initial_weights())
    x, y = batch()
    opt = ax.optim.NAdam(pa)
    axon_loss(pa, x, y).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.array.any() for p in pa)
    opt.zero_grad()
    assert all(p.grad is None for p in pa)


def test_named_parameters_are_accepted_and_their_names_kept():
    """``Adam(model.named_parameters())``: the names go to ``param_names``, as in torch."""
    torch.manual_seed(0)
    model_t = torch.nn.Linear(4, 3).double()
    model_a = ax.nn.Linear(4, 3).double()
    model_a.load_state_dict(
        {k: ax.tensor(v.detach().numpy().copy()) for k, v in model_t.state_dict().items()}
    )
    opt_a = ax.optim.Adam(model_a.named_parameters(), lr=0.1)
    opt_t = torch.optim.Adam(model_t.named_parameters(), lr=0.1)
    assert opt_a.param_groups[0]["param_names"] == opt_t.param_groups[0]["param_names"]
    assert opt_a.state_dict()["param_groups"] == opt_t.state_dict()["param_groups"]
    x = np.random.default_rng(0).normal(size=(5, 4))
    for model, opt, lib in ((model_a, opt_a, ax), (model_t, opt_t, torch)):
        for _ in range(3):
            opt.zero_grad()
            (model(lib.tensor(x)) ** 2).mean().backward()
            opt.step()
    assert_close(model_a.weight, model_t.weight, rtol=1e-10, atol=1e-12)

    for lib in (ax, torch):
        p, q = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        with pytest.raises(ValueError, match="Some param names are missing"):
            lib.optim.SGD([("p", p), q], lr=0.1)
        opt = lib.optim.SGD([("p", p)], lr=0.1)
        with pytest.raises(ValueError, match="cannot add param group without names"):
            opt.add_param_group({"params": [q]})


def make_sign_momentum(lib):
    """An optimizer written the way torch users write their own: a subclass of
    ``Optimizer`` whose ``step`` updates Tensors in place and keeps Tensors in its state."""

    class SignMomentum(lib.optim.Optimizer):
        def __init__(self, params, lr=0.01, momentum=0.9):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @lib.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        # float64: torch's float32 sqrt is not always correctly rounded
                        state["step"] = lib.tensor(0.0, dtype=lib.float64)
                        state["exp_avg"] = lib.zeros_like(p)
                    state["step"] += 1
                    exp_avg = state["exp_avg"]
                    exp_avg.mul_(group["momentum"]).add_(p.grad, alpha=1 - group["momentum"])
                    p.add_(lib.sign(exp_avg) * state["step"].sqrt(), alpha=-group["lr"])

    return SignMomentum


def test_an_optimizer_written_for_torch_runs_and_resumes():
    """Its Tensor state survives ``state_dict``/``load_state_dict`` as Tensors (copied)."""
    x, y = batch()
    pa, pt = axon_params(initial_weights()), torch_params(initial_weights())
    opt_a = make_sign_momentum(ax)(pa, lr=0.01)
    opt_t = make_sign_momentum(torch)(pt, lr=0.01)
    train(opt_a, pa, axon_loss, x, y, 10)
    train(opt_t, pt, torch_loss, x, y, STEPS)
    saved = opt_a.state_dict()
    assert isinstance(saved["state"][0]["exp_avg"], ax.Tensor)
    assert saved["state"][0]["exp_avg"] is not opt_a.state[pa[0]]["exp_avg"]
    resumed = [ax.tensor(p.array.copy(), requires_grad=True) for p in pa]
    opt_b = make_sign_momentum(ax)(resumed)
    opt_b.load_state_dict(saved)
    assert float(opt_b.state[resumed[0]]["step"]) == 10.0
    train_rest(opt_b, resumed, x, y)
    _assert_params_match(resumed, pt, rtol=1e-10, atol=1e-12)
