"""word2vec on the Penn Treebank: skip-gram with negative sampling, then what the vectors
know (nearest neighbours, analogies) and a 2-D picture of them.

Training (:mod:`axon.models.word2vec`): words seen fewer than 5 times are dropped (as the
C code does); every epoch the frequent words are thinned (Mikolov's subsampling,
t = 1e-4: "the" is kept 4% of the time, a word seen 100 times always), each remaining
word is paired with its neighbours within a window drawn from 1..2 (never across a
sentence end; a narrow window favours words of the same kind over words of the same
topic, and halves the pairs of the usual 1..5), and each pair gets 5 noise words drawn
from count^0.75. The loss of a pair is

    -log sigma(u_o . v_c) - sum_k log sigma(-u_k . v_c),

computed for a whole batch of 4,096 pairs by one fused op. As in the C code, the update
is plain SGD on the summed loss (so each pair moves the vectors as much as in the C
code's one-pair-at-a-time updates) with the learning rate falling linearly from 0.025 to
nearly 0 over the run: 15 epochs of about 1.15 million pairs.

What the vectors show: the words closest in cosine to a few probes; analogies a : b ::
c : ? answered by the word closest to b - a + c (3CosAdd; a, b and c themselves
excluded), scored by whether the expected word is first or among the top 5 (PTB is a
million words of 1989 Wall Street Journal, so many textbook analogies have too few
examples; the tables say which hold); the share of words whose nearest neighbour is of
their own kind (months, weekdays, number words, countries, ...); and a PCA projection of
those words onto the plane (numpy's SVD of the centred vectors). ``<unk>``, PTB's stand-in
for every rare word, is never given as a neighbour or an answer.

Measured (full run, 2 busy cores): 17.2 million pairs in 3 to 4.3 minutes (67,000 to
93,000 pairs a second), the loss per pair from 4.159 to 2.125. The nearest neighbour is
of the same kind for 9 of 11 months, 5/5 weekdays, 8/8 number words, but 2/10 countries
and 0/10 nationalities (55% in all; "japan" -> korea, switzerland, brazil, britain;
"monday" -> thursday, wednesday; "he" -> she). Analogies within the top 5: 131 of 370
(84 first): he : she 23/42, country : nationality 23/56, past tense 40/90, comparatives
22/72, plurals 21/90, capitals 2/20.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

import axon as ax
from axon import optim
from axon.data.text import Vocab, penn_treebank
from axon.models.word2vec import (
    NegativeSampler,
    SkipGram,
    analogy,
    keep_probabilities,
    most_similar,
    skipgram_pairs,
    subsample,
)

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, load_weights, table

FULL = dict(
    dim=100,
    window=2,
    negatives=5,
    t=1e-4,
    epochs=15,
    batch=4096,
    lr=0.025,
    min_count=5,
    budget=8 * 60,
    tokens=None,
)
QUICK = dict(
    dim=32,
    window=3,
    negatives=5,
    t=1e-3,
    epochs=4,
    batch=256,
    lr=0.025,
    min_count=1,
    budget=None,
    tokens=60_000,
)
MIN_LR = 1e-4  # the learning rate ends at lr * MIN_LR, as in the C code
EOS = "<eos>"
UNK = "<unk>"

PROBES = (
    "company",
    "stock",
    "president",
    "japan",
    "monday",
    "billion",
    "bank",
    "buy",
    "good",
    "he",
)

CATEGORIES: dict[str, tuple[str, ...]] = {
    "months": (
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),  # "may" is mostly a verb
    "weekdays": ("monday", "tuesday", "wednesday", "thursday", "friday"),
    "numbers": ("two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "countries": (
        "japan",
        "germany",
        "france",
        "britain",
        "china",
        "canada",
        "italy",
        "mexico",
        "australia",
        "korea",
    ),
    "nationalities": (
        "japanese",
        "german",
        "french",
        "british",
        "chinese",
        "canadian",
        "italian",
        "mexican",
        "australian",
        "korean",
    ),
}

ANALOGIES: dict[str, tuple[tuple[str, str], ...]] = {
    "country : capital": (
        ("japan", "tokyo"),
        ("britain", "london"),
        ("france", "paris"),
        ("china", "beijing"),
        ("u.s.", "washington"),
    ),
    "country : nationality": (
        ("japan", "japanese"),
        ("germany", "german"),
        ("france", "french"),
        ("britain", "british"),
        ("china", "chinese"),
        ("canada", "canadian"),
        ("america", "american"),
        ("europe", "european"),
    ),
    "he : she": (
        ("he", "she"),
        ("his", "her"),
        ("man", "woman"),
        ("men", "women"),
        ("mr.", "mrs."),
        ("husband", "wife"),
        ("father", "mother"),
    ),
    "adjective : comparative": (
        ("big", "bigger"),
        ("small", "smaller"),
        ("large", "larger"),
        ("high", "higher"),
        ("low", "lower"),
        ("strong", "stronger"),
        ("good", "better"),
        ("early", "earlier"),
        ("easy", "easier"),
    ),
    "verb : past tense": (
        ("rise", "rose"),
        ("fall", "fell"),
        ("buy", "bought"),
        ("sell", "sold"),
        ("pay", "paid"),
        ("say", "said"),
        ("take", "took"),
        ("make", "made"),
        ("go", "went"),
        ("begin", "began"),
    ),
    "singular : plural": (
        ("company", "companies"),
        ("share", "shares"),
        ("bank", "banks"),
        ("year", "years"),
        ("month", "months"),
        ("price", "prices"),
        ("analyst", "analysts"),
        ("bond", "bonds"),
        ("stock", "stocks"),
        ("investor", "investors"),
    ),
}

TOP_K = 5
DRAWS = 1_000_000  # negatives drawn to check the sampler
GROUPS = 10
SAMPLER_TOLERANCE = 0.003  # about 10 standard deviations of a group's share at 10^6 draws
CATEGORY_CLAIM = 0.4  # full run: share of category words whose nearest neighbour is a sibling
ANALOGY_CLAIM = 0.2  # full run: analogies answered within the top 5, over all groups


# ----------------------------------------------------------------------------- the corpus
@dataclass
class Corpus:
    """A token stream as word ids without the sentence ends, and where sentences change.

    Attributes:
        vocab: the words (no specials), most frequent first.
        ids: word ids (N,).
        sentence: the sentence of each token (N,), so windows stop at sentence ends.
        counts: how often each word occurs (V,).
    """

    vocab: Vocab
    ids: np.ndarray
    sentence: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], min_count: int = 1) -> Corpus:
        """Number the words of ``tokens`` seen at least ``min_count`` times (the rarer
        ones are dropped from the stream, as the C code does) and drop the ``<eos>``
        marks, remembering the sentences they ended."""
        counter = Counter(tokens)
        keep = [t != EOS and counter[t] >= min_count for t in tokens]
        is_eos = np.fromiter((t == EOS for t in tokens), dtype=bool, count=len(tokens))
        sentence = np.cumsum(is_eos)[np.array(keep, dtype=bool)]  # (N,) sentence of each word
        words = [t for t, k in zip(tokens, keep, strict=True) if k]
        vocab = Vocab.from_counter(Counter(words), specials=(), unk_token=None)
        ids = vocab.encode(words)
        counts = np.bincount(ids, minlength=len(vocab))
        return cls(vocab, ids, sentence, counts)


# ----------------------------------------------------------------------------- training
@dataclass
class Trained:
    """What :func:`train_skipgram` did: the loss of every logged stretch of batches, the
    pairs seen, the epochs and seconds."""

    losses: list[float] = field(default_factory=list)  # mean loss per pair, per stretch
    epoch_losses: list[float] = field(default_factory=list)
    pairs: int = 0
    epochs: int = 0
    seconds: float = 0.0
    stopped: bool = False

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / max(self.seconds, 1e-9)


def train_skipgram(
    corpus: Corpus,
    *,
    dim: int,
    window: int,
    negatives: int,
    t: float,
    epochs: int,
    batch: int,
    lr: float,
    seed: int = 0,
    budget: float | None = None,
    log: Callable[[str], None] = print,
    **_,
) -> tuple[SkipGram, Trained]:
    """Train skip-gram vectors on ``corpus`` (see the module text); returns the model and
    a :class:`Trained` record. ``budget`` (seconds) stops training early."""
    ax.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SkipGram(len(corpus.vocab), dim)
    sampler = NegativeSampler(corpus.counts, seed=seed + 1)
    keep = keep_probabilities(corpus.counts, t)
    expected_pairs = keep[corpus.ids].sum() * (window + 1)  # E[b] = (W + 1) / 2 per side
    total_steps = max(1, int(epochs * expected_pairs / batch))
    opt = optim.SGD(model.parameters(), lr=lr)
    done = Trained()
    step = 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        mask = subsample(corpus.ids, keep, rng)
        centers, contexts = skipgram_pairs(corpus.ids[mask], window, rng, corpus.sentence[mask])
        if len(centers) == 0:
            raise ValueError(
                f"train_skipgram: no pairs in epoch {epoch}: the corpus of "
                f"{len(corpus.ids)} words is too short (or all subsampled)"
            )
        order = rng.permutation(len(centers))
        centers, contexts = centers[order], contexts[order]
        n_batches = -(-len(centers) // batch)
        ends = {round(n_batches * (j + 1) / 10) for j in range(10)}  # ten stretches
        running, seen, epoch_sum = 0.0, 0, 0.0
        for i in range(n_batches):
            c, o = centers[i * batch : (i + 1) * batch], contexts[i * batch : (i + 1) * batch]
            for group in opt.param_groups:  # linear decay, as in the C code
                group["lr"] = lr * max(MIN_LR, 1.0 - step / total_steps)
            loss = model(c, o, sampler.sample((len(c), negatives)), reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            value = loss.item()
            running, seen, epoch_sum = running + value, seen + len(c), epoch_sum + value
            if i + 1 in ends:
                done.losses.append(running / seen)
                running, seen = 0.0, 0
            if budget is not None and time.perf_counter() - start > budget:
                done.stopped = True
                break
        done.pairs += min(len(centers), (i + 1) * batch)
        done.epoch_losses.append(epoch_sum / min(len(centers), (i + 1) * batch))
        done.epochs = epoch
        done.seconds = time.perf_counter() - start
        log(
            f"  epoch {epoch}: {mask.sum():,} of {len(mask):,} words kept, "
            f"{len(centers):,} pairs, loss {done.epoch_losses[-1]:.4f} per pair, "
            f"{done.seconds:.0f} s ({done.pairs_per_second:,.0f} pairs/s)"
        )
        if done.stopped:
            log(f"  stopped by the time budget of {budget:.0f} s")
            break
    return model, done


# ----------------------------------------------------------------------------- evaluation
def known(vocab: Vocab, words: Sequence[str]) -> list[str]:
    return [w for w in words if w in vocab]


def neighbours(
    vectors: np.ndarray, vocab: Vocab, word: str, k: int = 6, exclude: Sequence[int] = ()
) -> list[tuple[str, float]]:
    """The ``k`` words nearest to ``word`` in cosine, with their similarities."""
    ids, sims = most_similar(vectors, vocab[word], k, exclude=exclude)
    return [(vocab.itos[i], float(s)) for i, s in zip(ids, sims, strict=True)]


def category_accuracy(
    vectors: np.ndarray,
    vocab: Vocab,
    categories: dict[str, Sequence[str]],
    exclude: Sequence[int] = (),
) -> dict[str, tuple[int, int]]:
    """Per category: how many of its words have a nearest neighbour (over the whole
    vocabulary) from the same category, out of how many words it has in ``vocab``."""
    out = {}
    for name, words in categories.items():
        words = known(vocab, words)
        members = {vocab[w] for w in words}
        hits = sum(int(most_similar(vectors, vocab[w], 1, exclude)[0][0] in members) for w in words)
        out[name] = (hits, len(words))
    return out


@dataclass
class AnalogyScore:
    """One group's analogies: questions asked, answered first, answered in the top k, and
    every question with its top answers."""

    asked: int = 0
    top1: int = 0
    topk: int = 0
    questions: list[tuple[str, str, str, str, list[str]]] = field(default_factory=list)


def score_analogies(
    vectors: np.ndarray,
    vocab: Vocab,
    groups: dict[str, Sequence[tuple[str, str]]],
    k: int = TOP_K,
    exclude: Sequence[int] = (),
) -> dict[str, AnalogyScore]:
    """Every ordered pair of distinct pairs (a, b), (c, d) of a group asks a : b :: c : ?
    (pairs with a word missing from ``vocab`` are skipped); the answer is right if d is
    first (top-1) or among the first ``k``."""
    scores = {}
    for name, pairs in groups.items():
        pairs = [(a, b) for a, b in pairs if a in vocab and b in vocab]
        s = AnalogyScore()
        for a, b in pairs:
            for c, d in pairs:
                if (a, b) == (c, d):
                    continue
                ids, _ = analogy(vectors, vocab[a], vocab[b], vocab[c], k + len(exclude))
                answers = [vocab.itos[i] for i in ids if i not in exclude][:k]
                s.asked += 1
                s.top1 += int(answers[:1] == [d])
                s.topk += int(d in answers)
                s.questions.append((a, b, c, d, answers))
        scores[name] = s
    return scores


def mass_groups(probs: np.ndarray, counts: np.ndarray, groups: int) -> np.ndarray:
    """Each word's group (V,): the words ranked by count, most frequent first, cut into
    ``groups`` runs of about equal mass under ``probs``."""
    order = np.argsort(-counts, kind="stable")
    before = np.cumsum(probs[order]) - probs[order]  # mass of the more frequent words
    group = np.empty(len(probs), dtype=np.int64)
    group[order] = np.minimum((before * groups).astype(np.int64), groups - 1)
    return group


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``vectors`` (n, D) projected on their first two principal axes, (n, 2),
    and the share of the variance each axis holds (2,): the SVD X - mean = U S V^T gives
    the projection U[:, :2] S[:2]."""
    x = np.asarray(vectors, dtype=np.float64)
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, :2] * s[:2], (s[:2] ** 2) / max((s**2).sum(), 1e-300)


