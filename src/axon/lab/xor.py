"""XOR: one threshold unit cannot compute it; a 2-2-1 network can.

1. A perceptron (step activation, perceptron learning rule) never gets more than 3 of the
   4 inputs right, and no linear threshold unit can: the four inequalities XOR asks of
   (w0, w1, w2) contradict each other. A search over a grid of weights shows it too: it
   finds 14 of the 16 labelings of the four points, never XOR (nor XNOR).
2. The course's hand-set ReLU network y = ReLU(ReLU(x1 + x2) - 2 ReLU(x1 + x2 - 1))
   computes XOR exactly.
3. A 2-2-1 sigmoid network trained with binary cross-entropy learns it.
"""

from __future__ import annotations

import numpy as np

import axon as ax
from axon import nn, optim

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table

INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR = [0.0, 1.0, 1.0, 0.0]


# ---------------------------------------------------------------- 1. the perceptron
def threshold(w: ax.Tensor, x: ax.Tensor) -> ax.Tensor:
    """A linear threshold unit: 1 where w0 + w1 x1 + w2 x2 > 0, else 0 (rows of x)."""
    return (x @ w[1:] + w[0] > 0).float()


def train_perceptron(
    x: ax.Tensor, t: ax.Tensor, epochs: int, lr: float = 1.0
) -> tuple[ax.Tensor, list[tuple]]:
    """The perceptron rule from zero weights: for each sample in turn,
    w <- w + lr (t - o) (1, x1, x2). Returns the weights and every step as
    (epoch, x, t, s, o, w after, how many of the 4 inputs w then gets right)."""
    w = ax.zeros(3)
    steps = []
    for epoch in range(1, epochs + 1):
        for xi, ti in zip(x, t, strict=True):
            s = (xi @ w[1:] + w[0]).item()
            o = threshold(w, xi[None])[0]
            w = w + lr * (ti - o) * ax.cat([ax.ones(1), xi])
            correct = int((threshold(w, x) == t).sum().item())
            steps.append((epoch, xi.tolist(), ti.item(), s, o.item(), w.tolist(), correct))
    return w, steps


def grid_search(x: ax.Tensor, t: ax.Tensor, steps: int) -> tuple[int, int, bool]:
    """Every (w0, w1, w2) on a grid over [-2, 2]^3: the most XOR inputs any gets right,
    how many of the 16 labelings of the four points the grid realises, and whether XOR
    is among them."""
    g = np.linspace(-2.0, 2.0, steps)
    w = ax.tensor(
        np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3), dtype=ax.float32
    )  # (n, 3): every grid point
    out = (w[:, 1:] @ x.T + w[:, :1] > 0).float()  # (n, 4): each row a labeling
    best = int((out == t).sum(dim=1).max().item())
    codes = (out @ ax.tensor([1.0, 2.0, 4.0, 8.0])).long().numpy()
    xor_code = int((t * ax.tensor([1.0, 2.0, 4.0, 8.0])).sum().item())
    return best, len(np.unique(codes)), xor_code in set(codes.tolist())


# ---------------------------------------------------------------- 2. the hand-set network
def hand_set_relu(x: ax.Tensor) -> tuple[ax.Tensor, ax.Tensor]:
    """h1 = ReLU(x1 + x2), h2 = ReLU(x1 + x2 - 1), y = ReLU(h1 - 2 h2)."""
    w1 = ax.tensor([[1.0, 1.0], [1.0, 1.0]])
    b1 = ax.tensor([0.0, -1.0])
    w2 = ax.tensor([[1.0, -2.0]])
    h = (x @ w1.T + b1).relu()  # (4, 2)
    y = (h @ w2.T).relu()  # (4, 1)
    return h, y[:, 0]


# ---------------------------------------------------------------- 3. the trained network
def train_sigmoid_net(
    x: ax.Tensor, t: ax.Tensor, seed: int, epochs: int, lr: float
) -> tuple[nn.Module, list[float]]:
    """nn.Sequential(Linear(2, 2), Sigmoid, Linear(2, 1), Sigmoid): full-batch gradient
    descent with momentum 0.9 on the binary cross-entropy."""
    ax.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.BCELoss()
    target = t[:, None]
    losses = []
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


def solves_xor(model: nn.Module, x: ax.Tensor, t: ax.Tensor) -> bool:
    with ax.no_grad():
        return bool(((model(x)[:, 0] > 0.5).float() == t).all().item())


