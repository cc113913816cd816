"""The run record ``OUT/results.json`` that every ``axon run`` writes, and the tables of
default training (``TRAINING``) and full-run durations (``DURATION``) the CLI reads.

The records are read back with ``json.loads`` (refusing NaN and Infinity, which browsers'
parsers reject) and checked against what the run printed, the files on disk and the
History objects that ``fit`` returned.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import json
import math
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

import axon as ax
from axon import lab, nn, optim
from axon.cli import main
from axon.lab import Entry, Result
from axon.lab import registry as reg
from axon.lab.shared.base import Config, backup
from axon.train.base import Callback

REGISTRY = reg._REGISTRY["experiment"]


def read_record(out: Path) -> dict:
    """The record in ``out``, parsed as a browser would: NaN or Infinity is an error."""

    def refuse(token: str):
        raise AssertionError(f"{out / 'results.json'} holds {token}, which is not JSON")

    text = (out / "results.json").read_text(encoding="utf-8")
    return json.loads(text, parse_constant=refuse)


def printed(out: str, section: str) -> list[str]:
    """The indented lines of a section ("Claims", "Figures") of a run's printed report."""
    lines = out.splitlines()
    start = len(lines) - 1 - lines[::-1].index(section)
    rest = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        rest.append(line[2:])
    return rest


def all_numbers(value) -> list:
    """Every number in a JSON value, nested."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in all_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in all_numbers(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


# ----------------------------------------------------------------------------- a quick real run
def test_xor_quick_writes_a_record_of_what_it_printed(tmp_path, capsys):
    out = tmp_path / "xor"
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    assert main(["run", "xor", "--quick", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    rec = read_record(out)

    assert rec["schema"] == 1 and rec["experiment"] == "xor"
    assert rec["description"] == lab.get("xor").description
    assert shlex.split(rec["command"]) == ["axon", "run", "xor", "--quick", "--out", str(out)]
    assert rec["config"] == {
        "seed": 0,
        "quick": True,
        "epochs": None,
        "data_dir": None,
        "prompt": None,
        "weights": None,
        "resume": False,
        "nproc": 1,
        "device": "cpu",
    }
    assert rec["seed"] == 0
    assert set(rec["versions"]) == {"axon", "python", "numpy", "matplotlib", "platform"}
    assert rec["versions"]["axon"] == ax.__version__ and rec["versions"]["numpy"] == np.__version__
    started = datetime.datetime.fromisoformat(rec["started"])
    assert started.utcoffset() == datetime.timedelta(0)
    assert before <= started <= datetime.datetime.now(datetime.UTC)
    assert 0 < rec["seconds"] < 600
    assert rec["status"] == "passed" and rec["error"] is None

    claims = [f"[PASS] {c['text']}" for c in rec["claims"] if c["verdict"] == "held"]
    assert claims == printed(shown, "Claims") and len(claims) == len(rec["claims"]) >= 4
    assert [str(out / f) for f in rec["figures"]] == printed(shown, "Figures")
    for figure in rec["figures"]:
        assert not Path(figure).is_absolute()
        assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rec["metrics"] and all(math.isfinite(v) for v in all_numbers(rec["metrics"]))
    assert rec["history"] == {}  # xor trains in a loop of its own, not with fit
    assert "splits" not in rec


@pytest.mark.slow  # about 8 s of CPU (two models, seven figures)
def test_digits_quick_records_the_history_of_each_fit(tmp_path, capsys):
    out = tmp_path / "digits"
    assert main(["run", "digits", "--quick", "--out", str(out)]) == 0
    rec = read_record(out)
    assert rec["status"] == "passed"
    assert set(rec["history"]) == {"digits-mlp", "digits-cnn"}
    for logs in rec["history"].values():
        assert logs["epoch"] == list(range(1, reg.TRAINING["digits"].quick + 1))
        assert all(len(v) == len(logs["epoch"]) for v in logs.values())
        assert all(math.isfinite(v) for v in all_numbers(logs))
    for figure in rec["figures"]:
        assert (out / figure).is_file()


# ----------------------------------------------------------------------------- fits' histories
class Crash(Callback):
    """Raises at the end of epoch ``at`` (0-based), before the backup of that epoch."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if epoch == self.at:
            raise RuntimeError(f"crash at epoch {epoch + 1}\nsecond line")


