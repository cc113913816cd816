"""From a record's per-epoch history to the charts a run page draws.

A record's ``history`` holds one entry per ``fit`` call of the run (keyed by its backup
tag), each the per-epoch logs as Keras keeps them: ``{"epoch": [1, 2], "loss": [...],
"val_loss": [...], "accuracy": [...]}``. A chart shows one metric family of one fit, the
training value with its ``val_`` twin, loss first and the others in logging order, as
``History.plot`` draws them. ``None`` (a non-finite value) stays ``None``: the page draws
it as a gap, never as 0. The charts themselves are drawn in the browser by
``static/report.js``.
"""

from __future__ import annotations

from typing import Any

Series = dict[str, Any]


def families(keys: list[str]) -> list[str]:
    """The metric families among log ``keys``: ``loss`` first, then the others in the
    order they were logged; ``val_accuracy`` belongs to ``accuracy``."""
    bases: list[str] = []
    for key in keys:
        base = key.removeprefix("val_")
        if key != "epoch" and base not in bases:
            bases.append(base)
    return sorted(bases, key=lambda base: base != "loss")


def charts(history: dict[str, dict[str, list]]) -> list[dict[str, Any]]:
    """One chart per metric family of each fit in ``history``: ``{"id", "title", "tag",
    "family", "series": [{"name", "x", "y"}]}``, x the recorded epochs (1, 2, ... when
    the fit recorded none, or not one per value)."""
    out = []
    for tag, logs in history.items():
        epochs = logs.get("epoch")
        for family in families(list(logs)):
            series = []
            for name in (family, "val_" + family):
                if name not in logs:
                    continue
                values = logs[name]
                x = epochs if epochs is not None and len(epochs) == len(values) else None
                series.append(
                    {"name": name, "x": x or list(range(1, len(values) + 1)), "y": list(values)}
                )
            title = family if len(history) == 1 else f"{family} ({tag})"
            out.append(
                {
                    "id": f"{tag}/{family}",
                    "title": title,
                    "tag": tag,
                    "family": family,
                    "series": series,
                }
            )
    return out
