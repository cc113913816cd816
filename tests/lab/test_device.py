"""``axon run NAME --device DEVICE`` for real: every experiment that takes ``--device``
(:data:`axon.lab.ON_DEVICE`) runs its quick configuration on the tests' strict device,
whose arrays refuse NumPy (``tests/backend/strict.py``), so a model left on the CPU, a
batch not moved, or NumPy run on a model's outputs without ``.cpu()`` shows up here. The
option's parsing and refusals are in ``tests/test_cli.py``."""

import dataclasses
import json
from pathlib import Path

import pytest

import axon as ax
import tests.backend.strict  # noqa: F401  (registers the device type "strict")
from axon import lab, optim, plot
from axon.cli import main
from axon.lab import adversarial, deep_rnn, parity, transfer
from tests.lab.test_text_experiments import corpora, data  # noqa: F401  (fixtures)
from tests.lab.test_vision_experiments import data_root, fake_data  # noqa: F401  (fixtures)

STRICT = ax.device("strict", 0)


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch):
    """The figures are not drawn here: the lab's own tests draw and check every one, and
    these runs are about where the numbers live (drawing costs a third of a quick run).
    An empty file stands in for each, so the record still lists it."""
    from matplotlib import pyplot

    def stand_in(fig, path, dpi=None, check=False):
        pyplot.close(fig)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return path

    monkeypatch.setattr(plot, "save", stand_in)


def test_digits_trains_its_models_and_batches_on_the_device(tmp_path, monkeypatch, capsys):
    """Each fit gets a model whose parameters are on the device, and every batch reaches
    the model there (data is loaded on the host: fit moves it); the record says so."""
    fits, inputs = [], set()
    real_fit = ax.fit

    def spy(model, *args, **kwargs):
        fits.append({p.device for p in model.parameters()})
        model.register_forward_pre_hook(lambda m, args: inputs.add(args[0].device))
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(ax, "fit", spy)
    out = tmp_path / "digits"
    status = main(
        ["run", "digits", "--quick", "--epochs", "1", "--device", "strict", "--out", str(out)]
    )
    assert status == 0, capsys.readouterr().out
    assert fits == [{STRICT}, {STRICT}]  # the MLP and the CNN
    assert inputs == {STRICT}  # training, validation, scoring and the feature maps
    record = json.loads((out / "results.json").read_text())
    assert record["config"]["device"] == "strict" and record["status"] == "passed"
    weights = ax.load(out / "digits_cnn.safetensors")  # saved from the device, readable here
    assert weights["0.weight"].shape == (16, 1, 3, 3)


#: The fixture of the fake data each experiment reads, as its --data-dir; the others make
#: their own data (the bundled 8x8 digits, generated sequences) and get none.
DATA: dict[str, str] = {
    **dict.fromkeys(["adversarial", "fashion", "lenet", "mnist-mlp", "transfer"], "fake_data"),
    **dict.fromkeys(
        [
            "masked-lm",
            "next-word",
            "pos-tagging",
            "self-attention",
            "sentiment",
            "shakespeare",
            "transformer-lm",
        ],
        "data",
    ),
}


def _fewer_attacks(monkeypatch) -> None:
    """30 images attacked at two radii and two patch sizes, with fewer steps (5 s
    otherwise)."""
    fewer = dataclasses.replace(
        adversarial.QUICK,
        n_attack=30,
        pgd_steps=2,
        patch_steps=2,
        epsilons=(0.1, 0.2),
        patch_sizes=(4, 8),
        examples=2,
    )
    monkeypatch.setattr(adversarial, "QUICK", fewer)


def _fewer_deep_rnn_steps(monkeypatch) -> None:
    """30 updates for each of deep-rnn's three trainings, not 150 (6 s otherwise)."""
    train = deep_rnn.train_tagger
    monkeypatch.setattr(
        deep_rnn, "train_tagger", lambda *args, **kw: train(*args[:3], 30, *args[4:], **kw)
    )


