"""What the text experiments share: a recurrent language model with sampling, the
reference entropies, batches of padded sentences grouped by length, a masked accuracy,
a wall-clock budget, and the weights and curves written at the end.

Language models (``shakespeare``, ``next-word``) read a corpus as B parallel streams and
are trained with truncated BPTT (:func:`axon.train.fit_stream`); their loss is the
cross-entropy in nats per token, and the perplexity is ``exp(loss)``. Generation samples
one token at a time from

    p_i = exp(z_i / T) / sum_j exp(z_j / T)

over the ``top_k`` largest logits z (temperature T: below 1 sharper, above 1 flatter).

Sentence tasks (``sentiment``, ``pos-tagging``) pad each batch to its longest sentence;
:class:`BucketLoader` draws batches of sentences of similar length, so little of each
batch is padding, and the recurrent layers run on packed sequences so that padding never
reaches a state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import axon as ax
from axon import nn
from axon.data.text import Vocab, pad_ids, tiny_shakespeare
from axon.train.base import Callback
from axon.train.metrics import Metric

from .base import Config, Result, ResumableBatches, device_of

IGNORE = -100  # the target value cross-entropy skips (PyTorch's ignore_index default)


# ----------------------------------------------------------------------------- language model
class RNNLanguageModel(nn.Module):
    """Embedding -> LSTM -> dropout -> Linear over the vocabulary, time first.

    ``forward(x, state)``: ids x of shape (T, B) and the carried ``(h, c)`` (or None) give
    logits (T, B, V) and the new state, the protocol of :func:`axon.train.fit_stream`.
    With ``tie=True`` the output layer reuses the embedding matrix (Press & Wolf 2017;
    needs ``emb == hidden``), which saves V x H parameters and helps a word model.
    """

    def __init__(
        self,
        vocab_size: int,
        emb: int,
        hidden: int,
        layers: int = 1,
        dropout: float = 0.0,
        tie: bool = False,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden, vocab_size)
        if tie:
            if emb != hidden:
                raise ValueError(f"tied weights need emb == hidden, got {emb} and {hidden}")
            self.decoder.weight = self.embedding.weight

    def forward(self, x, state=None):
        e = self.drop(self.embedding(x))  # (T, B) -> (T, B, E)
        out, state = self.lstm(e, state)  # (T, B, H)
        return self.decoder(self.drop(out)), state  # (T, B, V)


def next_token_probs(
    logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None
) -> np.ndarray:
    """softmax(z / T) restricted to the ``top_k`` largest logits (the rest get 0)."""
    z = np.asarray(logits, dtype=np.float64) / max(temperature, 1e-8)
    if top_k is not None and top_k < z.size:
        kth = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max()
    p = np.exp(z)
    return p / p.sum()


def generate(
    model: nn.Module,
    prompt_ids: Sequence[int],
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | None = None,
) -> list[int]:
    """Feed the prompt, then sample ``length`` tokens one at a time, each fed back in
    with the carried state. Returns the sampled ids (the prompt not included)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    dev = device_of(model)
    model.eval()
    out: list[int] = []
    with ax.no_grad():
        x = ax.tensor(np.asarray(prompt_ids, dtype=np.int64)[:, None], device=dev)  # (T, 1)
        logits, state = model(x)
        for _ in range(length):
            p = next_token_probs(logits[-1, 0].cpu().numpy(), temperature, top_k)
            nxt = int(rng.choice(p.size, p=p))
            out.append(nxt)
            logits, state = model(ax.tensor(np.array([[nxt]], dtype=np.int64), device=dev), state)
    return out


# the samples both character models print, and the char-LSTM's full-run goal
TEMPERATURES = (0.5, 0.8, 1.0)
TOP_K = 10
PROMPT = "ROMEO:\n"
CHAR_LSTM_GOAL = 1.55  # nats per character on Tiny Shakespeare's validation text


