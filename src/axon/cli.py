"""The ``axon`` command: run the course's experiments and worksheets.

    axon list                                   the experiments and worksheets
    axon run NAME [--seed N] [--out DIR] [--quick] [--epochs N] [--data-dir DIR]
                [--prompt TEXT] [--weights FILE] [--resume] [--nproc N]
                [--device DEVICE] [--debug]
    axon worksheet NAME [--graph FILE.png] [--out DIR] [--quick] [--debug]
    axon report [RUNS ...] [--out DIR]          the runs' results as a static site
    axon tour [--quick] [--out DIR] [--runs DIR] [--data-dir DIR] [--seed N]
                                                every experiment in the course's order,
                                                then the report (:mod:`axon.report`)

Every run writes its record, ``OUT/results.json`` (:mod:`axon.lab.shared.record`): the
options, versions, duration, metrics, claims with their verdicts, figures and per-epoch
history, also when a claim failed or the experiment raised. A full run first prints how
long it is expected to take (:data:`axon.lab.registry.DURATION`). A run with ``--epochs``
below the experiment's default (:data:`axon.lab.registry.TRAINING`) cannot reach the
claims made for a full training: a claim that fails there is reported "not checked at 1
epoch (needs 12)" and does not fail the run.

Exit status: 0 when no claim failed, 1 when one failed, 2 for a usage error (such as
an unknown name, a ``--data-dir`` that does not exist, an ``--out`` that cannot be
written, a dataset file that is missing or damaged, ``--weights`` given to an experiment
that cannot use it, ``--nproc`` without MPI or for an experiment that runs on one
process only, or ``--device`` for an experiment that trains on the CPU only or naming a
device that is not there, such as ``cuda`` without CuPy or a GPU). A usage error is one
line on stderr; ``--debug`` adds its traceback.

``--nproc N`` (N > 1) starts the MPI launcher itself: the command runs again as
``mpiexec -n N python -m axon run ...`` (:mod:`axon.distributed.launch`). Inside an MPI
job (started so, or by ``mpiexec -n N axon run ...`` by hand) every rank joins the
process group; rank 0 prints and writes under ``--out``, the other ranks print nothing
and write into temporary folders deleted at the end, and the job's status is rank 0's.

``--device DEVICE`` (``cpu`` by default, ``cuda``, ``cuda:N``) trains the experiment's
models there: each is moved with ``model.to(device)`` before its optimizer is made, and
``fit`` moves each batch to it as it draws it (the data stays in host memory). It applies
to the experiments in :data:`axon.lab.registry.ON_DEVICE`; the others refuse it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from . import lab
from .backend.device import DeviceUnavailableError, check_device
from .backend.device import device as parse_device
from .data.datadir import ChecksumError
from .distributed import launch
from .lab.registry import ON_DEVICE, TRAINING, expected_duration, undertrained, weights_help
from .lab.shared import record
from .lab.shared.base import prepare_backups
from .report import commands as report_commands

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

#: The experiments that run on several processes (``--nproc N``, N > 1): those whose
#: training is one ``axon.fit`` (which shards the data and averages the gradients under a
#: process group), and data-parallel, which is about it. The others train in loops of
#: their own, or nothing, and refuse ``--nproc``.
MULTI_PROCESS = frozenset({"data-parallel", "fashion", "lenet", "mnist-mlp"})
#: The experiments that need several processes, and how many they start without
#: ``--nproc``.
NEEDS_PROCESSES = {"data-parallel": 2}

NPROC_HELP = f"""\
--nproc N: run on N MPI processes, data-parallel (pip install "axon[distributed]"
installs MPI). The command starts the MPI launcher itself (mpiexec -n N python -m axon
run ...); rank 0 prints and writes under --out, the other ranks work silently. It applies
to {", ".join(sorted(MULTI_PROCESS))} (data-parallel starts
{NEEDS_PROCESSES["data-parallel"]} processes when --nproc is not given); the other
experiments refuse it (exit status 2), and so does --resume for now."""

DEVICE_HELP = f"""\
--device DEVICE: train the experiment's models on DEVICE: cpu (the default), cuda or cuda:N
(an NVIDIA GPU, through CuPy: pip install "axon[cuda12]" or "axon[cuda13]"). The data stays
in host memory and each batch moves to the device as training draws it. It applies to
{", ".join(sorted(ON_DEVICE))}; the other experiments train on the CPU only and refuse
another device (exit status 2), and so does a device that is not there (CUDA without CuPy
or a GPU)."""

DEBUG_HELP = "print the full traceback of an error, not only its one line"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _device_name(text: str) -> str:
    """``--device``'s value, parsed as ``axon.device`` parses it ("cuda:0" stays "cuda:0",
    "gpu" is an error naming the device types); whether it is there is checked later."""
    try:
        return str(parse_device(text))
    except (RuntimeError, TypeError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _epilog() -> str:
    """``RESUME_HELP`` wrapped to 88 columns, what ``--weights`` does (from the lab's
    ``WEIGHTS`` table), ``NPROC_HELP`` and ``DEVICE_HELP``."""
    return "\n\n".join(
        [
            textwrap.fill(" ".join(RESUME_HELP.split()), 88),
            weights_help(),
            textwrap.fill(" ".join(NPROC_HELP.split()), 88),
            # names such as universal-approximation kept whole on their line
            textwrap.fill(" ".join(DEVICE_HELP.split()), 88, break_on_hyphens=False),
        ]
    )


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
        help="where datasets are read from, first (default $AXON_DATA_DIR, else "
        "~/.cache/axon); it must exist",
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
    run.add_argument(
        "--nproc",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train on N MPI processes, data-parallel (see below)",
    )
    run.add_argument(
        "--device",
        type=_device_name,
        default="cpu",
        metavar="DEVICE",
        help="where the models train: cpu (default), cuda, cuda:N (see below)",
    )
    run.add_argument("--debug", action="store_true", help=DEBUG_HELP)

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
    ws.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    report_commands.add_parsers(sub)  # axon report, axon tour (axon.report.commands)
    return parser


def _list() -> int:
    """The experiments and worksheets, one line each; the experiments that take
    ``--device`` (:data:`ON_DEVICE`) marked ``*`` before their description."""
    for kind, title in [
        ("experiment", "Experiments (axon run NAME; those marked * take --device DEVICE)"),
        ("worksheet", "Worksheets (axon worksheet NAME)"),
    ]:
        print(title)
        entries = lab.entries(kind)
        width = max(len(e.name) for e in entries)
        for e in entries:
            mark = ("* " if e.name in ON_DEVICE else "  ") if kind == "experiment" else ""
            print(f"  {e.name.ljust(width)}  {mark}{e.description}")
    return 0


def _run(kind: str, args: argparse.Namespace, argv: list[str]) -> int:
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
    if kind == "worksheet":
        return _execute(entry, args)
    if launch.in_mpi_job():
        return _run_in_job(entry, args)
    nproc = args.nproc or NEEDS_PROCESSES.get(entry.name, 1)
    refusal = _refusal(entry.name, nproc, args.resume, args.device) or _missing_data_dir(
        args.data_dir
    )
    if refusal is not None:
        print(f"axon: error: {refusal}", file=sys.stderr)
        return 2
    if nproc == 1:
        return _execute(entry, args)
    if args.nproc is None:
        print(f"{entry.name} runs on {nproc} processes: starting them (as --nproc {nproc})")
        argv = [*argv, "--nproc", str(nproc)]
    return launch.launch(nproc, argv)


def _refusal(name: str, nproc: int, resume: bool, device: str = "cpu") -> str | None:
    """Why the experiment ``name`` cannot run on ``nproc`` processes and ``device`` (None:
    it can)."""
    if device != "cpu" and name not in ON_DEVICE:
        return (
            f"--device {device} does not apply to {name}: it trains on the CPU only "
            f"(--device applies to {', '.join(sorted(ON_DEVICE))})"
        )
    if device != "cpu" and nproc > 1:
        return (
            f"--device {device} does not combine with --nproc: the processes exchange "
            f"gradients through MPI in host memory; run {name} on one process"
        )
    need = NEEDS_PROCESSES.get(name, 1)
    if nproc > 1 and name not in MULTI_PROCESS:
        return (
            f"--nproc {nproc} does not apply to {name}: it runs on one process only "
            f"(--nproc applies to {', '.join(sorted(MULTI_PROCESS))})"
        )
    if nproc < need:
        return f"{name} needs at least {need} processes, got {nproc}: use --nproc {need}"
    if nproc > 1 and resume:
        return (
            f"--resume does not combine with --nproc yet: resume {name} on one process, "
            f"or run it again on {nproc} without --resume"
        )
    return None


def _missing_data_dir(data_dir: Path | None) -> str | None:
    """Why ``--data-dir`` cannot be used (None: it can, or it was not given). A folder
    that does not exist is an error rather than a silent fall-back to the other data
    folders ($AXON_DATA_DIR, the cache): a typo would otherwise read other data."""
    if data_dir is None or data_dir.expanduser().is_dir():
        return None
    what = "is not a folder" if data_dir.expanduser().exists() else "does not exist"
    return f"--data-dir {data_dir} {what}: give the folder that holds the datasets"


def _run_in_job(entry: lab.Entry, args: argparse.Namespace) -> int:
    """Run the experiment as one rank of the MPI job this process belongs to: join the
    process group; rank 0 prints and writes under ``--out``, the other ranks print
    nothing and write into a temporary folder deleted at the end; every rank returns
    rank 0's status."""
    import axon.distributed as dist

    try:
        dist.init_process_group("mpi")
    except ImportError as err:  # mpi4py or its MPI library is missing on this machine
        print(f"axon: error: {err}", file=sys.stderr)
        return 2
    rank, size = dist.get_rank(), dist.get_world_size()
    if args.nproc is not None and args.nproc != size:
        refusal = f"--nproc {args.nproc} was given, but this MPI job has {size} processes"
    else:
        refusal = _refusal(entry.name, size, args.resume, args.device) or _missing_data_dir(
            args.data_dir
        )
    if refusal is not None:
        if rank == 0:
            print(f"axon: error: {refusal}", file=sys.stderr)
        dist.destroy_process_group()
        return 2
    scratch, stdout = None, sys.stdout
    if rank > 0:
        scratch = Path(tempfile.mkdtemp(prefix=f"axon-{entry.name}-rank{rank}-"))
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (closed below)
    try:
        others = "rank 1 works" if size == 2 else f"ranks 1 to {size - 1} work"
        note = f"on {size} MPI processes: rank 0 reports, {others} silently"
        status = _execute(entry, args, out=scratch, note=note if size > 1 else None)
    finally:
        if scratch is not None:
            sys.stdout.close()
            sys.stdout = stdout
            shutil.rmtree(scratch, ignore_errors=True)
    verdict = [status]
    dist.broadcast_object_list(verdict, src=0)  # the job's status is rank 0's
    dist.destroy_process_group()
    return int(verdict[0])