def two_fits(histories: list, crash_at: int | None = None):
    """A fake experiment: two small fits backed up under their tags (4 epochs, then 2),
    the Histories ``fit`` returned kept in ``histories``; the first fit raises at the end
    of epoch ``crash_at`` when given."""

    def run(config: Config) -> Result:
        result = Result("two-fits")
        rng = np.random.default_rng(config.seed)
        x = rng.normal(size=(64, 4)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64)
        for tag, epochs in (("two-fits-a", 4), ("two-fits-b", 2)):
            ax.manual_seed(config.seed)
            model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
            history = ax.fit(
                model,
                (x, y),
                loss="cross_entropy",
                optimizer=optim.SGD(model.parameters(), lr=0.1),
                epochs=epochs,
                batch_size=16,
                validation=(x, y),
                metrics=["accuracy"],
                callbacks=[*backup(config, tag), Crash(crash_at if tag.endswith("a") else None)],
                verbose=0,
            )
            histories.append(history)
        result.check("trained", True)
        return result

    return run


def register_fake(monkeypatch, name: str, run) -> None:
    monkeypatch.setitem(REGISTRY, name, Entry(name, f"a fake experiment ({name})", run))


def test_the_history_holds_every_epoch_of_every_fit_as_fit_returned_it(
    tmp_path, monkeypatch, capsys
):
    histories: list = []
    register_fake(monkeypatch, "two-fits", two_fits(histories))
    assert main(["run", "two-fits", "--out", str(tmp_path)]) == 0
    rec = read_record(tmp_path)
    assert list(rec["history"]) == ["two-fits-a", "two-fits-b"]
    for (tag, logs), history in zip(rec["history"].items(), histories, strict=True):
        assert (
            logs["epoch"]
            == [e + 1 for e in history.epoch]
            == list(range(1, len(logs["epoch"]) + 1))
        )
        assert set(logs) == {"epoch", *history.history} >= {"loss", "val_loss", "accuracy"}
        for key, values in history.history.items():
            assert logs[key] == pytest.approx(values, rel=1e-15), (tag, key)
    assert len(rec["history"]["two-fits-a"]["epoch"]) == 4


def test_a_run_that_raises_writes_status_error_and_a_resumed_run_a_complete_history(
    tmp_path, monkeypatch, capsys
):
    """The first run raises at the end of epoch 3 of its first fit: its record says so
    in one line (the fit had not ended: no history). ``--resume`` continues from the
    backup of epoch 2; its record holds all 4 epochs, the same numbers as a run never
    stopped."""
    out = tmp_path / "run"
    register_fake(monkeypatch, "two-fits", two_fits([], crash_at=2))
    with pytest.raises(RuntimeError, match="crash at epoch 3"):
        main(["run", "two-fits", "--out", str(out)])
    rec = read_record(out)
    assert rec["status"] == "error" and rec["error"] == "RuntimeError: crash at epoch 3"
    assert rec["claims"] == [] and rec["history"] == {} and rec["figures"] == []

    register_fake(monkeypatch, "two-fits", two_fits([]))
    assert main(["run", "two-fits", "--out", str(out), "--resume"]) == 0
    assert "resuming two-fits-a from epoch 3" in capsys.readouterr().out
    resumed = read_record(out)
    assert main(["run", "two-fits", "--out", str(tmp_path / "straight")]) == 0
    straight = read_record(tmp_path / "straight")
    assert resumed["status"] == "passed" and resumed["config"]["resume"] is True
    assert resumed["history"]["two-fits-a"]["epoch"] == [1, 2, 3, 4]
    assert resumed["history"] == straight["history"]  # to the same bits


