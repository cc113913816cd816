"""The word2vec experiment: on small generated corpora with planted co-occurrence
structure the nearest neighbours recover it; the corpus, analogy, category and PCA helpers;
and a quick run on a fake PTB file read through --data-dir."""

import dataclasses

import numpy as np
import pytest

from axon.data import text
from axon.data.datadir import sha256sum
from axon.lab import Config
from axon.lab import word2vec as lab
from tests.helpers import assert_close

PNG = b"\x89PNG\r\n\x1a\n"


def grouped_corpus(rng, groups: int = 4, size: int = 5, sentences: int = 600) -> list[str]:
    """Sentences of 6 words, each drawn from one group's words (``g<k>w<i>``) mixed with
    shared filler words: words of a group share their contexts, no two groups do."""
    filler = ["the", "a", "of", "and"]
    tokens = []
    for _ in range(sentences):
        g = rng.integers(groups)
        for _ in range(6):
            tokens.append(
                f"g{g}w{rng.integers(size)}" if rng.random() < 0.7 else str(rng.choice(filler))
            )
        tokens.append("<eos>")
    return tokens


def test_nearest_neighbours_recover_planted_groups():
    corpus = lab.Corpus.from_tokens(grouped_corpus(np.random.default_rng(0)))
    model, done = lab.train_skipgram(
        corpus,
        dim=16,
        window=3,
        negatives=5,
        t=1e-2,
        epochs=3,
        batch=64,
        lr=0.05,
        log=lambda s: None,
    )
    assert done.epoch_losses[-1] < done.epoch_losses[0] < 6 * np.log(2)
    vectors = model.vectors()
    words = [w for w in corpus.vocab.itos if w.startswith("g")]
    hits = 0
    for w in words:
        (nearest, _), *_ = lab.neighbours(vectors, corpus.vocab, w, k=1)
        hits += nearest[:2] == w[:2]
    assert hits == len(words) == 20
    groups = {name: [f"{name}w{i}" for i in range(5)] for name in ("g0", "g1", "g2", "g3")}
    assert lab.category_accuracy(vectors, corpus.vocab, groups) == {g: (5, 5) for g in groups}


def test_corpus_drops_sentence_ends_and_rare_words():
    tokens = "a b c <eos> a b <eos> d a <eos>".split()
    corpus = lab.Corpus.from_tokens(tokens)
    assert corpus.vocab.itos[:2] == ["a", "b"] and len(corpus.vocab) == 4
    assert corpus.vocab.decode(corpus.ids) == "a b c a b d a".split()
    assert corpus.sentence.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert corpus.counts.tolist() == [3, 2, 1, 1]
    rare = lab.Corpus.from_tokens(tokens, min_count=2)
    assert rare.vocab.itos == ["a", "b"] and rare.sentence.tolist() == [0, 0, 1, 1, 2]


def test_analogies_and_categories_on_planted_vectors():
    vocab = text.Vocab(
        ["king", "queen", "man", "woman", "big", "bigger", "small", "smaller", "x"], unk_token=None
    )
    vectors = np.array(
        [
            [1, 1, 0, 0],
            [1, -1, 0, 0],
            [0, 1, 0, 0],
            [0, -1, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 1, 1],
            [0, 0, 2, 0.1],
            [0, 0, 2, 1.1],
            [-1, 0, 0, 0],
        ],
        float,
    )
    scores = lab.score_analogies(
        vectors,
        vocab,
        {
            "gender": (("man", "woman"), ("king", "queen")),
            "size": (("big", "bigger"), ("small", "smaller"), ("tall", "taller")),
        },
        k=2,
    )
    assert (scores["gender"].asked, scores["gender"].top1) == (2, 2)
    assert scores["size"].asked == 2  # the pair with unknown words is skipped
    a, b, c, d, answers = scores["gender"].questions[0]
    assert (a, b, c, d) == ("man", "woman", "king", "queen") and answers[0] == "queen"
    hits = lab.category_accuracy(vectors, vocab, {"royal": ("king", "queen", "nobody")})
    assert hits == {"royal": (0, 2)}  # king's nearest is man, queen's is woman


def test_pca_2d_matches_the_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1]) + 7
    xy, share = lab.pca_2d(x)
    cov = np.cov(x.T)
    values, vecs = np.linalg.eigh(cov)
    top = vecs[:, ::-1][:, :2]
    ref = (x - x.mean(0)) @ top
    assert_close(np.abs(xy), np.abs(ref), rtol=1e-8, atol=1e-8)  # each axis up to sign
    assert_close(share, values[::-1][:2] / values.sum(), rtol=1e-8)


# ----------------------------------------------------------------------------- quick run
def fake_ptb(rng, n: int) -> str:
    """PTB-style lines (lowercase, `` N `` numbers) where months, weekdays and number
    words each fill their own slots in otherwise shared sentences."""
    slots = {
        "months": ("sales rose N % in {}", "results for {} were weak"),
        "weekdays": ("the market closed higher on {}", "trading was light {}"),
        "numbers": ("{} analysts said", "the firm cut {} jobs"),
    }
    tails = ["and the company said", "mr. <unk> said", "the stock fell", "investors said"]
    lines = []
    for _ in range(n):
        kind = str(rng.choice(list(slots)))
        words = lab.CATEGORIES[kind]
        lines.append(
            " "
            + str(rng.choice(slots[kind])).format(rng.choice(words))
            + " "
            + str(rng.choice(tails))
            + " "
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def ptb_root(tmp_path_factory, monkeypatch, tmp_path):
    root = tmp_path_factory.mktemp("ptb")
    f = text.FILES["ptb.train"]
    path = root / f.subdir / f.name
    path.parent.mkdir()
    path.write_text(fake_ptb(np.random.default_rng(0), 1500), encoding="utf-8")
    monkeypatch.setitem(
        text.FILES,
        "ptb.train",
        dataclasses.replace(
            f, sha256=sha256sum(path), size=path.stat().st_size, urls=(), archives=()
        ),
    )
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return root


def test_quick_run_on_a_fake_ptb(ptb_root, tmp_path, capsys):
    out = tmp_path / "out"
    result = lab.run(Config(out=out, quick=True, data_dir=ptb_root))
    printed = capsys.readouterr().out
    assert result.passed, result.claims
    texts = " ".join(t for t, _ in result.claims)
    assert "follow count^0.75" in texts and "the loss fell" in texts
    assert result.metrics["category_nn"] >= 0.9  # the planted slots are recovered
    for section in ("Nearest neighbours", "Analogies", "pairs per second", "top-5"):
        assert section in printed
    for name in ("word2vec_pca.png", "word2vec_loss.png"):
        assert (out / name) in result.figures and (out / name).read_bytes()[:8] == PNG
    assert (out / "word2vec.safetensors").stat().st_size > 0
    assert text.Vocab.load(out / "word2vec_vocab.json").itos[0] == "said"
