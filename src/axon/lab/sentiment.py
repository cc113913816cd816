"""Many-to-one: the sentiment of a sentence (GLUE SST-2) from a bidirectional GRU.

Each sentence is a sequence of word ids. A batch of sentences of different lengths is
padded to its longest one and *packed* (:func:`axon.nn.utils.rnn.pack_padded_sequence`),
so the GRU runs each sentence over its own words only and its final state is the state
after the last real word, not after the padding. The forward GRU's last state and the
backward GRU's last state (which has read the sentence from its end back to its first
word) are concatenated and classified:

    h_fwd, h_bwd = BiGRU(E[w_1..w_n]),  p(label) = softmax(W [h_fwd; h_bwd] + b)

What it shows: the dev accuracy against the majority class (always answering the more
frequent label) as the bar; the full run's goal is >= 82% on the 872 dev sentences, and
a few hand-written sentences with the model's verdicts.
"""

from __future__ import annotations

import time

import numpy as np

import axon as ax
from axon import nn, optim
from axon.data.text import Vocab, sst2
from axon.nn.utils.rnn import pack_padded_sequence

from .registry import register
from .shared.base import Config, Result, backup, heading, load_weights, table
from .shared.text_common import BucketLoader, TimeBudget, device_of, epochs_for, finish

GOAL = 0.82  # dev accuracy, full run
EXAMPLES = (
    "a gorgeous , witty , seductive movie .",
    "the plot is tedious and the acting is wooden .",
    "not a bad film at all .",
    "it 's not good .",
)

# backup_every: updates between backups (--resume), "epoch" at each epoch's end
FULL = dict(
    emb=100, hidden=96, batch=64, lr=2e-3, dropout=0.3, epochs=3, budget=12 * 60, backup_every=200
)
QUICK = dict(
    emb=32,
    hidden=32,
    batch=32,
    lr=1e-2,
    dropout=0.0,
    epochs=4,
    budget=None,
    train_size=1_500,
    dev_size=300,
    backup_every="epoch",
)


class GRUClassifier(nn.Module):
    """Embedding -> packed bidirectional GRU -> [h_fwd; h_bwd] -> dropout -> Linear."""

    def __init__(
        self,
        vocab_size: int,
        emb: int,
        hidden: int,
        classes: int = 2,
        dropout: float = 0.0,
        pad_index: int = 0,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=pad_index)
        self.gru = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, classes)

    def forward(self, ids, lengths):
        e = self.embedding(ids)  # (B, L) -> (B, L, E)
        packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)  # h: (2, B, H), forward then backward direction
        both = ax.cat([h[0], h[1]], dim=1)  # (B, 2H)
        return self.out(self.drop(both))  # (B, classes)


def encode(vocab: Vocab, examples) -> list[tuple[np.ndarray, int]]:
    """(sentence, label) -> (word ids, label); an empty sentence becomes ``<unk>``."""
    return [(vocab.encode(s.split() or ["<unk>"]), y) for s, y in examples]


@register(
    "sentiment", "Many-to-one: a bidirectional GRU over packed sentences classifies SST-2 sentiment"
)
def run(config: Config) -> Result:
    result = Result("sentiment")
    hp = QUICK if config.quick else FULL
    epochs = epochs_for(config, hp["epochs"], QUICK["epochs"])
    ax.manual_seed(config.seed)

    heading("1. The data")
    data = sst2(config.data_dir)
    train_raw, dev_raw = data["train"], data["dev"]
    if config.quick:
        rng = np.random.default_rng(config.seed)
        train_raw = [train_raw[i] for i in rng.permutation(len(train_raw))[: hp["train_size"]]]
        dev_raw = dev_raw[: hp["dev_size"]]
    vocab = Vocab.from_tokens(
        (s.split() for s, _ in train_raw), min_freq=2, specials=("<pad>", "<unk>")
    )
    train, dev = encode(vocab, train_raw), encode(vocab, dev_raw)
    dev_labels = np.array([y for _, y in dev])
    majority_label = int(np.bincount([y for _, y in train]).argmax())
    majority = float((dev_labels == majority_label).mean())
    lengths = np.array([len(x) for x, _ in train])
    print(
        f"  {len(train):,} training phrases (mean {lengths.mean():.1f} words, longest "
        f"{lengths.max()}), {len(dev):,} dev sentences; {len(vocab):,} words seen twice "
        "or more (the rest read as <unk>)"
    )
    print(
        f"  majority class ({'positive' if majority_label else 'negative'}) on dev: {majority:.1%}"
    )

    heading("2. Training")
    model = GRUClassifier(len(vocab), hp["emb"], hp["hidden"], dropout=hp["dropout"])
    model.to(config.device)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"  Embedding({len(vocab)}, {hp['emb']}) -> packed BiGRU({hp['emb']}, "
        f"{hp['hidden']}) -> Linear({2 * hp['hidden']}, 2): {n_params:,} parameters"
    )
    train_loader = BucketLoader(train, hp["batch"], seed=config.seed)
    dev_loader = BucketLoader(dev, 256, shuffle=False)
    print(
        f"  batches of {hp['batch']} phrases of similar length, Adam lr {hp['lr']:g}, "
        f"{epochs} epochs" + (f" or {hp['budget'] / 60:.0f} minutes" if hp["budget"] else "")
    )
    budget = TimeBudget(hp["budget"])
    start = time.perf_counter()
    if load_weights(config, model, "the BiGRU classifier"):
        history = None
        accuracy = ax.evaluate(model, dev_loader, metrics=["accuracy"])["accuracy"]
    else:
        history = ax.fit(
            model,
            train_loader,
            loss=nn.CrossEntropyLoss(),
            optimizer=optim.Adam(model.parameters(), lr=hp["lr"]),
            epochs=epochs,
            validation=dev_loader,
            metrics=["accuracy"],
            clip_grad_norm=5.0,
            callbacks=[*backup(config, "sentiment", hp["backup_every"]), budget],
            verbose=2,
        )
        accuracy = history["val_accuracy"][-1]
    seconds = time.perf_counter() - start
    if budget.stopped:
        print(f"  stopped by the time budget during epoch {len(history['loss'])}")
    table(
        ["", "dev accuracy"], [["majority class", f"{majority:.1%}"], ["BiGRU", f"{accuracy:.1%}"]]
    )
    if history is not None:
        print(f"  training took {seconds:.0f} s")

    heading("3. Verdicts on new sentences")
    model.eval()
    rows = []
    dev = device_of(model)
    with ax.no_grad():
        for s in EXAMPLES:
            ids = vocab.encode(s.split())
            x, n = ax.tensor(ids[None], device=dev), ax.tensor([len(ids)], device=dev)
            p = model(x, n).softmax(-1).cpu().numpy()[0]
            rows.append([s, "positive" if p[1] > 0.5 else "negative", f"{p[1]:.2f}"])
    table(["sentence", "verdict", "p(positive)"], rows, align="llr")

    result.metrics.update(
        {
            "dev_accuracy": accuracy,
            "majority": majority,
            "train_seconds": seconds,
            "epochs_run": len(history["loss"]) if history else 0,
        }
    )
    result.check(
        f"dev accuracy {accuracy:.1%} beats the majority class ({majority:.1%})",
        accuracy > majority,
    )
    if not config.quick:
        result.check(f"dev accuracy {accuracy:.1%} >= {GOAL:.0%}", accuracy >= GOAL)
    finish(result, config, model, history, "sentiment")
    return result
