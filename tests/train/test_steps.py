"""The train-step seam of ``fit`` (``axon.train.steps``): a custom step, the TBPTT step,
and clipping in its one spelling (``clip_grad_norm=``, ``clip_grad_value=``; the old
``grad_clip=`` warns), checked bit for bit against loops written out by hand."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import axon as ax
from axon import nn, optim
from axon.train import BatchStep, NonFiniteError, TBPTTStep, TrainStep, fit, fit_stream
from axon.train.batches import split_batch
from axon.train.callbacks import BackupAndRestore, Callback
from tests.helpers import assert_equal


def _batches64(n: int = 48, size: int = 12, seed: int = 0):
    """float64 (x, y) batches as Tensors, so that fit keeps their dtype."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * 20.0  # large inputs: large gradients, so clipping acts
    y = rng.integers(0, 3, n)
    return [(ax.tensor(x[i : i + size]), ax.tensor(y[i : i + size])) for i in range(0, n, size)]


def _mlp64():
    ax.manual_seed(0)
    return nn.Sequential(
        nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 3, dtype=np.float64)
    )


def _assert_same_params(a, b) -> None:
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert_equal(y, x, msg=name)


class _Penalised(BatchStep):
    """The docstring's example: the loss plus a penalty on the outputs."""

    def train_step(self, batch):
        (x,), y = split_batch(batch)
        self.optimizer.zero_grad()
        out = self.model(x)
        loss = self.objective(out, y) + 1e-2 * (out * out).mean()
        value = self.trainer.update(loss)
        self.objective.update(out, y, y.shape[0])
        return value, y.shape[0]


class _Logged(Callback):
    def __init__(self) -> None:
        self.batches: list[tuple[int, int, float]] = []

    def on_batch_end(self, batch, logs=None):
        self.batches.append((self.trainer.epoch, batch, logs["loss"]))


def test_a_custom_step_is_the_loop_written_out():
    batches = _batches64()
    model, log = _mlp64(), _Logged()
    hist = fit(
        model,
        batches,
        loss="cross_entropy",
        optimizer=optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        epochs=2,
        metrics=["accuracy"],
        callbacks=[log],
        verbose=0,
        step=_Penalised(),
    )
    hand = _mlp64()
    opt = optim.SGD(hand.parameters(), lr=0.01, momentum=0.9)
    ce = nn.CrossEntropyLoss()
    means = []
    for _ in range(2):
        total = 0.0
        for x, y in batches:
            opt.zero_grad()
            out = hand(x)
            loss = ce(out, y) + 1e-2 * (out * out).mean()
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        means.append(total / 48)
    _assert_same_params(model, hand)
    assert_equal(np.array(hist.history["loss"]), np.array(means))
    assert list(hist.history) == ["loss", "accuracy"]
    assert [(e, b) for e, b, _ in log.batches] == [(e, b) for e in range(2) for b in range(4)]


class _EveryOther(TrainStep):
    """A step written from the base class: updates on even batches only (None: no update)."""

    def train_step(self, batch):
        self.seen = getattr(self, "seen", 0) + 1
        if self.seen % 2 == 0:
            return None
        (x,), y = split_batch(batch)
        self.optimizer.zero_grad()
        value = self.trainer.update(self.objective(self.model(x), y))
        return value, 1


