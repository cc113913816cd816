"""English to French translation with three encoder-decoders: a plain GRU seq2seq, the same
with Bahdanau attention, and a small Transformer.

The data are Tatoeba's short sentence pairs (``eng-fra/fra.head80000.txt`` in the data
directory, read by :func:`axon.data.text.eng_fra_pairs`; a missing file is cut from the
upstream archive, or the error says where to put it). Pairs with more than ``max_length``
tokens on a side are dropped; the vocabularies keep the tokens seen ``min_freq`` times in
the training split, the rest read ``<unk>``.

The models, trained alike (Adam, batches of pairs of similar length, cross-entropy over
the real target tokens only, ``ignore_index`` at padding; teacher forcing):

1. plain (Sutskever et al. 2014): a GRU reads the English back to front (the source-
   reversal trick puts the first English words next to the first French ones) and its
   last state starts the decoder GRU; the whole sentence passes through that one vector.
2. attention (Bahdanau et al. 2015): the same, and at every step the decoder looks back
   at all encoder outputs, a_tj = softmax_j(v^T tanh(W_q s_{t-1} + W_k h_j)).
3. transformer (Vaswani et al. 2017): :class:`axon.models.seq2seq.TransformerSeq2Seq`,
   self-attention in both halves and multi-head cross-attention from the decoder.

Each trains (:func:`axon.fit`, backed up every 200 updates: ``--resume`` continues an
interrupted run) until its wall-clock budget or its epochs are spent, whichever comes first
(5 and 6.3 minutes in the full run, about one pass over the 72,000 training pairs); the
plain model is then given exactly as many updates as the attention model made, so the
two see the same batches and differ only in attention. The learning rate warms up, then
follows a cosine down to 5% over the training's progress (the larger of the share of
steps and the share of the budget used).

Evaluation on the held-out test split: every distinct English sentence is translated once
and scored against all its French translations there (Tatoeba gives several: ``tu`` and
``vous``, ``il`` and ``elle``), with corpus BLEU (:func:`axon.train.corpus_bleu`,
sacreBLEU's, on our tokens). Decoding is greedy and beam search (:mod:`axon.models.
decoding`); BLEU is also split by source length, to see whether attention helps most on
the longer sentences, where the plain model's single vector has the most to hold.
Figures: the training curves, Bahdanau attention heat maps, a Transformer cross-attention
map; and a beam search printed step by step.

The full run takes about 20 minutes on two cores; ``--quick`` trains tiny models for a few
seconds on a small generated set of pairs (English-like to French-like, adjectives after
nouns, gender agreement), written under ``--out``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import axon as ax
from axon import nn, optim
from axon.data.text import Vocab, eng_fra_pairs, pad_ids
from axon.models.decoding import BeamTrace, beam_search, greedy_search
from axon.models.seq2seq import Seq2Seq, TransformerSeq2Seq, seq2seq
from axon.train import corpus_bleu
from axon.train.base import Callback

from .. import plot
from .registry import register
from .shared.base import Config, Result, ResumableBatches, backup, heading, table
from .shared.text_common import IGNORE

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # Vocab's default specials, in this order
MODELS = ("plain", "attention", "transformer")
GOAL = 30.0  # the Transformer's held-out BLEU on the short sentences, full run
PROBE = 200  # test sentences decoded before training, for the untrained models' BLEU

FULL = dict(
    max_length=10,
    min_freq=5,
    batch=64,
    short=5,  # sources of at most this many tokens are "short"
    long=7,  # sources of at least this many are "long"
    beam=4,
    length_penalty=1.0,
    eval_batch=250,
    log_every=100,
    backup_every=200,  # updates between backups (--resume): an epoch is ~1,100 updates
    epochs=30,
    rnn=dict(emb=128, hidden=256),
    # pre-norm, no dropout: about one epoch of training is far from overfitting, and a
    # high learning rate (5e-3 rather than 1e-3) mattered most for all three models
    transformer=dict(d_model=128, nhead=4, layers=2, ff=512, dropout=0.0, norm_first=True),
    train={  # budget: seconds of training (the plain model also stops at attention's steps)
        "plain": dict(lr=5e-3, warmup=50, budget=300, label_smoothing=0.0),
        "attention": dict(lr=5e-3, warmup=50, budget=300, label_smoothing=0.0),
        "transformer": dict(lr=5e-3, warmup=200, budget=380, label_smoothing=0.0),
    },
)
QUICK = dict(
    max_length=10,
    min_freq=1,
    batch=32,
    short=6,
    long=8,
    beam=4,
    length_penalty=1.0,
    eval_batch=100,
    log_every=10,
    backup_every="epoch",
    epochs=3,
    tiny_pairs=800,
    rnn=dict(emb=32, hidden=64),
    transformer=dict(d_model=32, nhead=2, layers=1, ff=64, dropout=0.0, norm_first=False),
    train={
        "plain": dict(lr=1e-2, warmup=5, budget=None, label_smoothing=0.0),
        "attention": dict(lr=1e-2, warmup=5, budget=None, label_smoothing=0.0),
        "transformer": dict(lr=5e-3, warmup=10, budget=None, label_smoothing=0.0),
    },
)


# ----------------------------------------------------------------------------- a tiny corpus
_NOUNS = {  # English: (French, feminine)
    "cat": ("chat", False),
    "dog": ("chien", False),
    "bird": ("oiseau", False),
    "house": ("maison", True),
    "car": ("voiture", True),
    "apple": ("pomme", True),
}
_ADJECTIVES = {
    "red": ("rouge", "rouge"),
    "big": ("grand", "grande"),
    "small": ("petit", "petite"),
    "black": ("noir", "noire"),
}
_DETERMINERS = {"the": ("le", "la"), "a": ("un", "une")}
_VERBS = {"sees": "voit", "likes": "aime", "wants": "veut", "takes": "prend"}


def tiny_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` generated sentence pairs like ``"The red cat sees a dog."`` -> ``"Le chat rouge
    voit un chien."``: a word-for-word dictionary, but the adjective follows the noun in
    French and the determiner and adjective agree with the noun's gender, so a model must
    reorder and look ahead. Sources have 6 to 8 tokens (the final "." included)."""
    rng = np.random.default_rng(seed)

    def phrase() -> tuple[list[str], list[str]]:
        det, noun = rng.choice(list(_DETERMINERS)), rng.choice(list(_NOUNS))
        fr_noun, fem = _NOUNS[noun]
        en, fr = [det], [_DETERMINERS[det][fem]]
        if rng.random() < 0.5:
            adj = rng.choice(list(_ADJECTIVES))
            en.append(adj)
            return en + [noun], fr + [fr_noun, _ADJECTIVES[adj][fem]]
        return en + [noun], fr + [fr_noun]

    pairs = []
    for _ in range(n):
        (s_en, s_fr), (o_en, o_fr) = phrase(), phrase()
        verb = rng.choice(list(_VERBS))
        en = " ".join([*s_en, verb, *o_en]) + "."
        fr = " ".join([*s_fr, _VERBS[verb], *o_fr]) + "."
        pairs.append((en[0].upper() + en[1:], fr[0].upper() + fr[1:]))
    return pairs


