"""Random sampling (``normal``, ``multinomial``, ``bernoulli``, ``randperm`` and the
in-place fills) checked statistically: seeded draws, tolerances of a few standard errors
of the sample size, reproducibility under ``ax.manual_seed`` and a ``Generator``, torch's
argument forms, dtypes and errors."""

import math

import numpy as np
import pytest
import torch

import axon as ax
from tests.helpers import assert_equal

N = 20_000  # draws per statistical check: standard errors ~ 0.7% of the spread


def _close_mean(samples, mean, std, z=5.0):
    """The sample mean lies within ``z`` standard errors of ``mean``."""
    samples = np.asarray(samples, dtype=np.float64)
    assert abs(samples.mean() - mean) < z * std / math.sqrt(samples.size), samples.mean()


def test_normal_forms_and_statistics():
    ax.manual_seed(0)
    x = ax.normal(2.0, 3.0, size=(N,))
    assert x.shape == (N,) and x.dtype == np.float32
    _close_mean(x.numpy(), 2.0, 3.0)
    assert abs(x.numpy().std() - 3.0) < 5 * 3.0 / math.sqrt(2 * N)
    mean = ax.tensor([[-5.0], [5.0]], dtype=ax.float64)
    y = ax.normal(mean, ax.tensor([1.0, 0.5, 2.0] * 2000))  # broadcast (2, 1) with (6000,)
    assert y.shape == (2, 6000) and y.dtype == np.float64
    mixed_std = math.sqrt((1.0 + 0.25 + 4.0) / 3)  # the spread of a row: stds 1, 0.5, 2
    _close_mean(y.numpy()[0], -5.0, mixed_std)
    _close_mean(y.numpy()[1], 5.0, mixed_std)
    z = ax.normal(ax.zeros(N), 2.0)
    assert z.shape == (N,)
    _close_mean(z.numpy(), 0.0, 2.0)
    w = ax.normal(1.0, ax.ones(3, 4))
    assert w.shape == (3, 4)
    assert tuple(torch.normal(torch.zeros(3), 1.0).shape) == ax.normal(ax.zeros(3), 1.0).shape
    m, sd = ax.zeros(3, requires_grad=True), ax.ones(3, requires_grad=True)
    for out in (ax.normal(m, sd), ax.bernoulli(sd * 0.5), ax.poisson(sd)):
        assert out.requires_grad  # as torch's: in the graph, with zero gradients
        out.sum().backward()
    assert not m.grad.numpy().any() and not sd.grad.numpy().any()
    with pytest.raises(RuntimeError, match="std"):
        ax.normal(0.0, -1.0, size=(2,))
    with pytest.raises(RuntimeError):
        torch.normal(0.0, -1.0, size=(2,))


def test_seeds_reproduce_and_generators_are_independent():
    ax.manual_seed(7)
    a = [ax.normal(0.0, 1.0, (5,)), ax.multinomial(ax.ones(10), 3), ax.bernoulli(ax.rand(6))]
    ax.manual_seed(7)
    b = [ax.normal(0.0, 1.0, (5,)), ax.multinomial(ax.ones(10), 3), ax.bernoulli(ax.rand(6))]
    for x, y in zip(a, b, strict=True):
        assert_equal(x.numpy(), y.numpy())
    g1, g2 = ax.Generator().manual_seed(3), ax.Generator().manual_seed(3)
    ax.manual_seed(0)
    before = ax.rand(3).numpy()
    ax.manual_seed(0)
    s1 = ax.multinomial(ax.ones(50), 5, generator=g1)
    after = ax.rand(3).numpy()
    assert_equal(before, after)  # the generator left the global stream alone
    s2 = ax.multinomial(ax.ones(50), 5, generator=g2)
    assert_equal(s1.numpy(), s2.numpy())
    p1 = ax.randperm(8, generator=ax.Generator().manual_seed(1))
    p2 = ax.randperm(8, generator=ax.Generator().manual_seed(1))
    assert_equal(p1.numpy(), p2.numpy())


