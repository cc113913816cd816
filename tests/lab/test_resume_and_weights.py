"""``axon run NAME --resume`` and ``--weights FILE`` (issue 14).

Resume: a run killed by SIGKILL in a child process (the ``AXON_TEST_KILL_AT_STEP`` hook of
:func:`axon.lab.shared.base.backup`), rerun with ``--resume``, ends with the same weights and
losses, bit for bit, as a run that was never stopped; at an epoch boundary and in the
middle of an epoch. Weights: refused with exit status 2 and one line where an experiment
cannot use them, honoured (the model is scored, not trained) where it can.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import axon as ax
from axon import lab, nn, optim
from axon.cli import main
from axon.lab import Entry, Result
from axon.lab.shared.base import (
    KILL_HOOK,
    Config,
    ResumableBatches,
    WeightsError,
    backup,
    backup_dir,
    load_weights,
    prepare_backups,
)
from tests.helpers import assert_equal
from tests.lab.test_text_experiments import corpora  # noqa: F401 (a fixture)
from tests.lab.test_vision_experiments import data_root, fake_data  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
TINY = "tiny-resume"


# ----------------------------------------------------------------------------- a tiny experiment
def tiny_run(config: Config) -> Result:
    """Two small MLPs with dropout trained one after the other on a sign-XOR task, as a
    training experiment does it: seeded, each fit backed up under its own tag (``a``
    at each epoch's end, ``b`` every 3 updates, so a kill lands mid-epoch); the
    weights and the epoch losses written to ``config.out``."""
    result = Result(TINY)
    rng = np.random.default_rng(config.seed)
    x = rng.normal(size=(240, 8)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    losses = {}
    for tag, every in (("a", "epoch"), ("b", 3)):
        ax.manual_seed(config.seed)
        model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))
        history = ax.fit(
            model,
            (x, y),
            loss="cross_entropy",
            optimizer=optim.Adam(model.parameters(), lr=1e-2),
            epochs=4,
            batch_size=32,
            callbacks=backup(config, f"{TINY}-{tag}", every),
            verbose=0,
        )
        losses[tag] = history["loss"]
        ax.save(model.state_dict(), Path(config.out) / f"{tag}.safetensors")
    (Path(config.out) / "losses.json").write_text(json.dumps(losses))
    result.check("trained", True)
    return result


def register_tiny() -> None:
    """Register :func:`tiny_run` (for the child process, which has no monkeypatch)."""
    lab.registry._REGISTRY["experiment"][TINY] = Entry(TINY, "test only", tiny_run)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(
        lab.registry._REGISTRY["experiment"], TINY, Entry(TINY, "test only", tiny_run)
    )
    monkeypatch.setattr(lab, "RESUMABLE", lab.RESUMABLE | {TINY})


def killed_run(out: Path, at: int) -> subprocess.CompletedProcess:
    """``axon run tiny-resume --out OUT`` in a child process that kills itself after its
    ``at``-th update."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from tests.lab.test_resume_and_weights import register_tiny; register_tiny(); "
        f"from axon.cli import main; sys.exit(main(['run', {TINY!r}, '--out', "
        f"{str(out)!r}]))"
    )
    env = dict(os.environ, **{KILL_HOOK: str(at)})
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def outputs(out: Path) -> tuple[dict, dict]:
    weights = {tag: ax.load(out / f"{tag}.safetensors") for tag in ("a", "b")}
    return weights, json.loads((out / "losses.json").read_text())


