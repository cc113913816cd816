"""Deep and bidirectional recurrent networks on a task that needs the future: reversal.

The task: read T symbols and output, at step t, the symbol at step T-1-t (the sequence
back to front), one output per input step. For the first half of the steps that symbol
has not been read yet: a left-to-right network, however deep, can only guess there
(1/V right for V symbols), so its accuracy is at most 1/2 + 1/(2V). A bidirectional
layer runs a second GRU from the end to the start and concatenates both directions'
states at every step, so each output sees the whole sequence.

Compared: GRU stacks of 1, 2 and 3 layers (``num_layers``), one way and both ways
(``bidirectional=True``), the same hidden size, steps and data.
"""

from __future__ import annotations

import numpy as np

import axon as ax
from axon import nn, optim

from .. import plot
from .registry import register
from .shared.base import Config, Result, device_of, heading, table
from .shared.sequence_tasks import reverse_sequence


class SequenceTagger(nn.Module):
    """Embedding -> GRU(num_layers, bidirectional) -> Linear: (N, T) ids to (N, T, V)
    logits, one output per input step."""

    def __init__(
        self, vocab: int, embed: int, hidden: int, num_layers: int, bidirectional: bool
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(
            embed, hidden, num_layers=num_layers, batch_first=True, bidirectional=bidirectional
        )
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), vocab)

    def forward(self, x: ax.Tensor) -> ax.Tensor:
        out, _ = self.rnn(self.embed(x))  # (N, T, E) -> (N, T, D*H)
        return self.head(out)  # (N, T, V)


def train_tagger(
    model: SequenceTagger,
    length: int,
    vocab: int,
    steps: int,
    seed: int,
    batch: int = 64,
    lr: float = 2e-2,
) -> list[float]:
    """Adam on the cross-entropy of every step's output; a fresh batch each step (drawn
    on the host, moved to the model's device). Returns the loss of each step."""
    dev = device_of(model)
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for step in range(steps):
        x, y = reverse_sequence(batch, length, vocab, seed=seed * 1_000_003 + step)
        opt.zero_grad()
        logits = model(ax.tensor(x, device=dev))  # (N, T, V)
        target = ax.tensor(y.reshape(-1), device=dev)
        loss = loss_fn(logits.reshape(-1, vocab), target)  # (N*T, V)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def accuracy_by_half(
    model: SequenceTagger, x: np.ndarray, y: np.ndarray
) -> tuple[float, float, float]:
    """Accuracy overall, on the first half of the steps (target in the future) and on
    the second half (target already read)."""
    with ax.no_grad():
        pred = model(ax.tensor(x, device=device_of(model))).cpu().numpy().argmax(axis=2)  # (N, T)
    right = pred == y
    half = y.shape[1] // 2
    return float(right.mean()), float(right[:, :half].mean()), float(right[:, half:].mean())


@register(
    "deep-rnn",
    "Stacked (1-3 layers) and bidirectional GRUs on sequence reversal: "
    "only the bidirectional ones see the future",
)
def run(config: Config) -> Result:
    result = Result("deep-rnn")
    vocab, embed, hidden = 4, 8, 32
    length, steps = (6, 150) if config.quick else (8, 600)
    variants = (
        [(1, False), (2, False), (1, True)]
        if config.quick
        else [(1, False), (2, False), (3, False), (1, True), (2, True)]
    )
    ceiling = 0.5 + 0.5 / vocab

    heading(f"Reversal: output at step t the input at step T-1-t (T = {length}, {vocab} symbols)")
    print(
        f"  GRU, hidden {hidden}, embedding {embed}, Adam lr 0.02, {steps} steps of 64 "
        "fresh sequences."
    )
    print(
        f"  A one-way model can only guess the first half: its accuracy is at most "
        f"1/2 + 1/(2*{vocab}) = {ceiling:.3f}."
    )
    x_test, y_test = reverse_sequence(2000, length, vocab, seed=10_000 + config.seed)
    rows, found, curves = [], {}, {}
    for layers, bidir in variants:
        ax.manual_seed(config.seed)
        model = SequenceTagger(vocab, embed, hidden, layers, bidir).to(config.device)
        name = f"{layers} layer{'s' if layers > 1 else ''}, {'bi' if bidir else 'uni'}"
        losses = train_tagger(model, length, vocab, steps, config.seed)
        found[layers, bidir] = accuracy_by_half(model, x_test, y_test)
        curves[name] = losses
        n_params = sum(p.numel() for p in model.rnn.parameters())
        rows.append(
            [name, n_params, f"{losses[-1]:.3f}"] + [f"{a:.3f}" for a in found[layers, bidir]]
        )
        result.metrics[f"acc_l{layers}_{'bi' if bidir else 'uni'}"] = found[layers, bidir][0]
    table(
        ["GRU", "GRU params", "last loss", "accuracy", "first half", "second half"],
        rows,
        align="lrrrrr",
    )

    uni = max(a[0] for (_, bidir), a in found.items() if not bidir)
    bi = max(a[0] for (_, bidir), a in found.items() if bidir)
    print(f"\n  Best one-way model {uni:.3f}; best bidirectional {bi:.3f}.")
    result.check(
        f"no one-way model, however deep, beats the ceiling {ceiling:.3f} (+0.02 for sampling)",
        uni <= ceiling + 0.02,
    )
    result.check("a bidirectional model beats every one-way model by at least 0.2", bi >= uni + 0.2)

    with plot.style():
        fig, (loss_ax,) = plot.figure(size=(6, 4), title=f"Reversal, T = {length}: training loss")
        plot.curves(loss_ax, curves, xlabel="step", ylabel="cross-entropy")
        result.figures.append(plot.save(fig, config.out / "deep_rnn_loss.png"))
    return result
