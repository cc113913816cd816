"""``ProgressBar``: a live rich bar per epoch in a terminal, one line per epoch elsewhere.

The line written at each epoch's end reads
``Epoch 3/10 - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2345 (1.2 s)``. When stdout
is not a terminal (CI logs, pytest's capture, a pipe) there is no live bar, only these
lines. The live bar is redrawn at most every ``refresh`` seconds, so it costs the training
loop one clock read per step. Under a process group only rank 0 shows progress (``fit``
gives the other ranks no bar, and a bar given to them stays silent).
"""

from __future__ import annotations

import math
import numbers
import sys
import time

from .base import Callback
from .distributed import speaks


def format_value(value) -> str:
    """``0.1234``; ``1.2340e-05`` for small numbers (Keras' format)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
        if value != 0 and math.isfinite(value) and abs(value) < 1e-3:
            return f"{value:.4e}"
        return f"{value:.4f}"
    return str(value)


def format_logs(logs: dict | None) -> str:
    return " - ".join(f"{k}: {format_value(v)}" for k, v in (logs or {}).items())


def epoch_line(epoch: int, epochs: int | None, logs: dict | None, seconds: float) -> str:
    head = f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"
    body = format_logs(logs)
    return f"{head} - {body} ({seconds:.1f} s)" if body else f"{head} ({seconds:.1f} s)"


def stdout_is_live() -> bool:
    """True when stdout can show a live display (a real terminal or Jupyter)."""
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is a dependency
        return False
    console = Console(file=sys.stdout)
    return (console.is_terminal and not console.is_dumb_terminal) or console.is_jupyter


class ProgressBar(Callback):
    """Shows training progress (the default callback for ``fit(verbose=1)``).

    Args:
        live: draw a live bar; ``None`` decides from stdout (a terminal or Jupyter), False
            prints only the per-epoch lines (``verbose=2``).
        refresh: least seconds between two redraws of the live bar.
    """

    def __init__(self, live: bool | None = None, refresh: float = 0.1) -> None:
        self.live = live
        self.refresh = refresh
        self._progress = None
        self._task = None
        self._t0 = 0.0
        self._last = 0.0
        self._silent = False

    def on_train_begin(self, logs=None) -> None:
        params = self.params or {}
        self.epochs = params.get("epochs")
        self.steps = params.get("steps")
        self._silent = not speaks(self)  # another rank than 0: nothing is shown
        live = not self._silent and (stdout_is_live() if self.live is None else self.live)
        self._progress = self._make_progress() if live else None

    def _make_progress(self):
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
        except ImportError:  # pragma: no cover
            return None
        progress = Progress(
            TextColumn("{task.fields[title]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("<"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[logs]}"),
            console=Console(file=sys.stdout),
            transient=True,
        )
        progress.start()
        return progress

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._t0 = self._last = time.perf_counter()
        if self._progress is not None:
            title = f"Epoch {epoch + 1}/{self.epochs}" if self.epochs else f"Epoch {epoch + 1}"
            self._task = self._progress.add_task("", total=self.steps, title=title, logs="")

    def on_batch_end(self, batch: int, logs=None) -> None:
        if self._progress is None:
            return
        now = time.perf_counter()
        if now - self._last >= self.refresh:
            self._last = now
            self._progress.update(self._task, completed=batch + 1, logs=format_logs(logs))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self._silent:
            return
        line = epoch_line(epoch, self.epochs, logs, time.perf_counter() - self._t0)
        self.write(line)
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None

    def write(self, text: str) -> None:
        """Print a line above the live bar (or plainly when there is none)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, flush=True)

    def on_train_end(self, logs=None) -> None:
        self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
