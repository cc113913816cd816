"""The course's first model: predict tomorrow's views of a channel from today's,
y = b + w x, with the MAE and the MSE, and the loss surface over (b, w).

The data: a generated series of daily views (in thousands): a slow upward trend, a weekly
rhythm (fewer views on Fridays and Saturdays), day-to-day noise that persists for a few
days, and now and then a popular video that lifts the views for a few days. x is one
day's views and y the next day's; the first years are the training data and the last
year is held out, as in the course.

1. MSE, L(b, w) = mean (y - b - w x)^2. Its minimum has a closed form (the normal
   equations): w* = cov(x, y) / var(x), b* = mean(y) - w* mean(x). Gradient descent,
   computed by axon's autograd, must end there.
2. MAE, L(b, w) = mean |y - b - w x|. No closed form; its minimiser is median regression
   (least absolute deviations): about half the days lie above the line. It is computed
   here by iteratively reweighted least squares (weights 1 / |residual|) as the oracle
   for gradient descent, whose steps shrink linearly to 0 (|e| has a kink, so a fixed
   step would keep bouncing around the minimum).
3. The loss surfaces L(b, w) as contour plots with the gradient-descent paths: long,
   narrow valleys (b and w trade off, because x is far from 0), which is why plain
   gradient descent needs many steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import axon as ax
from axon.nn import functional as F

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table

WEEKLY = np.array([1.04, 1.06, 1.04, 1.02, 0.93, 0.89, 1.02])  # Mon..Sun
LOSSES = {"MSE": F.mse_loss, "MAE": F.l1_loss}


def daily_views(days: int, seed: int) -> np.ndarray:
    """A generated series of daily views in thousands, (days,) float64:
    level(t) * weekly(t) * exp(e_t) * (1 + boost_t), with level rising from 3k to 5k,
    e_t = 0.9 e_{t-1} + N(0, 0.06^2), and on about one day in 40 a popular video adding
    U(0.3, 1.5) to the boost, decaying by e^(-1/3) a day."""
    if days < 3:
        raise ValueError(f"daily_views needs at least 3 days, got {days}")
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    level = 3.0 + 2.0 * t / days
    noise = np.zeros(days)
    shocks = rng.normal(0.0, 0.06, days)
    for i in range(1, days):
        noise[i] = 0.9 * noise[i - 1] + shocks[i]
    boost = np.zeros(days)
    for i in np.nonzero(rng.random(days) < 1 / 40)[0]:
        boost[i:] += rng.uniform(0.3, 1.5) * np.exp(-np.arange(days - i) / 3.0)
    return level * WEEKLY[t % 7] * np.exp(noise) * (1.0 + boost)


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The MSE's minimiser in closed form: w = cov(x, y) / var(x), b = mean(y) - w mean(x)."""
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one shape, got {x.shape} and {y.shape}")
    xc = x - x.mean()
    w = float((xc * (y - y.mean())).sum() / (xc * xc).sum())
    return float(y.mean() - w * x.mean()), w


def median_regression(
    x: np.ndarray, y: np.ndarray, iters: int = 200, eps: float = 1e-9
) -> tuple[float, float]:
    """The MAE's minimiser by iteratively reweighted least squares: solve the weighted
    normal equations with weights 1 / max(|y - b - w x|, eps), from the least-squares
    line, ``iters`` times."""
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one shape, got {x.shape} and {y.shape}")
    design = np.stack([np.ones_like(x), x], axis=1)  # (n, 2)
    bw = np.array(least_squares(x, y))
    for _ in range(iters):
        weights = 1.0 / np.maximum(np.abs(y - design @ bw), eps)  # (n,)
        bw = np.linalg.solve(design.T @ (design * weights[:, None]), design.T @ (weights * y))
    return float(bw[0]), float(bw[1])


def gradient_descent(
    x: np.ndarray,
    y: np.ndarray,
    loss: str,
    lr: float,
    steps: int,
    start: tuple[float, float],
    decay: bool = False,
) -> tuple[np.ndarray, list[float]]:
    """Full-batch gradient descent on L(b, w) = loss(b + w x, y), gradients by autograd in
    float64: b <- b - lr_t dL/db, w <- w - lr_t dL/dw, with lr_t = lr, or
    lr (1 - t / steps) if ``decay``. Returns the path, (steps + 1, 2) rows of (b, w), and
    the loss before each step."""
    xt, yt = ax.tensor(x, dtype=ax.float64), ax.tensor(y, dtype=ax.float64)
    b = ax.tensor(start[0], dtype=ax.float64, requires_grad=True)
    w = ax.tensor(start[1], dtype=ax.float64, requires_grad=True)
    path, losses = [start], []
    for step in range(steps):
        b.grad = w.grad = None
        value = LOSSES[loss](b + w * xt, yt)
        value.backward()
        eta = lr * (1 - step / steps) if decay else lr
        with ax.no_grad():
            b -= eta * b.grad
            w -= eta * w.grad
        path.append((b.item(), w.item()))
        losses.append(value.item())
    return np.array(path), losses


