"""LBFGS follows torch.optim.LBFGS's iterates and closure calls: on a float64 quadratic
(to 1e-10), on Rosenbrock's function (with and without the strong-Wolfe line search) and
in a short fit of a small sine-wave LSTM from the same weights.

torch's ``p.add_(d, alpha=t)`` rounds once (a fused multiply-add) where NumPy's
``p += t * d`` rounds twice, and its dot products sum in another order: the iterates
differ in the last bits from the first iteration. On a well-conditioned quadratic that
stays at 1e-13; Rosenbrock's curved valley amplifies it over dozens of iterations, so
there the bound is 1e-6 (the closure counts, which every branch of the line search
decides, must still be equal).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from tests.helpers import assert_close, assert_equal


def _params(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def _run(lib, make_params, loss_fn, steps, **options):
    """``steps`` LBFGS steps; returns the parameters after each step (flat), the losses
    the steps returned, the closure-call count and the optimizer."""
    params = make_params(lib)
    opt = lib.optim.LBFGS(params, **options)
    calls = 0

    def closure():
        nonlocal calls
        calls += 1
        opt.zero_grad()
        loss = loss_fn(lib, params)
        loss.backward()
        return loss

    iterates, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        iterates.append(
            np.concatenate(
                [np.array(p.detach().numpy() if lib is torch else p.array).ravel() for p in params]
            )
        )
    return np.array(iterates), np.array(losses), calls, opt


# ----------------------------------------------------------------- a quadratic
_rng = np.random.default_rng(0)
_M = _rng.normal(size=(7, 7))
A = _M @ _M.T / 7 + 0.5 * np.eye(7)  # symmetric positive definite, condition ~20
B = _rng.normal(size=7)
START = [_rng.normal(size=(2, 3)), _rng.normal(size=1)]  # 7 numbers in two parameters


def quadratic_params(lib):
    return _params(lib, START)


def quadratic(lib, params):
    """``0.5 x^T A x - b^T x`` of the parameters flattened into one vector ``x``."""
    x = lib.cat([params[0].reshape(-1), params[1]])
    return 0.5 * (x @ (lib.tensor(A) @ x)) - lib.tensor(B) @ x


QUADRATIC_OPTIONS = [
    dict(),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=0.3, max_iter=4, history_size=2),
    dict(lr=0.3, max_iter=4, history_size=2, line_search_fn="strong_wolfe"),
    dict(lr=1.5, max_iter=6, max_eval=7, line_search_fn="strong_wolfe"),
]


@pytest.mark.parametrize("options", QUADRATIC_OPTIONS, ids=str)
def test_quadratic_iterates_match_torch(options):
    got, losses_a, calls_a, _ = _run(ax, quadratic_params, quadratic, 4, **options)
    want, losses_t, calls_t, _ = _run(torch, quadratic_params, quadratic, 4, **options)
    assert calls_a == calls_t
    assert_close(got, want, rtol=1e-10, atol=1e-12)
    assert_close(losses_a, losses_t, rtol=1e-10, atol=1e-12)
    assert losses_a[-1] < losses_a[0]


def test_quadratic_reaches_the_minimum():
    got, *_ = _run(ax, quadratic_params, quadratic, 2, line_search_fn="strong_wolfe")
    # it stops once the loss changes by less than tolerance_change (1e-9)
    assert_close(got[-1], np.linalg.solve(A, B), rtol=0, atol=1e-4)


# ----------------------------------------------------------------- Rosenbrock
def rosenbrock_params(lib):
    return _params(lib, [np.array([-1.5, 2.0, 0.5])])


def rosenbrock(lib, params):
    (x,) = params
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(line_search_fn="strong_wolfe"),
        dict(lr=0.1, max_iter=7, history_size=3),
        dict(lr=0.1, max_iter=7, history_size=3, line_search_fn="strong_wolfe"),
    ],
    ids=str,
)
def test_rosenbrock_iterates_and_closure_calls_match_torch(options):
    got, losses_a, calls_a, opt_a = _run(ax, rosenbrock_params, rosenbrock, 5, **options)
    want, losses_t, calls_t, opt_t = _run(torch, rosenbrock_params, rosenbrock, 5, **options)
    assert calls_a == calls_t
    assert_close(got, want, rtol=1e-6, atol=1e-6)
    assert_close(losses_a, losses_t, rtol=1e-6, atol=1e-9)
    state_a, state_t = opt_a.state_dict()["state"][0], opt_t.state_dict()["state"][0]
    assert set(state_a) == set(state_t)
    assert (state_a["func_evals"], state_a["n_iter"]) == (state_t["func_evals"], state_t["n_iter"])
    if not options:
        assert_close(got[-1], np.ones(3), rtol=0, atol=1e-4)  # the valley's minimum


def test_float32_stays_float32_and_follows_torch():
    def params32(lib):
        return _params(lib, [a.astype(np.float32) for a in START])

    got, *_ = _run(ax, params32, quadratic32, 2, line_search_fn="strong_wolfe")
    want, *_ = _run(torch, params32, quadratic32, 2, line_search_fn="strong_wolfe")
    assert got.dtype == np.float32
    assert_close(got, want, rtol=1e-4, atol=1e-4)


def quadratic32(lib, params):
    x = lib.cat([params[0].reshape(-1), params[1]])
    a, b = lib.tensor(A.astype(np.float32)), lib.tensor(B.astype(np.float32))
    return 0.5 * (x @ (a @ x)) - b @ x


def test_state_dict_round_trip_resumes_like_an_unbroken_run():
    options = dict(lr=0.5, max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    unbroken, *_ = _run(ax, rosenbrock_params, rosenbrock, 4, **options)
    _, _, _, opt = _run(ax, rosenbrock_params, rosenbrock, 2, **options)
    saved = opt.state_dict()
    x = _params(ax, [opt.param_groups[0]["params"][0].array])
    resumed = ax.optim.LBFGS(x, lr=99.0)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["line_search_fn"] == "strong_wolfe"
    state = resumed.state[x[0]]
    assert state["old_dirs"][0] is not saved["state"][0]["old_dirs"][0]  # copied

    def closure():
        resumed.zero_grad()
        loss = rosenbrock(ax, x)
        loss.backward()
        return loss

    for i in (2, 3):
        resumed.step(closure)
        assert_equal(x[0].array, unbroken[i])


def test_stops_at_once_when_the_gradient_is_zero():
    x = ax.tensor(np.ones(3), requires_grad=True)
    opt = ax.optim.LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = rosenbrock(ax, [x])
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0
    assert opt.state[x]["func_evals"] == 1 and opt.state[x]["n_iter"] == 0


def test_bad_arguments_raise_like_torch():
    for lib in (ax, torch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        with pytest.raises(ValueError, match="per-parameter options"):
            lib.optim.LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])
        with pytest.raises(ValueError, match="Invalid learning rate"):
            lib.optim.LBFGS([a], lr=-1)
        c = lib.ones(2, requires_grad=True)
        opt = lib.optim.LBFGS([c], line_search_fn="backtracking")

        def closure(opt=opt, c=c):
            opt.zero_grad()
            loss = (c * c).sum()
            loss.backward()
            return loss

        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(closure)
    assert ax.optim.LBFGS([ax.zeros(2, requires_grad=True)], max_iter=8).defaults["max_eval"] == 10


# ----------------------------------------------------------------- a sine-wave LSTM
def make_sequence(lib, hidden: int):
    """pytorch/examples' time-sequence model, written once for either library:
    LSTMCell(1, hidden) -> LSTMCell(hidden, hidden) -> Linear(hidden, 1) per time step."""

    class Sequence(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = lib.nn.LSTMCell(1, hidden)
            self.lstm2 = lib.nn.LSTMCell(hidden, hidden)
            self.linear = lib.nn.Linear(hidden, 1)

        def forward(self, input):
            h_t, c_t, h_t2, c_t2 = (
                lib.zeros(input.size(0), hidden, dtype=lib.double) for _ in range(4)
            )
            outputs = []
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                outputs += [self.linear(h_t2)]
            return lib.cat(outputs, dim=1)

    return Sequence().double()


def test_sine_wave_lstm_fit_tracks_torch():
    rng = np.random.default_rng(2)
    waves = np.sin((np.arange(16) + rng.integers(-40, 40, (4, 1))) / 5.0)
    torch.manual_seed(0)
    model_t = make_sequence(torch, 6)
    model_a = make_sequence(ax, 6)
    model_a.load_state_dict(
        {k: ax.tensor(v.detach().numpy().copy()) for k, v in model_t.state_dict().items()}
    )

    def fit(lib, model):
        inp, target = lib.tensor(waves[:, :-1]), lib.tensor(waves[:, 1:])
        opt = lib.optim.LBFGS(model.parameters(), lr=0.8, max_iter=8)
        criterion = lib.nn.MSELoss()

        def closure():
            opt.zero_grad()
            loss = criterion(model(inp), target)
            loss.backward()
            return loss

        return [float(opt.step(closure).detach()) for _ in range(2)] + [
            float(criterion(model(inp), target).detach())
        ]

    losses_a, losses_t = fit(ax, model_a), fit(torch, model_t)
    assert_close(losses_a, losses_t, rtol=1e-7, atol=1e-10)
    assert losses_a[-1] < 0.5 * losses_a[0]  # it fits
