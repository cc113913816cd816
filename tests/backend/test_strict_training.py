"""Training on the backend seam: every optimizer's steps, gradient clipping, weight averaging
and a short ``axon.fit`` run give, on the test backend "strict", the CPU's numbers bit for bit
in float64 (so none of them calls NumPy on a parameter's or a batch's array).
"""

from __future__ import annotations

import numpy as np
import pytest

import axon as ax
from axon.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tests.backend.strict import STRICT

SHAPES = [(3, 4), (4,), (2, 2)]  # several small parameters: Adam steps them on flat moments


def _host(arr) -> np.ndarray:
    return arr if isinstance(arr, np.ndarray) else STRICT.to_host(arr)


def _params(device: str) -> list[ax.Tensor]:
    rng = np.random.default_rng(0)
    return [
        ax.tensor(rng.normal(size=s), dtype=ax.float64, device=device, requires_grad=True)
        for s in SHAPES
    ]


def _grads(step: int, device: str) -> list[ax.Tensor]:
    rng = np.random.default_rng(100 + step)
    return [ax.tensor(rng.normal(size=s), dtype=ax.float64, device=device) for s in SHAPES]


OPTIMIZERS = {
    "SGD": lambda ps: ax.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": lambda ps: ax.optim.Adam(ps, lr=0.01, weight_decay=0.01),
    "Adam amsgrad maximize": lambda ps: ax.optim.Adam(ps, lr=0.01, amsgrad=True, maximize=True),
    "Adam one large": lambda ps: ax.optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}]),
    "AdamW": lambda ps: ax.optim.AdamW(ps, lr=0.01),
    "RMSprop": lambda ps: ax.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda ps: ax.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.1),
    "Adadelta": lambda ps: ax.optim.Adadelta(ps, lr=1.0, weight_decay=0.1),
    "Adamax": lambda ps: ax.optim.Adamax(ps, lr=0.01, weight_decay=0.1),
    "NAdam": lambda ps: ax.optim.NAdam(ps, lr=0.01, weight_decay=0.1),
    "NAdam decoupled": lambda ps: ax.optim.NAdam(
        ps, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True
    ),
    "RAdam": lambda ps: ax.optim.RAdam(ps, lr=0.01, weight_decay=0.1),
    "ASGD": lambda ps: ax.optim.ASGD(ps, lr=0.01, t0=1, weight_decay=0.1),
    "Rprop": lambda ps: ax.optim.Rprop(ps, lr=0.01, maximize=True),
    "Adafactor": lambda ps: ax.optim.Adafactor(ps, lr=0.01, weight_decay=0.1),
}


def _run(make, device: str, steps: int = 8):
    """``steps`` steps with fixed gradients; the parameters and the state, on the host."""
    params = _params(device)
    opt = make(params)
    for step in range(steps):
        for p, g in zip(params, _grads(step % 3, device), strict=True):
            p.grad = g
        opt.step()
    state = {
        (i, k): _host(v)
        for i, p in enumerate(params)
        for k, v in opt.state[p].items()
        if ax.backend.of(v) is not None
    }
    return [_host(p.array) for p in params], state, params, opt


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_on_strict_equal_the_cpu(name):
    cpu, cpu_state, _, _ = _run(OPTIMIZERS[name], "cpu")
    strict, strict_state, params, opt = _run(OPTIMIZERS[name], "strict")
    assert all(p.device == "strict:0" for p in params)
    for a, b in zip(cpu, strict, strict=True):
        np.testing.assert_array_equal(b, a)
    assert cpu_state.keys() == strict_state.keys()
    for key, value in cpu_state.items():
        np.testing.assert_array_equal(strict_state[key], value, err_msg=str(key))
    for p in params:  # the state lives beside its parameter
        for v in opt.state[p].values():
            assert ax.backend.of(v) in (None, STRICT)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_on_strict_equals_the_cpu(line_search_fn):
    target = np.linspace(-1.0, 2.0, 12).reshape(3, 4)

    def run(device):
        p = ax.tensor(np.zeros((3, 4)), dtype=ax.float64, device=device, requires_grad=True)
        c = ax.tensor(target, dtype=ax.float64, device=device)
        opt = ax.optim.LBFGS([p], lr=0.5, max_iter=6, line_search_fn=line_search_fn)

        def closure():  # f = sum(exp(p) - c p), gradient exp(p) - c
            opt.zero_grad()
            with ax.no_grad():
                p.grad = p.exp() - c
                return float(_host((p.exp() - c * p).array).sum())

        for _ in range(3):
            opt.step(closure)
        return _host(p.array)

    np.testing.assert_array_equal(run("strict"), run("cpu"))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.0, float("inf"), float("-inf")])
def test_clip_grad_norm_on_strict_equals_the_cpu(norm_type):
    results = []
    for device in ("cpu", "strict"):
        params = _params(device)
        for p, g in zip(params, _grads(0, device), strict=True):
            p.grad = g
        total = ax.nn.utils.clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
        assert total.device == params[0].device
        results.append([_host(total.array)] + [_host(p.grad.array) for p in params])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(b, a)


def test_clip_grad_value_on_strict_equals_the_cpu():
    results = []
    for device in ("cpu", "strict"):
        params = _params(device)
        for p, g in zip(params, _grads(1, device), strict=True):
            p.grad = g
        ax.nn.utils.clip_grad_value_(params, 0.3)
        results.append([_host(p.grad.array) for p in params])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("ema", [False, True])
