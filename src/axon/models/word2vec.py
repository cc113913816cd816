"""word2vec: skip-gram with negative sampling (Mikolov et al., 2013), and its samplers.

Every word w has two vectors: an input vector v_w (the word vector, a row of
``in_embed``) and an output vector u_w (a row of ``out_embed``, used when w is a context).
For a centre word c seen with a context word o inside a window, and K "negative" words
n_1..n_K drawn from a noise distribution, the loss is

    l(c, o, n) = -log sigma(u_o . v_c) - sum_k log sigma(-u_{n_k} . v_c),

pushing the true pair's score up and the noise pairs' scores down. Its gradients, with
s_j the scores and g_0 = sigma(s_0) - 1, g_k = sigma(s_k):

    dl/dv_c = sum_j g_j u_j,        dl/du_j = g_j v_c    (j = o, n_1, ..., n_K).

The samplers of the paper (and its C code):

- subsampling: each occurrence of a word of corpus frequency f is kept with probability
  ``min(1, sqrt(t / f) + t / f)`` (the C code's formula; the paper's discard
  probability is 1 - sqrt(t / f)), so "the" and "of" are mostly dropped and the window
  reaches further;
- a dynamic window: each centre word draws its window b from 1..W, so near words count
  more often than far ones;
- negatives: drawn from the unigram distribution raised to 3/4, p(w) ~ count(w)^0.75,
  which gives rare words more weight than their frequency.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd.function import Op
from ..autograd.ops.embedding import check_indices, scatter_add_rows
from ..autograd.tensor import Tensor
from ..backend import xp

__all__ = [
    "NegativeSampler",
    "SkipGram",
    "analogy",
    "keep_probabilities",
    "most_similar",
    "sgns_loss",
    "skipgram_pairs",
    "subsample",
]


# ============================================================================ the loss
def _sigmoid(x):
    """sigma(x) = (1 + tanh(x / 2)) / 2: no overflow for any x, in x's dtype."""
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


class SGNSLoss(Op):
    """The skip-gram negative-sampling loss of a batch as one node (see the module text).

    Inputs: ``w_in`` (V, D) and ``w_out`` (V, D), the two tables; ``center`` (B,),
    ``context`` (B,) and ``negatives`` (B, K), integer ids. Forward gathers v_c (B, D) and
    the B x (1 + K) output vectors, scores them with one batched product and sums the
    softplus terms; backward scatter-adds the row gradients into (V, D) tables, so a word
    picked several times in the batch gets the sum of its gradients.
    """

    def forward(self, w_in, w_out, center, context, negatives, reduction):
        v, d = w_in.shape
        self.v = v
        ids = xp.concatenate([context[:, None], negatives], axis=1)  # (B, 1 + K)
        c = w_in.take(center, axis=0)  # (B, D)
        o = w_out.take(ids, axis=0)  # (B, 1 + K, D)
        s = xp.matmul(o, c[:, :, None])[..., 0]  # (B, 1 + K, D) @ (B, D, 1) -> (B, 1 + K)
        s[:, 1:] *= -1  # z: the true pair's score, the noise pairs' scores negated
        terms = xp.logaddexp(0.0, -s)  # -log sigma(z) = softplus(-z), (B, 1 + K)
        g = _sigmoid(s)
        g -= 1.0  # dl/dz = sigma(z) - 1
        g[:, 1:] *= -1  # dl/ds: sigma(s_0) - 1 for the context, sigma(s_k) for noise
        self.c, self.o, self.ids, self.center, self.g = c, o, ids, center, g
        total = terms.sum(dtype=xp.float64)
        self.scale = 1.0 / len(center) if reduction == "mean" else 1.0
        return xp.asarray(total * self.scale, dtype=w_in.dtype)

    def backward(self, grad):
        g = self.g * (grad * self.scale).astype(self.g.dtype)  # (B, 1 + K)
        d = self.c.shape[1]
        g_in = g_out = None
        if self.parents[0] is not None:
            dc = xp.matmul(g[:, None, :], self.o)[:, 0]  # (B, 1, 1+K) @ (B, 1+K, D) -> (B, D)
            g_in = scatter_add_rows(self.center, dc, self.v)  # (V, D)
        if self.parents[1] is not None:
            do = g[:, :, None] * self.c[:, None, :]  # (B, 1 + K, D)
            g_out = scatter_add_rows(self.ids.reshape(-1), do.reshape(-1, d), self.v)
        return g_in, g_out, None, None, None, None


