"""axon run parity / deep-rnn (quick), the synthetic sequence tasks and the RNN
diagnostics (gradient norms through time, gate saturation, parameter counts)."""

import numpy as np
import pytest

import axon as ax
from axon import lab, nn
from axon.lab import Config, parity
from axon.lab.shared.rnn_diagnostics import (
    cell_from_layer,
    gate_saturation,
    hidden_grad_norms,
    param_counts,
    unroll,
)
from axon.lab.shared.sequence_tasks import (
    adding_problem,
    copy_sequence,
    parity_bits,
    reverse_sequence,
)


def test_parity_bits_are_the_running_xor():
    x, y = parity_bits(5, 7, seed=1)
    assert x.shape == (5, 7, 1) and x.dtype == np.float32 and y.shape == (5, 7)
    bits = x[:, :, 0].astype(int)
    for t in range(7):
        assert (y[:, t] == bits[:, : t + 1].sum(axis=1) % 2).all()
    assert (parity_bits(5, 7, seed=1)[0] == x).all()  # seeded


def test_copy_reverse_and_adding_tasks():
    x, y = copy_sequence(3, 6, 5, seed=0)
    assert (x == y).all() and x.max() < 5
    x, y = reverse_sequence(3, 6, 5, seed=0)
    assert (y == x[:, ::-1]).all()
    x, y = adding_problem(4, 10, seed=0)
    assert x.shape == (4, 10, 2) and y.shape == (4,)
    assert (x[:, :, 1].sum(axis=1) == 2).all()
    assert np.allclose((x[:, :, 0] * x[:, :, 1]).sum(axis=1), y)
    with pytest.raises(ValueError):
        adding_problem(1, 1, seed=0)


def test_param_counts_match_the_formulas_and_the_layers():
    for row, g in zip(param_counts(3, 5), (1, 4, 3), strict=True):
        assert row["course"] == g * 5 * (5 + 3 + 1)
        assert row["axon"] == row["pytorch"] == g * 5 * (3 + 5) + 2 * g * 5
        assert row["axon"] - row["course"] == row["difference"] == g * 5


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_cell_loop_matches_the_fused_layer_and_gradients_are_per_step(kind):
    ax.manual_seed(0)
    layer = getattr(nn, kind)(2, 4, batch_first=True)
    x = ax.randn(3, 6, 2)
    cell = cell_from_layer(layer)
    with ax.no_grad():
        fused = layer(x)[0].numpy()  # (N, T, H)
        looped = np.stack([h.numpy() for h in unroll(cell, x)], axis=1)
    assert np.abs(fused - looped).max() < 1e-5
    head = nn.Linear(4, 2)
    norms = hidden_grad_norms(cell, head, x, ax.tensor([0, 1, 1]))
    assert norms.shape == (6,) and np.isfinite(norms).all() and (norms > 0).all()
    # the last step's gradient is the head's alone: dL/dh_T = (softmax - onehot) W / N
    logits = head(ax.tensor(looped[:, -1])).detach().numpy()
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p[[0, 1, 2], [0, 1, 1]] -= 1
    expect = np.linalg.norm(p @ head.weight.detach().numpy() / 3, axis=1).mean()
    assert norms[-1] == pytest.approx(expect, rel=1e-4)
    shares = gate_saturation(cell, x)
    assert all(0.0 <= s <= 1.0 for s in shares.values()) and "all" in shares


def test_gate_saturation_counts_the_flat_parts():
    cell = nn.RNNCell(1, 1)
    cell.load_state_dict(
        {
            "weight_ih": np.array([[10.0]], np.float32),
            "weight_hh": np.zeros((1, 1), np.float32),
            "bias_ih": np.zeros(1, np.float32),
            "bias_hh": np.zeros(1, np.float32),
        }
    )
    x = ax.tensor(np.array([[[1.0], [0.0], [-1.0], [0.01]]], np.float32))  # tanh 10x
    assert gate_saturation(cell, x)["all"] == pytest.approx(0.5)


def assert_parity_figures(result):
    assert [p.name for p in result.figures] == ["parity_accuracy.png", "parity_gradient_norms.png"]
    for p in result.figures:
        assert p.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # six trainings of 250 steps: 4-5 s; 40 steps each below by default
def test_parity_quick_run_holds_its_claims(tmp_path, capsys):
    result = lab.run("parity", Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    assert len(result.claims) == 5
    assert result.metrics["LSTM_T32"] >= result.metrics["RNN_T32"]
    assert_parity_figures(result)
    assert "retain_grad" in capsys.readouterr().out


def test_parity_runs_every_step_with_40_training_steps(tmp_path, capsys, monkeypatch):
    """The quick run with each of its six trainings cut to 40 steps (too few to learn
    parity): the counts and the cell loop still hold, every number is measured, the
    gradient tables and figures are drawn."""
    train = parity.train_parity
    monkeypatch.setattr(
        parity, "train_parity", lambda *args, **kw: train(*args[:3], 40, *args[4:], **kw)
    )
    result = lab.run("parity", Config(out=tmp_path, quick=True))
    claims = dict(result.claims)
    assert len(claims) == 5
    assert claims["the cell loop reproduces the fused layer's h_T (max difference < 1e-4)"]
    assert next(ok for text, ok in result.claims if text.startswith("axon's layers hold"))
    m = result.metrics
    assert all(np.isfinite(v) for v in m.values())
    assert all(0 <= m[f"{k}_T{t}"] <= 1 for k in ("RNN", "LSTM", "GRU") for t in (4, 32))
    assert all(m[f"grad_ratio_{k}_at"] > 0 for k in ("RNN", "LSTM", "GRU"))
    assert_parity_figures(result)
    assert "retain_grad" in capsys.readouterr().out


def test_deep_rnn_quick_run_holds_its_claims(tmp_path):
    result = lab.run("deep-rnn", Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    assert result.metrics["acc_l1_bi"] > result.metrics["acc_l1_uni"] + 0.2
    assert result.figures[0].read_bytes()[:4] == b"\x89PNG"
