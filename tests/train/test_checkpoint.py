"""axon/train/checkpoint.py's parts: the state dicts of metrics, objectives and callbacks
(through ``axon.save`` and back), ``gather``/``restore`` of a whole training state, and
the fingerprint that refuses a resume with other arguments."""

from __future__ import annotations

import io

import numpy as np
import pytest

import axon as ax
from axon import nn, optim
from axon.train import checkpoint, metrics
from axon.train.callbacks import (
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
)
from axon.train.fit import TrainState
from axon.train.history import History
from axon.train.objective import MultiOutputObjective, Objective
from tests.helpers import assert_equal


def _through_save(obj):
    buf = io.BytesIO()
    ax.save(obj, buf)
    buf.seek(0)
    return ax.load(buf)


def test_a_metric_continues_its_running_mean_from_its_state():
    rng = np.random.default_rng(0)
    out, y = rng.normal(size=(30, 4)), rng.integers(0, 4, 30)
    whole = metrics.Accuracy()
    whole.update(out[:10], y[:10])
    whole.update(out[10:], y[10:])
    first = metrics.Accuracy()
    first.update(out[:10], y[:10])
    second = metrics.Accuracy()
    second.load_state_dict(_through_save(first.state_dict()))
    second.update(out[10:], y[10:])
    assert_equal(second.result(), whole.result())
    assert second.count == 30


def test_objectives_save_their_sums():
    rng = np.random.default_rng(1)
    out, y = ax.tensor(rng.normal(size=(8, 3))), ax.tensor(rng.integers(0, 3, 8))
    single = Objective("cross_entropy", ["accuracy", "top_2_accuracy"])
    single.update(out, y, 8)
    fresh = Objective("cross_entropy", ["accuracy", "top_2_accuracy"])
    fresh.load_state_dict(_through_save(single.state_dict()))
    assert fresh.logs() == single.logs()

    multi = MultiOutputObjective("cross_entropy", ["accuracy"])
    multi(out, y)
    multi.update(out, y, 8)
    again = MultiOutputObjective("cross_entropy", ["accuracy"])  # names bound from the state
    again.load_state_dict(_through_save(multi.state_dict()))
    assert again.logs() == multi.logs() and again.names == ["output_1"]


def test_callbacks_state_dicts_survive_a_save(tmp_path):
    model = nn.Linear(2, 2)
    es = EarlyStopping("loss", restore_best_weights=True)
    es.set_model(model)
    es.on_epoch_end(0, {"loss": 1.0})
    es.on_epoch_end(1, {"loss": 2.0})
    back = EarlyStopping("loss", restore_best_weights=True)
    back.load_state_dict(_through_save(es.state_dict()))
    assert (back.wait, back.best, back.best_epoch) == (1, 1.0, 0)
    for k, v in es.best_weights.items():
        assert_equal(back.best_weights[k], v)

    h = History()
    h.on_epoch_end(0, {"loss": 0.1 + 0.2, "accuracy": float("nan")})
    h2 = History()
    h2.load_state_dict(_through_save(h.state_dict()))
    assert h2.epoch == [0] and h2.history["loss"] == [0.1 + 0.2]
    assert np.isnan(h2.history["accuracy"][0])

    mc = ModelCheckpoint(tmp_path / "m.safetensors", monitor="loss", save_best_only=True)
    mc.set_model(model)
    mc.on_epoch_end(0, {"loss": 0.5})
    mc2 = ModelCheckpoint(tmp_path / "m.safetensors", monitor="loss", save_best_only=True)
    mc2.load_state_dict(_through_save(mc.state_dict()))
    assert mc2.best == 0.5 and mc2.last_path == mc.last_path

    opt = optim.SGD(model.parameters(), lr=1.0)
    plateau = LearningRateScheduler(
        optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0), monitor="loss"
    )
    for epoch, loss in enumerate([1.0, 2.0, 3.0]):
        plateau.on_epoch_begin(epoch)
        plateau.on_epoch_end(epoch, {"loss": loss})
    opt2 = optim.SGD(model.parameters(), lr=1.0)
    plateau2 = LearningRateScheduler(
        optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=0), monitor="loss"
    )
    plateau2.load_state_dict(_through_save(plateau.state_dict()))
    assert plateau2.schedule.state_dict() == plateau.schedule.state_dict()
    assert plateau2._begun == 2


