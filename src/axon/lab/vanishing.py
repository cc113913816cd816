"""Vanishing and exploding gradients, measured layer by layer; what fixes each.

The task: x ~ N(0, I) in ``width`` dimensions, label 1 when x_1 x_2 > 0 (the XOR of two
signs, so a network needs its hidden layers). Every network has ``depth`` hidden layers
of ``width`` units and a Linear(width, 2) head, trained on the cross-entropy.

1. Vanishing. The gradient norm ||dL/dW_l|| of every hidden layer at initialisation, for
       sigmoid     h_l = s(W_l h_{l-1} + b_l)                 Xavier init
       ReLU        h_l = relu(W_l h_{l-1} + b_l)              He init
       residual    h_l = h_{l-1} + W_l s(h_{l-1}) + b_l        Xavier init
       batch norm  h_l = s(BN(W_l h_{l-1} + b_l))             Xavier init
   Backpropagation multiplies dL/dh by W_l^T diag(s'(.)) at every layer, and s' <= 1/4, so
   through the plain sigmoid stack the gradient shrinks geometrically toward the input.
   The skip connection adds the identity to each layer's Jacobian, dh_l/dh_{l-1} =
   I + W_l diag(s'), so the gradient reaching layer 1 is at least what left layer L; batch
   norm divides by the pre-activation's std, which undoes the shrinking scale. Then each
   network is trained with SGD: the plain sigmoid stack's first layer does not move.
2. Exploding. A ReLU network with weights N(0, 4 / fan_in), twice He's variance: each layer
   multiplies dL/dh by about sqrt(2) on the way back, so the gradient grows toward the input
   and the loss and its gradient are huge at the start. Plain SGD diverges;
   ``clip_grad_norm_`` rescales the gradient to norm <= max_norm before each step, which
   bounds every update by lr * max_norm, and the same network trains.

With ``--device`` the data and every network are there; the gradient and update norms
are measured on copies in host memory, in float64.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import axon as ax
from axon import nn, optim
from axon.nn import functional as F

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table

KINDS = ("sigmoid", "ReLU", "residual", "batch norm")


class DeepNet(nn.Module):
    """``depth`` hidden layers of ``width`` units (``kind``: one of KINDS) and a
    Linear(width, 2) head: (N, width) -> (N, 2) logits.

    Weights: He for ReLU, Xavier otherwise, or N(0, std^2) when ``std`` is given; biases
    0. After a forward pass ``hidden`` holds every h_l, each keeping its gradient."""

    def __init__(self, kind: str, depth: int, width: int, std: float | None = None) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.norms = nn.ModuleList(
            [nn.BatchNorm1d(width) for _ in range(depth)] if kind == "batch norm" else []
        )
        self.head = nn.Linear(width, 2)
        for linear in self.layers:
            if std is not None:
                nn.init.normal_(linear.weight, 0.0, std)
            elif kind == "ReLU":
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
        self.hidden: list[ax.Tensor] = []

    def forward(self, x: ax.Tensor) -> ax.Tensor:
        h, self.hidden = x, []
        for i, linear in enumerate(self.layers):
            if self.kind == "sigmoid":
                h = linear(h).sigmoid()
            elif self.kind == "ReLU":
                h = linear(h).relu()
            elif self.kind == "residual":
                h = h + linear(h.sigmoid())
            else:
                h = self.norms[i](linear(h)).sigmoid()
            if h.requires_grad:
                h.retain_grad()
            self.hidden.append(h)  # (N, width)
        return self.head(h)


def sign_xor(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points x ~ N(0, I_dim), float32 (n, dim), and labels 1[x_1 x_2 > 0], int64 (n,)."""
    if dim < 2:
        raise ValueError(f"sign_xor needs dim >= 2, got {dim}")
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)


def layer_gradients(
    net: DeepNet, x: ax.Tensor, y: ax.Tensor
) -> tuple[np.ndarray, np.ndarray, float]:
    """One backward pass of the cross-entropy: (||dL/dW_l|| per hidden layer,
    ||dL/dh_l|| per hidden layer, the loss)."""
    net.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    weights = np.array([np.linalg.norm(lin.weight.grad.cpu().numpy()) for lin in net.layers])
    hidden = np.array([np.linalg.norm(h.grad.cpu().numpy()) for h in net.hidden])
    return weights, hidden, float(loss.item())


def total_norm(net: nn.Module) -> float:
    """sqrt(sum over parameters of ||grad||^2), in float64."""
    return math.sqrt(
        sum(
            float((p.grad.cpu().numpy().astype(np.float64) ** 2).sum())
            for p in net.parameters()
            if p.grad is not None
        )
    )