def test_weight_averaging_on_strict_equals_the_cpu(ema):
    results = []
    for device in ("cpu", "strict"):
        ax.manual_seed(0)
        model = ax.nn.Linear(4, 3).to(ax.float64).to(device)
        avg_fn = get_ema_multi_avg_fn(0.9) if ema else None
        averaged = AveragedModel(model, multi_avg_fn=avg_fn)
        for step in range(4):
            with ax.no_grad():
                for p, g in zip(model.parameters(), _grads(step % 3, device), strict=False):
                    if p.shape == g.shape:
                        p.mul_(0.5).add_(g)
            averaged.update_parameters(model)
        results.append([_host(p.array) for p in averaged.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(b, a)


class _Affine(ax.nn.Module):
    """``x * w + b`` per feature: a model made of elementwise ops only."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.w = ax.nn.Parameter(ax.tensor(np.linspace(0.5, 1.5, n)))
        self.b = ax.nn.Parameter(ax.zeros(n))

    def forward(self, x):
        return x * self.w + self.b


def _host_mae(output, target) -> float:  # a metric function: NumPy arrays in
    assert isinstance(output, np.ndarray) and isinstance(target, np.ndarray)
    return float(np.abs(output - target).mean())


def _fit_run(where: str, model, x, y, loss: str, metrics, **fit_kwargs):
    """``axon.fit`` of ``model`` moved to ``where`` on host data ``(x, y)`` (three epochs,
    shuffled, clipping, validation); the final weights and the logs."""
    model = model.to(ax.float64).to(where)
    ax.manual_seed(0)  # the same shuffles
    opt = ax.optim.Adam(model.parameters(), lr=0.05)
    history = ax.fit(
        model,
        (ax.tensor(x, dtype=ax.float64), ax.tensor(y)),
        loss=loss,
        optimizer=opt,
        epochs=3,
        batch_size=16,
        metrics=metrics,
        validation=(ax.tensor(x[:10], dtype=ax.float64), ax.tensor(y[:10])),
        clip_grad_norm=1.0,
        clip_grad_value=0.5,
        verbose=0,
        **fit_kwargs,
    )
    weights = {k: _host(v.array) for k, v in model.state_dict().items()}
    return weights, history.history, model


def _affine_run(where: str, **fit_kwargs):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 5))
    y = x * np.arange(5.0) - 1.0
    metrics = ["mae", "mse", _host_mae]
    return _fit_run(where, _Affine(5), x, y, "mse", metrics, **fit_kwargs)


def _assert_same_run(cpu, strict) -> None:
    (cpu_weights, cpu_logs, _), (weights, logs, model) = cpu, strict
    assert all(p.device == "strict:0" for p in model.parameters())
    assert weights.keys() == cpu_weights.keys()
    for k, v in cpu_weights.items():
        np.testing.assert_array_equal(weights[k], v, err_msg=k)
    assert logs == cpu_logs


def test_fit_moves_host_batches_to_the_model_and_equals_the_cpu():
    """Host data, the model on strict: each batch moves to the model's device; the run's
    weights and logs (loss, metrics on the device and on the host) are the CPU's."""
    _assert_same_run(_affine_run("cpu"), _affine_run("strict"))


def test_fit_device_argument_and_predict_and_evaluate_on_strict():
    _, _, model = _affine_run("strict", device="strict")
    x = np.random.default_rng(2).normal(size=(7, 5))
    out = ax.predict(model, ax.tensor(x, dtype=ax.float64), batch_size=3)
    assert out.device == "strict:0" and out.shape == (7, 5)
    cpu_out = ax.predict(_affine_run("cpu")[2], ax.tensor(x, dtype=ax.float64), batch_size=3)
    np.testing.assert_array_equal(_host(out.array), cpu_out.numpy())
    logs = ax.evaluate(
        model, (ax.tensor(x, dtype=ax.float64), ax.tensor(x)), loss="mse", metrics=["mae"]
    )
    assert set(logs) == {"loss", "mae"} and np.isfinite(logs["loss"])


def test_fit_of_an_mlp_on_strict_equals_the_cpu():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40)
    metrics = ["accuracy", "top_2_accuracy"]

    def run(device):
        ax.manual_seed(0)
        model = ax.nn.Sequential(ax.nn.Linear(5, 8), ax.nn.Tanh(), ax.nn.Linear(8, 3))
        return _fit_run(device, model, x, y, "cross_entropy", metrics)

    _assert_same_run(run("cpu"), run("strict"))


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packing_for_the_recurrent_layers_on_strict_equals_the_cpu(enforce_sorted):
    """pad_sequence, pack_padded_sequence and pad_packed_sequence keep the data (and its
    gradient) on the device; lengths and batch sizes are host arrays, as in torch."""
    from axon.nn.utils import rnn as R

    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(n, 2)) for n in ((2, 4, 3) if not enforce_sorted else (4, 3, 2))]
    results = []
    for device in ("cpu", "strict"):
        seqs = [ax.tensor(a, device=device, requires_grad=True) for a in arrays]
        padded = R.pad_sequence(seqs, padding_value=-1.0)
        lengths = [len(a) for a in arrays]
        packed = R.pack_padded_sequence(padded, lengths, enforce_sorted=enforce_sorted)
        out, lengths = R.pad_packed_sequence(packed, batch_first=True, padding_value=0.5)
        assert out.device == packed.data.device == seqs[0].device
        out.backward(ax.ones(out.shape, device=device))
        results.append([_host(out.array), lengths.numpy()] + [_host(s.grad.array) for s in seqs])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(b, a)
