"""Reading run records: the ``results.json`` that ``axon run`` writes beside its figures.

A record is checked field by field as it is read, so the pages never meet a surprise: a
record that is missing, unreadable, not JSON or of another schema, or whose field has the
wrong type, is skipped with a one-line :class:`RecordWarning` naming its file (and the
key at fault) and the report goes on without it. Fields the record leaves out get empty
defaults; non-finite numbers are ``null`` in a record and ``None`` here.

The schema (version 1) is agreed with the writer in :mod:`axon.cli`::

    {"schema": 1, "experiment": "lenet", "description": "...", "command": "axon run lenet",
     "config": {...}, "seed": 0, "versions": {...}, "started": "2026-...+00:00",
     "seconds": 41.2, "status": "passed" | "failed" | "error", "error": null | "...",
     "metrics": {"test accuracy": 0.991}, "claims": [{"text": ..., "verdict": "held" |
     "failed" | "not checked", "note": null | "..."}], "figures": ["lenet_curves.png"],
     "history": {"lenet": {"epoch": [1, 2], "loss": [...], ...}}, "splits": {"train": 54000}}
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .course import course_key

SCHEMA = 1
RECORD = "results.json"
STATUSES = ("passed", "failed", "error")
VERDICTS = ("held", "failed", "not checked")

Number = int | float


class RecordWarning(UserWarning):
    """A record, or a figure it names, was skipped; the message names the file."""


class RecordError(ValueError):
    """Why a record cannot be shown (the message starts with its file)."""


@dataclass(frozen=True)
class Claim:
    text: str
    verdict: str  # one of VERDICTS
    note: str | None = None


@dataclass
class Run:
    """One run's record, checked; ``folder`` holds its figures."""

    folder: Path
    experiment: str
    status: str
    description: str = ""
    command: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    started: str | None = None
    seconds: float | None = None
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)  # numbers or nulls, as agreed
    claims: list[Claim] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    history: dict[str, dict[str, list[Number | None]]] = field(default_factory=dict)
    splits: dict[str, int] | None = None

    @property
    def record(self) -> Path:
        return self.folder / RECORD

    @property
    def name(self) -> str:
        """The run's folder name (``runs/lenet`` -> ``lenet``), which tells apart two runs
        of one experiment."""
        return self.folder.name or self.experiment

    def count(self, verdict: str) -> int:
        """How many claims have this verdict."""
        return sum(claim.verdict == verdict for claim in self.claims)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite_or_none(value: object) -> bool:
    return value is None or (_is_number(value) and math.isfinite(value))


class _Fields:
    """Typed access to a record's fields; every refusal names the file and the key."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path, self.data = path, data

    def fail(self, key: str, expected: str) -> RecordError:
        got = type(self.data.get(key)).__name__
        return RecordError(f"{self.path}: key {key!r} should be {expected}, got {got}")

    def get(self, key: str, kind: type | tuple, expected: str, default: Any = None) -> Any:
        """The value of ``key``, ``default`` when it is absent or null; never a bool."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(key, expected)
        return value


