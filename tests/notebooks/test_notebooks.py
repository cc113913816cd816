"""The course's notebooks (``notebooks/*.py``, jupytext percent scripts) converted with
jupytext and executed cell by cell in a Jupyter kernel by nbclient: no cell may raise, and
each chapter's training must show itself (LivePlot's or ``History.plot``'s PNG).

The kernel runs in a temporary folder, with a temporary per-user cache; the data
directory is ``AXON_DATA_DIR`` when it is set (the real MNIST), else an empty temporary
folder, so the notebooks take their fallback (the bundled digits)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]_*.py"))
CELL_TIMEOUT = 120  # seconds a cell may run


def test_the_chapters_are_there():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:6] == [
        "01_autodiff",
        "02_mlp_mnist",
        "03_cnn_lenet",
        "04_rnn_lstm",
        "05_seq2seq_attention",
        "06_transformers",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs(path, tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if not os.environ.get("AXON_DATA_DIR"):
        monkeypatch.setenv("AXON_DATA_DIR", str(tmp_path / "no-data"))
    work = tmp_path / "work"
    work.mkdir()
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": work}}
    )
    client.execute()  # raises CellExecutionError naming the cell that failed
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was shown"
    texts = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs]
    assert not any("\r" in text for text in texts)
    assert list(work.iterdir()) == []  # nothing written where the notebook runs
