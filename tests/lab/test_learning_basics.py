"""axon run activations / init / vanishing / universal-approximation / regression (quick),
and the pieces they are built from, checked against torch, closed forms and scipy."""

import numpy as np
import pytest
import torch

import axon as ax
from axon import lab, nn
from axon.lab import Config
from axon.lab.activations import ACTIVATIONS, autograd_derivative, grid
from axon.lab.init_study import deep_mlp, layer_statistics, small_net
from axon.lab.regression import (
    daily_views,
    gradient_descent,
    least_squares,
    loss_surface,
    median_regression,
)
from axon.lab.universal import HI, LO, spread_network, staircase, target
from axon.lab.vanishing import DeepNet, layer_gradients, sign_xor

FIGURES = {
    "activations": ["activations.png", "activation_saturation.png"],
    "init": ["init_symmetry.png", "init_layer_statistics.png"],
    "vanishing": ["vanishing_gradients.png", "exploding_gradients.png"],
    "universal-approximation": ["universal_fits.png", "universal_error.png"],
    "regression": ["regression_views.png", "regression_loss_surface.png"],
}


def assert_figures_metrics_and_output(result, name, out, capsys):
    assert [p.name for p in result.figures] == FIGURES[name]
    for p in result.figures:
        assert p.parent == out and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(np.isfinite(v) for v in result.metrics.values())
    assert capsys.readouterr().out.strip()


# the quick runs of vanishing, universal-approximation and regression (1.5-3.5 s each)
# are slow: by default they train a few steps below
@pytest.mark.parametrize(
    "name",
    [
        "activations",
        "init",
        pytest.param("vanishing", marks=pytest.mark.slow),
        pytest.param("universal-approximation", marks=pytest.mark.slow),
        pytest.param("regression", marks=pytest.mark.slow),
    ],
)
def test_quick_run_holds_its_claims(name, tmp_path, capsys):
    result = lab.run(name, Config(out=tmp_path, quick=True))
    assert result.passed, [c for c in result.claims if not c[1]]
    assert len(result.claims) >= 4
    assert_figures_metrics_and_output(result, name, tmp_path, capsys)


# name: (training steps, claims that need no long training, a sign that it trained)
SHORT = {
    "vanishing": (20, 7, [0, 1, 4, 5], lambda m: m["loss_ReLU"] < np.log(2) - 0.05),
    "universal-approximation": (
        50,
        5,
        [0, 1, 4],  # the staircase's errors; training beats the least-squares start
        lambda m: m["trained_mse_H8"] < m["trained_mse_H1"] / 10,
    ),
    "regression": (200, 4, [2, 3], lambda m: m["train_mae"] < m["test_mae"] < 1.0),
}


@pytest.mark.parametrize("name", list(SHORT))
def test_a_short_run_trains_records_its_claims_and_draws(name, tmp_path, capsys):
    """The quick run with a few training steps (``--epochs``): every claim is checked,
    those that need no long training hold, the models learn something, figures drawn."""
    steps, n_claims, holding, trained = SHORT[name]
    result = lab.run(name, Config(out=tmp_path, quick=True, epochs=steps))
    assert len(result.claims) == n_claims
    assert all(result.claims[i][1] for i in holding), result.claims
    assert trained(result.metrics), result.metrics
    assert_figures_metrics_and_output(result, name, tmp_path, capsys)


