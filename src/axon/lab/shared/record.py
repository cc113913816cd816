"""The run record: ``OUT/results.json``, what one ``axon run NAME`` did and found.

A run prints its numbers and draws its figures; the record keeps them in one file a
program can read, so that a folder of runs can be gathered into a report
(:mod:`axon.report`) or compared later: the experiment, the options and seed, the
versions it ran on, when it started and how long it took, its metrics, each claim with
its verdict, its figures and the per-epoch history of every ``fit`` it made. The CLI
writes it at the end of every run, also when a claim failed or the experiment raised
(status ``"error"`` with a one-line message).

The schema (version 1) is agreed with the reader in :mod:`axon.report.records`::

    {"schema": 1, "experiment": "lenet", "description": "...", "command": "axon run lenet",
     "config": {"seed": 0, "quick": false, "epochs": null, ...}, "seed": 0,
     "versions": {"axon": ..., "python": ..., "numpy": ..., "matplotlib": ..., "platform": ...},
     "started": "2026-12-07T17:02:03+00:00", "seconds": 41.2,
     "status": "passed" | "failed" | "error", "error": null | "one line",
     "metrics": {"test accuracy": 0.991}, "claims": [{"text": ..., "verdict": "held" |
     "failed" | "not checked", "note": null | "not checked at 1 epoch (needs 12)"}],
     "figures": ["lenet_curves.png"], "history": {"lenet": {"epoch": [1, 2], "loss": [...]}},
     "splits": {"train": 54000, "val": 6000, "test": 10000}}

Every non-finite number is written as ``null`` (JSON has no NaN, and browsers' parsers
reject Python's ``NaN``), and the file is written atomically (a temporary file renamed
into place), so a reader never meets half a record.

The per-epoch history comes without touching the experiments: every ``fit`` that an
experiment backs up (:func:`axon.lab.shared.base.backup`) hands its History to
:data:`RUN` when it ends, keyed by its backup tag; the CLI clears :data:`RUN` before a
run and reads it after.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ...files import atomic_write

SCHEMA = 1
RECORD = "results.json"  # the record's file name in the run's folder


class RunLog:
    """What the run in progress did beyond its :class:`~axon.lab.shared.base.Result`:
    the per-epoch logs of each backed-up fit, by tag, in the order the fits ended."""

    def __init__(self) -> None:
        self.history: dict[str, dict[str, list]] = {}

    def start(self) -> None:
        """Forget the previous run's fits (the CLI calls it before each run)."""
        self.history = {}

    def add_fit(self, tag: str, history: Any) -> None:
        """Keep the logs of the fit tagged ``tag`` from its :class:`axon.train.History`:
        ``{"epoch": [1, 2, ...], "loss": [...], ...}`` with 1-based epochs. The History
        is the trainer's own, restored from the backup on a resumed run, so the epochs
        are complete whether or not the run was interrupted."""
        logs = {"epoch": [int(e) + 1 for e in history.epoch]}
        logs.update((key, list(values)) for key, values in history.history.items())
        self.history[tag] = logs


#: The run in progress (one per process: under MPI each rank keeps its own, rank 0's is
#: written).
RUN = RunLog()


def versions() -> dict[str, str | None]:
    """The versions a run ran on: axon, Python, NumPy, matplotlib and the platform."""

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    from axon import __version__

    return {
        "axon": __version__,
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "matplotlib": version("matplotlib"),
        "platform": platform.platform(),
    }


def now() -> str:
    """The time now in ISO 8601, UTC, to the second (a run's ``started``)."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def json_safe(value: Any) -> Any:
    """``value`` with NumPy (or axon) scalars and arrays as Python numbers and lists,
    paths as text and every non-finite float as None (``null``)."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Sequence):
        return [json_safe(v) for v in value]
    return str(value)


def one_line(error: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def relative_figures(figures: Sequence[str | os.PathLike], out: Path) -> list[str]:
    """The figures' paths relative to the run's folder ``out`` (POSIX separators), in
    the order they were written."""
    base = Path(out).resolve()
    return [Path(os.path.relpath(Path(f).resolve(), base)).as_posix() for f in figures]


def write_record(out: Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` to ``out / "results.json"`` atomically (UTF-8, indented, every
    non-finite number as null); returns the path."""
    text = json.dumps(json_safe(record), indent=1, allow_nan=False, ensure_ascii=False)
    return atomic_write(Path(out) / RECORD, lambda tmp: tmp.write_text(text + "\n", "utf-8"))


class Recorder:
    """Keeps one run's record: made as the run starts (it clears :data:`RUN` and notes
    the time), written by :meth:`write` at its end.

    Args:
        out: the run's folder, where ``results.json`` goes.
        experiment, description: the registered name and its one-line description.
        command: the command as typed (``"axon run lenet --epochs 1"``).
        config: the run's :class:`~axon.lab.shared.base.Config`.
        nproc: the number of processes the run trains on.
    """

    def __init__(
        self,
        out: Path,
        experiment: str,
        description: str,
        command: str,
        config: Any,
        nproc: int = 1,
    ) -> None:
        self.out, self.config = Path(out), config
        self.head = {
            "schema": SCHEMA,
            "experiment": experiment,
            "description": description,
            "command": command,
            "config": {
                "seed": config.seed,
                "quick": config.quick,
                "epochs": config.epochs,
                "data_dir": config.data_dir,
                "prompt": config.prompt,
                "weights": config.weights,
                "resume": config.resume,
                "nproc": nproc,
                "device": config.device,
            },
            "seed": config.seed,
            "versions": versions(),
            "started": now(),
        }
        RUN.start()
        self.start = time.perf_counter()

    def make(self, result: Any = None, error: BaseException | None = None) -> dict[str, Any]:
        """The record (the schema above) of the run that found ``result`` (its
        :class:`~axon.lab.shared.base.Result`), or that raised ``error``: status
        "error", the error in one line, and the history of the fits that had ended."""
        if error is not None:
            status = "error"
        else:
            status = "passed" if result.passed else "failed"
        done = result if error is None else None
        record = {
            **self.head,
            "seconds": round(time.perf_counter() - self.start, 2),
            "status": status,
            "error": None if error is None else one_line(error),
            "metrics": dict(done.metrics) if done is not None else {},
            "claims": [
                {"text": text, "verdict": verdict, "note": note}
                for text, verdict, note in (done.verdicts() if done is not None else [])
            ],
            "figures": relative_figures(done.figures, self.out) if done is not None else [],
            "history": RUN.history,
        }
        if done is not None and done.splits:
            record["splits"] = dict(done.splits)
        return record

    def write(self, result: Any = None, error: BaseException | None = None) -> Path:
        """Write the record (:meth:`make`) to ``out / "results.json"``; returns its path."""
        return write_record(self.out, self.make(result, error))
