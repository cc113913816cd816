"""``axon run NAME --device DEVICE`` for real: every experiment that takes ``--device``
(:data:`axon.lab.ON_DEVICE`) runs its quick configuration on the tests' strict device,
whose arrays refuse NumPy (``tests/backend/strict.py``), so a model left on the CPU, a
batch not moved, or NumPy run on a model's outputs without ``.cpu()`` shows up here. The
option's parsing and refusals are in ``tests/test_cli.py``."""

import json

import pytest

import axon as ax
import tests.backend.strict  # noqa: F401  (registers the device type "strict")
from axon import lab
from axon.cli import main
from tests.lab.test_text_experiments import corpora, data  # noqa: F401  (fixtures)
from tests.lab.test_vision_experiments import data_root, fake_data  # noqa: F401  (fixtures)

STRICT = ax.device("strict", 0)


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


@pytest.mark.parametrize("name", sorted(lab.ON_DEVICE - {"digits"}))
def test_each_experiment_on_device_runs_there(name, fake_data, data, tmp_path, capsys):  # noqa: F811
    """The quick run, one epoch, on the strict device: it ends without error (claims not
    reached at one epoch are "not checked") and records the device. The vision data and
    the text corpora are tiny fakes; each experiment reads the ones it needs."""
    folder = fake_data if name in ("fashion", "lenet", "mnist-mlp") else data
    out = tmp_path / name
    argv = ["run", name, "--quick", "--epochs", "1", "--device", "strict"]
    status = main([*argv, "--data-dir", str(folder), "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    record = json.loads((out / "results.json").read_text())
    assert record["config"]["device"] == "strict" and record["error"] is None


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
