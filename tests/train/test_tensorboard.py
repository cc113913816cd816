"""``callbacks.TensorBoard`` in ``fit``: the events read back by TensorBoard's own reader
equal the History, the learning rate a scheduler set, the final weights and the last
gradients, under Keras' tags and runs; a resumed run leaves one value per tag and step."""

from types import SimpleNamespace

import numpy as np
import pytest

import axon
from axon import optim
from axon.train import fit
from axon.train.callbacks import BackupAndRestore, Callback, TensorBoard
from tests.utils.events import png_pixels, read_run, scalars

from .conftest import make_blobs, make_mlp

EPOCHS, BATCHES = 3, 8  # 240 training points in batches of 30


def _fit(log_dir, callbacks=(), after=(), **tensorboard):
    """The tiny MLP on blobs, 3 epochs with validation and a StepLR halving the rate each
    epoch, with ``callbacks`` before the TensorBoard callback and ``after`` after it;
    returns (model, history)."""
    x, y = make_blobs(300)
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.2)
    history = fit(
        model,
        (x[:240], y[:240]),
        validation=(x[240:], y[240:]),
        loss="cross_entropy",
        optimizer=opt,
        scheduler=optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
        metrics=["accuracy"],
        epochs=EPOCHS,
        batch_size=30,
        verbose=0,
        callbacks=[*callbacks, TensorBoard(log_dir, **tensorboard), *after],
    )
    return model, history


def _float32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def test_fit_writes_the_history_learning_rate_histograms_and_figure(tmp_path):
    model, history = _fit(tmp_path, histogram_freq=1, update_freq=2)
    train, validation = read_run(tmp_path / "train"), read_run(tmp_path / "validation")
    epochs = list(range(EPOCHS))
    for name in ("loss", "accuracy"):
        assert scalars(train, "epoch_" + name) == (epochs, list(_float32(history[name])))
        assert scalars(validation, "epoch_" + name) == (
            epochs,
            list(_float32(history["val_" + name])),
        )
        steps, values = scalars(validation, f"evaluation_{name}_vs_iterations")
        assert steps == [BATCHES, 2 * BATCHES, 3 * BATCHES]  # updates made so far
        assert values == list(_float32(history["val_" + name]))
    # the rate of each epoch's updates, as the scheduler set it and History recorded it
    assert scalars(train, "epoch_learning_rate") == (epochs, list(_float32([0.2, 0.1, 0.05])))
    assert history["learning_rate"] == pytest.approx([0.2, 0.1, 0.05], rel=1e-12)
    steps, batch_loss = scalars(train, "batch_loss")
    assert steps == list(range(2, EPOCHS * BATCHES + 1, 2))
    assert all(np.isfinite(batch_loss))
    assert len(scalars(train, "batch_accuracy")[0]) == len(steps)
    assert not any(t.startswith("val_") for t in train.Tags()["scalars"])

    for name, param in model.named_parameters():
        weights = train.Histograms(name)
        assert [h.step for h in weights] == epochs
        final = param.detach().numpy().astype(np.float64)
        h = weights[-1].histogram_value  # the last epoch: the final weights
        assert (h.num, h.min, h.max) == (final.size, final.min(), final.max())
        np.testing.assert_allclose(h.sum, final.sum(), rtol=1e-12, atol=1e-12)
        grads = train.Histograms(f"{name}/gradient")
        assert [g.step for g in grads] == epochs
        last = param.grad.numpy().astype(np.float64)  # the last update's gradient
        g = grads[-1].histogram_value
        assert (g.num, g.min, g.max) == (last.size, last.min(), last.max())
        assert g.sum_squares > 0

    (figure,) = train.Images("training_curves")
    drawn = history.plot()
    width, height = (drawn.get_size_inches() * drawn.dpi).round().astype(int)
    assert (figure.step, figure.width, figure.height) == (EPOCHS - 1, width, height)
    assert png_pixels(figure).std() > 0  # something is drawn
    (table,) = train.Tensors("model/text_summary")
    assert b"Linear" in table.tensor_proto.string_val[0]


