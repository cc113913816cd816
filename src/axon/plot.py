"""Small matplotlib helpers for the experiments and ``History.plot``, in one house style,
and the check that a figure reads well.

Figures are made with matplotlib's object API (``matplotlib.figure.Figure`` drawn by the
Agg canvas), never through ``pyplot``: no window ever opens, no global backend is
switched, and nothing is left open after :func:`save`. matplotlib is imported only
when a figure is made, so importing axon stays fast.

The house style is sized for the saved pixels, since a learner reads each figure as a PNG
(in the report, a notebook or a file viewer): at ``DPI`` = 120 a 9 pt tick label is 15 px
tall. It lives in :func:`style` (a ``matplotlib.rc_context``: font sizes, line widths,
legend placement) and in the explicit sizes the helpers pass, never in the global
``rcParams``: a notebook that imports axon keeps its own matplotlib settings. Figure code
runs inside ``with plot.style():`` (or under ``@plot.style()``), since matplotlib reads
most settings when a title, label or legend is made; :func:`figure` (constrained layout,
titles wrapped to the figure's width) and :func:`save` apply it themselves. Every heat
map gets a labelled colour bar (:func:`heatmap`, :func:`colorbar`), a curve of a few
points gets a marker on each (:func:`curves`: a one-epoch run is a visible dot, not a
line of zero length), and scatter labels are placed clear of each other
(:func:`label_points`).

:func:`problems` (and ``save(..., check=True)``) measures a figure as it is drawn and
lists what keeps it from reading: cut text, text too small as shown, empty panels,
invisible curves, piled-up labels (:mod:`axon.figure_check`).
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import figure_check
from .figure_check import FigureProblems
from .files import atomic_write

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

DPI = 120
"""The resolution figures are saved at, in pixels per inch."""
FONT = 10.0
"""Axis labels, colour-bar labels and annotations, in points."""
SMALL = 9.0
"""Tick labels, legends and the numbers written in cells."""
TITLE = 11.0
"""Panel titles."""
SUPTITLE = 12.0
"""A figure's title, above its panels."""
FEW_POINTS = 20
"""A series of at most this many points is drawn with a marker on each."""


def _house_rc() -> dict[str, Any]:
    return {
        "font.size": FONT,
        "axes.titlesize": TITLE,
        "axes.labelsize": FONT,
        "xtick.labelsize": SMALL,
        "ytick.labelsize": SMALL,
        "legend.fontsize": SMALL,
        "legend.title_fontsize": SMALL,
        "legend.loc": "best",
        "legend.framealpha": 0.85,
        "figure.titlesize": SUPTITLE,
        "figure.labelsize": FONT,
        "lines.linewidth": 1.6,
        "lines.markersize": 5.0,
        "axes.linewidth": 0.8,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.6,
        "image.cmap": "viridis",
        "savefig.dpi": DPI,
    }


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The house style for the figures made inside it (a context manager, or a decorator
    as ``@plot.style()``); matplotlib's global settings are restored on exit."""
    import matplotlib

    with matplotlib.rc_context(_house_rc()):
        yield


