"""Weight initialisation: symmetry, and the signal's scale through a deep network.

1. Zero initialisation. In a 2-H-1 network with sigmoid hidden units and all weights and
   biases 0, every hidden unit computes the same function, so every one gets the same
   gradient and the same update: they stay identical for ever, and the network is no
   better than one with a single hidden unit. With tanh or ReLU hidden units it is worse:
   h = 0 makes every weight gradient 0, and only the output bias ever moves. Random
   weights break the symmetry.
2. A deep MLP (``depth`` layers of ``width`` units, biases 0) under four schemes,
       small normal  N(0, 0.01^2)
       Xavier        N(0, 2 / (fan_in + fan_out))          (Glorot, gain 1)
       He            N(0, 2 / fan_in)                      (Kaiming, for ReLU)
       orthogonal    Q of a Gaussian matrix's QR           (gain 1)
   with sigmoid, tanh and ReLU. Inputs are N(0, 1); the backward pass is seeded by
   L = sum_n v_n . h_L(x_n) with fixed v_n ~ N(0, I), one per input, so dL/dh_L does not
   depend on the network and what reaches each layer is the network's doing. Per layer:
   the std of the activations h_l (over the batch and the units) and the gradient norm
   ||dL/dW_l||.

   Small weights shrink the signal at every layer until it is gone; Xavier keeps a linear
   (or tanh) layer's variance, so ReLU, which zeroes half of it, loses a factor sqrt(2) per
   layer; He's extra factor 2 makes up for that, and keeps ReLU's signal steady.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import axon as ax
from axon import nn, optim

from .. import plot
from .registry import register
from .shared.base import Config, Result, device_of, heading, table

SCHEMES: dict[str, Callable[[ax.Tensor], ax.Tensor]] = {
    "small normal": lambda w: nn.init.normal_(w, 0.0, 0.01),
    "Xavier": nn.init.xavier_normal_,
    "He": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "orthogonal": nn.init.orthogonal_,
}
ACTIVATIONS: dict[str, type[nn.Module]] = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "ReLU": nn.ReLU}


# ---------------------------------------------------------------- 1. symmetry
def circles(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform in [-1, 1]^2, labelled 1 inside the circle x1^2 + x2^2 < 0.5:
    (n, 2) float32 points and (n,) float32 labels. No straight line separates them."""
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, 2)).astype(np.float32)
    return x, ((x**2).sum(axis=1) < 0.5).astype(np.float32)


def small_net(activation: str, hidden: int, zero: bool) -> nn.Sequential:
    """Linear(2, hidden), activation, Linear(hidden, 1); every weight and bias 0 if
    ``zero``, else PyTorch's default (uniform) initialisation."""
    model = nn.Sequential(nn.Linear(2, hidden), ACTIVATIONS[activation](), nn.Linear(hidden, 1))
    if zero:
        for p in model.parameters():
            nn.init.zeros_(p)
    return model


def train_small(
    model: nn.Sequential, x: np.ndarray, y: np.ndarray, steps: int, lr: float = 0.05
) -> float:
    """Full-batch Adam on the binary cross-entropy of the logits, on the model's device;
    returns the accuracy."""
    dev = device_of(model)
    xt, yt = ax.tensor(x, device=dev), ax.tensor(y[:, None], device=dev)
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(xt), yt).backward()
        opt.step()
    with ax.no_grad():
        return float(((model(xt).cpu().numpy()[:, 0] > 0) == (y > 0.5)).mean())


def unit_spread(model: nn.Sequential) -> float:
    """The largest difference between two hidden units' incoming weights and biases:
    max over units i, j of |[W1 b1]_i - [W1 b1]_j| (0 when all are identical)."""
    w = incoming(model)  # (H, 3)
    return float((w.max(axis=0) - w.min(axis=0)).max())


def incoming(model: nn.Sequential) -> np.ndarray:
    """The hidden units' incoming weights and biases [W1 b1] (H, 3), in host memory."""
    w1, b1 = model[0].weight.detach().cpu().numpy(), model[0].bias.detach().cpu().numpy()
    return np.concatenate([w1, b1[:, None]], axis=1)


