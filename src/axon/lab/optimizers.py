"""The optimizers side by side: paths on 2-D loss surfaces, and training curves on digits.

``axon run optimizers`` runs eight methods, every one an ``axon.optim`` optimizer:

    batch GD        SGD, the gradient of all the examples at every step
    SGD             SGD, one example per step
    mini-batch SGD  SGD, a few examples per step
    momentum        SGD(momentum=0.9):            b = 0.9 b + g,          w -= lr b
    Nesterov        SGD(momentum=0.9, nesterov):  b = 0.9 b + g,          w -= lr (g + 0.9 b)
    AdaGrad         Adagrad:                      s = s + g^2,            w -= lr g / sqrt(s)
    RMSProp         RMSprop (alpha 0.99):         v = 0.99 v + 0.01 g^2,  w -= lr g / sqrt(v)
    Adam            Adam (0.9, 0.999):  RMSProp's scaling of a momentum, bias-corrected

1. Three surfaces of two parameters (x, y): a ravine (a quadratic 50 times steeper across
   than along, turned by 0.5 rad so that it does not lie along an axis), Rosenbrock's
   banana valley, and a saddle with two minima on either side. Each path is a 2-element
   Tensor moved by the optimizer's own ``step`` on the gradient from autograd.
   Examples and their noise: each surface is the mean of 64 example losses
   ``f(w) + e_i . w``, the e_i drawn from N(0, s^2) and centred so that they sum to zero:
   the full-batch loss is exactly f, and a step on a batch of examples sees the gradient
   of f plus the batch's mean e. Batch GD uses all 64, SGD one, mini-batch SGD 8; the
   other five take the full-batch gradient, so their paths differ by the update rule
   alone.
   A fair learning rate: every method runs from the same start for the same number of
   steps with each learning rate of one grid (4 per decade, 1e-4 to 10, the same for all),
   and is shown, and scored, with the one that ends lowest (a run that goes farther than
   1e3 from the origin, or to NaN, counts as diverged). The claim compares these best
   runs: after N steps on the ravine, Adam and momentum are lower than plain full-batch
   gradient descent.
2. Digits: a small ReLU MLP trained by each method from the same initial weights: on
   20,000 MNIST training images for 3 epochs, 784-128-10, when MNIST is in the data
   directory; else on the 8x8 digits that ship with axon for 10 epochs, 64-64-10.
   The training loss (on a fixed sample of the training images) and the held-out accuracy
   are measured at the same numbers of examples seen for every method. Per pass over the
   data, batch GD takes one step and SGD thousands, which is the whole story of its curve.
   Learning rates: each method's was picked from 1e-3, 3e-3, 0.01, ..., 1 by the training
   loss after one epoch on 20,000 MNIST images (three steps for batch GD) in a pilot run,
   and is fixed here (``Method.digits_lr``). With ``--device`` these MLPs train there;
   the 2-element paths of part 1 stay on the CPU.

What a full run shows (seed 0): on the ravine, after 100 steps at the best lr of each,
plain gradient descent is 6e-4 above the minimum, Adam 8e-5 and momentum 5e-6 (Nesterov
7e-8); on MNIST, after 3 epochs, batch GD's 3 steps reach 79% held-out accuracy and
every mini-batch method 95-97%. It takes about 2 minutes on 2 busy cores, most of it
SGD's 60,000 one-example steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import axon as ax
from axon import models, nn, optim
from axon.autograd import Tensor
from axon.train.base import Callback

from .. import plot
from .registry import register
from .shared.base import Config, Result, backup, heading, table
from .shared.digits import digit_images
from .shared.vision_common import Images

LR_GRID = np.logspace(-4, 1, 21)  # 4 per decade
QUICK_LR_GRID = LR_GRID[::2]  # 2 per decade
QUICK_STEPS = 200  # at most this many steps per path in quick mode
EXAMPLES = 64  # examples behind each 2-D surface
MINI_BATCH = 8  # mini-batch SGD's batch on the surfaces
BOUND = 1e3  # a path farther than this from the origin has diverged


# ----------------------------------------------------------------------------- surfaces
def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s], [-s, c]])


RAVINE_ANGLE = 0.5
RAVINE_CURVATURES = (0.1, 5.0)  # along and across the valley
_R = _rotation(RAVINE_ANGLE)
RAVINE_MATRIX = _R.T @ np.diag(RAVINE_CURVATURES) @ _R  # (2, 2), symmetric positive definite


def ravine(w: Tensor) -> Tensor:
    """``0.5 w^T A w`` for each row of ``w`` (K, 2) -> (K,), with A of eigenvalues 0.1 and
    5 along axes turned by 0.5 rad: a valley whose walls are 50 times steeper than its
    floor, minimum 0 at the origin."""
    return 0.5 * ((w @ ax.tensor(RAVINE_MATRIX, dtype=w.dtype)) * w).sum(dim=1)


def rosenbrock(w: Tensor) -> Tensor:
    """``(1 - x)^2 + 100 (y - x^2)^2`` for each row (x, y) of ``w`` (K, 2) -> (K,):
    a curved, flat-bottomed valley; minimum 0 at (1, 1)."""
    x, y = w[:, 0], w[:, 1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def saddle(w: Tensor) -> Tensor:
    """``x^2 + y^4 / 4 - y^2 / 2`` for each row (x, y) of ``w`` (K, 2) -> (K,): a saddle
    at the origin (value 0) between two minima at (0, +-1) (value -1/4)."""
    x, y = w[:, 0], w[:, 1]
    return x * x + 0.25 * y**4 - 0.5 * y * y


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: ``f`` maps rows of points (K, 2) to their losses (K,)."""

    name: str
    formula: str
    f: Callable[[Tensor], Tensor]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    f_min: float
    steps: int
    noise: float  # std of each example's gradient noise e_i
    extent: tuple[float, float, float, float]  # x_lo, x_hi, y_lo, y_hi of the plot

    def values(self, points: np.ndarray) -> np.ndarray:
        """f at ``points`` (..., 2) as float64 (...,), without a graph."""
        flat = points.reshape(-1, 2)
        with ax.no_grad():
            out = self.f(ax.tensor(flat, dtype=ax.float64)).numpy()
        return out.reshape(points.shape[:-1])