# ----------------------------------------------------------------------- activations
TORCH = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "ReLU": torch.relu,
    "leaky ReLU": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
    "ELU": torch.nn.functional.elu,
    "softplus": torch.nn.functional.softplus,
    "GELU": torch.nn.functional.gelu,
}


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: a.name)
def test_autograd_derivatives_match_torch_and_the_closed_form(act):
    x = grid(4)  # step 0.25, with 0 and the kinks on it
    assert 0.0 in x and len(x) == 49
    y, dy = autograd_derivative(act.fn, x)
    xt = torch.tensor(x, requires_grad=True)
    TORCH[act.name](xt).sum().backward()
    np.testing.assert_allclose(dy, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dy, act.slope(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y, act.value(x), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- init
def test_zero_init_gives_every_hidden_unit_the_same_gradient():
    x = ax.tensor(np.random.default_rng(0).uniform(-1, 1, (16, 2)), dtype=ax.float32)
    t = ax.tensor((np.arange(16) % 3 == 0).astype(np.float32)[:, None])  # 6 of 16
    for activation in ("sigmoid", "tanh"):
        model = small_net(activation, 5, zero=True)
        nn.BCEWithLogitsLoss()(model(x), t).backward()
        g1, g2 = model[0].weight.grad.numpy(), model[2].weight.grad.numpy()
        assert (g1 == g1[0]).all() and (g2 == g2[0, 0]).all()  # identical rows / columns
        if activation == "tanh":  # h = 0: nothing reaches the weights
            assert not g1.any() and not g2.any()
        else:  # h = 0.5: W2 moves (all alike), W1 waits for it
            assert g2[0, 0] != 0 and not g1.any()


def test_layer_statistics_match_a_torch_copy():
    ax.manual_seed(0)
    model = deep_mlp("tanh", "Xavier", depth=3, width=6)
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    stds, grads = layer_statistics(
        model, ax.tensor(x, dtype=ax.float32), ax.tensor(v, dtype=ax.float32)
    )
    h = torch.tensor(x, dtype=torch.float32)
    weights, outs = [], []
    for i in range(0, 6, 2):
        w = torch.tensor(model[i].weight.detach().numpy(), requires_grad=True)
        weights.append(w)
        h = torch.tanh(h @ w.T + torch.tensor(model[i].bias.detach().numpy()))
        outs.append(h.detach().numpy().std())
    (h * torch.tensor(v, dtype=torch.float32)).sum().backward()
    np.testing.assert_allclose(stds, outs, rtol=1e-5)
    np.testing.assert_allclose(grads, [w.grad.norm().item() for w in weights], rtol=1e-5)
    with pytest.raises(ValueError, match=r"shape \(5, 6\)"):
        layer_statistics(model, ax.tensor(x, dtype=ax.float32), ax.ones(6))


# ------------------------------------------------------------------------- vanishing
@pytest.mark.parametrize("kind", ["sigmoid", "residual", "batch norm"])
def test_per_layer_gradients_match_torch(kind):
    ax.manual_seed(0)
    net = DeepNet(kind, depth=4, width=6)
    x, y = sign_xor(32, 6, seed=0)
    weights, hidden, loss = layer_gradients(net, ax.tensor(x), ax.tensor(y))
    h = torch.tensor(x)
    ws, hs = [], []
    for i, lin in enumerate(net.layers):
        w = torch.tensor(lin.weight.detach().numpy(), requires_grad=True)
        ws.append(w)
        z = h @ w.T + torch.tensor(lin.bias.detach().numpy())
        if kind == "sigmoid":
            h = torch.sigmoid(z)
        elif kind == "residual":
            h = h + torch.sigmoid(h) @ w.T + torch.tensor(lin.bias.detach().numpy())
        else:
            z = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5)
            h = torch.sigmoid(
                z * torch.tensor(net.norms[i].weight.detach().numpy())
                + torch.tensor(net.norms[i].bias.detach().numpy())
            )
        h.retain_grad()
        hs.append(h)
    logits = h @ torch.tensor(net.head.weight.detach().numpy()).T + torch.tensor(
        net.head.bias.detach().numpy()
    )
    expect = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    expect.backward()
    assert loss == pytest.approx(expect.item(), rel=1e-5)
    np.testing.assert_allclose(weights, [w.grad.norm().item() for w in ws], rtol=1e-4)
    np.testing.assert_allclose(hidden, [t.grad.norm().item() for t in hs], rtol=1e-4)


def test_deep_net_and_task_reject_bad_input():
    with pytest.raises(ValueError, match="kind must be one of"):
        DeepNet("tanh", 2, 4)
    with pytest.raises(ValueError, match="dim >= 2"):
        sign_xor(4, 1, seed=0)
    x, y = sign_xor(100, 3, seed=0)
    assert x.shape == (100, 3) and ((x[:, 0] * x[:, 1] > 0) == (y == 1)).all()


# --------------------------------------------------------------- universal approximation
def test_staircase_passes_through_f_at_the_cuts():
    for pieces in (3, 10):
        cuts = np.linspace(LO, HI, pieces + 1)
        np.testing.assert_allclose(staircase(cuts, pieces), target(cuts), atol=1e-9)
    with pytest.raises(ValueError, match="at least 1"):
        staircase(cuts, 0)


def test_spread_network_heights_are_the_least_squares_solution():
    x = np.linspace(LO, HI, 50)[:, None]
    y = target(x)
    net = spread_network(6, x, y, seed=0)
    with ax.no_grad():
        hidden = net[1](net[0](ax.tensor(x, dtype=ax.float32))).numpy().astype(np.float64)
    design = np.concatenate([hidden, np.ones((50, 1))], axis=1)
    best = np.linalg.lstsq(design, y, rcond=None)[0]
    got = np.r_[net[2].weight.detach().numpy()[0], net[2].bias.detach().numpy()]
    np.testing.assert_allclose(got, best[:, 0], rtol=1e-3, atol=1e-4)


# ------------------------------------------------------------------------- regression
def test_least_squares_matches_polyfit_and_median_regression_matches_linprog():
    from scipy.optimize import linprog

    v = daily_views(120, seed=3)
    assert v.shape == (120,) and (v > 0).all()
    x, y = v[:-1], v[1:]
    b, w = least_squares(x, y)
    np.testing.assert_allclose([w, b], np.polyfit(x, y, 1), rtol=1e-10)
    # least absolute deviations as a linear program: min sum(u + d), b + w x + u - d = y
    n = len(x)
    design = np.stack([np.ones(n), x], axis=1)
    lp = linprog(
        np.r_[0.0, 0.0, np.ones(2 * n)],
        A_eq=np.c_[design, np.eye(n), -np.eye(n)],
        b_eq=y,
        bounds=[(None, None)] * 2 + [(0, None)] * (2 * n),
    )
    b_lad, w_lad = median_regression(x, y)
    mae = np.abs(y - b_lad - w_lad * x).mean()
    assert mae == pytest.approx(lp.fun / n, rel=1e-7)
    with pytest.raises(ValueError, match="1-D of one shape"):
        least_squares(x, y[:-1])


def test_gradient_descent_steps_follow_the_closed_form_gradients():
    v = daily_views(100, seed=0)
    x, y = v[:-1], v[1:]
    start, lr = (0.5, 0.2), 0.01
    for loss in ("MSE", "MAE"):
        path, losses = gradient_descent(x, y, loss, lr, 2, start)
        e = y - start[0] - start[1] * x
        if loss == "MSE":
            grad = np.array([-2 * e.mean(), -2 * (e * x).mean()])
            assert losses[0] == pytest.approx((e * e).mean(), rel=1e-12)
        else:
            grad = np.array([-np.sign(e).mean(), -(np.sign(e) * x).mean()])
            assert losses[0] == pytest.approx(np.abs(e).mean(), rel=1e-12)
        np.testing.assert_allclose(path[1], np.array(start) - lr * grad, rtol=1e-12)
    surface = loss_surface(x, y, np.array([start[0], 0.0]), np.array([start[1]]), "MSE")
    assert surface.shape == (1, 2) and surface[0, 0] == pytest.approx((e * e).mean())
