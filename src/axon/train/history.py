"""``History``: what ``fit`` returns, the per-epoch logs as Keras keeps them, and a plot.

The plot's drawing (:func:`curve_keys`, :func:`draw_curves`) is shared with
:class:`~axon.train.liveplot.LivePlot`, which redraws the same figure at each epoch's end.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .base import Callback
from .distributed import is_global_zero


class History(Callback):
    """Records every epoch's logs.

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}``, one value
            per epoch.
        epoch: the 0-based indices of the recorded epochs.
        stopped_reason: why training stopped early (NaN guard, early stopping), else None.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stopped_reason: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def state_dict(self) -> dict:
        """The logs so far (for a training backup)."""
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "epoch": list(self.epoch),
            "stopped_reason": self.stopped_reason,
        }

    def load_state_dict(self, state: dict) -> None:
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]
        self.stopped_reason = state["stopped_reason"]

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}])"

    def plot(self, path: str | os.PathLike | None = None, metrics: Iterable[str] | None = None):
        """Draw loss (with val_loss) and each metric (with its val_ twin) per epoch.

        Drawn with ``axon.plot`` (matplotlib's object API on the Agg canvas: no window, no
        pyplot state); every point gets a marker when a series has few of them (a one-epoch
        run shows a dot). ``metrics`` picks the panels after the loss (default: every logged
        quantity). Returns the Figure, which Jupyter shows as a PNG when it is a cell's
        value; saves a PNG when ``path`` is given (under a process group of
        :mod:`axon.distributed`, on rank 0 only).
        """
        fig = draw_curves(self.history, curve_keys(self.history, metrics))
        if path is not None and is_global_zero():
            from .. import plot

            plot.save(fig, path)
        return fig


def curve_keys(history: dict[str, list], metrics: Iterable[str] | None = None) -> list[str]:
    """The panels to draw for ``history``'s logs: ``loss`` first, then the ``metrics``
    named (default: every logged quantity, in logging order; a ``val_`` log whose training
    twin is not logged gets its own panel). Raises KeyError for a metric not logged."""
    logged = [k for k in history if not k.startswith("val_")]
    logged += [k for k in history if k.startswith("val_") and k[4:] not in logged]
    if metrics is None:
        keys = logged
    else:
        keys = ["loss", *(m for m in metrics if m != "loss")]
        missing = [k for k in keys if k not in history and "val_" + k not in history]
        if missing:
            raise KeyError(
                f"no logs named {', '.join(map(repr, missing))} to plot "
                f"(logged: {', '.join(history) or 'nothing yet'})"
            )
    return sorted(keys, key=lambda k: k != "loss")  # loss first, the rest in order given


def draw_curves(history: dict[str, list], keys: list[str]):
    """A Figure with one panel per key of ``keys``: the key's values per epoch and its
    ``val_`` twin's, each point marked when a series is short (``axon.plot.FEW_POINTS``)."""
    from matplotlib.ticker import MaxNLocator

    from .. import plot
    from .notebook import shows_as_png

    fig, axes = plot.figure(ncols=max(len(keys), 1), size=(4.5, 3.5))
    for ax, key in zip(axes, keys, strict=False):
        series = {name: history[name] for name in (key, "val_" + key) if history.get(name)}
        plot.curves(ax, series, ylabel=key)  # marks each point of a short series
        ax.set_title(key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return shows_as_png(fig)
