"""Masked-language-model pretraining, shared by ``masked-lm`` and ``self-attention``: the
vocabulary and encoding, the masked batches and loss, the encoder and :func:`pretrain`.
"""

from __future__ import annotations

import json
import time

import numpy as np

import axon as ax
from axon import nn, optim
from axon.data.text import Vocab
from axon.models.transformer import (
    IGNORE_INDEX,
    MaskedLM,
    TransformerEncoderModel,
    mask_tokens,
)
from axon.train.base import Callback
from axon.train.history import History

from .base import Config, backup
from .schedules import cosine_within_budget, per_update, warmup_cosine
from .text_common import BucketLoader, TimeBudget

SPECIALS = ("<pad>", "<unk>", "<mask>")
PAD, UNK, MASK = 0, 1, 2
MASK_P = 0.15
ARCH = ("d_model", "nhead", "layers", "ff", "max_len")  # what self-attention needs to rebuild


def new_encoder(vocab_size: int, hp: dict, dropout: float) -> TransformerEncoderModel:
    """The masked LM's encoder, sized by ``hp``'s ``ARCH`` keys, ``<pad>`` its padding."""
    return TransformerEncoderModel(
        vocab_size,
        hp["d_model"],
        hp["nhead"],
        hp["layers"],
        hp["ff"],
        dropout,
        max_len=hp["max_len"],
        pad_index=PAD,
    )


# ----------------------------------------------------------------------------- data
def build_vocab(sentences, max_size: int | None = None) -> Vocab:
    """``<pad>`` (0), ``<unk>`` (1), ``<mask>`` (2), then the words seen twice or more,
    most frequent first (at most ``max_size`` entries in all)."""
    return Vocab.from_tokens(
        (s.split() for s in sentences), min_freq=2, max_size=max_size, specials=SPECIALS
    )


def encode(vocab: Vocab, sentence: str, max_len: int) -> np.ndarray:
    """The word ids of ``sentence`` (split on spaces), cut to ``max_len``; an empty
    sentence is one ``<unk>``."""
    return vocab.encode(sentence.split()[:max_len] or ["<unk>"])


