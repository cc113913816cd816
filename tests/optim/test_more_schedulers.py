"""OneCycleLR, CyclicLR, LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR,
CosineAnnealingWarmRestarts, SequentialLR and ChainedScheduler produce
torch.optim.lr_scheduler's learning rates (and momenta, where they cycle them) over 100
steps, for two parameter groups; their state dicts resume a schedule exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import axon as ax
from axon.optim import lr_scheduler
from tests.helpers import assert_close

STEPS = 100


def _optimizers(kind: str = "SGD"):
    """An axon and a torch optimizer, each with two groups (lr 0.1 and 0.02)."""
    pairs = []
    for lib in (ax, torch):
        groups = [{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.02)]
        if kind == "SGD":
            pairs.append(lib.optim.SGD(groups, lr=1.0, momentum=0.9))
        elif kind == "Adam":
            pairs.append(lib.optim.Adam(groups, lr=1.0))
        else:
            pairs.append(getattr(lib.optim, kind)(groups, lr=1.0))
    return pairs


def _momenta(opt):
    if "betas" in opt.defaults:
        return [g["betas"][0] for g in opt.param_groups]
    return [g.get("momentum", 0.0) for g in opt.param_groups]


def _sequence(opt, sched, steps=STEPS, epochs=None):
    """The rates and momenta after construction and after each step, as one array."""
    rows = [list(sched.get_last_lr()) + _momenta(opt)]
    for t in range(steps):
        opt.step()
        sched.step() if epochs is None else sched.step(epochs[t])
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        rows.append(list(sched.get_last_lr()) + _momenta(opt))
    return np.array(rows)


# Each case: a name, the optimizer kind, and a factory of the scheduler from a library's
# lr_scheduler module and an optimizer (so combinations can build their parts).
CASES = [
    ("OneCycleLR-cos", "SGD", lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=STEPS)),
    (
        "OneCycleLR-linear-three_phase",
        "SGD",
        lambda L, o: L.OneCycleLR(
            o,
            max_lr=[0.5, 0.2],
            total_steps=STEPS,
            anneal_strategy="linear",
            three_phase=True,
            pct_start=0.25,
            div_factor=10.0,
            final_div_factor=100.0,
        ),
    ),
    (
        "OneCycleLR-adam-epochs",
        "Adam",
        lambda L, o: L.OneCycleLR(
            o, max_lr=0.3, epochs=10, steps_per_epoch=10, base_momentum=0.8, max_momentum=0.9
        ),
    ),
    (
        "OneCycleLR-no-momentum",
        "Adagrad",
        lambda L, o: L.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False),
    ),
    (
        "CyclicLR-triangular",
        "SGD",
        lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=7),
    ),
    (
        "CyclicLR-triangular2",
        "SGD",
        lambda L, o: L.CyclicLR(
            o,
            base_lr=[0.01, 0.001],
            max_lr=[0.1, 0.05],
            step_size_up=5,
            step_size_down=12,
            mode="triangular2",
            base_momentum=0.7,
            max_momentum=0.95,
        ),
    ),
    (
        "CyclicLR-exp_range-adam",
        "Adam",
        lambda L, o: L.CyclicLR(
            o, base_lr=0.01, max_lr=0.1, step_size_up=9, mode="exp_range", gamma=0.98
        ),
    ),
    (
        "CyclicLR-scale_fn",
        "SGD",
        lambda L, o: L.CyclicLR(
            o,
            base_lr=0.01,
            max_lr=0.1,
            step_size_up=6,
            scale_fn=lambda x: 1 / (1 + 0.1 * x),
            scale_mode="iterations",
            cycle_momentum=False,
        ),
    ),
    ("LinearLR", "SGD", lambda L, o: L.LinearLR(o)),
    (
        "LinearLR-decay",
        "SGD",
        lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=60),
    ),
    ("ConstantLR", "SGD", lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=10)),
    ("PolynomialLR", "SGD", lambda L, o: L.PolynomialLR(o, total_iters=60, power=2.0)),
    ("PolynomialLR-linear", "SGD", lambda L, o: L.PolynomialLR(o, total_iters=200)),
    (
        "MultiplicativeLR",
        "SGD",
        lambda L, o: L.MultiplicativeLR(
            o, lr_lambda=[lambda e: 0.97, lambda e: 1.0 - 0.001 * (e % 5)]
        ),
    ),
    ("CosineAnnealingWarmRestarts", "SGD", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=10)),
    (
        "CosineAnnealingWarmRestarts-T_mult",
        "SGD",
        lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    ),
    (
        "SequentialLR",
        "SGD",
        lambda L, o: L.SequentialLR(
            o,
            [
                L.LinearLR(o, start_factor=0.1, total_iters=10),
                L.CosineAnnealingLR(o, T_max=30),
                L.ExponentialLR(o, gamma=0.95),
            ],
            milestones=[10, 50],
        ),
    ),
    (
        "SequentialLR-constant-step",
        "SGD",
        lambda L, o: L.SequentialLR(
            o,
            [L.ConstantLR(o, factor=0.2, total_iters=4), L.StepLR(o, step_size=9, gamma=0.5)],
            milestones=[6],
        ),
    ),
    (
        "ChainedScheduler",
        "SGD",
        lambda L, o: L.ChainedScheduler(
            [L.ConstantLR(o, factor=0.1, total_iters=5), L.ExponentialLR(o, gamma=0.97)]
        ),
    ),
    (
        "ChainedScheduler-warmup-cosine",
        "SGD",
        lambda L, o: L.ChainedScheduler(
            [L.LinearLR(o, start_factor=0.2, total_iters=8), L.CosineAnnealingLR(o, T_max=25)],
            optimizer=o,
        ),
    ),
    # the ones that existed already, now checked over 100 steps with these optimizers
    ("MultiStepLR", "Adam", lambda L, o: L.MultiStepLR(o, milestones=[10, 40, 40, 70])),
    ("ExponentialLR", "SGD", lambda L, o: L.ExponentialLR(o, gamma=0.96)),
    ("LambdaLR", "SGD", lambda L, o: L.LambdaLR(o, lr_lambda=lambda e: 0.95**e)),
    ("CosineAnnealingLR", "Adam", lambda L, o: L.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)),
]


@pytest.mark.parametrize("name, kind, make", CASES, ids=[c[0] for c in CASES])
def test_sequence_matches_torch(name, kind, make):
    opt_a, opt_t = _optimizers(kind)
    got = _sequence(opt_a, make(lr_scheduler, opt_a))
    want = _sequence(opt_t, make(torch.optim.lr_scheduler, opt_t))
    assert_close(got, want, rtol=1e-12, atol=1e-15)
    assert len(np.unique(got[:, 0])) > 1  # the rate really moved


@pytest.mark.parametrize("T_0, T_mult", [(10, 1), (3, 2), (4, 3)])
def test_warm_restarts_at_fractional_epochs(T_0, T_mult):
    """``step(epoch + i / iters)`` per batch, as in PyTorch's documentation."""
    epochs = [e + i / 7 for e in range(15) for i in range(7)][1 : STEPS + 1]
    opt_a, opt_t = _optimizers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _sequence(
            opt_a,
            lr_scheduler.CosineAnnealingWarmRestarts(opt_a, T_0=T_0, T_mult=T_mult, eta_min=0.01),
            epochs=epochs,
        )
        want = _sequence(
            opt_t,
            torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
                opt_t, T_0=T_0, T_mult=T_mult, eta_min=0.01
            ),
            epochs=epochs,
        )
    assert_close(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, kind, make", CASES, ids=[c[0] for c in CASES])
def test_state_dict_round_trip_resumes_the_schedule(name, kind, make):
    """30 steps; then a new optimizer and scheduler load both state dicts and take the
    other 70: the rates and momenta of the unbroken run. (Plain functions, lambdas, are
    not saved, as in torch: the new scheduler brings its own.)"""
    opt_a, opt_t = _optimizers(kind)
    unbroken = _sequence(opt_t, make(torch.optim.lr_scheduler, opt_t))
    sched = make(lr_scheduler, opt_a)
    first = _sequence(opt_a, sched, steps=30)
    saved_opt, saved_sched = opt_a.state_dict(), sched.state_dict()
    if "Chained" not in name:  # a chain has no epoch of its own, as in torch
        assert sched.last_epoch == 30

    opt_b, _ = _optimizers(kind)
    sched_b = make(lr_scheduler, opt_b)
    opt_b.load_state_dict(saved_opt)
    sched_b.load_state_dict(saved_sched)
    rest = _sequence(opt_b, sched_b, steps=STEPS - 30)
    assert_close(np.concatenate([first, rest[1:]]), unbroken, rtol=1e-12, atol=1e-15)


def test_state_dict_excludes_the_optimizer_and_plain_functions():
    opt_a, _ = _optimizers()
    cyclic = lr_scheduler.CyclicLR(opt_a, 0.01, 0.1, scale_fn=lambda x: 1.0)
    state = cyclic.state_dict()
    assert "optimizer" not in state and state["_scale_fn_custom"] is None
    sequential = lr_scheduler.SequentialLR(
        opt_a, [lr_scheduler.ConstantLR(opt_a), lr_scheduler.ExponentialLR(opt_a, 0.9)], [3]
    )
    state = sequential.state_dict()
    assert [type(s) for s in state["_schedulers"]] == [dict, dict]


def test_one_cycle_refuses_to_step_past_its_end():
    for lib, opt in zip((lr_scheduler, torch.optim.lr_scheduler), _optimizers(), strict=True):
        sched = lib.OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            sched.step()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda L, o: L.OneCycleLR(o, max_lr=0.1), "You must define either total_steps"),
        (lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=0), "positive integer total_steps"),
        (lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=1.5), "pct_start"),
        (
            lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"),
            "anneal_strategy",
        ),
        (
            lambda L, o: L.OneCycleLR(o, max_lr=[0.1], total_steps=5),
            "max_lr must have the same length",
        ),
        (lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), "mode is invalid"),
        (lambda L, o: L.LinearLR(o, start_factor=0), "Starting multiplicative factor"),
        (lambda L, o: L.ConstantLR(o, factor=2.0), "between 0 and 1"),
        (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0), "positive integer T_0"),
        (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0), "T_mult >= 1"),
        (
            lambda L, o: L.SequentialLR(o, [L.ConstantLR(o), L.ConstantLR(o)], milestones=[]),
            "one more than the number of milestone points",
        ),
        (
            lambda L, o: L.SequentialLR(o, [L.ReduceLROnPlateau(o)], milestones=[]),
            "does not support `ReduceLROnPlateau`",
        ),
        (lambda L, o: L.ChainedScheduler([]), "expects at least one scheduler"),
    ],
)
def test_bad_arguments_raise_value_error_like_torch(make, message):
    opt_a, opt_t = _optimizers()
    with pytest.raises(ValueError, match=message):
        make(torch.optim.lr_scheduler, opt_t)
    with pytest.raises(ValueError, match=message):
        make(lr_scheduler, opt_a)


def test_cycling_momentum_needs_an_optimizer_with_momentum():
    opt_a, opt_t = _optimizers("Adagrad")
    for lib, opt in ((torch.optim.lr_scheduler, opt_t), (lr_scheduler, opt_a)):
        with pytest.raises(ValueError, match="must support momentum or beta1"):
            lib.CyclicLR(opt, 0.01, 0.1)


def test_sequential_of_schedulers_on_another_optimizer_is_refused():
    opt_a, _ = _optimizers()
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="belong to the same optimizer"):
        lr_scheduler.SequentialLR(opt_a, [lr_scheduler.ConstantLR(other)], milestones=[])
