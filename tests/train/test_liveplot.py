"""``callbacks.LivePlot``: the curves redrawn at each epoch's end, into a PNG file outside
Jupyter and into one output updated in place inside it; only rank 0 draws; a resumed run
redraws the epochs before its interruption from the restored History."""

import base64
import io
import types

import matplotlib.image
import numpy as np
import pytest

import axon as ax
from axon import optim
from axon.train import fit
from axon.train.callbacks import BackupAndRestore, Callback, LambdaCallback, LivePlot
from axon.train.history import History

from .conftest import make_blobs, make_mlp
from .fake_jupyter import jupyter  # noqa: F401 - a fixture

PNG = b"\x89PNG\r\n\x1a\n"


def _fit(callbacks, epochs=3, **kwargs):
    x, y = make_blobs(60)
    model = make_mlp()
    return fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), 0.1),
               epochs=epochs, batch_size=20, validation=(x[:20], y[:20]), metrics=["accuracy"],
               callbacks=callbacks, verbose=0, **kwargs)  # fmt: skip


def _curves(fig) -> dict[str, list[float]]:
    return {
        line.get_label(): [float(v) for v in line.get_ydata()]
        for axes in fig.axes
        for line in axes.get_lines()
    }


def test_a_png_is_written_at_each_epoch_and_the_last_holds_the_history(tmp_path):
    path = tmp_path / "curves" / "live.png"
    live = LivePlot(path=path)
    pngs = []
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: pngs.append(path.read_bytes()))
    history = _fit([live, keep], epochs=2)
    assert len(pngs) == 2 and all(png.startswith(PNG) for png in pngs)
    pixels = [matplotlib.image.imread(io.BytesIO(png)) for png in pngs]
    assert pixels[0].shape == pixels[1].shape and not np.array_equal(pixels[0], pixels[1])
    assert _curves(live.figure) == {k: [float(v) for v in vs] for k, vs in history.history.items()}
    assert [a.get_title() for a in live.figure.axes] == ["loss", "accuracy"]
    assert path.read_bytes() == pngs[-1]
    assert sorted(p.name for p in path.parent.iterdir()) == ["live.png"]  # no temporary left


def test_every_and_metrics(tmp_path):
    drawn = []
    live = LivePlot(metrics=["accuracy"], path=tmp_path / "live.png", every=2)
    live.draw = types.MethodType(lambda self, epoch, logs: drawn.append(epoch), live)
    _fit([live], epochs=5)
    assert drawn == [1, 3, 4]  # epochs 2 and 4, then the last one at the end
    with pytest.raises(KeyError, match="'auc'"):
        _fit([LivePlot(metrics=["auc"], path=tmp_path / "live.png")], epochs=1)


def test_outside_jupyter_a_path_is_required():
    with pytest.raises(ValueError, match="give its path"):
        LivePlot()
    with pytest.raises(ValueError, match="every"):
        LivePlot(path="live.png", every=0)


def test_in_jupyter_one_output_is_updated_in_place(jupyter, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    live = LivePlot()
    history = _fit([live], epochs=2)
    (shown,) = jupyter.outputs  # one output: a note at the start, then each epoch's plot
    assert [b["text/plain"] for b in shown[1:]] == ["LivePlot: epoch 1", "LivePlot: epoch 2"]
    assert list(shown[0]) == ["text/plain"]
    pngs = [base64.b64decode(b["image/png"]) for b in shown[1:]]
    assert all(png.startswith(PNG) for png in pngs) and pngs[0] != pngs[1]
    assert _curves(live.figure)["val_loss"] == history["val_loss"]
    assert list(tmp_path.iterdir()) == []  # no file without a path


def test_only_rank_zero_draws(tmp_path):
    history = History()
    live = LivePlot(path=tmp_path / "live.png")
    live.set_trainer(types.SimpleNamespace(is_global_zero=False, history=history))
    live.on_train_begin()
    live.on_epoch_end(0, {"loss": 1.0})
    history.on_epoch_end(0, {"loss": 1.0})
    live.on_train_end()
    assert live.figure is None and list(tmp_path.iterdir()) == []


class _Interrupt(Exception):
    pass


class _StopAt(Callback):
    def __init__(self, epoch: int | None) -> None:
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise _Interrupt


def test_a_resumed_run_redraws_the_epochs_before_its_interruption(tmp_path):
    path, backup = tmp_path / "live.png", tmp_path / "backup"
    ax.manual_seed(0)
    with pytest.raises(_Interrupt):  # backed up after epoch 1, stopped in epoch 2
        _fit([_StopAt(1), LivePlot(path=path, every=9), BackupAndRestore(backup)], epochs=2)
    assert not path.exists()  # (every=9: drawn only at the end, to save time)
    ax.manual_seed(0)
    live = LivePlot(path=path, every=9)
    history = _fit([_StopAt(None), live, BackupAndRestore(backup)], epochs=2)
    assert history.epoch == [0, 1]
    assert _curves(live.figure) == {k: [float(v) for v in vs] for k, vs in history.history.items()}


def test_a_run_backed_up_without_it_resumes_with_it(tmp_path):
    """LivePlot is a display, like the progress bar: it is not part of the backup's
    fingerprint, so a resumed run may add it (or drop it)."""
    path, backup = tmp_path / "live.png", tmp_path / "backup"
    ax.manual_seed(0)
    with pytest.raises(_Interrupt):
        _fit([_StopAt(1), BackupAndRestore(backup)], epochs=2)
    ax.manual_seed(0)
    history = _fit(
        [_StopAt(None), LivePlot(path=path, every=9), BackupAndRestore(backup)], epochs=2
    )
    assert history.epoch == [0, 1] and path.read_bytes()[:8] == PNG
