"""axon run reverse (quick): plain seq2seq degrades with length, attention does not; and
the task's batches and scores."""

import numpy as np

from axon import lab
from axon.lab import Config
from axon.lab.reverse import BOS, EOS, PAD, alignment, held_out_set, reversal_batch


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


def test_reverse_quick_run_holds_its_claims(tmp_path):
    result = lab.run("reverse", Config(out=tmp_path, quick=True))
    assert result.passed, result.claims
    assert len(result.claims) == 4
    m = result.metrics
    assert m["plain_acc_len10"] < m["plain_acc_len4"] - 0.3
    assert min(m["attention_acc_len4"], m["attention_acc_len10"]) >= 0.9
    assert [p.name for p in result.figures] == ["reverse_accuracy.png", "reverse_attention.png"]
    for p in result.figures:
        assert p.read_bytes()[:4] == b"\x89PNG"
