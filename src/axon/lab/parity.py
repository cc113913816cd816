"""Running parity (the bit-stream XOR): RNN vs LSTM vs GRU, and why the plain RNN fails.

The task: read a random bit stream x_1..x_T one bit per step and output, at every step,
the parity so far, y_t = x_1 ^ ... ^ x_t = y_{t-1} ^ x_t. One bit of state suffices, but
it must be carried without loss over the whole stream: the score is the accuracy of the
last output y_T, on fresh streams.

1. Parameter counts: the course's formulas beside PyTorch's layout and axon's layers.
2. The three layers (same hidden size, same steps) trained at several lengths.
3. The gradient, measured: ||dL/dh_t|| for a loss at the last step only, at
   initialisation and after training, unrolled with the cells (see rnn_diagnostics).
4. Gate saturation of the trained models.

With ``--device`` the layers of step 2 train and are scored there; then they come back
to the CPU, where steps 3 and 4 unroll them cell by cell and read the gates with NumPy.
"""

from __future__ import annotations

import numpy as np

import axon as ax
from axon import nn, optim

from .. import plot
from .registry import register
from .shared.base import Config, Result, device_of, heading, table
from .shared.rnn_diagnostics import (
    KINDS,
    cell_from_layer,
    gate_saturation,
    hidden_grad_norms,
    param_counts,
    unroll,
)
from .shared.sequence_tasks import parity_bits


class ParityNet(nn.Module):
    """A one-layer recurrent layer (``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``) and a linear
    read-out of every step: (N, T, 1) bits -> (N, T, 2) logits."""

    def __init__(self, kind: str, hidden: int) -> None:
        super().__init__()
        self.rnn = getattr(nn, kind)(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: ax.Tensor) -> ax.Tensor:
        out, _ = self.rnn(x)  # (N, T, H)
        return self.head(out)  # (N, T, 2)


def train_parity(
    kind: str,
    length: int,
    hidden: int,
    steps: int,
    seed: int,
    batch: int = 64,
    lr: float = 1e-2,
    device: str = "cpu",
) -> ParityNet:
    """Adam on the cross-entropy of every step's output, on ``device``; a fresh batch
    each step (drawn on the host)."""
    ax.manual_seed(seed)
    model = ParityNet(kind, hidden).to(device)
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        x, y = parity_bits(batch, length, seed=seed * 1_000_003 + step)
        opt.zero_grad()
        logits = model(ax.tensor(x, device=device))  # (N, T, 2)
        target = ax.tensor(y.reshape(-1), device=device)
        loss = loss_fn(logits.reshape(-1, 2), target)  # (N*T, 2)
        loss.backward()
        opt.step()
    return model


