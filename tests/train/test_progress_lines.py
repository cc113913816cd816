"""Progress without a live bar (a pipe, a log file): one line per epoch, and a progress
line at each further tenth of an epoch that has run for ``lines_after`` seconds. The clock
is a fake one, read once per step, so no test sleeps."""

import re

from axon import nn, optim
from axon.train import fit
from axon.train.callbacks import ProgressBar

from .conftest import make_blobs, make_mlp

EPOCH = re.compile(r"^Epoch (\d)/2 - loss: \d\.\d{4} - accuracy: \d\.\d{4} \(\d+\.\d s\)$")
LOGS = r"loss: \d\.\d{4} - accuracy: \d\.\d{4}"
PROGRESS = re.compile(rf"^Epoch (\d)/2 - (\d+)% \((\d+)/100\) - {LOGS} - ([\d.]+) s$")
UNKNOWN = re.compile(rf"^Epoch (\d)/2 - step (\d+) - {LOGS} - ([\d.]+) s$")


class FakeClock:
    """Seconds that advance by ``tick`` at each read (one read per step)."""

    def __init__(self, tick: float) -> None:
        self.tick, self.reads = tick, 0

    def __call__(self) -> float:
        self.reads += 1
        return self.reads * self.tick


class NoLength:
    """An iterable of batches without ``len``: the epoch's length is unknown."""

    def __init__(self, batches) -> None:
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)


def _fit(capsys, tick: float, n: int = 400, batch_size: int = 4, no_length=False):
    x, y = make_blobs(n)
    model = make_mlp()
    data = (x, y)
    if no_length:
        starts = range(0, n, batch_size)
        data = NoLength([(x[i : i + batch_size], y[i : i + batch_size]) for i in starts])
    fit(
        model,
        data,
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=2,
        batch_size=batch_size,
        metrics=["accuracy"],
        callbacks=[ProgressBar(live=None, clock=FakeClock(tick))],
    )
    return capsys.readouterr().out.splitlines()


def test_a_long_epoch_prints_a_line_at_each_tenth_after_five_seconds(capsys):
    lines = _fit(capsys, tick=0.125)  # 100 steps of 0.125 s: 5 s are reached at step 40
    assert len(lines) == 14 and "\r" not in "".join(lines)
    for epoch, block in ((1, lines[:7]), (2, lines[7:])):
        progress = [PROGRESS.match(line) for line in block[:6]]
        assert all(progress), block
        seen = [(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)) for m in progress]
        assert seen == [(epoch, p, p, f"{p * 0.125:.1f}") for p in range(40, 100, 10)]
        assert int(EPOCH.match(block[6]).group(1)) == epoch
        assert block[6].endswith("(12.6 s)")  # 100 steps and the epoch end's read


def test_a_quick_epoch_prints_one_line(capsys):
    lines = _fit(capsys, tick=0.01)  # 100 steps in 1 s
    assert [EPOCH.match(line).group(1) for line in lines] == ["1", "2"]


def test_an_epoch_of_fewer_than_ten_steps_prints_one_line_however_long(capsys):
    lines = _fit(capsys, tick=10.0, n=36)  # 9 steps of 10 s
    assert [EPOCH.match(line).group(1) for line in lines] == ["1", "2"]


def test_without_a_known_length_a_line_every_five_seconds(capsys):
    lines = _fit(capsys, tick=0.125, no_length=True)  # 100 steps, length unknown
    steps = [(m.group(1), int(m.group(2)), m.group(3)) for m in map(UNKNOWN.match, lines) if m]
    assert steps == [(e, s, f"{s * 0.125:.1f}") for e in "12" for s in (40, 80)]
    assert len(lines) == 6 and EPOCH.match(lines[2]) and EPOCH.match(lines[5])


def test_lines_after_none_turns_the_progress_lines_off(capsys):
    x, y = make_blobs(400)
    model = make_mlp()
    bar = ProgressBar(live=False, lines_after=None, clock=FakeClock(1.0))  # 100 s epochs
    fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), 0.1),
        batch_size=4, callbacks=[bar])  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and re.match(r"^Epoch 1/1 - loss: \d\.\d{4} \(101\.0 s\)$", lines[0])