def test_non_finite_numbers_are_written_as_null(tmp_path, monkeypatch, capsys):
    def odd(config: Config) -> Result:
        result = Result("odd")
        result.metrics.update(nan=float("nan"), inf=-np.inf, half=np.float32(0.5), n=np.int64(3))
        result.splits.update(train=np.int64(10), test=4)
        result.check("a claim", np.bool_(True))
        return result

    register_fake(monkeypatch, "odd", odd)
    assert main(["run", "odd", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    rec = read_record(tmp_path)
    assert rec["metrics"] == {"nan": None, "inf": None, "half": 0.5, "n": 3}
    assert rec["splits"] == {"train": 10, "test": 4}
    assert rec["claims"] == [{"text": "a claim", "verdict": "held", "note": None}]


# ----------------------------------------------------------------------------- the tables
def reads_epochs(source: str) -> bool:
    return "config.epochs" in source or "epochs_for(config" in source


def registered(source: str) -> list[str]:
    return re.findall(r'@register\(\s*"([^"]+)"', source)


def test_every_experiment_that_reads_epochs_has_its_default_training():
    readers = set()
    for module in reg.experiment_modules():
        source = inspect.getsource(importlib.import_module(f"axon.lab.{module}"))
        if reads_epochs(source):
            readers.update(registered(source))
    assert readers == set(reg.TRAINING), (
        f"missing from TRAINING: {sorted(readers - set(reg.TRAINING))}; "
        f"in TRAINING but never reading --epochs: {sorted(set(reg.TRAINING) - readers)}"
    )
    assert set(reg.DURATION) <= set(lab.names())
    assert all(
        t.full > 0 and t.quick > 0 and t.unit in ("epoch", "step") for t in reg.TRAINING.values()
    )


#: The modules whose defaults sit in their FULL / QUICK tables, and the key.
TABLES = {
    "next-word": "epochs",
    "pos-tagging": "epochs",
    "sentiment": "epochs",
    "shakespeare": "epochs",
    "transformer-lm": "epochs",
    "translate": "epochs",
    "reverse": "epochs",
    "word2vec": "epochs",
    "masked-lm": "ft_epochs",
    "transfer": "pretrain_epochs",
}
#: ``epochs = config.epochs or (QUICK if config.quick else FULL)``, written in the module.
INLINE = re.compile(r"config\.epochs or \((\d+) if (?:config\.)?quick else (\d+)\)")


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_default_training_is_the_modules_own_table(name):
    module = importlib.import_module(f"axon.lab.{name.replace('-', '_')}")
    key = TABLES[name]
    assert (reg.TRAINING[name].full, reg.TRAINING[name].quick) == (
        module.FULL[key],
        module.QUICK[key],
    )


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("digits", "digits"),
        ("lenet", "mnist"),
        ("mnist-mlp", "mnist"),
        ("fashion", "fashion"),
        ("classic-vs-nn", "classic_vs_nn"),
        ("paradigms", "paradigms"),
        ("layerwise-pretraining", "layerwise"),
        ("functional", "functional_models"),
    ],
)
def test_the_default_training_is_written_in_the_module(name, module):
    """The longest of the module's ``config.epochs or (Q if quick else F)`` (where it
    trains several models: functional), or the one whose run registers ``name``."""
    source = inspect.getsource(importlib.import_module(f"axon.lab.{module}"))
    found = [(int(f), int(q)) for q, f in INLINE.findall(source)]
    assert (reg.TRAINING[name].full, reg.TRAINING[name].quick) in found, found
    assert reg.TRAINING[name].full == max(f for f, _ in found) or len(registered(source)) > 1


def test_undertrained_says_how_far_short_the_run_fell(monkeypatch):
    monkeypatch.setitem(reg.TRAINING, "fake", reg.Training(12, 2))
    monkeypatch.setitem(reg.TRAINING, "fake-steps", reg.Training(2000, 500, "step"))
    assert reg.undertrained("fake", 1, quick=False) == "not checked at 1 epoch (needs 12)"
    assert reg.undertrained("fake", 3, quick=False) == "not checked at 3 epochs (needs 12)"
    assert reg.undertrained("fake", 1, quick=True) == "not checked at 1 epoch (needs 2)"
    assert (
        reg.undertrained("fake-steps", 100, quick=False) == "not checked at 100 steps (needs 2000)"
    )
    for epochs, quick in ((None, False), (12, False), (20, False), (2, True)):
        assert reg.undertrained("fake", epochs, quick) is None
    assert reg.undertrained("xor", 1, quick=False) is None  # xor has no --epochs


def test_the_expected_duration_scales_with_the_epochs(monkeypatch):
    monkeypatch.setitem(reg.TRAINING, "fake", reg.Training(12, 2))
    monkeypatch.setitem(reg.DURATION, "fake", 360)
    line = "expected duration: about {} on a 2-core machine ({})"
    assert reg.expected_duration("fake", None) == line.format("6 minutes", "full run")
    assert reg.expected_duration("fake", 12) == line.format("6 minutes", "full run")
    assert reg.expected_duration("fake", 1) == line.format("30 seconds", "1 epoch instead of 12")
    assert reg.expected_duration("fake", 24) == line.format("12 minutes", "24 epochs instead of 12")
    assert reg.expected_duration("no-such-experiment", None) is None
