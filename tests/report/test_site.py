"""``axon.report.build`` without a browser: escaping, bad records, nulls, order, figures,
atomic writes. The pages are read back with the standard library's HTML parser."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from axon.report import RecordWarning, build, find_runs, read_record, site
from axon.report.charts import charts, families
from tests.report.records import write_record

HOSTILE = '</script><script>alert("x")</script> & <b>'


class Page(HTMLParser):
    """A page's text, its JSON data block and every local link (src and href)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.text, self.links, self.data, self._in_data = [], [], None, False
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[k] for k in ("src", "href") if k in attrs]
        self._in_data = tag == "script" and attrs.get("id") == "axon-data"

    def handle_endtag(self, tag):
        self._in_data = False

    def handle_data(self, data):
        if self._in_data:
            self.data = json.loads(data)
        else:
            self.text.append(data)


def test_every_text_from_a_record_is_escaped(tmp_path):
    write_record(
        tmp_path / "runs" / "lenet",
        description=HOSTILE,
        command=HOSTILE,
        error=HOSTILE,
        metrics={HOSTILE: 1.0},
        claims=[{"text": HOSTILE, "verdict": "failed", "note": HOSTILE}],
        config={HOSTILE: HOSTILE},
        versions={"axon": HOSTILE},
        splits={HOSTILE: 3},
        history={HOSTILE: {"epoch": [1], HOSTILE: [0.5]}},
        status="error",
    )
    index = build(tmp_path / "runs", tmp_path / "site")
    for path in (index, tmp_path / "site" / "lenet.html"):
        html = path.read_text(encoding="utf-8")
        assert "<b>" not in html and 'alert("x")' not in html
        assert html.count("</script>") == html.count("<script")  # none closed early
    page = Page(tmp_path / "site" / "lenet.html")
    text = "".join(page.text)
    assert text.count(HOSTILE) == 10  # description, error, metric, claim, note, ...
    assert page.data["charts"][0]["tag"] == HOSTILE  # the JSON block reads back intact
    assert page.data["charts"][0]["series"][0]["name"] == HOSTILE


def test_json_for_script_never_closes_its_script():
    data = {"a": "</script><!-- & -->", "b": [None, 1.5]}
    text = site.json_for_script(data)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == data
    with pytest.raises(ValueError):
        site.json_for_script({"x": float("nan")})  # browsers' JSON.parse rejects NaN


def record_bytes(**fields) -> bytes:
    return json.dumps({"schema": 1, "experiment": "x", "status": "passed", **fields}).encode()