@pytest.mark.parametrize("replacement", [True, False])
def test_multinomial_frequencies(replacement):
    """Draws (the first draw, without replacement) follow the weights; a zero weight is
    never drawn while others remain."""
    ax.manual_seed(1)
    w = np.array([0.0, 1.0, 3.0, 0.0, 6.0])
    p = w / w.sum()
    if replacement:
        s = ax.multinomial(ax.tensor(w), N, replacement=True).numpy()
    else:
        s = ax.multinomial(ax.tensor(np.tile(w, (N, 1))), 1).numpy()[:, 0]
    assert s.dtype == np.int64
    counts = np.bincount(s.ravel(), minlength=5)
    assert counts[0] == 0 and counts[3] == 0
    sd = np.sqrt(N * p * (1 - p))
    assert (np.abs(counts - N * p) <= 5 * sd + 1e-9).all(), counts


def test_multinomial_without_replacement():
    ax.manual_seed(2)
    w = ax.tensor([[1.0, 0.0, 2.0, 5.0, 1.0], [0.0, 0.0, 1.0, 1.0, 1.0]])
    for _ in range(50):
        s = w.multinomial(3).numpy()
        assert s.shape == (2, 3)
        for row, weights in zip(s, w.numpy(), strict=True):
            assert len(set(row)) == 3  # no category twice
            assert (weights[row] > 0).all()  # zero weights only when nothing else is left
    # more draws than non-zero categories: zero weights come last, as torch
    s = ax.multinomial(ax.tensor([0.0, 1.0]), 2).numpy()
    assert_equal(s, torch.multinomial(torch.tensor([0.0, 1.0]), 2).numpy())


def test_multinomial_never_draws_zero_weight_with_replacement():
    ax.manual_seed(3)
    w = np.zeros(1000)
    w[[5, 999]] = [1e-30, 1.0]  # a tiny weight beside a large one, zeros everywhere else
    s = ax.multinomial(ax.tensor(w), 50_000, replacement=True).numpy()
    assert set(np.unique(s)) <= {5, 999}


@pytest.mark.parametrize(
    "weights,n,replacement,match",
    [
        ([0.5, -1.0], 1, False, "element < 0"),
        ([0.5, float("inf")], 1, True, "inf"),
        ([0.5, float("nan")], 1, False, "nan"),
        ([0.0, 0.0], 1, True, "sum of probabilities"),
        ([0.5, 0.5], 3, False, "without replacement"),
        ([[[0.5]]], 1, True, "1 or 2 dim"),
    ],
)
def test_multinomial_errors(weights, n, replacement, match):
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(weights), n, replacement)
    with pytest.raises(RuntimeError, match=match):
        ax.multinomial(ax.tensor(weights), n, replacement)


def test_bernoulli():
    ax.manual_seed(4)
    p = ax.tensor(np.linspace(0.0, 1.0, 5), dtype=ax.float64)
    draws = np.stack([ax.bernoulli(p).numpy() for _ in range(4000)])
    assert draws.dtype == np.float64 and set(np.unique(draws)) <= {0.0, 1.0}
    assert (draws[:, 0] == 0).all() and (draws[:, -1] == 1).all()
    for k, pk in enumerate(p.numpy()[1:-1], start=1):
        _close_mean(draws[:, k], pk, math.sqrt(pk * (1 - pk)))
    x = ax.zeros(N)
    assert x.bernoulli_(0.3) is x
    _close_mean(x.numpy(), 0.3, math.sqrt(0.21))
    y = ax.zeros(N).bernoulli_(ax.full((N,), 0.8))
    _close_mean(y.numpy(), 0.8, 0.4)
    _close_mean(ax.bernoulli(ax.zeros(N), 0.25).numpy(), 0.25, math.sqrt(0.1875))
    with pytest.raises(RuntimeError):
        torch.bernoulli(torch.tensor([1.5]))
    with pytest.raises(RuntimeError, match="p_in"):
        ax.bernoulli(ax.tensor([1.5]))


