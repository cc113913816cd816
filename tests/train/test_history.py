"""``History``: Keras' record of epochs, and its plot."""

import matplotlib.figure

from axon.train import History


def _history():
    h = History()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.6, 0.7), (0.4, 0.8)]):
        h.on_epoch_end(
            epoch,
            {"loss": loss, "accuracy": acc, "val_loss": loss + 0.1, "val_accuracy": acc - 0.1},
        )
    return h


def test_history_records_each_epoch():
    h = _history()
    assert h.epoch == [0, 1, 2]
    assert h.history["loss"] == [1.0, 0.6, 0.4]
    assert h["val_accuracy"] == [acc - 0.1 for acc in (0.5, 0.7, 0.8)]
    assert "loss, accuracy, val_loss, val_accuracy" in repr(h)


def test_plot_draws_loss_and_metrics_and_saves_png(tmp_path):
    path = tmp_path / "history.png"
    fig = _history().plot(path)
    assert isinstance(fig, matplotlib.figure.Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy"]
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["loss", "val_loss"]
    assert list(fig.axes[1].get_lines()[1].get_ydata()) == [acc - 0.1 for acc in (0.5, 0.7, 0.8)]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _history().plot() is not None and not list(tmp_path.glob("*.svg"))
