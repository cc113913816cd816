"""The proof of resume (issue 14): a run killed with SIGKILL and restarted in a fresh
process from its ``BackupAndRestore`` backup ends with the parameters, buffers, optimizer
state, History and every per-batch loss of a run that was never stopped, bit for bit.

Three models: an MLP with dropout (``fit`` on arrays, shuffled, a StepLR scheduler and
EarlyStopping's counters), a CNN with BatchNorm and random augmentation drawn per sample
(``fit`` on a shuffled DataLoader), and an LSTM language model under truncated BPTT whose
windows end inside batches (``fit_stream``, ReduceLROnPlateau). Each is killed twice: once
resumed from an epoch-end backup, once from a backup in the middle of an epoch.

The children are forked from a ``forkserver`` process that has only imported axon, so each
is a fresh process (nothing of the parent's training state) that starts in milliseconds.
The child kills itself with ``os.kill(os.getpid(), SIGKILL)`` before the batch the parent
chose; every batch's loss goes to a log file line by line as it happens.
"""

from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np
import pytest

import axon as ax
from axon import nn, optim
from axon.data import DataLoader, Dataset, batchify, bptt_batches, transforms
from axon.train.callbacks import BackupAndRestore, Callback, EarlyStopping
from tests.helpers import assert_equal

CHILD_TIMEOUT = 120  # seconds: a child is a fraction of a second of training

# ----------------------------------------------------------------------------- the runs


class _Log(Callback):
    """Writes ``global_step loss`` per batch (repr: exact), and SIGKILLs its own process
    before the batch numbered ``kill_at`` (1-based, counted over the whole run)."""

    def __init__(self, path: str, kill_at: int | None) -> None:
        self.path, self.kill_at = path, kill_at

    def on_batch_begin(self, batch, logs=None):
        if self.kill_at is not None and self.trainer.global_step + 1 == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_batch_end(self, batch, logs=None):
        with open(self.path, "a") as f:
            f.write(f"{self.trainer.global_step} {logs['loss']!r}\n")


class _Augmented(Dataset):
    """8x8 one-channel images, each read through random transforms from the global stream."""

    def __init__(self, n: int = 48) -> None:
        rng = np.random.default_rng(1)
        self.x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
        self.y = rng.integers(0, 3, n)
        self.t = transforms.Compose(
            [
                transforms.RandomShift(1),
                transforms.RandomHorizontalFlip(),
                transforms.GaussianNoise(0.1),
            ]
        )

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.t(self.x[i]), self.y[i]


class _LM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.lstm = nn.Embedding(11, 8), nn.LSTM(8, 12)
        self.drop, self.out = nn.Dropout(0.2), nn.Linear(12, 11)

    def forward(self, x, state):
        h, state = self.lstm(self.emb(x), state)
        return self.out(self.drop(h)), state


# batches (updates) per epoch and epochs of each run
SHAPES = {"mlp": (6, 4), "cnn": (3, 3), "lstm": (15, 3)}


def _train(
    kind: str,
    log: str,
    backup: str | None = None,
    save_freq="epoch",
    kill_at: int | None = None,
    epochs: int | None = None,
):
    """One run of ``kind`` from its seed; returns (model, optimizer, history)."""
    ax.manual_seed(0)
    epochs = epochs or SHAPES[kind][1]
    cbs = [_Log(log, kill_at)]
    if backup is not None:
        cbs.append(BackupAndRestore(backup, save_freq=save_freq))
    if kind == "mlp":
        rng = np.random.default_rng(0)
        x = rng.normal(size=(96, 6)).astype(np.float32)
        y = rng.integers(0, 3, 96)
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 3))
        opt = optim.Adam(model.parameters(), lr=0.01)
        hist = ax.fit(
            model,
            (x, y),
            loss="cross_entropy",
            optimizer=opt,
            epochs=epochs,
            batch_size=16,
            metrics=["accuracy"],
            validation=(x[:32], y[:32]),
            scheduler=optim.lr_scheduler.StepLR(opt, 1, 0.8),
            verbose=0,
            callbacks=[EarlyStopping("loss", patience=50), *cbs],
        )
    elif kind == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64, 3),
        )
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loader = DataLoader(_Augmented(), batch_size=16, shuffle=True)
        hist = ax.fit(
            model,
            loader,
            loss="cross_entropy",
            optimizer=opt,
            epochs=epochs,
            metrics=["accuracy"],
            verbose=0,
            callbacks=cbs,
        )
    else:
        tokens = np.random.default_rng(2).integers(0, 11, 300)
        model = _LM()
        opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        hist = ax.fit_stream(
            model,
            bptt_batches(batchify(tokens, 4), 7),
            loss="cross_entropy",
            optimizer=opt,
            epochs=epochs,
            tbptt_steps=5,
            clip_grad_norm=0.5,
            metrics=["accuracy"],
            verbose=0,
            callbacks=cbs,
            scheduler=optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0),
        )
    return model, opt, hist


