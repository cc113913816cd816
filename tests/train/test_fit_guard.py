"""fit's NaN/Inf guard end to end (issue 14): a BatchNorm buffer broken by a bad batch is
named and the model comes back as it was before that step; a diverging loss warns."""

import warnings

import numpy as np
import pytest

import axon as ax
from axon import nn, optim
from axon.train import fit
from tests.helpers import assert_equal


def _bn_net():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def _state(model) -> dict:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_overflowing_batch_stops_fit_and_the_model_comes_back_finite_as_before_it():
    ax.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 4)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    x[20] = 3e38  # the second batch of 16 overflows the first layer: BatchNorm's stats go inf
    model = _bn_net()
    states = []
    keep = ax.callbacks.LambdaCallback(
        on_batch_begin=lambda batch, logs: states.append(_state(model))
    )
    hist = fit(
        model,
        (x, y),
        loss="cross_entropy",
        optimizer=optim.Adam(model.parameters()),
        epochs=2,
        batch_size=16,
        shuffle=False,
        callbacks=[keep],
        verbose=0,
    )
    msg = hist.stopped_reason
    assert msg.startswith("Training stopped at epoch 1, step 2: "), msg
    # the first bad tensor, parameters then buffers: BatchNorm's statistics (the old guard
    # looked at parameters and gradients only, and left running_mean inf in the model)
    assert "the buffer '1.running_mean' contains Inf (1 of 8 values)" in msg, msg
    after = _state(model)
    assert len(states) == 2
    for key, value in after.items():  # every parameter and buffer, the counter included
        if value.dtype.kind == "f":
            assert np.isfinite(value).all(), key
        assert_equal(value, states[1][key], msg=key)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_adam_at_a_huge_learning_rate_warns_that_the_loss_diverges():
    ax.manual_seed(0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)).astype(np.float32)
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
    with pytest.warns(RuntimeWarning, match="diverging"):
        fit(
            model,
            (x, y),
            loss="mse",
            optimizer=optim.Adam(model.parameters(), lr=1e6),
            epochs=2,
            batch_size=32,
            verbose=0,
        )


def test_ordinary_training_neither_warns_nor_stops():
    ax.manual_seed(0)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((128, 4)).astype(np.float32)
    y = rng.integers(0, 3, 128)
    model = _bn_net()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        hist = fit(
            model,
            (x, y),
            loss="cross_entropy",
            optimizer=optim.Adam(model.parameters(), lr=1e-2),
            epochs=3,
            batch_size=16,
            verbose=0,
        )
    assert hist.stopped_reason is None and len(hist.epoch) == 3