SURFACES = (
    Surface(
        "ravine",
        "0.5 w^T A w, eigenvalues 0.1 and 5",
        ravine,
        (-4.0, 1.5),
        ((0.0, 0.0),),
        0.0,
        100,
        1.0,
        (-5.0, 5.0, -3.5, 3.5),
    ),
    Surface(
        "Rosenbrock",
        "(1 - x)^2 + 100 (y - x^2)^2",
        rosenbrock,
        (-1.5, 2.0),
        ((1.0, 1.0),),
        0.0,
        500,
        10.0,
        (-2.0, 2.0, -1.0, 3.0),
    ),
    Surface(
        "saddle",
        "x^2 + y^4/4 - y^2/2",
        saddle,
        (-1.5, 1e-4),
        ((0.0, 1.0), (0.0, -1.0)),
        -0.25,
        30,
        0.3,
        (-2.0, 2.0, -1.6, 1.6),
    ),
)


# ----------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """One optimizer of the line-up.

    Attributes:
        name: its name in tables and legends.
        make: builds the optimizer from parameter groups (each group sets its own ``lr``).
        batch: examples per step on the surfaces (None: all of them).
        digits_batch: examples per step on the digits (None: the whole training set).
        digits_lr: its learning rate on the digits.
    """

    name: str
    make: Callable[[list], optim.Optimizer]
    batch: int | None
    digits_batch: int | None
    digits_lr: float


METHODS = (
    Method("batch GD", lambda groups: optim.SGD(groups), None, None, 0.3),
    Method("SGD", lambda groups: optim.SGD(groups), 1, 1, 0.01),
    Method("mini-batch SGD", lambda groups: optim.SGD(groups), MINI_BATCH, 64, 0.3),
    Method("momentum", lambda groups: optim.SGD(groups, momentum=0.9), None, 64, 0.03),
    Method(
        "Nesterov", lambda groups: optim.SGD(groups, momentum=0.9, nesterov=True), None, 64, 0.03
    ),
    Method("AdaGrad", lambda groups: optim.Adagrad(groups), None, 64, 0.03),
    Method("RMSProp", lambda groups: optim.RMSprop(groups), None, 64, 3e-3),
    Method("Adam", lambda groups: optim.Adam(groups), None, 64, 3e-3),
)


def method(name: str) -> Method:
    """The method called ``name``."""
    for m in METHODS:
        if m.name == name:
            return m
    raise KeyError(f"unknown method {name!r}; known: {', '.join(m.name for m in METHODS)}")


# ----------------------------------------------------------------------------- paths
@dataclass
class Paths:
    """One method on one surface, one path per learning rate.

    Attributes:
        lrs: the learning rates, (K,).
        points: every path, (steps + 1, K, 2): row 0 is the start.
        losses: the full-batch loss f at each point minus f's minimum, (steps + 1, K).
        diverged: which paths left the region ``|x|, |y| <= BOUND`` or became NaN, (K,).
    """

    lrs: np.ndarray
    points: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray

    @property
    def final(self) -> np.ndarray:
        """The loss above the minimum after the last step, inf where diverged, (K,)."""
        out = self.losses[-1].copy()
        out[self.diverged | ~np.isfinite(out)] = np.inf
        return out

    @property
    def best(self) -> int:
        """The index of the learning rate that ends lowest."""
        return int(np.argmin(self.final))


def example_noise(surface: Surface, seed: int) -> np.ndarray:
    """The examples' noise vectors e_i, (EXAMPLES, 2), drawn from N(0, noise^2) and
    centred so they sum to zero (the full-batch loss is exactly f)."""
    e = np.random.default_rng(seed).normal(0.0, surface.noise, (EXAMPLES, 2))
    return e - e.mean(axis=0)


def descend(surface: Surface, m: Method, lrs, seed: int = 0, steps: int | None = None) -> Paths:
    """Run ``m`` on ``surface`` from its start, once per learning rate, for ``steps``
    steps (the surface's default when None).

    Each path is its own 2-element Tensor in its own parameter group (with its own lr) of
    one optimizer; one forward computes the loss of every path at once, (K, 2) -> (K,),
    and its sum is back-propagated (the paths do not interact). A method with a batch
    adds the mean noise of a batch of examples drawn without replacement; every lr sees
    the same batches.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    steps = surface.steps if steps is None else steps
    noise = example_noise(surface, seed)
    rng = np.random.default_rng(seed + 1)
    ws = [ax.tensor(np.array(surface.start), dtype=ax.float64, requires_grad=True) for _ in lrs]
    opt = m.make([{"params": [w], "lr": float(lr)} for w, lr in zip(ws, lrs, strict=True)])
    points = np.empty((steps + 1, len(lrs), 2))
    losses = np.empty((steps + 1, len(lrs)))
    points[0] = surface.start
    with np.errstate(all="ignore"):  # a diverging path may overflow: it is marked below
        for t in range(steps):
            opt.zero_grad()
            w = ax.stack(ws)  # (K, 2)
            f = surface.f(w)  # (K,)
            losses[t] = f.detach().numpy()
            loss = f.sum()
            if m.batch is not None and m.batch < EXAMPLES:
                e = noise[rng.choice(EXAMPLES, m.batch, replace=False)].mean(axis=0)  # (2,)
                loss = loss + (w @ ax.tensor(e)).sum()
            loss.backward()
            opt.step()
            points[t + 1] = [p.array for p in ws]
        losses[steps] = surface.values(points[steps])
    losses -= surface.f_min
    outside = ~np.isfinite(points).all(axis=2) | (np.abs(points) > BOUND).any(axis=2)
    return Paths(lrs, points, losses, outside.any(axis=0))


class Probe(Callback):
    """Measure a model every ``every`` training examples (and before the first step): the
    mean cross-entropy on ``train_sample`` and the accuracy on ``held_out``, in eval
    mode. ``seen`` holds the examples seen at each measurement, in epochs."""

    def __init__(
        self,
        train_sample: tuple[np.ndarray, np.ndarray],
        held_out: tuple[np.ndarray, np.ndarray],
        n_train: int,
        batch_size: int,
        every: int,
    ) -> None:
        self.train_sample, self.held_out = train_sample, held_out
        self.n, self.batch_size, self.every = n_train, batch_size, every
        self.seen: list[float] = []
        self.loss: list[float] = []
        self.accuracy: list[float] = []
        self._epoch = 0
        self._next = 0

    def _measure(self, seen: int) -> None:
        loss = ax.evaluate(
            self.model, self.train_sample, loss=nn.CrossEntropyLoss(), batch_size=1000
        )["loss"]
        acc = ax.evaluate(self.model, self.held_out, metrics=["accuracy"], batch_size=1000)[
            "accuracy"
        ]
        self.seen.append(seen / self.n)
        self.loss.append(float(loss))
        self.accuracy.append(float(acc))
        self._next = seen + self.every

    def on_train_begin(self, logs=None) -> None:
        self._measure(0)

    def state_dict(self) -> dict:
        """The measurements so far and the next one's position (for ``--resume``)."""
        return {
            "seen": list(self.seen),
            "loss": list(self.loss),
            "accuracy": list(self.accuracy),
            "next": self._next,
        }

    def load_state_dict(self, state: dict) -> None:
        self.seen = [float(v) for v in state["seen"]]
        self.loss = [float(v) for v in state["loss"]]
        self.accuracy = [float(v) for v in state["accuracy"]]
        self._next = int(state["next"])

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch = epoch

    def on_batch_end(self, batch: int, logs=None) -> None:
        seen = self._epoch * self.n + min((batch + 1) * self.batch_size, self.n)
        if seen >= self._next:
            self._measure(seen)


@dataclass
class Curve:
    """One method trained on the digits: the probe's measurements and the wall time."""

    seen: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    steps: int
    seconds: float


def train_digits(
    m: Method,
    train: Images,
    test: Images,
    epochs: int,
    hidden: int,
    seed: int,
    probes_per_epoch: int = 10,
    sample: int = 2000,
    config: Config | None = None,
) -> Curve:
    """Train a fresh ``n_in-hidden-10`` ReLU MLP (seeded) with ``m`` for ``epochs``
    epochs, measured ``probes_per_epoch`` times per epoch; backed up (``--resume``) and
    trained on ``config.device`` when ``config`` is given."""
    x, y = train.flat(), train.y
    n = len(y)
    batch = n if m.digits_batch is None else m.digits_batch
    pick = train.subset(min(sample, n), seed)
    held = test.subset(min(sample, len(test)), seed + 1)
    probe = Probe(
        (pick.flat(), pick.y), (held.flat(), held.y), n, batch, every=max(n // probes_per_epoch, 1)
    )
    ax.manual_seed(seed)
    model = models.mlp([x.shape[1], hidden, 10])
    model.to(config.device if config is not None else "cpu")
    opt = m.make(model.parameters())
    for group in opt.param_groups:
        group["lr"] = m.digits_lr
    start = time.perf_counter()
    ax.fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=epochs,
        batch_size=batch,
        callbacks=[*backup(config, f"optimizers-{_key(m.name)}"), probe],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    steps = epochs * -(-n // batch)
    return Curve(
        np.array(probe.seen), np.array(probe.loss), np.array(probe.accuracy), steps, seconds
    )


# ----------------------------------------------------------------------------- figures
@plot.style()
def _plot_paths(runs: dict[str, dict[str, Paths]], path: Path) -> Path:
    """One column per surface, one row per method: the path at its best learning rate over
    the surface's full-batch loss (log scale, its colour bar under the column)."""
    from matplotlib.figure import Figure

    names = [m.name for m in METHODS]
    rows, cols = len(names), len(SURFACES)
    width, height = 1.0 + 2.9 * cols, 1.9 + 2.2 * rows  # inches: the panels and margins
    # a fixed layout: with 24 panels constrained layout costs more than the drawing
    fig = Figure(figsize=(width, height))
    fig.suptitle(
        "Each optimizer's path at its best learning rate\n"
        "over the full-batch loss f (contours: log scale)",
        fontsize=plot.SUPTITLE,
    )
    margins = dict(left=0.8, right=0.15, bottom=1.2, top=1.2)  # inches
    adjust = dict(
        left=margins["left"] / width,
        right=1 - margins["right"] / width,
        bottom=margins["bottom"] / height,
        top=1 - margins["top"] / height,
        wspace=0.06,
        hspace=0.22,
    )
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw=adjust)
    for col, surface in enumerate(SURFACES):
        x0, x1, y0, y1 = surface.extent
        xs, ys = np.linspace(x0, x1, 100), np.linspace(y0, y1, 100)
        grid = surface.values(np.stack(np.meshgrid(xs, ys), axis=-1))  # (100, 100)
        shifted = np.log10(grid - surface.f_min + 1e-3)  # the valleys' floors show on a log scale
        levels = np.linspace(shifted.min(), shifted.max(), 14)
        for row, name in enumerate(names):
            panel = axes[row, col]
            run = runs[surface.name][name]
            k = run.best
            image = panel.imshow(
                shifted, extent=surface.extent, origin="lower", aspect="auto", cmap="viridis_r"
            )
            panel.contour(xs, ys, shifted, levels=levels, colors="k", linewidths=0.3, alpha=0.5)
            p = run.points[:, k]
            panel.plot(p[:, 0], p[:, 1], color="tab:red", lw=1.0, marker=".", ms=3)
            panel.plot(*surface.start, marker="o", ms=6, color="white", markeredgecolor="k")
            for point in surface.minima:
                panel.plot(*point, marker="*", ms=12, color="white", markeredgecolor="k")
            panel.set_xlim(x0, x1)
            panel.set_ylim(y0, y1)
            panel.set_xticks([])
            panel.set_yticks([])
            lr = f"lr {run.lrs[k]:.2g}" if np.isfinite(run.final[k]) else "all lrs diverged"
            if row == 0:  # the column's heading above the first panel's learning rate
                panel.set_title(f"{surface.name}, {len(p) - 1} steps\n{lr}", fontsize=plot.TITLE)
            else:
                panel.set_title(lr, fontsize=plot.SMALL)
            if col == 0:
                panel.set_ylabel(name, fontsize=plot.FONT)
        bottom = axes[-1, col].get_position()
        bar = fig.add_axes((bottom.x0, 0.65 / height, bottom.width, 0.12 / height))
        plot.colorbar(image, "log10(f - min f + 0.001)", cax=bar, orientation="horizontal")
    return plot.save(fig, path)


@plot.style()
def _plot_curves(
    runs: dict[str, dict[str, Paths]], curves: dict[str, Curve], data_name: str, path: Path
) -> Path:
    """Above, the loss above the minimum by step on each surface; below, the training loss
    and held-out accuracy on the digits; one legend for all, each method in one colour."""
    fig, axes = plot.figure(
        ncols=3,
        nrows=2,
        size=(4.0, 3.3),
        title=f"Each optimizer at its best learning rate: on the 2-D surfaces and on {data_name}",
    )
    for panel, surface in zip(axes, SURFACES, strict=False):
        for m in METHODS:
            run = runs[surface.name][m.name]
            curve = run.losses[:, run.best]
            panel.plot(np.arange(len(curve)), np.maximum(curve, 1e-16), lw=1.2, label=m.name)
        panel.set_yscale("log")
        panel.set(xlabel="step", ylabel="f - min f", title=surface.name)
        panel.grid(alpha=0.3)
    loss_ax, acc_ax, legend_ax = axes[len(SURFACES) :]
    for name, c in curves.items():
        few = {"marker": "o", "ms": 4} if len(c.seen) < 8 else {}  # batch GD's few steps
        loss_ax.plot(c.seen, c.loss, lw=1.2, label=name, **few)
        acc_ax.plot(c.seen, c.accuracy, lw=1.2, label=name, **few)
    loss_ax.set_yscale("log")
    loss_ax.set(xlabel="epochs (passes over the data)", ylabel="cross-entropy")
    loss_ax.set_title(f"{data_name}: training loss")
    acc_ax.set(xlabel="epochs (passes over the data)", ylabel="accuracy")
    acc_ax.set_title(f"{data_name}: held-out accuracy")
    for panel in (loss_ax, acc_ax):
        panel.grid(alpha=0.3)
    legend_ax.set_axis_off()
    legend_ax.legend(*axes[0].get_legend_handles_labels(), loc="center", title="optimizer")
    return plot.save(fig, path)


# ----------------------------------------------------------------------------- run
def _key(name: str) -> str:
    """A name as a metric key: ``"mini-batch SGD"`` -> ``"mini_batch_sgd"``."""
    return name.lower().replace(" ", "_").replace("-", "_")


@register(
    "optimizers",
    "GD, SGD, mini-batch, momentum, Nesterov, AdaGrad, RMSProp, Adam: "
    "paths on a ravine, Rosenbrock and a saddle; training curves on digits",
)
def run(config: Config) -> Result:
    result = Result("optimizers")
    grid = QUICK_LR_GRID if config.quick else LR_GRID

    heading("1. Paths on 2-D surfaces")
    runs = _descend_surfaces(config, grid, result)
    _check_paths(runs, result)
    heading("2. Training curves on digits")
    data_name, train, test, epochs, hidden = _load_digits(config)
    curves = _train_curves(config, train, test, epochs, hidden, result)
    _check_curves(curves, data_name, epochs, result)
    result.figures.append(_plot_paths(runs, config.out / "optimizers_paths.png"))
    result.figures.append(
        _plot_curves(runs, curves, data_name, config.out / "optimizers_curves.png")
    )
    return result


def _descend_surfaces(
    config: Config, grid: np.ndarray, result: Result
) -> dict[str, dict[str, Paths]]:
    """Step 1: every method on every surface at every lr of ``grid``; per surface a table
    of each method's best lr and final gap (kept as metrics). Returns the paths."""
    print(
        f"  each method from the same start, the same steps, each lr of "
        f"{len(grid)} from {grid[0]:g} to {grid[-1]:g}; the lr ending lowest is kept"
    )
    print(
        f"  each surface is the mean of {EXAMPLES} examples f(w) + e_i . w (sum e_i = 0): "
        f"batch GD and the last five use all of them,"
    )
    print(f"  SGD one per step, mini-batch SGD {MINI_BATCH}")
    runs: dict[str, dict[str, Paths]] = {}
    start = time.perf_counter()
    for surface in SURFACES:
        steps = min(surface.steps, QUICK_STEPS) if config.quick else surface.steps
        runs[surface.name] = {
            m.name: descend(surface, m, grid, config.seed, steps) for m in METHODS
        }
        heading(
            f"{surface.name}: f = {surface.formula}, from {surface.start}, "
            f"{steps} steps, example noise s = {surface.noise:g}"
        )
        rows = []
        for m in METHODS:
            r = runs[surface.name][m.name]
            k = r.best
            n_div = int(r.diverged.sum())
            rows.append([m.name, f"{r.lrs[k]:.3g}", f"{r.final[k]:.3e}", n_div])
        table(["method", "best lr", "f - min f after the steps", "lrs diverged"], rows)
        for m in METHODS:
            result.metrics[f"{_key(surface.name)}_{_key(m.name)}"] = float(
                runs[surface.name][m.name].final.min()
            )
    print(
        f"\n  {len(SURFACES) * len(METHODS) * len(grid)} paths in "
        f"{time.perf_counter() - start:.1f} s"
    )
    return runs


def _check_paths(runs: dict[str, dict[str, Paths]], result: Result) -> None:
    """The claims of step 1: on the ravine Adam and momentum end below gradient descent;
    every method ends below its start on every surface."""
    ravine_runs = runs["ravine"]
    gd = ravine_runs["batch GD"].final.min()
    for name in ("Adam", "momentum"):
        best = ravine_runs[name].final.min()
        result.check(
            f"ravine, {len(ravine_runs[name].losses) - 1} steps, each at its best lr "
            f"of the same "
            f"grid: {name} ends lower than plain gradient descent ({best:.2e} vs "
            f"{gd:.2e}, {gd / max(best, 1e-300):.0f}x lower)",
            best < gd,
        )
    lowered = all(
        np.isfinite(r.final.min()) and r.final.min() < r.losses[0, 0]
        for by_method in runs.values()
        for r in by_method.values()
    )
    result.check("on every surface every method, at its best lr, ends below its start", lowered)


def _load_digits(config: Config) -> tuple[str, Images, Images, int, int]:
    """The digit images of step 2 (MNIST or the 8x8 digits, subsets as configured);
    returns their name, the training and test sets, the epochs and the hidden size."""
    data_name, train, test = digit_images(config)
    if config.quick:
        train = train.subset(600, config.seed)
    epochs = config.epochs or (2 if config.quick else (3 if data_name == "MNIST" else 10))
    hidden = 128 if data_name == "MNIST" else 64
    if data_name == "MNIST":
        train = train.subset(20000, config.seed)
    return data_name, train, test, epochs, hidden


def _train_curves(
    config: Config, train: Images, test: Images, epochs: int, hidden: int, result: Result
) -> dict[str, Curve]:
    """Step 2: the MLP trained from the same weights with each method; the table of final
    loss and accuracy (kept as metrics). Returns each method's curve."""
    n_in = train.flat().shape[1]
    print(
        f"  MLP {n_in}-{hidden}-10 (ReLU), {epochs} epochs on {len(train):,} training "
        f"images, cross-entropy; each method starts from the same weights"
    )
    curves: dict[str, Curve] = {}
    rows = []
    for m in METHODS:
        c = train_digits(m, train, test, epochs, hidden, config.seed, config=config)
        curves[m.name] = c
        batch = "all" if m.digits_batch is None else m.digits_batch
        rows.append(
            [
                m.name,
                batch,
                f"{m.digits_lr:g}",
                c.steps,
                f"{c.loss[-1]:.4f}",
                f"{c.accuracy[-1]:.2%}",
                f"{c.seconds:.1f}",
            ]
        )
        result.metrics[f"digits_loss_{_key(m.name)}"] = float(c.loss[-1])
        result.metrics[f"digits_accuracy_{_key(m.name)}"] = float(c.accuracy[-1])
    table(["method", "batch", "lr", "steps", "train loss", "held-out accuracy", "seconds"], rows)
    return curves


def _check_curves(curves: dict[str, Curve], data_name: str, epochs: int, result: Result) -> None:
    """The claims of step 2: every method lowered the loss, and every mini-batch method
    ends below batch GD."""
    start_loss = curves["batch GD"].loss[0]
    result.check(
        f"every method lowered the training loss on {data_name} (from {start_loss:.3f})",
        all(c.loss[-1] < c.loss[0] for c in curves.values()),
    )
    gd_loss = curves["batch GD"].loss[-1]
    mini = [m.name for m in METHODS if m.digits_batch not in (None, 1)]
    worst = max(curves[n].loss[-1] for n in mini)
    result.check(
        f"after {epochs} epochs every mini-batch method has a lower training loss "
        f"than batch GD, which took {curves['batch GD'].steps} steps (worst "
        f"{worst:.3f} vs {gd_loss:.3f})",
        worst < gd_loss,
    )