#: The errors a run meets that are the user's to fix (a dataset or weights file missing,
#: damaged or not fitting): one line on stderr, exit status 2, the traceback with --debug.
USAGE_ERRORS = (FileNotFoundError, ChecksumError, lab.WeightsError)


def _execute(
    entry: lab.Entry, args: argparse.Namespace, out: Path | None = None, note: str | None = None
) -> int:
    """Run the experiment or worksheet ``entry`` here, writing under ``out`` (default:
    ``--out``, else ./runs/NAME); print its claims; write its record (an experiment, on
    rank 0); return the exit status."""
    kind = entry.kind
    default = args.name if kind == "experiment" else f"worksheet-{args.name}"
    if out is None:
        out = args.out if args.out is not None else Path("runs") / default
    device = getattr(args, "device", "cpu")
    if kind == "experiment":
        try:
            check_device(device)  # CuPy or the GPU missing: said before anything runs
        except DeviceUnavailableError as err:
            return _usage_error(f"--device {device}: {err}", args, err)
        try:
            _check_writable(out)
        except OSError as err:
            why = err.strerror or str(err)
            return _usage_error(
                f"cannot write the run's folder {out} ({why}): choose another with --out DIR",
                args,
                err,
            )
    config = lab.Config(
        seed=args.seed if kind == "experiment" else 0,
        out=out,
        quick=args.quick,
        graph=getattr(args, "graph", None),
        epochs=getattr(args, "epochs", None),
        data_dir=getattr(args, "data_dir", None),
        prompt=getattr(args, "prompt", None),
        weights=getattr(args, "weights", None),
        resume=getattr(args, "resume", False),
        device=device,
    )
    if kind == "experiment":
        title = f"axon run {entry.name}: {entry.description}"
        print(f"{title}\n{'=' * len(title)}")
        if note is not None:
            print(note)
        duration = None if config.quick else expected_duration(entry.name, config.epochs)
        if duration is not None:
            print(duration)
        prepare_backups(entry.name, config, entry.name in lab.RESUMABLE)
    rank, nproc = _rank_and_size()
    recorder = None  # an experiment's record, written on rank 0
    if kind == "experiment" and rank == 0:
        recorder = record.Recorder(
            out, entry.name, entry.description, args.command_line, config, nproc
        )
    start = time.perf_counter()
    try:
        result = entry.run(config)
    except USAGE_ERRORS as err:  # a dataset or weights file at fault
        if recorder is not None:
            recorder.write(error=err)
        return _usage_error(str(err), args, err)
    except BaseException as err:  # a bug, or Ctrl-C: recorded, then raised as before
        if recorder is not None:
            recorder.write(error=err)
        raise
    if kind == "experiment":
        result.undertrained = undertrained(entry.name, config.epochs, config.quick)
    print()
    print(result.report())
    seconds = time.perf_counter() - start
    print(f"\n{entry.name}: {_verdict(entry.name, result, config)} ({seconds:.1f} s)")
    if recorder is not None:
        recorder.write(result)
    return 0 if result.passed else 1


