"""axon.optim.swa_utils against torch.optim.swa_utils: averaged weights (SWA and EMA, with
and without buffers), batch-norm statistics recomputed by update_bn, SWALR's rates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from axon.optim import swa_utils
from tests.helpers import assert_close, assert_differs

RNG = np.random.default_rng(0)
X = [RNG.normal(size=(8, 4)) for _ in range(6)]
Y = [RNG.normal(size=(8, 2)) for _ in range(6)]


def _twins():
    """The same Linear -> BatchNorm1d -> ReLU -> Linear model in torch and axon."""
    torch.manual_seed(0)
    layers_t = [
        torch.nn.Linear(4, 5),
        torch.nn.BatchNorm1d(5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 2),
    ]
    model_t = torch.nn.Sequential(*layers_t).double()
    model_a = ax.nn.Sequential(
        ax.nn.Linear(4, 5), ax.nn.BatchNorm1d(5), ax.nn.ReLU(), ax.nn.Linear(5, 2)
    ).double()
    model_a.load_state_dict(
        {k: ax.tensor(v.detach().numpy().copy()) for k, v in model_t.state_dict().items()}
    )
    return model_a, model_t


def _train_and_average(lib, utils, model, averaged, steps=6, update_every=1):
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for t in range(steps):
        opt.zero_grad()
        loss = ((model(lib.tensor(X[t])) - lib.tensor(Y[t])) ** 2).mean()
        loss.backward()
        opt.step()
        if t % update_every == 0:
            averaged.update_parameters(model)


def _assert_same_state(averaged_a, averaged_t):
    state_a, state_t = averaged_a.state_dict(), averaged_t.state_dict()
    assert list(state_a) == list(state_t)
    for key in state_t:
        assert_close(state_a[key], state_t[key], rtol=1e-10, atol=1e-12, msg=key)


@pytest.mark.parametrize("kind", ["swa", "ema-multi", "ema-single", "ema-buffers"])
def test_averaged_weights_match_torch(kind):
    model_a, model_t = _twins()
    averaged = []
    for lib, utils, model in ((ax, swa_utils, model_a), (torch, torch.optim.swa_utils, model_t)):
        options = {
            "swa": {},
            "ema-multi": dict(multi_avg_fn=utils.get_ema_multi_avg_fn(0.8)),
            "ema-single": dict(avg_fn=utils.get_ema_avg_fn(0.8)),
            "ema-buffers": dict(multi_avg_fn=utils.get_ema_multi_avg_fn(0.7), use_buffers=True),
        }[kind]
        avg = utils.AveragedModel(model, **options)
        _train_and_average(lib, utils, model, avg)
        averaged.append(avg)
    _assert_same_state(*averaged)
    assert int(averaged[0].n_averaged.array) == 6
    # the average differs from the last weights, and the averaged model runs
    assert_differs(averaged[0].module[0].weight.array, model_a[0].weight.array)
    averaged[0].eval()
    averaged[1].eval()
    assert_close(
        averaged[0](ax.tensor(X[0])), averaged[1](torch.tensor(X[0])), rtol=1e-10, atol=1e-12
    )


def test_update_bn_recomputes_the_statistics_like_torch():
    model_a, model_t = _twins()
    loader_a = [(ax.tensor(x), ax.tensor(y)) for x, y in zip(X, Y, strict=True)]
    loader_t = [(torch.tensor(x), torch.tensor(y)) for x, y in zip(X, Y, strict=True)]
    for model in (model_a, model_t):
        model.eval()
    swa_utils.update_bn(loader_a, model_a)
    torch.optim.swa_utils.update_bn(loader_t, model_t)
    assert not model_a.training  # the mode is restored
    assert model_a[1].momentum == 0.1
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert_close(
            getattr(model_a[1], name), getattr(model_t[1], name), rtol=1e-10, atol=1e-12, msg=name
        )
    assert_close(
        model_a[1].running_mean,
        np.mean([x @ model_a[0].weight.array.T + model_a[0].bias.array for x in X], axis=(0, 1)),
        rtol=1e-10,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(swa_lr=0.05),
        dict(swa_lr=[0.05, 0.01], anneal_epochs=4, anneal_strategy="linear"),
        dict(swa_lr=0.2, anneal_epochs=0),
    ],
)
def test_swalr_rates_match_torch(kwargs):
    rates = []
    for lib, scheduler in ((ax, swa_utils.SWALR), (torch, torch.optim.swa_utils.SWALR)):
        groups = [{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.5)]
        opt = lib.optim.SGD(groups, lr=1.0)
        sched = scheduler(opt, **kwargs)
        seq = [sched.get_last_lr()]
        for _ in range(15):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        rates.append(np.array(seq))
    assert_close(rates[0], rates[1], rtol=1e-12, atol=1e-15)
    assert_close(rates[0][-1], np.broadcast_to(kwargs["swa_lr"], 2), rtol=1e-12)


def test_bad_arguments_raise_like_torch():
    opt_a = ax.optim.SGD([ax.zeros(2, requires_grad=True)], lr=0.1)
    opt_t = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    for utils, opt in ((swa_utils, opt_a), (torch.optim.swa_utils, opt_t)):
        with pytest.raises(ValueError, match="anneal_strategy must be one of"):
            utils.SWALR(opt, swa_lr=0.1, anneal_strategy="step")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
            utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
        with pytest.raises(ValueError, match="Invalid decay value"):
            utils.get_ema_multi_avg_fn(1.5)