def write_tiny_corpus(root: Path, n: int, seed: int = 0) -> Path:
    """Write :func:`tiny_pairs` as ``root/eng-fra/fra.head80000.txt`` (``english<TAB>
    french`` lines, the real file's format) and return ``root``."""
    path = Path(root) / "eng-fra" / "fra.head80000.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{e}\t{f}\n" for e, f in tiny_pairs(n, seed)), encoding="utf-8")
    return Path(root)


# ----------------------------------------------------------------------------- data
@dataclass
class Corpus:
    """The numbered training pairs and the test set grouped by source.

    Attributes:
        src_vocab, tgt_vocab: English and French vocabularies.
        train: (source ids, target ids) pairs, without ``<bos>`` / ``<eos>``.
        test_sources: each distinct English sentence of the test split, as tokens.
        test_references: for each, all its French translations in the split, as tokens.
    """

    src_vocab: Vocab
    tgt_vocab: Vocab
    train: list[tuple[np.ndarray, np.ndarray]]
    test_sources: list[list[str]]
    test_references: list[list[list[str]]]

    def encode_sources(self, sources: Sequence[Sequence[str]]) -> list[np.ndarray]:
        return [self.src_vocab.encode(s) for s in sources]


def load_corpus(root, hp: dict, verify: bool = True) -> Corpus:
    """Read the pairs (at most ``max_length`` tokens a side), build the vocabularies on the
    training split (``min_freq``), number the training pairs and group the test pairs by
    their English sentence."""
    splits = eng_fra_pairs(root, None, max_length=hp["max_length"], verify=verify, download=verify)
    train = splits["train"]
    if not train or not splits["test"]:
        raise ValueError(
            f"the eng-fra pairs under {root} leave an empty training or test "
            f"split (train {len(train)}, test {len(splits['test'])})"
        )
    src_vocab = Vocab.from_tokens((e for e, _ in train), min_freq=hp["min_freq"])
    tgt_vocab = Vocab.from_tokens((f for _, f in train), min_freq=hp["min_freq"])
    numbered = [(src_vocab.encode(e), tgt_vocab.encode(f)) for e, f in train]
    groups: dict[tuple[str, ...], list[list[str]]] = defaultdict(list)
    for e, f in splits["test"]:
        groups[tuple(e)].append(f)
    sources = [list(e) for e in groups]
    return Corpus(src_vocab, tgt_vocab, numbered, sources, [groups[tuple(s)] for s in sources])


def pair_batches(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]], batch_size: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, ...]]:
    """One epoch of batches of pairs of similar length: the pairs shuffled, cut into chunks
    of 50 batches, each chunk sorted by (source, target) length and cut into batches, the
    batches shuffled. Yields ``(src (B, S), src_lengths (B,), tgt_in (B, T), tgt_out (B,
    T))``: ``tgt_in`` = ``<bos> y``, ``tgt_out`` = ``y <eos>`` with :data:`IGNORE` at the
    padding, so the loss skips it."""
    order = rng.permutation(len(pairs))
    batches = []
    for start in range(0, len(order), 50 * batch_size):
        chunk = order[start : start + 50 * batch_size]
        keys = [(len(pairs[i][0]), len(pairs[i][1])) for i in chunk]
        chunk = chunk[sorted(range(len(chunk)), key=keys.__getitem__)]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    for b in rng.permutation(len(batches)):
        rows = [pairs[i] for i in batches[b]]
        src, lengths = pad_ids([s for s, _ in rows], PAD)
        tgt_in, _ = pad_ids([np.r_[BOS, t] for _, t in rows], PAD)
        tgt_out, _ = pad_ids([np.r_[t, EOS] for _, t in rows], IGNORE)
        yield src, lengths, tgt_in, tgt_out