def _check_writable(out: Path) -> None:
    """Make the run's folder ``out`` if needed and write (and delete) a file in it; an
    ``OSError`` says why it cannot be written (a file in the way, no permission...)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass


def _verdict(name: str, result: lab.Result, config: lab.Config) -> str:
    """The end of the summary line: whether every claim held, and if some were not
    checked, how many and why."""
    if not result.passed:
        return "A CLAIM FAILED"
    unchecked = result.count("not checked")
    if not unchecked:
        return "all claims hold"
    training = TRAINING[name]
    needs = training.quick if config.quick else training.full
    return (
        f"{unchecked} of {len(result.claims)} claims not checked: the run trained "
        f"{training.amount(config.epochs)}, they need {needs} (run without --epochs to "
        f"check them); the other {result.count('held')} hold"
    )


def _rank_and_size() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 without a group)."""
    import axon.distributed as dist

    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _usage_error(message: str, args: argparse.Namespace, error: BaseException | None) -> int:
    """Say ``message`` in one line on stderr (after ``error``'s traceback with --debug)
    and return exit status 2; in an MPI job, end the job (the other ranks may be waiting
    in a collective)."""
    if error is not None and getattr(args, "debug", False):
        traceback.print_exception(error)
    if _rank_and_size()[1] > 1:
        import axon.distributed as dist

        dist.group.abort(f"axon: error: {message}", status=2)
    print(f"axon: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``axon`` console script; returns the exit status."""
    if hasattr(sys.stdout, "reconfigure") and (sys.stdout.encoding or "").lower() != "utf-8":
        sys.stdout.reconfigure(errors="replace")  # the worksheets print ŷ, σ, η
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.command_line = shlex.join(["axon", *argv])  # for the run's record
    try:
        if args.command == "list":
            return _list()
        if args.command in ("report", "tour"):
            return report_commands.main(args)
        return _run("experiment" if args.command == "run" else "worksheet", args, argv)
    except BrokenPipeError:  # `axon run xor | head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python exits with it open)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
