"""The ``axon`` command, mostly through ``main([...])``; one real subprocess."""

import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import axon as ax
from axon import lab
from axon.cli import _parser, main
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


def test_list_marks_the_experiments_that_take_device(capsys):
    """The experiments of ON_DEVICE, and only they, carry the mark before their
    description; the worksheets carry none."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "those marked * take --device DEVICE" in out
    experiments, worksheets = out.split("Worksheets (")  # xor is both

    def before_description(entry, listing: str) -> str:  # the name and the mark, if any
        line = next(x for x in listing.splitlines() if x.startswith(f"  {entry.name} "))
        return line.split(entry.description)[0].strip()

    shown = {e.name: before_description(e, experiments) for e in lab.entries("experiment")}
    assert {name for name, text in shown.items() if text.endswith("*")} == set(lab.ON_DEVICE)
    assert all(text == name or text.endswith("*") for name, text in shown.items())
    assert all(before_description(e, worksheets) == e.name for e in lab.entries("worksheet"))


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
    assert "expected duration" not in out  # said by full runs only
    run = tmp_path / "runs" / "boolean"
    assert (run / "boolean_perceptrons.png").exists()
    record = json.loads((run / "results.json").read_text())
    assert record["experiment"] == "boolean" and record["seed"] == 3
    assert record["figures"] == ["boolean_perceptrons.png"]

    # axon report: the default ./runs becomes a site whose index links the run's page
    assert main(["report", "--out", "site"]) == 0
    index = tmp_path / "site" / "index.html"
    assert str(index) in capsys.readouterr().out
    assert 'href="boolean.html"' in index.read_text(encoding="utf-8")
    assert (tmp_path / "site" / "boolean" / "boolean_perceptrons.png").is_file()


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


# ----------------------------------------------------------------------------- --device
def test_device_is_parsed_as_axon_device_parses_it(capsys):
    def device(*argv):
        return _parser().parse_args(["run", "lenet", *argv]).device

    assert device() == "cpu"
    assert device("--device", "cuda") == "cuda" and device("--device", "cuda:1") == "cuda:1"
    with pytest.raises(SystemExit) as exc:
        device("--device", "gpu")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --device: Expected one of cpu, cuda," in err and "string: gpu" in err


def test_device_is_refused_for_an_experiment_on_the_cpu_only(tmp_path, capsys):
    assert main(["run", "xor", "--quick", "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert one_error_line(capsys) == (
        "axon: error: --device cuda does not apply to xor: it trains on the CPU only "
        f"(--device applies to {', '.join(sorted(lab.ON_DEVICE))})"
    )
    assert not (tmp_path / "o").exists()  # refused before anything ran
    assert {"lenet", "mnist-mlp", "fashion", "digits"} <= lab.ON_DEVICE <= set(lab.names())
    # a device and several processes do not combine: MPI exchanges host arrays
    assert main(["run", "lenet", "--nproc", "2", "--device", "cuda"]) == 2
    assert one_error_line(capsys).startswith(
        "axon: error: --device cuda does not combine with --nproc: "
    )


def test_device_cpu_is_accepted_by_every_experiment(tmp_path, capsys):
    assert main(["run", "boolean", "--quick", "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "results.json").read_text())["config"]["device"] == "cpu"


@pytest.mark.skipif(ax.cuda.is_available(), reason="CuPy and a GPU are here: cuda is there")
def test_device_cuda_without_cupy_is_one_line_saying_what_is_missing(tmp_path, capsys):
    missing = "CuPy" if importlib.util.find_spec("cupy") is None else "GPU"
    out = tmp_path / "o"
    assert main(["run", "digits", "--quick", "--device", "cuda", "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert line.startswith("axon: error: --device cuda: ") and missing in line, line
    assert not out.exists()  # refused before anything ran
    assert main(["run", "digits", "--device", "cuda:0", "--debug", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "DeviceUnavailableError" in err
    assert err.rstrip().splitlines()[-1].startswith("axon: error: --device cuda:0: ")


def test_help_says_what_device_applies_to(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--device DEVICE" in out and "cuda:N" in out
    assert f"applies to {', '.join(sorted(lab.ON_DEVICE))};" in out


# ----------------------------------------------------------------------------- claims, duration
def fake_experiment(monkeypatch, training):
    """An experiment "short" with one claim that holds and one that fails, trained (the
    table says) ``training`` epochs by default."""

    def short(config):
        r = Result("short")
        r.check("the loss fell", True)
        r.check("99% test accuracy", False)
        return r

    monkeypatch.setitem(lab.registry._REGISTRY["experiment"], "short", Entry("short", "", short))
    monkeypatch.setitem(lab.registry.TRAINING, "short", training)


def test_a_claim_failed_at_fewer_epochs_than_the_default_is_not_checked(
    tmp_path, monkeypatch, capsys
):
    fake_experiment(monkeypatch, lab.registry.Training(12, 2))
    assert main(["run", "short", "--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "  [PASS] the loss fell\n" in out
    assert "  [NOT CHECKED] 99% test accuracy (not checked at 1 epoch (needs 12))\n" in out
    assert out.splitlines()[-1].startswith(
        "short: 1 of 2 claims not checked: the run trained 1 epoch, they need 12 (run "
        "without --epochs to check them); the other 1 hold ("
    )
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["status"] == "passed"
    assert record["claims"] == [
        {"text": "the loss fell", "verdict": "held", "note": None},
        {
            "text": "99% test accuracy",
            "verdict": "not checked",
            "note": "not checked at 1 epoch (needs 12)",
        },
    ]
    # the quick run's own default is what counts with --quick; at the default it fails
    assert main(["run", "short", "--quick", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert "(not checked at 1 epoch (needs 2))" in capsys.readouterr().out
    for argv in (["--epochs", "12"], ["--quick", "--epochs", "2"], []):
        assert main(["run", "short", *argv, "--out", str(tmp_path)]) == 1
        out = capsys.readouterr().out
        assert "  [FAIL] 99% test accuracy\n" in out and "A CLAIM FAILED" in out
        assert json.loads((tmp_path / "results.json").read_text())["status"] == "failed"


def test_a_full_run_says_how_long_it_should_take(tmp_path, capsys):
    assert set(lab.names()) <= set(lab.registry.DURATION)  # every experiment has its figure
    assert main(["run", "boolean", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("axon run boolean: ") and set(lines[1]) == {"="}
    assert re.fullmatch(
        r"expected duration: about \d+ (seconds|minutes) on a 2-core machine \(full run\)",
        lines[2],
    )
    # a quick run does not say it: test_run_writes_figures_under_runs_name_by_default


# ----------------------------------------------------------------------------- errors in one line
def test_a_data_dir_that_does_not_exist_is_an_error_not_a_fallback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AXON_DATA_DIR", str(tmp_path))  # would hold the data
    missing = tmp_path / "no-such-folder"
    out = tmp_path / "out"
    assert main(["run", "lenet", "--quick", "--data-dir", str(missing), "--out", str(out)]) == 2
    assert one_error_line(capsys) == (
        f"axon: error: --data-dir {missing} does not exist: give the folder that holds the datasets"
    )
    assert not out.exists()  # refused before anything ran
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["run", "lenet", "--quick", "--data-dir", str(afile), "--out", str(out)]) == 2
    assert f"--data-dir {afile} is not a folder" in one_error_line(capsys)


@pytest.mark.parametrize("where", ["under a file", "/proc"])
def test_an_out_folder_that_cannot_be_written_is_one_line(where, tmp_path, capsys):
    if where == "/proc" and not Path("/proc/self").is_dir():
        pytest.skip("no /proc on this system")
    (tmp_path / "afile").write_text("")
    out = tmp_path / "afile" / "run" if where == "under a file" else Path("/proc/axon-test-out")
    assert main(["run", "boolean", "--quick", "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"axon: error: cannot write the run's folder {out} (")
    assert line.endswith("): choose another with --out DIR")


def mnist_folder(tmp_path: Path, content: bytes) -> Path:
    """A data folder whose MNIST training images (read first) are ``content``."""
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(content)
    return folder.parent


def test_a_cut_short_dataset_file_is_one_line_naming_it_and_what_to_do(tmp_path, capsys):
    whole = gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 4000)
    data = mnist_folder(tmp_path, whole[: len(whole) // 2])  # a download cut short
    out = tmp_path / "out"
    assert main(["run", "lenet", "--quick", "--data-dir", str(data), "--out", str(out)]) == 2
    line = one_error_line(capsys)
    image_file = data / "mnist" / "train-images-idx3-ubyte.gz"
    assert line.startswith(f"axon: error: {image_file}: size is {len(whole) // 2:,} bytes, ")
    assert "expected 9,912,422" in line and "delete it" in line
    record = json.loads((out / "results.json").read_text())
    assert record["status"] == "error" and str(image_file) in record["error"]


def test_a_dataset_file_with_the_wrong_checksum_is_one_line_and_debug_shows_the_traceback(
    tmp_path, capsys
):
    data = mnist_folder(tmp_path, bytes(9_912_422))  # the right size, the wrong bytes
    argv = ["run", "lenet", "--quick", "--data-dir", str(data), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"axon: error: {data / 'mnist' / 'train-images-idx3-ubyte.gz'}: ")
    assert "SHA-256 mismatch: expected 440fcabf" in line and "delete the file" in line
    assert main([*argv, "--debug"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "ChecksumError" in err
    assert err.splitlines()[-1] == line
