"""Universal approximation in one dimension: a sum of sigmoids fits a curve better as
pieces are added.

The target is f(x) = sin(2x) + 0.3 x on [-3, 3]. A network with one hidden layer of H
sigmoid units computes

    g(x) = c + sum_k a_k s(w_k x + b_k),

a constant plus H smoothed steps, step k of height a_k centred at -b_k / w_k with
steepness w_k. Three ways to choose the pieces, for H = 1, 2, 4, ...:

1. By hand (the proof's construction): cut [-3, 3] into H pieces at t_0 < ... < t_H and put
   a steep step of height f(t_k) - f(t_{k-1}) in the middle of piece k. The result is a
   staircase through f's values at the cuts; its largest error shrinks like 1/H.
2. Least squares: steps at the same centres, less steep, and the heights (a, c) that
   minimise the squared error, a linear problem solved exactly.
3. Trained: the least-squares network as the start, then every weight (w, b, a, c) by
   Adam on the mean squared error.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

import axon as ax
from axon import nn, optim

from .. import plot
from .registry import register
from .shared.base import Config, Result, device_of, heading, table

LO, HI = -3.0, 3.0


def target(x: np.ndarray) -> np.ndarray:
    """f(x) = sin(2x) + 0.3 x."""
    return np.sin(2.0 * x) + 0.3 * x


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), without overflow


def staircase(x: np.ndarray, pieces: int, sharpness: float = 50.0) -> np.ndarray:
    """The hand-built sum of ``pieces`` sigmoids: f(t_0) + sum_k (f(t_k) - f(t_{k-1}))
    s(w (x - m_k)), with t_k evenly spaced over [LO, HI], m_k the middle of
    [t_{k-1}, t_k] and steepness w = sharpness / piece width (so each step rises within a
    few percent of its piece)."""
    if pieces < 1:
        raise ValueError(f"pieces must be at least 1, got {pieces}")
    steepness = sharpness * pieces / (HI - LO)
    t = np.linspace(LO, HI, pieces + 1)
    mid = (t[:-1] + t[1:]) / 2
    heights = np.diff(target(t))  # (pieces,)
    return target(t[0]) + _sigmoid(steepness * (x[:, None] - mid)) @ heights


def spread_network(hidden: int, x: np.ndarray, y: np.ndarray, seed: int) -> nn.Sequential:
    """Linear(1, H), Sigmoid, Linear(H, 1) with unit k's step centred near the middle of
    the k-th of H equal pieces of [LO, HI] (jittered by a quarter piece) and steepness
    about 4 / piece width; the output weights and bias are the least-squares fit on x."""
    rng = np.random.default_rng(seed)
    width = (HI - LO) / hidden
    centres = LO + (np.arange(hidden) + 0.5 + rng.uniform(-0.25, 0.25, hidden)) * width
    slopes = 4.0 / width * rng.uniform(0.75, 1.25, hidden)
    net = nn.Sequential(nn.Linear(1, hidden), nn.Sigmoid(), nn.Linear(hidden, 1))
    net[0].weight.array[...] = slopes[:, None]
    net[0].bias.array[...] = -slopes * centres
    features = _sigmoid(x @ slopes[None] - slopes * centres)  # (n, H)
    design = np.concatenate([features, np.ones((len(x), 1))], axis=1)  # (n, H + 1)
    heights, *_ = np.linalg.lstsq(design, y, rcond=None)  # (H + 1, 1)
    net[2].weight.array[...] = heights[:-1].T
    net[2].bias.array[...] = heights[-1]
    return net


def fit(net: nn.Sequential, x: np.ndarray, y: np.ndarray, steps: int, lr: float) -> float:
    """Full-batch Adam on the mean squared error, the learning rate annealed to 0 on a
    cosine, on the network's device; returns the final MSE."""
    dev = device_of(net)
    xt, yt = ax.tensor(x, device=dev), ax.tensor(y, device=dev)
    opt = optim.Adam(net.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(net(xt), yt).backward()
        opt.step()
        schedule.step()
    return mse(net, x, y)


def mse(net: nn.Sequential, x: np.ndarray, y: np.ndarray) -> float:
    return float(((predict(net, x)[:, None] - y) ** 2).mean())


def predict(net: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """The network's outputs (N,) on x (N, 1), in host memory."""
    with ax.no_grad():
        return net(ax.tensor(x, device=device_of(net))).cpu().numpy()[:, 0]


@register(
    "universal-approximation",
    "A sum of sigmoids fits a 1-D function better as "
    "hidden units are added: hand-built staircase, least squares, trained",
)
def run(config: Config) -> Result:
    result = Result("universal-approximation")
    sizes = [1, 2, 4, 8, 16] if config.quick else [1, 2, 4, 8, 16, 32, 64]
    steps, lr = (500, 0.05) if config.quick else (2000, 0.02)
    if config.epochs is not None:
        steps = config.epochs
    x = np.linspace(LO, HI, 200, dtype=np.float32)[:, None]  # (200, 1)
    y = target(x).astype(np.float32)  # (200, 1)
    dense = np.linspace(LO, HI, 2001)  # the hand-built staircase is checked everywhere

    heading("f(x) = sin(2x) + 0.3 x on [-3, 3], fitted by c + sum_k a_k s(w_k x + b_k)")
    print(
        f"  200 evenly spaced points; trained: Adam lr {lr} (cosine to 0), {steps} "
        "full-batch steps from the least-squares start."
    )
    max_err, ls_mse, trained_mse, nets = _fit_each_size(
        config, sizes, steps, lr, x, y, dense, result
    )
    _show_why()
    _check(sizes, max_err["staircase"], ls_mse, trained_mse, result)
    _save_fits_figure(config, sizes, x, y, dense, nets, trained_mse, result)
    _save_error_figure(config, sizes, dense, max_err, ls_mse, trained_mse, result)
    return result


def _fit_each_size(
    config: Config,
    sizes: list[int],
    steps: int,
    lr: float,
    x: np.ndarray,
    y: np.ndarray,
    dense: np.ndarray,
    result: Result,
) -> tuple[dict[str, dict[int, float]], dict[int, float], dict[int, float], dict[int, nn.Module]]:
    """For each number of hidden units: the staircase's error, the least-squares network,
    then that network trained; the table. Returns the largest errors (by way), the
    least-squares and trained MSEs, and the trained networks."""
    rows, stair_err, ls_mse, trained_mse, nets = [], {}, {}, {}, {}
    max_err: dict[str, dict[int, float]] = {
        "staircase": stair_err,
        "least squares": {},
        "trained": {},
    }
    for h in sizes:
        stair_err[h] = float(np.abs(staircase(dense, h) - target(dense)).max())
        ax.manual_seed(config.seed)
        net = spread_network(h, x.astype(np.float64), y.astype(np.float64), config.seed)
        net.to(config.device)  # set on the host, trained on the device
        ls_mse[h] = mse(net, x, y)
        max_err["least squares"][h] = float(np.abs(predict(net, x) - y[:, 0]).max())
        trained_mse[h] = fit(net, x, y, steps, lr)
        nets[h] = net
        max_err["trained"][h] = float(np.abs(predict(net, x) - y[:, 0]).max())
        rows.append(
            [
                h,
                f"{stair_err[h]:.4f}",
                f"{stair_err[h] * h:.2f}",
                f"{ls_mse[h]:.2e}",
                f"{trained_mse[h]:.2e}",
            ]
        )
        result.metrics[f"staircase_max_error_H{h}"] = stair_err[h]
        result.metrics[f"trained_mse_H{h}"] = trained_mse[h]
    table(
        [
            "hidden units H",
            "staircase max |error|",
            "error x H",
            "least-squares MSE",
            "trained MSE",
        ],
        rows,
    )
    return max_err, ls_mse, trained_mse, nets


def _show_why() -> None:
    """What the table shows: the staircase's error halves as H doubles; least squares and
    training do better."""
    print(
        "  The staircase passes through f at the cuts and is flat between them: once its pieces are"
    )
    print(
        "  shorter than f's wiggles (H >= 4) its largest error is at most about half a "
        "piece's rise,"
    )
    print(
        "  max|f'| (6 / H) / 2 = 6.9 / H, and halves each time H doubles (error x H levels "
        "off). Least"
    )
    print(
        "  squares picks the best heights for given pieces; training moves the pieces too, "
        "down to what"
    )
    print("  Adam reaches in float32 in the steps given (about 1e-5 in the full run).")


def _check(
    sizes: list[int],
    stair_err: dict[int, float],
    ls_mse: dict[int, float],
    trained_mse: dict[int, float],
    result: Result,
) -> None:
    """The claims: the staircase's error falls like 1/H; trained, the MSE falls with H and
    improves on the least-squares start."""
    first, last = sizes[0], sizes[-1]
    fine = [h for h in sizes if h >= 4]
    result.check(
        "the hand-built staircase's largest error falls with every doubling of H from H = 4 on",
        all(stair_err[a] > stair_err[b] for a, b in pairwise(fine)),
    )
    result.check(
        f"and falls like 1/H: error x H at H = {last} is within 10% of its value "
        f"at H = {sizes[-2]}",
        0.9 < (stair_err[last] * last) / (stair_err[sizes[-2]] * sizes[-2]) < 1.1,
    )
    upto8 = [h for h in sizes if h <= 8]
    result.check(
        "trained, each doubling of H up to 8 lowers the MSE",
        all(trained_mse[a] > trained_mse[b] for a, b in pairwise(upto8)),
    )
    result.check(
        f"trained, the MSE falls over 100-fold from H = {first} to H = 8 and stays "
        "below 3e-3 for every larger H",
        trained_mse[first] > 100 * trained_mse[8]
        and all(trained_mse[h] < 3e-3 for h in sizes if h >= 8),
    )
    result.check(
        "training improves on the least-squares start for every H",
        all(trained_mse[h] <= ls_mse[h] * (1 + 1e-6) for h in sizes),
    )


@plot.style()
def _save_fits_figure(
    config: Config,
    sizes: list[int],
    x: np.ndarray,
    y: np.ndarray,
    dense: np.ndarray,
    nets: dict[int, nn.Module],
    trained_mse: dict[int, float],
    result: Result,
) -> None:
    """The figure of the fits (f, staircase, trained) for a few H, and the trained pieces
    of the H = 8 network."""
    shown = [1, 2, 4, 8, sizes[-1]]
    fig, panels = plot.figure(
        ncols=3, nrows=2, size=(4.2, 3.2), title="A sum of H sigmoids fitting f(x) = sin(2x) + 0.3x"
    )
    xs = x[:, 0]
    for panel, h in zip(panels, shown, strict=False):
        panel.plot(xs, y[:, 0], color="k", lw=2.5, alpha=0.3, label="f")
        panel.plot(dense, staircase(dense, h), color="tab:green", lw=1, label="staircase")
        panel.plot(xs, predict(nets[h], x), color="tab:red", label="trained")
        panel.set_title(f"H = {h}: trained MSE {trained_mse[h]:.1e}", fontsize=plot.SMALL)
        panel.set_ylim(-2.2, 2.2)
        panel.grid(alpha=0.3)
    panels[0].legend()
    pieces, h = panels[5], 8
    with ax.no_grad():
        inputs = ax.tensor(x, device=device_of(nets[h]))
        units = nets[h][1](nets[h][0](inputs)).cpu().numpy()  # (200, H)
    heights = nets[h][2].weight.detach().cpu().numpy()[0]  # (H,)
    for k in range(h):
        pieces.plot(xs, heights[k] * units[:, k], lw=1)
    pieces.plot(xs, predict(nets[h], x), color="tab:red", lw=2, label="c + their sum")
    pieces.set_title(f"H = {h}, trained: the pieces a_k s(w_k x + b_k)", fontsize=plot.SMALL)
    pieces.legend()
    pieces.grid(alpha=0.3)
    result.figures.append(plot.save(fig, config.out / "universal_fits.png"))


@plot.style()
def _save_error_figure(
    config: Config,
    sizes: list[int],
    dense: np.ndarray,
    max_err: dict[str, dict[int, float]],
    ls_mse: dict[int, float],
    trained_mse: dict[int, float],
    result: Result,
) -> None:
    """The figure of the largest and the mean squared error of each way against H."""
    stair_err = max_err["staircase"]
    fig, (max_ax, mse_ax) = plot.figure(
        ncols=2, size=(5, 4), title="Error against the number of hidden units"
    )
    for panel, what in ((max_ax, "max |error|"), (mse_ax, "mean squared error")):
        errors = (
            max_err
            if what == "max |error|"
            else {
                "staircase": {
                    h: float(((staircase(dense, h) - target(dense)) ** 2).mean()) for h in sizes
                },
                "least squares": ls_mse,
                "trained": trained_mse,
            }
        )
        for (name, values), marker in zip(errors.items(), "os^", strict=True):
            panel.plot(sizes, [values[h] for h in sizes], marker=marker, label=name)
        panel.set_xscale("log", base=2)
        panel.set_yscale("log")
        panel.set_xlabel("hidden units H")
        panel.set_ylabel(what)
        panel.grid(alpha=0.3)
    max_ax.plot(sizes, [stair_err[4] * 4 / h for h in sizes], color="0.6", ls=":", label="1 / H")
    max_ax.legend()
    result.figures.append(plot.save(fig, config.out / "universal_error.png"))
