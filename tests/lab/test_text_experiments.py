"""The text experiments (shakespeare, next-word, sentiment, pos-tagging) in quick mode, on
tiny corpora written here in the real formats (plain text, PTB lines, GLUE TSV, CoNLL-U)
and read through --data-dir; plus the helpers of ``text_common``."""

import dataclasses

import numpy as np
import pytest

import axon as ax
from axon.cli import main
from axon.data import text
from axon.data.datadir import sha256sum
from axon.lab import Config
from axon.lab import next_word as next_word_lab
from axon.lab import pos_tagging as pos_lab
from axon.lab import sentiment as sentiment_lab
from axon.lab.shared import text_common
from axon.lab.shared.text_common import (
    IGNORE,
    BucketLoader,
    MaskedAccuracy,
    next_token_probs,
    sequence_cross_entropy,
    unigram_entropy,
)

PNG = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- tiny corpora
def shakespeare_text(rng) -> str:
    speakers = ["ROMEO", "JULIET", "KING HENRY", "FIRST CITIZEN"]
    lines = [
        "I love thee well, my lord.",
        "What say you to the king?",
        "Good morrow, sweet friend.",
        "We are accounted poor citizens.",
    ]
    parts = [f"{rng.choice(speakers)}:\n{rng.choice(lines)}\n\n" for _ in range(300)]
    return "".join(parts)


def ptb_lines(rng, n: int) -> str:
    subjects = ["the company", "the stock market", "mr. <unk>", "the firm", "investors"]
    verbs = ["said", "rose", "fell", "expects"]
    tails = ["N N", "in new york", "the shares", "a year ago", "<unk> profit"]
    return "".join(
        f" {rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(tails)} \n" for _ in range(n)
    )


def sst2_tsv(rng, n: int) -> str:
    good = ["wonderful", "moving", "funny", "gorgeous", "smart"]
    bad = ["tedious", "dull", "awful", "boring", "wooden"]
    rows = ["sentence\tlabel"]
    for _ in range(n):
        label = int(rng.integers(2))
        word = rng.choice(good if label else bad)
        rows.append(f"the film is {word} and {rng.choice(['long', 'short', 'new'])} \t{label}")
    return "\n".join(rows) + "\n"


def conllu(rng, n: int) -> str:
    pattern = [
        ("DET", ["the", "a"]),
        ("ADJ", ["big", "red", "old"]),
        ("NOUN", ["dog", "house", "car"]),
        ("VERB", ["sees", "likes"]),
        ("ADP", ["near", "in"]),
        ("PROPN", ["Boston", "Mary"]),
        ("PUNCT", ["."]),
    ]
    out = []
    for k in range(n):
        out += [f"# sent_id = s{k}", "# text = ..."]
        words = [(rng.choice(forms), tag) for tag, forms in pattern]
        out.append(f"1-2\t{words[0][0]}{words[1][0]}\t_\t_\t_\t_\t_\t_\t_\t_")  # multiword
        for i, (w, t) in enumerate(words, start=1):
            out.append(f"{i}\t{w}\t{w}\t{t}\t_\t_\t{max(i - 1, 0)}\tdep\t_\t_")
        out.append("")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """A data directory with the four corpora under their upstream names, and the
    checksum table that matches them."""
    root = tmp_path_factory.mktemp("textdata")
    rng = np.random.default_rng(0)
    files = {
        "tinyshakespeare": shakespeare_text(rng),
        "ptb.train": ptb_lines(rng, 900),
        "ptb.valid": ptb_lines(rng, 150),
        "ptb.test": ptb_lines(rng, 150),
        "sst2.train": sst2_tsv(rng, 1500),
        "sst2.dev": sst2_tsv(rng, 200),
        "ud.train": conllu(rng, 300),
        "ud.dev": conllu(rng, 60),
        "ud.test": conllu(rng, 60),
    }
    table = {}
    for key, content in files.items():
        f = text.FILES[key]
        path = root / f.subdir / f.name
        path.parent.mkdir(exist_ok=True)
        path.write_text(content, encoding="utf-8")
        table[key] = dataclasses.replace(
            f, sha256=sha256sum(path), size=path.stat().st_size, urls=(), archives=()
        )
    return root, table


@pytest.fixture
def data(corpora, monkeypatch, tmp_path):
    root, table = corpora
    for key, f in table.items():
        monkeypatch.setitem(text.FILES, key, f)
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # checksum markers
    return root