def train(
    net: DeepNet,
    x: ax.Tensor,
    y: ax.Tensor,
    steps: int,
    lr: float,
    momentum: float = 0.0,
    clip: float | None = None,
) -> tuple[list[float], list[float], list[float]]:
    """Full-batch SGD on the cross-entropy, the gradient clipped to norm ``clip`` first if
    given. Returns per step: the loss, the gradient norm before clipping (what
    ``clip_grad_norm_`` returns, else measured) and the norm of the update."""
    opt = optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    losses, norms, updates = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):  # the unclipped run overflows
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            if clip is None:
                norms.append(total_norm(net))
            else:
                norms.append(float(nn.utils.clip_grad_norm_(net.parameters(), clip).item()))
            before = [p.detach().cpu().numpy().astype(np.float64) for p in net.parameters()]
            opt.step()
            updates.append(
                math.sqrt(
                    sum(
                        float(((p.detach().cpu().numpy() - b) ** 2).sum())
                        for p, b in zip(net.parameters(), before, strict=True)
                    )
                )
            )
            losses.append(float(loss.item()))
    return losses, norms, updates


def _finite_or_inf(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) else math.inf for v in values]


@register(
    "vanishing",
    "Vanishing gradients per layer: deep sigmoid vs ReLU vs residual vs "
    "batch norm; exploding gradients from a large init, tamed by clip_grad_norm_",
)
def run(config: Config) -> Result:
    result = Result("vanishing")
    depth, width, n, steps, lr = (
        (10, 32, 256, 120, 0.02) if config.quick else (20, 64, 512, 200, 0.01)
    )
    if config.epochs is not None:
        steps = config.epochs
    x_np, y_np = sign_xor(n, width, config.seed)
    x, y = ax.tensor(x_np, device=config.device), ax.tensor(y_np, device=config.device)

    heading(
        f"1. Vanishing: ||dL/dW_l|| per layer at initialisation ({depth} layers of "
        f"{width}, {n} points)"
    )
    grads = _vanishing_gradients(x, y, depth, width, config.seed, result)
    curves = _train_stacks(x, y, depth, width, steps, lr, config.seed, result)

    std = 2.0 / math.sqrt(width)
    heading(
        f"2. Exploding: ReLU with weights N(0, 4 / fan_in), std {std:.3f} "
        f"(He: {math.sqrt(2 / width):.3f})"
    )
    explode = _exploding_gradients(x, y, depth, width, std, config.seed, result)
    runs = _train_clipped(x, y, depth, width, std, steps, config.seed, result)

    result.figures.append(_vanishing_figure(grads, curves, depth, width, config.out))
    result.figures.append(_exploding_figure(explode, runs, depth, config.out))
    return result


def _vanishing_gradients(
    x: ax.Tensor, y: ax.Tensor, depth: int, width: int, seed: int, result: Result
) -> dict[str, np.ndarray]:
    """Step 1: each network's weight-gradient norm per layer at initialisation, tabled
    (first, middle, last layer); checks that only the sigmoid stack's gradient vanishes."""
    grads, rows = {}, []
    for kind in KINDS:
        ax.manual_seed(seed)
        net = DeepNet(kind, depth, width).to(x.device)  # where the data are
        weights, hidden, loss0 = layer_gradients(net, x, y)
        grads[kind] = weights
        ratio = float(weights[0] / weights[-1])
        result.metrics[f"grad_ratio_{kind}"] = ratio
        rows.append(
            [
                kind,
                f"{weights[0]:.2e}",
                f"{weights[depth // 2 - 1]:.2e}",
                f"{weights[-1]:.2e}",
                f"{ratio:.1e}",
                f"{hidden[0] / hidden[-1]:.1e}",
            ]
        )
    table(
        [
            "network",
            "layer 1",
            f"layer {depth // 2}",
            f"layer {depth}",
            "layer 1 / last",
            "||dL/dh_1|| / ||dL/dh_L||",
        ],
        rows,
        align="lrrrrr",
    )
    sig = result.metrics["grad_ratio_sigmoid"]
    print(
        f"  The sigmoid stack's first layer gets {sig:.1e} of its last layer's gradient: "
        f"about {sig ** (1 / (depth - 1)):.2f} per"
    )
    print(
        "  layer, each a s' <= 1/4 times a weight matrix. The skip connections and batch "
        "norm keep every"
    )
    print(
        "  layer's gradient within a small factor of the last one's, with the same sigmoid units."
    )
    result.check(
        "the deep sigmoid net's first-layer gradient is orders of magnitude below "
        f"its last layer's (ratio {sig:.1e} < 1e-3)",
        sig < 1e-3,
    )
    result.check(
        "with ReLU (He init), skip connections or batch norm, the first layer's "
        "gradient is within a factor of 10 of the last's",
        all(0.1 < result.metrics[f"grad_ratio_{k}"] < 10 for k in KINDS[1:]),
    )
    return grads


