"""The ``axon report`` and ``axon tour`` commands.

    axon report [RUNS ...] [--out DIR]
    axon tour [--quick] [--out DIR] [--runs DIR] [--data-dir DIR] [--seed N]

``report`` builds the static site of the runs under RUNS (run folders or folders of run
folders; default ./runs) into --out (default ./report) and prints the path of its
``index.html``. ``tour`` runs every experiment in the course's order, each exactly as
``axon run NAME --out RUNS/NAME`` would (the run writes its own record), says how each
one ended as it goes, carries on after a failure, and then builds the report of the
tour's runs. Its exit status is 0 when every run passed, 1 otherwise.

:mod:`axon.cli` adds these commands with :func:`add_parsers` and hands their parsed
arguments to :func:`main`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from .course import COURSE_ORDER
from .site import build, duration

#: How ``axon run``'s exit status reads in the tour's progress lines.
OUTCOMES = {0: "passed", 1: "failed (a claim did not hold)"}


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` and ``tour`` commands to ``subparsers`` (the ``axon``
    command's); :func:`main` runs what they parse."""
    report = subparsers.add_parser(
        "report",
        help="build the runs' results as a static site",
        description="Build a static site of the runs' records (results.json): an index of "
        "every run and a page per run with its figures, claims, metrics and training "
        "curves. It opens from disk: no server, no network.",
    )
    report.add_argument(
        "runs",
        nargs="*",
        type=Path,
        default=[Path("runs")],
        metavar="RUNS",
        help="a run's folder, or a folder of run folders (default ./runs)",
    )
    report.add_argument(
        "--out", type=Path, default=Path("report"), metavar="DIR", help="default ./report"
    )
    report.set_defaults(report_command="report")

    tour = subparsers.add_parser(
        "tour",
        help="run every experiment in the course's order, then build the report",
        description="Run every experiment in the course's order (as `axon run NAME --out "
        "RUNS/NAME`), carrying on after a failure, then build the report of the runs. "
        "Exit status 0 when every run passed, 1 otherwise.",
    )
    tour.add_argument("--quick", action="store_true", help="each experiment's small configuration")
    tour.add_argument(
        "--out",
        type=Path,
        default=Path("report"),
        metavar="DIR",
        help="the report's folder (default ./report)",
    )
    tour.add_argument(
        "--runs",
        type=Path,
        default=Path("runs"),
        metavar="DIR",
        help="where each run writes, as RUNS/NAME (default ./runs)",
    )
    tour.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where datasets are read from (as for axon run)",
    )
    tour.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    tour.set_defaults(report_command="tour")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="axon")
    add_parsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return parser


def main(args: argparse.Namespace | Sequence[str]) -> int:
    """Run ``report`` or ``tour`` from their parsed arguments (or from a command line
    such as ``["report", "runs", "--out", "site"]``); return the exit status."""
    if not isinstance(args, argparse.Namespace):
        args = _parser().parse_args(list(args))
    if args.report_command == "report":
        return report(args.runs, args.out)
    return tour(args.out, args.runs, quick=args.quick, data_dir=args.data_dir, seed=args.seed)


def _build(runs: Sequence[Path], out: Path, prog: str) -> Path | None:
    """Build the site, printing each skipped record as one warning line; None (after
    one error line) when ``out`` cannot be written."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            index = build(runs, out)
        except OSError as err:
            index = None
            failure = f"{err.filename or out}: {err.strerror or err}"
    for warning in caught:
        print(f"{prog}: warning: {warning.message}", file=sys.stderr)
    if index is None:
        print(f"{prog}: error: cannot write the report: {failure}", file=sys.stderr)
    return index


def report(runs: Sequence[Path], out: Path) -> int:
    """``axon report``: build the site of ``runs`` into ``out``; print its index's path."""
    missing = [str(path) for path in runs if not Path(path).exists()]
    if missing:
        print(f"axon report: error: no such run folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    index = _build(runs, out, "axon report")
    if index is None:
        return 2
    print(f"Report: {index.resolve()}")
    return 0


def _run(argv: list[str]) -> int | None:
    """``axon run`` with ``argv``: its exit status, None when it raised (said so)."""
    import axon.cli  # here: axon.cli adds this module's commands

    try:
        return axon.cli.main(argv)
    except SystemExit as exit:  # a usage error, already printed by argparse
        return exit.code if isinstance(exit.code, int) else 2
    except Exception as err:  # one experiment's crash must not end the tour
        print(f"axon tour: error: {argv[1]} raised {type(err).__name__}: {err}", file=sys.stderr)
        return None


def tour(
    out: Path,
    runs: Path,
    quick: bool = False,
    data_dir: Path | None = None,
    seed: int = 0,
    names: Sequence[str] = COURSE_ORDER,
) -> int:
    """``axon tour``: run each experiment of ``names`` (default: the whole course, in its
    order) into ``runs/NAME``, then build the report into ``out``. Returns 0 when every
    run passed, else 1."""
    outcomes: dict[str, str] = {}
    for i, name in enumerate(names, 1):
        argv = ["run", name, "--out", str(runs / name), "--seed", str(seed)]
        argv += ["--quick"] if quick else []
        argv += ["--data-dir", str(data_dir)] if data_dir is not None else []
        step = f"axon tour [{i}/{len(names)}]"
        print(f"{step}: axon {shlex.join(argv)}", flush=True)
        start = time.perf_counter()
        status = _run(argv)
        if status is None:
            outcome = "error (it raised)"
        else:
            outcome = OUTCOMES.get(status, f"error (exit status {status})")
        outcomes[name] = outcome
        took = duration(time.perf_counter() - start)
        print(f"{step}: {name} {outcome} ({took})", flush=True)

    passed = [name for name, outcome in outcomes.items() if outcome == "passed"]
    others = [f"{name}: {outcome}" for name, outcome in outcomes.items() if outcome != "passed"]
    print(f"\naxon tour: {len(passed)} of {len(names)} runs passed")
    for line in others:
        print(f"  {line}")
    index = _build([runs / name for name in names], out, "axon tour")
    if index is not None:
        print(f"Report: {index.resolve()}")
    return 0 if len(passed) == len(names) and index is not None else 1