def evaluate(x: np.ndarray, y: np.ndarray, b: float, w: float) -> dict[str, float]:
    """MAE and MSE of the line b + w x."""
    e = y - (b + w * x)
    return {"MAE": float(np.abs(e).mean()), "MSE": float((e * e).mean())}


def loss_surface(
    x: np.ndarray, y: np.ndarray, bs: np.ndarray, ws: np.ndarray, loss: str
) -> np.ndarray:
    """L(b, w) on the grid, (len(ws), len(bs)): row i is w = ws[i]."""
    out = np.empty((len(ws), len(bs)))
    for i, w in enumerate(ws):
        e = y[None, :] - bs[:, None] - w * x[None, :]  # (len(bs), n)
        out[i] = (e * e).mean(axis=1) if loss == "MSE" else np.abs(e).mean(axis=1)
    return out


@register(
    "regression",
    "The course's view-count prediction y = b + w x: MSE (closed form "
    "vs gradient descent), MAE (median regression), loss surfaces with the GD paths",
)
def run(config: Config) -> Result:
    result = Result("regression")
    years, steps = (2, 2500) if config.quick else (4, 4000)
    if config.epochs is not None:
        steps = config.epochs
    views = daily_views(365 * years + 1, config.seed)
    x_all, y_all = views[:-1], views[1:]  # today, tomorrow
    n_train = 365 * (years - 1)
    x, y = x_all[:n_train], y_all[:n_train]
    x_test, y_test = x_all[n_train:], y_all[n_train:]
    _show_data(views, n_train, len(x_test), config.seed)

    lr, start = 0.04, (0.0, 0.0)
    mse_path, (b_ls, w_ls) = _fit_mse(x, y, lr, steps, start, result)
    b_gd, w_gd = mse_path[-1]
    mae_path, (b_lad, w_lad), gd_mae, above = _fit_mae(x, y, lr, steps, start, (b_ls, w_ls), result)
    b_md, w_md = mae_path[-1]
    scores = _compare_fits(x, y, x_test, y_test, (b_gd, w_gd), (b_md, w_md), result)
    result.metrics.update(
        {
            "b_ls": b_ls,
            "w_ls": w_ls,
            "b_mse_gd": b_gd,
            "w_mse_gd": w_gd,
            "b_lad": b_lad,
            "w_lad": w_lad,
            "b_mae_gd": b_md,
            "w_mae_gd": w_md,
            "train_mae": gd_mae,
            "test_mae": scores["MAE fit"][1]["MAE"],
            "above_mae_line": above["MAE"],
        }
    )

    result.figures.append(
        _views_figure(views, n_train, x, y, (b_gd, w_gd), (b_md, w_md), config.out)
    )
    result.figures.append(
        _surface_figure(x, y, mse_path, mae_path, (b_ls, w_ls), (b_lad, w_lad), config.out)
    )
    return result


def _show_data(views: np.ndarray, n_train: int, n_test: int, seed: int) -> None:
    """The generated daily views: how many, how split, their range and first week."""
    heading("The data: daily views in thousands")
    print(
        f"  {len(views)} days generated (seed {seed}); the first {n_train} pairs "
        f"(today, tomorrow) train, the last {n_test} test."
    )
    print(
        f"  mean {views.mean():.2f}k, min {views.min():.2f}k, max {views.max():.2f}k; "
        f"first week: {', '.join(f'{v:.2f}' for v in views[:7])}"
    )