# ---------------------------------------------------------------- 2. deep networks
def deep_mlp(activation: str, scheme: str, depth: int, width: int) -> nn.Sequential:
    """``depth`` blocks of Linear(width, width) and the activation; weights by ``scheme``,
    biases 0."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        SCHEMES[scheme](linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


def layer_statistics(
    model: nn.Sequential, x: ax.Tensor, v: ax.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """(activation std, weight-gradient norm), one entry per layer.

    The std of layer l is that of all entries of h_l, (N, width); the gradient is that of
    L = sum_n v_n . h_L(x_n) (``v`` is (N, width), like h_L) with respect to each weight
    matrix.
    """
    if v.shape != x.shape:
        raise ValueError(f"v must have the inputs' shape {tuple(x.shape)}, got {tuple(v.shape)}")
    h, stds = x, []
    for i in range(0, len(model), 2):
        h = model[i + 1](model[i](h))  # (N, width)
        stds.append(float(h.detach().cpu().numpy().std()))
    model.zero_grad()
    (h * v).sum().backward()
    weights = [model[i].weight for i in range(0, len(model), 2)]
    grads = [float(np.linalg.norm(w.grad.cpu().numpy())) for w in weights]
    return np.array(stds), np.array(grads)


@register(
    "init",
    "Weight initialisation: zero init keeps hidden units identical; "
    "activation and gradient scale per layer under small normal, Xavier, He, "
    "orthogonal with sigmoid, tanh, ReLU",
)
def run(config: Config) -> Result:
    result = Result("init")

    heading("1. Zero initialisation: the hidden units stay identical")
    hidden, steps = 8, (150 if config.quick else 400)
    x, y = circles(400, config.seed)
    trained, sym = _train_symmetry(x, y, hidden, steps, config.seed, config.device)
    _check_symmetry(sym, result)

    depth, width, batch = (8, 128, 256) if config.quick else (20, 512, 1000)
    heading(f"2. A deep MLP: {depth} layers of {width} units, batch {batch} of N(0, I) inputs")
    stats = _deep_statistics(depth, width, batch, config.seed, result, config.device)
    _explain_deep(stats, result.metrics, depth, width)
    _check_deep(result.metrics, depth, result)

    result.figures.append(_symmetry_figure(trained, sym, config.out))
    result.figures.append(_statistics_figure(stats, depth, width, config.out))
    return result


def _train_symmetry(
    x: np.ndarray, y: np.ndarray, hidden: int, steps: int, seed: int, device: str = "cpu"
) -> tuple[dict, dict]:
    """Step 1: the small network from zeros and from the default init, with sigmoid and
    tanh, trained on the circle (on ``device``) and tabled; returns the models and, per
    (activation, zero), (unit spread, accuracy, max |W1|, max |W2|)."""
    print(
        f"  Linear(2, {hidden}), hidden activation, Linear({hidden}, 1); BCE on {len(y)} "
        "points, label 1 inside"
    )
    print(
        f"  the circle x1^2 + x2^2 < 0.5 ({y.mean():.0%} of them); full-batch Adam "
        f"lr 0.05, {steps} steps."
    )
    rows, sym, trained = [], {}, {}
    for activation in ("sigmoid", "tanh"):
        for zero in (True, False):
            ax.manual_seed(seed)
            model = trained[activation, zero] = small_net(activation, hidden, zero).to(device)
            acc = train_small(model, x, y, steps)
            w1 = model[0].weight.detach().cpu().numpy()
            w2 = model[2].weight.detach().cpu().numpy()
            sym[activation, zero] = (
                unit_spread(model),
                acc,
                float(np.abs(w1).max()),
                float(np.abs(w2).max()),
            )
            rows.append(
                [
                    activation,
                    "zeros" if zero else "default (random)",
                    f"{sym[activation, zero][0]:.2e}",
                    f"{np.abs(w1).max():.3f}",
                    f"{np.abs(w2).max():.3f}",
                    f"{acc:.3f}",
                ]
            )
    table(
        ["hidden", "initialisation", "max |unit i - unit j|", "max |W1|", "max |W2|", "accuracy"],
        rows,
        align="llrrrr",
    )
    print(f"  The best constant guess scores {max(y.mean(), 1 - y.mean()):.3f}.")
    print(
        "  Zeros, sigmoid: every unit outputs s(0) = 0.5, gets the same gradient and "
        "the same update,"
    )
    print(
        "  so the eight units move as one (the network has one unit's worth of "
        "function). Zeros, tanh:"
    )
    print(
        "  h = tanh(0) = 0 makes dL/dW2 = h delta = 0 and dL/dh = W2^T delta = 0: no "
        "weight ever moves."
    )
    return trained, sym


def _check_symmetry(sym: dict, result: Result) -> None:
    """Step 1's metrics and checks: zeros keep the units identical (sigmoid) or frozen
    (tanh); random weights break the symmetry and learn."""
    spread0, acc0 = sym["sigmoid", True][:2]
    spread_r, acc_r = sym["sigmoid", False][:2]
    result.metrics.update(
        {
            "zero_sigmoid_spread": spread0,
            "zero_sigmoid_accuracy": acc0,
            "random_sigmoid_spread": spread_r,
            "random_sigmoid_accuracy": acc_r,
        }
    )
    result.check(
        "from zeros, the sigmoid hidden units learn but stay identical (spread < "
        "1e-6, weights moved > 0.1)",
        spread0 < 1e-6 and sym["sigmoid", True][2] > 0.1,
    )
    result.check(
        "from zeros, tanh's weights never move (W1 = W2 = 0 after training)",
        sym["tanh", True][2] == 0.0 and sym["tanh", True][3] == 0.0,
    )
    result.check(
        "random initialisation breaks the symmetry and learns the circle "
        f"(accuracy {acc_r:.3f} >= 0.9, at least 0.1 above zero init's {acc0:.3f})",
        spread_r > 0.1 and acc_r >= 0.9 and acc_r >= acc0 + 0.1,
    )


def _deep_statistics(
    depth: int, width: int, batch: int, seed: int, result: Result, device: str = "cpu"
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Step 2: per activation and scheme, the deep MLP's activation std and weight-gradient
    norm per layer on one seeded batch (on ``device``), tabled (first and last layers) and
    kept as metrics."""
    print("  std: of the layer's outputs h_l (all of the batch and units); grad: ||dL/dW_l|| for")
    print("  L = sum_n v_n . h_L(x_n), v_n ~ N(0, I) fixed, one per input.")
    rng = np.random.default_rng(seed)
    inputs, seeds = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
    xb = ax.tensor(inputs, dtype=ax.float32, device=device)  # (N, width)
    v = ax.tensor(seeds, dtype=ax.float32, device=device)  # (N, width): the v_n
    stats: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    rows = []
    for activation in ACTIVATIONS:
        for scheme in SCHEMES:
            ax.manual_seed(seed)
            model = deep_mlp(activation, scheme, depth, width).to(device)  # drawn on the CPU
            stds, grads = layer_statistics(model, xb, v)
            stats[activation, scheme] = stds, grads
            rows.append(
                [
                    activation,
                    scheme,
                    f"{stds[0]:.2e}",
                    f"{stds[-1]:.2e}",
                    f"{stds[-1] / stds[0]:.2e}",
                    f"{grads[0]:.2e}",
                    f"{grads[-1]:.2e}",
                    f"{grads[0] / grads[-1]:.2e}",
                ]
            )
            key = f"{activation}_{scheme.replace(' ', '_')}"
            result.metrics[f"std_ratio_{key}"] = float(stds[-1] / stds[0])
            result.metrics[f"grad_ratio_{key}"] = float(grads[0] / grads[-1])
    table(
        [
            "activation",
            "init",
            "std layer 1",
            f"std layer {depth}",
            "ratio",
            "grad layer 1",
            f"grad layer {depth}",
            "ratio",
        ],
        rows,
        align="llrrrrrr",
    )
    return stats