def test_by_default_epochs_only_and_a_rate_per_param_group(tmp_path):
    """No batch scalars, no histograms; param groups with different rates each have a
    curve."""
    x, y = make_blobs(60)
    model = make_mlp()
    groups = [
        {"params": model[0].parameters(), "lr": 0.1},
        {"params": model[2].parameters(), "lr": 0.01},
    ]
    fit(
        model,
        (x, y),
        loss="cross_entropy",
        optimizer=optim.SGD(groups),
        epochs=2,
        verbose=0,
        callbacks=[TensorBoard(tmp_path, write_graph=False)],
    )
    train = read_run(tmp_path / "train")
    assert scalars(train, "epoch_learning_rate/group_0") == ([0, 1], list(_float32([0.1] * 2)))
    assert scalars(train, "epoch_learning_rate/group_1") == ([0, 1], list(_float32([0.01] * 2)))
    assert sorted(train.Tags()["scalars"]) == [
        "epoch_learning_rate/group_0",
        "epoch_learning_rate/group_1",
        "epoch_loss",
    ]
    assert train.Tags()["histograms"] == [] and train.Tags()["tensors"] == []
    assert not (tmp_path / "validation").exists()  # no validation data: no empty run


class Interrupt(Exception):
    pass


class _CrashAt(Callback):
    """Raises Interrupt before the update numbered ``update`` (1-based, over the run), or
    at the end of the 0-based ``epoch`` (after the callbacks before it, before the
    backup)."""

    def __init__(self, update: int | None = None, epoch: int | None = None) -> None:
        self.update, self.epoch = update, epoch

    def on_batch_begin(self, batch, logs=None):
        if self.trainer.global_step + 1 == self.update:
            raise Interrupt

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupt


def test_resumed_run_leaves_one_value_per_epoch_and_tag(tmp_path):
    logs, backup = tmp_path / "logs", tmp_path / "backup"
    options = {"histogram_freq": 1, "update_freq": 2}  # (the same callbacks each time)
    # in the second epoch, after the first epoch's backup: its batch scalars are cut
    with pytest.raises(Interrupt):
        _fit(logs, [BackupAndRestore(backup)], [_CrashAt(update=BATCHES + 6)], **options)
    # resumed, then at the second epoch's end, after its scalars and histograms were
    # written but before its backup: the file this run made is removed
    with pytest.raises(Interrupt):
        _fit(logs, [BackupAndRestore(backup)], [_CrashAt(epoch=1)], **options)
    _, history = _fit(logs, [BackupAndRestore(backup)], [_CrashAt()], **options)
    assert len(history["loss"]) == EPOCHS
    train, validation = read_run(logs / "train"), read_run(logs / "validation")
    epochs = list(range(EPOCHS))
    assert scalars(train, "epoch_loss") == (epochs, list(_float32(history["loss"])))
    assert scalars(validation, "epoch_loss") == (epochs, list(_float32(history["val_loss"])))
    assert scalars(train, "epoch_learning_rate")[0] == epochs
    assert scalars(train, "batch_loss")[0] == list(range(2, EPOCHS * BATCHES + 1, 2))
    assert [h.step for h in train.Histograms("0.weight")] == epochs
    assert [h.step for h in train.Histograms("0.weight/gradient")] == epochs
    assert len(train.Tensors("model/text_summary")) == 1
    assert len(train.Images("training_curves")) == 1


def test_only_rank_zero_writes(tmp_path):
    callback = TensorBoard(tmp_path, histogram_freq=1, update_freq=1)
    model = make_mlp()
    history = axon.History()
    history.on_epoch_end(0, {"loss": 1.0})
    callback.set_model(model)
    callback.set_trainer(
        SimpleNamespace(
            is_global_zero=False, resuming=False, global_step=1, optimizer=None, history=history
        )
    )
    callback.on_train_begin()
    callback.on_batch_end(0, {"loss": 1.0})
    callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    callback.load_state_dict(callback.state_dict())
    callback.on_train_end()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"update_freq": 0}, "update_freq"),
        ({"update_freq": "step"}, "update_freq"),
        ({"histogram_freq": -1}, "histogram_freq"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, error):
    with pytest.raises(ValueError, match=error):
        TensorBoard(tmp_path, **kwargs)