class Sentences:
    """Batches of padded id sequences only (the lengths and labels of
    :class:`BucketLoader`'s batches dropped): ``(ids (B, L), labels (B,))`` when
    ``labels`` are given, else ``ids`` alone."""

    def __init__(
        self,
        ids: list[np.ndarray],
        labels=None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        self.with_labels = labels is not None
        ys = labels if labels is not None else [0] * len(ids)
        self.loader = BucketLoader(
            list(zip(ids, ys, strict=True)), batch_size, shuffle=shuffle, seed=seed, pad_index=PAD
        )

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for ids, _, y in self.loader:
            yield (ids, y) if self.with_labels else ids


def masked_batches(
    ids: list[np.ndarray], vocab_size: int, batch_size: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A fixed set of (inputs, targets) masked batches of ``ids`` (the same masks every
    time it is built with the same seed), for a comparable held-out loss."""
    rng = np.random.default_rng(seed)
    out = []
    for batch in Sentences(ids, batch_size=batch_size, shuffle=False):
        inputs, targets = mask_tokens(
            batch.array, MASK, vocab_size, MASK_P, rng, special_ids=(PAD,)
        )
        if (targets != IGNORE_INDEX).any():
            out.append((inputs, targets))
    return out


# ----------------------------------------------------------------------------- pretraining
def mlm_loss(model: MaskedLM, batches) -> float:
    """Mean cross-entropy (nats) over every masked position of ``batches``."""
    model.eval()
    total = count = 0.0
    with ax.no_grad():
        for inputs, targets in batches:
            n = int((targets != IGNORE_INDEX).sum())
            total += model.loss(inputs, targets).item() * n
            count += n
    model.train()
    return total / max(count, 1)


class MaskedStream:
    """The pretraining batches for :func:`axon.fit`: epochs of ``steps_per_epoch``
    batches ``(inputs, targets, targets)`` cut from ``ids``, each given fresh masks
    (:func:`mask_tokens`, drawn from a generator of its own); the passes over ``ids``
    (:class:`Sentences`, shuffled by length buckets) run on across the epochs. Batches
    with no chosen word are skipped. The targets come twice: as an input of
    :class:`MaskedLMLoss` (which decodes only the chosen positions) and as fit's target.

    ``state_dict()`` holds the position (the pass's and the masks' generators and the
    batches of the epoch already given), so that a backup resumes the same batches."""

    def __init__(
        self, ids: list[np.ndarray], vocab_size: int, batch: int, steps_per_epoch: int, seed: int
    ) -> None:
        self.sentences = Sentences(ids, batch_size=batch, seed=seed)
        self.vocab_size, self.steps_per_epoch = vocab_size, steps_per_epoch
        self.rng = np.random.default_rng(seed)
        self._pass = None  # the current pass over the sentences
        self._given = 0  # batches given in the current epoch
        self._resume_at = 0

    def __len__(self) -> int:
        return self.steps_per_epoch

    def _next_ids(self):
        if self._pass is None:
            self._pass = iter(self.sentences)
        try:
            return next(self._pass)
        except StopIteration:  # a new pass, reshuffled
            self._pass = iter(self.sentences)
            return next(self._pass)

    def __iter__(self):
        self._given, self._resume_at = self._resume_at, 0
        while self._given < self.steps_per_epoch:
            batch = self._next_ids()
            inputs, targets = mask_tokens(
                batch.array, MASK, self.vocab_size, MASK_P, self.rng, special_ids=(PAD,)
            )
            if not (targets != IGNORE_INDEX).any():
                continue
            self._given += 1
            yield inputs, targets, targets

    def state_dict(self) -> dict:
        return {
            "sentences": self.sentences.loader.state_dict(),
            "masks": json.dumps(self.rng.bit_generator.state),
            "given": self._given,
        }

    def load_state_dict(self, state: dict) -> None:
        self.sentences.loader.load_state_dict(state["sentences"])
        self.rng.bit_generator.state = json.loads(state["masks"])
        self._pass = None  # the next pass continues the restored one
        self._resume_at = int(state["given"]) % self.steps_per_epoch


class MaskedLMLoss(nn.Module):
    """``model.loss(inputs, targets)`` as a module, for :func:`axon.fit`: its output is the
    masked-word loss itself (decoding only the chosen positions), which
    :func:`output_is_loss` passes through as fit's loss."""

    def __init__(self, model: MaskedLM) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs, targets):
        return self.model.loss(inputs, targets)


def output_is_loss(output, target):
    """fit's loss when the model's output already is the loss."""
    return output


class HeldOutLoss(Callback):
    """Pretraining's bookkeeping: at each epoch's end the masked-word loss on
    ``held_out`` (fixed masked batches), logged as ``val_loss``, and (``verbose``) a line
    with the updates, the time and both losses; training stops after ``total_steps``
    updates (the last epoch may be shorter than the others)."""

    def __init__(
        self, model: MaskedLM, held_out, steps_per_epoch: int, total_steps: int, verbose: bool
    ) -> None:
        super().__init__()
        self.mlm, self.held_out = model, held_out
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.verbose = verbose
        self.start = time.perf_counter()
        self.updates = 0

    def on_train_begin(self, logs=None) -> None:
        self.start = time.perf_counter()

    def on_batch_end(self, batch: int, logs=None) -> None:
        self.updates = self.steps_per_epoch * self.trainer.epoch + batch + 1
        if self.updates >= self.total_steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs["val_loss"] = mlm_loss(self.mlm, self.held_out)
        if self.verbose:
            print(
                f"  {self.updates:5d} updates ({time.perf_counter() - self.start:4.0f} s): "
                f"masked-word loss {logs['loss']:.3f}, held out {logs['val_loss']:.3f}"
            )


def pretrain(
    model: MaskedLM,
    train_ids: list[np.ndarray],
    held_out,
    hp: dict,
    seed: int = 0,
    verbose: bool = True,
    config: Config | None = None,
) -> History:
    """Masked-LM training on ``train_ids`` (fresh masks for every batch), AdamW with
    warm-up and cosine decay, gradients clipped to norm 1, for ``hp["steps"]`` updates or
    ``hp["budget"]`` seconds, with :func:`axon.fit`. An epoch is ``hp["steps_per_epoch"]``
    updates; after each, the mean training loss and the loss on ``held_out`` (fixed
    masked batches) are recorded. With ``config`` the training is backed up
    (``--resume``)."""
    V = model.encoder.vocab_size
    opt = optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=0.01)
    schedule = warmup_cosine(opt, hp["warmup"], hp["steps"])
    budget = TimeBudget(hp["budget"])
    stream = MaskedStream(train_ids, V, hp["batch"], hp["steps_per_epoch"], seed)
    held = HeldOutLoss(model, held_out, hp["steps_per_epoch"], hp["steps"], verbose)
    history = ax.fit(
        MaskedLMLoss(model),
        stream,
        loss=output_is_loss,
        optimizer=opt,
        epochs=-(-hp["steps"] // hp["steps_per_epoch"]),
        clip_grad_norm=1.0,
        callbacks=[
            *backup(config, "masked-lm-pretrain"),
            per_update(schedule),
            cosine_within_budget(schedule, budget),
            budget,
            held,
        ],
        verbose=0,
    )
    if budget.stopped:
        history.stopped_reason = f"time budget of {hp['budget']:.0f} s"
    return history
