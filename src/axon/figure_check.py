"""Does a figure read well? :func:`problems` lists what keeps it from reading: text cut
by the figure's edges, text too small to read, a frame with nothing in it, a curve that
paints nothing, labels piled on each other.

A figure's layout is only known once it is drawn: constrained layout moves the panels,
tick labels are made at draw time and only those in view are drawn, an annotation
outside its axes is skipped. So the check does not guess from the artists: it records
what the renderer is asked to draw (each line of text with its font, position and angle,
each legend's box) and judges that. Recorded during the save itself
(``axon.plot.save(fig, path, check=True)``), it costs no second drawing; :func:`problems`
draws the figure once without painting it (the layout, no rasterisation).

matplotlib is imported only when a figure is measured.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MIN_TEXT_PX = 8.0
"""The smallest readable font size, in pixels as shown (see :func:`problems`)."""
DISPLAY_WIDTH = 1280
"""The widest a figure is shown, in pixels: a wider PNG is scaled down to fit, text too."""
TOLERANCE_PX = 2.0
"""How far text may leave the figure, in pixels, before it counts as cut."""
OVERLAP = 0.3
"""Two lines of text overlap heavily when they share more than this part of the smaller."""


class FigureProblems(ValueError):
    """A figure saved at ``path`` does not read well; ``problems`` says why, one line each."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path, self.problems = Path(path), list(problems)
        lines = "\n  ".join(self.problems)
        super().__init__(f"{self.path.name} does not read well ({self.path}):\n  {lines}")


@dataclass(frozen=True)
class TextLine:
    """One line of text as drawn: its string, font size in points, box in pixels (x0, y0,
    x1, y1 from the figure's bottom left) and whether it runs along an axis."""

    text: str
    points: float
    box: tuple[float, float, float, float]
    upright: bool


