"""``axon report`` and ``axon tour`` through ``axon.report.commands`` (cli.py adds them);
the tour's runs are faked by replacing ``axon.cli.main``, except in one slow test."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import pytest

import axon.cli
from axon.report import COURSE_ORDER, commands, find_runs
from tests.report.records import write_record

PACKAGE = Path(commands.__file__).parent


def test_report_builds_the_site_and_prints_the_index_to_open(tmp_path, capsys):
    write_record(tmp_path / "runs" / "lenet")
    out = tmp_path / "site"
    assert commands.main(["report", str(tmp_path / "runs"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == f"Report: {(out / 'index.html').resolve()}"
    assert (out / "lenet.html").is_file()


def test_report_reads_runs_and_writes_report_by_default(tmp_path, monkeypatch, capsys):
    parser = argparse.ArgumentParser(prog="axon")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")  # beside the axon command's own
    commands.add_parsers(sub)
    args = parser.parse_args(["report"])
    assert (args.runs, args.out) == ([Path("runs")], Path("report"))
    monkeypatch.chdir(tmp_path)
    write_record(Path("runs") / "xor", experiment="xor")
    write_record(Path("runs") / "lenet")
    assert commands.main(args) == 0
    assert [run.name for run in find_runs(["runs"])] == ["xor", "lenet"]
    assert (tmp_path / "report" / "xor.html").is_file()
    assert str(tmp_path / "report" / "index.html") in capsys.readouterr().out


def test_report_of_a_folder_that_does_not_exist_exits_2(tmp_path, capsys):
    assert commands.main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such run folder" in err and "nope" in err
    assert not (tmp_path / "s").exists()


def test_report_says_which_records_it_skipped_one_line_each(tmp_path, capsys):
    write_record(tmp_path / "runs" / "lenet")
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "results.json").write_text("{")
    assert commands.main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "s")]) == 0
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("axon report: warning: skipped ") and "broken" in line


class FakeRuns:
    """Stands in for ``axon.cli.main``: records each command; a run writes a record and
    returns 0, except those listed in ``outcomes`` (1 with a failed record, 2 with none,
    or an exception)."""

    def __init__(self, outcomes: dict[str, object]) -> None:
        self.outcomes, self.calls = outcomes, []

    def __call__(self, argv: list[str]) -> int:
        self.calls.append(list(argv))
        name, out = argv[1], Path(argv[argv.index("--out") + 1])
        outcome = self.outcomes.get(name, 0)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome in (0, 1):
            write_record(out, experiment=name, status="passed" if outcome == 0 else "failed")
        return outcome


def test_tour_runs_the_course_in_order_and_goes_on_after_failures(tmp_path, monkeypatch, capsys):
    fake = FakeRuns({"lenet": 1, "parity": RuntimeError("boom"), "translate": 2})
    monkeypatch.setattr(axon.cli, "main", fake)
    runs, out, data = tmp_path / "runs", tmp_path / "site", tmp_path / "data"
    argv = ["tour", "--quick", "--out", str(out), "--runs", str(runs)]
    status = commands.main([*argv, "--data-dir", str(data), "--seed", "3"])
    assert status == 1
    assert fake.calls == [
        ["run", name, "--out", str(runs / name), "--seed", "3", "--quick", "--data-dir", str(data)]
        for name in COURSE_ORDER
    ]
    captured = capsys.readouterr()
    n = len(COURSE_ORDER)
    assert f"axon tour [4/{n}]: lenet failed (a claim did not hold)" in captured.out
    assert (
        "parity error (it raised)" in captured.out
        and "parity raised RuntimeError: boom" in captured.err
    )
    assert "translate error (exit status 2)" in captured.out
    assert f"axon tour: {n - 3} of {n} runs passed" in captured.out
    assert str(runs / "translate") in captured.err  # its record is missing: said so
    assert captured.out.strip().endswith(f"Report: {(out / 'index.html').resolve()}")
    shown = [run.name for run in find_runs([runs])]
    assert shown == [name for name in COURSE_ORDER if name not in ("parity", "translate")]
    assert (out / "lenet.html").is_file()


def test_tour_exits_0_when_every_run_passed(tmp_path, monkeypatch, capsys):
    fake = FakeRuns({})
    monkeypatch.setattr(axon.cli, "main", fake)
    args = ["tour", "--out", str(tmp_path / "site"), "--runs", str(tmp_path / "runs")]
    assert commands.main(args) == 0
    assert [call[1] for call in fake.calls] == list(COURSE_ORDER)
    assert all("--quick" not in call and "--data-dir" not in call for call in fake.calls)
    assert capsys.readouterr().err == ""


def test_the_report_package_imports_only_the_standard_library():
    """No matplotlib or selenium (or NumPy) at import: axon.cli is imported only inside
    the tour, when it runs."""
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # the module level
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [] if node.level else [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path, module)


@pytest.mark.slow
def test_tour_quick_for_real_over_a_few_experiments(tmp_path, capsys):
    runs, out = tmp_path / "runs", tmp_path / "site"
    assert commands.tour(out, runs, quick=True, names=("xor", "boolean")) == 0
    assert [run.name for run in find_runs([runs])] == ["xor", "boolean"]
    assert all(run.status == "passed" and run.claims for run in find_runs([runs]))
    assert "axon tour: 2 of 2 runs passed" in capsys.readouterr().out
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="xor.html"' in index and 'href="boolean.html"' in index
    assert list((out / "xor").glob("*.png"))  # its figures, copied
