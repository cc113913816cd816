"""``axon.distributed.launch``: which MPI a launcher is (from its ``--version``), Open MPI's
switches for root and for more ranks than cores, where the launcher is found, the line a
missing MPI gives, and a real job: its exit status comes back and Ctrl-C ends it."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time

import pytest

from axon.distributed import launch
from axon.distributed.group import INSTALL_HINT
from tests.distributed.launch import require_mpi

# what the launchers print for --version (the start of it)
OPENMPI_3 = "mpiexec (OpenRTE) 3.1.3\n\nReport bugs to http://www.open-mpi.org/community/help/\n"
OPENMPI_4 = "mpirun (Open MPI) 4.1.2\n\nReport bugs to http://www.open-mpi.org/community/help/\n"
OPENMPI_5 = "mpiexec (Open MPI) 5.0.3\n\nReport bugs to https://www.open-mpi.org/community/help/\n"
MPICH = (
    "HYDRA build details:\n    Version:                                 4.1.2\n"
    "    Release Date:                            Wed Jun  7 15:22:45 CDT 2023\n"
)
INTEL = (
    "Intel(R) MPI Library for Linux* OS, Version 2021.10 Build 20230619 (id: c2e19c2f3e)\n"
    "Copyright 2003-2023, Intel Corporation.\n"
)
PROGRAM = [sys.executable, "-m", "axon"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (OPENMPI_3, ("openmpi", (3, 1))),
        (OPENMPI_4, ("openmpi", (4, 1))),
        (OPENMPI_5, ("openmpi", (5, 0))),
        (MPICH, ("mpich", ())),
        (INTEL, ("intel", ())),
        ("", ("unknown", ())),
    ],
)
def test_flavour_reads_the_version_output(text, expected):
    assert launch.flavour(text) == expected


@pytest.mark.parametrize("version", [OPENMPI_3, OPENMPI_4, OPENMPI_5])
def test_open_mpi_as_root_gets_its_documented_switch_and_variables(version):
    cmd, env = launch.command(2, ["run", "lenet"], "/x/mpiexec", version, root=True, cores=2)
    assert cmd == ["/x/mpiexec", "--allow-run-as-root", "-n", "2", *PROGRAM, "run", "lenet"]
    assert env == {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


@pytest.mark.parametrize("version", [OPENMPI_4, MPICH, INTEL, ""])
def test_no_switches_for_a_user_within_the_cores(version):
    cmd, env = launch.command(2, ["run", "lenet"], "mpiexec", version, root=False, cores=2)
    assert cmd == ["mpiexec", "-n", "2", *PROGRAM, "run", "lenet"] and env == {}


@pytest.mark.parametrize("version", [MPICH, INTEL])
def test_mpich_and_intel_need_nothing_as_root_or_beyond_the_cores(version):
    cmd, env = launch.command(4, [], "mpiexec", version, root=True, cores=2)
    assert cmd == ["mpiexec", "-n", "4", *PROGRAM] and env == {}


@pytest.mark.parametrize(
    ("version", "switch"),
    [
        (OPENMPI_3, ["--oversubscribe"]),
        (OPENMPI_4, ["--oversubscribe"]),
        (OPENMPI_5, ["--map-by", ":OVERSUBSCRIBE"]),
    ],
)
def test_open_mpi_oversubscribes_only_beyond_the_cores(version, switch):
    cmd, _ = launch.command(3, [], "mpiexec", version, root=False, cores=2)
    assert cmd == ["mpiexec", *switch, "-n", "3", *PROGRAM]
    cmd, _ = launch.command(2, [], "mpiexec", version, root=False, cores=2)
    assert cmd == ["mpiexec", "-n", "2", *PROGRAM]


def test_command_refuses_no_processes():
    with pytest.raises(ValueError, match="nproc must be at least 1, got 0"):
        launch.command(0, [], "mpiexec", MPICH)


def test_inside_a_job_is_read_from_the_launchers_variables():
    assert not launch.in_mpi_job({"PATH": "/bin"})
    for name in ("AXON_LAUNCHED", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"):
        assert launch.in_mpi_job({name: "1"})


def test_the_launcher_beside_python_comes_first(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    monkeypatch.setattr(sys, "executable", str(fake))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert launch.find_launcher() is None
    other = tmp_path / "path"
    other.mkdir()
    (other / "mpirun").write_text("#!/bin/sh\n")
    (other / "mpirun").chmod(0o755)
    monkeypatch.setenv("PATH", str(other))
    assert launch.find_launcher() == str(other / "mpirun")
    (fake.parent / "mpiexec").write_text("#!/bin/sh\n")
    (fake.parent / "mpiexec").chmod(0o755)
    assert launch.find_launcher() == str(fake.parent / "mpiexec")


def test_a_missing_launcher_is_one_line_naming_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(launch, "find_launcher", lambda: None)
    assert launch.launch(2, ["run", "lenet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("axon: error: --nproc 2 needs MPI: no MPI launcher (mpiexec or mpirun)")
    assert err.rstrip().endswith(INSTALL_HINT) and "pip install 'axon[distributed]'" in err


def test_a_missing_mpi4py_is_one_line_naming_what_to_install(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mpi4py" else real(name, *a)
    )
    assert launch.launch(3, []) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("axon: error: --nproc 3 needs MPI: mpi4py is not installed; ")
    assert "pip install 'axon[distributed]'" in err


def test_this_machines_launcher_is_read_as_what_it_is():
    text = launch.version_text(require_mpi())
    assert launch.flavour(text)[0] in {"mpich", "openmpi", "intel"}, text


def _start(code: str, tmp_path) -> subprocess.Popen:
    """``python -c code`` in a session of its own, with its output piped."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"ran past {timeout} s:\n{out}\n{err}")


