"""``axon run translate`` in quick mode on its generated pairs, and the experiment's pieces:
the tiny corpus, the length-bucketed batches, the multi-reference BLEU and the learning
rate schedule."""

import contextlib
import io

import numpy as np
import pytest
import sacrebleu

from axon import lab
from axon.data.text import eng_fra_pairs, translation_tokenize
from axon.lab import Config
from axon.lab import translate as tr

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("translate")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = tr.run(Config(out=out, quick=True))
    return result, out, printed.getvalue()


def test_quick_run_claims_hold(quick):
    result, out, _ = quick
    assert result.passed, result.claims
    m = result.metrics
    for name in tr.MODELS:
        assert m[f"{name}_final_loss"] < m[f"{name}_first_loss"] - 0.5  # the loss falls
        best = max(m[f"{name}_greedy_bleu_all"], m[f"{name}_beam_bleu_all"])
        assert best > m["copy_bleu"] + 5  # it translates: better than copying the source
    # attention helps where the plain model must carry the whole sentence in one vector
    assert m["attention_greedy_bleu_long"] > m["plain_greedy_bleu_long"]
    claims = " ".join(text for text, _ in result.claims)
    assert "beam search of width 1" in claims and "rows sum to 1" in claims
    assert "BLEU >= 30" not in claims  # the full run's goals are not claimed in quick mode
    for name in ("translate_loss", "translate_attention", "translate_transformer_attention"):
        png = out / f"{name}.png"
        assert png in result.figures and png.read_bytes()[:8] == PNG


def test_quick_run_prints_examples_and_a_beam_trace(quick):
    _, _, printed = quick
    assert "Held-out BLEU" in printed and "greedy BLEU by source length" in printed
    assert "reference" in printed and "A beam search, step by step" in printed
    assert "search stopped after step" in printed  # the beam inspector's table
    assert lab.get("translate").run is tr.run  # what ``axon run translate`` runs


# ----------------------------------------------------------------------------- pieces
def test_tiny_pairs_reorder_adjectives_and_agree_in_gender():
    pairs = tr.tiny_pairs(400, seed=1)
    assert len(set(pairs)) > 300
    for en, fr in pairs:
        e, f = translation_tokenize(en), translation_tokenize(fr)
        assert len(e) == len(f) and 6 <= len(e) <= 8 and e[-1] == f[-1] == "."
        for i, word in enumerate(e):
            if word in tr._NOUNS:  # "the red car" -> "la voiture rouge": same span
                noun, fem = tr._NOUNS[word]
                adj = e[i - 1] if e[i - 1] in tr._ADJECTIVES else None
                start = i - 2 if adj else i - 1  # the determiner
                assert f[start] == tr._DETERMINERS[e[start]][fem]
                assert f[start + 1] == noun
                if adj:
                    assert f[start + 2] == tr._ADJECTIVES[adj][fem]


def test_the_tiny_file_reads_through_the_real_reader(tmp_path):
    root = tr.write_tiny_corpus(tmp_path, 300)
    splits = eng_fra_pairs(root, None, max_length=10, verify=False, download=False)
    assert sum(len(v) for v in splits.values()) == 300
    corpus = tr.load_corpus(root, tr.QUICK, verify=False)
    assert corpus.tgt_vocab.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert len(corpus.test_sources) == len(corpus.test_references) > 0
    flat = [(tuple(e), tuple(f)) for e, f in splits["test"]]
    for src, refs in zip(corpus.test_sources, corpus.test_references, strict=True):
        assert sorted(refs) == sorted(list(f) for e, f in flat if e == tuple(src))


def test_a_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="fra.head80000.txt"):
        tr.load_corpus(tmp_path, tr.QUICK, verify=False)


def test_pair_batches_group_lengths_and_pad_targets_with_ignore():
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(4, 9, n), rng.integers(4, 9, m)) for n, m in rng.integers(1, 9, (50, 2))]
    seen = 0
    for src, lengths, tgt_in, tgt_out in tr.pair_batches(pairs, 8, np.random.default_rng(1)):
        assert src.shape == (len(lengths), lengths.max()) and tgt_in.shape == tgt_out.shape
        for row, n, t_in, t_out in zip(src, lengths, tgt_in, tgt_out, strict=True):
            assert (row[n:] == tr.PAD).all() and (row[:n] != tr.PAD).all()
            m = int((t_out != tr.IGNORE).sum())  # the target's tokens and <eos>
            assert t_in[0] == tr.BOS and t_out[m - 1] == tr.EOS
            assert (t_in[1:m] == t_out[: m - 1]).all()  # shifted by one
            assert (t_in[m:] == tr.PAD).all() and (t_out[m:] == tr.IGNORE).all()
        seen += len(lengths)
    assert seen == 50


def test_bleu_with_several_references_is_sacrebleus():
    hyps = [["je", "suis", "grand", "."], ["il", "court", "!"], ["merci", "."]]
    refs = [
        [["je", "suis", "grand", "."], ["je", "suis", "grande", "."]],
        [["cours", "!"]],
        [["merci", "!"], ["merci", "beaucoup", "."], ["merci", "."]],
    ]
    streams = [[" ".join(r[k]) if k < len(r) else None for r in refs] for k in range(3)]
    expected = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], streams, tokenize="none")
    assert tr.bleu(hyps, refs) == pytest.approx(expected.score, abs=1e-9)
    assert tr.bleu([["a", "b", "c", "d"]], [[["x"], ["a", "b", "c", "d"]]]) == pytest.approx(100)


def test_learning_rate_warms_up_then_decays_to_five_percent():
    assert tr.learning_rate(1.0, 0, 10, 0.0) == pytest.approx(0.1)
    assert tr.learning_rate(1.0, 9, 10, 0.0) == pytest.approx(1.0)
    assert tr.learning_rate(1.0, 100, 10, 0.5) == pytest.approx(0.525)
    assert tr.learning_rate(1.0, 100, 10, 1.0) == pytest.approx(0.05)
    assert tr.learning_rate(1.0, 100, 10, 3.0) == pytest.approx(0.05)  # past the budget
