"""The ``axon`` command, mostly through ``main([...])``; one real subprocess."""

import os
import subprocess
import sys

import pytest

from axon import lab
from axon.cli import main
from axon.lab import Entry, Result


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: axon" in out and "run" in out and "worksheet" in out and "list" in out


def test_list_names_every_experiment_with_a_description(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for kind in ("experiment", "worksheet"):
        for entry in lab.entries(kind):
            assert f"  {entry.name}" in out and entry.description in out
    assert "xor" in out and "boolean" in out and "multiply" in out


@pytest.mark.parametrize("command", ["run", "worksheet"])
def test_unknown_name_exits_2_listing_the_known_ones(command, capsys):
    assert main([command, "NOPE"]) == 2
    err = capsys.readouterr().err
    assert "unknown" in err and "'NOPE'" in err and "xor" in err


def test_run_writes_figures_under_runs_name_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "boolean", "--quick", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "[PASS]" in out and "all claims hold" in out
    assert (tmp_path / "runs" / "boolean" / "boolean_perceptrons.png").exists()


def test_worksheet_draws_the_graph(tmp_path, capsys):
    png = tmp_path / "graph.png"
    assert main(["worksheet", "xor", "--graph", str(png), "--out", str(tmp_path)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "dL/dw11" in capsys.readouterr().out


def test_a_failed_claim_exits_1(tmp_path, monkeypatch, capsys):
    def failing(config):
        r = Result("failing")
        r.check("this claim is false", False)
        return r

    monkeypatch.setitem(
        lab.registry._REGISTRY["experiment"], "failing", Entry("failing", "always fails", failing)
    )
    assert main(["run", "failing", "--out", str(tmp_path)]) == 1
    assert "[FAIL] this claim is false" in capsys.readouterr().out


def test_python_dash_m_axon(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "axon", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "xor" in done.stdout and "boolean" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "axon", "run", "NOPE"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert bad.returncode == 2 and "known experiments" in bad.stderr


# ----------------------------------------------------------------------------- --nproc
@pytest.fixture
def outside_mpi(monkeypatch):
    """This process is not a rank of an MPI job (whatever started the tests)."""
    from axon.distributed import launch

    for name in launch.MPI_JOB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return launch


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    return captured.err.strip()


def test_nproc_is_refused_for_an_experiment_on_one_process(outside_mpi, tmp_path, capsys):
    assert main(["run", "xor", "--quick", "--nproc", "2", "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys)
    assert line == (
        "axon: error: --nproc 2 does not apply to xor: it runs on one process only "
        "(--nproc applies to data-parallel, fashion, lenet, mnist-mlp)"
    )
    assert not (tmp_path / "o").exists()  # refused before anything ran


def test_data_parallel_needs_two_processes_and_resume_waits(outside_mpi, capsys):
    assert main(["run", "data-parallel", "--nproc", "1"]) == 2
    assert one_error_line(capsys) == (
        "axon: error: data-parallel needs at least 2 processes, got 1: use --nproc 2"
    )
    assert main(["run", "lenet", "--nproc", "2", "--resume"]) == 2
    assert one_error_line(capsys).startswith(
        "axon: error: --resume does not combine with --nproc yet: resume lenet on one process"
    )


def test_nproc_starts_the_launcher_with_the_same_arguments(
    outside_mpi, monkeypatch, tmp_path, capsys
):
    calls = []
    monkeypatch.setattr(outside_mpi, "launch", lambda n, argv: calls.append((n, argv)) or 7)
    assert main(["run", "lenet", "--quick", "--nproc", "3", "--seed", "4"]) == 7
    assert calls == [(3, ["run", "lenet", "--quick", "--nproc", "3", "--seed", "4"])]
    assert main(["run", "data-parallel", "--quick"]) == 7  # 2 processes by default
    assert calls[1] == (2, ["run", "data-parallel", "--quick", "--nproc", "2"])
    assert "data-parallel runs on 2 processes: starting them" in capsys.readouterr().out
    assert main(["run", "boolean", "--quick", "--nproc", "1", "--out", str(tmp_path)]) == 0
    assert len(calls) == 2  # one process: it ran here, without the launcher
    assert "all claims hold" in capsys.readouterr().out


def test_nproc_without_mpi_is_one_line_saying_what_to_install(outside_mpi, monkeypatch, capsys):
    monkeypatch.setattr(outside_mpi, "find_launcher", lambda: None)
    assert main(["run", "data-parallel", "--quick", "--nproc", "2"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("axon: error: --nproc 2 needs MPI: no MPI launcher")
    assert "pip install 'axon[distributed]'" in line


def test_help_says_what_nproc_applies_to(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--nproc N" in out and "applies to data-parallel, fashion, lenet, mnist-mlp" in out


def test_inside_an_mpi_job_rank_0_alone_refuses_an_experiment_on_one_process(tmp_path):
    """``mpiexec -n 2 python -m axon run xor``: the ranks join the group, see 2 processes,
    and refuse (rank 0 says so, once); the job's status is 2."""
    from tests.distributed.launch import require_mpi

    done = subprocess.run(
        [require_mpi(), "-n", "2", sys.executable, "-m", "axon", "run", "xor", "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env=dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1"),
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("--nproc 2 does not apply to xor") == 1, done.stderr
    assert not (tmp_path / "runs").exists()