def _train_stacks(
    x: ax.Tensor,
    y: ax.Tensor,
    depth: int,
    width: int,
    steps: int,
    lr: float,
    seed: int,
    result: Result,
) -> dict[str, list[float]]:
    """Step 1, trained: each network by full-batch SGD with momentum; how far its first
    layer moved; checks that the sigmoid stack stays at guessing and batch norm learns."""
    momentum = 0.9
    print(f"\n  Trained: full-batch SGD lr {lr}, momentum {momentum}, {steps} steps.")
    curves, rows = {}, []
    for kind in KINDS:
        ax.manual_seed(seed)
        net = DeepNet(kind, depth, width).to(x.device)
        first = net.layers[0].weight.detach().cpu().numpy().copy()
        curves[kind], _, _ = train(net, x, y, steps, lr, momentum)
        last = net.layers[0].weight.detach().cpu().numpy()
        moved = float(np.linalg.norm(last - first) / np.linalg.norm(first))
        result.metrics[f"first_layer_moved_{kind}"] = moved
        result.metrics[f"loss_{kind}"] = curves[kind][-1]
        rows.append([kind, f"{curves[kind][0]:.4f}", f"{curves[kind][-1]:.4f}", f"{moved:.1e}"])
    table(["network", "loss at start", "loss at end", "layer 1 moved ||dW|| / ||W||"], rows)
    print(
        f"  ln 2 = {math.log(2):.4f} is the loss of guessing. The sigmoid stack's "
        "first-layer updates are"
    )
    print("  at the size of float32 round-off: its first layer stays where it started.")
    result.check(
        "SGD leaves the sigmoid stack at the guessing loss (within 0.01 of ln 2) "
        "with its first layer unmoved (< 1e-6 relative)",
        abs(curves["sigmoid"][-1] - math.log(2)) < 0.01
        and result.metrics["first_layer_moved_sigmoid"] < 1e-6,
    )
    result.check(
        "the same sigmoid units with batch norm learn (loss < 0.3)", curves["batch norm"][-1] < 0.3
    )
    return curves


def _exploding_gradients(
    x: ax.Tensor, y: ax.Tensor, depth: int, width: int, std: float, seed: int, result: Result
) -> dict[str, tuple[np.ndarray, float, float]]:
    """Step 2: the ReLU net under He's init and a large one, at initialisation: per init
    (||dL/dh_l|| per layer, loss, gradient norm); checks that the large init explodes."""
    explode = {}
    for name, s in (("He", None), ("large", std)):
        ax.manual_seed(seed)
        net = DeepNet("ReLU", depth, width, std=s).to(x.device)
        weights, hidden, loss0 = layer_gradients(net, x, y)
        explode[name] = (hidden, loss0, total_norm(net))
    table(
        ["init", "loss", "gradient norm", "||dL/dh_1||", f"||dL/dh_{depth}||", "ratio"],
        [
            [
                name,
                f"{loss0:.3g}",
                f"{norm:.3g}",
                f"{h[0]:.2e}",
                f"{h[-1]:.2e}",
                f"{h[0] / h[-1]:.1f}",
            ]
            for name, (h, loss0, norm) in explode.items()
        ],
    )
    grow = float(explode["large"][0][0] / explode["large"][0][-1])
    blow = explode["large"][2] / explode["He"][2]
    print(
        f"  sqrt(2)^{depth - 1} = {2 ** ((depth - 1) / 2):.1f}: the growth expected from "
        f"the output back to layer 1; measured {grow:.1f}."
    )
    result.metrics.update({"explode_hidden_ratio": grow, "explode_vs_he": blow})
    result.check(
        "with the large init the gradient grows toward the input (||dL/dh_1|| > "
        f"5 ||dL/dh_{depth}||) and its norm is > 10x He's",
        grow > 5 and blow > 10,
    )
    return explode


