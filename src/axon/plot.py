"""Small matplotlib helpers for the experiments and ``History.plot``.

Figures are made with matplotlib's object API (``matplotlib.figure.Figure`` drawn by the
Agg canvas), never through ``pyplot``: no window ever opens, no global backend is
switched, and nothing is left open after :func:`save`. matplotlib is imported only
when a figure is made, so importing axon stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def figure(
    ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (5.0, 4.0), title: str | None = None
) -> tuple[Figure, list[Axes]]:
    """A new figure of ``nrows x ncols`` panels, each ``size`` inches; returns the figure
    and its axes as a flat list."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    if title:
        fig.suptitle(title)
    return fig, list(axes.ravel())


def save(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG at ``path`` (creating its folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    return path


def curves(
    ax: Axes,
    series: Mapping[str, Sequence[float]],
    xlabel: str = "epoch",
    ylabel: str = "loss",
    log: bool = False,
    start: int = 1,
) -> Axes:
    """Plot named series (``{"train loss": [...], "val loss": [...]}``) against their index,
    counted from ``start``."""
    for name, values in series.items():
        x = np.arange(start, start + len(values))
        ax.plot(x, np.asarray(values, dtype=float), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def decision_boundary(
    ax: Axes,
    predict: Callable[[np.ndarray], np.ndarray],
    points: np.ndarray,
    labels: np.ndarray,
    lims: tuple[float, float] = (-0.5, 1.5),
    level: float = 0.5,
    resolution: int = 200,
    title: str | None = None,
) -> Axes:
    """Shade ``predict`` over a square grid and draw its ``level`` contour (the boundary),
    with the labelled points on top.

    ``predict`` maps an ``(n, 2)`` array of points to ``n`` scores; ``labels`` are truthy
    for the positive class.
    """
    lo, hi = lims
    g = np.linspace(lo, hi, resolution)
    gx, gy = np.meshgrid(g, g)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    z = np.asarray(predict(grid), dtype=float).reshape(gx.shape)
    vmin, vmax = min(z.min(), level - 1e-9), max(z.max(), level + 1e-9)
    ax.contourf(gx, gy, z, levels=20, cmap="RdBu_r", alpha=0.55, vmin=vmin, vmax=vmax)
    ax.contour(gx, gy, z, levels=[level], colors="k", linewidths=1.5)
    scatter(ax, points, labels)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def scatter(
    ax: Axes,
    points: np.ndarray,
    labels: np.ndarray,
    names: tuple[str, str] = ("1", "0"),
    **kwargs: Any,
) -> Axes:
    """Positive points as filled red circles, negative ones as open blue squares;
    ``names`` are their legend labels."""
    points = np.asarray(points, dtype=float)
    pos = np.asarray(labels).astype(bool).ravel()
    ax.scatter(
        points[pos, 0],
        points[pos, 1],
        s=90,
        c="tab:red",
        edgecolors="k",
        label=names[0],
        zorder=3,
        **kwargs,
    )
    ax.scatter(
        points[~pos, 0],
        points[~pos, 1],
        s=90,
        marker="s",
        facecolors="white",
        edgecolors="tab:blue",
        linewidths=2,
        label=names[1],
        zorder=3,
        **kwargs,
    )
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return ax


def confusion_matrix(
    ax: Axes, matrix: np.ndarray, labels: Sequence[str] | None = None, title: str | None = None
) -> Axes:
    """Draw a confusion matrix: row i is the true class, column j the predicted one; each
    cell is shaded by the fraction of row i it holds and labelled with its count."""
    m = np.asarray(matrix)
    k = m.shape[0]
    frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(m[i, j])),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if frac[i, j] > 0.5 else "black",
                )
    names = list(labels) if labels is not None else [str(i) for i in range(k)]
    ax.set_xticks(
        range(k),
        names,
        rotation=45 if max(map(len, names)) > 2 else 0,
        ha="right" if max(map(len, names)) > 2 else "center",
    )
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return ax


def images(
    axes: Sequence[Axes],
    pictures: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    cmap: str = "gray",
    symmetric: bool = False,
) -> None:
    """Show one 2-D array per axis, without ticks; axes left over are hidden.

    ``symmetric`` centres each picture's colour scale on zero (for weights, whose sign
    matters; use a diverging ``cmap`` such as ``"RdBu_r"``)."""
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(pictures):
            ax.set_axis_off()
            continue
        p = np.asarray(pictures[i], dtype=float)
        if symmetric:
            lim = max(float(np.abs(p).max()), 1e-12)
            ax.imshow(p, cmap=cmap, vmin=-lim, vmax=lim)
        else:
            ax.imshow(p, cmap=cmap)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize=8)


def image_grid(
    pictures: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.3,
    cmap: str = "gray",
    title: str | None = None,
) -> Figure:
    """A figure of small pictures in rows of ``ncols``, each with an optional title."""
    n = max(len(pictures), 1)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = figure(ncols=ncols, nrows=nrows, size=(size, size + 0.25), title=title)
    images(axes, pictures, titles, cmap=cmap)
    return fig