def test_a_step_that_makes_no_update_is_not_counted():
    model = _mlp64()
    seen = []

    class Count(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(self.trainer.global_step)

    hist = fit(
        model,
        _batches64(),
        loss="cross_entropy",
        optimizer=optim.SGD(model.parameters(), lr=0.01),
        callbacks=[Count()],
        verbose=0,
        step=_EveryOther(),
    )
    assert seen == [1, 2] and len(hist.history["loss"]) == 1


def test_the_nan_guard_stops_a_custom_step():
    batches = _batches64()
    x, y = batches[2]
    batches[2] = (x * np.nan, y)
    model = _mlp64()
    hist = fit(
        model,
        batches,
        loss="cross_entropy",
        optimizer=optim.SGD(model.parameters(), lr=0.01),
        verbose=0,
        step=_Penalised(),
    )
    assert "epoch 1, step 3" in hist.stopped_reason and hist.history == {}
    assert all(np.isfinite(p.array).all() for p in model.parameters())
    with pytest.raises(NonFiniteError):
        fit(
            model,
            batches,
            loss="cross_entropy",
            optimizer=optim.SGD(model.parameters(), lr=0.01),
            verbose=0,
            raise_on_nan=True,
            step=_Penalised(),
        )


# ----------------------------------------------------------------------------- clipping
def test_clip_grad_value_equals_the_loop_with_clip_grad_value_():
    batches = _batches64()
    model = _mlp64()
    fit(
        model,
        batches,
        loss="cross_entropy",
        optimizer=optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        epochs=2,
        clip_grad_value=0.05,
        verbose=0,
    )
    hand = _mlp64()
    opt = optim.SGD(hand.parameters(), lr=0.1, momentum=0.9)
    clipped = 0
    for _ in range(2):
        for x, y in batches:
            opt.zero_grad()
            nn.CrossEntropyLoss()(hand(x), y).backward()
            clipped += sum(int((np.abs(p.grad.array) > 0.05).sum()) for p in hand.parameters())
            nn.utils.clip_grad_value_(hand.parameters(), 0.05)
            opt.step()
    assert clipped > 0, "the clipping acts"
    assert hand[0].weight.dtype == np.float64
    _assert_same_params(model, hand)


def _clipped_run(**clip):
    model = _mlp64()
    fit(
        model,
        _batches64(),
        loss="cross_entropy",
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        verbose=0,
        **clip,
    )
    return model


def test_grad_clip_still_works_and_warns_naming_clip_grad_norm():
    new = _clipped_run(clip_grad_norm=0.5)
    with pytest.warns(DeprecationWarning, match="clip_grad_norm=") as record:
        old = _clipped_run(grad_clip=0.5)
    assert record[0].filename == __file__  # points at the caller
    _assert_same_params(new, old)
    with pytest.raises(AssertionError):
        _assert_same_params(new, _clipped_run())


def test_both_spellings_of_the_norm_clipping_are_refused():
    with pytest.raises(TypeError, match="grad_clip"):
        _clipped_run(grad_clip=0.5, clip_grad_norm=0.5)


# ----------------------------------------------------------------------------- resume
class _Interrupt(Exception):
    pass


class _StopAt(Callback):
    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_batch_begin(self, batch, logs=None):
        if self.at is not None and self.trainer.global_step + 1 == self.at:
            raise _Interrupt


def _resumable(backup=None, stop_at=None, **clip):
    model = _mlp64()
    cbs = [_StopAt(stop_at)]
    if backup is not None:
        cbs.append(BackupAndRestore(backup, save_freq=3))
    hist = fit(
        model,
        _batches64(),
        loss="cross_entropy",
        optimizer=optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        epochs=3,
        callbacks=cbs,
        verbose=0,
        **clip,
    )
    return model, hist


def test_a_backup_resumes_with_either_spelling(tmp_path):
    straight, _ = _resumable(clip_grad_norm=0.5)
    with pytest.raises(_Interrupt), pytest.warns(DeprecationWarning):
        _resumable(tmp_path / "b", 8, grad_clip=0.5)
    resumed, _ = _resumable(tmp_path / "b", clip_grad_norm=0.5)
    _assert_same_params(straight, resumed)


def test_a_backup_with_the_former_names_resumes(tmp_path):
    """A backup's fingerprint written before fit took clip_grad_norm=: grad_clip, and no
    clip_grad_value."""
    straight, _ = _resumable(clip_grad_norm=0.5)
    with pytest.raises(_Interrupt):
        _resumable(tmp_path / "b", 8, clip_grad_norm=0.5)
    path = os.path.join(tmp_path, "b", "backup.safetensors")
    state = ax.load(path)
    fp = state["fingerprint"]
    fp["grad_clip"] = fp.pop("clip_grad_norm")
    del fp["clip_grad_value"]
    ax.save(state, path)
    resumed, _ = _resumable(tmp_path / "b", clip_grad_norm=0.5)
    _assert_same_params(straight, resumed)


# ----------------------------------------------------------------------------- TBPTT step
class _LM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.rnn, self.out = nn.Embedding(7, 6), nn.GRU(6, 8), nn.Linear(8, 7)

    def forward(self, x, state):
        h, state = self.rnn(self.emb(x), state)
        return self.out(h), state


def _stream():
    tokens = np.random.default_rng(3).integers(0, 7, 130)
    return ax.data.bptt_batches(ax.data.batchify(tokens, 4), 6)


@pytest.mark.parametrize("k", [None, 4, 9])
def test_the_tbptt_step_in_fit_is_fit_stream(k):
    def run(through_fit: bool):
        ax.manual_seed(0)
        model = _LM()
        args = dict(
            loss="cross_entropy",
            optimizer=optim.Adam(model.parameters(), lr=0.02),
            epochs=2,
            metrics=["accuracy"],
            validation=_stream(),
            clip_grad_norm=0.5,
            verbose=0,
        )
        if through_fit:
            hist = fit(model, _stream(), step=TBPTTStep(k), **args)
        else:
            hist = fit_stream(model, _stream(), tbptt_steps=k, **args)
        return model, hist

    (ma, ha), (mb, hb) = run(False), run(True)
    _assert_same_params(ma, mb)
    assert ha.history == hb.history
    assert list(ha.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]


def test_the_tbptt_step_state_is_where_the_epoch_stands():
    ax.manual_seed(0)
    model = _LM()
    states = []

    class Keep(Callback):
        def on_batch_end(self, batch, logs=None):
            states.append(self.trainer.strategy.state_dict())

    fit_stream(
        model,
        _stream(),
        loss="cross_entropy",
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        tbptt_steps=4,
        callbacks=[Keep()],
        verbose=0,
    )
    # windows of 4 time steps over batches of 6: updates end 4, 2 into batch 2, at its end
    assert [s["taken"] for s in states[:3]] == [1, 2, 2]
    assert states[0]["pending"][2] == 4 and states[1]["pending"][2] == 2
    assert states[2]["pending"] is None
    assert all(not s["state"].requires_grad for s in states)  # carried, detached
    step = TBPTTStep(4)
    step.load_state_dict(states[1])
    assert step.taken == 2 and step.pending[2] == 2 and step.state is states[1]["state"]


def test_the_tbptt_step_refuses_loss_weights_and_a_bad_window():
    with pytest.raises(ValueError, match="tbptt_steps"):
        TBPTTStep(0)
    model = _LM()
    with pytest.raises(TypeError, match="loss_weights"), warnings.catch_warnings():
        fit(
            model,
            _stream(),
            loss="cross_entropy",
            loss_weights=[1.0],
            optimizer=optim.SGD(model.parameters(), lr=0.1),
            verbose=0,
            step=TBPTTStep(4),
        )
