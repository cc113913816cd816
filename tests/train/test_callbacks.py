"""Callbacks: the hook sequence, EarlyStopping, ModelCheckpoint, LearningRateScheduler,
CSVLogger, TerminateOnNaN, LambdaCallback."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest

import axon
from axon import nn, optim
from axon.serialization import load, load_metadata
from axon.train import fit
from axon.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
)
from tests.helpers import assert_close

from .conftest import make_blobs, make_mlp


def _state(model) -> dict:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _fit_scripted(values, callbacks=(), epochs=None, key="val_loss", lr=0.1, **kwargs):
    """Train a small MLP while a LambdaCallback (first in the list) writes ``values[epoch]``
    into the logs as ``key``; returns (model, history, weights after each epoch)."""
    x, y = make_blobs(48)
    model = make_mlp()
    snaps = []

    def inject(epoch, logs):
        logs[key] = values[epoch]
        snaps.append(_state(model))

    hist = fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=lr),
        epochs=epochs or len(values),
        batch_size=16,
        callbacks=[LambdaCallback(on_epoch_end=inject), *callbacks],
        verbose=0,
        **kwargs,
    )
    return model, hist, snaps


# ----------------------------------------------------------------------------- hooks
class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))
        self.seen = (self.model, dict(self.params), self.trainer.optimizer)

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", sorted(logs)))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, sorted(logs)))


def test_a_callback_receives_the_hooks_in_keras_order():
    x, y = make_blobs(30)
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    rec = Recorder()
    fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=2,
        batch_size=12,
        validation=(x, y),
        metrics=["acc"],
        callbacks=[rec],
        verbose=0,
    )
    keys = ["acc", "loss", "val_acc", "val_loss"]
    expected = [("train_begin",)]
    for e in range(2):
        expected.append(("epoch_begin", e))
        for b in range(3):  # 30 samples in batches of 12
            expected += [("batch_begin", b), ("batch_end", b, ["acc", "loss"])]
        expected.append(("epoch_end", e, keys))
    expected.append(("train_end", keys))
    assert rec.calls == expected
    assert rec.seen[0] is model and rec.seen[2] is opt
    assert rec.seen[1] == {"epochs": 2, "steps": 3, "verbose": 0, "metrics": ["acc"]}


def test_stop_training_from_a_batch_hook_ends_the_epoch_and_the_fit():
    def stop(batch, logs):
        if batch == 1:
            cb.model.stop_training = True

    cb = LambdaCallback(on_batch_end=stop)
    rec = Recorder()
    x, y = make_blobs(64)
    model = make_mlp()
    hist = fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=5,
        batch_size=16,
        callbacks=[cb, rec],
        verbose=0,
    )
    assert hist.epoch == [0]
    assert [c for c in rec.calls if c[0] == "batch_end"] == [
        ("batch_end", 0, ["loss"]),
        ("batch_end", 1, ["loss"]),
    ]


# ----------------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize(
    "values, kwargs, stopped",
    [
        ([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], dict(patience=2), 3),
        ([1.0, 0.9, 0.95, 0.5], dict(patience=0), 2),
        ([1.0, 0.97, 0.5, 0.4], dict(patience=1, min_delta=0.05), 1),
        ([1.0, 0.9, 0.87, 0.5], dict(patience=1, min_delta=0.05), 2),
        ([1.0, 0.9, 0.95, 0.94, 0.3], dict(patience=2, baseline=0.5), 2),
        ([1.0, 0.9, 0.95, 0.94, 0.3], dict(patience=2), 3),
        ([1.0, 0.9, 0.8, 0.7], dict(patience=1), None),
    ],
)
def test_early_stopping_stops_at_the_keras_epoch(values, kwargs, stopped):
    es = EarlyStopping(**kwargs)
    _, hist, _ = _fit_scripted(values, [es])
    n = len(values) if stopped is None else stopped + 1
    assert hist.epoch == list(range(n))
    assert es.stopped_epoch == (stopped or 0)
    if stopped is not None:
        assert hist.stopped_reason.startswith(f"early stopping at epoch {stopped + 1}")


def test_early_stopping_auto_mode_maximises_accuracy():
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    _, hist, _ = _fit_scripted([0.5, 0.6, 0.55, 0.58, 0.9], [es], key="val_accuracy")
    assert hist.epoch == [0, 1, 2] and es.best == 0.6 and es.best_epoch == 1


@pytest.mark.parametrize(
    "values, best", [([1.0, 0.8, 0.9, 0.85, 0.95], 1), ([1.0, 0.5, 0.7], 1), ([0.5, 0.6, 0.7], 0)]
)
def test_restore_best_weights_loads_the_exact_best_arrays(values, best):
    es = EarlyStopping(patience=2, restore_best_weights=True)
    model, hist, snaps = _fit_scripted(values, [es])
    assert not np.array_equal(snaps[best]["0.weight"], snaps[-1]["0.weight"])
    for k, v in _state(model).items():
        np.testing.assert_array_equal(v, snaps[best][k], err_msg=k)


def test_early_stopping_without_the_monitored_key_warns_and_continues():
    with pytest.warns(UserWarning, match="'val_loss' is not in the logs"):
        _, hist, _ = _fit_scripted([1.0, 1.0, 1.0], [EarlyStopping()], key="other")
    assert hist.epoch == [0, 1, 2]


# ----------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_writes_loadable_files_on_improvement_only(tmp_path):
    pattern = str(tmp_path / "sub" / "ck-{epoch:02d}-{val_loss:.4f}.safetensors")
    ck = ModelCheckpoint(pattern, save_best_only=True)
    model, _, snaps = _fit_scripted([1.0, 1.2, 0.5, 0.7], [ck])
    files = sorted(p.name for p in (tmp_path / "sub").iterdir())
    assert files == ["ck-01-1.0000.safetensors", "ck-03-0.5000.safetensors"]
    for name, epoch in zip(files, (0, 2), strict=True):
        state = load(tmp_path / "sub" / name)
        assert sorted(state) == sorted(model.state_dict())
        for k, v in state.items():
            np.testing.assert_array_equal(v.numpy(), snaps[epoch][k], err_msg=k)
        assert load_metadata(tmp_path / "sub" / name)["epoch"] == str(epoch + 1)
    fresh = make_mlp(seed=5)
    fresh.load_state_dict(load(tmp_path / "sub" / files[-1]))
    assert ck.last_path.endswith(files[-1])


def test_model_checkpoint_saves_every_epoch_and_monitors_max(tmp_path):
    every = ModelCheckpoint(tmp_path / "e{epoch}.safetensors")
    best_acc = ModelCheckpoint(
        tmp_path / "best.safetensors", monitor="val_accuracy", save_best_only=True
    )
    model, _, snaps = _fit_scripted([0.2, 0.9, 0.5], [every, best_acc], key="val_accuracy")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.safetensors",
        "e1.safetensors",
        "e2.safetensors",
        "e3.safetensors",
    ]
    assert load_metadata(tmp_path / "best.safetensors")["epoch"] == "2"
    for k, v in load(tmp_path / "e3.safetensors").items():
        np.testing.assert_array_equal(v.numpy(), snaps[2][k])


# ----------------------------------------------------------------------------- LR schedules
def _lrs_per_epoch(callbacks=(), values=None, **kwargs):
    lrs = []
    probe = LambdaCallback(
        on_batch_begin=lambda b, logs: (
            lrs.append(probe.trainer.optimizer.param_groups[0]["lr"]) if b == 0 else None
        )
    )
    n = kwargs.pop("epochs", 4)
    _, hist, _ = _fit_scripted(values or [1.0] * n, [*callbacks, probe], **kwargs)
    return lrs, hist


def test_learning_rate_scheduler_with_a_keras_schedule():
    sched = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    lrs, hist = _lrs_per_epoch([sched])
    assert_close(lrs, [0.1, 0.1, 0.05, 0.025])
    assert_close(hist.history["learning_rate"], lrs)
    lrs, _ = _lrs_per_epoch([LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert_close(lrs, [0.01, 0.02, 0.03, 0.04])


def test_fit_steps_an_lr_scheduler_each_epoch():
    x, y = make_blobs(32)
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    hist = fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=4,
        scheduler=optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1),
        verbose=0,
    )
    assert_close(hist.history["learning_rate"], [0.1, 0.1, 0.01, 0.01])
    assert_close(opt.param_groups[0]["lr"], 0.001)


def test_reduce_on_plateau_is_stepped_with_the_monitored_value():
    x, y = make_blobs(48)
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    inject = LambdaCallback(
        on_epoch_end=lambda e, logs: logs.update(val_loss=[1.0, 1.0, 1.0, 0.5, 0.4][e])
    )
    hist = fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=5,
        batch_size=16,
        callbacks=[inject],
        scheduler=plateau,
        verbose=0,
    )
    assert_close(hist.history["learning_rate"], [0.1, 0.1, 0.05, 0.025, 0.025])


def test_step_interval_steps_the_scheduler_after_each_batch():
    x, y = make_blobs(48)
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=1.0)
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=2,
        batch_size=16,
        callbacks=[LearningRateScheduler(sched, interval="step")],
        verbose=0,
    )
    assert_close(opt.param_groups[0]["lr"], 0.5**6)


# ----------------------------------------------------------------------------- the others
def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    x, y = make_blobs(32)
    model = make_mlp()
    hist = fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=3,
        validation=(x, y),
        metrics=["accuracy"],
        callbacks=[CSVLogger(path)],
        verbose=0,
    )
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert_close([float(r["val_loss"]) for r in rows], hist.history["val_loss"])


def test_terminate_on_nan_sets_stop_training():
    cb = TerminateOnNaN()
    cb.set_model(SimpleNamespace(stop_training=False))
    cb.on_batch_end(0, {"loss": 0.3})
    assert cb.model.stop_training is False
    cb.on_batch_end(1, {"loss": float("inf")})
    assert cb.model.stop_training is True


def test_lambda_callback_only_listens_where_asked():
    seen = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: seen.append("begin"),
        on_epoch_end=lambda epoch, logs: seen.append(epoch),
    )
    x, y = make_blobs(16)
    model = make_mlp()
    fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=2,
        callbacks=[cb],
        verbose=0,
    )
    assert seen == ["begin", 0, 1]
    cb.on_batch_end(0, {})  # the others stay harmless no-ops


def test_callbacks_see_the_model_and_can_read_its_weights():
    x, y = make_blobs(16)
    model = make_mlp()
    norms = []
    cb = LambdaCallback(
        on_epoch_end=lambda e, logs: norms.append(
            float((cb.model[0].weight.detach() ** 2).sum().item())
        )
    )
    fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.5),
        epochs=2,
        callbacks=[cb],
        verbose=0,
    )
    assert len(norms) == 2 and norms[0] != norms[1]
    assert axon.is_grad_enabled()