def sample_each_temperature(
    config: Config, hp: dict, model: nn.Module, vocab: Vocab, train_ids: np.ndarray, sampler
) -> dict[float, str]:
    """A sample of ``hp["sample_len"]`` characters after :data:`PROMPT` at each of
    :data:`TEMPERATURES` (top-:data:`TOP_K`), drawn by ``sampler`` (:func:`generate`, or a
    model's own loop of its signature), printed and returned."""
    rng = np.random.default_rng(config.seed)
    prompt = vocab.encode(PROMPT) if all(c in vocab for c in PROMPT) else train_ids[:1]
    samples = {}
    for t in TEMPERATURES:
        ids = sampler(model, prompt, hp["sample_len"], temperature=t, top_k=TOP_K, rng=rng)
        samples[t] = "".join(vocab.decode(ids))
        print(f"\n  temperature {t}:")
        print("    " + (PROMPT + samples[t]).replace("\n", "\n    "))
    return samples


def check_char_model(
    config: Config,
    hp: dict,
    result: Result,
    who: str,
    h_uni: float,
    val_loss: float,
    goal: float,
    samples: dict[float, str],
) -> None:
    """A character model's claims: ``who``'s validation loss is below the unigram entropy
    (and at most ``goal`` in a full run), and every sample has the asked length."""
    result.check(
        f"{who} validation loss ({val_loss:.3f} nats/char) falls "
        f"below the unigram entropy ({h_uni:.3f})",
        val_loss < h_uni,
    )
    if not config.quick:
        result.check(
            f"validation loss {val_loss:.3f} <= {goal} nats per character", val_loss <= goal
        )
    result.check(
        "every temperature produced a sample of the asked length",
        all(len(s) == hp["sample_len"] for s in samples.values()),
    )


def unigram_entropy(ids: np.ndarray, vocab_size: int) -> float:
    """H = -sum_w p(w) ln p(w) in nats, p the token frequencies of ``ids``: the loss of the
    best model that ignores context, the bar a language model must get under."""
    p = np.bincount(np.asarray(ids).ravel(), minlength=vocab_size) / np.size(ids)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def perplexity(loss: float) -> float:
    """exp(cross-entropy in nats): the number of equally likely tokens the model is as
    unsure as."""
    return math.exp(min(loss, 700.0))


# ----------------------------------------------------------------------------- sentence batches
class BucketLoader(ResumableBatches):
    """Batches of padded sentences for :func:`axon.fit`, sentences of similar length
    together.

    Each example is a tuple of fields: id sequences of one length (words, suffixes,
    tags, ...) and optionally a final scalar label. A batch is
    ``(padded field 1, ..., lengths, target)``: sequences padded to (B, L) with
    ``pad_index`` (tag fields, listed in ``target_seq``, with :data:`IGNORE`), the first
    field's lengths (B,), and the label (B,) or the padded tags (B, L) last. Every epoch
    the examples are shuffled, cut into chunks of ``50 * batch_size``, each chunk sorted
    by length and cut into batches, and the batches shuffled. Its position is in
    ``state_dict()`` (:class:`~axon.lab.shared.base.ResumableBatches`), for ``--resume``.
    """

    def __init__(
        self,
        examples: Sequence[tuple],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        pad_index: int = 0,
        target_seq: bool = False,
    ) -> None:
        self.examples = list(examples)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.pad_index = pad_index
        self.target_seq = target_seq
        self.lengths = np.array([len(e[0]) for e in self.examples])

    def __len__(self) -> int:
        return -(-len(self.examples) // self.batch_size)

    def _batches(self) -> list[np.ndarray]:
        n, b = len(self.examples), self.batch_size
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        batches = []
        for start in range(0, n, 50 * b):
            chunk = order[start : start + 50 * b]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i : i + b] for i in range(0, len(chunk), b)]
        if self.shuffle:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        return batches

    def _epoch(self):
        for idx in self._batches():
            rows = [self.examples[i] for i in idx]
            n_fields = len(rows[0])
            fields, lengths = [], None
            for f in range(n_fields - 1):
                padded, n = pad_ids([r[f] for r in rows], self.pad_index)
                fields.append(ax.tensor(padded))
                lengths = n if lengths is None else lengths  # the first field's lengths
            if self.target_seq:
                target, _ = pad_ids([r[-1] for r in rows], IGNORE)
            else:
                target = np.array([r[-1] for r in rows], dtype=np.int64)
            yield (*fields, ax.tensor(lengths), ax.tensor(target))


