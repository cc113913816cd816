"""The default process group on MPI: who this process is (rank, world size), how long a
collective may wait, and what a failing rank does to the job.

MPI (through mpi4py) starts the processes (``mpiexec -n N python train.py``) and knows
their ranks, so ``init_process_group("mpi")`` only connects to it. A rank that raises ends
the whole job with ``MPI_Abort`` after printing its error, and a collective that waits
longer than the group's timeout aborts naming itself, so a failure never hangs the job.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
import traceback

DEFAULT_TIMEOUT = datetime.timedelta(minutes=5)
ABORT_GRACE = 1.0  # seconds between printing a rank's error and MPI_Abort
SPIN = 0.005  # seconds a collective's wait polls before it starts sleeping between polls
INSTALL_HINT = (
    "axon.distributed needs mpi4py and an MPI library: pip install 'axon[distributed]' "
    "(MPICH from the package registry), or pip install mpi4py built against your "
    "cluster's MPI (Open MPI, MPICH, Intel MPI)"
)
NOT_INITIALISED = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)


class _Group:
    """The default group: the communicator, its rank and size, the timeout, and how many
    collectives this rank has entered (named in a timeout's message).

    The ranks on one machine also publish their counts in a small shared-memory window
    (:meth:`watch`): a rank whose collective times out reads the others' counts there,
    with no help from them (a hung rank makes no MPI calls), and names the ranks that
    have not reached its collective."""

    def __init__(self, comm, timeout: datetime.timedelta) -> None:
        self.comm, self.rank, self.size = comm, comm.Get_rank(), comm.Get_size()
        self.timeout = timeout.total_seconds()
        self.calls = 0
        self._window = None
        self._counts: dict[int, object] = {}  # world rank on this machine -> its count

    def watch(self, local) -> None:
        """Share this rank's count with the ranks of ``local`` (those on this machine)."""
        import numpy as np

        MPI = mpi()
        self._window = MPI.Win.Allocate_shared(8, 8, comm=local)
        world = np.zeros(local.Get_size(), np.int64)
        local.Allgather(np.array([self.rank], np.int64), world)
        for i, rank in enumerate(world.tolist()):
            self._counts[rank] = np.frombuffer(self._window.Shared_query(i)[0], np.int64)

    def enter(self) -> None:
        """Count a collective this rank enters."""
        self.calls += 1
        mine = self._counts.get(self.rank)
        if mine is not None:
            mine[0] = self.calls

    def missing(self) -> str:
        """Which ranks have not reached this rank's current collective, as a phrase."""
        behind = {r: int(c[0]) for r, c in self._counts.items() if int(c[0]) < self.calls}
        named = ", ".join(f"{r} (at call {c})" for r, c in sorted(behind.items()))
        if not behind:
            text = "every rank on this machine has reached it"
        elif len(behind) == 1:
            text = f"rank {named} has not reached it"
        else:
            text = f"ranks {named} have not reached it"
        if len(self._counts) < self.size:
            text += (
                f"; the {self.size - len(self._counts)} ranks on other machines were not checked"
            )
        return text

    def close(self) -> None:
        if self._window is not None:
            self._counts.clear()
            self._window.Free()
            self._window = None


_group: _Group | None = None
_previous_hook = None


def mpi():
    """mpi4py's ``MPI`` module, or an ImportError that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as err:  # mpi4py missing, or its MPI library missing
        raise ImportError(f"{INSTALL_HINT} ({err})") from err
    return MPI


def is_mpi_available() -> bool:
    """Whether mpi4py and an MPI library can be loaded."""
    try:
        mpi()
    except ImportError:
        return False
    return True


def is_available() -> bool:
    """Whether ``axon.distributed`` can be used (as torch's: the package is there; the
    MPI backend needs :func:`is_mpi_available`)."""
    return True


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has run (and no destroy since)."""
    return _group is not None


def current() -> _Group:
    """The default group, or torch's ValueError when there is none."""
    if _group is None:
        raise ValueError(NOT_INITIALISED)
    return _group


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store=None,
    group_name: str = "",
    pg_options=None,
    device_id=None,
) -> None:
    """Join the job MPI started: rank and world size come from MPI (``world_size`` and
    ``rank``, when given, and the ``RANK`` / ``WORLD_SIZE`` variables, when set, must
    agree with it). ``backend`` is ``"mpi"`` (or None); ``timeout`` bounds every
    collective's wait (default 5 minutes). From here on an uncaught error on any rank
    prints that rank's traceback and aborts the whole job."""
    global _group, _previous_hook
    if _group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend not in (None, "mpi"):
        raise ValueError(
            f"axon.distributed runs on MPI: backend must be 'mpi' (or None), got {backend!r}"
        )
    if init_method not in (None, "env://") or store is not None:
        raise ValueError(
            "with MPI the launcher (mpiexec) connects the processes: "
            "init_method and store are not used; leave them unset"
        )
    MPI = mpi()
    if not MPI.Is_initialized():
        MPI.Init()
    g = _Group(MPI.COMM_WORLD, timeout or DEFAULT_TIMEOUT)
    for name, given, actual in (
        ("world_size", world_size, g.size),
        ("rank", rank, g.rank),
        ("WORLD_SIZE", int(os.environ.get("WORLD_SIZE", -1)), g.size),
        ("RANK", int(os.environ.get("RANK", -1)), g.rank),
    ):
        if given != -1 and given != actual:
            raise ValueError(f"{name}={given} disagrees with MPI, which says {actual}")
    _group = g
    if g.size > 1:
        _previous_hook = sys.excepthook
        sys.excepthook = _abort_on_error
        local = g.comm.Split_type(MPI.COMM_TYPE_SHARED)
        g.watch(local)
        _share_the_cores(g, local.Get_size())