def _train_clipped(
    x: ax.Tensor,
    y: ax.Tensor,
    depth: int,
    width: int,
    std: float,
    steps: int,
    seed: int,
    result: Result,
) -> dict[str, tuple[list[float], list[float], list[float]]]:
    """Step 2, trained: plain SGD from the large init with and without
    ``clip_grad_norm_``; checks that clipping bounds the updates and tames the loss."""
    lr_c, max_norm = 0.1, 1.0
    print(
        f"\n  Plain SGD lr {lr_c}, {steps} steps, from the large init; clipped: "
        f"clip_grad_norm_(max_norm={max_norm:g}) before every step."
    )
    runs = {}
    for name, clip in (("not clipped", None), ("clipped", max_norm)):
        ax.manual_seed(seed)
        net = DeepNet("ReLU", depth, width, std=std).to(x.device)
        runs[name] = train(net, x, y, steps, lr_c, clip=clip)
    rows = []
    for name, (losses, norms, updates) in runs.items():
        rows.append(
            [
                name,
                f"{losses[0]:.3g}",
                f"{max(_finite_or_inf(losses)):.3g}",
                f"{losses[-1]:.3g}",
                f"{max(_finite_or_inf(norms)):.3g}",
                f"{max(_finite_or_inf(updates)):.3g}",
            ]
        )
    table(
        [
            "SGD",
            "loss at start",
            "largest loss",
            "loss at end",
            "largest gradient norm",
            "largest update",
        ],
        rows,
    )
    losses, norms, updates = runs["clipped"]
    bad = runs["not clipped"][0]
    print(
        f"  Clipped, every update is at most lr * max_norm = {lr_c * max_norm:g}; the "
        "gradient's direction is kept."
    )
    result.metrics.update({"clipped_loss": losses[-1], "clipped_max_update": max(updates)})
    result.check(
        f"clipping bounds every update by lr * max_norm = {lr_c * max_norm:g} "
        "(while the gradient norm exceeds max_norm)",
        max(updates) <= lr_c * max_norm * (1 + 1e-4) and max(norms) > max_norm,
    )
    result.check(
        "without clipping the loss blows up (overflows, or rises above 3x its start); "
        "clipped, it ends finite and below half its start",
        max(_finite_or_inf(bad)) > 3 * bad[0]
        and math.isfinite(losses[-1])
        and losses[-1] < losses[0] / 2,
    )
    return runs


@plot.style()
def _vanishing_figure(
    grads: dict[str, np.ndarray], curves: dict[str, list[float]], depth: int, width: int, out: Path
) -> Path:
    """Step 1's figure: the gradient norm per layer, and the training curves."""
    from matplotlib.ticker import MaxNLocator

    layers = np.arange(1, depth + 1)
    fig, (g_ax, l_ax) = plot.figure(
        ncols=2, size=(5.5, 4.2), title=f"Vanishing gradients: {depth} layers of {width}"
    )
    for kind in KINDS:
        g_ax.plot(layers, grads[kind], marker=".", label=kind)
    g_ax.set_yscale("log")
    g_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    g_ax.set_xlabel("layer l (1 = next to the input)")
    g_ax.set_ylabel("||dL/dW_l|| at initialisation")
    g_ax.legend()
    g_ax.grid(alpha=0.3)
    plot.curves(l_ax, curves, xlabel="SGD step", ylabel="cross-entropy")
    l_ax.axhline(math.log(2), color="k", lw=0.8, ls=":")
    l_ax.set_title("training (dotted: ln 2, guessing)")
    return plot.save(fig, out / "vanishing_gradients.png")


@plot.style()
def _exploding_figure(
    explode: dict[str, tuple[np.ndarray, float, float]],
    runs: dict[str, tuple[list[float], list[float], list[float]]],
    depth: int,
    out: Path,
) -> Path:
    """Step 2's figure: ||dL/dh_l|| per layer by init, and SGD's loss with and without
    clipping (overflows left out)."""
    from matplotlib.ticker import MaxNLocator

    layers = np.arange(1, depth + 1)
    fig, (h_ax, c_ax) = plot.figure(
        ncols=2, size=(5.5, 4.2), title="Exploding gradients and clipping"
    )
    for name, (hidden, _, _) in explode.items():
        h_ax.plot(layers, hidden, marker=".", label=f"{name} init")
    h_ax.set_yscale("log")
    h_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    h_ax.set_xlabel("layer l")
    h_ax.set_ylabel("||dL/dh_l||")
    h_ax.legend()
    h_ax.grid(alpha=0.3)
    shown = {name: [v if math.isfinite(v) else np.nan for v in r[0]] for name, r in runs.items()}
    plot.curves(c_ax, shown, xlabel="SGD step", ylabel="cross-entropy", log=True)
    c_ax.set_title("large init: SGD with and without clipping")
    return plot.save(fig, out / "exploding_gradients.png")