def _ids(x, name: str) -> np.ndarray:
    a = x.array if isinstance(x, Tensor) else xp.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"sgns_loss: {name} must hold integer word ids, got dtype {a.dtype}")
    return a


def sgns_loss(
    w_in: Tensor, w_out: Tensor, center, context, negatives, reduction: str = "mean"
) -> Tensor:
    """The skip-gram negative-sampling loss (see the module text) of B pairs.

    Args:
        w_in: the input (word) vectors, (V, D).
        w_out: the output (context) vectors, (V, D).
        center: the centre words, (B,) ids.
        context: their context words, (B,) ids.
        negatives: K noise words per pair, (B, K) ids.
        reduction: ``"mean"`` over the B pairs or ``"sum"``.

    Returns:
        a scalar Tensor.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"sgns_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    if w_in.ndim != 2 or w_in.shape != w_out.shape:
        raise ValueError(
            f"sgns_loss: w_in and w_out must both be (V, D), got "
            f"{tuple(w_in.shape)} and {tuple(w_out.shape)}"
        )
    center, context = _ids(center, "center"), _ids(context, "context")
    negatives = _ids(negatives, "negatives")
    b = center.shape[0] if center.ndim == 1 else -1
    if center.ndim != 1 or context.shape != (b,) or negatives.ndim != 2 or negatives.shape[0] != b:
        raise ValueError(
            f"sgns_loss: expected center (B,), context (B,) and negatives "
            f"(B, K), got {center.shape}, {context.shape} and "
            f"{negatives.shape}"
        )
    for a in (center, context, negatives):
        check_indices(a, w_in.shape[0])
    return SGNSLoss.apply(w_in, w_out, center, context, negatives, reduction)


class SkipGram(nn.Module):
    """Skip-gram with negative sampling: two (V, D) tables, ``in_embed`` (the word
    vectors) and ``out_embed`` (the context vectors).

    ``forward(center, context, negatives)`` returns :func:`sgns_loss`. As in the C code,
    the word vectors start uniform in (-0.5 / D, 0.5 / D) and the context vectors at zero
    (so every score starts at 0 and the loss at (1 + K) ln 2).
    """

    def __init__(self, num_words: int, dim: int) -> None:
        super().__init__()
        self.num_words, self.dim = num_words, dim
        self.in_embed = nn.Embedding(num_words, dim)
        self.out_embed = nn.Embedding(num_words, dim)
        nn.init.uniform_(self.in_embed.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.out_embed.weight)

    def forward(self, center, context, negatives, reduction: str = "mean") -> Tensor:
        return sgns_loss(
            self.in_embed.weight, self.out_embed.weight, center, context, negatives, reduction
        )

    def vectors(self) -> np.ndarray:
        """The word vectors, a (V, D) copy of ``in_embed.weight``."""
        return self.in_embed.weight.array.copy()

    def extra_repr(self) -> str:
        return f"num_words={self.num_words}, dim={self.dim}"


# ============================================================================ samplers
def keep_probabilities(counts: np.ndarray, t: float = 1e-4) -> np.ndarray:
    """The chance of keeping each occurrence of word w under subsampling,
    ``min(1, sqrt(t / f_w) + t / f_w)`` with f_w = count_w / total; 1 for unseen words."""
    counts = np.asarray(counts, dtype=np.float64)
    f = counts / counts.sum()
    with np.errstate(divide="ignore"):
        r = np.where(f > 0, t / np.maximum(f, 1e-300), np.inf)
    return np.minimum(1.0, np.sqrt(r) + r)


def subsample(ids: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mask (N,) keeping token i with probability ``keep[ids[i]]``."""
    return rng.random(len(ids)) < keep[ids]