def test_the_jobs_exit_status_comes_back(tmp_path):
    require_mpi()
    proc = _start(
        "import sys; from axon.distributed import launch; "
        "sys.exit(launch.launch(2, ['run', 'NOPE']))",
        tmp_path,
    )
    out, err = _finish(proc, timeout=120)
    assert proc.returncode == 2, f"{out}\n{err}"
    # the first rank to exit with status 2 makes mpiexec end the other, which on a busy
    # machine may not have got as far as saying it too
    assert 1 <= err.count("unknown experiment 'NOPE'") <= 2, err


def test_ctrl_c_ends_the_whole_job(tmp_path):
    """SIGINT to the launching process reaches the ranks (they sleep a minute): the job
    ends at once, with a non-zero status, and no rank is left."""
    require_mpi()
    # each rank leaves its pid in a file: MPICH's hydra was seen, on a loaded machine, not
    # to forward the ranks' printed lines before they exited, so stdout cannot carry them
    rank = (
        "import os, pathlib, time; "
        "pathlib.Path(f'pid-{os.getpid()}.tmp').write_text(str(os.getpid())); "
        "os.rename(f'pid-{os.getpid()}.tmp', f'pid-{os.getpid()}'); time.sleep(60)"
    )
    proc = _start(
        "import sys; from axon.distributed import launch; "
        f"launch.PROGRAM = [sys.executable, '-c', {rank!r}]; "
        "sys.exit(launch.launch(2, []))",
        tmp_path,
    )
    pids: list[int] = []
    deadline = time.monotonic() + 120
    while len(pids) < 2 and time.monotonic() < deadline and proc.poll() is None:
        pids = [int(f.read_text()) for f in tmp_path.glob("pid-*") if f.suffix != ".tmp"]
        time.sleep(0.05)
    if len(pids) < 2:
        status = proc.poll()  # None: still running; else how the launching process ended
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the ranks did not start: {pids}, status {status}\n{out}\n{err}")
    proc.send_signal(signal.SIGINT)  # to the launching process only, as a terminal's Ctrl-C
    started = time.monotonic()
    _finish(proc, timeout=30)
    assert proc.returncode != 0
    deadline = time.monotonic() + 30
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_running, pids)), f"ranks left running {time.monotonic() - started} s on"


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (exited, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
