"""Start a script on N MPI processes with a hard timeout: the launcher and every rank are
killed (their process group) when it runs out, so a hung rank never hangs the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "workers"
ROOT = Path(__file__).parents[2]  # the checkout, so that workers import tests.*


def mpiexec() -> str | None:
    """The launcher ``axon run --nproc`` would use (beside this Python, else on PATH)."""
    from axon.distributed.launch import find_launcher

    return find_launcher()


def require_mpi() -> str:
    """The launcher; without MPI the test is skipped, except in CI, which installs it
    (the test extra) and must run these tests."""
    import axon.distributed as dist

    launcher = mpiexec()
    if launcher is None or not dist.is_mpi_available():
        if os.environ.get("CI"):
            pytest.fail("CI installs MPI with the test extra, but mpi4py or mpiexec is missing")
        pytest.skip("no MPI here: pip install 'axon[distributed]'")
    return launcher


def run(nproc: int | None, script: str, *args: str, timeout: float = 60.0, threads: bool = True):
    """Run ``workers/<script>`` on ``nproc`` ranks (None: plain python, no launcher);
    returns (exit code, stdout, stderr, seconds). One BLAS thread per rank (``threads``
    False: no thread variables, axon shares the cores out itself); Open MPI's switches
    for running as root are set (MPICH ignores them)."""
    cmd = [sys.executable, str(WORKERS / script), *args]
    if nproc is not None:
        cmd = [require_mpi(), "-n", str(nproc), *cmd]
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
    )
    if not threads:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.pop(name)
    return run_command(cmd, env, timeout, f"{script} on {nproc} ranks")


def run_command(cmd: list[str], env: dict, timeout: float, what: str):
    """Run ``cmd`` in a process group of its own; past ``timeout`` seconds the whole group
    is killed and the test fails naming ``what``. Returns (exit code, stdout, stderr,
    seconds)."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{what} ran past {timeout} s:\n{out}\n{err}")
    return proc.returncode, out, err, time.monotonic() - start