@dataclass
class Drawing:
    """What one draw of a figure asked of its renderer: the lines of text, the legends'
    boxes (as ``TextLine.box``), and the canvas' size in pixels and resolution."""

    lines: list[TextLine] = field(default_factory=list)
    legends: list[tuple[float, float, float, float]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    dpi: float = 0.0


def _measure(
    renderer: Any,
    sizes: dict,
    gc: Any,
    x: float,
    y: float,
    s: str,
    prop: Any,
    angle: float,
    ismath: Any,
) -> TextLine | None:
    """The box of a line of text that ``renderer.draw_text`` is about to paint, or None
    when its clip rectangle hides it all. ``sizes`` caches each string's width, height
    and descent (a save draws twice, and tick labels repeat)."""
    key = (s, hash(prop), ismath, renderer.points_to_pixels(72.0))  # text, font, dpi
    if key not in sizes:
        sizes[key] = renderer.get_text_width_height_descent(s, prop, ismath)
    w, h, d = sizes[key]
    if renderer.flipy():  # (x, y) is the baseline's left end; y counted from the top
        y = renderer.get_canvas_width_height()[1] - y
    corners = np.array([[0.0, -d], [w, -d], [w, h - d], [0.0, h - d]])
    a = np.radians(angle)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    xy = corners @ rotation.T + [x, y]
    x0, y0, x1, y1 = xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()
    clip = gc.get_clip_rectangle()
    if clip is not None:  # only the part inside an axes it is clipped to shows
        x0, y0, x1, y1 = max(x0, clip.x0), max(y0, clip.y0), min(x1, clip.x1), min(y1, clip.y1)
        if x0 >= x1 or y0 >= y1:
            return None
    upright = min(angle % 90, 90 - angle % 90) < 1e-6
    return TextLine(s, prop.get_size_in_points(), (x0, y0, x1, y1), upright)


@contextlib.contextmanager
def recording(fig: Figure) -> Iterator[Drawing]:
    """While inside, each draw of ``fig`` (a save, :func:`problems`) is recorded in the
    :class:`Drawing` yielded, the last draw replacing the one before."""
    drawing = Drawing()
    figure_draw = type(fig).draw
    sizes: dict = {}

    def draw(renderer: Any) -> None:
        drawing.lines.clear()
        drawing.legends.clear()
        drawing.width, drawing.height, drawing.dpi = fig.bbox.width, fig.bbox.height, fig.dpi
        paint = renderer.draw_text

        def draw_text(gc, x, y, s, prop, angle, ismath=False, mtext=None):
            line = _measure(renderer, sizes, gc, x, y, s, prop, angle, ismath)
            if line is not None and s.strip():
                drawing.lines.append(line)
            return paint(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

        own = "draw_text" in vars(renderer)  # e.g. a blank renderer's no-op
        renderer.draw_text = draw_text
        try:
            figure_draw(fig, renderer)
            shown = [a for a in fig.axes if a.get_visible()]
            for legend in [*fig.legends, *(a.get_legend() for a in shown)]:
                if legend is not None and legend.get_visible():
                    drawing.legends.append(tuple(legend.get_window_extent(renderer).extents))
        finally:
            if own:
                renderer.draw_text = paint
            else:
                del renderer.draw_text

    fig.draw = draw  # an instance attribute over Figure.draw, as matplotlib's own probes do
    try:
        yield drawing
    finally:
        del fig.draw


def _blank_renderer(fig: Figure) -> Any:
    """An Agg renderer of ``fig``'s size that measures but paints nothing."""
    from matplotlib.backends.backend_agg import RendererAgg

    renderer = RendererAgg(fig.bbox.width, fig.bbox.height, fig.dpi)
    for name in (
        "draw_path",
        "draw_markers",
        "draw_path_collection",
        "draw_quad_mesh",
        "draw_gouraud_triangles",
        "draw_image",
        "draw_text",
    ):
        setattr(renderer, name, lambda *args, **kwargs: None)
    return renderer


@contextlib.contextmanager
def _at_dpi(fig: Figure, dpi: float) -> Iterator[None]:
    old = fig.dpi
    fig.dpi = dpi
    try:
        yield
    finally:
        fig.dpi = old


def problems(
    fig: Figure,
    dpi: float,
    *,
    min_text_px: float = MIN_TEXT_PX,
    display_width: float | None = DISPLAY_WIDTH,
    tolerance_px: float = TOLERANCE_PX,
    overlap: float = OVERLAP,
) -> list[str]:
    """What keeps ``fig``, saved at ``dpi``, from reading well: one line per problem, or
    an empty list.

    The figure is laid out and measured as a save at ``dpi`` draws it (nothing is
    painted), and these are reported:

    - **cut text**: a title, label, tick label, legend or any other text whose box
      leaves the figure by more than ``tolerance_px`` pixels;
    - **text too small**: a font size below ``min_text_px`` pixels as shown, i.e. at
      ``dpi`` and, for a PNG wider than ``display_width`` pixels, scaled down to that
      width as a browser page or a notebook shows it. 8 px is the threshold: an 8 px font
      has lowercase letters about 4 px tall, the fewest in which anti-aliased ``e``,
      ``a``, ``s`` and ``o`` stay distinct (it is 6 pt on a 96 dpi screen, the smallest
      print type guides allow for footnotes); below it words become guesses;
    - **empty axes**: an axes with its frame shown but nothing in it (no line that paints,
      image, collection, patch, text or legend);
    - **invisible curves**: a line of a single finite point and no marker, which paints
      nothing (a one-epoch training curve);
    - **overlapping text**: upright lines of text whose boxes share more than ``overlap``
      of the smaller one (crowded scatter labels, colliding tick labels).

    Text drawn as paths (path effects, ``usetex``) is not measured.
    """
    with recording(fig) as drawing, _at_dpi(fig, dpi):
        fig.draw(_blank_renderer(fig))
    return judge(
        fig,
        drawing,
        min_text_px=min_text_px,
        display_width=display_width,
        tolerance_px=tolerance_px,
        overlap=overlap,
    )


def judge(
    fig: Figure,
    drawing: Drawing,
    *,
    min_text_px: float = MIN_TEXT_PX,
    display_width: float | None = DISPLAY_WIDTH,
    tolerance_px: float = TOLERANCE_PX,
    overlap: float = OVERLAP,
) -> list[str]:
    """The verdict of :func:`problems` on a recorded ``drawing`` of ``fig``."""
    found = _cut(drawing, tolerance_px)
    shown = min(1.0, display_width / drawing.width) if display_width else 1.0
    found += _too_small(drawing.lines, drawing.dpi / 72 * shown, min_text_px)
    found += _empty(fig)
    found += _overlapping(drawing.lines, overlap)
    return found


# ----------------------------------------------------------------------------- the checks
def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _examples(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _outside(box: tuple[float, ...], width: float, height: float, tol: float) -> str:
    x0, y0, x1, y1 = box
    cut = {"left": -x0, "right": x1 - width, "bottom": -y0, "top": y1 - height}
    return ", ".join(f"{edge} by {px:.0f} px" for edge, px in cut.items() if px > tol)


def _cut(drawing: Drawing, tol: float) -> list[str]:
    found = []
    for line in drawing.lines:
        if edges := _outside(line.box, drawing.width, drawing.height, tol):
            found.append(f"text {_quote(line.text)} is cut at the figure's {edges}")
    for box in drawing.legends:
        if edges := _outside(box, drawing.width, drawing.height, tol):
            found.append(f"a legend is cut at the figure's {edges}")
    return found


def _too_small(lines: Sequence[TextLine], px_per_point: float, min_px: float) -> list[str]:
    by_size: dict[float, list[str]] = {}
    for line in lines:
        if line.points * px_per_point < min_px:
            by_size.setdefault(line.points, []).append(_quote(line.text, 20))
    return [
        f"{len(texts)} text{'s' * (len(texts) > 1)} at {points:g} pt "
        f"{'are' if len(texts) > 1 else 'is'} {points * px_per_point:.1f} px as shown, "
        f"below {min_px:g} px: {_examples(texts)}"
        for points, texts in sorted(by_size.items())
    ]


def _finite(line: Any) -> np.ndarray:
    xy = np.asarray(line.get_xydata(), dtype=float).reshape(-1, 2)
    return xy[np.isfinite(xy).all(axis=1)]


def _paints(line: Any) -> bool:
    """Whether a ``Line2D`` paints anything: a marker on a finite point, or a stroke
    through two; a line in data coordinates must also reach into the axes' view."""
    if not line.get_visible() or line.get_alpha() == 0:
        return False
    xy = _finite(line)
    marked = line.get_marker() not in (None, "None", "none", "", " ")
    stroked = line.get_linestyle() not in ("None", "none", "", " ") and line.get_linewidth() > 0
    if not ((marked and len(xy) >= 1) or (stroked and len(xy) >= 2)):
        return False
    ax = line.axes
    if ax is None or line.get_transform() is not ax.transData:
        return True
    (x0, y0), (x1, y1) = np.sort(ax.viewLim.get_points(), axis=0)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return bool(lo[0] <= x1 and hi[0] >= x0 and lo[1] <= y1 and hi[1] >= y0)


def _shows_something(ax: Axes) -> bool:
    if any(_paints(line) for line in ax.lines):
        return True
    for c in ax.collections:
        if c.get_visible() and len(c.get_paths()) and len(np.atleast_2d(c.get_offsets())):
            return True
    others = [*ax.images, *ax.patches, *ax.artists, *ax.tables, *ax.child_axes]
    if any(a.get_visible() for a in others):
        return True
    if any(t.get_visible() and t.get_text().strip() for t in ax.texts):
        return True
    return ax.get_legend() is not None


def _empty(fig: Figure) -> list[str]:
    """Axes whose frame is drawn with nothing in view, and lines of one point without a
    marker."""
    found = []
    shown = [a for a in fig.axes if a.get_visible()]
    for i, ax in enumerate(shown):
        title = ax.get_title() or ax.get_title("left") or ax.get_ylabel()
        name = f"axes {i + 1} of {len(shown)}" + (f" ({_quote(title)})" if title else "")
        if ax.axison and not _shows_something(ax):
            found.append(f"{name} is empty: its frame is drawn with nothing in view")
        for line in ax.lines:
            unmarked = line.get_marker() in (None, "None", "none", "", " ")
            if line.get_visible() and unmarked and len(_finite(line)) == 1:
                label = line.get_label()
                named = f" {_quote(label)}" if not label.startswith("_") else ""
                found.append(f"{name}: line{named} paints nothing (one point and no marker)")
    return found


def _overlapping(lines: Sequence[TextLine], share: float) -> list[str]:
    """Pairs of upright lines of text whose boxes share more than ``share`` of the
    smaller one."""
    upright = [line for line in lines if line.upright]
    if len(upright) < 2:
        return []
    b = np.array([line.box for line in upright])  # (n, 4): x0, y0, x1, y1
    w = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    h = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    shared = np.clip(w, 0, None) * np.clip(h, 0, None)  # (n, n)
    smaller = np.maximum(np.minimum(area[:, None], area[None, :]), 1e-9)
    heavy = np.triu(shared > share * smaller, k=1)
    pairs = [
        f"{_quote(upright[i].text, 20)} on {_quote(upright[j].text, 20)}"
        for i, j in zip(*np.nonzero(heavy), strict=True)
    ]
    if not pairs:
        return []
    return [
        f"{len(pairs)} pair{'s' * (len(pairs) > 1)} of texts overlap by more than "
        f"{share:.0%} of the smaller: {_examples(pairs, 3)}"
    ]