def _explain_deep(
    stats: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], m: dict, depth: int, width: int
) -> None:
    """Step 2's reading of the table: what each scheme does to the signal and gradient."""
    print(
        "  small normal: each layer multiplies the signal by about 0.01 sqrt(width) "
        f"= {0.01 * width**0.5:.2f}"
    )
    print(
        "  (less for ReLU), so it is gone long before the last layer. Xavier keeps tanh "
        "alive, and loses"
    )
    print(
        f"  ReLU's signal by sqrt(2) a layer ({2 ** (-(depth - 1) / 2):.1e} expected "
        f"after {depth - 1} layers, measured {m['std_ratio_ReLU_Xavier']:.1e}); He keeps it "
        f"({m['std_ratio_ReLU_He']:.2f})."
    )
    print(
        "  With sigmoid the gradient shrinks toward the input under every scheme: each "
        "layer's slope is <= 1/4."
    )
    print(
        "  With ReLU the first/last gradient ratio is the same under every scheme: "
        "scaling all weights by c"
    )
    print(
        f"  scales every layer's weight gradient by c^{depth - 1} alike. What goes wrong "
        "is the size: the first"
    )
    print(
        f"  layer's gradient is {stats['ReLU', 'small normal'][1][0]:.1e} under small "
        f"normal, {stats['ReLU', 'He'][1][0]:.1e} under He."
    )


