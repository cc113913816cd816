"""The ``transformer-lm`` experiment in quick mode on a tiny Shakespeare-like file read
through --data-dir, and its pieces: the window batches, the schedule, the sampler."""

import dataclasses

import numpy as np
import pytest

import axon as ax
from axon import optim
from axon.cli import main
from axon.data import text
from axon.data.datadir import sha256sum
from axon.lab import transformer_lm as lab
from axon.lab.shared import text_common
from axon.models.transformer import TransformerLM
from tests.lab.test_text_experiments import shakespeare_text

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def data(tmp_path_factory, monkeypatch, tmp_path):
    root = tmp_path_factory.mktemp("shakespeare")
    f = text.FILES["tinyshakespeare"]
    path = root / f.subdir / f.name
    path.parent.mkdir()
    path.write_text(shakespeare_text(np.random.default_rng(0)), encoding="utf-8")
    monkeypatch.setitem(
        text.FILES,
        "tinyshakespeare",
        dataclasses.replace(
            f, sha256=sha256sum(path), size=path.stat().st_size, urls=(), archives=()
        ),
    )
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return root


def test_quick_run_through_the_cli(data, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", "transformer-lm", "--quick", "--data-dir", str(data), "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "falls below the unigram entropy" in printed
    assert "char-LSTM's goal (shakespeare)" in printed and "1.550" in printed
    for t in text_common.TEMPERATURES:
        assert f"temperature {t}:" in printed
    weights = ax.load(out / "transformer_lm.safetensors")
    d = lab.QUICK["d_model"]
    assert weights["encoder.layers.0.self_attn.in_proj_weight"].shape == (3 * d, d)
    assert (out / "transformer_lm_curves.png").read_bytes()[:8] == PNG


def test_quick_claims_and_metrics(data, tmp_path):
    result = lab.run(lab.Config(out=tmp_path, quick=True, data_dir=data, epochs=2))
    assert result.passed, result.claims
    assert result.metrics["epochs_run"] == 2
    assert result.metrics["updates"] == 2 * lab.QUICK["steps_per_epoch"]
    assert result.metrics["val_loss"] < 0.6 * result.metrics["unigram_entropy"]


def test_random_windows_are_next_token_pairs():
    ids = np.arange(100)
    batches = list(lab.RandomWindows(ids, context=8, batch=4, steps=3, seed=0))
    assert len(batches) == 3
    for x, y in batches:
        x, y = x.numpy(), y.numpy()
        assert x.shape == y.shape == (4, 8)
        np.testing.assert_array_equal(y, x + 1)  # ids are positions: the target is next
    with pytest.raises(ValueError, match="too few"):
        lab.RandomWindows(np.arange(5), context=8, batch=1, steps=1)


def test_consecutive_windows_predict_each_character_once():
    ids = np.arange(23)
    batches = lab.consecutive_windows(ids, context=5, batch=3)
    xs = np.concatenate([x.numpy() for x, _ in batches])
    ys = np.concatenate([y.numpy() for _, y in batches])
    assert xs.shape == (4, 5)
    np.testing.assert_array_equal(ys.ravel(), np.arange(1, 21))
    np.testing.assert_array_equal(xs.ravel(), np.arange(20))


def test_sampling_with_top_k_1_is_greedy_and_keeps_the_model_window():
    ax.manual_seed(0)
    model = TransformerLM(7, d_model=8, nhead=2, num_layers=1, dim_feedforward=16, max_len=4)
    ids = lab.sample(model, [1, 2, 3], 10, temperature=1.0, top_k=1)
    assert len(ids) == 10 and all(0 <= i < 7 for i in ids)
    seq = [1, 2, 3]
    with ax.no_grad():
        for _ in range(10):  # greedy by hand, the last 4 ids as context
            logits = model(np.array([seq[-4:]])).numpy()[0, -1]
            seq.append(int(logits.argmax()))
    assert ids == seq[3:]
    a = lab.sample(model, [1], 20, temperature=1.0, rng=np.random.default_rng(3))
    b = lab.sample(model, [1], 20, temperature=1.0, rng=np.random.default_rng(3))
    assert a == b


def test_training_lowers_the_loss_of_a_random_window_stream():
    ax.manual_seed(0)
    ids = np.tile(np.arange(6), 50)
    model = TransformerLM(
        6, d_model=16, nhead=2, num_layers=1, dim_feedforward=16, dropout=0.0, max_len=8
    )
    history = ax.fit(
        model,
        lab.RandomWindows(ids, 8, 8, 30),
        loss=lab.sequence_cross_entropy,
        optimizer=optim.Adam(model.parameters(), lr=1e-2),
        epochs=2,
        verbose=0,
    )
    assert history["loss"][-1] < 0.2 < np.log(6)
