"""The Optimizer base class: groups, zero_grad, state dicts, and its error messages."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import axon as ax
from axon.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from tests.optim.twin import axon_loss, axon_params, batch, initial_weights, train

ALL = [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (Adagrad, dict(lr=0.1, lr_decay=0.01)),
    (RMSprop, dict(centered=True, momentum=0.5)),
    (Adam, dict(lr=0.01, amsgrad=True)),
    (AdamW, dict(lr=0.01)),
]


@pytest.mark.parametrize("cls, kwargs", ALL, ids=lambda v: getattr(v, "__name__", ""))
def test_state_dict_round_trip_continues_exactly(cls, kwargs):
    x, y = batch()
    pa = axon_params(initial_weights())
    opt_a = cls(pa, **kwargs)
    train(opt_a, pa, axon_loss, x, y, 5)
    saved = opt_a.state_dict()
    frozen = copy.deepcopy(saved)

    pb = axon_params([p.array for p in pa])
    opt_b = cls(pb, **{k: v for k, v in kwargs.items() if k != "lr"})  # lr comes from the dict
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]

    train(opt_a, pa, axon_loss, x, y, 5)
    train(opt_b, pb, axon_loss, x, y, 5)
    for a, b in zip(pa, pb, strict=True):
        np.testing.assert_array_equal(a.array, b.array)
    # further steps changed neither the saved dict nor (through it) each other's state
    for i, state in frozen["state"].items():
        for k, v in state.items():
            np.testing.assert_array_equal(saved["state"][i][k], v)
    for sa, sb in zip(opt_a.state.values(), opt_b.state.values(), strict=True):
        for k in sa:
            if isinstance(sa[k], np.ndarray):
                assert sa[k] is not sb[k]


def test_state_dict_layout_is_torch_like():
    pa = axon_params(initial_weights())
    opt = Adam([{"params": pa[:2]}, {"params": pa[2:], "lr": 0.1}])
    x, y = batch()
    train(opt, pa, axon_loss, x, y, 2)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert sd["param_groups"][1]["lr"] == 0.1
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert sd["state"][2]["step"] == 2
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][3]["exp_avg"] is not opt.state[pa[3]]["exp_avg"]


def test_load_state_dict_rejects_a_mismatching_dict():
    pa = axon_params(initial_weights())
    x, y = batch()
    opt = Adam(pa)
    train(opt, pa, axon_loss, x, y, 1)
    sd = opt.state_dict()

    with pytest.raises(ValueError, match="different number of parameter groups"):
        Adam([{"params": pa[:2]}, {"params": pa[2:]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        Adam(pa[:3]).load_state_dict(sd)
    swapped = [pa[2], pa[1], pa[0], pa[3]]  # same count, but shapes differ
    with pytest.raises(ValueError, match=r"'exp_avg' of shape \(6, 4\).*shape \(3, 6\)"):
        Adam(swapped).load_state_dict(sd)
    bad = copy.deepcopy(sd)
    bad["state"][7] = bad["state"][0]
    with pytest.raises(ValueError, match="state for parameter 7"):
        Adam(pa).load_state_dict(bad)


def test_load_state_dict_casts_state_to_the_parameter_dtype():
    p64 = axon_params(initial_weights(np.float64))
    x, y = batch(np.float64)
    opt = Adam(p64)
    train(opt, p64, axon_loss, x, y, 2)
    p32 = axon_params(initial_weights(np.float32))
    opt32 = Adam(p32)
    opt32.load_state_dict(opt.state_dict())
    assert all(s["exp_avg"].dtype == np.float32 for s in opt32.state.values())


def test_zero_grad_to_none_or_to_fresh_zeros():
    pa = axon_params(initial_weights())
    x, y = batch()
    opt = SGD(pa, lr=0.1)
    axon_loss(pa, x, y).backward()
    old = [p.grad.array for p in pa]
    kept = [g.copy() for g in old]
    opt.zero_grad(set_to_none=False)
    for p, g, k in zip(pa, old, kept, strict=True):
        assert p.grad is not None and not p.grad.array.any()
        assert p.grad.array.shape == p.array.shape
        np.testing.assert_array_equal(g, k)  # the old arrays (maybe shared) are untouched
    opt.zero_grad()
    assert all(p.grad is None for p in pa)


def test_add_param_group_fills_defaults_and_refuses_duplicates():
    pa = axon_params(initial_weights())
    opt = SGD(pa[:2], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": pa[2], "lr": 0.01})
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is pa[2]
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [pa[0]]})
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": pa[:2]}, {"params": pa[1:]}])
    with pytest.raises(ValueError, match="same parameter more than once"):
        SGD([pa[0], pa[1], pa[0]])


def test_bad_params_arguments():
    w = ax.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        SGD(w)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        Adam([w, np.ones(3)])
    with pytest.raises(TypeError, match="ordered collections"):
        Adam({w})
    with pytest.raises(ValueError, match="non-leaf"):
        Adam([w * 2])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda p: SGD(p, weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda p: SGD(p, nesterov=True), "Nesterov momentum requires a momentum"),
        (lambda p: SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
        (lambda p: Adagrad(p, lr_decay=-1e-3), "Invalid lr_decay value: -0.001"),
        (lambda p: Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda p: Adagrad(p, eps=-1.0), "Invalid epsilon value: -1.0"),
        (lambda p: RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
        (lambda p: RMSprop(p, momentum=-0.1), "Invalid momentum value: -0.1"),
        (lambda p: Adam(p, lr=-1e-3), "Invalid learning rate: -0.001"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
        (lambda p: Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        (lambda p: AdamW(p, weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    ],
)
def test_bad_hyperparameters_name_the_value(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make([ax.ones(2, requires_grad=True)])


def test_defaults_are_torchs():
    p = [ax.ones(2, requires_grad=True)]
    assert SGD(p).defaults["lr"] == 1e-3
    assert Adagrad(p).defaults == dict(
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    )
    assert RMSprop(p).defaults["alpha"] == 0.99 and RMSprop(p).defaults["eps"] == 1e-8
    assert Adam(p).defaults["betas"] == (0.9, 0.999) and Adam(p).defaults["weight_decay"] == 0
    assert AdamW(p).defaults["weight_decay"] == 1e-2


def test_base_step_is_abstract_and_repr_lists_groups():
    p = [ax.ones(2, requires_grad=True)]
    with pytest.raises(NotImplementedError):
        Optimizer(p, dict(lr=0.1)).step()
    text = repr(SGD(p, lr=0.5))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.5" in text


def test_float32_update_has_no_float64_temporaries():
    """Every array the step creates or writes is float32 for float32 parameters."""
    pa = axon_params(initial_weights(np.float32))
    x, y = batch(np.float32)
    opt = Adam(pa, weight_decay=0.1, amsgrad=True)
    train(opt, pa, axon_loss, x, y, 2)
    assert all(b.dtype == np.float32 for b in opt._buffers.values())
    assert all(p.array.dtype == np.float32 for p in pa)
    assert all(
        a.dtype == np.float32
        for s in opt.state.values()
        for a in s.values()
        if isinstance(a, np.ndarray)
    )


def test_plain_sgd_keeps_no_state_like_torch():
    pa = axon_params(initial_weights())
    x, y = batch()
    opt = SGD(pa, lr=0.1)
    train(opt, pa, axon_loss, x, y, 2)
    assert opt.state_dict()["state"] == {}
