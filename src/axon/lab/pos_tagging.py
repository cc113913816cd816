"""Many-to-many, equal length: a bidirectional LSTM tags each word of a sentence with its
part of speech (Universal Dependencies English EWT, the 17 UPOS tags).

A word's tag depends on both sides (``can`` is a verb in "we can go", a noun in "a tin
can"), so the tagger reads the sentence in both directions and classifies each position
from the two states there:

    x_t = [E_word[w_t]; E_suffix[last 3 letters of w_t]; E_shape[capitalisation of w_t]]
    h_t = [LSTM_fwd(x_1..x_t); LSTM_bwd(x_n..x_t)],   p(tag_t) = softmax(W h_t + b)

The suffix and shape embeddings give words never seen in training (a fifth of the rarest
forms) something to go on ("-ing", "-ly", a capital). Sentences are padded per batch and
packed for the LSTM; the padded positions get the target -100, which the cross-entropy
ignores (``ignore_index``) and the accuracy skips, so padding adds neither loss nor
credit.

What it shows: test accuracy against two baselines, the most frequent tag overall and
each word's most frequent training tag (full run's goal: >= 92%); tagged sentences.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import numpy as np

import axon as ax
from axon import nn, optim
from axon.data.text import Vocab, ud_pos
from axon.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .registry import register
from .shared.base import Config, Result, backup, heading, load_weights, table
from .shared.text_common import (
    BucketLoader,
    MaskedAccuracy,
    TimeBudget,
    device_of,
    epochs_for,
    finish,
    sequence_cross_entropy,
)

GOAL = 0.92  # test accuracy over the 17 UPOS tags, full run
EXAMPLES = ("I can open the can .", "She books a flight to Boston every Monday .")

# backup_every: updates between backups (--resume), "epoch" at each epoch's end
FULL = dict(
    emb=100,
    suffix=32,
    shape=8,
    hidden=128,
    batch=32,
    lr=2e-3,
    dropout=0.3,
    epochs=4,
    budget=14 * 60,
    backup_every=200,
)
QUICK = dict(
    emb=32,
    suffix=16,
    shape=4,
    hidden=32,
    batch=16,
    lr=1e-2,
    dropout=0.0,
    epochs=3,
    budget=None,
    train_size=400,
    test_size=150,
    backup_every="epoch",
)


def shape(word: str) -> str:
    """The capitalisation class of a word: ``Aa`` (Title), ``AA``, ``a``, ``0`` (has a
    digit) or ``.`` (anything else, such as punctuation)."""
    if any(c.isdigit() for c in word):
        return "0"
    if word.isalpha() or "-" in word or "'" in word:
        if word[:1].isupper():
            return "AA" if word.isupper() and len(word) > 1 else "Aa"
        return "a"
    return "."


class Features:
    """The three vocabularies, built from the training sentences: lowercased words seen
    twice or more, last-three-letter suffixes, shapes; and the 17 tags."""

    def __init__(self, sentences) -> None:
        words = [[w.lower() for w, _ in s] for s in sentences]
        specials = ("<pad>", "<unk>")
        self.words = Vocab.from_tokens(words, min_freq=2, specials=specials)
        self.suffixes = Vocab.from_tokens(
            ([w[-3:] for w in s] for s in words), min_freq=2, specials=specials
        )
        self.shapes = Vocab(["<pad>", "<unk>", "Aa", "AA", "a", "0", "."])
        self.tags = Vocab.from_tokens(
            ([t for _, t in s] for s in sentences), specials=(), unk_token=None, sort_by="token"
        )

    def encode(self, sentence, with_tags: bool = True) -> tuple:
        forms = [w for w, _ in sentence] if with_tags else list(sentence)
        lower = [w.lower() for w in forms]
        x = (
            self.words.encode(lower),
            self.suffixes.encode([w[-3:] for w in lower]),
            self.shapes.encode([shape(w) for w in forms]),
        )
        if not with_tags:
            return x
        return (*x, self.tags.encode([self.tag_of(t) for _, t in sentence]))

    def tag_of(self, tag: str) -> str:
        return tag if tag in self.tags else self.tags.itos[0]  # a tag unseen in training


class BiLSTMTagger(nn.Module):
    """[word; suffix; shape] embeddings -> packed BiLSTM -> dropout -> Linear per position."""

    def __init__(
        self, f: Features, emb: int, suffix: int, shape_dim: int, hidden: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.word = nn.Embedding(len(f.words), emb, padding_idx=0)
        self.suffix = nn.Embedding(len(f.suffixes), suffix, padding_idx=0)
        self.shape = nn.Embedding(len(f.shapes), shape_dim, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(emb + suffix + shape_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, len(f.tags))

    def forward(self, words, suffixes, shapes, lengths):
        x = ax.cat(
            [self.word(words), self.suffix(suffixes), self.shape(shapes)], dim=-1
        )  # (B, L) each -> (B, L, E_w + E_s + E_c)
        packed = pack_padded_sequence(self.drop(x), lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(h, batch_first=True, total_length=words.shape[1])  # (B, L, 2H)
        return self.out(self.drop(h))  # (B, L, tags)


def baselines(train, test) -> tuple[str, float, float]:
    """The most frequent tag, its test accuracy, and the accuracy of tagging each word
    with its most frequent training tag (that tag for words never seen)."""
    counts = Counter(t for s in train for _, t in s)
    top = counts.most_common(1)[0][0]
    per_word: dict[str, Counter] = defaultdict(Counter)
    for s in train:
        for w, t in s:
            per_word[w.lower()][t] += 1
    best = {w: c.most_common(1)[0][0] for w, c in per_word.items()}
    pairs = [(w, t) for s in test for w, t in s]
    majority = float(np.mean([t == top for _, t in pairs]))
    lookup = float(np.mean([best.get(w.lower(), top) == t for w, t in pairs]))
    return top, majority, lookup


@register(
    "pos-tagging",
    "Many-to-many: a bidirectional LSTM tags UD English EWT with the 17 universal parts of speech",
)
def run(config: Config) -> Result:
    result = Result("pos-tagging")
    hp = QUICK if config.quick else FULL
    epochs = epochs_for(config, hp["epochs"], QUICK["epochs"])
    ax.manual_seed(config.seed)

    heading("1. The data")
    f, (train_s, dev_s, test_s) = _load_sentences(config, hp)
    train, dev, test = ([f.encode(s) for s in split] for split in (train_s, dev_s, test_s))
    top, majority, lookup = baselines(train_s, test_s)
    heading("2. Training")
    model = _build_model(hp, f).to(config.device)
    history, seconds = _train(config, hp, epochs, model, train, dev)
    accuracy = ax.evaluate(
        model, BucketLoader(test, 128, shuffle=False, target_seq=True), metrics=[MaskedAccuracy()]
    )["accuracy"]
    _show_accuracy(top, majority, lookup, accuracy, history, seconds)
    heading("3. Tagged sentences")
    _tag_examples(model, f)
    result.metrics.update(
        {
            "test_accuracy": accuracy,
            "majority": majority,
            "word_lookup": lookup,
            "train_seconds": seconds,
            "epochs_run": len(history["loss"]) if history else 0,
        }
    )
    result.check(
        f"test accuracy {accuracy:.1%} beats the majority class ({top}: {majority:.1%})",
        accuracy > majority,
    )
    if not config.quick:
        result.check(f"test accuracy {accuracy:.1%} >= {GOAL:.0%}", accuracy >= GOAL)
    finish(result, config, model, history, "pos_tagging")
    return result


def _load_sentences(config: Config, hp: dict) -> tuple[Features, tuple[list, list, list]]:
    """Step 1: UD English EWT's train, dev and test sentences (cut short in a quick run)
    and the features read from the training part; prints their sizes and the tags."""
    train_s = ud_pos(config.data_dir, "train")
    dev_s = ud_pos(config.data_dir, "dev")
    test_s = ud_pos(config.data_dir, "test")
    if config.quick:
        train_s, dev_s, test_s = (
            train_s[: hp["train_size"]],
            dev_s[: hp["test_size"]],
            test_s[: hp["test_size"]],
        )
    f = Features(train_s)
    n_test = sum(len(s) for s in test_s)
    unseen = np.mean([w.lower() not in f.words for s in test_s for w, _ in s])
    print(
        f"  {len(train_s):,} / {len(dev_s):,} / {len(test_s):,} train / dev / test "
        f"sentences ({n_test:,} test words, {unseen:.1%} of them not in the word "
        "vocabulary)"
    )
    print(f"  {len(f.tags)} tags: {' '.join(f.tags.itos)}")
    return f, (train_s, dev_s, test_s)


def _build_model(hp: dict, f: Features) -> BiLSTMTagger:
    """The BiLSTM tagger over word, suffix and shape embeddings, with its size printed."""
    model = BiLSTMTagger(
        f, hp["emb"], hp["suffix"], hp["shape"], hp["hidden"], dropout=hp["dropout"]
    )
    n_params = sum(p.numel() for p in model.parameters())
    width = hp["emb"] + hp["suffix"] + hp["shape"]
    print(
        f"  [word {hp['emb']}; suffix {hp['suffix']}; shape {hp['shape']}] -> packed "
        f"BiLSTM({width}, {hp['hidden']}) -> Linear({2 * hp['hidden']}, {len(f.tags)}): "
        f"{n_params:,} parameters"
    )
    return model


def _train(
    config: Config, hp: dict, epochs: int, model: BiLSTMTagger, train: list, dev: list
) -> tuple[dict | None, float]:
    """Step 2: Adam on length-bucketed batches (or the weights of --weights); returns the
    history (None when loaded) and the training seconds."""
    loader = BucketLoader(train, hp["batch"], seed=config.seed, target_seq=True)
    dev_loader = BucketLoader(dev, 128, shuffle=False, target_seq=True)
    print(
        f"  batches of {hp['batch']} sentences, padding ignored by the loss "
        f"(ignore_index=-100), Adam lr {hp['lr']:g}, {epochs} epochs"
        + (f" or {hp['budget'] / 60:.0f} minutes" if hp["budget"] else "")
    )
    budget = TimeBudget(hp["budget"])
    start = time.perf_counter()
    if load_weights(config, model, "the BiLSTM tagger"):
        history = None
    else:
        history = ax.fit(
            model,
            loader,
            loss=sequence_cross_entropy,
            optimizer=optim.Adam(model.parameters(), lr=hp["lr"]),
            epochs=epochs,
            validation=dev_loader,
            metrics=[MaskedAccuracy()],
            clip_grad_norm=5.0,
            callbacks=[*backup(config, "pos-tagging", hp["backup_every"]), budget],
            verbose=2,
        )
    seconds = time.perf_counter() - start
    if budget.stopped:
        print(f"  stopped by the time budget during epoch {len(history['loss'])}")
    return history, seconds


def _show_accuracy(
    top: str,
    majority: float,
    lookup: float,
    accuracy: float,
    history: dict | None,
    seconds: float,
) -> None:
    """The tagger's test accuracy beside the two baselines, and the training time."""
    table(
        ["", "test accuracy"],
        [
            [f"most frequent tag ({top})", f"{majority:.1%}"],
            ["each word's most frequent tag", f"{lookup:.1%}"],
            ["BiLSTM tagger", f"{accuracy:.1%}"],
        ],
    )
    if history is not None:
        print(f"  training took {seconds:.0f} s")


def _tag_examples(model: BiLSTMTagger, f: Features) -> None:
    """Step 3: the example sentences, each word with its predicted tag."""
    dev = device_of(model)
    model.eval()
    with ax.no_grad():
        for sentence in EXAMPLES:
            forms = sentence.split()
            x = f.encode(forms, with_tags=False)
            ids = [ax.tensor(a[None], device=dev) for a in x]  # (1, L) each
            scores = model(*ids, ax.tensor([len(forms)], device=dev))
            tags = f.tags.decode(scores.cpu().numpy()[0].argmax(-1))
            print("  " + "  ".join(f"{w}/{t}" for w, t in zip(forms, tags, strict=True)))
