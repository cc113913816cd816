"""``fit``'s progress in Jupyter: one cell output per epoch, a bar updated in place while
the epoch runs and replaced by the epoch's line at its end; no carriage return (a notebook
shows each as a new line). The default tests fake the kernel (:mod:`.fake_jupyter`); the
slow one runs ``fit`` in a real Jupyter kernel through nbclient."""

import re

import nbformat
import pytest
from nbclient import NotebookClient

from axon import nn, optim
from axon.train import fit
from axon.train.callbacks import ProgressBar
from axon.train.notebook import in_notebook

from .conftest import make_blobs, make_mlp
from .fake_jupyter import jupyter  # noqa: F401 - a fixture

LINE = re.compile(r"^Epoch (\d)/3 - loss: \d\.\d{4} - accuracy: \d\.\d{4} \(\d+\.\d s\)$")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_in_notebook_is_false_outside_a_kernel():
    assert not in_notebook()


def test_a_notebook_gets_one_output_per_epoch_updated_in_place(jupyter, capsys):  # noqa: F811
    x, y = make_blobs(40)
    model = make_mlp()
    fit(model, (x, y), loss=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=3, batch_size=4, metrics=["accuracy"],
        callbacks=[ProgressBar(refresh=0.5, clock=Clock())])  # fmt: skip
    assert capsys.readouterr().out == ""  # nothing printed as a stream
    assert len(jupyter.outputs) == 3
    for epoch, shown in enumerate(jupyter.outputs, 1):
        final = shown[-1]
        assert (
            list(final) == ["text/plain"] and int(LINE.match(final["text/plain"]).group(1)) == epoch
        )
        bars = shown[:-1]  # the empty bar, then a redraw at each step (the clock ticks 1 s)
        assert len(bars) == 11
        done = [int(re.search(r'value="(\d+)" max="10"', b["text/html"]).group(1)) for b in bars]
        assert done == list(range(11))
        assert bars[4]["text/plain"].startswith(f"Epoch {epoch}/3 [########............] 4/10")
    assert not any("\r" in text for b in jupyter.bundles for text in b.values())


def test_a_notebook_without_a_known_length_shows_the_step(jupyter):  # noqa: F811
    x, y = make_blobs(40)
    model = make_mlp()
    halves = [(x[:20], y[:20]), (x[20:], y[20:])]
    batches = type("Batches", (), {"__iter__": lambda self: iter(halves)})()  # no len()
    fit(model, batches, loss="cross_entropy", optimizer=optim.SGD(model.parameters(), 0.1),
        callbacks=[ProgressBar(refresh=0.0, clock=Clock())])  # fmt: skip
    (shown,) = jupyter.outputs
    bars = [b["text/plain"] for b in shown[:-1]]
    assert len(bars) == 3 and bars[0] == "Epoch 1/1 step 0 - 0.0 s"
    for step, bar in enumerate(bars[1:], 1):
        assert re.fullmatch(rf"Epoch 1/1 step {step} - {step}\.0 s - loss: \d\.\d{{4}}", bar)
    assert "<progress style" in shown[1]["text/html"]  # an indeterminate bar
    assert shown[-1]["text/plain"].startswith("Epoch 1/1 - loss: ")


def test_verbose_2_prints_lines_in_a_notebook_too(jupyter, capsys):  # noqa: F811
    x, y = make_blobs(40)
    model = make_mlp()
    fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=3, metrics=["accuracy"], verbose=2)  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).group(1) for line in lines] == ["1", "2", "3"]
    assert jupyter.outputs == []


KERNEL_FIT = """
import numpy as np
from axon import nn, optim
from axon.train import fit
from axon.train.callbacks import LivePlot

rng = np.random.default_rng(0)
x = rng.normal(size=(400, 2)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
history = fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), 0.1),
              epochs=3, batch_size=4, metrics=["accuracy"], callbacks=[LivePlot()])
"""


@pytest.mark.slow
def test_fit_in_a_real_jupyter_kernel(tmp_path):
    """A tiny fit with LivePlot, then ``history.plot()``, run by nbclient in a kernel."""
    cells = [KERNEL_FIT, "history.plot()"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    fit_outputs, plot_outputs = nb.cells[0].outputs, nb.cells[1].outputs
    texts = [o["data"].get("text/plain", "") for o in fit_outputs if "data" in o]
    texts += [o.get("text", "") for o in fit_outputs]
    assert not any("\r" in t for t in texts)
    assert len(fit_outputs) == 4, fit_outputs  # the 3 epochs' lines and the live plot
    lines = [o["data"]["text/plain"] for o in fit_outputs if "image/png" not in o["data"]]
    assert [LINE.sub(r"\1", line) for line in lines] == ["1", "2", "3"]
    (live,) = [o for o in fit_outputs if "image/png" in o["data"]]
    assert live["data"]["text/plain"] == "LivePlot: epoch 3"
    assert [o["output_type"] for o in plot_outputs] == ["execute_result"]
    assert "image/png" in plot_outputs[0]["data"]
    assert list(tmp_path.iterdir()) == []  # LivePlot wrote no file in a notebook
