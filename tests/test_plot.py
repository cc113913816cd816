"""``axon.plot``: the house style, its helpers, and ``problems``, the check that a figure
reads well, on figures made bad on purpose and on good ones. matplotlib's own measure of
a text (``Text.get_window_extent``) is the oracle for where text lands."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from axon import plot

PNG = b"\x89PNG\r\n\x1a\n"


def _good_figure():
    fig, (curve_ax, heat_ax, cm_ax) = plot.figure(ncols=3, size=(4.0, 3.4), title="Good")
    plot.curves(curve_ax, {"train": np.linspace(2, 1, 30), "val": np.linspace(2.1, 1.2, 30)})
    plot.heatmap(heat_ax, np.arange(12.0).reshape(3, 4), "value", xticklabels=list("abcd"))
    plot.confusion_matrix(cm_ax, np.array([[50, 3], [4, 43]]), ["ham", "spam"], "counts")
    return fig


def test_a_figure_in_the_house_style_reads_well():
    assert plot.problems(_good_figure()) == []


@pytest.mark.parametrize("x", [0.5, 0.97, 0.03])
def test_text_is_cut_exactly_where_matplotlib_measures_it_outside_the_figure(x):
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    note = fig.text(x, 0.5, "a note of some length", ha="center")
    found = plot.problems(fig, 100)
    box = note.get_window_extent(FigureCanvasAgg(fig).get_renderer())  # the oracle, in px
    left, right = -box.x0, box.x1 - 300
    said = [p for p in found if "'a note of some length' is cut" in p]
    assert bool(said) == (max(left, right) > plot.figure_check.TOLERANCE_PX)
    if said:
        edge, px = ("left", left) if left > right else ("right", right)
        assert f"{edge} by {px:.0f} px" in said[0]


def test_a_title_wider_than_the_figure_is_cut_at_both_edges_unless_figure_wraps_it():
    title = "A title that is far wider than the small figure it belongs to"
    fig = Figure(figsize=(3, 2), layout="constrained")
    fig.add_subplot().plot([0, 1], [0, 1])
    fig.suptitle(title)
    (found,) = plot.problems(fig)
    assert "cut at the figure's left by" in found and ", right by" in found
    fig, (ax,) = plot.figure(size=(3, 2), title=title)  # wrapped onto lines that fit
    ax.plot([0, 1], [0, 1])
    assert plot.problems(fig) == [] and fig.get_suptitle().count("\n") >= 1


def test_text_below_8_px_as_shown_is_too_small():
    fig, (ax,) = plot.figure(size=(3, 2.5))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("tiny", fontsize=4)
    (found,) = plot.problems(fig, 120)  # 4 pt at 120 dpi: 6.7 px
    assert found.startswith("1 text at 4 pt is 6.7 px as shown, below 8 px: 'tiny'")
    assert plot.problems(fig, 300) == []  # 16.7 px


def test_a_figure_wider_than_the_display_is_shown_smaller_and_its_text_with_it():
    fig, (ax,) = plot.figure(size=(25.2, 3))  # 3024 px, shown at 1280
    ax.plot([0, 1], [0, 1])
    found = plot.problems(fig, 120)
    assert any("at 9 pt are 6.3 px as shown" in p for p in found)  # the tick labels
    assert plot.problems(fig, 120, display_width=None) == []


def test_an_axes_that_shows_nothing_is_empty():
    fig, (empty, hidden, out_of_view, drawn) = plot.figure(ncols=4, size=(2.5, 2.5))
    hidden.set_axis_off()  # blank space, not a frame
    out_of_view.plot([1, 2], [0.2, 0.3])
    out_of_view.set_ylim(0.5, 1.0)
    drawn.plot([1, 2], [0.2, 0.3])
    found = plot.problems(fig)
    assert [p.split(" is empty")[0] for p in found] == ["axes 1 of 4", "axes 3 of 4"]


def test_a_single_point_without_a_marker_paints_nothing_but_curves_marks_it():
    fig, (bare, marked) = plot.figure(ncols=2, size=(3, 2.5))
    bare.plot([1], [0.5], label="train loss")
    plot.curves(marked, {"train loss": [0.5]})  # a one-epoch run
    found = plot.problems(fig)
    assert "axes 1 of 2: line 'train loss' paints nothing (one point and no marker)" in found
    assert not any(p.startswith("axes 2") for p in found)
    assert marked.lines[0].get_marker() == "o"
    fig, (long_ax,) = plot.figure()
    plot.curves(long_ax, {"loss": np.linspace(1, 0, plot.FEW_POINTS + 1)})
    assert long_ax.lines[0].get_marker() in ("None", None, "")  # many points: a plain line


def test_piled_up_labels_overlap_and_label_points_spreads_them():
    rng = np.random.default_rng(0)
    xy = rng.normal(0, 0.02, (12, 2))  # a tight cluster
    xy[6:] += 1.0  # and a second one
    words = [f"word{i}" for i in range(12)]

    def scatter():
        fig, (ax,) = plot.figure(size=(4.5, 4))
        ax.scatter(xy[:, 0], xy[:, 1], s=10)
        ax.margins(0.4)
        return fig, ax

    fig, piled = scatter()
    for w, p in zip(words, xy, strict=True):
        piled.annotate(w, p, xytext=(2, 2), textcoords="offset points")
    (found,) = plot.problems(fig)
    assert "pairs of texts overlap by more than 30% of the smaller: 'word0' on" in found
    fig, placed = scatter()
    notes = plot.label_points(placed, xy, words)
    assert [n.get_text() for n in notes] == words
    assert plot.problems(fig) == []


def test_save_checks_the_drawing_it_makes_and_raises_once_written(tmp_path):
    fig, (ax,) = plot.figure(size=(3, 2.5))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("tiny", fontsize=4)
    with pytest.raises(plot.FigureProblems) as bad:
        plot.save(fig, tmp_path / "bad.png", check=True)
    assert bad.value.path == tmp_path / "bad.png"
    assert bad.value.problems == plot.problems(fig)  # the same verdict as a separate check
    assert "bad.png does not read well" in str(bad.value)
    data = (tmp_path / "bad.png").read_bytes()
    assert data[:8] == PNG
    assert int.from_bytes(data[16:20], "big") == 360  # 3 in at 120 dpi
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.png"]  # no temporary left
    assert plot.save(fig, tmp_path / "unchecked.png") == tmp_path / "unchecked.png"


def test_heatmap_and_colorbar_label_their_scale():
    fig, (ax,) = plot.figure()
    image = plot.heatmap(ax, [[0.0, -2.0], [1.0, 0.5]], "weight", symmetric=True, cmap="RdBu_r")
    assert image.get_clim() == (-2.0, 2.0)
    (bar,) = [a for a in fig.axes if a is not ax]
    assert bar.get_ylabel() == "weight"
    zeros = plot.heatmap(plot.figure()[1][0], np.zeros((2, 2)), "weight", symmetric=True)
    assert zeros.get_clim() == (-1.0, 1.0)  # not a scale of 1e-12
    with pytest.raises(ValueError, match=r"2-D, got shape \(3,\)"):
        plot.heatmap(ax, [1.0, 2.0, 3.0], "x")


def test_the_style_applies_inside_it_and_leaves_global_settings_alone(tmp_path):
    before = dict(matplotlib.rcParams)
    with plot.style():
        assert matplotlib.rcParams["font.size"] == plot.FONT
        assert matplotlib.rcParams["legend.fontsize"] == plot.SMALL
    fig, (ax,) = plot.figure(size=(3, 2.5), title="a figure")
    plot.curves(ax, {"loss": [1.0, 0.5]})
    plot.save(fig, tmp_path / "a.png", check=True)
    plot.problems(fig)
    assert dict(matplotlib.rcParams) == before


@pytest.mark.slow  # a fresh interpreter, about 1-2 s
def test_importing_axon_plot_does_not_import_matplotlib():
    code = "import sys, axon.plot; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