def figure(
    ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (5.0, 4.0), title: str | None = None
) -> tuple[Figure, list[Axes]]:
    """A new figure of ``nrows x ncols`` panels, each ``size`` inches, in the house style
    with constrained layout; returns the figure and its axes as a flat list. A ``title``
    wider than the figure is wrapped onto more lines."""
    from matplotlib.figure import Figure

    width = size[0] * ncols
    with style():
        fig = Figure(figsize=(width, size[1] * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax in axes.ravel():  # ticks are made when drawn, perhaps outside style()
            ax.tick_params(labelsize=SMALL)
        if title:
            fig.suptitle(wrap(title, width, SUPTITLE), fontsize=SUPTITLE)
    return fig, list(axes.ravel())


def wrap(text: str, width: float, fontsize: float = SUPTITLE) -> str:
    """``text`` broken into lines that fit ``width`` inches at ``fontsize`` points (each of
    its own lines wrapped alone), counting a character as 0.6 em, a little wider than
    DejaVu Sans' average."""
    chars = max(int(width * 72 / (0.6 * fontsize)), 10)
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def save(fig: Figure, path: str | Path, dpi: int = DPI, *, check: bool = False) -> Path:
    """Write ``fig`` as a PNG at ``path`` (creating its folder) and return the path.

    The PNG is written to a temporary file beside ``path`` and renamed over it, so an
    error midway never leaves half a picture. With ``check``, the drawing is measured as
    it is made and a figure that does not read well (see :func:`problems`) raises
    :class:`FigureProblems` once written, so that it can be looked at."""
    measured = figure_check.recording(fig) if check else contextlib.nullcontext()
    with style(), measured as drawing:
        path = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
    if check and (found := figure_check.judge(fig, drawing)):
        raise FigureProblems(path, found)
    return path


def problems(fig: Figure, dpi: float = DPI, **limits: Any) -> list[str]:
    """What keeps ``fig``, saved at ``dpi``, from reading well, one line per problem (an
    empty list when it reads well): text cut by the figure's edges, text below 8 px as
    shown, an empty axes, a curve that paints nothing, heavily overlapping text. The
    figure is laid out and measured in the house style, as :func:`save` draws it; see
    :func:`axon.figure_check.problems` for each check, its threshold and ``limits``."""
    with style():
        return figure_check.problems(fig, dpi, **limits)


def curves(
    ax: Axes,
    series: Mapping[str, Sequence[float]],
    xlabel: str = "epoch",
    ylabel: str = "loss",
    log: bool = False,
    start: int = 1,
) -> Axes:
    """Plot named series (``{"train loss": [...], "val loss": [...]}``) against their index,
    counted from ``start``; a series of at most ``FEW_POINTS`` values has a marker on each
    point, so that a single epoch shows as a dot."""
    from matplotlib.ticker import MaxNLocator

    for name, values in series.items():
        y = np.asarray(values, dtype=float)
        x = np.arange(start, start + len(y))
        marker = {"marker": "o", "markersize": 4} if len(y) <= FEW_POINTS else {}
        ax.plot(x, y, label=name, **marker)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # the index counts steps
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    if log:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend(fontsize=SMALL)
    ax.grid(alpha=0.3)
    return ax


def colorbar(
    mappable: ScalarMappable,
    label: str,
    *,
    ax: Axes | Sequence[Axes] | None = None,
    cax: Axes | None = None,
    orientation: str = "vertical",
) -> Colorbar:
    """A colour bar for ``mappable`` (an image, a contour set, a scatter), labelled with
    what its colours mean: beside ``ax`` (one axes or several that share the bar; by
    default the mappable's own), or drawn in ``cax`` where a fixed layout places it."""
    owner = ax if ax is not None else mappable.axes
    fig = (cax if cax is not None else mappable.axes).get_figure()
    if cax is not None:
        bar = fig.colorbar(mappable, cax=cax, orientation=orientation)
    else:
        bar = fig.colorbar(mappable, ax=owner, orientation=orientation, fraction=0.05, pad=0.02)
    bar.set_label(label, fontsize=FONT)
    bar.ax.tick_params(labelsize=SMALL)
    return bar


def heatmap(
    ax: Axes,
    data: np.ndarray,
    colorbar_label: str | None,
    *,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    symmetric: bool = False,
    xticklabels: Sequence[str] | None = None,
    yticklabels: Sequence[str] | None = None,
    extent: tuple[float, float, float, float] | None = None,
    origin: str = "upper",
    aspect: str | float = "auto",
) -> AxesImage:
    """Draw a 2-D array as coloured cells, with a colour bar labelled ``colorbar_label``
    (``None`` only where a shared bar is drawn with :func:`colorbar`); returns the image.

    ``symmetric`` centres the colour scale on zero (for values whose sign matters; use a
    diverging ``cmap`` such as ``"RdBu_r"``). ``xticklabels``/``yticklabels`` name the
    columns and rows; many long column names are slanted so that they do not collide."""
    values = np.asarray(data, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"heatmap: data must be 2-D, got shape {values.shape}")
    if symmetric:
        finite = np.abs(values[np.isfinite(values)])
        lim = float(finite.max()) if finite.size else 0.0
        vmin, vmax = (-lim, lim) if lim > 0 else (-1.0, 1.0)  # all zeros: a plain scale
    image = ax.imshow(
        values,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        extent=extent,
        origin=origin,
        aspect=aspect,
        interpolation="nearest",
    )
    if xticklabels is not None:
        names = [str(name) for name in xticklabels]
        slant = sum(map(len, names)) > 24 and max(map(len, names)) > 2  # else they fit flat
        ax.set_xticks(
            range(len(names)),
            names,
            rotation=45 if slant else 0,
            ha="right" if slant else "center",
            rotation_mode="anchor",
            fontsize=SMALL,
        )
    if yticklabels is not None:
        ax.set_yticks(range(len(yticklabels)), list(yticklabels), fontsize=SMALL)
    if colorbar_label is not None:
        colorbar(image, colorbar_label)
    return image


def decision_boundary(
    ax: Axes,
    predict: Callable[[np.ndarray], np.ndarray],
    points: np.ndarray,
    labels: np.ndarray,
    lims: tuple[float, float] = (-0.5, 1.5),
    level: float = 0.5,
    resolution: int = 200,
    title: str | None = None,
    colorbar_label: str | None = "model output",
    legend: bool = True,
) -> Axes:
    """Shade ``predict`` over a square grid and draw its ``level`` contour (the boundary),
    with the labelled points on top, a colour bar for the shading and, with ``legend``, a
    legend under the axes (where it hides no point).

    ``predict`` maps an ``(n, 2)`` array of points to ``n`` scores; ``labels`` are truthy
    for the positive class. ``colorbar_label=None`` leaves the bar out. The boundary has a
    legend entry, so that ``legend_below(fig, ax)`` can draw one legend for all panels."""
    lo, hi = lims
    g = np.linspace(lo, hi, resolution)
    gx, gy = np.meshgrid(g, g)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    z = np.asarray(predict(grid), dtype=float).reshape(gx.shape)
    vmin, vmax = min(z.min(), level - 1e-9), max(z.max(), level + 1e-9)
    shading = ax.contourf(gx, gy, z, levels=20, cmap="RdBu_r", alpha=0.55, vmin=vmin, vmax=vmax)
    ax.contour(gx, gy, z, levels=[level], colors="k", linewidths=1.5)
    scatter(ax, points, labels)
    ax.plot([], [], color="k", lw=1.5, label=f"boundary (output {level:g})")  # legend entry
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=TITLE)
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3, fontsize=SMALL)
    if colorbar_label is not None:
        colorbar(shading, colorbar_label)
    return ax