def skipgram_pairs(
    ids: np.ndarray, window: int, rng: np.random.Generator, sentence: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All (centre, context) pairs of a token stream with a dynamic window.

    Position i draws b_i from 1..``window`` and pairs with every position i +- o,
    1 <= o <= b_i; with ``sentence`` (N,) ids, pairs never cross a sentence boundary.
    Returns ``(centers, contexts)``, word ids (P,) each, ordered by offset (shuffle them
    before training).
    """
    ids = np.asarray(ids)
    n = len(ids)
    if window < 1:
        raise ValueError(f"skipgram_pairs: window must be >= 1, got {window}")
    if sentence is not None and np.shape(sentence) != (n,):
        raise ValueError(
            f"skipgram_pairs: sentence must be (N,) = ({n},) like ids, got {np.shape(sentence)}"
        )
    b = rng.integers(1, window + 1, n)  # (N,) each centre's window
    centers, contexts = [], []
    for o in range(1, min(window, n - 1) + 1):
        left, right = np.arange(n - o), np.arange(o, n)  # position pairs (i, i + o)
        same = np.ones(n - o, bool) if sentence is None else sentence[:-o] == sentence[o:]
        fwd = same & (b[:-o] >= o)  # centre i, context i + o
        bwd = same & (b[o:] >= o)  # centre i + o, context i
        centers += [ids[left[fwd]], ids[right[bwd]]]
        contexts += [ids[right[fwd]], ids[left[bwd]]]
    if not centers:
        empty = np.zeros(0, dtype=ids.dtype)
        return empty, empty.copy()
    return np.concatenate(centers), np.concatenate(contexts)


class NegativeSampler:
    """Noise words drawn from p(w) = count_w^power / sum_v count_v^power (power 3/4).

    Draws by inverting the cumulative distribution (one ``searchsorted`` of uniform
    numbers), which is exact; the C code's table of 10^8 slots approximates the same
    distribution. Words of count 0 are never drawn.
    """

    def __init__(self, counts: np.ndarray, power: float = 0.75, seed: int = 0) -> None:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 1 or (counts < 0).any() or counts.sum() <= 0:
            raise ValueError(
                f"NegativeSampler: counts must be a non-negative (V,) vector "
                f"with a positive sum, got shape {counts.shape}"
            )
        weights = counts**power
        self.probs = weights / weights.sum()  # (V,)
        cdf = np.cumsum(weights)
        self.cdf = cdf / cdf[-1]  # ends at exactly 1, so every uniform u < 1 lands
        self.rng = np.random.default_rng(seed)

    def sample(self, shape) -> np.ndarray:
        """Word ids of ``shape``, drawn independently from ``probs``."""
        u = self.rng.random(shape)
        return np.searchsorted(self.cdf, u, side="right").astype(np.int64)


# ============================================================================ using the vectors
def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def most_similar(
    vectors: np.ndarray, query: np.ndarray | int, k: int = 5, exclude=()
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``vectors`` (V, D) of highest cosine similarity to ``query``
    (a word id, or a (D,) vector), skipping the ids in ``exclude`` (and the query id
    itself). Returns ``(ids, similarities)``, each (k,), best first."""
    unit = _unit(np.asarray(vectors, dtype=np.float64))
    skip = set(int(i) for i in exclude)
    if np.ndim(query) == 0:
        skip.add(int(query))
        q = unit[int(query)]
    else:
        q = np.asarray(query, dtype=np.float64)
        if q.shape != (vectors.shape[1],):
            raise ValueError(
                f"most_similar: a query vector must be ({vectors.shape[1]},), got {q.shape}"
            )
        q = q / max(np.linalg.norm(q), 1e-12)
    sims = unit @ q  # (V,)
    if skip:
        sims[list(skip)] = -np.inf
    k = min(k, len(sims) - len(skip))
    best = np.argpartition(-sims, k - 1)[:k] if k > 0 else np.zeros(0, int)
    best = best[np.argsort(-sims[best], kind="stable")]
    return best, sims[best]


def analogy(
    vectors: np.ndarray, a: int, b: int, c: int, k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """a : b :: c : ?  by 3CosAdd: the ``k`` words d (not a, b or c) whose unit vectors
    are closest in cosine to unit(b) - unit(a) + unit(c). Returns ``(ids, similarities)``."""
    unit = _unit(np.asarray(vectors, dtype=np.float64))
    target = unit[b] - unit[a] + unit[c]  # (D,)
    return most_similar(vectors, target, k, exclude=(a, b, c))