# ----------------------------------------------------------------------------- figures
def unit_rows(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _nothing_to_show(panel, title: str, why: str) -> None:
    """A panel left without data says so in words, not with an empty frame."""
    panel.set_axis_off()
    panel.set_title(title)
    panel.text(0.5, 0.5, why, ha="center", va="center", transform=panel.transAxes, wrap=True)


@plot.style()
def save_projection(result: Result, vectors: np.ndarray, vocab: Vocab, path) -> None:
    """Two panels: the category words in the PCA plane coloured by category, and the
    country -> nationality and adjective -> comparative pairs as arrows; the words are
    placed beside their points so that none covers another."""
    fig, (left, right) = plot.figure(
        ncols=2, size=(6.5, 6.0), title="word2vec on PTB: PCA of the word vectors (unit length)"
    )
    words, kinds = [], []
    for name, members in CATEGORIES.items():
        for w in known(vocab, members):
            words.append(w)
            kinds.append(name)
    if words:
        xy, share = pca_2d(unit_rows(vectors[[vocab[w] for w in words]]))
        colors = {name: f"C{i}" for i, name in enumerate(CATEGORIES)}
        for name in dict.fromkeys(kinds):
            pick = [j for j, k in enumerate(kinds) if k == name]
            left.scatter(xy[pick, 0], xy[pick, 1], s=18, color=colors[name], label=name)
        left.set_xlabel(f"PC 1 ({share[0]:.0%} of the variance)")
        left.set_ylabel(f"PC 2 ({share[1]:.0%})")
        left.margins(0.15)  # room for the words at the edges
        left.legend(loc="best")
        left.set_title("categories")
        plot.label_points(left, xy, words, colors=[colors[k] for k in kinds])
    else:
        _nothing_to_show(left, "categories", "no category word is in the vocabulary")
    pairs = [
        p
        for g in ("country : nationality", "adjective : comparative")
        for p in ANALOGIES[g]
        if p[0] in vocab and p[1] in vocab
    ]
    title = "country -> nationality (blue),\nadjective -> comparative (red)"
    if pairs:
        flat = [w for p in pairs for w in p]
        xy, share = pca_2d(unit_rows(vectors[[vocab[w] for w in flat]]))
        n_country = sum(p in ANALOGIES["country : nationality"] for p in pairs)
        pair_colors = ["C0" if i < n_country else "C3" for i in range(len(pairs))]
        for i, color in enumerate(pair_colors):
            right.annotate(
                "", xy[2 * i + 1], xy[2 * i], arrowprops=dict(arrowstyle="->", color=color, lw=1)
            )
        right.scatter(xy[:, 0], xy[:, 1], s=6, color="k")
        right.set_xlabel(f"PC 1 ({share[0]:.0%})")
        right.set_ylabel(f"PC 2 ({share[1]:.0%})")
        right.margins(0.15)
        right.set_title(title)
        word_colors = [c for color in pair_colors for c in ("0.3", color)]
        plot.label_points(right, xy, flat, colors=word_colors)
    else:
        _nothing_to_show(right, title, "none of these pairs is in the vocabulary")
    result.figures.append(plot.save(fig, path))


@plot.style()
def save_curve(result: Result, done: Trained, start_loss: float, path) -> None:
    fig, (axis,) = plot.figure(size=(6.0, 4.0), title="word2vec on PTB: training loss")
    per_epoch = len(done.losses) / max(done.epochs, 1)
    x = np.arange(1, len(done.losses) + 1) / per_epoch
    few = {"marker": "o", "ms": 4} if len(x) <= plot.FEW_POINTS else {}
    axis.plot(x, done.losses, label="mean loss per pair (stretches of batches)", **few)
    axis.axhline(
        start_loss, color="0.5", ls="--", label=f"at the start, (1+K) ln 2 = {start_loss:.3f}"
    )
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.grid(alpha=0.3)
    axis.legend()
    result.figures.append(plot.save(fig, path))


# ----------------------------------------------------------------------------- the experiment
@register(
    "word2vec",
    "Skip-gram with negative sampling on Penn Treebank: nearest "
    "neighbours, analogies, a PCA picture of the vectors",
)
def run(config: Config) -> Result:
    result = Result("word2vec")
    hp = dict(QUICK if config.quick else FULL)
    if config.epochs is not None:
        hp["epochs"] = config.epochs

    corpus = _load_corpus(config, hp)
    worst = _check_negatives(corpus, config.seed, result)
    model, done, start_loss = _train(config, hp, corpus, result)
    vectors = model.vectors()
    vocab = corpus.vocab
    skip = [vocab[UNK]] if UNK in vocab else []
    share = _show_neighbours(vectors, vocab, skip)
    top1, in_top, asked = _show_analogies(vectors, vocab, skip)
    _save(config, model, vocab, vectors, done, start_loss, result)

    if done is not None:
        result.metrics.update(
            {
                "loss": done.epoch_losses[-1],
                "pairs": done.pairs,
                "seconds": done.seconds,
                "pairs_per_second": done.pairs_per_second,
            }
        )
    analogy_share = in_top / max(asked, 1)
    result.metrics.update(
        {
            "category_nn": share,
            "analogy_top1": top1 / max(asked, 1),
            "analogy_topk": analogy_share,
            "negatives_max_gap": worst,
        }
    )
    if not config.quick:
        _check_full_goals(share, analogy_share, asked, result)
    return result


def _load_corpus(config: Config, hp: dict) -> Corpus:
    """Step 1: PTB's training words (the sentence ends dropped, rare words cut) and what
    subsampling keeps of them."""
    heading("1. The corpus")
    tokens = penn_treebank(config.data_dir, split="train")
    if hp["tokens"] is not None:
        tokens = tokens[: hp["tokens"]]
    corpus = Corpus.from_tokens(tokens, hp["min_count"])
    keep = keep_probabilities(corpus.counts, hp["t"])
    kept = keep[corpus.ids].sum()
    n_eos = sum(t == EOS for t in tokens)
    print(
        f"  PTB train: {len(tokens) - n_eos:,} words in {n_eos:,} sentences (the {EOS} "
        f"marks dropped); {len(corpus.ids):,} words of the {len(corpus.vocab):,} types "
        f"seen at least {hp['min_count']} times kept"
    )
    top = ", ".join(f"{corpus.vocab.itos[i]} {keep[i]:.2f}" for i in range(6))
    print(
        f"  subsampling with t = {hp['t']:g} keeps {kept / len(corpus.ids):.0%} of the "
        f"words per epoch; kept share of the most frequent: {top}"
    )
    return corpus


def _check_negatives(corpus: Corpus, seed: int, result: Result) -> float:
    """Step 2: :data:`DRAWS` negatives drawn, their share per group of equal count^0.75
    mass tabled beside the mass; checks they match, and returns the largest gap."""
    heading("2. Negative sampling: count^0.75")
    sampler = NegativeSampler(corpus.counts, seed=seed)
    draws = sampler.sample(DRAWS)
    freq = np.bincount(draws, minlength=len(corpus.vocab)) / draws.size
    unigram = corpus.counts / corpus.counts.sum()
    group = mass_groups(sampler.probs, corpus.counts, GROUPS)
    expected, drawn, plain = (
        np.bincount(group, weights=w, minlength=GROUPS) for w in (sampler.probs, freq, unigram)
    )
    ranks = [np.flatnonzero(group == g) for g in range(GROUPS)]
    print(
        f"  the words by frequency, cut into {GROUPS} groups of about equal count^0.75 "
        f"mass; the share of {DRAWS:,} draws that fell in each:"
    )
    table(
        ["words (by rank)", "unigram", "count^0.75", "drawn"],
        [
            [
                f"{r.min() + 1:,}-{r.max() + 1:,}" if len(r) > 1 else f"{r[0] + 1}",
                f"{plain[g]:.2%}",
                f"{expected[g]:.2%}",
                f"{drawn[g]:.2%}",
            ]
            for g, r in enumerate(ranks)
            if len(r)
        ],
        align="lrrr",
    )
    worst = float(np.abs(drawn - expected).max())
    sigma = float(np.sqrt((expected * (1 - expected)).max() / DRAWS))
    print(
        f"  largest gap {worst:.4%} (one standard deviation of a share: {sigma:.4%}); "
        f"the plain unigram would give the rarest group {plain[-1]:.2%}, not "
        f"{expected[-1]:.2%}"
    )
    result.check(
        f"negatives follow count^0.75: every group's share of {DRAWS:,} draws is "
        f"within {SAMPLER_TOLERANCE:.1%} of its mass (largest gap {worst:.3%})",
        worst < SAMPLER_TOLERANCE,
    )
    return worst


def _train(
    config: Config, hp: dict, corpus: Corpus, result: Result
) -> tuple[SkipGram, Trained | None, float]:
    """Step 3: the skip-gram model, trained (or loaded with ``--weights``: no training
    record then); checks that the loss fell. Returns it, the record and the starting loss."""
    heading("3. Training")
    print(
        f"  {hp['dim']}-dimensional vectors, window 1..{hp['window']}, {hp['negatives']} "
        f"negatives per pair, batches of {hp['batch']} pairs, SGD on the summed loss, "
        f"lr {hp['lr']:g} falling linearly to {hp['lr'] * MIN_LR:g}, {hp['epochs']} epochs"
        + (f" or {hp['budget'] / 60:.0f} minutes" if hp["budget"] else "")
    )
    start_loss = (1 + hp["negatives"]) * np.log(2.0)
    loaded = SkipGram(len(corpus.vocab), hp["dim"])
    if load_weights(config, loaded, "the skip-gram vectors"):
        model, done = loaded, None  # --weights: the vectors of an earlier run
    else:
        model, done = train_skipgram(corpus, seed=config.seed, **hp)
        print(
            f"  {done.pairs:,} pairs in {done.seconds:.0f} s: {done.pairs_per_second:,.0f} "
            f"pairs per second"
        )
        result.check(
            f"the loss fell from (1+K) ln 2 = {start_loss:.3f} to "
            f"{done.epoch_losses[-1]:.3f} per pair in the last epoch",
            done.epoch_losses[-1] < 0.85 * start_loss,
        )
    return model, done, start_loss


def _show_neighbours(vectors: np.ndarray, vocab: Vocab, skip: list[int]) -> float:
    """Step 4: the nearest neighbours of the probe words, and per category how many words
    have a neighbour of their own kind; returns that share over all categories."""
    heading("4. Nearest neighbours (cosine)")
    probes = known(vocab, PROBES) or vocab.itos[5:10]
    for word in probes:
        near = ", ".join(f"{w} {s:.2f}" for w, s in neighbours(vectors, vocab, word, exclude=skip))
        print(f"  {word:>10}: {near}")
    hits = category_accuracy(vectors, vocab, CATEGORIES, skip)
    table(
        ["category", "words", "nearest neighbour in the category"],
        [[name, n, f"{h}/{n}"] for name, (h, n) in hits.items() if n],
    )
    total_hits = sum(h for h, _ in hits.values())
    total = sum(n for _, n in hits.values())
    share = total_hits / max(total, 1)
    print(
        f"  in all: {total_hits}/{total} = {share:.0%} (if neighbours were random words: "
        f"about {total / max(len(vocab), 1):.1%})"
    )
    return share


def _show_analogies(vectors: np.ndarray, vocab: Vocab, skip: list[int]) -> tuple[int, int, int]:
    """Step 5: the analogies by group, with examples that hold and fail; returns how many
    were answered first, within the top :data:`TOP_K`, and asked."""
    heading(f"5. Analogies a : b :: c : ?  (3CosAdd, top {TOP_K})")
    scores = score_analogies(vectors, vocab, ANALOGIES, TOP_K, skip)
    table(
        ["group", "questions", "top-1", f"top-{TOP_K}"],
        [
            [name, s.asked, f"{s.top1}/{s.asked}", f"{s.topk}/{s.asked}"]
            for name, s in scores.items()
            if s.asked
        ],
    )
    for s in scores.values():
        held = [q for q in s.questions if q[3] in q[4]]
        missed = [q for q in s.questions if q[3] not in q[4]]
        for label, qs in (("holds", held[:2]), ("fails", missed[:1])):
            for a, b, c, d, answers in qs:
                print(f"  {label}: {a} : {b} :: {c} : ?  -> {', '.join(answers)}   (expected {d})")
    asked = sum(s.asked for s in scores.values())
    in_top = sum(s.topk for s in scores.values())
    top1 = sum(s.top1 for s in scores.values())
    print(
        f"  in all: {top1}/{asked} first, {in_top}/{asked} = {in_top / max(asked, 1):.0%} "
        f"within the top {TOP_K} (a random guess: {TOP_K / max(len(vocab), 1):.2%})"
    )
    return top1, in_top, asked


def _save(
    config: Config,
    model: SkipGram,
    vocab: Vocab,
    vectors: np.ndarray,
    done: Trained | None,
    start_loss: float,
    result: Result,
) -> None:
    """Step 6: the PCA picture, the loss curve (when trained), the weights and vocabulary."""
    heading("6. The vectors in the plane (PCA)")
    save_projection(result, vectors, vocab, config.out / "word2vec_pca.png")
    if done is not None:
        save_curve(result, done, start_loss, config.out / "word2vec_loss.png")
    weights = config.out / "word2vec.safetensors"
    ax.save(model.state_dict(), weights)
    vocab.save(config.out / "word2vec_vocab.json")
    print(f"  weights: {weights}; vocabulary: {config.out / 'word2vec_vocab.json'}")


def _check_full_goals(share: float, analogy_share: float, asked: int, result: Result) -> None:
    """The full run's goals: the category words' neighbours and the analogies."""
    result.check(
        f"{share:.0%} of the category words have a nearest neighbour of their "
        f"own kind (>= {CATEGORY_CLAIM:.0%})",
        share >= CATEGORY_CLAIM,
    )
    result.check(
        f"{analogy_share:.0%} of the {asked} analogies are answered within the "
        f"top {TOP_K} (>= {ANALOGY_CLAIM:.0%})",
        analogy_share >= ANALOGY_CLAIM,
    )