@register("xor", "XOR: a perceptron cannot learn it, a 2-2-1 network can (hand-set and trained)")
def run(config: Config) -> Result:
    result = Result("xor")
    x = ax.tensor(INPUTS)
    t = ax.tensor(XOR)

    heading("1. A single perceptron cannot compute XOR")
    p_epochs = 10 if config.quick else 25
    w, best_trained = _show_perceptron(x, t, p_epochs)
    grid_n = 21 if config.quick else 41
    best_grid, labelings = _show_not_separable(x, t, grid_n, best_trained, result)
    heading("2. The course's hand-set ReLU network computes XOR")
    _show_hand_set(x, result)
    heading("3. A trained 2-2-1 sigmoid network learns XOR")
    model, losses, seed, restarts = _train_network(config, x, t, result)
    result.metrics.update(
        {
            "perceptron_best": best_trained,
            "grid_best": best_grid,
            "labelings": labelings,
            "seed": seed,
            "restarts": restarts,
            "loss_first": losses[0],
            "loss_last": losses[-1],
        }
    )
    _save_figures(config, w, p_epochs, model, losses, result)
    return result


def _show_perceptron(x: ax.Tensor, t: ax.Tensor, p_epochs: int) -> tuple[ax.Tensor, int]:
    """Step 1a: the perceptron rule on XOR, its first epochs step by step and where it
    cycles; returns its last weights and the most inputs it ever gets right."""
    w, steps = train_perceptron(x, t, p_epochs)
    print(f"  The perceptron rule from w = (0, 0, 0), η = 1, {p_epochs} epochs;")
    print("  o = 1 if s = w0 + w1 x1 + w2 x2 > 0 else 0;  w <- w + η (t - o) (1, x1, x2)")
    shown = [st for st in steps if st[0] <= 3]
    table(
        ["epoch", "(x1, x2)", "t", "s", "o", "w after", "right after"],
        [
            [
                e,
                f"({a:g}, {b:g})",
                f"{tt:g}",
                f"{ss:g}",
                f"{o:g}",
                "(" + ", ".join(f"{v: g}" for v in wv) + ")",
                f"{k}/4",
            ]
            for e, (a, b), tt, ss, o, wv, k in shown
        ],
        align="rllrrlr",
    )
    ends = [st[5] for st in steps[3::4]]  # the weights at the end of each epoch
    cycle = next((e for e in range(1, len(ends)) if ends[e] == ends[e - 1]), None)
    if cycle is not None:
        print(
            f"  Epoch {cycle + 1} ends where epoch {cycle} ended: from then on the rule "
            "repeats the same four steps forever."
        )
    best_trained = max(st[-1] for st in steps)
    print(
        f"  Over all {len(steps)} steps the weights never get more than {best_trained} of "
        "the 4 inputs right."
    )
    return w, best_trained


def _show_not_separable(
    x: ax.Tensor, t: ax.Tensor, grid_n: int, best_trained: int, result: Result
) -> tuple[int, int]:
    """Step 1b: why no threshold unit computes XOR, the grid search that agrees, and the
    checks on both; returns the grid's best count and its number of labelings."""
    print("\n  Why no threshold unit can: XOR asks of (w0, w1, w2)")
    table(
        ["x1", "x2", "XOR", "condition"],
        [
            ["0", "0", "0", "w0           <= 0"],
            ["0", "1", "1", "w0      + w2 >  0"],
            ["1", "0", "1", "w0 + w1      >  0"],
            ["1", "1", "0", "w0 + w1 + w2 <= 0"],
        ],
    )
    print("  Adding the two middle rows: 2 w0 + w1 + w2 > 0.")
    print("  Adding the first and last:  2 w0 + w1 + w2 <= 0.  A contradiction: the four")
    print("  points are not linearly separable, so at most 3 of 4 can be right (and 3 can:")
    print("  OR's weights get all but (1, 1)).")

    best_grid, labelings, has_xor = grid_search(x, t, grid_n)
    print(f"\n  Search over all {grid_n}^3 = {grid_n**3} weight vectors on a grid in [-2, 2]^3:")
    print(
        f"    most XOR inputs right: {best_grid}/4;  labelings of the 4 points found: "
        f"{labelings} of 16 (XOR among them: {'yes' if has_xor else 'no'})"
    )
    result.check(
        "the trained perceptron never classifies more than 3 of 4 XOR inputs", best_trained <= 3
    )
    result.check(
        f"no threshold unit on the {grid_n}^3 grid gets more than 3 of 4 "
        f"(it reaches {labelings} of 16 labelings, not XOR)",
        best_grid == 3 and not has_xor,
    )
    return best_grid, labelings


