"""word2vec's pieces: the fused skip-gram negative-sampling loss against torch with copied
tables and against float64 finite differences, the samplers (subsampling, dynamic
window, unigram^0.75 negatives), and the neighbour and analogy look-ups."""

import numpy as np
import pytest
import torch

import axon as ax
from axon.autograd import gradcheck
from axon.models import word2vec as w2v
from tests.helpers import assert_close


def batch(rng, v=13, b=7, k=4):
    center = rng.integers(0, v, b)
    context = rng.integers(0, v, b)
    negatives = rng.integers(0, v, (b, k))
    negatives[0, :2] = center[0]  # repeated rows: their gradients must add up
    return center, context, negatives


def torch_sgns(w_in, w_out, center, context, negatives, reduction):
    """The loss composed from torch primitives: -log sig(u_o.v_c) - sum log sig(-u_n.v_c)."""
    c = w_in[torch.as_tensor(center)]  # (B, D)
    pos = (w_out[torch.as_tensor(context)] * c).sum(-1)  # (B,)
    neg = torch.einsum("bkd,bd->bk", w_out[torch.as_tensor(negatives)], c)  # (B, K)
    loss = -torch.nn.functional.logsigmoid(pos) - torch.nn.functional.logsigmoid(-neg).sum(-1)
    return loss.mean() if reduction == "mean" else loss.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_and_gradients_match_torch(reduction):
    rng = np.random.default_rng(0)
    w_in = rng.normal(0, 0.8, (13, 6)).astype(np.float32)
    w_out = rng.normal(0, 0.8, (13, 6)).astype(np.float32)
    center, context, negatives = batch(rng)
    a_in, a_out = ax.tensor(w_in, requires_grad=True), ax.tensor(w_out, requires_grad=True)
    loss = w2v.sgns_loss(a_in, a_out, center, context, negatives, reduction)
    loss.backward()
    t_in = torch.tensor(w_in, requires_grad=True)
    t_out = torch.tensor(w_out, requires_grad=True)
    t_loss = torch_sgns(t_in, t_out, center, context, negatives, reduction)
    t_loss.backward()
    assert_close(loss.item(), t_loss.item(), rtol=1e-5, atol=1e-5)
    assert_close(a_in.grad.numpy(), t_in.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert_close(a_out.grad.numpy(), t_out.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_gradcheck_float64_and_large_scores_stay_finite():
    rng = np.random.default_rng(1)
    center, context, negatives = batch(rng, v=9, b=5, k=3)
    w_in = ax.tensor(rng.normal(0, 1, (9, 4)), dtype=ax.float64, requires_grad=True)
    w_out = ax.tensor(rng.normal(0, 1, (9, 4)), dtype=ax.float64, requires_grad=True)
    gradcheck(lambda a, b: w2v.sgns_loss(a, b, center, context, negatives), (w_in, w_out))
    big = ax.tensor(np.full((9, 4), 30.0, np.float32), requires_grad=True)
    loss = w2v.sgns_loss(big, big, center, context, negatives)
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() > 1000  # softplus(3600) per noise word
    assert np.isfinite(big.grad.numpy()).all()


def test_skipgram_starts_at_k_plus_one_ln2_and_trains_only_what_requires_grad():
    model = w2v.SkipGram(20, 8)
    assert np.abs(model.in_embed.weight.array).max() <= 0.5 / 8
    assert not model.out_embed.weight.array.any()
    rng = np.random.default_rng(2)
    center, context, negatives = batch(rng, v=20, b=6, k=5)
    loss = model(center, context, negatives)
    assert_close(loss.item(), 6 * np.log(2), rtol=1e-6)
    model.in_embed.weight.requires_grad_(False)
    model(center, context, negatives).backward()
    assert model.in_embed.weight.grad is None and model.out_embed.weight.grad is not None


def test_bad_input_names_the_shapes():
    w = ax.zeros(5, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"negatives \(B, K\).*\(4,\), \(4,\) and \(4,\)"):
        w2v.sgns_loss(w, w, np.zeros(4, int), np.zeros(4, int), np.zeros(4, int))
    with pytest.raises(ValueError, match=r"\(5, 3\) and \(6, 3\)"):
        w2v.sgns_loss(w, ax.zeros(6, 3), np.zeros(2, int), np.zeros(2, int), np.zeros((2, 1), int))
    with pytest.raises(IndexError, match="index 5 is out of range"):
        w2v.sgns_loss(w, w, np.array([5]), np.zeros(1, int), np.zeros((1, 1), int))
    with pytest.raises(TypeError, match="integer word ids"):
        w2v.sgns_loss(w, w, np.zeros(1), np.zeros(1, int), np.zeros((1, 1), int))


def test_negative_sampler_follows_unigram_to_the_three_quarters():
    counts = np.array([1000, 300, 0, 50, 7, 1], dtype=np.int64)
    sampler = w2v.NegativeSampler(counts, seed=0)
    expected = counts**0.75 / (counts**0.75).sum()
    assert_close(sampler.probs, expected, rtol=1e-12)
    draws = sampler.sample((200, 1000))  # 200,000 draws
    assert draws.shape == (200, 1000) and draws.dtype == np.int64
    freq = np.bincount(draws.ravel(), minlength=len(counts)) / draws.size
    assert freq[2] == 0  # an unseen word is never drawn
    sigma = np.sqrt(expected * (1 - expected) / draws.size)
    assert (np.abs(freq - expected) <= 5 * sigma + 1e-12).all(), (freq, expected)
    # and not the plain unigram distribution: rare words are drawn more often than that
    assert freq[4] > 1.5 * counts[4] / counts.sum()


def test_subsampling_keeps_rare_words_and_thins_frequent_ones():
    counts = np.array([9000, 900, 90, 9, 1, 0])
    keep = w2v.keep_probabilities(counts, t=1e-2)
    f = counts[0] / counts.sum()
    assert_close(keep[0], np.sqrt(1e-2 / f) + 1e-2 / f)
    assert keep[0] < keep[1] < 1 and (keep[2:] == 1).all()
    ids = np.repeat(np.arange(5), counts[:5])
    kept = w2v.subsample(ids, keep, np.random.default_rng(0))
    assert abs(kept[ids == 0].mean() - keep[0]) < 0.02 and kept[ids == 4].all()


def test_skipgram_pairs_dynamic_window_and_sentence_boundaries():
    ids = np.arange(10) + 100
    c, o = w2v.skipgram_pairs(ids, 2, np.random.default_rng(0))
    pairs = set(zip(c.tolist(), o.tolist(), strict=True))
    near = {(i, j) for i in ids for j in ids if abs(i - j) == 1}
    assert near <= pairs  # offset 1 always
    assert all(1 <= abs(i - j) <= 2 for i, j in pairs)
    far = [p for p in pairs if abs(p[0] - p[1]) == 2]
    assert 0 < len(far) < 18  # offset 2 only where the drawn window is 2
    counts = [
        sum(
            abs(i - j) == 2
            for i, j in zip(*w2v.skipgram_pairs(ids, 2, np.random.default_rng(s)), strict=True)
        )
        for s in range(200)
    ]
    assert abs(np.mean(counts) / 16 - 0.5) < 0.05  # b_i = 2 with probability 1/2
    sentence = np.array([0] * 5 + [1] * 5)
    c, o = w2v.skipgram_pairs(ids, 3, np.random.default_rng(0), sentence)
    assert ((c < 105) == (o < 105)).all()
    with pytest.raises(ValueError, match=r"\(N,\) = \(10,\)"):
        w2v.skipgram_pairs(ids, 3, np.random.default_rng(0), sentence[:4])


def test_most_similar_and_analogy_on_planted_vectors():
    # king - man + woman = queen on hand-made vectors: royalty and gender axes
    vectors = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]], float)
    king, queen, man, woman, other = range(5)
    ids, sims = w2v.analogy(vectors, man, king, woman, k=2)
    assert ids[0] == queen and sims[0] > sims[1]
    ids, sims = w2v.most_similar(vectors, king, k=3)
    assert king not in ids and ids[0] in (queen, man) and len(ids) == 3
    assert (np.diff(sims) <= 0).all()
    ids, _ = w2v.most_similar(vectors, np.array([0.0, 0.0, 2.0]), k=1)
    assert ids[0] == other
