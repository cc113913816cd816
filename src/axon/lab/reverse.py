"""Sequence to sequence on sequence reversal: the plain encoder-decoder's bottleneck, and
attention as the way around it.

The task: read n symbols x_1 .. x_n and write them back to front, x_n .. x_1, then
``<eos>``; n runs from 5 to 30. Nothing but the symbols themselves is needed, so no data
set is read. Two models with the same bidirectional GRU encoder, decoder size, steps and
batches are trained on lengths drawn uniformly from that range:

- plain (Sutskever et al. 2014; Cho et al. 2014): the decoder starts from the encoder's
  final state and never sees the source again. Everything about the n symbols must pass
  through that one vector of H numbers.
- attention (Bahdanau et al. 2015): at every output step the decoder scores each encoder
  output, a_tj = softmax_j(v^T tanh(W_q s_{t-1} + W_k h_j)), and reads their weighted sum
  c_t = sum_j a_tj h_j. Output t only needs source position n + 1 - t, which it can look up.

Both decode greedily (:meth:`axon.models.seq2seq.Seq2Seq.greedy_decode`) on fresh sequences
of each length, padded together in one batch (the masks keep padding out). The score is the
share of output positions right (the n symbols and ``<eos>``) and of whole sequences right.

What it shows: the plain model's accuracy falls as n grows, while attention stays near 100%
at every length; the attention weights form the anti-diagonal that reversal asks for.

The full run trains each model for 6 epochs of 100 batches (``--epochs`` changes the
count), about 1.5 minutes in all on one core; ``--quick`` is a smaller version (lengths 4
to 10) that takes a few seconds.
"""

from __future__ import annotations

import time

import numpy as np

import axon as ax
from axon import nn, optim
from axon.models.seq2seq import Seq2Seq, seq2seq

from .. import plot
from .registry import register
from .shared.base import Config, Result, device_of, heading, table
from .shared.sequence_tasks import reverse_sequence

PAD, BOS, EOS = 0, 1, 2  # then the symbols 3 .. 3 + K - 1
SPECIALS = 3

FULL = dict(
    symbols=10,
    lengths=(5, 30),
    eval_lengths=(5, 10, 15, 20, 25, 30),
    emb=32,
    hidden=64,
    batch=64,
    steps_per_epoch=100,
    epochs=6,
    lr=5e-3,
    n_test=200,
)
QUICK = dict(
    symbols=8,
    lengths=(4, 10),
    eval_lengths=(4, 7, 10),
    emb=32,
    hidden=32,
    batch=32,
    steps_per_epoch=50,
    epochs=6,
    lr=1e-2,
    n_test=100,
)


