"""axon run optimizers / overfitting (quick), and their pieces: the 2-D paths against
torch.optim on the same surfaces, the example-noise model, the probe, the splits, and
early stopping on the clean validation scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from axon import lab, nn
from axon.lab import Config
from axon.lab import optimizers as O
from axon.lab import overfitting as F
from axon.lab.shared.digits import digit_images, split_digits

FIGURES = {
    "optimizers": ["optimizers_paths.png", "optimizers_curves.png"],
    "overfitting": ["overfitting_curves.png"],
}


def assert_figures_and_metrics(result, name, out):
    assert [p.name for p in result.figures] == FIGURES[name]
    for p in result.figures:
        assert p.parent == out and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(np.isfinite(v) for v in result.metrics.values())


# overfitting's quick run (6 trainings of 40 epochs, about 6 s) is slow: by default it
# runs for 2 epochs below, and its pieces and early stopping are tested on their own
@pytest.mark.parametrize(
    "name", ["optimizers", pytest.param("overfitting", marks=pytest.mark.slow)]
)
def test_quick_run_holds_its_claims(name, tmp_path, capsys):
    result = lab.run(name, Config(out=tmp_path, quick=True))
    assert result.passed, [c for c in result.claims if not c[1]]
    assert len(result.claims) >= 5
    assert_figures_and_metrics(result, name, tmp_path)
    assert "8x8 digits" in capsys.readouterr().out  # quick mode never reads MNIST


def test_overfitting_trains_every_remedy_and_draws_its_curves_in_two_epochs(tmp_path, capsys):
    result = lab.run("overfitting", Config(out=tmp_path, quick=True, epochs=2))
    assert len(result.claims) == 7  # the baseline, five remedies, weight elimination's zeros
    assert_figures_and_metrics(result, "overfitting", tmp_path)
    for remedy in F.REMEDIES:  # each learned something in two epochs (chance is 10%)
        assert result.metrics[f"{remedy.replace(' ', '_')}_best_val"] > 0.2
    printed = capsys.readouterr().out
    assert "8x8 digits" in printed and all(remedy in printed for remedy in F.REMEDIES)


# ----------------------------------------------------------------------------- surfaces
SURFACE = {s.name: s for s in O.SURFACES}


def _torch_f(name: str, w: torch.Tensor) -> torch.Tensor:
    x, y = w[0], w[1]
    if name == "ravine":
        return 0.5 * w @ torch.tensor(O.RAVINE_MATRIX) @ w
    if name == "Rosenbrock":
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return x * x + 0.25 * y**4 - 0.5 * y * y


def test_surfaces_have_their_minima_where_stated():
    assert np.allclose(np.linalg.eigvalsh(O.RAVINE_MATRIX), O.RAVINE_CURVATURES)
    for s in O.SURFACES:
        minima = np.array(s.minima)
        np.testing.assert_allclose(s.values(minima), s.f_min, atol=1e-15)
        w = ax.tensor(minima, dtype=ax.float64, requires_grad=True)
        s.f(w).sum().backward()
        assert np.abs(w.grad.numpy()).max() < 1e-12  # stationary
        grid = np.random.default_rng(0).uniform(-2, 2, (500, 2))
        assert (s.values(grid) >= s.f_min - 1e-12).all()
    assert SURFACE["saddle"].values(np.zeros(2)) == 0.0  # the saddle point, above the minima


TORCH_OPT = {
    "batch GD": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "Nesterov": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "AdaGrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
    "RMSProp": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
    "Adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
}


@pytest.mark.parametrize("surface", ["ravine", "Rosenbrock"])
@pytest.mark.parametrize("method", list(TORCH_OPT))
def test_full_batch_paths_match_torch_optim(surface, method):
    s, steps = SURFACE[surface], 25
    lrs = [0.01, 0.1] if surface == "ravine" else [1e-4, 1e-3]
    paths = O.descend(s, O.method(method), lrs, steps=steps)
    assert paths.points.shape == (steps + 1, 2, 2) and not paths.diverged.any()
    for k, lr in enumerate(lrs):
        w = torch.tensor(s.start, dtype=torch.float64, requires_grad=True)
        opt = TORCH_OPT[method]([w], lr)
        expected, losses = [w.detach().numpy().copy()], []
        for _ in range(steps):
            opt.zero_grad()
            f = _torch_f(surface, w)
            losses.append(f.item())
            f.backward()
            opt.step()
            expected.append(w.detach().numpy().copy())
        np.testing.assert_allclose(paths.points[:, k], np.array(expected), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(paths.losses[:-1, k], losses, rtol=1e-10, atol=1e-12)


def test_stochastic_paths_add_the_mean_noise_of_their_batch():
    s, lr, seed = SURFACE["ravine"], 0.05, 3
    noise = O.example_noise(s, seed)
    assert noise.shape == (O.EXAMPLES, 2)
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, atol=1e-15)  # full batch: exactly f
    for name in ("SGD", "mini-batch SGD"):
        m = O.method(name)
        paths = O.descend(s, m, [lr], seed=seed, steps=3)
        rng, w = np.random.default_rng(seed + 1), np.array(s.start)
        for t in range(3):
            e = noise[rng.choice(O.EXAMPLES, m.batch, replace=False)].mean(axis=0)
            w = w - lr * (O.RAVINE_MATRIX @ w + e)  # gradient of f(w) + e . w
            np.testing.assert_allclose(paths.points[t + 1, 0], w, rtol=1e-12)
    gd = O.descend(s, O.method("batch GD"), [lr], seed=seed, steps=3)
    w = np.array(s.start)
    for _ in range(3):
        w = w - lr * O.RAVINE_MATRIX @ w
    np.testing.assert_allclose(gd.points[-1, 0], w, rtol=1e-12)


def test_diverged_paths_score_inf_and_are_never_best():
    paths = O.descend(SURFACE["ravine"], O.method("batch GD"), [0.1, 1.0], steps=60)
    assert paths.diverged.tolist() == [False, True]  # lr > 2 / 5 leaves the valley
    assert np.isfinite(paths.final[0]) and paths.final[1] == np.inf and paths.best == 0
    with pytest.raises(KeyError, match="known: batch GD"):
        O.method("Adamax")


# ----------------------------------------------------------------------------- digits
def test_probe_measures_at_equal_numbers_of_examples(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 5)).astype(np.float32), rng.integers(0, 3, 100)
    probe = O.Probe((x[:40], y[:40]), (x[40:], y[40:]), n_train=100, batch_size=30, every=25)
    model = nn.Linear(5, 3)
    before = ax.evaluate(model, (x[:40], y[:40]), loss=nn.CrossEntropyLoss())["loss"]
    ax.fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=ax.optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=30,
        shuffle=False,
        callbacks=[probe],
        verbose=0,
    )
    # batches end at 30, 60, 90, 100 | 130, 160, 190, 200 examples; a probe every >= 25
    assert probe.seen == pytest.approx([0, 0.3, 0.6, 0.9, 1.3, 1.6, 1.9])
    assert probe.loss[0] == pytest.approx(before)
    after = ax.evaluate(model, (x[40:], y[40:]), metrics=["accuracy"])["accuracy"]
    assert probe.loss[-1] < probe.loss[0] and 0 <= after <= 1


def test_digit_images_fall_back_to_the_shipped_digits(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    name, train, test = digit_images(Config(data_dir=tmp_path, seed=1))
    assert name == "8x8 digits" and "no MNIST in the data directory" in capsys.readouterr().out
    ref_train, ref_test = split_digits(1)
    np.testing.assert_array_equal(train.y, ref_train.y)
    assert train.x.shape[1:] == (1, 8, 8) and len(train) + len(test) == 1797


# ----------------------------------------------------------------------------- overfitting
def _digits_sets(n_train=60, n_val=200):
    train_all, test_all = split_digits(0)
    return F.split(train_all, test_all, F.Setup(n_train, n_val, 100, 12, 10, "noise"), 0)


def test_split_is_disjoint_and_checks_its_sizes():
    train_all, test_all = split_digits(0)
    s = F.Setup(100, 700, 360, 1, 10, "noise")
    train, val, test = F.split(train_all, test_all, s, seed=2)
    assert (len(train), len(val), len(test)) == (100, 700, 359)  # the test split has 359
    rows = {x.tobytes() for x in train_all.x}
    assert len(rows) > 1400  # the images are (nearly all) distinct, so overlap would show
    train_rows, val_rows = {x.tobytes() for x in train.x}, {x.tobytes() for x in val.x}
    assert not train_rows & val_rows
    with pytest.raises(ValueError, match="1000 training \\+ 700 validation"):
        F.split(train_all, test_all, F.Setup(1000, 700, 360, 1, 10, "noise"), 0)


def test_network_and_its_dropout():
    model = F.network(64, dropout=0.5)
    assert [type(m).__name__ for m in model] == [
        "Flatten",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]
    assert model.num_parameters() == 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    weights, biases = F.weights_and_biases(model)
    assert [tuple(w.shape) for w in weights] == [(256, 64), (256, 256), (10, 256)]
    assert all(b.ndim == 1 for b in biases)
    assert F.Setup(1, 1, 1, 1, 1, "noise").augmentation(_digits_sets()[0]).std == 0.5
    with pytest.raises(ValueError, match="unknown remedy 'mixup'"):
        F.train_with("mixup", *_digits_sets(), F.Setup(60, 200, 100, 1, 10, "noise"), 0)


def test_early_stopping_keeps_the_epoch_of_least_clean_validation_loss():
    train, val, test = _digits_sets()
    s = F.Setup(60, 200, 100, 80, 10, "noise")  # room to stop (seed 0 stops at epoch 44)
    r = F.train_with("early stopping", train, val, test, s, seed=0)
    val_loss = r.scores["val_loss"]
    assert len(val_loss) < s.epochs  # it stopped
    assert r.kept == int(np.argmin(val_loss)) and len(val_loss) == r.kept + 1 + F.PATIENCE
    assert r.loss_gap == pytest.approx(val_loss[r.kept] - r.scores["train_loss"][r.kept])
    assert r.best_val == max(r.scores["val_accuracy"])
