"""The ``axon`` command: run the course's experiments and worksheets.

    axon list                                   the experiments and worksheets
    axon run NAME [--seed N] [--out DIR] [--quick] [--epochs N] [--data-dir DIR]
                [--prompt TEXT] [--weights FILE] [--resume]
    axon worksheet NAME [--graph FILE.png] [--out DIR] [--quick]

Exit status: 0 when every claim held, 1 when one failed, 2 for a usage error (such as
an unknown name, a dataset file that is missing, or ``--weights`` given to an experiment
that cannot use it).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

from . import lab
from .lab.registry import weights_help
from .lab.shared.base import prepare_backups

RESUME_HELP = """\
Backups and --resume: the training experiments back up their whole training state
(weights, optimizer, schedules, random generators, the data order and position,
callbacks, history) under OUT/.backup/ after every epoch (every few hundred updates for
the long ones), one backup per trained model, and delete it when that model's training
ends. After an interruption (Ctrl-C, a kill, a crash), `axon run NAME --resume` with the
same options continues each unfinished training from its backup, to the same bits as an
uninterrupted run; models whose training had finished train again from their seed (same
result). Without --resume a leftover backup is deleted and the run starts over (it says
so). Options that differ from the backup's are refused, naming what differs."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _epilog() -> str:
    """``RESUME_HELP`` wrapped to 88 columns, then what ``--weights`` does (from the lab's
    ``WEIGHTS`` table)."""
    return textwrap.fill(" ".join(RESUME_HELP.split()), 88) + "\n\n" + weights_help()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axon",
        description="Run the course's experiments and worksheets, computed by axon.",
        epilog="Example: axon run xor --quick;  axon worksheet xor --graph xor_graph.png",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("list", help="list the experiments and worksheets")

    run = sub.add_parser(
        "run",
        help="run an experiment",
        description="Run an experiment: it prints what it shows, checks "
        "its claims and writes its figures under --out.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("name", metavar="NAME", help="the experiment (see `axon list`)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for figures (default ./runs/NAME)",
    )
    run.add_argument(
        "--quick", action="store_true", help="a small configuration that finishes in seconds"
    )
    run.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="training epochs (default: the experiment's own)",
    )
    run.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where datasets are read from (default $AXON_DATA_DIR, else ~/.cache/axon)",
    )
    run.add_argument(
        "--prompt",
        default=None,
        metavar="TEXT",
        help="text to continue, for the language-model experiments",
    )
    run.add_argument(
        "--weights",
        type=Path,
        default=None,
        metavar="FILE",
        help="a saved state dict (.safetensors) for the experiment's model (see below)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its backup under OUT/.backup (see below)",
    )

    ws = sub.add_parser(
        "worksheet",
        help="print a worksheet computed by the engine",
        description="Print a worked example computed step by step by the "
        "engine, checked against the closed-form chain rule.",
    )
    ws.add_argument("name", metavar="NAME", help="the worksheet (see `axon list`)")
    ws.add_argument(
        "--graph",
        type=Path,
        default=None,
        metavar="FILE.png",
        help="also draw the computation graph with values and gradients",
    )
    ws.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for figures (default ./runs/worksheet-NAME)",
    )
    ws.add_argument("--quick", action="store_true", help="shorter training, if any")
    return parser


def _list() -> int:
    for kind, title in [
        ("experiment", "Experiments (axon run NAME)"),
        ("worksheet", "Worksheets (axon worksheet NAME)"),
    ]:
        print(title)
        entries = lab.entries(kind)
        width = max(len(e.name) for e in entries)
        for e in entries:
            print(f"  {e.name.ljust(width)}  {e.description}")
    return 0


def _run(kind: str, args: argparse.Namespace) -> int:
    try:
        entry = lab.get(args.name, kind)
    except KeyError as err:
        print(f"axon: error: {err.args[0]}", file=sys.stderr)
        return 2
    weights = getattr(args, "weights", None)
    if weights is not None:
        usable, why = lab.WEIGHTS.get(entry.name, (False, "it takes no weights file"))
        if not usable:
            print(f"axon: error: --weights does not apply to {entry.name}: {why}", file=sys.stderr)
            return 2
    default = args.name if kind == "experiment" else f"worksheet-{args.name}"
    out = args.out if args.out is not None else Path("runs") / default
    if kind == "experiment":
        out.mkdir(parents=True, exist_ok=True)
    config = lab.Config(
        seed=args.seed if kind == "experiment" else 0,
        out=out,
        quick=args.quick,
        graph=getattr(args, "graph", None),
        epochs=getattr(args, "epochs", None),
        data_dir=getattr(args, "data_dir", None),
        prompt=getattr(args, "prompt", None),
        weights=weights,
        resume=getattr(args, "resume", False),
    )
    if kind == "experiment":
        title = f"axon run {entry.name}: {entry.description}"
        print(f"{title}\n{'=' * len(title)}")
        prepare_backups(entry.name, config, entry.name in lab.RESUMABLE)
    start = time.perf_counter()
    try:
        result = entry.run(config)
    except (FileNotFoundError, lab.WeightsError) as err:  # a dataset or weights file at fault
        print(f"axon: error: {err}", file=sys.stderr)
        return 2
    print()
    print(result.report())
    verdict = "all claims hold" if result.passed else "A CLAIM FAILED"
    print(f"\n{entry.name}: {verdict} ({time.perf_counter() - start:.1f} s)")
    return 0 if result.passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``axon`` console script; returns the exit status."""
    if hasattr(sys.stdout, "reconfigure") and (sys.stdout.encoding or "").lower() != "utf-8":
        sys.stdout.reconfigure(errors="replace")  # the worksheets print ŷ, σ, η
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list()
        return _run("experiment" if args.command == "run" else "worksheet", args)
    except BrokenPipeError:  # `axon run xor | head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python exits with it open)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