@pytest.mark.parametrize(
    ("at", "where"),
    [
        (20, "resuming tiny-resume-a from epoch 3, step 1"),  # a: 8 updates an epoch
        (32 + 13, "resuming tiny-resume-b from epoch 2, step 5"),  # b: backed up at update 12
    ],
)
def test_a_killed_run_resumes_to_the_same_bits(tiny, tmp_path, capsys, at, where):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    assert main(["run", TINY, "--out", str(straight)]) == 0
    killed = killed_run(broken, at)
    assert killed.returncode == -9, killed.stderr
    assert f"killed after update {at}" in killed.stdout
    assert (broken / ".backup").is_dir()
    capsys.readouterr()
    assert main(["run", TINY, "--out", str(broken), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "resuming tiny-resume from the backups in" in printed and where in printed
    (w1, l1), (w2, l2) = outputs(straight), outputs(broken)
    assert l1 == l2  # every epoch's loss, exactly
    for tag in w1:
        for name in w1[tag]:
            assert_equal(w2[tag][name], w1[tag][name])
    assert not (broken / ".backup").exists() or not any((broken / ".backup").iterdir())


def test_without_resume_a_leftover_backup_is_deleted_and_said_so(tiny, tmp_path, capsys):
    stale = backup_dir(Config(out=tmp_path), f"{TINY}-b")
    stale.mkdir(parents=True)
    (stale / "backup.safetensors").write_bytes(b"from an interrupted run")
    assert main(["run", TINY, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "holds the backup of an interrupted run (tiny-resume-b); starting over" in printed
    assert f"axon run {TINY} --resume" in printed
    assert not stale.exists()


def test_resume_without_a_backup_starts_from_the_beginning(tiny, tmp_path, capsys):
    assert main(["run", TINY, "--out", str(tmp_path), "--resume"]) == 0
    printed = capsys.readouterr().out
    for tag in ("a", "b"):  # each fit says so, once
        assert printed.count(f"tiny-resume-{tag}: no backup in") == 1
    assert "training it from the start" in printed
    assert "resuming tiny-resume-" not in printed


def test_resume_of_an_experiment_without_backups_says_it_starts_over(tmp_path, capsys):
    assert "boolean" not in lab.RESUMABLE
    prepare_backups("boolean", Config(out=tmp_path, resume=True), "boolean" in lab.RESUMABLE)
    assert "boolean keeps no backups" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the lab's loaders
class Draws(ResumableBatches):
    """Four batches an epoch, each three numbers drawn from the loader's own generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def _epoch(self):
        for _ in range(4):
            yield self.rng.integers(0, 1000, 3)


@pytest.mark.parametrize("taken", [0, 1, 3, 4])
def test_resumable_batches_continue_where_the_state_was_taken(taken):
    straight = Draws(7)
    first = list(straight)
    second = list(straight)
    loader = Draws(7)
    it = iter(loader)
    for _ in range(taken):
        next(it)
    if taken == 4:  # the epoch runs out
        assert next(it, None) is None
    state = json.loads(json.dumps(loader.state_dict()))  # plain values only
    fresh = Draws(123)
    fresh.load_state_dict(state)
    rest = list(fresh)
    expected = first[taken:] if taken < 4 else second
    assert len(rest) == len(expected)
    for got, want in zip(rest, expected, strict=True):
        assert_equal(got, want)
    if taken < 4:  # and the epoch after it is the straight run's second
        for got, want in zip(list(fresh), second, strict=True):
            assert_equal(got, want)


def test_resumable_batches_refuse_a_state_without_its_keys():
    with pytest.raises(KeyError, match="Draws.load_state_dict: missing finished"):
        Draws(0).load_state_dict({"epoch_rng": "", "rng": "", "yielded": 0})


# ----------------------------------------------------------------------------- --weights
def test_every_experiment_has_a_weights_decision_and_resumable_ones_exist():
    assert set(lab.WEIGHTS) == set(lab.names())
    assert lab.RESUMABLE <= set(lab.names())
    assert all(text.strip() for _, text in lab.WEIGHTS.values())
    long_ones = {
        "shakespeare",
        "next-word",
        "translate",
        "transformer-lm",
        "masked-lm",
        "lenet",
        "fashion",
    }
    assert long_ones <= lab.RESUMABLE


@pytest.mark.parametrize("name", ["xor", "translate", "spam", "digits"])
def test_weights_refused_where_they_cannot_apply(tmp_path, capsys, name):
    weights = tmp_path / "w.safetensors"
    ax.save({"w": ax.zeros(2)}, weights)
    assert (
        main(["run", name, "--quick", "--out", str(tmp_path / "out"), "--weights", str(weights)])
        == 2
    )
    captured = capsys.readouterr()
    line = captured.err.strip()
    assert "\n" not in line and "Traceback" not in captured.err
    assert line.startswith(f"axon: error: --weights does not apply to {name}: ")
    assert line.endswith(lab.WEIGHTS[name][1])
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_load_weights_names_the_file_and_the_model(tmp_path):
    model = nn.Linear(3, 2)
    assert load_weights(Config(out=tmp_path), model, "the model") is False
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_weights(Config(weights=tmp_path / "none.safetensors"), model, "the model")
    other = tmp_path / "other.safetensors"
    ax.save(nn.Linear(4, 2).state_dict(), other)
    with pytest.raises(WeightsError, match=r"other\.safetensors does not fit the model"):
        load_weights(Config(weights=other), model, "the model")


def test_weights_that_do_not_fit_exit_2_with_one_line(fake_data, tmp_path, capsys):  # noqa: F811
    weights = tmp_path / "w.safetensors"
    ax.save(nn.Linear(4, 2).state_dict(), weights)
    assert (
        main(
            [
                "run",
                "mnist-mlp",
                "--quick",
                "--data-dir",
                str(fake_data),
                "--out",
                str(tmp_path / "out"),
                "--weights",
                str(weights),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"axon: error: --weights {weights} does not fit the 784-16-16-10")
    assert "Traceback" not in err


def test_weights_replace_training_and_score_the_same_model(
    fake_data,  # noqa: F811
    tmp_path,
    capsys,
    monkeypatch,
):
    from axon.lab import mnist

    monkeypatch.setattr(mnist, "save_figures", lambda *args: None)  # not under test here

    trained = mnist.run_mlp(Config(out=tmp_path / "a", quick=True, epochs=1, data_dir=fake_data))
    saved = tmp_path / "a" / "mnist_mlp.safetensors"
    capsys.readouterr()
    loaded = mnist.run_mlp(
        Config(out=tmp_path / "b", quick=True, data_dir=fake_data, weights=saved, seed=5)
    )  # another seed: other initial weights
    printed = capsys.readouterr().out
    assert "weights loaded from" in printed and "not training it" in printed
    assert loaded.metrics["test_accuracy"] == trained.metrics["test_accuracy"]
    assert loaded.metrics["epochs"] == 0
    assert loaded.passed, loaded.claims
    assert not any("training loss fell" in text for text, _ in loaded.claims)
    for name, value in ax.load(tmp_path / "b" / "mnist_mlp.safetensors").items():
        assert_equal(value, ax.load(saved)[name])


# ----------------------------------------------------------------------------- real experiments
def timeless(metrics: dict) -> dict:
    """The metrics without the wall times (which no two runs share)."""
    return {k: v for k, v in metrics.items() if "seconds" not in k and "per_second" not in k}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "epochs", "at"),
    [
        ("digits", 3, 200),  # the MLP done (135 updates), the CNN killed in its 2nd epoch
        ("translate", None, 69 + 69 + 30),  # attention and plain done, the Transformer killed
    ],
)
def test_a_killed_experiment_resumes_to_the_same_results(tmp_path, name, epochs, at):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    expected = lab.run(name, Config(out=straight, quick=True, epochs=epochs))
    command = [sys.executable, "-m", "axon.cli", "run", name, "--quick", "--out", str(broken)]
    command += ["--epochs", str(epochs)] if epochs else []
    killed = subprocess.run(
        command,
        env=dict(os.environ, **{KILL_HOOK: str(at)}),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    resumed = lab.run(name, Config(out=broken, quick=True, epochs=epochs, resume=True))
    assert timeless(resumed.metrics) == timeless(expected.metrics)
    assert resumed.claims == expected.claims
    files = sorted(p.name for p in straight.glob("*.safetensors"))  # digits: both models
    assert files == sorted(p.name for p in broken.glob("*.safetensors"))
    for file in files:
        a, b = ax.load(straight / file), ax.load(broken / file)
        for key in a:
            assert_equal(b[key], a[key])


TEXT_KEYS = (
    "tinyshakespeare",
    "ptb.train",
    "ptb.valid",
    "ptb.test",
    "sst2.train",
    "sst2.dev",
    "ud.train",
    "ud.dev",
    "ud.test",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["shakespeare", "next-word", "transformer-lm", "sentiment", "pos-tagging", "masked-lm"]
)
def test_a_killed_text_experiment_resumes_to_the_same_results(
    corpora,  # noqa: F811
    tmp_path,
    monkeypatch,
    name,
):
    """The text experiments on the fake corpora of test_text_experiments: the child
    process reads them through the same patched checksum table."""
    from axon.data import text
    from axon.lab.shared.base import ResumeNote

    root, table = corpora
    for key, f in table.items():
        monkeypatch.setitem(text.FILES, key, f)
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    monkeypatch.setenv(KILL_HOOK, str(10**9))  # counts the updates, kills nothing
    before = ResumeNote.updates
    expected = lab.run(name, Config(out=straight, quick=True, data_dir=root))
    updates = ResumeNote.updates - before
    monkeypatch.delenv(KILL_HOOK)
    at = max(1, 3 * updates // 4)  # late: a backup of the last fit is there
    code = (
        f"import dataclasses, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from pathlib import Path; from axon.data import text; "
        "from axon.data.datadir import sha256sum; "
        f"root = Path({str(root)!r})\n"
        f"for key in {TEXT_KEYS!r}:\n"
        "    f = text.FILES[key]; p = root / f.subdir / f.name\n"
        "    text.FILES[key] = dataclasses.replace(f, sha256=sha256sum(p), "
        "size=p.stat().st_size, urls=(), archives=())\n"
        "from axon.cli import main\n"
        f"sys.exit(main(['run', {name!r}, '--quick', '--data-dir', str(root), '--out', "
        f"{str(broken)!r}]))"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, **{KILL_HOOK: str(at)}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert any((broken / ".backup").iterdir())
    resumed = lab.run(name, Config(out=broken, quick=True, data_dir=root, resume=True))
    assert timeless(resumed.metrics) == timeless(expected.metrics)
    assert resumed.claims == expected.claims
    for file in straight.glob("*.safetensors"):
        a, b = ax.load(file), ax.load(broken / file.name)
        for key in a:
            assert_equal(b[key], a[key])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "stem", "metric", "seed"),
    [
        ("shakespeare", "shakespeare", "val_loss", 3),
        ("next-word", "next_word", "val_ppl", 3),
        ("transformer-lm", "transformer_lm", "val_loss", 3),
        ("sentiment", "sentiment", "dev_accuracy", 3),
        ("pos-tagging", "pos_tagging", "test_accuracy", 3),
        ("masked-lm", "masked_lm", "mlm_test_loss", 0),  # the seed draws its held-out masks
        ("word2vec", "word2vec", "analogy_topk", 3),
    ],
)
def test_text_experiments_score_the_weights_they_are_given(
    corpora,  # noqa: F811
    tmp_path,
    monkeypatch,
    name,
    stem,
    metric,
    seed,
):
    """--weights: the model saved by a quick run, loaded by another (another seed, so
    other initial weights, where the seed draws nothing else the score depends on),
    gives the score the first run reported."""
    from axon.data import text

    root, table = corpora
    for key, f in table.items():
        monkeypatch.setitem(text.FILES, key, f)
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = lab.run(name, Config(out=tmp_path / "a", quick=True, data_dir=root))
    again = lab.run(
        name,
        Config(
            out=tmp_path / "b",
            quick=True,
            data_dir=root,
            seed=seed,
            weights=tmp_path / "a" / f"{stem}.safetensors",
        ),
    )
    assert again.metrics[metric] == pytest.approx(first.metrics[metric], rel=1e-12)
    assert again.metrics.get("epochs_run", 0) == 0 and "pairs" not in again.metrics