def _fit_mse(
    x: np.ndarray,
    y: np.ndarray,
    lr: float,
    steps: int,
    start: tuple[float, float],
    result: Result,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Step 1: gradient descent on the MSE against the closed form; returns the descent's
    path of (b, w) and the closed-form (b, w), and checks that they meet."""
    heading("1. MSE: gradient descent against the closed form")
    b_ls, w_ls = least_squares(x, y)
    mse_path, mse_losses = gradient_descent(x, y, "MSE", lr, steps, start)
    b_gd, w_gd = mse_path[-1]
    print(
        f"  closed form: w* = cov(x, y) / var(x) = {w_ls:.6f},  b* = mean(y) - w* mean(x) "
        f"= {b_ls:.6f}"
    )
    print(
        f"  gradient descent from (b, w) = {start}, lr {lr}, {steps} steps: "
        f"b = {b_gd:.6f}, w = {w_gd:.6f}"
    )
    print(
        f"  MSE {mse_losses[0]:.3f} -> {evaluate(x, y, b_gd, w_gd)['MSE']:.6f} "
        f"(closed form {evaluate(x, y, b_ls, w_ls)['MSE']:.6f})"
    )
    result.check(
        "gradient descent on the MSE reaches the closed-form least-squares line "
        "(|db|, |dw| < 1e-3)",
        abs(b_gd - b_ls) < 1e-3 and abs(w_gd - w_ls) < 1e-3,
    )
    return mse_path, (b_ls, w_ls)


def _fit_mae(
    x: np.ndarray,
    y: np.ndarray,
    lr: float,
    steps: int,
    start: tuple[float, float],
    mse_line: tuple[float, float],
    result: Result,
) -> tuple[np.ndarray, tuple[float, float], float, dict[str, float]]:
    """Step 2: gradient descent on the MAE (shrinking steps) against median regression;
    returns the path, the median-regression (b, w), the descent's MAE and the share of
    days above the MAE and the MSE (``mse_line``) lines; checks both claims."""
    heading("2. MAE: gradient descent against median regression")
    b_ls, w_ls = mse_line
    b_lad, w_lad = median_regression(x, y)
    mae_path, mae_losses = gradient_descent(x, y, "MAE", lr, steps, start, decay=True)
    b_md, w_md = mae_path[-1]
    lad_mae, gd_mae = evaluate(x, y, b_lad, w_lad)["MAE"], evaluate(x, y, b_md, w_md)["MAE"]
    above = {
        name: float((y > b + w * x).mean())
        for name, (b, w) in (("MAE", (b_md, w_md)), ("MSE", (b_ls, w_ls)))
    }
    print(f"  median regression (IRLS): b = {b_lad:.4f}, w = {w_lad:.4f}, MAE {lad_mae:.6f}")
    print(
        f"  gradient descent, lr {lr} shrinking to 0, {steps} steps: b = {b_md:.4f}, "
        f"w = {w_md:.4f}, MAE {gd_mae:.6f}"
    )
    print(
        f"  days above the line: {above['MAE']:.1%} for the MAE fit, {above['MSE']:.1%} "
        "for the MSE fit (the popular-video"
    )
    print("  days pull the MSE line up toward them; the MAE line is a median and ignores how far")
    print("  they stick out).")
    result.check(
        "gradient descent on the MAE ends within 0.1% of the median-regression "
        "minimum, near its (b, w) (|db| < 0.1, |dw| < 0.03: the valley is flat)",
        gd_mae <= lad_mae * 1.001 and abs(b_md - b_lad) < 0.1 and abs(w_md - w_lad) < 0.03,
    )
    result.check(
        "the MAE line is a median line: 45% to 55% of the training days lie above it",
        0.45 <= above["MAE"] <= 0.55,
    )
    return mae_path, (b_lad, w_lad), gd_mae, above


def _compare_fits(
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    mse_fit_line: tuple[float, float],
    mae_fit_line: tuple[float, float],
    result: Result,
) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Step 3: both fitted lines and "tomorrow = today" on both losses, training and test;
    returns (train, test) scores per line and checks each fit wins at its own loss."""
    heading("3. Each line on both losses, training and held-out year")
    fits = {"MSE fit": mse_fit_line, "MAE fit": mae_fit_line, "tomorrow = today": (0.0, 1.0)}
    scores = {
        name: (evaluate(x, y, *bw), evaluate(x_test, y_test, *bw)) for name, bw in fits.items()
    }
    table(
        ["line", "b", "w", "train MAE", "train MSE", "test MAE", "test MSE"],
        [
            [
                name,
                f"{b:.3f}",
                f"{w:.3f}",
                f"{tr['MAE']:.3f}k",
                f"{tr['MSE']:.3f}",
                f"{te['MAE']:.3f}k",
                f"{te['MSE']:.3f}",
            ]
            for (name, (b, w)), (tr, te) in zip(fits.items(), scores.values(), strict=True)
        ],
        align="lrrrrrr",
    )
    print(
        "  A line through yesterday's views predicts yesterday's curve shifted by a day (a popular"
    )
    print(
        "  video is seen a day late) and pulled toward the mean, which is as far as one "
        "day of history goes."
    )
    mse_fit, mae_fit = scores["MSE fit"][0], scores["MAE fit"][0]
    result.check(
        "on the training data each fit wins at its own loss: the MSE fit has the "
        "lower MSE, the MAE fit the lower MAE",
        mse_fit["MSE"] < mae_fit["MSE"] and mae_fit["MAE"] < mse_fit["MAE"],
    )
    return scores


@plot.style()
def _views_figure(
    views: np.ndarray,
    n_train: int,
    x: np.ndarray,
    y: np.ndarray,
    mse_fit_line: tuple[float, float],
    mae_fit_line: tuple[float, float],
    out: Path,
) -> Path:
    """The series, the training days with both fitted lines, and the MAE fit's predictions
    over the last 8 weeks."""
    b_gd, w_gd = mse_fit_line
    b_md, w_md = mae_fit_line
    fig, (series_ax, scatter_ax, zoom_ax) = plot.figure(
        ncols=3, size=(5, 4), title="Daily views: y = b + w x"
    )
    days = np.arange(len(views))
    series_ax.plot(days[: n_train + 1], views[: n_train + 1], lw=0.6, label="training")
    series_ax.plot(days[n_train + 1 :], views[n_train + 1 :], lw=0.6, label="test")
    series_ax.set_xlabel("day")
    series_ax.set_ylabel("views (thousands)")
    series_ax.legend()
    series_ax.grid(alpha=0.3)
    last = days[-56:]  # the last 8 weeks; day d is predicted from day d - 1
    zoom_ax.plot(last, views[-56:], color="tab:orange", marker=".", label="real")
    zoom_ax.plot(
        last, b_md + w_md * views[-57:-1], color="k", marker=".", lw=1, label="predicted, MAE fit"
    )
    zoom_ax.set_xlabel("day")
    zoom_ax.set_title("the last 8 weeks of the test year", fontsize=plot.SMALL)
    zoom_ax.legend()
    zoom_ax.grid(alpha=0.3)
    scatter_ax.scatter(x, y, s=4, alpha=0.4, label="training days")
    line = np.linspace(x.min(), x.max(), 2)
    scatter_ax.plot(line, b_gd + w_gd * line, color="tab:red", label="MSE fit")
    scatter_ax.plot(line, b_md + w_md * line, color="k", label="MAE fit")
    scatter_ax.set_xlabel("views today, x")
    scatter_ax.set_ylabel("views tomorrow, y")
    scatter_ax.legend()
    scatter_ax.grid(alpha=0.3)
    return plot.save(fig, out / "regression_views.png")


@plot.style()
def _surface_figure(
    x: np.ndarray,
    y: np.ndarray,
    mse_path: np.ndarray,
    mae_path: np.ndarray,
    ls_line: tuple[float, float],
    lad_line: tuple[float, float],
    out: Path,
) -> Path:
    """The MAE and MSE loss surfaces over (b, w), each with its gradient-descent path and
    its exact minimum (median regression, closed form)."""
    fig, panels = plot.figure(
        ncols=2, size=(5.5, 4.5), title="Loss surfaces L(b, w) and the gradient-descent paths"
    )
    for panel, (loss, path, best) in zip(
        panels, [("MAE", mae_path, lad_line), ("MSE", mse_path, ls_line)], strict=True
    ):
        b_lo, b_hi = min(path[:, 0].min(), best[0]) - 0.5, max(path[:, 0].max(), best[0]) + 0.5
        w_lo, w_hi = min(path[:, 1].min(), best[1]) - 0.1, max(path[:, 1].max(), best[1]) + 0.1
        bs, ws = np.linspace(b_lo, b_hi, 120), np.linspace(w_lo, w_hi, 120)
        surface = loss_surface(x, y, bs, ws, loss)
        levels = np.quantile(surface, np.linspace(0, 1, 25) ** 2)
        filled = panel.contourf(bs, ws, surface, levels=np.unique(levels), cmap="viridis_r")
        unit = "thousands of views" + ("" if loss == "MAE" else ", squared")
        plot.colorbar(filled, f"{loss} loss ({unit})")
        panel.contour(
            bs, ws, surface, levels=np.unique(levels), colors="k", linewidths=0.3, alpha=0.5
        )
        panel.plot(
            path[:, 0],
            path[:, 1],
            color="tab:red",
            lw=1,
            marker=".",
            ms=2,
            label="gradient descent",
        )
        panel.plot(
            *best,
            marker="*",
            ms=14,
            color="white",
            markeredgecolor="k",
            label="median regression" if loss == "MAE" else "closed form",
        )
        panel.set_xlabel("b (thousands)")
        panel.set_ylabel("w")
        panel.set_title(f"{loss}")
        panel.legend(loc="upper right")
    return plot.save(fig, out / "regression_loss_surface.png")