def _fewer_parity_steps(monkeypatch) -> None:
    """30 updates for each of parity's six trainings, not 250 (14 s otherwise)."""
    train = parity.train_parity
    monkeypatch.setattr(
        parity, "train_parity", lambda *args, **kw: train(*args[:3], 30, *args[4:], **kw)
    )


def _fewer_transfer_runs(monkeypatch) -> None:
    """One draw per number of labels and 10 updates per target run (10 s otherwise)."""
    monkeypatch.setitem(transfer.QUICK, "draws", 1)
    monkeypatch.setitem(transfer.QUICK, "min_steps", 10)


#: Cuts for the quick runs that take long on the strict device (whose every op goes
#: through a wrapper): the same code runs, with fewer steps, so a claim may fail there
#: (exit status 1) but nothing may raise.
SHORTER = {
    "adversarial": _fewer_attacks,
    "deep-rnn": _fewer_deep_rnn_steps,
    "parity": _fewer_parity_steps,
    "transfer": _fewer_transfer_runs,
}


#: The experiments that also train something on the CPU by design: axon's classic
#: estimators (logistic regression, the linear SVM) and optimizers' 2-D paths.
CPU_PARTS = {"classic-vs-nn", "layerwise-pretraining", "optimizers", "paradigms"}


@pytest.fixture
def optimizers(monkeypatch) -> list[set]:
    """The devices of the parameters of every optimizer made, one set per optimizer."""
    made = []
    init = optim.Optimizer.__init__

    def spy(self, params, defaults):
        init(self, params, defaults)
        made.append({p.device for group in self.param_groups for p in group["params"]})

    monkeypatch.setattr(optim.Optimizer, "__init__", spy)
    return made


@pytest.mark.parametrize("name", sorted(lab.ON_DEVICE - {"digits"}))
def test_each_experiment_on_device_runs_there(
    name, request, monkeypatch, optimizers, tmp_path, capsys
):
    """The quick run, one epoch, on the strict device: it ends without error (claims not
    reached at one epoch are "not checked") and records the device. Every optimizer gets
    parameters of one device, the strict one (a model left on the CPU with its inputs
    would not fail by itself), but in the experiments that also fit classic models on
    the CPU. The vision data and the text corpora are tiny fakes; each experiment reads
    the ones it needs."""
    out = tmp_path / name
    argv = ["run", name, "--quick", "--epochs", "1", "--device", "strict", "--out", str(out)]
    if name in DATA:
        argv += ["--data-dir", str(request.getfixturevalue(DATA[name]))]
    if name in SHORTER:
        SHORTER[name](monkeypatch)
    status = main(argv)
    printed = capsys.readouterr().out
    assert status in ((0, 1) if name in SHORTER else (0,)), printed
    record = json.loads((out / "results.json").read_text())
    assert record["config"]["device"] == "strict" and record["error"] is None
    assert optimizers and all(len(devices) == 1 for devices in optimizers)
    on_device = [devices == {STRICT} for devices in optimizers]
    assert any(on_device) if name in CPU_PARTS else all(on_device), optimizers


def test_weights_load_into_a_model_on_the_device(fake_data, tmp_path, capsys):  # noqa: F811
    """--weights with --device: the file (host arrays) is copied into the model on the
    device, which is then scored there."""
    first = tmp_path / "first"
    argv = ["run", "mnist-mlp", "--quick", "--epochs", "1", "--data-dir", str(fake_data)]
    assert main([*argv, "--out", str(first)]) == 0
    again = tmp_path / "again"
    weights = first / "mnist_mlp.safetensors"
    status = main([*argv, "--device", "strict", "--weights", str(weights), "--out", str(again)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "weights loaded from" in printed
    before = json.loads((first / "results.json").read_text())["metrics"]["test_accuracy"]
    after = json.loads((again / "results.json").read_text())["metrics"]["test_accuracy"]
    assert after == pytest.approx(before)
