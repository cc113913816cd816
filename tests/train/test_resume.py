"""``BackupAndRestore`` in ``fit`` and ``fit_stream``: what a resume restores and what it
refuses. A run is interrupted here by an exception from a callback (the SIGKILL proof in
fresh processes is tests/train/test_resume_kill.py); the resumed run builds its model and
optimizer afresh from the same seed, as a restarted script would, and must end as the
uninterrupted run did, bit for bit."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import axon as ax
from axon import nn, optim
from axon.train.callbacks import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
)
from tests.helpers import assert_equal


class Interrupt(Exception):
    pass


class _Stop(Callback):
    """Raises Interrupt before the batch numbered ``at`` (1-based, over the whole run)."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_batch_begin(self, batch, logs=None):
        if self.at is not None and self.trainer.global_step + 1 == self.at:
            raise Interrupt


def _data(n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def _run(
    backup=None,
    stop_at=None,
    epochs=3,
    batch_size=16,
    lr=0.05,
    callbacks=(),
    save_freq="epoch",
    **kw,
):
    """A seeded MLP with dropout on shuffled data; returns (model, optimizer, history)."""
    ax.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    cbs = [_Stop(stop_at), *callbacks]
    if backup is not None:
        cbs.append(
            backup
            if isinstance(backup, BackupAndRestore)
            else BackupAndRestore(backup, save_freq=save_freq)
        )
    hist = ax.fit(
        model,
        _data(),
        loss="cross_entropy",
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        metrics=["accuracy"],
        callbacks=cbs,
        verbose=0,
        **kw,
    )
    return model, opt, hist


def _interrupted(backup, stop_at, **kw):
    with pytest.raises(Interrupt):
        _run(backup, stop_at, **kw)


def _assert_same_run(a, b) -> None:
    (ma, oa, ha), (mb, ob, hb) = a, b
    for (name, x), (_, y) in zip(ma.state_dict().items(), mb.state_dict().items(), strict=True):
        assert_equal(y, x, msg=name)
    for i, s in oa.state_dict()["state"].items():
        assert_equal(ob.state_dict()["state"][i]["momentum_buffer"], s["momentum_buffer"])
    assert list(ha.history) == list(hb.history)
    for key in ha.history:
        assert_equal(np.array(hb.history[key]), np.array(ha.history[key]), msg=key)
    assert ha.epoch == hb.epoch


@pytest.mark.parametrize("stop_at,save_freq", [(7, "epoch"), (10, 3), (8, 4)])
def test_an_interrupted_fit_resumes_to_the_same_bits(tmp_path, stop_at, save_freq):
    straight = _run()
    _interrupted(tmp_path / "b", stop_at, save_freq=save_freq)
    assert os.path.exists(tmp_path / "b" / "backup.safetensors")
    resumed = _run(tmp_path / "b", save_freq=save_freq)
    _assert_same_run(straight, resumed)
    assert not os.path.exists(tmp_path / "b"), "delete_checkpoint=True removes the backup"


class _Shuffled:
    """Batches from a plain iterable (no state_dict): each pass draws its order, and each
    batch its noise, from the global stream, between the model's dropout draws."""

    def __init__(self) -> None:
        self.x, self.y = _data()

    def __len__(self) -> int:
        return 4

    def __iter__(self):
        order = ax.randperm(len(self.x)).numpy()
        for i in range(0, len(order), 16):
            idx = order[i : i + 16]
            yield self.x[idx] + 0.1 * ax.randn(len(idx), 3).numpy(), self.y[idx]


@pytest.mark.parametrize("stop_at,save_freq", [(6, "epoch"), (7, 3)])
def test_an_iterable_without_state_dict_is_replayed_to_its_position(tmp_path, stop_at, save_freq):
    def run(backup=None, stop=None):
        ax.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        cbs = [_Stop(stop)] + (
            [] if backup is None else [BackupAndRestore(backup, save_freq=save_freq)]
        )
        hist = ax.fit(
            model,
            _Shuffled(),
            loss="cross_entropy",
            optimizer=opt,
            epochs=3,
            callbacks=cbs,
            verbose=0,
        )
        return model, opt, hist

    straight = run()
    with pytest.raises(Interrupt):
        run(tmp_path / "b", stop_at)
    _assert_same_run(straight, run(tmp_path / "b"))


def test_more_epochs_than_the_backup_planned_continue_the_run(tmp_path):
    _interrupted(tmp_path / "b", 7, epochs=2)
    _assert_same_run(_run(epochs=4), _run(tmp_path / "b", epochs=4))


def test_delete_checkpoint_false_keeps_the_last_backup(tmp_path):
    keep = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    _run(keep)
    state = ax.load(tmp_path / "b" / "backup.safetensors")
    assert state["loop"]["epoch"] == 3 and state["loop"]["step"] == 0
    # the kept backup of a finished run: a new fit with it trains no more
    model, _, hist = _run(BackupAndRestore(tmp_path / "b", delete_checkpoint=False))
    assert len(hist.history["loss"]) == 3 and hist.epoch == [0, 1, 2]


@pytest.mark.parametrize(
    "change,message",
    [
        ({"batch_size": 32}, "batch_size: 16 in the backup, 32 now"),
        ({"lr": 0.1}, "optimizer hyperparameters"),
        ({"clip_grad_norm": 1.0}, "clip_grad_norm: None in the backup, 1.0 now"),
        ({"callbacks": [EarlyStopping("loss")]}, "callbacks:"),
    ],
)
def test_a_resume_with_other_arguments_is_refused_naming_them(tmp_path, change, message):
    _interrupted(tmp_path / "b", 7)
    with pytest.raises(ValueError, match="different run") as err:
        _run(tmp_path / "b", **change)
    assert message in str(err.value)
    assert os.path.exists(tmp_path / "b" / "backup.safetensors"), "a refusal deletes nothing"


def test_a_resume_with_another_seed_is_refused(tmp_path):
    _interrupted(tmp_path / "b", 7)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
    ax.manual_seed(5)
    with pytest.raises(ValueError, match="initial seed: 0 in the backup, 5 now"):
        ax.fit(
            model,
            _data(),
            loss="cross_entropy",
            metrics=["accuracy"],
            epochs=3,
            optimizer=optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
            batch_size=16,
            callbacks=[_Stop(None), BackupAndRestore(tmp_path / "b")],
            verbose=0,
        )


def test_a_corrupt_backup_is_a_clear_error(tmp_path):
    _interrupted(tmp_path / "b", 7)
    path = tmp_path / "b" / "backup.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="backup cannot be read") as err:
        _run(tmp_path / "b")
    assert str(path) in str(err.value) and "Delete the backup directory" in str(err.value)


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    straight = _run()
    backup = BackupAndRestore(tmp_path / "b", save_freq=2, double_checkpoint=True)
    _interrupted(backup, 8)
    latest = tmp_path / "b" / "backup.safetensors"
    assert ax.load(latest)["loop"]["global_step"] == 6
    assert ax.load(tmp_path / "b" / "backup.previous.safetensors")["loop"]["global_step"] == 4
    latest.write_bytes(b"not a backup")
    with pytest.warns(UserWarning, match="resuming from the previous one"):
        resumed = _run(BackupAndRestore(tmp_path / "b", save_freq=2, double_checkpoint=True))
    _assert_same_run(straight, resumed)


def test_early_stopping_resumes_its_counters(tmp_path):
    def stopper():
        return EarlyStopping("loss", patience=2, min_delta=10.0, restore_best_weights=True)

    straight = _run(epochs=8, callbacks=[stopper()])
    assert straight[2].epoch == [0, 1, 2], "stops after 2 epochs without a 10.0 improvement"
    es = stopper()
    _interrupted(tmp_path / "b", 10, epochs=8, callbacks=[es])  # in epoch 3, wait == 1
    assert es.wait == 1
    es = stopper()
    resumed = _run(tmp_path / "b", epochs=8, callbacks=[es])
    _assert_same_run(straight, resumed)
    assert es.wait == 2 and es.stopped_epoch == 2 and es.best_epoch == 0
    assert resumed[2].stopped_reason == straight[2].stopped_reason


def test_a_backup_taken_as_the_run_stopped_trains_no_further(tmp_path):
    class FailAtEnd(Callback):
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def on_train_end(self, logs=None):
            if self.fail:
                raise Interrupt

    def stop():
        return EarlyStopping("loss", patience=1, min_delta=10.0)

    with pytest.raises(Interrupt):  # dies after the last backup, before deleting it
        _run(tmp_path / "b", epochs=8, callbacks=[stop(), FailAtEnd(True)])
    _, _, hist = _run(tmp_path / "b", epochs=8, callbacks=[stop(), FailAtEnd(False)])
    assert hist.epoch == [0, 1]
    assert not os.path.exists(tmp_path / "b")


def test_a_run_stopped_inside_an_epoch_resumes_to_that_epochs_end(tmp_path):
    class StopAt(Callback):
        """Stops the run after the batch numbered ``at``; can fail at the very end."""

        def __init__(self, at: int, fail: bool = False) -> None:
            self.at, self.fail = at, fail

        def on_batch_end(self, batch, logs=None):
            if self.trainer.global_step == self.at:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.fail:
                raise Interrupt

    straight = _run(callbacks=[StopAt(6)])
    assert straight[2].epoch == [0, 1]  # the stopped epoch is logged from its 2 batches
    with pytest.raises(Interrupt):  # dies after the backup of batch 6, before deleting it
        _run(tmp_path / "b", save_freq=1, callbacks=[StopAt(6, fail=True)])
    _assert_same_run(straight, _run(tmp_path / "b", save_freq=1, callbacks=[StopAt(6)]))


def test_csv_logger_continues_its_file(tmp_path):
    _run(epochs=4, callbacks=[CSVLogger(tmp_path / "straight.csv")])
    _interrupted(tmp_path / "b", 11, epochs=4, callbacks=[CSVLogger(tmp_path / "run.csv")])
    with open(tmp_path / "run.csv", "a") as f:  # a row written after the last backup
        f.write("2,0.5,0.5\n")
    _run(tmp_path / "b", epochs=4, callbacks=[CSVLogger(tmp_path / "run.csv")])
    assert (tmp_path / "run.csv").read_text() == (tmp_path / "straight.csv").read_text()


def test_a_schedule_function_is_not_applied_twice_to_a_resumed_epoch(tmp_path):
    def halve():
        return LearningRateScheduler(lambda epoch, lr: lr * 0.5)

    straight = _run(epochs=3, callbacks=[halve()])
    _interrupted(tmp_path / "b", 7, save_freq=2, epochs=3, callbacks=[halve()])
    resumed = _run(tmp_path / "b", save_freq=2, epochs=3, callbacks=[halve()])
    _assert_same_run(straight, resumed)
    assert resumed[2].history["learning_rate"] == [0.025, 0.0125, 0.00625]


def test_save_freq_epoch_adds_no_per_batch_hook():
    backup = BackupAndRestore("unused")
    assert "on_batch_end" not in vars(backup)
    assert callable(vars(BackupAndRestore("unused", save_freq=5))["on_batch_end"])


@pytest.mark.parametrize("freq", [0, -1, "batch", True, 1.5])
def test_save_freq_must_be_epoch_or_a_positive_int(freq):
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore("b", save_freq=freq)


def test_two_backups_in_one_fit_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at most one BackupAndRestore"):
        _run(tmp_path / "a", callbacks=[BackupAndRestore(tmp_path / "c")])


# ----------------------------------------------------------------------------- fit_stream
class _LM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.rnn, self.out = nn.Embedding(7, 6), nn.GRU(6, 8), nn.Linear(8, 7)

    def forward(self, x, state):
        h, state = self.rnn(self.emb(x), state)
        return self.out(h), state


def _stream_run(backup=None, stop_at=None, save_freq="epoch"):
    ax.manual_seed(0)
    tokens = np.random.default_rng(3).integers(0, 7, 130)
    model = _LM()
    opt = optim.Adam(model.parameters(), lr=0.02)
    cbs = [_Stop(stop_at)]
    if backup is not None:
        cbs.append(BackupAndRestore(backup, save_freq=save_freq))
    batches = ax.data.bptt_batches(ax.data.batchify(tokens, 4), 6)
    hist = ax.fit_stream(
        model,
        batches,
        loss="cross_entropy",
        optimizer=opt,
        epochs=2,
        tbptt_steps=4,
        metrics=["accuracy"],
        callbacks=cbs,
        verbose=0,
    )
    return model, opt, hist


# 8 updates of 4 time steps (the last of 3) per epoch over batches of 6 steps: the backup
# after update 3 ends on a batch's end, those after 5 and 12 (4 into epoch 2) inside one
@pytest.mark.parametrize(
    "stop_at,save_freq,inside", [(10, "epoch", None), (6, 1, True), (13, 3, True), (4, 1, False)]
)
def test_fit_stream_resumes_inside_a_batch(tmp_path, stop_at, save_freq, inside):
    straight = _stream_run()
    with pytest.raises(Interrupt):
        _stream_run(tmp_path / "b", stop_at, save_freq)
    if inside is not None:  # a window that ended inside a batch keeps that batch
        state = ax.load(tmp_path / "b" / "backup.safetensors")
        assert (state["loop"]["extra"]["pending"] is not None) == inside
    resumed = _stream_run(tmp_path / "b", save_freq=save_freq)
    (ma, _, ha), (mb, _, hb) = straight, resumed
    for (name, x), (_, y) in zip(ma.state_dict().items(), mb.state_dict().items(), strict=True):
        assert_equal(y, x, msg=name)
    assert ha.history == hb.history


def test_fit_stream_refuses_another_tbptt(tmp_path):
    with pytest.raises(Interrupt):
        _stream_run(tmp_path / "b", 10)
    ax.manual_seed(0)
    model = _LM()
    with (
        pytest.raises(ValueError, match="tbptt_steps: 4 in the backup, 5 now"),
        warnings.catch_warnings(),
    ):
        ax.fit_stream(
            model,
            ax.data.bptt_batches(
                ax.data.batchify(np.random.default_rng(3).integers(0, 7, 130), 4), 6
            ),
            loss="cross_entropy",
            optimizer=optim.Adam(model.parameters(), lr=0.02),
            epochs=2,
            tbptt_steps=5,
            metrics=["accuracy"],
            callbacks=[_Stop(None), BackupAndRestore(tmp_path / "b")],
            verbose=0,
        )