BAD = {
    "missing": (None, "no such file"),
    "unreadable": ("a folder", "unreadable"),
    "not-json": (b"{'schema': 1", "not JSON"),
    "not-utf8": (b'{"schema": 1, "experiment": "\xff"}', "not UTF-8"),
    "a-list": (b"[1, 2]", "not a run record"),
    "other-schema": (record_bytes(schema=2), "schema 2"),
    "no-experiment": (record_bytes(experiment=None), "'experiment'"),
    "bad-status": (record_bytes(status="ok"), "'status'"),
    "bad-metrics": (record_bytes(metrics=[1]), "'metrics'"),
    "bad-history": (record_bytes(history={"t": [0.5]}), "'history.t'"),
    "bad-verdict": (record_bytes(claims=[{"text": "t"}]), "'claims[0].verdict'"),
    "bad-seconds": (record_bytes(seconds="1 min"), "'seconds'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_record_is_skipped_with_a_warning_naming_its_file(tmp_path, case):
    content, why = BAD[case]
    runs = tmp_path / "runs"
    write_record(runs / "lenet")
    record = runs / case / "results.json"
    record.parent.mkdir(parents=True)
    if content == "a folder":
        record.mkdir()
    elif content is not None:
        record.write_bytes(content)
    with pytest.warns(RecordWarning) as caught:
        index = build(runs, tmp_path / "site")
    (warning,) = caught
    message = str(warning.message)
    assert str(record) in message and why in message and "\n" not in message
    assert [run.name for run in find_runs([runs / "lenet"])] == ["lenet"]
    assert (tmp_path / "site" / "lenet.html").exists()
    assert not (tmp_path / "site" / f"{case}.html").exists()
    assert "lenet.html" in Page(index).links


def test_a_missing_path_is_skipped_with_a_warning(tmp_path):
    with pytest.warns(RecordWarning, match="nowhere: no such run folder"):
        index = build([tmp_path / "nowhere"], tmp_path / "site")
    assert "0 runs: no runs found" in "".join(Page(index).text)


def test_null_values_stay_null_and_show_as_missing(tmp_path):
    history = {"fit": {"epoch": [1, 2, 3], "loss": [0.9, None, 0.5], "val_loss": [None] * 3}}
    write_record(
        tmp_path / "runs" / "xor",
        experiment="xor",
        metrics={"test loss": None},
        history=history,
        seconds=None,
    )
    run = read_record(tmp_path / "runs" / "xor" / "results.json")
    assert run.history == history and run.metrics == {"test loss": None}
    build(tmp_path / "runs", tmp_path / "site")
    page = Page(tmp_path / "site" / "xor.html")
    (chart,) = page.data["charts"]
    assert chart["series"] == [
        {"name": "loss", "x": [1, 2, 3], "y": [0.9, None, 0.5]},
        {"name": "val_loss", "x": [1, 2, 3], "y": [None, None, None]},
    ]
    text = "".join(page.text)
    assert "test lossn/a" in text and "durationunknown" in text


def test_an_odd_series_or_metric_does_not_hide_its_run(tmp_path):
    history = {"fit": {"epoch": [1, 2], "loss": [0.9, 0.5], "per_class": [[1, 2], [3, 4]]}}
    metrics = {"best": "adam", "converged": True, "accuracy": 0.75}
    write_record(tmp_path / "runs" / "x", history=history, metrics=metrics)
    with pytest.warns(RecordWarning, match=r"results.json: series 'history.fit.per_class'"):
        build(tmp_path / "runs", tmp_path / "site")
    page = Page(tmp_path / "site" / "x.html")
    assert [chart["family"] for chart in page.data["charts"]] == ["loss"]
    assert "bestadam" in "".join(page.text) and "convergedtrue" in "".join(page.text)


def test_nan_written_by_python_reads_as_null(tmp_path):
    record = tmp_path / "results.json"
    text = record_bytes(metrics={"loss": "NAN"}, history={"t": {"loss": ["INF", 1]}}).decode()
    record.write_text(text.replace('"NAN"', "NaN").replace('"INF"', "Infinity"))
    run = read_record(record)
    assert run.metrics == {"loss": None} and run.history == {"t": {"loss": [None, 1]}}


def test_charts_group_each_metric_with_its_val_twin_loss_first():
    assert families(["epoch", "accuracy", "loss", "val_accuracy", "val_loss", "lr"]) == [
        "loss",
        "accuracy",
        "lr",
    ]
    specs = charts({"a": {"accuracy": [0.5, 0.7], "loss": [2.0, 1.0]}, "b": {"val_bleu": [9]}})
    assert [(c["title"], [s["name"] for s in c["series"]]) for c in specs] == [
        ("loss (a)", ["loss"]),
        ("accuracy (a)", ["accuracy"]),
        ("bleu (b)", ["val_bleu"]),
    ]
    assert specs[0]["series"][0]["x"] == [1, 2]  # no epochs recorded: 1, 2, ...


def test_runs_follow_the_course_then_others_by_name(tmp_path):
    runs = tmp_path / "runs"
    for folder, experiment in [
        ("zeta", "zeta"),
        ("lenet", "lenet"),
        ("alpha", "alpha"),
        ("xor", "xor"),
        ("lenet-quick", "lenet"),
        ("word2vec", "word2vec"),
    ]:
        write_record(runs / folder, experiment=experiment)
    order = [run.name for run in find_runs([runs])]
    assert order == ["xor", "lenet", "lenet-quick", "word2vec", "alpha", "zeta"]
    index = build(runs, tmp_path / "site")
    pages = [link for link in Page(index).links if link.endswith(".html")]
    assert list(dict.fromkeys(pages)) == [f"{name}.html" for name in order]


def test_figures_are_copied_and_the_site_moves_as_one_folder(tmp_path):
    runs = tmp_path / "runs"
    write_record(runs / "lenet", drawn=("curves.png", "sub/filters.png"))
    write_record(runs / "xor", experiment="xor")  # no figures
    build(runs, tmp_path / "site")
    moved = shutil.move(tmp_path / "site", tmp_path / "elsewhere" / "site")
    shutil.rmtree(runs)  # nothing may point back at the runs
    for page in Path(moved).glob("*.html"):
        for link in Page(page).links:
            assert "://" not in link, f"{page.name} links outside the site: {link}"
            assert (Path(moved) / link).is_file(), f"{page.name}: {link} is missing"
    lenet = Page(Path(moved) / "lenet.html").links
    assert "lenet/curves.png" in lenet and "lenet/sub/filters.png" in lenet
    assert not [link for link in Page(Path(moved) / "xor.html").links if link.endswith(".png")]
    assert "no figure" in "".join(Page(Path(moved) / "index.html").text)


@pytest.mark.parametrize(
    ("figure", "why"),
    [("gone.png", "no such file"), ("../secret.png", "not a path inside"), ("/etc/hosts", "not a")],
)
def test_a_figure_that_is_missing_or_outside_its_run_is_skipped(tmp_path, figure, why):
    runs = tmp_path / "runs"
    (tmp_path / "runs" / "secret.png").parent.mkdir(parents=True)
    (tmp_path / "runs" / "secret.png").write_bytes(b"not for the site")
    write_record(runs / "lenet", drawn=("ok.png",), figures=[figure])
    with pytest.warns(RecordWarning, match=why) as caught:
        build(runs / "lenet", tmp_path / "site")
    assert figure in str(caught[0].message) and "results.json" in str(caught[0].message)
    assert Page(tmp_path / "site" / "lenet.html").links.count("lenet/ok.png") == 1
    assert sorted(p.name for p in (tmp_path / "site" / "lenet").iterdir()) == ["ok.png"]


def test_a_crash_while_writing_leaves_the_previous_index_whole(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    write_record(runs / "lenet")
    index = build(runs, tmp_path / "site")
    before = index.read_bytes()
    write_record(runs / "xor", experiment="xor")

    write_text = Path.write_text

    def crash(path, text, **kwargs):
        if "index.html" not in path.name:
            return write_text(path, text, **kwargs)
        write_text(path, text[: len(text) // 2], **kwargs)  # half the index, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", crash)
    with pytest.raises(KeyboardInterrupt):
        build(runs, tmp_path / "site")
    monkeypatch.undo()
    assert index.read_bytes() == before
    assert [p.name for p in (tmp_path / "site").rglob("*.tmp")] == []


def test_slugs_are_safe_unique_file_names(tmp_path):
    runs = [
        read_record(write_record(tmp_path / name, experiment="x"))
        for name in ("index", "a b", "A-b", "_assets")
    ]
    assert site.slugs(runs) == ["index-2", "a-b", "A-b-2", "assets"]


def test_the_index_headlines_results_first():
    metrics = {"seed": 0, "val_loss": 0.2, "parameters": 13002, "test accuracy": 0.95, "x": 1}
    assert site.headline(metrics) == [("test accuracy", 0.95), ("val_loss", 0.2), ("seed", 0)]
    assert site.headline({"a": 1.0}) == [("a", 1.0)]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "unknown"), (0.42, "0.4 s"), (192.4, "3 min 12 s"), (3900, "1 h 05 min")],
)
def test_durations_read_as_a_person_says_them(seconds, text):
    assert site.duration(seconds) == text
