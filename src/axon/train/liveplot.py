"""``LivePlot``: the training curves redrawn at each epoch's end, as d2l's ``Animator``
and livelossplot draw them.

The figure is :meth:`History.plot`'s (loss first, then the metrics, each panel with its
``val_`` twin) drawn from the run's History and the epoch's logs, so the last figure
holds exactly the values ``fit`` returns. In Jupyter it is one cell output, replaced in
place (a PNG through IPython's display with an id, see :mod:`axon.train.notebook`, shown
from the start of training, above the epochs' progress); in a
terminal or a script it is a PNG file overwritten atomically at ``path`` (open it in an
image viewer that reloads). No window ever opens: the figure is drawn with matplotlib's
object API on the Agg canvas, never with pyplot.

The callback keeps no state of its own: the curves come from the History, which a
:class:`~axon.train.checkpoint.BackupAndRestore` restores, so a resumed run redraws every
epoch, those before the interruption included. Under a process group only rank 0 draws.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..files import atomic_write
from . import notebook
from .base import Callback
from .distributed import speaks
from .history import History, curve_keys, draw_curves


class LivePlot(Callback):
    """Redraw loss and metric curves (training and validation) every ``every`` epochs.

    Args:
        metrics: the quantities drawn after the loss, each with its ``val_`` twin, e.g.
            ``["accuracy"]``; None draws every logged quantity.
        path: where the PNG is written (and overwritten at each redraw). Required outside
            Jupyter; in Jupyter the figure is shown in the cell and also written when a
            path is given.
        every: redraw every this many epochs (the last epoch is always drawn).

    Raises:
        ValueError: outside Jupyter without a ``path``, or ``every`` below 1.
    """

    def __init__(
        self,
        metrics: Iterable[str] | None = None,
        path: str | os.PathLike | None = None,
        every: int = 1,
    ) -> None:
        if int(every) < 1:
            raise ValueError(f"LivePlot: every must be at least 1, got {every!r}")
        self.in_notebook = notebook.in_notebook()
        if path is None and not self.in_notebook:
            raise ValueError(
                "LivePlot: outside Jupyter the curves go to a PNG file: give its path, "
                "e.g. LivePlot(path='runs/live.png')"
            )
        self.metrics = None if metrics is None else list(metrics)
        self.path = None if path is None else os.fspath(path)
        self.every = int(every)
        self.figure = None  # the last figure drawn
        self._output: notebook.LiveOutput | None = None
        self._drawn: int | None = None  # the last epoch drawn
        self._own: History | None = None  # the logs, when used outside fit

    def on_train_begin(self, logs=None) -> None:
        self._output = None
        if self.in_notebook and speaks(self):  # shown now: above the epochs' progress
            self._output = notebook.LiveOutput()
            self._output.show(
                {"text/plain": "LivePlot: the curves appear at the first epoch's end"}
            )
        self._drawn = None
        in_fit = isinstance(getattr(self.trainer, "history", None), History)
        self._own = None if in_fit else History()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self._own is not None:
            self._own.on_epoch_end(epoch, logs)
        if (epoch + 1) % self.every == 0:
            self.draw(epoch, logs)

    def on_train_end(self, logs=None) -> None:
        history = self._history()
        if history.epoch and history.epoch[-1] != self._drawn:
            self.draw(history.epoch[-1], None)

    def _history(self) -> History:
        return self._own if self._own is not None else self.trainer.history

    def curves(self, epoch: int, logs: dict | None) -> dict[str, list]:
        """Every epoch's logs up to ``epoch``: the History's, and ``logs`` for ``epoch``
        when the History has not recorded it yet (it runs after the user's callbacks)."""
        history = self._history()
        curves = {k: list(v) for k, v in history.history.items()}
        if logs and (not history.epoch or history.epoch[-1] != epoch):
            for key, value in logs.items():
                curves.setdefault(key, []).append(value)
        return curves

    def draw(self, epoch: int, logs: dict | None) -> None:
        """Redraw the curves up to ``epoch`` (rank 0 only): replace the notebook output,
        overwrite the PNG at ``path``."""
        self._drawn = epoch
        if not speaks(self):
            return
        curves = self.curves(epoch, logs)
        self.figure = draw_curves(curves, curve_keys(curves, self.metrics))
        png = notebook.figure_png(self.figure)
        if self._output is not None:
            self._output.show(notebook.png_bundle(png, f"LivePlot: epoch {epoch + 1}"))
        if self.path is not None:
            atomic_write(self.path, lambda tmp: tmp.write_bytes(png))
