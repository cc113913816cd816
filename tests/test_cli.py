"""The ``axon`` command, mostly through ``main([...])``; one real subprocess."""

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