def test_csv_logger_cuts_rows_written_after_its_state(tmp_path):
    log = CSVLogger(tmp_path / "log.csv")
    log.on_train_begin()
    log.on_epoch_end(0, {"loss": 1.0})
    state = _through_save(log.state_dict())
    log.on_epoch_end(1, {"loss": 0.5})
    log.load_state_dict(state)
    log.on_epoch_end(1, {"loss": 0.25})
    log.close()
    assert (tmp_path / "log.csv").read_text().splitlines() == ["epoch,loss", "0,1.0", "1,0.25"]


def _trainer(model, opt):
    state = TrainState(model, opt, "cross_entropy", History(), {"metrics": ["accuracy"]})
    state.callbacks = [state.history]
    state.objective = Objective("cross_entropy", ["accuracy"])
    state.fingerprint = checkpoint.fingerprint(state, None, [1, 2, 3], grad_clip=None)
    return state


def test_gather_and_restore_put_back_model_optimizer_and_random_stream():
    ax.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(ax.randn(5, 3)).sum().backward()
    opt.step()
    trainer = _trainer(model, opt)
    trainer.history.on_epoch_end(0, {"loss": 0.7})
    trainer.global_step, trainer.total, trainer.count = 9, 4.5, 40
    trainer.objective.update(np.eye(3)[[0, 1, 1]], np.array([0, 1, 2]), 3)
    saved = _through_save(checkpoint.gather(trainer, epoch=1, step=3))
    expected_next = ax.rand(4)  # what the stream draws after the checkpoint

    ax.manual_seed(3)
    model2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt2 = optim.Adam(model2.parameters(), lr=0.1)
    fresh = _trainer(model2, opt2)
    loop = checkpoint.restore(fresh, saved)
    assert (loop["epoch"], loop["step"], fresh.global_step) == (1, 3, 9)
    assert (fresh.total, fresh.count) == (4.5, 40)
    assert fresh.objective.logs() == {"accuracy": 2 / 3}
    assert fresh.history.history == {"loss": [0.7]}
    for (name, a), (_, b) in zip(
        model.state_dict().items(), model2.state_dict().items(), strict=True
    ):
        assert_equal(b, a, msg=name)
    for i, s in opt.state_dict()["state"].items():
        assert_equal(opt2.state_dict()["state"][i]["exp_avg_sq"], s["exp_avg_sq"])
    assert_equal(ax.rand(4), expected_next)


def test_the_fingerprint_names_every_difference():
    saved = {f"k{i}": "a" for i in range(12)}
    now = {**{f"k{i}": "b" for i in range(10)}, "new": "x"}
    with pytest.raises(ValueError) as err:
        checkpoint.check_fingerprint(saved, now, "dir/backup")
    text = str(err.value)
    assert "k0: a in the backup, b now" in text and "k7: a in the backup, b now" in text
    assert "... and 5 more" in text  # k8, k9, k10, k11 (absent now), new (absent before)
    checkpoint.check_fingerprint(saved, dict(saved), "dir/backup")  # equal: no error


def test_the_fingerprint_sees_the_model_layout():
    def fp(width):
        ax.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, width), nn.ReLU())
        return checkpoint.fingerprint(
            _trainer(model, optim.SGD(model.parameters(), lr=0.1)), None, [1]
        )

    assert fp(4) == fp(4)
    a, b = fp(4), fp(5)
    assert a["model entry '0.weight'"] == "(4, 3) float32"
    assert b["model entry '0.weight'"] == "(5, 3) float32"


def test_describe_names_losses_stably():
    def my_loss(o, t):
        return o

    assert checkpoint.describe("mse") == "mse"
    assert checkpoint.describe(my_loss).endswith(
        "test_describe_names_losses_stably.<locals>.my_loss"
    )
    assert checkpoint.describe(nn.CrossEntropyLoss(label_smoothing=0.1)) != checkpoint.describe(
        nn.CrossEntropyLoss()
    )
    assert checkpoint.describe({"a": [1, None]}) == "{a: [1, None]}"
