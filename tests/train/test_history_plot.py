"""``History.plot``: what the figure holds (panels, lines, labels, markers on short
series), that a one-epoch run's point is visible in the rendered pixels, and that IPython
shows the returned Figure as a PNG."""

import matplotlib.colors
import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.backends.backend_agg import FigureCanvasAgg

from axon.train import History


def _history(epochs: int) -> History:
    h = History()
    for epoch in range(epochs):
        loss = 1.0 / (epoch + 1)
        h.on_epoch_end(epoch, {"loss": loss, "accuracy": 1 - loss / 2, "val_loss": loss + 0.1})
    return h


def test_panels_lines_labels_and_markers():
    fig = _history(3).plot()
    loss, accuracy = fig.axes
    assert [loss.get_title(), accuracy.get_title()] == ["loss", "accuracy"]
    assert (loss.get_xlabel(), loss.get_ylabel(), accuracy.get_ylabel()) == (
        "epoch", "loss", "accuracy")  # fmt: skip
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["loss", "val_loss"]
    assert accuracy.get_legend() is None  # one series: no legend
    train, val = loss.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3] and list(val.get_ydata()) == [1.1, 0.6, 1 / 3 + 0.1]
    assert [line.get_marker() for ax in fig.axes for line in ax.get_lines()] == ["o"] * 3


def test_a_long_series_has_no_markers_and_metrics_pick_the_panels():
    fig = _history(40).plot(metrics=[])
    (loss,) = fig.axes
    assert [line.get_marker() for line in loss.get_lines()] == ["None", "None"]
    with pytest.raises(KeyError, match="'auc'.*logged: loss, accuracy, val_loss"):
        _history(2).plot(metrics=["auc"])


def test_a_one_epoch_run_shows_its_point():
    fig = _history(1).plot()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(float) / 255
    for ax in fig.axes:
        for line in ax.get_lines():
            x, y = ax.transData.transform((1, line.get_ydata()[0]))
            row, col = round(pixels.shape[0] - y), round(x)
            colour = matplotlib.colors.to_rgb(line.get_color())
            patch = pixels[row - 1 : row + 2, col - 1 : col + 2]  # the marker's centre
            assert np.abs(patch - colour).max() < 0.1, (ax.get_title(), line.get_label())


def test_jupyter_shows_the_figure_as_a_png():
    shown, _ = DisplayFormatter().format(_history(2).plot())  # IPython's own formatters
    assert shown["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