def legend_below(fig: Figure, ax: Axes, ncols: int | None = None) -> None:
    """One legend for the whole figure, under its panels, with the entries of ``ax`` (for
    panels that share their entries)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=ncols or len(handles), fontsize=SMALL
    )


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
    ax.set_xlabel("x1", fontsize=FONT)
    ax.set_ylabel("x2", fontsize=FONT)
    return ax


def label_points(
    ax: Axes,
    xy: np.ndarray,
    labels: Sequence[str],
    colors: Sequence[Any] | None = None,
    fontsize: float = SMALL,
) -> list[Any]:
    """Write each label beside its point so that labels cover neither each other nor the
    points: each takes the nearest free spot on rings of growing distance around its
    point, the most crowded points first; a label set away from its point gets a thin
    leader line. Call it last, once the axes' data and limits are set (it lays the figure
    out to measure). Returns the annotations."""
    fig = ax.get_figure()
    points = np.asarray(xy, dtype=float).reshape(-1, 2)
    notes = [
        ax.annotate(
            str(label),
            p,
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=fontsize,
            color=colors[i] if colors is not None else "k",
            ha="left",
            va="bottom",
            annotation_clip=False,
            arrowprops=dict(arrowstyle="-", lw=0.6, color="0.45", shrinkA=1, shrinkB=3),
        )
        for i, (label, p) in enumerate(zip(labels, points, strict=True))
    ]
    for note in notes:
        note.set_in_layout(False)
    if not notes:
        return notes
    fig.draw_without_rendering()  # the final layout: the axes' size and limits, text sizes
    px = ax.transData.transform(points)  # (n, 2) display pixels
    sizes = np.array([[n.get_window_extent().width, n.get_window_extent().height] for n in notes])
    frame = ax.get_window_extent()
    unit = fig.dpi / 72  # pixels per point
    r = 3 * unit  # a point's half-width, as an obstacle
    taken = [(x - r, y - r, x + r, y + r) for x, y in px]  # the points, then placed labels
    angles = np.radians(np.arange(0, 360, 30))
    crowd = (np.linalg.norm(px[:, None] - px[None], axis=-1) < 40 * unit).sum(axis=1)
    for i in np.argsort(-crowd, kind="stable"):
        w, h = sizes[i]
        best, best_cost = None, np.inf
        for ring in range(8):
            d = (2 + 7 * ring) * unit
            for a in angles:  # the box's corner or side nearest the point sits at distance d
                cx, cy = px[i, 0] + d * np.cos(a), px[i, 1] + d * np.sin(a)
                x0 = cx - w * (0.5 - 0.5 * np.sign(np.round(np.cos(a), 6)))
                y0 = cy - h * (0.5 - 0.5 * np.sign(np.round(np.sin(a), 6)))
                box = (x0, y0, x0 + w, y0 + h)
                cost = sum(
                    max(0.0, min(box[2], t[2]) - max(box[0], t[0]))
                    * max(0.0, min(box[3], t[3]) - max(box[1], t[1]))
                    for k, t in enumerate(taken)
                    if k != i
                )
                outside = (
                    max(0.0, frame.x0 - box[0])
                    + max(0.0, box[2] - frame.x1)
                    + max(0.0, frame.y0 - box[1])
                    + max(0.0, box[3] - frame.y1)
                )
                cost += outside * h * 4  # leaving the axes costs more than touching a label
                if cost < best_cost - 1e-9:
                    best, best_cost = box, cost
            if best_cost == 0:
                break
        taken.append(best)
        offset = (np.array(best[:2]) - px[i]) / unit  # points from the data point
        notes[i].set_position(tuple(offset))
        if np.hypot(*(np.array(best[:2]) + [w / 2, h / 2] - px[i])) < max(w, h) / 2 + 6 * unit:
            notes[i].arrow_patch.set_visible(False)  # beside its point: no leader line
    return notes


def confusion_matrix(
    ax: Axes,
    matrix: np.ndarray,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    colorbar_label: str | None = None,
) -> Axes:
    """Draw a confusion matrix: row i is the true class, column j the predicted one; each
    cell is shaded by the fraction of row i it holds and labelled with its count (when the
    cells are large enough for a readable number). ``colorbar_label`` (e.g. ``"fraction
    of the true class"``) adds the shading's scale."""
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion_matrix: matrix must be square, got shape {m.shape}")
    k = m.shape[0]
    frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    names = list(labels) if labels is not None else [str(i) for i in range(k)]
    heatmap(
        ax,
        frac,
        colorbar_label,
        cmap="Blues",
        vmin=0.0,
        vmax=1.0,
        xticklabels=names,
        yticklabels=names,
        aspect="equal",
    )
    if k <= 12:  # beyond, a count no longer fits its cell at a readable size
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(
                        j,
                        i,
                        str(int(m[i, j])),
                        ha="center",
                        va="center",
                        fontsize=SMALL if k <= 6 else SMALL - 1,
                        color="white" if frac[i, j] > 0.5 else "black",
                    )
    ax.set_xlabel("predicted", fontsize=FONT)
    ax.set_ylabel("true", fontsize=FONT)
    if title:
        ax.set_title(title, fontsize=TITLE)
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
            ax.set_title(titles[i], fontsize=SMALL)


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