# ----------------------------------------------------------------------------- models
def build_models(corpus: Corpus, hp: dict, seed: int) -> dict[str, nn.Module]:
    """The three models, each started from ``seed``."""
    V_src, V_tgt = len(corpus.src_vocab), len(corpus.tgt_vocab)
    r, t = hp["rnn"], hp["transformer"]
    models: dict[str, nn.Module] = {}
    for name in ("plain", "attention"):
        ax.manual_seed(seed)
        models[name] = seq2seq(
            V_src,
            V_tgt,
            BOS,
            EOS,
            embedding_dim=r["emb"],
            hidden_size=r["hidden"],
            attention=name == "attention",
            pad_index=PAD,
            reverse_source=True,
        )
    ax.manual_seed(seed)
    models["transformer"] = TransformerSeq2Seq(
        V_src,
        V_tgt,
        BOS,
        EOS,
        d_model=t["d_model"],
        nhead=t["nhead"],
        num_encoder_layers=t["layers"],
        num_decoder_layers=t["layers"],
        dim_feedforward=t["ff"],
        dropout=t["dropout"],
        max_len=4 * hp["max_length"] + 8,
        pad_index=PAD,
        norm_first=t["norm_first"],
    )
    return models


@dataclass
class Training:
    """What one model's training did: the mean loss of every ``log_every`` updates."""

    losses: list[float] = field(default_factory=list)
    steps: int = 0
    epochs: float = 0.0
    seconds: float = 0.0
    stopped_by_budget: bool = False


def learning_rate(base: float, step: int, warmup: int, progress: float) -> float:
    """Linear warm-up over ``warmup`` steps, then a cosine from ``base`` down to 5% of it
    as ``progress`` goes from 0 to 1."""
    warm = min(1.0, (step + 1) / max(warmup, 1))
    cosine = 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return base * warm * cosine


class PairBatches(ResumableBatches):
    """The training pairs for :func:`axon.fit`: every epoch the batches of
    :func:`pair_batches` (shuffled by a generator of its own, seeded), each
    ``(src, src_lengths, tgt_in, tgt_out)``: the model reads the first three, the loss
    scores the last. Its position is in ``state_dict()`` (for ``--resume``)."""

    def __init__(self, pairs, batch_size: int, seed: int) -> None:
        self.pairs, self.batch_size = pairs, batch_size
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self.pairs) // self.batch_size)

    def _epoch(self):
        return pair_batches(self.pairs, self.batch_size, self.rng)


