"""``ProgressBar``: how ``fit`` shows its progress, wherever its output goes.

Every epoch ends with one line,
``Epoch 3/10 - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2345 (1.2 s)``; what shows
while an epoch runs depends on where stdout goes:

- a terminal: a live rich bar, redrawn in place at most every ``refresh`` seconds;
- Jupyter: a bar in one cell output, replaced in place (IPython's display with an id; see
  :mod:`axon.train.notebook`) and replaced at the epoch's end by the epoch's line, so the
  cell keeps one output per epoch and no carriage return (which a notebook cannot redraw
  and shows as a pile of lines);
- anything else (a pipe, a log file, CI, pytest's capture): plain lines. A long epoch
  would otherwise show nothing until it ends, so once an epoch has run for
  ``lines_after`` seconds (5 by default) a progress line is printed at each further tenth
  of it, ``Epoch 3/10 - 40% (120/300) - loss: 0.1234 - 12.0 s``; an epoch of fewer than
  10 steps never prints one, and neither does a quick epoch (tests and small runs keep one
  line per epoch). When the epoch's length is unknown (an iterable without ``len``) a
  line ``Epoch 3/10 - step 120 - loss: 0.1234 - 12.0 s`` is printed every
  ``lines_after`` seconds instead.

The bar costs the training loop one clock read per step (``clock``, injectable for
tests). Under a process group only rank 0 shows progress (``fit`` gives the other ranks no
bar, and a bar given to them stays silent).
"""

from __future__ import annotations

import html
import math
import numbers
import sys
import time
from collections.abc import Callable

from . import notebook
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


def epoch_title(epoch: int, epochs: int | None) -> str:
    return f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"


def epoch_line(epoch: int, epochs: int | None, logs: dict | None, seconds: float) -> str:
    head, body = epoch_title(epoch, epochs), format_logs(logs)
    return f"{head} - {body} ({seconds:.1f} s)" if body else f"{head} ({seconds:.1f} s)"


def progress_line(
    title: str, done: int, steps: int | None, logs: dict | None, seconds: float
) -> str:
    """``Epoch 3/10 - 40% (120/300) - loss: 0.1234 - 12.0 s`` (``step 120`` without a
    known length)."""
    where = f"{100 * done // steps}% ({done}/{steps})" if steps else f"step {done}"
    body = format_logs(logs)
    return " - ".join(p for p in (title, where, body, f"{seconds:.1f} s") if p)


def stdout_is_terminal() -> bool:
    """True when stdout is a terminal that can redraw a live bar."""
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is a dependency
        return False
    console = Console(file=sys.stdout)
    return console.is_terminal and not console.is_dumb_terminal


class ProgressBar(Callback):
    """Shows training progress (the default callback for ``fit(verbose=1)``).

    Args:
        live: draw a live bar; ``None`` decides from stdout (a terminal or Jupyter), False
            prints lines only (``verbose=2``).
        refresh: least seconds between two redraws of the live bar.
        lines_after: without a live bar, seconds an epoch runs before progress lines are
            printed inside it (see the module docstring); None prints none.
        clock: the seconds clock (``time.perf_counter``; a fake one in tests).
    """

    def __init__(
        self,
        live: bool | None = None,
        refresh: float = 0.1,
        lines_after: float | None = 5.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.live = live
        self.refresh = refresh
        self.lines_after = lines_after
        self.clock = clock
        self._mode: str | None = None  # "terminal", "notebook", "lines", or None: silent
        self._progress = None
        self._task = None
        self._output: notebook.LiveOutput | None = None
        self._title = ""
        self._t0 = self._last = 0.0
        self._tenth = 0

    def on_train_begin(self, logs=None) -> None:
        params = self.params or {}
        self.epochs = params.get("epochs")
        self.steps = params.get("steps")
        self._mode = self._choose_mode()
        self._progress = self._make_progress() if self._mode == "terminal" else None
        if self._mode == "terminal" and self._progress is None:  # pragma: no cover - no rich
            self._mode = "lines"

    def _choose_mode(self) -> str | None:
        if not speaks(self):  # another rank than 0: nothing is shown
            return None
        if self.live is False:
            return "lines"
        if notebook.in_notebook():
            return "notebook"
        if self.live or stdout_is_terminal():
            return "terminal"
        return "lines"

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
        self._t0 = self._last = self.clock()
        self._tenth = 0
        self._title = epoch_title(epoch, self.epochs)
        if self._mode == "terminal":
            self._task = self._progress.add_task("", total=self.steps, title=self._title, logs="")
        elif self._mode == "notebook":
            self._output = notebook.LiveOutput()
            self._output.show(self._bar(0, None, 0.0))

    def on_batch_end(self, batch: int, logs=None) -> None:
        if self._mode is None:
            return
        now = self.clock()
        if self._mode == "lines":
            if self._line_due(batch + 1, now):
                self._last = now
                print(progress_line(self._title, batch + 1, self.steps, logs, now - self._t0))
                sys.stdout.flush()
            return
        if now - self._last < self.refresh:
            return
        self._last = now
        if self._mode == "terminal":
            self._progress.update(self._task, completed=batch + 1, logs=format_logs(logs))
        else:
            self._output.show(self._bar(batch + 1, logs, now - self._t0))

    def _line_due(self, done: int, now: float) -> bool:
        """Whether a progress line is printed after ``done`` steps of the epoch (the rule
        is in the module docstring)."""
        if self.lines_after is None or now - self._t0 < self.lines_after:
            return False
        if not self.steps:  # no known length: a line every lines_after seconds
            return now - self._last >= self.lines_after
        tenth = 10 * done // self.steps
        if self.steps < 10 or done >= self.steps or tenth <= self._tenth:
            return False
        self._tenth = tenth
        return True

    def _bar(self, done: int, logs: dict | None, seconds: float) -> dict[str, str]:
        """The notebook's bar as a MIME bundle: an HTML ``<progress>`` element, and a text
        bar for frontends that show text only."""
        if self.steps:
            where = f"{done}/{self.steps}"
            if done:  # the time so far < the time left, at the epoch's pace so far
                where += f" - {seconds:.1f} s < {seconds / done * (self.steps - done):.1f} s"
            filled = round(20 * done / self.steps)
            text_bar, value = f"[{'#' * filled}{'.' * (20 - filled)}] ", f' value="{done}"'
            maximum = f' max="{self.steps}"'
        else:
            where = f"step {done} - {seconds:.1f} s"
            text_bar = value = maximum = ""  # an indeterminate <progress>
        tail = " - ".join(p for p in (where, format_logs(logs)) if p)
        text = f"{self._title} {text_bar}{tail}"
        bar = f'<progress{value}{maximum} style="width:20em;vertical-align:middle"></progress>'
        page = f"<pre>{html.escape(self._title)} {bar} {html.escape(tail)}</pre>"
        return {"text/plain": text, "text/html": page}

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self._mode is None:
            return
        line = epoch_line(epoch, self.epochs, logs, self.clock() - self._t0)
        if self._mode == "notebook":  # the bar's output becomes the epoch's line
            self._output.show({"text/plain": line})
            self._output = None
            return
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