def _share_the_cores(g: _Group, local: int) -> None:
    """Give each rank its share of this machine's cores for BLAS and the ops' batch
    halves: the cores it may run on divided by the ranks on this machine (at least one;
    with one thread the halves are off). A launcher that binds each rank to its own
    cores has done the split already; ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS``,
    when set, are the user's choice and are left alone."""
    if "OMP_NUM_THREADS" in os.environ or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    from ..backend.numpy.threads import set_num_threads

    mine = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    machine = os.cpu_count() or mine
    set_num_threads(max(1, mine if mine < machine else machine // local))


def destroy_process_group(group=None) -> None:
    """Leave the group (MPI itself is finalised when the process exits)."""
    global _group, _previous_hook
    if _group is None:
        raise ValueError(NOT_INITIALISED)
    if _previous_hook is not None:
        sys.excepthook, _previous_hook = _previous_hook, None
    _group.close()
    _group = None


def get_rank(group=None) -> int:
    """This process's rank, 0 .. world size - 1."""
    return current().rank


def get_world_size(group=None) -> int:
    """The number of processes in the job."""
    return current().size


def abort(message: str, status: int = 1) -> None:
    """Print ``message`` (with this rank) on stderr and end every process of the job
    with exit ``status``."""
    g = _group
    who = f"rank {g.rank} of {g.size}" if g is not None else "a rank"
    sys.stderr.write(f"axon.distributed: {who}: {message}\n")
    sys.stderr.flush()
    if g is not None:
        time.sleep(ABORT_GRACE)  # let the launcher forward the message before the kill
        g.comm.Abort(status)
    os._exit(status)  # only reached without a group


def _abort_on_error(kind, value, tb) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    abort(f"uncaught {kind.__name__}, aborting the job:\n{text.rstrip()}")


def wait(request, name: str) -> None:
    """Wait for a non-blocking MPI ``request`` of the collective ``name``; past the
    group's timeout, abort the job with a message naming the collective."""
    g = current()
    if request.Test():
        return
    start = time.monotonic()
    deadline, spin_until = start + g.timeout, start + SPIN
    pause = 1e-4
    while not request.Test():
        now = time.monotonic()
        if now < spin_until:  # a short collective: poll without sleeping (a sleep's
            continue  # wake-up alone costs tens of microseconds)
        if now > deadline:
            abort(
                f"{name} (collective call {g.calls} of this rank) waited more than "
                f"{g.timeout:g} s for the other ranks: {g.missing()} (a rank that "
                "failed, hangs, or runs a different sequence of collectives)"
            )
        time.sleep(pause)
        pause = min(pause * 2, 1e-3)
