"""``History``: what ``fit`` returns, the per-epoch logs as Keras keeps them, and a plot."""

from __future__ import annotations

import os

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

    def plot(self, path: str | os.PathLike | None = None):
        """Draw loss (with val_loss) and each metric (with its val_ twin) per epoch.

        Drawn with ``axon.plot`` (matplotlib's object API on the Agg canvas: no window, no
        pyplot state). Returns the Figure; saves a PNG when ``path`` is given (under a
        process group of :mod:`axon.distributed`, on rank 0 only).
        """
        from matplotlib.ticker import MaxNLocator

        from .. import plot

        keys = [k for k in self.history if not k.startswith("val_")]
        keys += [k for k in self.history if k.startswith("val_") and k[4:] not in keys]
        keys.sort(key=lambda k: k != "loss")  # loss first, the rest in logging order
        fig, axes = plot.figure(ncols=max(len(keys), 1), size=(4.5, 3.5))
        for ax, key in zip(axes, keys, strict=False):
            series = {
                name: self.history[name] for name in (key, "val_" + key) if self.history.get(name)
            }
            plot.curves(ax, series, ylabel=key)
            ax.set_title(key)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if path is not None and is_global_zero():
            plot.save(fig, path)
        return fig
