"""Every schedule produces torch.optim.lr_scheduler's sequence of learning rates."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import axon as ax
from axon.optim import SGD, lr_scheduler
from tests.helpers import assert_close
from tests.optim.twin import (
    axon_loss,
    axon_params,
    batch,
    initial_weights,
    torch_loss,
    torch_params,
)

STEPS = 40


def _optimizers(lrs=(0.1, 0.02)):
    """An axon and a torch SGD, each with one group per learning rate."""
    pa = [{"params": [ax.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    pt = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return SGD(pa, lr=1.0), torch.optim.SGD(pt, lr=1.0)


def _sequence(opt, sched, metrics=None):
    lrs = [list(sched.get_last_lr())]
    for t in range(STEPS):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[t])
        lrs.append(list(sched.get_last_lr()))
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(lrs)


SCHEDULES = [
    ("StepLR", dict(step_size=7)),
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),  # 40 steps: two full periods
    ("CosineAnnealingLR", dict(T_max=13, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (1 + epoch) + 0.01 * (epoch % 3))),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=lambda v: v if isinstance(v, str) else "")
def test_schedule_matches_torch(name, kwargs):
    opt_a, opt_t = _optimizers()
    got = _sequence(opt_a, getattr(lr_scheduler, name)(opt_a, **kwargs))
    want = _sequence(opt_t, getattr(torch.optim.lr_scheduler, name)(opt_t, **kwargs))
    assert_close(got, want, rtol=1e-12, atol=1e-15)
    assert len(np.unique(got[:, 0])) > 2  # the schedule really moved


def test_lambda_lr_one_function_per_group():
    lambdas = [lambda e: 0.9**e, lambda e: 1.0 + e]
    opt_a, opt_t = _optimizers()
    got = _sequence(opt_a, lr_scheduler.LambdaLR(opt_a, lambdas))
    want = _sequence(opt_t, torch.optim.lr_scheduler.LambdaLR(opt_t, lambdas))
    assert_close(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(_optimizers()[0], [lambda e: 1.0])


PLATEAU_METRICS = [
    1.0,
    0.9,
    0.9,
    0.9,
    0.9,
    0.89995,
    0.9,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.4,
    0.41,
    0.42,
    0.43,
    0.44,
    0.45,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.29,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patience=2),
        dict(patience=1, factor=0.5, cooldown=2, min_lr=[0.01, 0.005]),
        dict(patience=0, threshold=0.05, threshold_mode="abs", min_lr=1e-3),
        dict(mode="max", patience=1, threshold=0.1),
        dict(mode="max", patience=1, threshold=0.05, threshold_mode="abs", cooldown=1),
        # group 0 drops by 1e-4 > eps; group 1 would drop by 2e-5 < eps and so stays
        dict(patience=0, factor=0.999, eps=5e-5),
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    maximize = kwargs.get("mode") == "max"
    metrics = [2.0 - m for m in PLATEAU_METRICS] if maximize else PLATEAU_METRICS
    opt_a, opt_t = _optimizers()
    sched_a = lr_scheduler.ReduceLROnPlateau(opt_a, **kwargs)
    sched_t = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_t, **kwargs)
    got = _sequence(opt_a, sched_a, metrics)
    want = _sequence(opt_t, sched_t, metrics)
    assert_close(got, want, rtol=1e-12, atol=1e-15)
    assert len(np.unique(got[:, 0])) > 1  # the rate was reduced at least once
    assert sched_a.num_bad_epochs == sched_t.num_bad_epochs and sched_a.best == sched_t.best


def test_reduce_lr_on_plateau_takes_a_tensor_metric_and_checks_arguments():
    opt, _ = _optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(ax.tensor(1.0))
    sched.step(ax.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.002])
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0, 0, 0])


@pytest.mark.parametrize(
    "make",
    [
        lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=9, eta_min=0.001),
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8),
        lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=1, cooldown=1),
    ],
)
def test_scheduler_state_dict_round_trip(make):
    metrics = PLATEAU_METRICS
    opt_a, _ = _optimizers()
    sched_a = make(opt_a)
    is_plateau = isinstance(sched_a, lr_scheduler.ReduceLROnPlateau)

    def advance(opt, sched, ts):
        for t in ts:
            opt.step()
            sched.step(metrics[t]) if is_plateau else sched.step()

    advance(opt_a, sched_a, range(15))
    opt_b, _ = _optimizers()
    opt_b.load_state_dict(opt_a.state_dict())
    sched_b = make(opt_b)
    sched_b.load_state_dict(sched_a.state_dict())
    assert "optimizer" not in sched_a.state_dict()
    assert sched_b.optimizer is opt_b
    advance(opt_a, sched_a, range(15, 35))
    advance(opt_b, sched_b, range(15, 35))
    assert sched_a.get_last_lr() == sched_b.get_last_lr()
    assert sched_a.last_epoch == sched_b.last_epoch == 35


def test_resuming_with_last_epoch_matches_torch():
    """A scheduler built with last_epoch >= 0 continues where the saved run left off."""
    opt_a, opt_t = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.CosineAnnealingLR(opt_a, T_max=10, last_epoch=4)
    for g in opt_a.param_groups + opt_t.param_groups:
        g["initial_lr"] = g["lr"]
    sched_a = lr_scheduler.CosineAnnealingLR(opt_a, T_max=10, last_epoch=4)
    sched_t = torch.optim.lr_scheduler.CosineAnnealingLR(opt_t, T_max=10, last_epoch=4)
    assert_close(_sequence(opt_a, sched_a), _sequence(opt_t, sched_t), rtol=1e-12)


def test_step_with_epoch_uses_the_closed_form():
    opt_a, opt_t = _optimizers()
    sched_a = lr_scheduler.StepLR(opt_a, step_size=3, gamma=0.5)
    sched_t = torch.optim.lr_scheduler.StepLR(opt_t, step_size=3, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt_t.step()
        for epoch in (7, 2, 9):
            with pytest.warns(UserWarning, match="deprecated"):
                sched_a.step(epoch)
            sched_t.step(epoch)
            assert sched_a.get_last_lr() == pytest.approx(sched_t.get_last_lr(), rel=1e-12)
    assert sched_a.get_last_lr() == pytest.approx([0.1 * 0.5**3, 0.02 * 0.5**3])


def test_a_schedule_drives_training_like_torch():
    """SGD with momentum under CosineAnnealingLR: the weights match torch's after 20 epochs."""
    weights = initial_weights()
    x, y = batch()
    pa, pt = axon_params(weights), torch_params(weights)
    opt_a = SGD(pa, lr=0.2, momentum=0.9)
    opt_t = torch.optim.SGD(pt, lr=0.2, momentum=0.9)
    sched_a = lr_scheduler.CosineAnnealingLR(opt_a, T_max=20)
    sched_t = torch.optim.lr_scheduler.CosineAnnealingLR(opt_t, T_max=20)
    for _ in range(20):
        for opt, sched, params, loss_fn in (
            (opt_a, sched_a, pa, axon_loss),
            (opt_t, sched_t, pt, torch_loss),
        ):
            opt.zero_grad()
            loss_fn(params, x, y).backward()
            opt.step()
            sched.step()
    for a, t in zip(pa, pt, strict=True):
        assert_close(a, t, rtol=1e-10, atol=1e-12)
    assert sched_a.get_last_lr()[0] == pytest.approx(0.0, abs=1e-15)
    assert math.isclose(sched_a.base_lrs[0], 0.2)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
