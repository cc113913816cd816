"""Run records for the report's tests, written as ``axon run`` writes them: ``results.json``
(schema 1, ``allow_nan=False``) beside real PNG figures drawn with matplotlib's object API."""

from __future__ import annotations

import copy
import functools
import io
import json
from pathlib import Path
from typing import Any


@functools.cache
def _png() -> bytes:
    """A small real PNG (a line with markers), drawn once on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.0, 2.0), dpi=50)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 0.5], marker="o")
    ax.set_title("a figure")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_png(path: Path) -> Path:
    """A real PNG figure at ``path`` (drawn once by matplotlib, then copied)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_png())
    return path


BASE: dict[str, Any] = {
    "schema": 1,
    "experiment": "lenet",
    "description": "LeNet-5 on MNIST: >= 99.0% test accuracy",
    "command": "axon run lenet --epochs 5",
    "config": {
        "seed": 0,
        "quick": False,
        "epochs": 5,
        "data_dir": None,
        "prompt": None,
        "weights": None,
        "resume": False,
        "nproc": 1,
    },
    "seed": 0,
    "versions": {"axon": "0.1.0", "python": "3.11.7", "numpy": "2.1.0", "matplotlib": "3.9.0"},
    "started": "2026-12-07T17:02:03+00:00",
    "seconds": 41.2,
    "status": "passed",
    "error": None,
    "metrics": {"test accuracy": 0.991, "val accuracy": 0.9875, "parameters": 61706},
    "claims": [{"text": "LeNet-5 reaches 99% test accuracy", "verdict": "held", "note": None}],
    "figures": [],
    "history": {},
}


def write_record(folder: Path, drawn: tuple[str, ...] = (), **fields: Any) -> Path:
    """Write ``folder/results.json``: ``BASE`` updated with ``fields``; a real PNG for each
    of ``drawn`` (paths relative to ``folder``), listed first in the record's figures."""
    record = copy.deepcopy(BASE)
    record.update(fields)
    record["figures"] = list(drawn) + list(fields.get("figures", []))
    for figure in drawn:
        draw_png(folder / figure)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(record, indent=1, allow_nan=False), encoding="utf-8")
    return path
