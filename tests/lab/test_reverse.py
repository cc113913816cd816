"""axon run reverse (quick): plain seq2seq degrades with length, attention does not; and
the task's batches and scores."""

import numpy as np
import pytest

from axon import lab
from axon.lab import Config
from axon.lab.reverse import (
    BOS,
    EOS,
    PAD,
    QUICK,
    SPECIALS,
    alignment,
    held_out_set,
    reversal_batch,
)


def test_reversal_batches_and_the_padded_test_set():
    src, tgt_in, tgt_out = reversal_batch(4, 6, 5, seed=0)
    assert src.shape == (4, 6) and tgt_in.shape == tgt_out.shape == (4, 7)
    assert (tgt_out[:, :6] == src[:, ::-1]).all() and (tgt_out[:, 6] == EOS).all()
    assert (tgt_in[:, 0] == BOS).all() and (tgt_in[:, 1:] == tgt_out[:, :6]).all()
    assert src.min() >= 3 and src.max() < 8  # the symbols come after <pad> <bos> <eos>
    src, lens, tgt = held_out_set([2, 4], 3, 5, seed=1)
    assert lens.tolist() == [2, 2, 2, 4, 4, 4] and src.shape == (6, 4)
    assert (src[:3, 2:] == PAD).all() and (tgt[:3, 3:] == PAD).all()
    assert (tgt[np.arange(6), lens] == EOS).all()


def test_alignment_counts_peaks_near_the_mirrored_position():
    lens = np.array([4])
    anti = np.eye(4)[::-1][None]  # output t looks at n - 1 - t
    assert alignment(anti, lens) == 1.0
    shifted = np.eye(4)[[3, 3, 2, 1]][None]  # t looks at n - t (x_j read from h_{j+1})
    assert alignment(shifted, lens) == 1.0
    assert alignment(np.eye(4)[None], lens) == 0.5  # the diagonal hits only the middle two


def assert_figures(result):
    assert [p.name for p in result.figures] == ["reverse_accuracy.png", "reverse_attention.png"]
    for p in result.figures:
        assert p.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # two seq2seq models, 300 steps each: 6-8 s; one epoch below by default
def test_reverse_quick_run_holds_its_claims(tmp_path):
    result = lab.run("reverse", Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    assert len(result.claims) == 4
    m = result.metrics
    assert m["plain_acc_len10"] < m["plain_acc_len4"] - 0.3
    assert min(m["attention_acc_len4"], m["attention_acc_len10"]) >= 0.9
    assert_figures(result)


def test_reverse_trains_scores_and_draws_both_models_in_one_epoch(tmp_path):
    result = lab.run("reverse", Config(out=tmp_path, quick=True, epochs=1))
    assert len(result.claims) == 4
    m = result.metrics
    assert all(np.isfinite(v) for v in m.values())
    symbols = QUICK["symbols"]
    for name in ("plain", "attention"):  # 50 steps: below the uniform guess, above chance
        assert m[f"{name}_final_loss"] < np.log(symbols + SPECIALS)
        assert m[f"{name}_acc_len4"] > 1 / symbols
    assert 0.0 <= m["attention_alignment"] <= 1.0
    assert_figures(result)
