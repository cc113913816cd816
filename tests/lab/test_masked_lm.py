"""The ``masked-lm`` experiment in quick mode on a tiny SST-2-like corpus read through
--data-dir, and its pieces: the vocabulary, the batches, the held-out loss."""

import dataclasses
import json
import re

import numpy as np
import pytest

import axon as ax
from axon.data import text
from axon.data.datadir import sha256sum
from axon.lab import Config, self_attention
from axon.lab import masked_lm as lab
from axon.lab.shared import mlm
from axon.models.transformer import IGNORE_INDEX, MaskedLM

PNG = b"\x89PNG\r\n\x1a\n"


def sst2_tsv(rng, n: int) -> str:
    """``n`` rows in SST-2's format, a sentence of 9 words whose sentiment word gives its
    label, and now and then one of its sub-phrases with the same label (as SST-2's
    training set holds each sentence's sub-phrases)."""
    nouns = ["film", "movie", "story", "cast", "plot", "script", "ending", "score"]
    good = ["wonderful", "moving", "funny", "gorgeous", "smart"]
    bad = ["tedious", "dull", "awful", "boring", "wooden"]
    extras = ["long", "short", "new", "odd", "quiet", "loud"]
    rows = ["sentence\tlabel"]
    for _ in range(n):
        label = int(rng.integers(2))
        word = rng.choice(good if label else bad)
        noun, extra = rng.choice(nouns), rng.choice(extras)
        sentence = f"the {noun} is {word} and {extra} , i think"
        if rng.random() < 0.2:
            sentence = f"{word} and {extra}"
        rows.append(f"{sentence} \t{label}")
    return "\n".join(rows) + "\n"


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
    assert len(result.claims) == 1 and "falls below the unigram entropy" in claims
    m = result.metrics
    assert m["mlm_test_loss"] < 0.75 * m["unigram_entropy"]  # the templates are predictable
    assert m["mlm_val_loss"] < 0.75 * m["unigram_entropy"]
    assert m["pretrained_test_accuracy"] > 0.9 and m["scratch_test_accuracy"] > 0.9
    assert m["pretrained_val_accuracy"] > 0.9 and m["scratch_val_accuracy"] > 0.9
    printed = capsys.readouterr().out
    assert "pretrained vs from scratch" in printed and "gain from pretraining" in printed
    # a quick run says that it claims nothing of the classifiers, instead of a weak claim
    assert "not claimed by a quick run: that the classifiers beat the majority class" in printed
    assert re.search(r"splits: [\d,]+ training phrases, 200 validation sentences", printed)
    assert "200 test sentences (SST-2's dev set)" in printed
    assert result.splits["val"] == 200 and result.splits["test"] == 200
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


def test_label_subsets_are_nested_and_seeded():
    raw = [(f"w{i}", i % 2) for i in range(50)]
    ids = [np.array([i]) for i in range(50)]
    long_enough = list(range(0, 50, 2)) + [1, 3]
    a = lab.label_subsets(long_enough, ids, raw, (5, 10, 20), seed=0)
    b = lab.label_subsets(long_enough, ids, raw, (5, 10, 20), seed=0)
    c = lab.label_subsets(long_enough, ids, raw, (20,), seed=1)
    firsts = {n: [int(x[0]) for x, _ in items] for n, items in a.items()}
    assert [len(firsts[n]) for n in (5, 10, 20)] == [5, 10, 20]
    assert firsts[5] == [int(x[0]) for x, _ in b[5]]  # same seed, same draw
    assert set(firsts[5]) < set(firsts[10]) < set(firsts[20]) <= set(long_enough)
    assert firsts[20] != [int(x[0]) for x, _ in c[20]]
    for items in a.values():
        assert all(y == int(x[0]) % 2 for x, y in items)  # each phrase keeps its label


def test_validation_sentences_are_whole_and_nothing_of_them_is_left_in_training():
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(12)]
    sentences = {" ".join(rng.choice(words, int(rng.integers(8, 12)))) for _ in range(60)}
    phrases = []
    for sentence in sorted(sentences):  # each sentence with some of its sub-phrases
        w = sentence.split()
        phrases.append(sentence)
        for _ in range(4):
            a = int(rng.integers(0, len(w) - 1))
            phrases.append(" ".join(w[a : int(rng.integers(a + 1, len(w)))]))
    train, val = lab.validation_sentences(phrases, 10, min_words=8, seed=3)
    assert len(val) == 10 and not set(train) & set(val)
    padded = [f" {p} " for p in phrases]
    for i in val:  # a whole sentence: no other phrase contains it
        assert not any(padded[i] in q and len(q) > len(padded[i]) for q in padded)
    for i in range(len(phrases)):  # a phrase is left out exactly when it is part of one
        part = any(padded[i] in padded[v] for v in val)
        assert (i in train) == (not part) or i in val
    assert lab.validation_sentences(phrases, 10, 8, seed=3) == (train, val)
    assert lab.validation_sentences(phrases, 10, 8, seed=4)[1] != val
