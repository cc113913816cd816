"""A character-level decoder-only Transformer on Tiny Shakespeare (a tiny GPT).

The model (:class:`axon.models.TransformerLM`) reads a window of T characters at once and
predicts, at every position, the next one:

    h_0 = E[x_1..x_T] + PE,   h_l = Block_l(h_{l-1}),   p(x_{t+1} | x_<=t) = softmax(W h_L,t + b)

Each block is masked self-attention and a feed-forward network, both with residual
connections and (pre-)layer norms. The causal mask lets position t attend to positions
<= t only, so all T predictions of a window are trained in parallel without any position
seeing its own answer. Unlike the LSTM (``shakespeare``), there is no state carried
between windows: the model sees at most T characters of context.

Training (nanoGPT's recipe, scaled down): windows of T + 1 characters drawn at random
positions of the training text, AdamW, the learning rate warmed up and then decayed
along a cosine (torch's LinearLR then CosineAnnealingLR in a SequentialLR), ending at
the step count or the wall-clock budget, whichever comes first.

What it shows:
1. the unigram entropy of the characters (about 3.3 nats) and that the Transformer gets
   far below it; the validation loss in nats per character beside the char-LSTM's goal
   of 1.55 (reached in 30 minutes with a carried state; this run has 10);
2. samples at temperatures 0.5, 0.8 and 1.0 (top-k 10).
"""

from __future__ import annotations

import time

import numpy as np

import axon as ax
from axon import optim
from axon.models.transformer import TransformerLM

from .registry import register
from .shared.base import Config, Result, ResumableBatches, backup, heading, load_weights, table
from .shared.schedules import cosine_within_budget, per_update, warmup_cosine
from .shared.text_common import (
    CHAR_LSTM_GOAL,
    PROMPT,
    TOP_K,
    TimeBudget,
    check_char_model,
    device_of,
    epochs_for,
    finish,
    next_token_probs,
    sample_each_temperature,
    sequence_cross_entropy,
    shakespeare_chars,
)

GOAL = 1.75  # nats per character on the validation text, full run

FULL = dict(
    d_model=128,
    nhead=4,
    layers=4,
    ff=512,
    dropout=0.0,
    context=64,
    batch=32,
    lr=4e-3,
    warmup=100,
    steps_per_epoch=250,
    epochs=24,
    budget=9 * 60,
    sample_len=300,
)
QUICK = dict(
    d_model=32,
    nhead=2,
    layers=2,
    ff=64,
    dropout=0.0,
    context=32,
    batch=16,
    lr=1e-2,
    warmup=10,
    steps_per_epoch=40,
    epochs=3,
    budget=None,
    sample_len=60,
    train_chars=20_000,
    val_chars=4_000,
)


# ----------------------------------------------------------------------------- batches
class RandomWindows(ResumableBatches):
    """``steps`` batches of ``batch`` windows of ``context + 1`` ids at random offsets of
    ``ids``: inputs (B, T) and next-token targets (B, T), the input shifted by one. Its
    position is in ``state_dict()`` (:class:`~axon.lab.shared.base.ResumableBatches`)."""

    def __init__(
        self, ids: np.ndarray, context: int, batch: int, steps: int, seed: int = 0
    ) -> None:
        if len(ids) < context + 2:
            raise ValueError(
                f"RandomWindows: {len(ids)} ids are too few for windows of {context + 1}"
            )
        self.ids = np.asarray(ids, dtype=np.int64)
        self.context, self.batch, self.steps = context, batch, steps
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.steps

    def _epoch(self):
        span = np.arange(self.context + 1)
        for _ in range(self.steps):
            starts = self.rng.integers(0, len(self.ids) - self.context - 1, self.batch)
            w = self.ids[starts[:, None] + span]  # (B, T + 1)
            yield ax.tensor(w[:, :-1]), ax.tensor(w[:, 1:])


def consecutive_windows(ids: np.ndarray, context: int, batch: int) -> list[tuple]:
    """The text cut into non-overlapping windows of ``context`` inputs (each with its
    next-token targets), in batches: every character but the first is predicted once."""
    ids = np.asarray(ids, dtype=np.int64)
    n = (len(ids) - 1) // context
    x = ids[: n * context].reshape(n, context)
    y = ids[1 : n * context + 1].reshape(n, context)
    return [(ax.tensor(x[i : i + batch]), ax.tensor(y[i : i + batch])) for i in range(0, n, batch)]


# ----------------------------------------------------------------------------- sampling
def sample(
    model: TransformerLM,
    prompt_ids,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | None = None,
) -> list[int]:
    """Sample ``length`` ids after the prompt, one at a time: the last ``max_len`` ids are
    fed in full each step (no cache) and the next id drawn from the softmax of the last
    position's logits / temperature, restricted to the ``top_k`` largest."""
    rng = rng if rng is not None else np.random.default_rng(0)
    ids = [int(i) for i in prompt_ids]
    dev = device_of(model)
    model.eval()
    with ax.no_grad():
        for _ in range(length):
            window = np.asarray(ids[-model.max_len :], dtype=np.int64)[None]  # (1, T)
            logits = model(ax.tensor(window, device=dev))[0, -1].cpu().numpy()  # (V,)
            p = next_token_probs(logits, temperature, top_k)
            ids.append(int(rng.choice(p.size, p=p)))
    return ids[len(prompt_ids) :]