class MaskedAccuracy(Metric):
    """Accuracy over the positions whose target is not :data:`IGNORE` (tags of padding
    are not scored): output (..., C) scores, target (...) class ids."""

    name = "accuracy"

    def batch(self, output: np.ndarray, target: np.ndarray) -> tuple[float, int]:
        mask = target != IGNORE
        return float((output.argmax(-1) == target)[mask].sum()), int(mask.sum())


def sequence_cross_entropy(output: ax.Tensor, target: ax.Tensor) -> ax.Tensor:
    """Cross-entropy of (B, L, C) scores against (B, L) tags, mean over the real
    (non-padding) positions."""
    c = output.shape[-1]
    return nn.functional.cross_entropy(
        output.reshape(-1, c), target.reshape(-1), ignore_index=IGNORE
    )  # (B, L, C) -> (B*L, C)


# ----------------------------------------------------------------------------- budget, output
class TimeBudget(Callback):
    """Stop training once ``seconds`` of wall time have passed (checked after each
    update), so a full run ends in a known time on a slow machine; the partial epoch is
    still evaluated and recorded. A resumed run counts the time spent before it (its
    state), so the budget is the whole training's."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__()
        self.seconds = seconds
        self.start = time.perf_counter()
        self.stopped = False
        self.before = 0.0  # seconds spent before a resume

    def on_train_begin(self, logs=None) -> None:
        self.start = time.perf_counter() - self.before

    def state_dict(self) -> dict:
        """The time spent so far, so that a resumed run keeps to the same budget."""
        return {"elapsed": time.perf_counter() - self.start, "stopped": self.stopped}

    def load_state_dict(self, state: dict) -> None:
        self.before = float(state["elapsed"])
        self.start = time.perf_counter() - self.before
        self.stopped = bool(state["stopped"])

    def on_batch_end(self, batch: int, logs=None) -> None:
        if self.seconds is not None and time.perf_counter() - self.start > self.seconds:
            self.stopped = True
            self.model.stop_training = True


def epochs_for(config: Config, full: int, quick: int) -> int:
    """``--epochs`` if given, else the experiment's full or quick default."""
    if config.epochs is not None:
        return config.epochs
    return quick if config.quick else full


def finish(result: Result, config: Config, model: nn.Module, history, name: str) -> None:
    """Save the weights (safetensors) and the training curves (PNG, when there was
    training: ``history`` None or empty with ``--weights``) under ``config.out``."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{name}.safetensors"
    ax.save(model.state_dict(), weights)
    print(f"\n  weights: {weights}")
    if history is None or not history.history:  # --weights: nothing was trained
        return
    fig = history.plot(out / f"{name}_curves.png")
    del fig
    result.figures.append(out / f"{name}_curves.png")


# ----------------------------------------------------------------------------- corpora
def shakespeare_chars(config: Config, hp: dict) -> tuple[Vocab, np.ndarray, np.ndarray, float]:
    """Tiny Shakespeare's characters (cut short in a quick run) as ids; returns the
    vocabulary, the training and validation ids and the training unigram entropy."""
    text = tiny_shakespeare(config.data_dir)
    train_text, val_text = text["train"], text["val"]
    if config.quick:
        train_text, val_text = train_text[: hp["train_chars"]], val_text[: hp["val_chars"]]
    vocab = Vocab.from_tokens(train_text + val_text, specials=(), unk_token=None, sort_by="token")
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    h_uni = unigram_entropy(train_ids, len(vocab))
    print(
        f"  {len(train_ids):,} training and {len(val_ids):,} validation characters, "
        f"{len(vocab)} distinct"
    )
    print(
        f"  unigram entropy of the training characters: {h_uni:.3f} nats "
        f"(ln {len(vocab)} = {np.log(len(vocab)):.3f} for uniform guessing)"
    )
    return vocab, train_ids, val_ids, h_uni