def accuracy(model: ParityNet, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(accuracy of the last step's parity, accuracy over all steps)."""
    with ax.no_grad():
        pred = model(ax.tensor(x, device=device_of(model))).cpu().numpy().argmax(axis=2)  # (N, T)
    return float((pred[:, -1] == y[:, -1]).mean()), float((pred == y).mean())


@register(
    "parity",
    "Running parity (bit-stream XOR): RNN vs LSTM vs GRU by length; the "
    "vanishing gradient measured; gate saturation; parameter counts",
)
def run(config: Config) -> Result:
    result = Result("parity")
    hidden = 16
    lengths = [4, 32] if config.quick else [4, 8, 16, 32, 64]
    steps = 250 if config.quick else 600
    n_test = 500 if config.quick else 2000
    long = lengths[-1]

    heading(f"1. Parameters of one recurrent layer (input n = 1, hidden d = {hidden})")
    _show_param_counts(hidden, result)
    heading("2. Accuracy of the last parity bit y_T on fresh streams")
    models, acc = _train_by_length(config, hidden, lengths, steps, n_test, result)
    heading(f"3. The gradient through time: ||dL/dh_t||, loss at the last step, T = {long}")
    print(
        "  Unrolled with RNNCell / LSTMCell / GRUCell holding the trained layer's "
        "weights; each h_t\n  keeps its gradient (retain_grad). Mean over 64 streams."
    )
    x_g, y_g = parity_bits(64, long, seed=20_000 + config.seed)
    xg, tg = ax.tensor(x_g), ax.tensor(y_g[:, -1])
    norms = _gradient_norms(config, models, hidden, long, xg, tg, result)
    heading(f"4. Saturated gates of the trained models (T = {long})")
    _show_saturation(models, long, xg, result)
    _save_figures(config, lengths, acc, norms, result)
    return result


def _show_param_counts(hidden: int, result: Result) -> None:
    """Step 1: the parameter counts of one layer per kind, the course's formula beside
    PyTorch's and axon's, and the check that they differ by the second bias."""
    rows = param_counts(1, hidden)
    table(
        [
            "layer",
            "gates g",
            "course g*d*(d+n+1)",
            "PyTorch g*d*(n+d)+2*g*d",
            "difference g*d",
            "axon sum(p.numel())",
        ],
        [
            [r["kind"], r["gates"], r["course"], r["pytorch"], r["difference"], r["axon"]]
            for r in rows
        ],
    )
    print(
        "  The difference: PyTorch (and axon) keep two bias vectors per gate block, "
        "b_ih and b_hh,\n  where the course has one; their sum acts as one bias, so g*d "
        "parameters are redundant."
    )
    result.check(
        "axon's layers hold g*d*(n+d) + 2*g*d parameters, the course's count "
        "plus g*d, for RNN, LSTM and GRU",
        all(r["axon"] == r["pytorch"] == r["course"] + r["difference"] for r in rows),
    )


def _train_by_length(
    config: Config, hidden: int, lengths: list[int], steps: int, n_test: int, result: Result
) -> tuple[dict[tuple[str, int], ParityNet], dict[tuple[str, int], tuple[float, float]]]:
    """Step 2: each kind trained at each length (on ``config.device``) and scored on fresh
    streams; the table and the checks (all learn short streams, a gated layer beats the
    RNN on long ones). The models are returned on the CPU, for steps 3 and 4."""
    print(
        f"  hidden {hidden}, Adam lr 0.01, {steps} steps of 64 fresh streams, loss on "
        "every step's output;\n  chance is 0.5."
    )
    models: dict[tuple[str, int], ParityNet] = {}
    acc: dict[tuple[str, int], tuple[float, float]] = {}
    for length in lengths:
        x_test, y_test = parity_bits(n_test, length, seed=10_000 + config.seed)
        for kind in KINDS:
            model = train_parity(kind, length, hidden, steps, config.seed, device=config.device)
            acc[kind, length] = accuracy(model, x_test, y_test)
            models[kind, length] = model.to("cpu")
            result.metrics[f"{kind}_T{length}"] = acc[kind, length][0]
    table(
        ["length T"] + [f"{k} y_T" for k in KINDS] + [f"{k} all t" for k in KINDS],
        [
            [length]
            + [f"{acc[k, length][0]:.3f}" for k in KINDS]
            + [f"{acc[k, length][1]:.3f}" for k in KINDS]
            for length in lengths
        ],
    )
    short, long = lengths[0], lengths[-1]
    gated = max(acc["LSTM", long][0], acc["GRU", long][0])
    print(
        f"  At T = {long} the best gated layer scores {gated:.3f}, the plain RNN "
        f"{acc['RNN', long][0]:.3f}."
    )
    result.check(
        f"all three learn the short streams (T = {short}: y_T accuracy >= 0.95)",
        all(acc[k, short][0] >= 0.95 for k in KINDS),
    )
    result.check(
        f"at T = {long} the LSTM or GRU beats the plain RNN by at least 0.15 on y_T",
        gated >= acc["RNN", long][0] + 0.15,
    )
    return models, acc


def _gradient_norms(
    config: Config,
    models: dict[tuple[str, int], ParityNet],
    hidden: int,
    long: int,
    xg: ax.Tensor,
    tg: ax.Tensor,
    result: Result,
) -> dict[str, dict[str, np.ndarray]]:
    """Step 3: ||dL/dh_t|| per kind at initialisation and after training (T = ``long``),
    the tables, and the checks (the cell loop matches the layer; gates carry the gradient)."""
    norms: dict[str, dict[str, np.ndarray]] = {"at initialisation": {}, "after training": {}}
    match = True
    for kind in KINDS:
        trained = models[kind, long]
        cell = cell_from_layer(trained.rnn)
        with ax.no_grad():
            fused = trained.rnn(xg)[0][:, -1].numpy()
            looped = unroll(cell, xg)[-1].numpy()
        match &= bool(np.abs(fused - looped).max() < 1e-4)
        norms["after training"][kind] = hidden_grad_norms(cell, trained.head, xg, tg)
        ax.manual_seed(config.seed)
        fresh = ParityNet(kind, hidden)
        norms["at initialisation"][kind] = hidden_grad_norms(
            cell_from_layer(fresh.rnn), fresh.head, xg, tg
        )
    result.check("the cell loop reproduces the fused layer's h_T (max difference < 1e-4)", match)
    ratio = {}
    for when, by_kind in norms.items():
        print(f"\n  {when}")
        table(
            ["layer", "t = 1", f"t = {long // 2}", f"t = {long}", "ratio t=1 / t=T"],
            [
                [k, f"{v[0]:.2e}", f"{v[long // 2 - 1]:.2e}", f"{v[-1]:.2e}", f"{v[0] / v[-1]:.2e}"]
                for k, v in by_kind.items()
            ],
        )
        for k, v in by_kind.items():
            ratio[when, k] = float(v[0] / v[-1])
            result.metrics[f"grad_ratio_{k}_{when.split()[0]}"] = ratio[when, k]
    best_gated = max(ratio["after training", "LSTM"], ratio["after training", "GRU"])
    result.check(
        "after training, the gradient reaching t = 1 (relative to t = T) is at "
        "least 100x larger through the LSTM or GRU than through the RNN",
        best_gated >= 100 * ratio["after training", "RNN"],
    )
    return norms


def _show_saturation(
    models: dict[tuple[str, int], ParityNet], long: int, xg: ax.Tensor, result: Result
) -> None:
    """Step 4: the share of saturated gates of each trained model, overall and by gate."""
    print(
        "  sigmoid < 0.05 or > 0.95; |tanh| > 0.95: the flat parts, where the local "
        "derivative is small."
    )
    rows = []
    for kind in KINDS:
        shares = gate_saturation(cell_from_layer(models[kind, long].rnn), xg)
        result.metrics[f"saturated_{kind}"] = shares.pop("all")
        rows.append(
            [
                kind,
                f"{result.metrics[f'saturated_{kind}']:.2f}",
                ",  ".join(f"{g} {s:.2f}" for g, s in shares.items()),
            ]
        )
    table(["layer", "saturated", "by gate"], rows, align="lrl")


@plot.style()
def _save_figures(
    config: Config,
    lengths: list[int],
    acc: dict[tuple[str, int], tuple[float, float]],
    norms: dict[str, dict[str, np.ndarray]],
    result: Result,
) -> None:
    """The figures: accuracy of y_T by length, and ||dL/dh_t|` before and after training."""
    long = lengths[-1]
    fig, (acc_ax,) = plot.figure(size=(6, 4), title="Running parity: accuracy of y_T")
    for kind in KINDS:
        acc_ax.plot(lengths, [acc[kind, n][0] for n in lengths], marker="o", label=kind)
    acc_ax.set_xscale("log", base=2)
    acc_ax.set_xlabel("stream length T")
    acc_ax.set_ylabel("accuracy of the last parity bit")
    acc_ax.set_ylim(0.4, 1.02)
    acc_ax.legend()
    acc_ax.grid(alpha=0.3)
    result.figures.append(plot.save(fig, config.out / "parity_accuracy.png"))
    fig, panels = plot.figure(ncols=2, size=(5, 4), title=f"||dL/dh_t||, loss at t = {long} only")
    for panel, (when, by_kind) in zip(panels, norms.items(), strict=True):
        plot.curves(panel, by_kind, xlabel="time step t", ylabel="||dL/dh_t||", log=True)
        panel.set_title(when)
    result.figures.append(plot.save(fig, config.out / "parity_gradient_norms.png"))
