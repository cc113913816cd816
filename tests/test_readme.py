"""The README's snippets run as written: the first one ("A first look": autodiff, then a
model trained with ``fit`` on the bundled digits, summarised, saved and loaded) and the
"Load your data" one (MNIST through ``axon.data``, here on tiny fake MNIST files made in a
temporary data directory)."""

import re
from pathlib import Path

import numpy as np
import pytest

from axon.data import MNIST, write_idx
from axon.data.datadir import sha256sum

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def run_block(code: str) -> dict:
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def test_the_first_snippet_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # it saves model.safetensors in the current folder
    first = python_blocks()[0]
    assert "ax.fit(" in first and "x_train" in first
    names = run_block(first)
    out = capsys.readouterr().out
    accuracy = float(re.search(r"validation accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.85  # a 64-128-10 MLP on 297 held-out 8x8 digits
    assert accuracy == pytest.approx(names["history"]["val_accuracy"][-1], abs=5e-4)
    assert names["x"].grad.shape == (1, 2)
    assert (tmp_path / "model.safetensors").is_file()


def test_the_load_your_data_snippet_runs_on_an_mnist_folder(tmp_path, monkeypatch):
    folder = tmp_path / MNIST.subdir
    folder.mkdir()
    rng = np.random.default_rng(0)
    table = {}
    for prefix, n in (("train", 300), ("t10k", 100)):
        arrays = {
            "images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            "labels-idx1-ubyte": rng.integers(0, 10, n).astype(np.uint8),
        }
        for kind, array in arrays.items():
            path = write_idx(folder / f"{prefix}-{kind}.gz", array)
            table[path.name] = (sha256sum(path), path.stat().st_size)
    monkeypatch.setattr(MNIST, "files", table)
    monkeypatch.setattr(MNIST, "mirrors", [])  # never reach for the network
    monkeypatch.setenv("AXON_DATA_DIR", str(tmp_path))
    [block] = [b for b in python_blocks() if "MNIST(train=True" in b]
    names = run_block(block)
    images, labels = next(iter(names["loader"]))
    assert tuple(images.shape) == (128, 1, 28, 28) and tuple(labels.shape) == (128,)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert len(names["train"]) == 300