def _check_deep(m: dict, depth: int, result: Result) -> None:
    """Step 2's checks: small normal loses the signal, He keeps ReLU's, Xavier loses
    sqrt(2) a layer with ReLU and keeps tanh's, sigmoid's gradient shrinks toward the input."""
    result.check(
        "small normal init: with tanh and ReLU the last layer's std is < 1e-4 of the first's",
        all(m[f"std_ratio_{a}_small_normal"] < 1e-4 for a in ("tanh", "ReLU")),
    )
    result.check(
        "ReLU with He init: the activation std and gradient norm of the first and "
        "last layers agree within a factor of 2",
        0.5 < m["std_ratio_ReLU_He"] < 2 and 0.5 < m["grad_ratio_ReLU_He"] < 2,
    )
    result.check(
        "ReLU with Xavier init: the std falls by about sqrt(2) a layer (last/first "
        f"within a factor 2 of 2^-{(depth - 1) / 2:g})",
        0.5 < m["std_ratio_ReLU_Xavier"] / 2 ** (-(depth - 1) / 2) < 2,
    )
    result.check(
        "tanh with Xavier or orthogonal init keeps its signal (last/first std > 0.1)",
        m["std_ratio_tanh_Xavier"] > 0.1 and m["std_ratio_tanh_orthogonal"] > 0.1,
    )
    result.check(
        "sigmoid: under every scheme the first layer's gradient is < 1/10 of the last's",
        all(m[f"grad_ratio_sigmoid_{s.replace(' ', '_')}"] < 0.1 for s in SCHEMES),
    )


@plot.style()
def _symmetry_figure(trained: dict, sym: dict, out: Path) -> Path:
    """The weights into each hidden unit after training from zeros (sigmoid, tanh) and
    from random weights (sigmoid)."""
    fig, panels = plot.figure(
        ncols=3, size=(4.5, 3.8), title="Zero init: the weights into each hidden unit (W1 | b1)"
    )
    for panel, (activation, zero) in zip(
        panels, [("sigmoid", True), ("tanh", True), ("sigmoid", False)], strict=True
    ):
        w = incoming(trained[activation, zero])  # (H, 3)
        plot.heatmap(
            panel, w, "weight", cmap="RdBu_r", symmetric=True, xticklabels=["x1", "x2", "bias"]
        )
        panel.set_xlabel("from")
        panel.set_ylabel("hidden unit")
        panel.set_title(
            f"{activation}, {'zeros' if zero else 'random'}: acc {sym[activation, zero][1]:.2f}"
        )
    return plot.save(fig, out / "init_symmetry.png")


@plot.style()
def _statistics_figure(
    stats: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], depth: int, width: int, out: Path
) -> Path:
    """Activation std and weight-gradient norm per layer, one column per activation."""
    from matplotlib.ticker import MaxNLocator

    fig, panels = plot.figure(
        ncols=3,
        nrows=2,
        size=(4.2, 3.4),
        title=f"{depth}-layer MLP, width {width}: per-layer statistics at initialisation",
    )
    layers = np.arange(1, depth + 1)
    for col, activation in enumerate(ACTIVATIONS):
        for row, (what, idx) in enumerate((("activation std", 0), ("||dL/dW_l||", 1))):
            panel = panels[row * 3 + col]
            for scheme in SCHEMES:
                panel.plot(
                    layers,
                    np.maximum(stats[activation, scheme][idx], 1e-30),
                    marker=".",
                    label=scheme,
                )
            panel.set_yscale("log")
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.set_xlabel("layer")
            panel.set_ylabel(what)
            panel.set_title(activation)
            panel.grid(alpha=0.3)
    panels[0].legend()
    return plot.save(fig, out / "init_layer_statistics.png")
