"""Progress output: per-epoch lines when stdout is not a terminal, silence at verbose=0."""

import re

import pytest

from axon import nn, optim
from axon.train import fit
from axon.train.callbacks import ProgressBar
from axon.train.progress import epoch_line, format_value

from .conftest import make_blobs, make_mlp

LINE = re.compile(
    r"^Epoch (\d+)/3 - loss: \d\.\d{4} - accuracy: \d\.\d{4} - "
    r"val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4} \(\d+\.\d s\)$"
)


def _fit(**kwargs):
    x, y = make_blobs(40)
    model = make_mlp()
    return fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=3,
        validation=(x, y),
        metrics=["accuracy"],
        **kwargs,
    )


@pytest.mark.parametrize("verbose", [1, 2])
def test_non_tty_output_is_one_line_per_epoch(capsys, verbose):
    _fit(verbose=verbose)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert [LINE.match(line).group(1) for line in lines] == ["1", "2", "3"]


def test_verbose_zero_is_silent(capsys):
    _fit(verbose=0)
    assert capsys.readouterr().out == ""


def test_the_live_bar_runs_and_still_writes_the_epoch_lines(capsys):
    x, y = make_blobs(40)
    model = make_mlp()
    batches = ((x[i : i + 8], y[i : i + 8]) for i in range(0, 40, 8))  # no len(): no total
    fit(
        model,
        [*batches],
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=2,
        callbacks=[ProgressBar(live=True, refresh=0.0)],
    )
    out = capsys.readouterr().out
    assert "Epoch 1/2 - loss: " in out and "Epoch 2/2 - loss: " in out


def test_formatting():
    assert format_value(0.12345) == "0.1235"
    assert format_value(1.5e-5) == "1.5000e-05"
    assert format_value(float("nan")) == "nan"
    assert epoch_line(2, 10, {"loss": 0.5}, 1.23) == "Epoch 3/10 - loss: 0.5000 (1.2 s)"