def test_inplace_fills():
    ax.manual_seed(5)
    e = ax.empty(N, dtype=ax.float64)
    assert e.exponential_(2.0) is e
    assert (e.numpy() >= 0).all()
    _close_mean(e.numpy(), 0.5, 0.5)
    g = ax.empty(N).geometric_(0.25)
    assert g.numpy().min() >= 1 and np.allclose(g.numpy(), np.round(g.numpy()))
    _close_mean(g.numpy(), 4.0, math.sqrt(0.75) / 0.25)
    r = ax.zeros(N, dtype=ax.int64).random_(3, 7)
    assert set(np.unique(r.numpy())) == {3, 4, 5, 6}
    r2 = ax.zeros(1000).random_(5)
    assert set(np.unique(r2.numpy())) == {0.0, 1.0, 2.0, 3.0, 4.0}
    with pytest.raises(RuntimeError, match="lambda"):
        ax.empty(3).exponential_(0.0)
    with pytest.raises(RuntimeError):
        torch.empty(3).exponential_(0.0)


def test_randperm():
    ax.manual_seed(6)
    p = ax.randperm(50)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(50))
    assert ax.randperm(5, dtype=ax.int32).dtype == np.int32
    first = np.array([ax.randperm(4).numpy()[0] for _ in range(8000)])
    counts = np.bincount(first, minlength=4)
    assert (np.abs(counts - 2000) < 5 * math.sqrt(8000 * 0.25 * 0.75)).all(), counts


def test_poisson_log_normal_cauchy():
    ax.manual_seed(8)
    rates = ax.tensor([0.0, 0.5, 4.0] * (N // 3), dtype=ax.float64)
    draws = ax.poisson(rates).numpy().reshape(-1, 3)
    assert draws.dtype == np.float64 and (draws[:, 0] == 0).all()
    _close_mean(draws[:, 1], 0.5, math.sqrt(0.5))
    _close_mean(draws[:, 2], 4.0, 2.0)
    ln = ax.empty(N, dtype=ax.float64).log_normal_(0.5, 0.25).numpy()
    _close_mean(np.log(ln), 0.5, 0.25)
    c = ax.empty(N, dtype=ax.float64).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(c) - 1.0) < 5 * (math.pi * 2.0 / 2) / math.sqrt(N)  # median's s.e.
    with pytest.raises(RuntimeError):
        torch.poisson(torch.tensor([-1.0]))
    with pytest.raises(RuntimeError, match="rates"):
        ax.poisson(ax.tensor([-1.0]))


def test_sampling_loop_as_written_for_torch():
    """nanoGPT's sampling step, unchanged but for the import: top-k filtering by
    assignment, softmax, multinomial, cat. Every token drawn is among the k best."""
    import axon as torch_like
    import axon.nn.functional as F

    torch_like.manual_seed(0)
    vocab, k = 50, 5
    idx = torch_like.zeros((3, 1), dtype=torch_like.long)
    for _ in range(20):
        logits = torch_like.randn(3, vocab) * 3
        v, _ = torch_like.topk(logits, min(k, logits.size(-1)))
        allowed = logits >= v[:, [-1]]
        logits[logits < v[:, [-1]]] = -float("Inf")
        probs = F.softmax(logits, dim=-1)
        idx_next = torch_like.multinomial(probs, num_samples=1)
        assert allowed.gather(1, idx_next).all()
        idx = torch_like.cat((idx, idx_next), dim=1)
    assert idx.shape == (3, 21) and idx.dtype == np.int64


def test_draws_on_another_device_are_the_cpus_numbers():
    import tests.backend.strict  # noqa: F401  (registers the strict backend)

    def draws(device):
        ax.manual_seed(0)
        x = ax.full((2, 3), 0.5, device=device)
        return [
            ax.bernoulli(x),
            ax.normal(x, 1.0),
            ax.multinomial(x, 2),
            ax.poisson(x),
            ax.binomial(x * 4, x),
            x.clone().exponential_(),
            x.clone().bernoulli_(0.3),
            x.clone().random_(5),
            x.clone().cauchy_(),
            x.clone().geometric_(0.5),
            x.clone().log_normal_(),
        ]

    for c, s in zip(draws("cpu"), draws("strict"), strict=True):
        assert s.device == "strict:0" and s.dtype == c.dtype
        np.testing.assert_array_equal(s.cpu().numpy(), c.numpy())