@register(
    "transformer-lm",
    "Character-level decoder-only Transformer (causal self-attention) "
    "on Tiny Shakespeare, sampled at several temperatures",
)
def run(config: Config) -> Result:
    result = Result("transformer-lm")
    hp = QUICK if config.quick else FULL
    epochs = epochs_for(config, hp["epochs"], QUICK["epochs"])
    ax.manual_seed(config.seed)

    heading("1. The data")
    vocab, train_ids, val_ids, h_uni = shakespeare_chars(config, hp)
    heading("2. Training on random windows, causal mask")
    model = _build_model(hp, len(vocab)).to(config.device)
    history, train_loss, val_loss, seconds, updates = _train(
        config, hp, epochs, model, train_ids, val_ids
    )
    _show_losses(hp, h_uni, history, train_loss, val_loss, seconds, updates)
    heading(f"3. Samples (prompt {PROMPT!r}, top-k {TOP_K})")
    samples = sample_each_temperature(config, hp, model, vocab, train_ids, sample)
    result.metrics.update(
        {
            "unigram_entropy": h_uni,
            "val_loss": val_loss,
            "train_loss": train_loss,
            "train_seconds": seconds,
            "updates": updates,
            "epochs_run": len(history["loss"]) if history else 0,
        }
    )
    check_char_model(config, hp, result, "the Transformer's", h_uni, val_loss, GOAL, samples)
    finish(result, config, model, history, "transformer_lm")
    return result


def _build_model(hp: dict, vocab_size: int) -> TransformerLM:
    """The decoder-only Transformer, with its layout and size printed."""
    model = TransformerLM(
        vocab_size,
        hp["d_model"],
        hp["nhead"],
        hp["layers"],
        hp["ff"],
        hp["dropout"],
        max_len=hp["context"],
    )
    n_params = model.num_parameters()
    print(
        f"  Embedding({vocab_size}, {hp['d_model']}) + sinusoids -> {hp['layers']} pre-norm "
        f"blocks ({hp['nhead']} heads, feed-forward {hp['ff']}) -> LayerNorm -> "
        f"Linear({hp['d_model']}, {vocab_size}): {n_params:,} parameters"
    )
    return model


def _train(
    config: Config,
    hp: dict,
    epochs: int,
    model: TransformerLM,
    train_ids: np.ndarray,
    val_ids: np.ndarray,
) -> tuple[dict | None, float, float, float, int]:
    """Step 2: AdamW on random windows with warm-up and cosine decay (or the weights of
    --weights); returns the history (None when loaded), the training and validation
    losses, the training seconds and the number of updates."""
    T = hp["context"]
    train = RandomWindows(train_ids, T, hp["batch"], hp["steps_per_epoch"], seed=config.seed)
    val = consecutive_windows(val_ids, T, 64)
    total = epochs * hp["steps_per_epoch"]
    opt = optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=0.01)
    schedule = warmup_cosine(opt, hp["warmup"], total)
    budget = TimeBudget(hp["budget"])
    print(
        f"  context {T} characters, {hp['batch']} windows per batch, {epochs} epochs of "
        f"{hp['steps_per_epoch']} updates"
        + (f" or {hp['budget'] / 60:.0f} minutes" if hp["budget"] else "")
        + f"; AdamW, lr {hp['lr']:g} (warm-up {hp['warmup']} steps, cosine), gradient "
        "norm clipped to 1"
    )
    start = time.perf_counter()
    if load_weights(config, model, "the Transformer language model"):
        history = None
        val_loss = ax.evaluate(model, val, loss=sequence_cross_entropy)["loss"]
        train_loss = float("nan")
    else:
        history = ax.fit(
            model,
            train,
            loss=sequence_cross_entropy,
            optimizer=opt,
            epochs=epochs,
            validation=val,
            clip_grad_norm=1.0,
            callbacks=[
                *backup(config, "transformer-lm"),
                per_update(schedule),
                cosine_within_budget(schedule, budget),
                budget,
            ],
            verbose=2,
        )
        val_loss = history["val_loss"][-1]
        train_loss = history["loss"][-1]
    seconds = time.perf_counter() - start
    if budget.stopped:
        print(
            f"  stopped by the time budget after {schedule.last_epoch:,} updates "
            f"({len(history['loss'])} epochs)"
        )
    return history, train_loss, val_loss, seconds, schedule.last_epoch


def _show_losses(
    hp: dict,
    h_uni: float,
    history: dict | None,
    train_loss: float,
    val_loss: float,
    seconds: float,
    updates: int,
) -> None:
    """The losses in nats and bits per character beside the unigram entropy and the
    char-LSTM's goal, and the training speed."""
    table(
        ["", "nats/char", "bits/char"],
        [
            ["unigram entropy", f"{h_uni:.3f}", f"{h_uni / np.log(2):.3f}"],
            ["train loss (last epoch)", f"{train_loss:.3f}", f"{train_loss / np.log(2):.3f}"]
            if history is not None
            else ["train loss", "not trained (--weights)", ""],
            ["validation loss", f"{val_loss:.3f}", f"{val_loss / np.log(2):.3f}"],
            [
                "char-LSTM's goal (shakespeare)",
                f"{CHAR_LSTM_GOAL:.3f}",
                f"{CHAR_LSTM_GOAL / np.log(2):.3f}",
            ],
        ],
    )
    if history is not None:
        print(
            f"  training took {seconds:.0f} s ({updates:,} updates, "
            f"{updates * hp['batch'] * hp['context'] / max(seconds, 1e-9):,.0f} characters/s)"
        )