def read_record(path: str | Path) -> Run:
    """The run recorded in ``path`` (a ``results.json``); a :class:`RecordError` saying
    what is wrong with it otherwise."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise RecordError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise RecordError(f"{path}: unreadable ({err.strerror or err})") from None
    try:  # NaN or Infinity (not JSON, but Python writes them) read as null: a gap
        data = json.loads(text, parse_constant=lambda _: None)
    except json.JSONDecodeError as err:
        raise RecordError(
            f"{path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: not a run record (a JSON {type(data).__name__})")
    if data.get("schema") != SCHEMA:
        raise RecordError(
            f"{path}: schema {data.get('schema')!r} is not {SCHEMA} "
            "(not a run record this report reads)"
        )
    f = _Fields(path, data)
    experiment = f.get("experiment", str, "a string")
    if not experiment:
        raise f.fail("experiment", "a non-empty string")
    status = f.get("status", str, "a string")
    if status not in STATUSES:
        raise RecordError(f"{path}: key 'status' is {status!r}, not one of {STATUSES}")
    seconds = f.get("seconds", (int, float), "a number or null")
    return Run(
        folder=path.parent,
        experiment=experiment,
        status=status,
        description=f.get("description", str, "a string", ""),
        command=f.get("command", str, "a string or null"),
        config=f.get("config", dict, "an object", {}),
        seed=f.get("seed", int, "an integer or null"),
        versions=f.get("versions", dict, "an object", {}),
        started=f.get("started", str, "a string or null"),
        seconds=float(seconds) if seconds is not None and math.isfinite(seconds) else None,
        error=f.get("error", str, "a string or null"),
        metrics=_metrics(f),
        claims=_claims(f),
        figures=_figures(f),
        history=_history(f),
        splits=_splits(f),
    )


def _metrics(f: _Fields) -> dict[str, Any]:
    """The metrics: numbers or nulls as agreed, though any JSON value is shown as text."""
    return f.get("metrics", dict, "an object", {})


def _claims(f: _Fields) -> list[Claim]:
    claims = []
    for i, claim in enumerate(f.get("claims", list, "a list", [])):
        key = f"claims[{i}]"
        if not isinstance(claim, dict) or not isinstance(claim.get("text"), str):
            raise RecordError(f"{f.path}: key {key!r} should be an object with a 'text' string")
        if claim.get("verdict") not in VERDICTS:
            raise RecordError(
                f"{f.path}: key {key + '.verdict'!r} is {claim.get('verdict')!r}, "
                f"not one of {VERDICTS}"
            )
        note = claim.get("note")
        if note is not None and not isinstance(note, str):
            raise RecordError(f"{f.path}: key {key + '.note'!r} should be a string or null")
        claims.append(Claim(claim["text"], claim["verdict"], note))
    return claims


def _figures(f: _Fields) -> list[str]:
    figures = f.get("figures", list, "a list", [])
    if not all(isinstance(p, str) for p in figures):
        raise f.fail("figures", "a list of paths (strings)")
    return figures


def _history(f: _Fields) -> dict[str, dict[str, list[Number | None]]]:
    """The per-epoch logs by fit; a series that is not a list of numbers or nulls is
    dropped with a warning naming it (the rest of the record still shows)."""
    history = {}
    for tag, logs in f.get("history", dict, "an object", {}).items():
        if not isinstance(logs, dict):
            raise RecordError(f"{f.path}: key 'history.{tag}' should be an object of lists")
        history[tag] = {}
        for key, values in logs.items():
            if isinstance(values, list) and all(_finite_or_none(v) for v in values):
                history[tag][key] = values
            else:
                warnings.warn(
                    f"{f.path}: series 'history.{tag}.{key}' skipped: "
                    "not a list of numbers or nulls",
                    RecordWarning,
                    stacklevel=4,
                )
    return history


def _splits(f: _Fields) -> dict[str, int] | None:
    splits = f.get("splits", dict, "an object or null")
    if splits is not None and not all(
        isinstance(n, int) and not isinstance(n, bool) for n in splits.values()
    ):
        raise f.fail("splits", "an object of integers")
    return splits


def safe_figure(run: Run, figure: str) -> Path | None:
    """The file of ``figure`` (a path relative to the run's folder), or None with a
    warning when it is absolute, climbs out of the folder, or is not a file."""
    relative = PurePosixPath(figure)
    why = None
    if not figure or relative.is_absolute() or ".." in relative.parts or ":" in figure:
        why = "not a path inside the run's folder"
    else:
        source = run.folder / relative
        if not source.resolve().is_relative_to(run.folder.resolve()):
            why = "not a path inside the run's folder"
        elif not source.is_file():
            why = "no such file"
    if why is not None:
        warnings.warn(f"{run.record}: figure {figure!r} skipped: {why}", RecordWarning, 2)
        return None
    return source


def _skip(why: str) -> None:
    warnings.warn(f"skipped {why}", RecordWarning, stacklevel=3)


def find_runs(paths: Iterable[str | Path]) -> list[Run]:
    """The runs recorded under ``paths``, in the course's order (then any others by
    name). Each path is a run's folder (holding ``results.json``), a folder of run
    folders, or a ``results.json`` itself; whatever cannot be read is skipped with a
    :class:`RecordWarning`."""
    records: list[Path] = []
    for path in map(Path, paths):
        if path.is_file() and path.name == RECORD:
            records.append(path)
        elif (path / RECORD).exists():
            records.append(path / RECORD)
        elif path.is_dir():  # a folder of runs, or a run folder without its record
            folders = [p for p in sorted(path.iterdir()) if p.is_dir() and p.name[0] != "."]
            records += [folder / RECORD for folder in folders if (folder / RECORD).exists()]
            unrecorded = [
                str(folder / RECORD) for folder in folders if folder / RECORD not in records
            ]
            if unrecorded or not folders:  # worksheets' folders, runs from before records
                _skip(f"{', '.join(unrecorded or [str(path / RECORD)])}: no such file")
        else:
            _skip(f"{path}: no such run folder")
    runs, seen = [], set()
    for record in records:
        if record.resolve() in seen:
            continue
        seen.add(record.resolve())
        try:
            runs.append(read_record(record))
        except RecordError as err:
            _skip(str(err))
    return sorted(runs, key=lambda run: course_key(run.experiment, run.name))