def assert_saved(result, out, stem):
    assert (out / f"{stem}.safetensors").stat().st_size > 0
    png = out / f"{stem}_curves.png"
    assert png in result.figures and png.read_bytes()[:8] == PNG


# ----------------------------------------------------------------------------- experiments
def test_shakespeare_quick_through_the_cli(data, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", "shakespeare", "--quick", "--data-dir", str(data), "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "falls below the unigram entropy" in printed
    for t in text_common.TEMPERATURES:
        assert f"temperature {t}:" in printed
    weights = ax.load(out / "shakespeare.safetensors")
    assert weights["lstm.weight_hh_l0"].shape == (4 * 64, 64)  # PyTorch layout, i f g o


def test_next_word_quick_claims_and_suggestions(data, tmp_path, capsys):
    result = next_word_lab.run(Config(out=tmp_path, quick=True, data_dir=data))
    assert result.passed, result.claims
    assert result.metrics["val_loss"] < result.metrics["unigram_entropy"]
    printed = capsys.readouterr().out
    assert "'the company said' ->" in printed
    assert_saved(result, tmp_path, "next_word")


def test_next_word_takes_a_prompt_from_the_config(data, tmp_path, capsys):
    config = Config(out=tmp_path, quick=True, data_dir=data, epochs=1)
    config.prompt = "investors expects"  # what the CLI's --prompt sets, where it has one
    result = next_word_lab.run(config)
    printed = capsys.readouterr().out
    assert "'investors expects' ->" in printed and "'the company said'" not in printed
    assert result.metrics["epochs_run"] == 1


def test_sentiment_quick_beats_the_majority_class(data, tmp_path):
    result = sentiment_lab.run(Config(out=tmp_path, quick=True, data_dir=data))
    assert result.passed, result.claims
    assert any("beats the majority class" in t for t, _ in result.claims)
    assert result.metrics["dev_accuracy"] > 0.9  # the fake reviews are easy
    assert_saved(result, tmp_path, "sentiment")


def test_pos_tagging_quick_beats_the_majority_class(data, tmp_path, capsys):
    result = pos_lab.run(Config(out=tmp_path, quick=True, data_dir=data))
    assert result.passed, result.claims
    assert result.metrics["test_accuracy"] > 0.9
    assert "7 tags" in capsys.readouterr().out  # the multiword line added no tag
    assert_saved(result, tmp_path, "pos_tagging")


# ----------------------------------------------------------------------------- helpers
def test_top_k_and_temperature():
    z = np.array([2.0, 1.0, 0.0, -1.0])
    p = next_token_probs(z, temperature=1.0, top_k=2)
    assert p[2] == 0 and p[3] == 0
    np.testing.assert_allclose(p[:2], np.exp([2, 1]) / np.exp([2, 1]).sum())
    cold, hot = next_token_probs(z, 0.5), next_token_probs(z, 2.0)
    assert cold[0] > next_token_probs(z)[0] > hot[0]  # lower temperature: sharper
    np.testing.assert_allclose(cold.sum(), 1.0)


def test_unigram_entropy_of_uniform_and_constant_streams():
    np.testing.assert_allclose(unigram_entropy(np.arange(8).repeat(3), 8), np.log(8))
    assert unigram_entropy(np.zeros(10, dtype=int), 5) == 0.0


def test_bucket_loader_pads_tags_with_ignore_and_keeps_every_example():
    examples = [(np.arange(n) + 1, np.full(n, 2)) for n in (3, 1, 5, 2, 4)]
    loader = BucketLoader(examples, batch_size=2, seed=0, target_seq=True)
    seen = 0
    for ids, lengths, tags in loader:
        lens = lengths.numpy()
        assert ids.shape == tags.shape == (len(lens), lens.max())
        for row, tag_row, n in zip(ids.numpy(), tags.numpy(), lens, strict=True):
            assert (row[n:] == 0).all() and (tag_row[n:] == IGNORE).all()
            assert (tag_row[:n] == 2).all()
        seen += len(lens)
    assert seen == len(examples) and len(loader) == 3


def test_masked_accuracy_and_loss_skip_padding():
    scores = np.array([[[0.0, 5.0], [5.0, 0.0], [9.0, 0.0]]], dtype=np.float32)  # (1, 3, 2)
    target = np.array([[1, 0, IGNORE]])
    m = MaskedAccuracy()
    assert m.batch(scores, target) == (2.0, 2)
    loss = sequence_cross_entropy(ax.tensor(scores), ax.tensor(target)).item()
    expected = np.log1p(np.exp(-5.0))  # both real positions right by a margin of 5
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
