"""Start ``python -m axon ...`` on N MPI processes: what ``axon run NAME --nproc N`` does.

    launch(2, ["run", "data-parallel", "--quick"])   # mpiexec -n 2 python -m axon run ...

The launcher is the ``mpiexec`` beside this Python (where the MPICH wheel of
``pip install "axon[distributed]"`` puts it), else ``mpiexec`` or ``mpirun`` on PATH (a
cluster's Open MPI, MPICH or Intel MPI). Which MPI it belongs to is read from
``mpiexec --version``: Open MPI refuses to run as root unless told to (containers and CI
run as root), and refuses more ranks than cores unless told to oversubscribe, so for Open
MPI :func:`command` adds its documented switches where they are needed; MPICH and Intel
MPI need none. Each rank then takes its share of the cores itself
(``init_process_group``). A missing MPI is one line saying what to install.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .group import INSTALL_HINT

#: Set in the environment of the ranks that :func:`launch` starts: the CLI inside the job
#: sees it and joins the process group instead of launching again.
LAUNCHED = "AXON_LAUNCHED"
#: Variables the MPI launchers set in the processes they start (Open MPI, MPICH's Hydra
#: and Intel MPI, PMIx, MVAPICH): their presence means "already inside an MPI job".
MPI_JOB_VARIABLES = (
    LAUNCHED,
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMI_RANK",
    "PMIX_RANK",
    "MV2_COMM_WORLD_SIZE",
)
#: What the ranks run: this Python with axon's command line. Tests that need the ranks
#: to run a wrapper of the command line replace it.
PROGRAM = [sys.executable, "-m", "axon"]
#: Open MPI's documented ways to allow a run as root: the switch, and (Open MPI 3.0 and
#: later, for launchers started by other tools) the two environment variables.
ROOT_SWITCH = "--allow-run-as-root"
ROOT_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def find_launcher() -> str | None:
    """The MPI launcher: ``mpiexec`` beside ``sys.executable`` (a pip-installed MPICH),
    else ``mpiexec`` or ``mpirun`` on PATH; None when there is none."""
    here = Path(sys.executable).parent / "mpiexec"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("mpiexec") or shutil.which("mpirun")


def missing_mpi() -> str | None:
    """What is missing to launch an MPI job (one line naming what to install), or None
    when mpi4py and a launcher are both there. mpi4py is looked up, not imported:
    importing it would start MPI in the launching process."""
    if importlib.util.find_spec("mpi4py") is None:
        what = "mpi4py is not installed"
    elif find_launcher() is None:
        what = "no MPI launcher (mpiexec or mpirun) was found beside Python or on PATH"
    else:
        return None
    return f"{what}; {INSTALL_HINT}"


def in_mpi_job(environ=None) -> bool:
    """Whether this process was started by an MPI launcher (or by :func:`launch`)."""
    environ = os.environ if environ is None else environ
    return any(name in environ for name in MPI_JOB_VARIABLES)


def flavour(version_text: str) -> tuple[str, tuple[int, ...]]:
    """Which MPI a launcher belongs to, from its ``--version`` output: ``("openmpi",
    (major, minor))``, ``("intel", ())``, ``("mpich", ())`` (MPICH's Hydra and its
    derivatives) or ``("unknown", ())``."""
    found = re.search(r"\((?:Open MPI|OpenRTE)\)\s+(\d+)\.(\d+)", version_text)
    if found:
        return "openmpi", (int(found.group(1)), int(found.group(2)))
    if "Open MPI" in version_text or "OpenRTE" in version_text:
        return "openmpi", ()
    if "Intel(R) MPI" in version_text:
        return "intel", ()
    if "HYDRA" in version_text or "MPICH" in version_text:
        return "mpich", ()
    return "unknown", ()


def version_text(launcher: str) -> str:
    """``launcher --version``'s output (stdout and stderr), or "" when it cannot be run."""
    try:
        done = subprocess.run(
            [launcher, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout + done.stderr


def command(
    nproc: int,
    argv: list[str],
    launcher: str,
    version: str,
    *,
    root: bool | None = None,
    cores: int | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command that runs ``PROGRAM + argv`` on ``nproc`` ranks with ``launcher``, and
    the environment variables to add. ``version`` is the launcher's ``--version``
    output. Under Open MPI, running as ``root`` (default: the effective user is root)
    adds ``--allow-run-as-root`` and its two variables, and more ranks than ``cores``
    (default: the cores this process may use) adds ``--oversubscribe`` (``--map-by
    :OVERSUBSCRIBE`` from Open MPI 5 on, which deprecates the former)."""
    if nproc < 1:
        raise ValueError(f"nproc must be at least 1, got {nproc}")
    root = (hasattr(os, "geteuid") and os.geteuid() == 0) if root is None else root
    cores = _cores() if cores is None else cores
    switches: list[str] = []
    env: dict[str, str] = {}
    kind, release = flavour(version)
    if kind == "openmpi":
        if root:
            switches.append(ROOT_SWITCH)
            env.update(ROOT_ENV)
        if nproc > cores:
            switches += ["--map-by", ":OVERSUBSCRIBE"] if release >= (5,) else ["--oversubscribe"]
    return [launcher, *switches, "-n", str(nproc), *PROGRAM, *argv], env


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def launch(nproc: int, argv: list[str], env: dict[str, str] | None = None) -> int:
    """Run ``python -m axon`` with ``argv`` on ``nproc`` MPI ranks and wait for the job;
    returns its exit status (128 + N when a signal N ended it).

    The ranks get ``env`` (default: this process's environment) with :data:`LAUNCHED`
    set and ``PYTHONUNBUFFERED=1`` (rank 0's output shows as it comes). The job runs in
    a process group of its own: SIGINT (Ctrl-C), SIGTERM and SIGHUP sent to this process
    are passed on to the whole group, and a second one kills it (SIGKILL). Without MPI,
    one line on stderr says what to install and the status is 2."""
    missing = missing_mpi()
    if missing is not None:
        print(f"axon: error: --nproc {nproc} needs MPI: {missing}", file=sys.stderr)
        return 2
    launcher = find_launcher()
    cmd, extra = command(nproc, argv, launcher, version_text(launcher))
    child_env = dict(os.environ if env is None else env, **extra)
    child_env[LAUNCHED] = "1"
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen(cmd, env=child_env, start_new_session=True)
    received: list[int] = []

    def forward(signum, frame) -> None:
        received.append(signum)
        try:  # the first signal as it came; a second one: no more waiting
            os.killpg(proc.pid, signum if len(received) == 1 else signal.SIGKILL)
        except ProcessLookupError:
            pass  # the job has just ended

    forwarded = (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, forward) for s in forwarded if s is not None}
    try:
        code = proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:  # this process is leaving (an error): take the job along
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return 128 - code if code < 0 else code