def _show_hand_set(x: ax.Tensor, result: Result) -> None:
    """Step 2: the hand-set ReLU network's hidden units and outputs on the four inputs."""
    print("  h1 = ReLU(x1 + x2),  h2 = ReLU(x1 + x2 - 1),  y = ReLU(h1 - 2 h2)")
    h, y = hand_set_relu(x)
    table(
        ["x1", "x2", "h1", "h2", "y", "XOR"],
        [
            [f"{a:g}", f"{b:g}", f"{h1:g}", f"{h2:g}", f"{yy:g}", f"{tt:g}"]
            for (a, b), (h1, h2), yy, tt in zip(INPUTS, h.tolist(), y.tolist(), XOR, strict=True)
        ],
    )
    result.check("the hand-set ReLU network outputs 0, 1, 1, 0", y.tolist() == XOR)


def _train_network(
    config: Config, x: ax.Tensor, t: ax.Tensor, result: Result
) -> tuple[nn.Module, list[float], int, int]:
    """Step 3: the 2-2-1 sigmoid network trained, restarted with the next seed while stuck
    (at most 5 times); returns the model, its losses, its seed and the restarts."""
    epochs, lr = (300, 1.0) if config.quick else (1000, 1.0)
    print("  nn.Sequential(Linear(2, 2), Sigmoid(), Linear(2, 1), Sigmoid()), BCELoss,")
    print(
        f"  SGD lr={lr:g} momentum=0.9, {epochs} full-batch steps. About one start in ten ends in a"
    )
    print("  local minimum (one input stuck near 0.5); such a run is restarted with the next seed.")
    seed, restarts = config.seed, 0
    model, losses = train_sigmoid_net(x, t, seed, epochs, lr)
    while not solves_xor(model, x, t) and restarts < 5:
        print(f"  seed {seed}: stuck at loss {losses[-1]:.4f}; restarting with seed {seed + 1}")
        seed, restarts = seed + 1, restarts + 1
        model, losses = train_sigmoid_net(x, t, seed, epochs, lr)
    with ax.no_grad():
        out = model(x)[:, 0]
    table(
        ["x1", "x2", "output", "XOR"],
        [
            [f"{a:g}", f"{b:g}", f"{o:.4f}", f"{tt:g}"]
            for (a, b), o, tt in zip(INPUTS, out.tolist(), XOR, strict=True)
        ],
    )
    print(f"  seed {seed}: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    result.check(
        "the trained network puts all 4 outputs on the right side of 0.5", solves_xor(model, x, t)
    )
    return model, losses, seed, restarts


def _save_figures(
    config: Config,
    w: ax.Tensor,
    p_epochs: int,
    model: nn.Module,
    losses: list[float],
    result: Result,
) -> None:
    """The figures: the decision regions of the three units, and the trained network's loss."""
    pts, lab = np.array(INPUTS), np.array(XOR)

    def predict(model_fn):
        def f(grid: np.ndarray) -> np.ndarray:
            with ax.no_grad():
                return model_fn(ax.tensor(grid, dtype=ax.float32)).numpy().ravel()

        return f

    with plot.style():
        fig, panels = plot.figure(ncols=3, size=(4.4, 3.6), title="XOR: decision regions")
        units = (
            (lambda g: threshold(w, g), f"perceptron after {p_epochs} epochs", "output (0 or 1)"),
            (lambda g: hand_set_relu(g)[1], "hand-set ReLU network", "output"),
            (model, "trained sigmoid network", "output (probability of 1)"),
        )
        for panel, (unit, title, meaning) in zip(panels, units, strict=True):
            plot.decision_boundary(
                panel, predict(unit), pts, lab, title=title, colorbar_label=meaning, legend=False
            )
        plot.legend_below(fig, panels[0])
        result.figures.append(plot.save(fig, config.out / "xor_decision_regions.png"))
        fig, (loss_ax,) = plot.figure(size=(6, 4), title="XOR: trained 2-2-1 network")
        plot.curves(loss_ax, {"BCE loss": losses}, xlabel="step", ylabel="BCE loss")
        result.figures.append(plot.save(fig, config.out / "xor_loss.png"))
