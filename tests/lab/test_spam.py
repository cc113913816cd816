"""The spam experiments (``spam``, ``spam-poisoning``) in quick mode on a tiny SMS Spam
Collection written here in the real format (``label<TAB>text``) and read through
--data-dir; plus their helpers: the confusion counts, the attack, and RONI's impact
checked against retraining the filter for real."""

import dataclasses

import numpy as np
import pytest

from axon.cli import main
from axon.data import text
from axon.data.datadir import sha256sum
from axon.lab import Config
from axon.lab import spam as spam_lab
from axon.lab import spam_poisoning as poison_lab
from axon.models import CountVectorizer, MultinomialNB

PNG = b"\x89PNG\r\n\x1a\n"

COMMON = (
    "i you me my the to it is in and that ok home later lunch call tonight "
    "going see what now come sorry love got day work time meet good"
).split()
RARE = [
    a + b + c
    for a in ("ka", "lo", "mi", "su", "te")
    for b in ("ra", "no", "vi", "de")
    for c in ("n", "s", "m", "la", "to")
]  # 100 names and slang words of one friend group
HAM_WORDS = COMMON + RARE
SPAM_WORDS = (
    "free win prize claim cash txt urgent reply stop mobile award guaranteed offer tone www"
).split()


def sms_file(rng, n: int) -> str:
    """``n`` lines ``ham|spam<TAB>message``, 15% spam: ham words drawn with Zipf-like
    weights, spam mostly from spam words with a phone number and a few ham words."""
    w = 1.0 / np.arange(1, len(HAM_WORDS) + 1)
    w /= w.sum()
    lines = []
    for _ in range(n):
        if rng.random() < 0.15:
            words = list(rng.choice(SPAM_WORDS, rng.integers(6, 12)))
            words += list(rng.choice(HAM_WORDS, 2, p=w)) + [str(rng.integers(80000, 89999))]
            lines.append("spam\t" + " ".join(words).capitalize() + "!")
        else:
            words = rng.choice(HAM_WORDS, rng.integers(3, 10), p=w)
            lines.append("ham\t" + " ".join(words).capitalize() + "?")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("smsdata")
    f = text.FILES["sms"]
    path = root / f.subdir / f.name
    path.parent.mkdir()
    path.write_text(sms_file(np.random.default_rng(0), 800), encoding="utf-8")
    return root, dataclasses.replace(
        f, sha256=sha256sum(path), size=path.stat().st_size, urls=(), archives=()
    )


@pytest.fixture
def data(corpus, monkeypatch, tmp_path):
    root, f = corpus
    monkeypatch.setitem(text.FILES, "sms", f)
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # checksum markers
    return root


# ----------------------------------------------------------------------------- experiments
def test_spam_quick_through_the_cli(data, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "spam", "--quick", "--data-dir", str(data), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "243/251" in printed and "27/31" in printed  # the worksheet's exact fractions
    assert "all claims hold" in printed
    assert (out / "spam_confusion.png").read_bytes()[:8] == PNG


def test_spam_quick_metrics(data, tmp_path, capsys):
    result = spam_lab.run(Config(out=tmp_path, quick=True, data_dir=data))
    assert result.passed, result.report()
    m = result.metrics
    assert m["toy_max_error"] < 1e-12
    assert m["tp"] + m["fp"] + m["fn"] + m["tn"] == 200  # 25% of the 800 messages
    assert m["accuracy"] > m["majority"] and m["recall"] > 0.9


def test_spam_poisoning_quick_fpr_rises_and_roni_holds(data, tmp_path, capsys):
    result = poison_lab.run(Config(out=tmp_path, quick=True, data_dir=data))
    assert result.passed, result.report()
    m = result.metrics
    assert m["fpr_poisoned"] > m["fpr_clean"] + 0.05  # legitimate mail starts being filtered
    assert m["poison_rejected"] == 1.0 and m["feedback_rejected"] <= 0.03
    assert m["fpr_roni"] <= m["fpr_clean"] + 0.01
    png = tmp_path / "spam_poisoning.png"
    assert png in result.figures and png.read_bytes()[:8] == PNG


# ----------------------------------------------------------------------------- helpers
def test_confusion_counts_and_rates():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1])
    y_pred = np.array([0, 0, 0, 1, 1, 1, 0])
    m = spam_lab.confusion(y_true, y_pred)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (3, 1, 1, 2)
    assert m["accuracy"] == pytest.approx(5 / 7) and m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3) and m["fpr"] == pytest.approx(1 / 4)
    assert spam_lab.confusion(np.zeros(3), np.zeros(3))["precision"] == 0.0  # 0/0 -> 0


def test_attack_dictionary_and_messages():
    vec = CountVectorizer()
    words, freq = poison_lab.attack_dictionary(["b a b c", "c b", "aa bb bb"], vec, 2)
    assert words == ["bb", "aa"] and freq == pytest.approx([2 / 3, 1 / 3])  # 1-letter dropped
    msgs = poison_lab.attack_messages(["WIN cash"], words, freq, 3, 5, np.random.default_rng(0))
    assert len(msgs) == 3
    for m in msgs:
        assert m.startswith("WIN cash ") and len(m.split()) == 7
        assert set(m.split()[2:]) <= {"bb", "aa"}


def test_roni_impact_equals_retraining_the_filter():
    """The impact of (x, c) on one calibration filter is the change in the quiz ham's
    mean spam log-odds computed by actually refitting MultinomialNB with x added."""
    rng = np.random.default_rng(1)
    X = rng.poisson(0.6, (120, 15))
    y = (rng.random(120) < 0.3).astype(np.int64)
    X[y == 1, :4] += 2  # spam words
    roni = poison_lab.RONI(X, y, models=1, sample=40, quiz=30, hold_out=20, seed=3)
    # recover the filter's sample and quiz the way RONI drew them
    r = np.random.default_rng(3)
    order = r.permutation(len(y))
    pool = order[20:]
    p = r.permutation(pool)
    s, rest = p[:40], p[40:]
    q = rest[y[rest] == 0][:30]

    def log_odds(Xs, ys):
        jll = MultinomialNB().fit(Xs, ys).joint_log_likelihood(X[q])
        return float((jll[:, 1] - jll[:, 0]).mean())

    cand = np.vstack([rng.poisson(1.0, (3, 15)), X[:2]])
    labels = np.array([1, 0, 1, 0, 1])
    expected = [
        log_odds(np.vstack([X[s], x[None]]), np.append(y[s], c)) - log_odds(X[s], y[s])
        for x, c in zip(cand, labels, strict=True)
    ]
    np.testing.assert_allclose(roni.impact(cand, labels), expected, rtol=1e-10, atol=1e-12)
    padded = X[y == 0].sum(axis=0)  # a "spam" made of all the ham words
    assert roni.impact(padded[None], np.array([1]))[0] > roni.thresholds[1]
    assert not roni.accept(padded[None], np.array([1]))[0]


def test_roni_refuses_a_trusted_set_without_both_classes():
    X = np.ones((40, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="both classes"):
        poison_lab.RONI(X, np.zeros(40, dtype=np.int64), models=1, sample=10)
