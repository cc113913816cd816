"""``fit`` / ``evaluate`` / ``predict``: learning, reproducibility, logs, modes, NaN guard."""

import math

import numpy as np
import pytest

import axon
from axon import nn, optim
from axon.autograd.grad_mode import is_grad_enabled
from axon.data import DataLoader, TensorDataset
from axon.train import NonFiniteError, evaluate, fit, predict
from axon.train.callbacks import LambdaCallback
from tests.helpers import assert_close

from .conftest import make_blobs, make_mlp


def _train(seed: int = 0, epochs: int = 8, **kwargs):
    x, y = make_blobs(seed=1)
    model = make_mlp(seed=seed)
    opt = optim.Adam(model.parameters(), lr=0.05)
    axon.manual_seed(seed)  # the shuffling order
    hist = fit(
        model,
        (x[:240], y[:240]),
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=epochs,
        validation=(x[240:], y[240:]),
        metrics=["accuracy"],
        verbose=0,
        **kwargs,
    )
    return model, hist


def test_fit_learns_and_logs_keras_keys():
    model, hist = _train()
    assert list(hist.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert hist.epoch == list(range(8))
    assert all(len(v) == 8 for v in hist.history.values())
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.9
    assert hist.history["val_accuracy"][-1] > 0.9
    assert hist.stopped_reason is None


def test_fit_is_reproducible_with_the_same_seed():
    m1, h1 = _train(seed=3)
    m2, h2 = _train(seed=3)
    assert h1.history == h2.history
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    _, h3 = _train(seed=4)
    assert h3.history != h1.history


def test_epoch_logs_are_batch_size_weighted_means():
    # batches of 4 and 1 samples: the epoch loss is the per-sample mean, not the mean of
    # the two batch means
    x = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]], np.float32)
    y = np.zeros((5, 1), np.float32)
    model = nn.Linear(1, 1)
    model.weight.array[...] = 1.0
    model.bias.array[...] = 0.0
    opt = optim.SGD(model.parameters(), lr=0.0)
    hist = fit(
        model,
        (x, y),
        loss=nn.MSELoss(),
        optimizer=opt,
        batch_size=4,
        shuffle=False,
        metrics=["mae"],
        verbose=0,
    )
    assert_close(hist.history["loss"][0], np.mean(x**2))
    assert_close(hist.history["mae"][0], np.mean(np.abs(x)))