class TokenLoss:
    """Teacher-forced cross-entropy of logits (B, T, V) against ``tgt_out`` (B, T),
    padding (:data:`IGNORE`) skipped, label smoothing if asked; keeps the last batch's
    loss for :class:`TranslationSchedule`'s log."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.label_smoothing = label_smoothing
        self.last = None

    def __repr__(self) -> str:
        return f"TokenLoss(label_smoothing={self.label_smoothing})"

    def __call__(self, logits, target):
        self.last = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),  # (B, T, V) -> (B*T, V)
            target.reshape(-1),
            ignore_index=IGNORE,
            label_smoothing=self.label_smoothing,
        )
        return self.last


class TranslationSchedule(Callback):
    """The learning rate of every update (:func:`learning_rate`: warm-up, then a cosine
    over the training's progress, the larger of the share of ``total`` steps and of the
    ``budget`` seconds used), the mean loss of every ``log_every`` updates (printed), and
    the end: after ``total`` updates or once the budget is spent. Its state (steps, time,
    losses) goes into the backups, so a resumed run continues the same schedule."""

    def __init__(self, name: str, opts: dict, total: int, log_every: int, loss: TokenLoss) -> None:
        super().__init__()
        self.name, self.base, self.warmup = name, opts["lr"], opts["warmup"]
        self.budget, self.total, self.log_every, self.loss = (
            opts["budget"],
            total,
            log_every,
            loss,
        )
        self.log = Training()
        self.window: list[float] = []
        self.before = 0.0  # seconds spent before a resume
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def on_train_begin(self, logs=None) -> None:
        self.start = time.perf_counter() - self.before

    def on_batch_begin(self, batch: int, logs=None) -> None:
        progress = max(
            self.log.steps / self.total, self.elapsed() / self.budget if self.budget else 0.0
        )
        for group in self.trainer.optimizer.param_groups:
            group["lr"] = learning_rate(self.base, self.log.steps, self.warmup, progress)

    def on_batch_end(self, batch: int, logs=None) -> None:
        self.log.steps += 1
        self.window.append(self.loss.last.item())
        if len(self.window) == self.log_every:
            self.log.losses.append(float(np.mean(self.window)))
            self.window = []
            print(
                f"  {self.name:11s} step {self.log.steps:5d}  loss {self.log.losses[-1]:.3f}  "
                f"({self.elapsed():.0f} s)",
                flush=True,
            )
        if self.budget is not None and self.elapsed() > self.budget:
            self.log.stopped_by_budget = True
            self.model.stop_training = True
        if self.log.steps >= self.total:
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.window:
            self.log.losses.append(float(np.mean(self.window)))
        self.log.seconds = self.elapsed()

    def state_dict(self) -> dict:
        return {
            "steps": self.log.steps,
            "losses": list(self.log.losses),
            "window": list(self.window),
            "elapsed": self.elapsed(),
            "stopped_by_budget": self.log.stopped_by_budget,
        }

    def load_state_dict(self, state: dict) -> None:
        self.log.steps = int(state["steps"])
        self.log.losses = [float(x) for x in state["losses"]]
        self.window = [float(x) for x in state["window"]]
        self.log.stopped_by_budget = bool(state["stopped_by_budget"])
        self.before = float(state["elapsed"])
        self.start = time.perf_counter() - self.before


def train_model(
    model: nn.Module,
    corpus: Corpus,
    hp: dict,
    opts: dict,
    epochs: int,
    seed: int,
    name: str,
    max_steps: int | None = None,
    config: Config | None = None,
) -> Training:
    """Adam on teacher-forced cross-entropy (padding ignored; label smoothing if asked),
    gradients clipped at norm 1, for ``epochs`` epochs, or ``max_steps`` updates, or
    ``opts["budget"]`` seconds, whichever ends first, with :func:`axon.fit`. With
    ``config`` the training is backed up as ``translate-NAME`` (``--resume``)."""
    batches = PairBatches(corpus.train, hp["batch"], seed)
    per_epoch = len(batches)
    total = epochs * per_epoch if max_steps is None else min(epochs * per_epoch, max_steps)
    loss = TokenLoss(opts["label_smoothing"])
    schedule = TranslationSchedule(name, opts, total, hp["log_every"], loss)
    saves = backup(config, f"translate-{name}", hp["backup_every"])
    ax.fit(
        model,
        batches,
        loss=loss,
        optimizer=optim.Adam(model.parameters(), lr=opts["lr"]),
        epochs=epochs,
        clip_grad_norm=1.0,
        callbacks=[*saves, schedule],
        verbose=0,
    )
    log = schedule.log
    log.epochs = log.steps / per_epoch
    model.eval()
    return log


# ----------------------------------------------------------------------------- decoding
def _batched(sources: Sequence[np.ndarray], batch: int):
    """Source indices sorted by length, in batches, with the padded batch and lengths."""
    order = np.argsort([len(s) for s in sources], kind="stable")
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        src, lengths = pad_ids([sources[j] for j in idx], PAD)
        yield idx, src, lengths


def translate(
    model: nn.Module,
    sources: Sequence[np.ndarray],
    max_length: int,
    beam_width: int = 1,
    length_penalty: float = 1.0,
    batch: int = 250,
) -> list[list[int]]:
    """The output ids of each source (without ``<bos>`` / ``<eos>``): greedy search for
    ``beam_width=1``, else beam search; in batches of sources of similar length."""
    out: list[list[int]] = [[] for _ in sources]
    for idx, src, lengths in _batched(sources, batch):
        ids = model.generate(
            src,
            lengths,
            max_length=max_length,
            beam_width=beam_width,
            length_penalty=length_penalty,
        )
        for j, row in zip(idx, ids, strict=True):
            out[j] = row
    return out


def beam_one_equals_greedy(
    model: nn.Module, sources: Sequence[np.ndarray], max_length: int
) -> bool:
    """Whether beam search of width 1 without length penalty picks the greedy tokens."""
    src, lengths = pad_ids(sources, PAD)
    with ax.no_grad():
        state = model.init_state(src, lengths)
    greedy = greedy_search(model.step, BOS, EOS, max_length, state=state)
    beams = beam_search(
        model.step, BOS, EOS, max_length, beam_width=1, length_penalty=0.0, state=state
    )
    return all(g.tokens == b[0].tokens for g, b in zip(greedy, beams, strict=True))


def bleu(
    hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]]
) -> float:
    """Corpus BLEU (sacreBLEU's) of token lists against several references each, on the
    tokens as they are (``tokenize="none"``)."""
    if not hypotheses:
        return float("nan")
    n_refs = max(len(r) for r in references)
    streams = [[" ".join(r[k]) if k < len(r) else None for r in references] for k in range(n_refs)]
    return corpus_bleu([" ".join(h) for h in hypotheses], streams, tokenize="none").score


def _words(vocab: Vocab, ids: Sequence[int]) -> list[str]:
    return vocab.decode(ids) if len(ids) else []


def showcase(corpus: Corpus, rows: np.ndarray, n: int = 3) -> np.ndarray:
    """Up to ``n`` test sentences to draw and trace: the first of ``rows`` (a bool mask)
    whose tokens are all in the vocabulary and hold no quotes; then any of ``rows``; then
    the longest sentences."""
    clean = [
        int(i)
        for i in np.flatnonzero(rows)
        if all(w in corpus.src_vocab and '"' not in w for w in corpus.test_sources[i])
    ]
    lens = np.array([len(s) for s in corpus.test_sources])
    for i in [*np.flatnonzero(rows), *np.argsort(-lens, kind="stable")]:
        if len(clean) >= n:
            break
        if int(i) not in clean:
            clean.append(int(i))
    return np.array(clean[:n], dtype=np.int64)


# ----------------------------------------------------------------------------- figures
def _heat(ax_, weights: np.ndarray, src: list[str], out: list[str], title: str):
    """One attention map: a row per output word, a column per source word, each row's
    weights summing to 1 (the shared colour bar is drawn by the caller)."""
    image = plot.heatmap(ax_, weights, None, vmin=0.0, vmax=1.0, xticklabels=src, yticklabels=out)
    ax_.set_xlabel("English (source)")
    ax_.set_ylabel("French (output)")
    ax_.set_title(title)
    return image


# ----------------------------------------------------------------------------- the experiment
@dataclass
class AttentionMaps:
    """The attention drawn for the showcase test sentences: Bahdanau's over their greedy
    outputs, and the Transformer's cross-attention (per decoder layer) over the first's."""

    rows: np.ndarray  # the showcase sentences (indices into the test sources)
    src_len: np.ndarray
    out_ids: np.ndarray  # the attention model's greedy outputs
    weights: np.ndarray  # its attention, (sentence, output, source)
    tf_ids: list[int]  # the Transformer's greedy output for rows[0]
    tf_maps: list[np.ndarray]


@register(
    "translate",
    "English -> French: GRU seq2seq, + Bahdanau attention, a small Transformer; "
    "held-out BLEU, greedy vs beam, by length",
)
def run(config: Config) -> Result:
    result = Result("translate")
    hp = QUICK if config.quick else FULL
    epochs = config.epochs or hp["epochs"]
    out_dir = Path(config.out)
    max_out = hp["max_length"] + 2

    corpus = _show_data(config, hp, out_dir)
    models = _show_models(corpus, hp, config.seed)
    for model in models.values():
        model.to(config.device)  # ids, lengths and masks follow the model (models.seq2seq)
    eval_sources = corpus.encode_sources(corpus.test_sources)
    untrained = _untrained_bleu(models, corpus, eval_sources, hp, max_out)
    trainings = _train_all(models, corpus, hp, epochs, config, result)

    heading("4. Held-out BLEU")
    hyps = _decode_test(models, corpus, eval_sources, hp, max_out)
    groups = _length_groups(corpus, hp)
    scores, copy = _bleu_table(models, corpus, hyps, groups, untrained, hp, result)
    _bleu_by_length(models, corpus, hyps)
    _check_translates(models, corpus, hyps, scores, copy, untrained, result)

    _show_examples(models, corpus, hyps, groups, config.seed)
    _check_decoding(models, eval_sources, max_out, result)
    maps = _attention_maps(models, corpus, eval_sources, groups, hp, max_out, result)
    _show_beam_trace(models["transformer"], corpus, eval_sources, maps.rows[0], hp, max_out)
    if not config.quick:
        _check_full_goals(scores, hp, result)

    result.figures.append(_loss_figure(trainings, hp, out_dir))
    result.figures += _attention_figures(corpus, maps, out_dir)
    return result


def _show_data(config: Config, hp: dict, out_dir: Path) -> Corpus:
    """Step 1: the corpus (Tatoeba's pairs, or ``--quick``'s generated ones), described."""
    heading("1. The data")
    if config.quick:
        root = write_tiny_corpus(out_dir / "tiny-data", hp["tiny_pairs"], seed=config.seed)
        print(f"  --quick: {hp['tiny_pairs']} generated pairs in {root}")
        corpus = load_corpus(root, hp, verify=False)
    else:
        corpus = load_corpus(config.data_dir, hp)
    refs_per = np.mean([len(r) for r in corpus.test_references])
    lens = np.array([len(s) for s in corpus.test_sources])
    print(
        f"  pairs of at most {hp['max_length']} tokens a side: {len(corpus.train):,} for "
        f"training; {len(corpus.test_sources):,} distinct test sentences with "
        f"{refs_per:.2f} French references each"
    )
    print(
        f"  vocabularies (tokens seen >= {hp['min_freq']} times in training): English "
        f"{len(corpus.src_vocab):,}, French {len(corpus.tgt_vocab):,}, specials "
        f"{corpus.tgt_vocab.itos[:4]}"
    )
    print(
        f"  test sources by length: short (<= {hp['short']} tokens) "
        f"{int((lens <= hp['short']).sum())}, long (>= {hp['long']}) "
        f"{int((lens >= hp['long']).sum())}"
    )
    e, f = corpus.test_sources[0], corpus.test_references[0]
    print(f"  e.g. {' '.join(e)!r} -> {[' '.join(x) for x in f]}")
    return corpus


def _show_models(corpus: Corpus, hp: dict, seed: int) -> dict[str, nn.Module]:
    """Step 2: the three models, built and tabled with their parameter counts."""
    heading("2. The models")
    models = build_models(corpus, hp, seed)
    r, t = hp["rnn"], hp["transformer"]
    table(
        ["model", "what", "parameters"],
        [
            [
                "plain",
                f"GRU({r['emb']}, {r['hidden']}) encoder on the reversed source, "
                f"GRU decoder from its last state",
                models["plain"].num_parameters(),
            ],
            [
                "attention",
                "the same + Bahdanau attention over the encoder outputs",
                models["attention"].num_parameters(),
            ],
            [
                "transformer",
                f"d_model {t['d_model']}, {t['nhead']} heads, {t['layers']}+"
                f"{t['layers']} layers, feed-forward {t['ff']}"
                + (", pre-norm" if t["norm_first"] else ""),
                models["transformer"].num_parameters(),
            ],
        ],
        align="llr",
    )
    return models


def _untrained_bleu(
    models: dict[str, nn.Module],
    corpus: Corpus,
    eval_sources: list[np.ndarray],
    hp: dict,
    max_out: int,
) -> dict[str, float]:
    """Each model's greedy BLEU on the first :data:`PROBE` test sentences, before training."""
    untrained = {}
    for name, model in models.items():
        model.eval()
        ids = translate(model, eval_sources[:PROBE], max_out, batch=hp["eval_batch"])
        untrained[name] = bleu(
            [_words(corpus.tgt_vocab, h) for h in ids], corpus.test_references[:PROBE]
        )
    return untrained


def _train_all(
    models: dict[str, nn.Module],
    corpus: Corpus,
    hp: dict,
    epochs: int,
    config: Config,
    result: Result,
) -> dict[str, Training]:
    """Step 3: the attention model, then the plain one for as many updates, then the
    Transformer; a check that each one's training loss falls."""
    heading("3. Training")
    print(
        f"  Adam, batches of {hp['batch']} pairs of similar length, gradients clipped at "
        f"1; at most {epochs} epochs or the time budget."
    )
    print(
        "  The attention model trains first; the plain one then gets the same number of "
        "updates\n  (it is faster per update), so the two differ only in attention."
    )
    trainings: dict[str, Training] = {}
    for name in ("attention", "plain", "transformer"):
        cap = trainings["attention"].steps if name == "plain" else None
        opts = hp["train"][name]
        trainings[name] = train_model(
            models[name],
            corpus,
            hp,
            opts,
            epochs,
            config.seed,
            name,
            max_steps=cap,
            config=config,
        )
        tr = trainings[name]
        print(
            f"  {name}: {tr.steps} steps ({tr.epochs:.2f} epochs) in {tr.seconds:.0f} s"
            + (" (time budget)" if tr.stopped_by_budget else "")
        )
        result.metrics[f"{name}_train_seconds"] = tr.seconds
        result.metrics[f"{name}_steps"] = tr.steps
        result.metrics[f"{name}_first_loss"] = tr.losses[0]
        result.metrics[f"{name}_final_loss"] = tr.losses[-1]
        result.check(
            f"{name}: the training loss falls ({tr.losses[0]:.2f} -> {tr.losses[-1]:.2f})",
            tr.losses[-1] < tr.losses[0] - 0.1,
        )
    return trainings


def _decode_test(
    models: dict[str, nn.Module],
    corpus: Corpus,
    eval_sources: list[np.ndarray],
    hp: dict,
    max_out: int,
) -> dict[tuple[str, str], list[list[str]]]:
    """Every model's greedy and beam translations of the test sources, as French tokens,
    keyed ``(model, "greedy" | "beam")``."""
    start = time.perf_counter()
    hyps: dict[tuple[str, str], list[list[str]]] = {}
    for name, model in models.items():
        for how, width in (("greedy", 1), ("beam", hp["beam"])):
            ids = translate(
                model, eval_sources, max_out, width, hp["length_penalty"], hp["eval_batch"]
            )
            hyps[name, how] = [_words(corpus.tgt_vocab, h) for h in ids]
    print(f"  ({time.perf_counter() - start:.0f} s to decode)")
    return hyps


def _length_groups(corpus: Corpus, hp: dict) -> dict[str, np.ndarray]:
    """The test sources as masks: all of them, the short ones and the long ones."""
    lens = np.array([len(s) for s in corpus.test_sources])
    return {
        "all": np.ones(len(lens), bool),
        "short": lens <= hp["short"],
        "long": lens >= hp["long"],
    }


def _bleu_table(
    models: dict[str, nn.Module],
    corpus: Corpus,
    hyps: dict[tuple[str, str], list[list[str]]],
    groups: dict[str, np.ndarray],
    untrained: dict[str, float],
    hp: dict,
    result: Result,
) -> tuple[dict[tuple[str, str, str], float], float]:
    """Step 4: held-out BLEU of every model, greedy and beam, on all, short and long test
    sentences, tabled beside copying the source; returns the scores and copying's BLEU."""
    refs = corpus.test_references
    scores = {}
    for (name, how), h in hyps.items():
        for g, rows in groups.items():
            sel = np.flatnonzero(rows)
            scores[name, how, g] = bleu([h[i] for i in sel], [refs[i] for i in sel])
            result.metrics[f"{name}_{how}_bleu_{g}"] = scores[name, how, g]
    copy = bleu(corpus.test_sources, refs)
    result.metrics["copy_bleu"] = copy
    print(f"  corpus BLEU, multi-reference; copying the English gives {copy:.1f}.")
    table(
        [
            "model",
            "untrained",
            "greedy",
            f"beam {hp['beam']}",
            f"short greedy (<= {hp['short']})",
            f"long greedy (>= {hp['long']})",
            "short beam",
            "long beam",
        ],
        [
            [
                name,
                f"{untrained[name]:.1f}",
                f"{scores[name, 'greedy', 'all']:.1f}",
                f"{scores[name, 'beam', 'all']:.1f}",
                f"{scores[name, 'greedy', 'short']:.1f}",
                f"{scores[name, 'greedy', 'long']:.1f}",
                f"{scores[name, 'beam', 'short']:.1f}",
                f"{scores[name, 'beam', 'long']:.1f}",
            ]
            for name in models
        ],
    )
    return scores, copy


def _bleu_by_length(
    models: dict[str, nn.Module], corpus: Corpus, hyps: dict[tuple[str, str], list[list[str]]]
) -> None:
    """Greedy BLEU per source length, for the lengths with at least 10 test sentences."""
    refs = corpus.test_references
    lens = np.array([len(s) for s in corpus.test_sources])
    by_len = sorted(set(lens.tolist()))
    print("\n  greedy BLEU by source length (tokens, punctuation included):")
    rows = []
    for n in by_len:
        sel = np.flatnonzero(lens == n)
        if len(sel) < 10:
            continue
        sub_refs = [refs[i] for i in sel]
        rows.append(
            [n, len(sel)]
            + [f"{bleu([hyps[m, 'greedy'][i] for i in sel], sub_refs):.1f}" for m in models]
        )
    table(["length", "sentences", *models], rows)


def _check_translates(
    models: dict[str, nn.Module],
    corpus: Corpus,
    hyps: dict[tuple[str, str], list[list[str]]],
    scores: dict[tuple[str, str, str], float],
    copy: float,
    untrained: dict[str, float],
    result: Result,
) -> None:
    """A check per model that it beats copying the source and its untrained self."""
    refs = corpus.test_references
    for name in models:
        greedy = scores[name, "greedy", "all"]
        probe = bleu(hyps[name, "greedy"][:PROBE], refs[:PROBE])
        result.check(
            f"{name} translates: greedy BLEU {greedy:.1f} > {copy:.1f} for copying the "
            f"source; on the first {PROBE} test sentences {probe:.1f} > {untrained[name]:.1f} "
            "untrained",
            greedy > copy and probe > untrained[name],
        )


def _show_examples(
    models: dict[str, nn.Module],
    corpus: Corpus,
    hyps: dict[tuple[str, str], list[list[str]]],
    groups: dict[str, np.ndarray],
    seed: int,
) -> None:
    """Step 5: two short and three long test sentences (drawn from ``seed``) with their
    reference and every model's greedy and beam translation."""
    heading("5. Examples (greedy | beam)")
    refs = corpus.test_references
    rng = np.random.default_rng(seed)
    picks = [
        int(rng.choice(np.flatnonzero(groups[g])))
        for g in ("short", "short", "long", "long", "long")
        if groups[g].any()
    ]
    for i in picks:
        print(f"  en          {' '.join(corpus.test_sources[i])}")
        print(
            f"  reference   {' '.join(refs[i][0])}"
            + (f"   (+{len(refs[i]) - 1} more)" if len(refs[i]) > 1 else "")
        )
        for name in models:
            print(
                f"  {name:11s} {' '.join(hyps[name, 'greedy'][i])}  |  "
                f"{' '.join(hyps[name, 'beam'][i])}"
            )
        print()


def _check_decoding(
    models: dict[str, nn.Module], eval_sources: list[np.ndarray], max_out: int, result: Result
) -> None:
    """Step 6, first half: a check per model that beam search of width 1 without length
    penalty picks the greedy tokens on the first 100 test sentences."""
    heading("6. Decoding checks")
    sample = eval_sources[:100]
    for name, model in models.items():
        same = beam_one_equals_greedy(model, sample, max_out)
        print(
            f"  {name}: beam search of width 1 without length penalty gives the greedy "
            f"output on {len(sample)} test sentences: {'yes' if same else 'NO'}"
        )
        result.check(
            f"{name}: beam search of width 1 (no length penalty) picks the greedy tokens", same
        )


def _attention_maps(
    models: dict[str, nn.Module],
    corpus: Corpus,
    eval_sources: list[np.ndarray],
    groups: dict[str, np.ndarray],
    hp: dict,
    max_out: int,
    result: Result,
) -> AttentionMaps:
    """Step 6, second half: the attention of both attending models on the showcase (long)
    sentences, and a check that each row is a distribution over the real source positions."""
    attn: Seq2Seq = models["attention"]  # type: ignore[assignment]
    long_rows = showcase(corpus, groups["long"])
    src, src_len = pad_ids([eval_sources[i] for i in long_rows], PAD)
    out_ids, weights = attn.greedy_decode(src, src_len, max_length=max_out)
    real = np.arange(weights.shape[2])[None, None, :] < src_len[:, None, None]
    row_sums = weights.sum(axis=2)
    tf: TransformerSeq2Seq = models["transformer"]  # type: ignore[assignment]
    tf_ids = translate(tf, [eval_sources[long_rows[0]]], max_out)[0]
    tf_in = np.array([[BOS, *tf_ids]])
    tf_maps = [
        tf.cross_attention(src[:1, : src_len[0]], src_len[:1], tf_in, layer=k)
        for k in range(hp["transformer"]["layers"])
    ]
    sums_ok = (
        np.allclose(row_sums, 1.0, atol=1e-4)
        and not weights[~np.broadcast_to(real, weights.shape)].any()
        and all(np.allclose(m.sum(-1), 1.0, atol=1e-4) for m in tf_maps)
    )
    worst = max(np.abs(row_sums - 1).max(), *(np.abs(m.sum(-1) - 1).max() for m in tf_maps))
    print(
        f"  attention rows (Bahdanau, {len(long_rows)} sentences; Transformer, 1): largest "
        f"|sum - 1| = {worst:.1e}, largest weight on padding = "
        f"{weights[~np.broadcast_to(real, weights.shape)].max(initial=0.0):.1e}"
    )
    result.check(
        "attention weights are distributions over the real source positions "
        "(rows sum to 1, padding gets 0), Bahdanau's and the Transformer's",
        sums_ok,
    )
    return AttentionMaps(long_rows, src_len, out_ids, weights, tf_ids, tf_maps)


def _show_beam_trace(
    tf: nn.Module,
    corpus: Corpus,
    eval_sources: list[np.ndarray],
    row: int,
    hp: dict,
    max_out: int,
) -> None:
    """Step 7: the Transformer's beam search on test sentence ``row``, printed step by step."""
    heading("7. A beam search, step by step (transformer)")
    trace = BeamTrace()
    one = eval_sources[row]
    with ax.no_grad():
        state = tf.init_state(one[None, :], np.array([len(one)]))
    beam_search(
        tf.step,
        BOS,
        EOS,
        max_out,
        beam_width=hp["beam"],
        length_penalty=hp["length_penalty"],
        state=state,
        trace=trace,
    )
    print(f"  source: {' '.join(corpus.test_sources[row])}")
    print(
        "  log p: the beam's cumulative log-probability; score: log p / length^"
        f"{hp['length_penalty']:g} of a finished hypothesis\n"
    )
    print("  " + trace.table(itos=corpus.tgt_vocab).replace("\n", "\n  "))


def _check_full_goals(scores: dict[tuple[str, str, str], float], hp: dict, result: Result) -> None:
    """The full run's goals: attention beats the plain model on the long sentences, and the
    Transformer reaches :data:`GOAL` BLEU on the short ones."""
    p, a = scores["plain", "greedy", "long"], scores["attention", "greedy", "long"]
    pb, ab = scores["plain", "beam", "long"], scores["attention", "beam", "long"]
    result.check(
        f"attention beats the plain seq2seq on the long sentences (>= {hp['long']} "
        f"tokens): BLEU {a:.1f} vs {p:.1f} greedy, {ab:.1f} vs {pb:.1f} beam",
        a > p and ab > pb,
    )
    best = max(scores["transformer", "greedy", "short"], scores["transformer", "beam", "short"])
    result.check(
        f"the Transformer reaches held-out BLEU >= {GOAL:g} on the short "
        f"sentences (<= {hp['short']} tokens): {best:.1f}",
        best >= GOAL,
    )


@plot.style()
def _loss_figure(trainings: dict[str, Training], hp: dict, out_dir: Path) -> Path:
    """The training curves of the three models."""
    fig, (loss_ax,) = plot.figure(size=(6, 4), title="Training loss (teacher forcing)")
    for name in MODELS:
        tr = trainings[name]
        x = np.minimum(np.arange(1, len(tr.losses) + 1) * hp["log_every"], tr.steps)
        loss_ax.plot(x, tr.losses, label=name)
    loss_ax.set_xlabel("update")
    loss_ax.set_ylabel("cross-entropy (nats/token)")
    loss_ax.legend()
    loss_ax.grid(alpha=0.3)
    return plot.save(fig, out_dir / "translate_loss.png")


@plot.style()
def _attention_figures(corpus: Corpus, maps: AttentionMaps, out_dir: Path) -> list[Path]:
    """Heat maps of Bahdanau attention on the showcase sentences, and of the Transformer's
    cross-attention (one panel per decoder layer) on the first."""
    fig, axes = plot.figure(
        ncols=len(maps.rows), size=(4.2, 4), title="Bahdanau attention (greedy outputs)"
    )
    for k, i in enumerate(maps.rows):
        n_out = int((maps.out_ids[k] != PAD).sum())
        words = _words(corpus.tgt_vocab, maps.out_ids[k, :n_out].tolist())
        image = _heat(
            axes[k],
            maps.weights[k, :n_out, : maps.src_len[k]],
            corpus.test_sources[i],
            words,
            f"sentence {k + 1}",
        )
    plot.colorbar(image, "attention weight", ax=axes)
    bahdanau = plot.save(fig, out_dir / "translate_attention.png")

    fig, axes = plot.figure(
        ncols=len(maps.tf_maps),
        size=(4.2, 4),
        title="Transformer cross-attention (mean over heads)",
    )
    words = [*_words(corpus.tgt_vocab, maps.tf_ids), "<eos>"]
    for k, m in enumerate(maps.tf_maps):
        image = _heat(
            axes[k],
            m[0, : len(words)],
            corpus.test_sources[maps.rows[0]],
            words,
            f"decoder layer {k + 1}",
        )
    plot.colorbar(image, "attention weight", ax=axes)
    return [bahdanau, plot.save(fig, out_dir / "translate_transformer_attention.png")]