def reversal_batch(
    n: int, length: int, symbols: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` sources of ``length`` symbols and their teacher-forcing pair.

    Returns ``(src (n, L), tgt_in (n, L + 1), tgt_out (n, L + 1))``: the source ids, the
    decoder's input ``<bos> x_L .. x_2`` and its target ``x_L .. x_1 <eos>``.
    """
    x, y = reverse_sequence(n, length, symbols, seed)  # (n, L) each, y = x back to front
    src, rev = x + SPECIALS, y + SPECIALS
    tgt_in = np.concatenate([np.full((n, 1), BOS), rev], axis=1)  # (n, L + 1)
    tgt_out = np.concatenate([rev, np.full((n, 1), EOS)], axis=1)  # (n, L + 1)
    return src, tgt_in, tgt_out


def held_out_set(
    lengths, n: int, symbols: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` fresh sources of each length, padded into one batch: ``(src (N, S),
    src_lengths (N,), tgt_out (N, S + 1))`` with ``<pad>`` after each end."""
    S = max(lengths)
    rows = n * len(lengths)
    src = np.full((rows, S), PAD, dtype=np.int64)
    tgt = np.full((rows, S + 1), PAD, dtype=np.int64)
    lens = np.repeat(np.asarray(lengths, dtype=np.int64), n)
    for k, length in enumerate(lengths):
        s, _, t = reversal_batch(n, length, symbols, seed + length)
        src[k * n : (k + 1) * n, :length] = s
        tgt[k * n : (k + 1) * n, : length + 1] = t
    return src, lens, tgt


def train(model: Seq2Seq, hp: dict, epochs: int, seed: int, name: str) -> list[float]:
    """Adam with a cosine-decaying learning rate and gradient clipping at norm 1, on fresh
    batches; each batch has one length, drawn uniformly (on the host: the ids and lengths
    follow the model to its device). Returns the mean loss per epoch."""
    steps = epochs * hp["steps_per_epoch"]
    dev = device_of(model)
    opt = optim.Adam(model.parameters(), lr=hp["lr"])
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = nn.CrossEntropyLoss()
    vocab = hp["symbols"] + SPECIALS
    rng = np.random.default_rng(seed)
    lo, hi = hp["lengths"]
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        total = 0.0
        for _ in range(hp["steps_per_epoch"]):
            length = int(rng.integers(lo, hi + 1))
            src, tgt_in, tgt_out = reversal_batch(
                hp["batch"], length, hp["symbols"], int(rng.integers(2**31))
            )
            opt.zero_grad()
            logits = model(src, np.full(len(src), length), tgt_in)  # (B, L + 1, V)
            target = ax.tensor(tgt_out.reshape(-1), device=dev)
            loss = loss_fn(logits.reshape(-1, vocab), target)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            schedule.step()
            total += loss.item()
        losses.append(total / hp["steps_per_epoch"])
        print(
            f"  {name:9s} epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}  "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return losses


def accuracy_by_length(model: Seq2Seq, src, lens, tgt) -> tuple[dict, np.ndarray | None]:
    """Greedy decoding of the test set; per length, the share of target positions (the
    symbols and ``<eos>``) predicted right, and of whole sequences right. Also returns
    the attention weights (N, T', S) (None for the plain model)."""
    model.eval()
    ids, weights = model.greedy_decode(src, lens, max_length=tgt.shape[1])
    pred = np.full(tgt.shape, PAD, dtype=np.int64)
    pred[:, : ids.shape[1]] = ids
    scores = {}
    for length in np.unique(lens):
        rows = lens == length
        right = pred[rows, : length + 1] == tgt[rows, : length + 1]
        scores[int(length)] = (float(right.mean()), float(right.all(axis=1).mean()))
    return scores, weights


def alignment(weights: np.ndarray, lens: np.ndarray) -> float:
    """The share of output steps t < n whose most attended source position lies within one
    of the mirrored position n - 1 - t, the symbol being written. (Within one, because a
    bidirectional encoder's output at position j also carries its neighbours: the model
    may read x_j from h_{j+1}.)"""
    hits, count = 0, 0
    for length in np.unique(lens):
        rows = lens == length
        steps = min(int(length), weights.shape[1])
        peak = weights[rows, :steps].argmax(axis=2)  # (rows, steps)
        mirror = length - 1 - np.arange(steps)  # (steps,)
        hits += int((np.abs(peak - mirror) <= 1).sum())
        count += peak.size
    return hits / max(count, 1)


@register(
    "reverse",
    "Seq2seq on sequence reversal (lengths 5-30): the plain "
    "encoder-decoder degrades with length, attention does not",
)
def run(config: Config) -> Result:
    result = Result("reverse")
    hp = QUICK if config.quick else FULL
    epochs = config.epochs or hp["epochs"]

    heading("1. The task and the models")
    models = _build_models(config, hp)
    heading("2. Training")
    losses = _train_models(config, hp, epochs, models, result)
    heading("3. Accuracy by length (greedy decoding, fresh sequences)")
    lengths = list(hp["eval_lengths"])
    test = held_out_set(lengths, hp["n_test"], hp["symbols"], seed=10_000 + config.seed)
    scores, weights = _score_by_length(hp, models, lengths, test, result)
    aligned = _show_alignment(weights, test, result)
    _check(lengths, scores, aligned, result)
    _save_accuracy_figure(config, lengths, scores, losses, result)
    _save_attention_figure(config, lengths, test, weights, result)
    return result


def _build_models(config: Config, hp: dict) -> dict[str, Seq2Seq]:
    """Step 1: an example of the task, and the plain and the attention seq2seq models, each
    built from the same seed and moved to ``config.device``, with their sizes."""
    vocab = hp["symbols"] + SPECIALS
    lo, hi = hp["lengths"]
    src, tgt_in, tgt_out = reversal_batch(1, 6, hp["symbols"], seed=config.seed)
    print(f"  {hp['symbols']} symbols, lengths {lo} to {hi}; ids 0-2 are <pad> <bos> <eos>.")
    print(
        f"  source {src[0].tolist()} -> target {tgt_out[0].tolist()} "
        f"(decoder input {tgt_in[0].tolist()})"
    )
    models: dict[str, Seq2Seq] = {}
    for name, attention in (("plain", False), ("attention", True)):
        ax.manual_seed(config.seed)
        models[name] = seq2seq(
            vocab,
            vocab,
            BOS,
            EOS,
            embedding_dim=hp["emb"],
            hidden_size=hp["hidden"],
            attention=attention,
            bidirectional=True,
            pad_index=PAD,
        ).to(config.device)
    table(
        ["model", "decoder", "parameters"],
        [[name, type(m.decoder).__name__, m.num_parameters()] for name, m in models.items()],
        align="llr",
    )
    print(
        f"  Both: Embedding({vocab}, {hp['emb']}) -> bidirectional GRU({hp['emb']}, "
        f"{hp['hidden']}) encoder, bridge tanh(Linear({2 * hp['hidden']}, "
        f"{hp['hidden']})) to the decoder's GRU({hp['hidden']})."
    )
    return models


def _train_models(
    config: Config, hp: dict, epochs: int, models: dict[str, Seq2Seq], result: Result
) -> dict[str, list[float]]:
    """Step 2: each model trained in turn; its loss per epoch (returned), seconds and final
    loss (metrics)."""
    steps = epochs * hp["steps_per_epoch"]
    print(
        f"  {steps} batches of {hp['batch']} fresh sequences (one length per batch), Adam "
        f"lr {hp['lr']:g} with cosine decay, gradients clipped at norm 1; teacher forcing."
    )
    losses, seconds = {}, {}
    for name, model in models.items():
        start = time.perf_counter()
        losses[name] = train(model, hp, epochs, config.seed, name)
        seconds[name] = time.perf_counter() - start
        result.metrics[f"{name}_train_seconds"] = seconds[name]
        result.metrics[f"{name}_final_loss"] = losses[name][-1]
    return losses


def _score_by_length(
    hp: dict, models: dict[str, Seq2Seq], lengths: list[int], test: tuple, result: Result
) -> tuple[dict, dict]:
    """Step 3: each model decodes the held-out set greedily; the accuracy table by length
    (kept as metrics); returns the scores and the attention weights per model."""
    scores, weights = {}, {}
    for name, model in models.items():
        scores[name], weights[name] = accuracy_by_length(model, *test)
    print(
        f"  {hp['n_test']} sequences per length; 'symbols' is the share of output "
        "positions right, 'exact' of whole outputs."
    )
    table(
        ["length", "plain symbols", "plain exact", "attention symbols", "attention exact"],
        [
            [
                n,
                f"{scores['plain'][n][0]:.3f}",
                f"{scores['plain'][n][1]:.3f}",
                f"{scores['attention'][n][0]:.3f}",
                f"{scores['attention'][n][1]:.3f}",
            ]
            for n in lengths
        ],
    )
    for name in models:
        for n in lengths:
            result.metrics[f"{name}_acc_len{n}"] = scores[name][n][0]
            result.metrics[f"{name}_exact_len{n}"] = scores[name][n][1]
    return scores, weights


def _show_alignment(weights: dict, test: tuple, result: Result) -> float:
    """The share of output steps at which attention peaks next to the mirrored source
    position (a metric, printed and returned)."""
    aligned = alignment(weights["attention"], test[1])
    result.metrics["attention_alignment"] = aligned
    print(
        f"\n  At {aligned:.1%} of the output steps t < n, attention peaks within one "
        "position of the mirrored\n  source position n - 1 - t (the symbol being "
        "written): the anti-diagonal of the heat map."
    )
    return aligned


def _check(lengths: list[int], scores: dict, aligned: float, result: Result) -> None:
    """The claims: the plain model degrades with length, attention does not and beats it
    on the longest sequences, and attention looks at the mirrored symbol."""
    short, long = lengths[0], lengths[-1]
    plain, attn = scores["plain"], scores["attention"]
    result.check(
        f"the plain model degrades with length: its symbol accuracy falls by at "
        f"least 0.3 from n = {short} ({plain[short][0]:.2f}) to n = {long} "
        f"({plain[long][0]:.2f})",
        plain[long][0] <= plain[short][0] - 0.3,
    )
    result.check(
        f"attention stays high: symbol accuracy >= 0.9 at every length (lowest "
        f"{min(attn[n][0] for n in lengths):.2f})",
        all(attn[n][0] >= 0.9 for n in lengths),
    )
    result.check(
        f"at n = {long} attention beats the plain model by at least 0.4 "
        f"({attn[long][0]:.2f} vs {plain[long][0]:.2f})",
        attn[long][0] >= plain[long][0] + 0.4,
    )
    result.check(
        f"attention looks where reversal needs: at {aligned:.0%} >= 90% of the "
        "output steps it peaks within one position of the mirrored source symbol",
        aligned >= 0.9,
    )


@plot.style()
def _save_accuracy_figure(
    config: Config, lengths: list[int], scores: dict, losses: dict, result: Result
) -> None:
    """The figure of accuracy by length (symbols and exact) beside the training losses."""
    fig, (acc_ax, loss_ax) = plot.figure(
        ncols=2, size=(5.5, 4), title="Sequence reversal: plain vs attention seq2seq"
    )
    for name, marker, color in (("plain", "o", "C0"), ("attention", "s", "C1")):
        acc_ax.plot(
            lengths,
            [scores[name][n][0] for n in lengths],
            marker=marker,
            color=color,
            label=f"{name}: symbols",
        )
        acc_ax.plot(
            lengths,
            [scores[name][n][1] for n in lengths],
            marker=marker,
            color=color,
            linestyle="--",
            alpha=0.6,
            label=f"{name}: exact",
        )
    acc_ax.set_xlabel("sequence length n")
    acc_ax.set_ylabel("accuracy (greedy decoding)")
    acc_ax.set_ylim(-0.02, 1.02)
    acc_ax.legend()
    acc_ax.grid(alpha=0.3)
    plot.curves(loss_ax, losses, xlabel="epoch", ylabel="training loss (nats/token)", log=True)
    result.figures.append(plot.save(fig, config.out / "reverse_accuracy.png"))


@plot.style()
def _save_attention_figure(
    config: Config, lengths: list[int], test: tuple, weights: dict, result: Result
) -> None:
    """The heat map of the attention weights for one held-out sequence of middle length."""
    n_show = lengths[len(lengths) // 2]
    row = int(np.flatnonzero(test[1] == n_show)[0])
    w = weights["attention"][row, : n_show + 1, :n_show]  # (outputs incl. <eos>, source)
    names = [chr(ord("a") + int(i) - SPECIALS) for i in test[0][row, :n_show]]
    fig, (heat,) = plot.figure(size=(5.8, 5), title=f"Attention weights, n = {n_show}")
    plot.heatmap(
        heat,
        w,
        "attention weight",
        vmin=0.0,
        vmax=1.0,
        xticklabels=names,
        yticklabels=[*reversed(names), "<eos>"],
    )
    heat.set_xlabel("source symbol")
    heat.set_ylabel("output step (target symbol)")
    result.figures.append(plot.save(fig, config.out / "reverse_attention.png"))
