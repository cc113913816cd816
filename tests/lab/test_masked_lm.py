"""The ``masked-lm`` experiment in quick mode on a tiny SST-2-like corpus read through
--data-dir, and its pieces: the vocabulary, the batches, the held-out loss."""

import dataclasses
import json

import numpy as np
import pytest

import axon as ax
from axon.data import text
from axon.data.datadir import sha256sum
from axon.lab import Config, self_attention
from axon.lab import masked_lm as lab
from axon.lab.shared import mlm
from axon.models.transformer import IGNORE_INDEX, MaskedLM
from tests.lab.test_text_experiments import sst2_tsv

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def data(tmp_path_factory, monkeypatch, tmp_path):
    """A data directory holding a tiny SST-2 (train and dev) under its upstream names."""
    root = tmp_path_factory.mktemp("sst2")
    rng = np.random.default_rng(0)
    for key, n in (("sst2.train", 1500), ("sst2.dev", 200)):
        f = text.FILES[key]
        path = root / f.subdir / f.name
        path.parent.mkdir(exist_ok=True)
        path.write_text(sst2_tsv(rng, n), encoding="utf-8")
        monkeypatch.setitem(
            text.FILES,
            key,
            dataclasses.replace(
                f, sha256=sha256sum(path), size=path.stat().st_size, urls=(), archives=()
            ),
        )
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return root


def test_quick_run_claims_and_saved_files_which_self_attention_reuses(data, tmp_path, capsys):
    result = lab.run(Config(out=tmp_path, quick=True, data_dir=data))
    assert result.passed, result.claims
    claims = " ".join(t for t, _ in result.claims)
    assert "falls below the unigram entropy" in claims and "beat the majority class" in claims
    m = result.metrics
    assert m["mlm_dev_loss"] < 0.5 * m["unigram_entropy"]  # the templates are predictable
    assert m["pretrained_accuracy"] > 0.9 and m["scratch_accuracy"] > 0.9
    printed = capsys.readouterr().out
    assert "pretrained vs from scratch" in printed and "gain from pretraining" in printed
    for name in ("masked_lm_curves.png", "masked_lm_finetune.png"):
        assert tmp_path / name in result.figures
        assert (tmp_path / name).read_bytes()[:8] == PNG
    weights = ax.load(tmp_path / "masked_lm.safetensors")
    vocab = text.Vocab.load(tmp_path / "masked_lm_vocab.json")
    sizes = json.loads((tmp_path / "masked_lm_config.json").read_text())
    assert set(sizes) == set(lab.ARCH)
    assert weights["encoder.token.weight"].shape == (len(vocab), sizes["d_model"])
    assert vocab.itos[:3] == list(lab.SPECIALS)
    # self-attention draws the attention of this model, found in the same folder
    drawn = self_attention.run(Config(out=tmp_path, quick=True, data_dir=data))
    printed = capsys.readouterr().out
    assert "pretrained by masked-lm" in printed and "training a masked LM" not in printed
    assert drawn.passed, drawn.claims
    assert sum(k.startswith("it_to_animal") for k in drawn.metrics) == (
        lab.QUICK["layers"] * lab.QUICK["nhead"]
    )


def test_vocab_and_encoding():
    vocab = mlm.build_vocab(["a b b", "a c", "d"], max_size=None)
    assert vocab.itos == ["<pad>", "<unk>", "<mask>", "a", "b"]  # seen twice or more
    assert (vocab["<pad>"], vocab["<unk>"], vocab["<mask>"]) == (mlm.PAD, mlm.UNK, mlm.MASK)
    np.testing.assert_array_equal(mlm.encode(vocab, "a b c a", max_len=3), [3, 4, mlm.UNK])
    np.testing.assert_array_equal(mlm.encode(vocab, "", max_len=3), [mlm.UNK])


def test_sentences_batches_pad_and_keep_every_example():
    ids = [np.arange(3, 3 + n) for n in (1, 4, 2, 3, 5)]
    batches = list(mlm.Sentences(ids, [0, 1, 0, 1, 1], batch_size=2, seed=0))
    seen = sorted(int(y) for _, b in batches for y in b.numpy())
    assert seen == [0, 0, 1, 1, 1] and len(batches) == 3
    for x, _ in batches:
        x = x.numpy()
        lengths = (x != mlm.PAD).sum(1)
        for row, n in zip(x, lengths, strict=True):
            np.testing.assert_array_equal(row[:n], np.arange(3, 3 + n))
    unlabelled = list(mlm.Sentences(ids, batch_size=5, shuffle=False))
    assert len(unlabelled) == 1 and unlabelled[0].shape == (5, 5)


def test_held_out_batches_are_fixed_and_the_loss_is_their_token_mean():
    ax.manual_seed(0)
    rng = np.random.default_rng(0)
    ids = [rng.integers(3, 20, n) for n in rng.integers(3, 9, 40)]
    a = mlm.masked_batches(ids, 20, 16, seed=1)
    b = mlm.masked_batches(ids, 20, 16, seed=1)
    assert len(a) == len(b) == 3
    for (xa, ta), (xb, tb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ta, tb)
    model = MaskedLM(mlm.new_encoder(20, dict(lab.QUICK), 0.0))
    total = sum(model.loss(x, t).item() * (t != IGNORE_INDEX).sum() for x, t in a)
    count = sum((t != IGNORE_INDEX).sum() for _, t in a)
    assert mlm.mlm_loss(model, a) == pytest.approx(total / count, rel=1e-6)
    assert model.training  # mlm_loss restores the training mode


def test_nearest_words_by_cosine():
    vocab = text.Vocab([*lab.SPECIALS, "good", "bad", "great", "film"])
    e = np.array([[9, 9], [9, 9], [9, 9], [1, 0], [-1, 0.1], [2, 0.5], [0, 1]], dtype=float)
    near = lab.nearest_words(e, vocab, ["good", "film"], k=2)
    assert near == {"good": ["great", "film"], "film": ["great", "bad"]}


def test_label_subsets_are_nested_seeded_and_hold_out_a_fifth():
    raw = [(f"w{i}", i % 2) for i in range(50)]
    ids = [np.array([i]) for i in range(50)]
    long_enough = list(range(0, 50, 2)) + [1, 3]
    a = lab.label_subsets(long_enough, ids, raw, (5, 10, 20), seed=0)
    b = lab.label_subsets(long_enough, ids, raw, (5, 10, 20), seed=0)
    c = lab.label_subsets(long_enough, ids, raw, (20,), seed=1)
    firsts = {n: [int(x[0]) for x, _ in va + tr] for n, (tr, va) in a.items()}
    assert [len(a[n][1]) for n in (5, 10, 20)] == [1, 2, 4]  # 20% held out
    assert firsts[5] == [int(x[0]) for x, _ in b[5][1] + b[5][0]]  # same seed, same draw
    assert set(firsts[5]) < set(firsts[10]) < set(firsts[20]) <= set(long_enough)
    assert firsts[20] != [int(x[0]) for x, _ in c[20][1] + c[20][0]]
    for tr, va in a.values():
        assert all(y == int(x[0]) % 2 for x, y in tr + va)  # each phrase keeps its label