def test_fit_accepts_loaders_datasets_and_multi_input_batches():
    x, y = make_blobs(64)

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(1, 3)
            self.b = nn.Linear(1, 3)

        def forward(self, x1, x2):
            return self.a(x1) + self.b(x2)

    model = TwoInputs()
    opt = optim.SGD(model.parameters(), lr=0.1)
    x1, x2 = x[:, :1], x[:, 1:]
    loader = DataLoader(TensorDataset(x1, x2, y), batch_size=16)
    h = fit(model, loader, loss=nn.CrossEntropyLoss(), optimizer=opt, verbose=0)
    h2 = fit(model, ((x1, x2), y), loss="cross_entropy", optimizer=opt, verbose=0)
    h3 = fit(
        model,
        TensorDataset(x1, x2, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        verbose=0,
        validation=loader,
    )
    for hist in (h, h2, h3):
        assert math.isfinite(hist.history["loss"][0])
    assert predict(model, (x1, x2)).shape == (64, 3)


def test_float64_arrays_are_cast_to_the_default_dtype():
    x, y = make_blobs(32)
    model = make_mlp()
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))
    fit(
        model,
        (x.astype(np.float64), y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        verbose=0,
    )
    assert set(seen) == {np.dtype(np.float32)}


class _ModeProbe(nn.Module):
    """Records (training, grad enabled) at each forward."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.drop = nn.Dropout(0.5)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, is_grad_enabled()))
        return self.drop(self.fc(x))


@pytest.mark.parametrize("start_training", [True, False])
def test_evaluate_and_predict_run_in_eval_mode_without_grad_and_restore(start_training):
    x, y = make_blobs(50)
    model = _ModeProbe()
    model.train(start_training)
    model.drop.train(True)  # a mixed state must come back exactly
    out = predict(model, x, batch_size=16)
    assert out.shape == (50, 3) and not out.requires_grad
    res = evaluate(model, (x, y), loss=nn.CrossEntropyLoss(), metrics=["accuracy"], batch_size=16)
    assert set(res) == {"loss", "accuracy"}
    assert all(c == (False, False) for c in model.calls)
    assert len(model.calls) == 8  # 4 batches each
    assert model.training is start_training and model.drop.training is True
    assert is_grad_enabled()
    # predict concatenates the eval-mode outputs in order (dropout off)
    model.eval()
    with axon.no_grad():
        assert_close(out, model(axon.tensor(x)))


def test_predict_drops_targets_from_loader_batches():
    x, y = make_blobs(20)
    model = make_mlp()
    out = predict(model, DataLoader(TensorDataset(x, y), batch_size=8))
    assert out.shape == (20, 3)


def test_fit_trains_in_train_mode_validates_in_eval_mode_and_restores():
    x, y = make_blobs(40)
    model = _ModeProbe()
    model.eval()
    fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        validation=(x, y),
        batch_size=20,
        verbose=0,
    )
    assert model.calls == [(True, True)] * 2 + [(False, False)] * 2
    assert model.training is False


def test_clip_grad_norm_limits_the_global_norm_of_the_update():
    x, y = make_blobs(32)
    model = make_mlp()
    before = [p.array.copy() for p in model.parameters()]
    fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 1.0),
        batch_size=32,
        clip_grad_norm=1e-3,
        verbose=0,
    )
    delta = np.sqrt(
        sum(((p.array - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True))
    )
    assert_close(delta, 1e-3, rtol=1e-3)


# ----------------------------------------------------------------------------- NaN guard
def _nan_at_step(bad_step: int):
    ce = nn.CrossEntropyLoss()
    calls = {"n": 0}

    def loss(out, y):
        calls["n"] += 1
        return ce(out, y) * (float("nan") if calls["n"] == bad_step else 1.0)

    return loss


def _snapshots():
    snaps = []
    cb = LambdaCallback(
        on_batch_end=lambda b, logs: snaps.append(
            {k: v.numpy().copy() for k, v in cb.model.state_dict().items()}
        )
    )
    return snaps, cb


def test_nan_loss_stops_with_a_message_and_leaves_parameters_untouched(capsys):
    x, y = make_blobs(64)
    model = make_mlp()
    snaps, cb = _snapshots()
    hist = fit(
        model,
        (x, y),
        loss=_nan_at_step(7),
        optimizer=optim.SGD(model.parameters(), 0.1),
        epochs=3,
        batch_size=16,
        callbacks=[cb],
        verbose=0,
    )
    # 4 steps per epoch: the 7th step is epoch 2, step 3
    msg = hist.stopped_reason
    assert msg.startswith("Training stopped at epoch 2, step 3: the loss is nan")
    assert "Try a lower learning rate" in msg
    assert msg in capsys.readouterr().out
    assert len(snaps) == 6 and hist.epoch == [0]  # the unfinished epoch is not recorded
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snaps[-1][k], err_msg=k)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_nan_gradient_with_a_finite_loss_names_that_parameter():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)
            self.scale = nn.Parameter(axon.zeros(1))  # d sqrt(s)/ds is infinite at 0

        def forward(self, x):
            return self.fc(x) * (self.scale.sqrt() + 1.0)

    x, y = make_blobs(16)
    model = Gate()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    hist = fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), 0.1),
        verbose=0,
    )
    assert (
        "epoch 1, step 1: the gradient of 'scale' contains Inf (1 of 1 values)"
        in hist.stopped_reason
    )
    assert "(loss = nan)" not in hist.stopped_reason
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_learning_rate_is_caught_before_a_bad_step():
    x, y = make_blobs(64)
    model = make_mlp()
    snaps, cb = _snapshots()
    hist = fit(
        model,
        (x, y),
        loss=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=1e30),
        epochs=2,
        batch_size=16,
        callbacks=[cb],
        verbose=0,
    )
    msg = hist.stopped_reason
    assert msg.startswith("Training stopped at epoch 1, step ") and "nan" in msg
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snaps[-1][k], err_msg=k)
        assert np.isfinite(v.numpy()).all()


def test_raise_on_nan_raises_a_floating_point_error():
    x, y = make_blobs(32)
    model = make_mlp()
    with pytest.raises(NonFiniteError, match=r"epoch 1, step 1: the loss is nan") as info:
        fit(
            model,
            (x, y),
            loss=_nan_at_step(1),
            optimizer=optim.SGD(model.parameters(), 0.1),
            verbose=0,
            raise_on_nan=True,
        )
    assert isinstance(info.value, FloatingPointError)
    assert model.training  # modes restored on the way out


def test_bad_batches_and_empty_data_are_reported():
    model = make_mlp()
    opt = optim.SGD(model.parameters(), 0.1)
    with pytest.raises(TypeError, match="each batch must be a tuple"):
        fit(model, [axon.zeros(4, 2)], loss=nn.CrossEntropyLoss(), optimizer=opt, verbose=0)
    with pytest.raises(ValueError, match="no batches"):
        fit(model, [], loss=nn.CrossEntropyLoss(), optimizer=opt, verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        fit(model, [], loss="crossentropy", optimizer=opt, verbose=0)