def _child(kind, log, backup, save_freq, kill_at, out) -> None:
    """A fresh process's run; a finished one saves what it ended with to ``out``."""
    model, opt, hist = _train(kind, log, backup, save_freq, kill_at)
    ax.save(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "history": hist.history}, out
    )


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["axon", "tests.train.test_resume_kill"])
    return ctx


def _run_child(ctx, *args) -> int:
    p = ctx.Process(target=_child, args=args)
    p.start()
    p.join(CHILD_TIMEOUT)
    if p.is_alive():
        p.kill()
        p.join()
        pytest.fail(f"a training child did not finish in {CHILD_TIMEOUT} s")
    return p.exitcode


def _read_log(path) -> dict[int, float]:
    """Step -> loss; a step logged twice (redone after a resume) must have one value."""
    out: dict[int, float] = {}
    for line in open(path).read().splitlines():
        step, loss = line.split()
        value = float(loss)
        if int(step) in out:
            assert_equal(value, out[int(step)], msg=f"step {step} logged twice, differently")
        out[int(step)] = value
    return out


def _assert_tree_equal(a, b, where: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys {list(a)} vs {b}"
        for k in a:
            _assert_tree_equal(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: lengths {len(a)} and {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_tree_equal(x, y, f"{where}[{i}]")
    elif isinstance(a, float | np.ndarray | ax.Tensor | np.floating):
        assert_equal(b, a, msg=where)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _last_save(before: int, freq: int, per_epoch: int, epoch_end: bool) -> int:
    """The global step of the last backup before the batch ``before`` (1-based)."""
    step = per_epoch if epoch_end else freq
    return (before - 1) // step * step


def check_resume(kind: str, tmp_path, seed: int, freq: int) -> None:
    """Straight run here; then killed in epoch 2 (epoch-end backups), resumed and killed
    again inside an epoch (backups every ``freq`` batches), resumed and finished; kill
    points drawn from ``seed``."""
    per_epoch, epochs = SHAPES[kind]
    total = per_epoch * epochs
    straight_log = tmp_path / "straight.log"
    model, opt, hist = _train(kind, str(straight_log))
    straight = {"model": model.state_dict(), "optimizer": opt.state_dict(), "history": hist.history}
    expected = _read_log(straight_log)
    assert list(expected) == list(range(1, total + 1))

    rng = np.random.default_rng(seed)
    kill1 = int(rng.integers(per_epoch + 2, 2 * per_epoch + 1))  # inside epoch 2
    saved1 = _last_save(kill1, freq, per_epoch, epoch_end=True)
    # the second kill: after a backup inside an epoch, later than the first resume point
    choices = [
        k
        for k in range(saved1 + freq + 1, total + 1)
        if _last_save(k, freq, per_epoch, False) % per_epoch
        and _last_save(k, freq, per_epoch, False) > saved1
    ]
    kill2 = int(rng.choice(choices))
    saved2 = _last_save(kill2, freq, per_epoch, epoch_end=False)

    log, backup, out = str(tmp_path / "run.log"), str(tmp_path / "backup"), tmp_path / "out"
    ctx = _context()
    assert _run_child(ctx, kind, log, backup, "epoch", kill1, str(out)) == -signal.SIGKILL
    assert max(_read_log(log)) == kill1 - 1
    assert _run_child(ctx, kind, log, backup, freq, kill2, str(out)) == -signal.SIGKILL
    assert _run_child(ctx, kind, log, backup, freq, None, str(out)) == 0
    assert not os.path.exists(backup), "the backup is deleted once training has ended"

    lines = open(log).read().splitlines()
    steps = [int(line.split()[0]) for line in lines]
    # each resume started right after its backup: epoch-end, then mid-epoch
    assert steps == (
        list(range(1, kill1)) + list(range(saved1 + 1, kill2)) + list(range(saved2 + 1, total + 1))
    ), (kill1, saved1, kill2, saved2)
    assert saved2 % per_epoch != 0
    resumed = _read_log(log)
    assert list(resumed) == list(expected)
    for step in expected:
        assert_equal(resumed[step], expected[step], msg=f"the loss logged at step {step}")
    _assert_tree_equal(straight, ax.load(out), kind)


@pytest.mark.parametrize("kind,freq", [("mlp", 4), ("cnn", 2), ("lstm", 4)])
def test_a_killed_run_resumes_bit_for_bit(kind, freq, tmp_path):
    check_resume(kind, tmp_path, seed=14, freq=freq)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mlp", "cnn", "lstm"])
@pytest.mark.parametrize("seed", range(6))
def test_killed_runs_resume_bit_for_bit_at_random_steps(kind, seed, tmp_path):
    per_epoch = SHAPES[kind][0]  # a frequency that also backs up inside epochs
    freq = int(
        np.random.default_rng(seed).choice([f for f in range(1, 6) if f == 1 or per_epoch % f])
    )
    check_resume(kind, tmp_path, seed=100 + seed, freq=freq)
