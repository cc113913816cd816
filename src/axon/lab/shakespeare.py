"""A character-level LSTM language model on Tiny Shakespeare (char-rnn).

The model reads the text one character at a time and predicts the next one:

    e_t = E[x_t],   (h_t, c_t) = LSTM(e_t, h_{t-1}, c_{t-1}),
    p(x_{t+1} | x_<=t) = softmax(W h_t + b)

trained on the cross-entropy in nats per character with truncated BPTT: the text is cut
into B parallel streams read in windows of ``bptt`` characters, the state carried from
one window to the next and the gradient stopped at the window's start
(:func:`axon.train.fit_stream`).

What it shows:
1. the unigram entropy of the characters (the loss of a model that knows only how often
   each character occurs: about 3.3 nats), and that the LSTM gets far below it
   (full run: validation loss <= 1.55 nats per character);
2. samples at temperatures 0.5, 0.8 and 1.0 (top-k 10): low temperatures repeat the
   likeliest words, high ones invent more (and misspell more).
"""

from __future__ import annotations

import time

import numpy as np

import axon as ax
from axon import optim
from axon.data.text import batchify, bptt_batches
from axon.train import evaluate_stream, fit_stream

from .registry import register
from .shared.base import Config, Result, backup, heading, load_weights, table
from .shared.text_common import (
    CHAR_LSTM_GOAL,
    PROMPT,
    TOP_K,
    RNNLanguageModel,
    TimeBudget,
    check_char_model,
    epochs_for,
    finish,
    generate,
    sample_each_temperature,
    shakespeare_chars,
)

GOAL = CHAR_LSTM_GOAL  # nats per character on the validation text, full run

# backup_every: updates between backups (--resume), "epoch" at each epoch's end
FULL = dict(
    hidden=512,
    emb=64,
    batch=32,
    bptt=100,
    lr=2e-3,
    epochs=6,
    dropout=0.25,
    budget=30 * 60,
    sample_len=300,
    backup_every=100,
)
QUICK = dict(
    hidden=64,
    emb=16,
    batch=16,
    bptt=32,
    lr=1e-2,
    epochs=2,
    dropout=0.0,
    budget=None,
    sample_len=80,
    train_chars=20_000,
    val_chars=4_000,
    backup_every="epoch",
)


@register(
    "shakespeare",
    "Character-level LSTM language model on Tiny Shakespeare, sampled at several temperatures",
)
def run(config: Config) -> Result:
    result = Result("shakespeare")
    hp = QUICK if config.quick else FULL
    epochs = epochs_for(config, hp["epochs"], QUICK["epochs"])
    ax.manual_seed(config.seed)

    heading("1. The data")
    vocab, train_ids, val_ids, h_uni = shakespeare_chars(config, hp)
    heading("2. Training with truncated BPTT")
    model = RNNLanguageModel(len(vocab), hp["emb"], hp["hidden"], dropout=hp["dropout"])
    model.to(config.device)
    history, train_loss, val_loss, seconds = _train(
        config, hp, epochs, model, train_ids, val_ids, len(vocab)
    )
    _show_losses(h_uni, history, train_loss, val_loss, seconds)
    heading(f"3. Samples (prompt {PROMPT!r}, top-k {TOP_K})")
    samples = sample_each_temperature(config, hp, model, vocab, train_ids, generate)
    result.metrics.update(
        {
            "unigram_entropy": h_uni,
            "val_loss": val_loss,
            "train_loss": train_loss,
            "train_seconds": seconds,
            "epochs_run": len(history["loss"]) if history else 0,
        }
    )
    check_char_model(config, hp, result, "the language model's", h_uni, val_loss, GOAL, samples)
    finish(result, config, model, history, "shakespeare")
    return result


def _train(
    config: Config,
    hp: dict,
    epochs: int,
    model: RNNLanguageModel,
    train_ids: np.ndarray,
    val_ids: np.ndarray,
    vocab_size: int,
) -> tuple[dict | None, float, float, float]:
    """Step 2: Adam with truncated BPTT (or the weights of --weights); returns the history
    (None when loaded), the training and validation losses and the training seconds."""
    n_params = sum(p.numel() for p in model.parameters())
    train = bptt_batches(batchify(train_ids, hp["batch"]), hp["bptt"])
    val = bptt_batches(batchify(val_ids, min(hp["batch"], 8)), hp["bptt"])
    print(
        f"  Embedding({vocab_size}, {hp['emb']}) -> LSTM({hp['emb']}, {hp['hidden']}) -> "
        f"Linear({hp['hidden']}, {vocab_size}): {n_params:,} parameters, dropout "
        f"{hp['dropout']:g}"
    )
    print(
        f"  {hp['batch']} streams, windows of {hp['bptt']} characters ({len(train)} "
        f"updates per epoch), Adam lr {hp['lr']:g}, gradient norm clipped to 1, "
        f"{epochs} epochs" + (f" or {hp['budget'] / 60:.0f} minutes" if hp["budget"] else "")
    )
    budget = TimeBudget(hp["budget"])
    start = time.perf_counter()
    if load_weights(config, model, "the character LSTM"):
        history = None
        val_loss = evaluate_stream(model, val, loss="cross_entropy")["loss"]
        train_loss = float("nan")
    else:
        history = fit_stream(
            model,
            train,
            loss="cross_entropy",
            optimizer=optim.Adam(model.parameters(), lr=hp["lr"]),
            epochs=epochs,
            clip_grad_norm=1.0,
            validation=val,
            callbacks=[*backup(config, "shakespeare", hp["backup_every"]), budget],
            verbose=2,
        )
        val_loss = history["val_loss"][-1]
        train_loss = history["loss"][-1]
    seconds = time.perf_counter() - start
    if budget.stopped:
        print(f"  stopped by the time budget after {len(history['loss'])} epoch(s)")
    return history, train_loss, val_loss, seconds


def _show_losses(
    h_uni: float, history: dict | None, train_loss: float, val_loss: float, seconds: float
) -> None:
    """The losses in nats and bits per character beside the unigram entropy."""
    table(
        ["", "nats/char", "bits/char"],
        [
            ["unigram entropy", f"{h_uni:.3f}", f"{h_uni / np.log(2):.3f}"],
            ["train loss (last epoch)", f"{train_loss:.3f}", f"{train_loss / np.log(2):.3f}"]
            if history is not None
            else ["train loss", "not trained (--weights)", ""],
            ["validation loss", f"{val_loss:.3f}", f"{val_loss / np.log(2):.3f}"],
        ],
    )
    if history is not None:
        print(f"  training took {seconds:.0f} s")
