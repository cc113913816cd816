"""The experiment protocol: ``run(config) -> Result``, and the printing helpers the
experiments share so their output reads alike.

An experiment prints what it shows as it goes, checks each claim it makes with
:meth:`Result.check` (the claim's text and whether it held), and saves its figures under
``config.out``. The CLI prints the claims at the end and exits non-zero if one failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Config:
    """What every experiment is run with.

    Attributes:
        seed: seeds axon's generator (and any other randomness the experiment uses).
        out: the folder figures are written to.
        quick: a small configuration that finishes in seconds (used by the tests).
        graph: worksheets only: where to draw the computation graph (a PNG), if anywhere.
        epochs: training epochs, overriding the experiment's default (None: its default).
        data_dir: where datasets are read from (None: ``AXON_DATA_DIR``, else
            ``~/.cache/axon``; see :func:`axon.data.data_dir`).
        prompt: language-model experiments only: a text to continue.
        weights: a saved state dict to start from instead of training (the experiments
            that attack or reuse a trained model, e.g. ``adversarial`` with ``lenet``'s).
    """

    seed: int = 0
    out: Path = Path("runs")
    quick: bool = False
    graph: Path | None = None
    epochs: int | None = None
    data_dir: Path | None = None
    prompt: str | None = None
    weights: Path | None = None


@dataclass
class Result:
    """What an experiment found: numbers, the claims it checked, the figures it wrote."""

    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    claims: list[tuple[str, bool]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)

    def check(self, claim: str, holds: bool) -> bool:
        """Record a claim and whether it held; returns ``holds``."""
        self.claims.append((claim, bool(holds)))
        return bool(holds)

    @property
    def passed(self) -> bool:
        """True when every claim held."""
        return all(ok for _, ok in self.claims)

    def report(self) -> str:
        """The claims and figures, one per line, for the end of a run."""
        lines = ["Claims"]
        lines += [f"  [{'PASS' if ok else 'FAIL'}] {text}" for text, ok in self.claims]
        if self.figures:
            lines.append("Figures")
            lines += [f"  {p}" for p in self.figures]
        return "\n".join(lines)


def heading(title: str) -> None:
    """Print a section title, underlined."""
    print()
    print(title)
    print("-" * len(title))


def table(header: Sequence[str], rows: Sequence[Sequence[object]],
          align: str | None = None, indent: int = 2) -> None:
    """Print rows as aligned columns. ``align`` has one character per column, ``l`` or
    ``r``; by default columns of numbers align right and the others left."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    if align is None:
        align = "".join("r" if all(_is_number(r[i]) for r in cells) else "l"
                        for i in range(len(header)))
    pad = " " * indent

    def line(row: Sequence[str]) -> str:
        parts = [c.ljust(w) if a == "l" else c.rjust(w)
                 for c, w, a in zip(row, widths, align, strict=True)]
        return (pad + "  ".join(parts)).rstrip()

    print(line(list(header)))
    print(pad + "  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def signed(x: float, digits: int = 6) -> str:
    """A number with a sign column, so positive and negative values line up."""
    return f"{x: .{digits}f}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
