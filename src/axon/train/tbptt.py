"""Truncated back-propagation through time (TBPTT) over one long stream: ``fit_stream``
and ``evaluate_stream``.

A language model reads a corpus as B parallel streams (``axon.data.batchify``) in
consecutive windows (``axon.data.bptt_batches``). The recurrent state at the end of one
window is where the next window starts: it is carried over, so the model sees unbroken
text (Keras' ``stateful=True`` RNNs). Gradients, though, only flow back a fixed number
of time steps: every ``k`` steps the loss of those steps is back-propagated, the
optimizer steps, and the state is detached from the graph (PyTorch word_language_model's
``repackage_hidden``), so memory and time stay bounded however long the stream is::

    state = None
    for each window of k time steps:
        output, state = model(x, state)      # starts from the carried state
        loss(output, y).backward(); clip; optimizer.step()
        state = detach_state(state)          # same values, no history

The model protocol: ``output, state = model(*inputs, state)``, where ``state`` is
``None`` at the start of each epoch (the model starts from zeros, as ``nn.LSTM`` does
for ``hx=None``) and otherwise whatever the model returned last: a Tensor, or a tuple,
list or dict of them (an LSTM's ``(h, c)``), nested as deep as needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, _wrap
from ..data.text import BPTTBatches
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from . import checkpoint
from . import metrics as M
from .base import Callback, CallbackList
from .checkpoint import BackupAndRestore
from .fit import (
    NonFiniteError,
    TrainState,
    _array,
    _callback_list,
    _epoch_logs,
    _resolve_loss,
    _restore_modes,
    _save_modes,
    _split_batch,
)
from .guard import FiniteGuard
from .history import History
from .objective import Objective

__all__ = ["detach_state", "evaluate_stream", "fit_stream"]


def detach_state(state):
    """The same state cut from the graph: every Tensor in it replaced by ``t.detach()``
    (same values, shared memory, no history), tuples, lists and dicts rebuilt around
    them; ``None`` and anything else returned as is."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


def _flat_for_classes(output, target) -> tuple[Any, Any]:
    """Sequence outputs (..., C) against integer targets (...) are flattened to (N, C) and
    (N,), the shapes ``cross_entropy`` and ``accuracy`` expect; anything else is kept."""
    o_shape, t_shape = getattr(output, "shape", ()), getattr(target, "shape", ())
    kind = target.dtype.kind if hasattr(target, "dtype") else ""
    if kind and kind in "iu" and len(o_shape) > 2 and tuple(o_shape[:-1]) == tuple(t_shape):
        return output.reshape(-1, o_shape[-1]), target.reshape(-1)  # (..., C) -> (N, C)
    return output, target


def _call(model, inputs: tuple, state):
    result = model(*inputs, state)
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise TypeError(
            "fit_stream: the model must return (output, state) when called as "
            f"model(*inputs, state); it returned {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, tuple | list) else "")
        )
    return result


def _time_slice(x, dim: int, start: int, stop: int):
    """``x[start:stop]`` along dimension ``dim`` (a view, wrapped without a graph)."""
    data = x.array if isinstance(x, Tensor) else np.asarray(x)
    return _wrap(data[(slice(None),) * dim + (slice(start, stop),)])


def _chunks(inputs: tuple, target, k: int | None, used: int, time_dim: int, start: int = 0):
    """Cut one batch along time so that windows end every ``k`` steps, ``used`` steps of
    the current window being taken already, from time step ``start`` of the batch on (a
    batch resumed in its middle). Yields ``(inputs, target, steps, end)``, ``end`` being
    where the piece stops in the batch."""
    length = inputs[0].shape[time_dim]
    if start >= length:
        return
    if k is None or used + length - start <= k:
        if start == 0:
            yield inputs, target, length, length
        else:
            yield (
                tuple(_time_slice(x, time_dim, start, length) for x in inputs),
                _time_slice(target, time_dim, start, length),
                length - start,
                length,
            )
        return
    if getattr(target, "shape", ())[time_dim : time_dim + 1] != (length,):
        raise ValueError(
            f"tbptt_steps={k} cuts a batch of {length} time steps, which needs targets with "
            f"the same time dimension (dim {time_dim}); got target shape "
            f"{tuple(getattr(target, 'shape', ()))} (do not flatten the targets)"
        )
    while start < length:
        n = min(length - start, k - used)
        part = tuple(_time_slice(x, time_dim, start, start + n) for x in inputs)
        yield part, _time_slice(target, time_dim, start, start + n), n, start + n
        start += n
        used = 0


def _score(metric_list, out, target) -> None:
    if metric_list:
        o, t = _flat_for_classes(_array(out), _array(target))
        for m in metric_list:
            m.update(o, t)


def evaluate_stream(model, data, *, loss=None, metrics=()) -> dict[str, float]:
    """Mean loss and metrics over a stream, the state carried from batch to batch (no
    graph, eval mode; the previous modes are restored). The mean is over target
    elements (tokens), so for cross-entropy ``exp(loss)`` is the perplexity."""
    loss_fn = None if loss is None else _resolve_loss(loss)
    metric_list = M.get_all(metrics, fresh=True)
    modes = _save_modes(model)
    try:
        model.eval()
        with no_grad():
            return _run_eval_stream(model, data, loss_fn, metric_list)
    finally:
        _restore_modes(modes)


def _run_eval_stream(model, data, loss_fn, metric_list) -> dict[str, float]:
    for m in metric_list:
        m.reset()
    state, total, count = None, 0.0, 0
    for batch in data:
        inputs, target = _split_batch(batch)
        out, state = _call(model, inputs, state)
        n = int(np.size(_array(target)))
        if loss_fn is not None:
            total += float(loss_fn(*_flat_for_classes(out, target)).item()) * n
        count += n
        _score(metric_list, out, target)
    if count == 0:
        raise ValueError("evaluate_stream: the data yielded no batches")
    logs = {"loss": total / count} if loss_fn is not None else {}
    logs.update((m.name, m.result()) for m in metric_list)
    return logs


def _stream_steps(data, k: int | None) -> int | None:
    """Updates per epoch, when known: batches for ``k=None``, else windows of ``k`` steps
    of a ``bptt_batches`` stream."""
    if k is None:
        return len(data) if hasattr(data, "__len__") else None
    if isinstance(data, BPTTBatches):
        return -(-(len(data.stream) - 1) // k)
    return None


class _Window:
    """The losses of the chunks since the last update: ``(loss, tokens)`` pairs and the
    time steps they cover."""

    def __init__(self) -> None:
        self.parts: list[tuple[Tensor, int]] = []
        self.steps = 0
        self.tokens = 0

    def add(self, l: Tensor, tokens: int, steps: int) -> None:
        self.parts.append((l, tokens))
        self.tokens += tokens
        self.steps += steps

    def mean_loss(self) -> Tensor:
        """The mean over all the window's tokens: sum_i (n_i / N) loss_i (a chunk's loss
        being the mean over its n_i tokens); one chunk: its loss itself."""
        if len(self.parts) == 1:
            return self.parts[0][0]
        total = None
        for l, n in self.parts:
            term = l * (n / self.tokens)
            total = term if total is None else total + term
        return total


class _StreamTrainer:
    """One ``fit_stream`` run: the per-epoch loop over the stream, window by window."""

    def __init__(
        self,
        model,
        loss_fn,
        optimizer,
        k,
        time_dim,
        clip_norm,
        clip_value,
        metrics,
        cblist,
        trainer: TrainState,
    ) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.k, self.time_dim = k, time_dim
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.metrics, self.cblist, self.trainer = metrics, cblist, trainer
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.guard = FiniteGuard(model)
        self.batch_logs = cblist.wants_batch_logs
        self.pending = None

    def epoch(self, data, resume: dict | None = None) -> tuple[float, int, str | None]:
        """Train over ``data`` once, or over the rest of it from a restored backup's
        position ``resume``; returns (sum of loss x tokens, tokens, NaN message)."""
        if resume is None:
            for m in self.metrics:
                m.reset()
            self.state, self.step, self.total, self.count = None, 0, 0.0, 0
            self.taken, pending = 0, None
            batches = checkpoint.epoch_batches(self.trainer, data)
        else:  # load_state_dict has put back the carried state and the sums
            pending = None if resume["stop_training"] else self.pending
            batches = checkpoint.resume_batches(self.trainer, data, resume, self.taken)
        self.optimizer.zero_grad()
        self.window = _Window()
        if pending is not None:  # the batch the backup was taken in, from where it was
            problem = self.batch(*pending)
            if problem is not None or self.model.stop_training:
                return self.total, self.count, problem
        for batch in batches:
            self.taken += 1
            inputs, target = _split_batch(batch)
            problem = self.batch(inputs, target, 0)
            if problem is not None or self.model.stop_training:
                return self.total, self.count, problem
        problem = None
        if self.window.parts:  # the stream ended inside a window: update on what there is
            problem = self.update(self.window)  # (its loss counts in the epoch's)
        return self.total, self.count, problem

    def batch(self, inputs: tuple, target, start: int) -> str | None:
        """Train on one batch from time step ``start``: a NaN message, or None."""
        self.current = (inputs, target)
        for part, tgt, n_steps, end in _chunks(
            inputs, target, self.k, self.window.steps, self.time_dim, start
        ):
            self.offset = end
            if self.window.steps == 0:
                self.trainer.step = self.step
                self.cblist.on_batch_begin(self.step)
                self.guard.remember()  # the update's starting point, before its forwards
            out, self.state = _call(self.model, part, self.state)
            l = self.loss_fn(*_flat_for_classes(out, tgt))
            self.window.add(l, int(np.size(_array(tgt))), n_steps)
            _score(self.metrics, out, tgt)
            if self.k is None or self.window.steps == self.k:
                problem = self.update(self.window)
                if problem is not None:
                    return problem
                self.window = _Window()
                if self.model.stop_training:
                    return None
        return None

    def state_dict(self) -> dict:
        """Where the epoch stands, for a backup taken right after an update: the carried
        (detached) state, the batches taken from the data, and the current batch itself
        when the update ended inside it."""
        inputs, target = self.current
        inside = self.offset < inputs[0].shape[self.time_dim]
        return {
            "state": self.state,
            "taken": self.taken,
            "pending": (inputs, target, self.offset) if inside else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` (the step and sums are the trainer's)."""
        self.state, self.taken = state["state"], int(state["taken"])
        self.pending = None if state["pending"] is None else tuple(state["pending"])
        self.step = self.trainer.step
        self.total, self.count = self.trainer.total, self.trainer.count

    def _clip_and_step(self) -> None:
        if self.clip_value is not None:
            clip_grad_value_(self.params, self.clip_value)
        if self.clip_norm is not None:
            clip_grad_norm_(self.params, self.clip_norm)
        self.optimizer.step()

    def update(self, window: _Window) -> str | None:
        """Backward over the window, NaN guard, clipping, optimizer step, detach."""
        mean = window.mean_loss()
        mean.backward()
        lv = float(mean.item())
        problem = self.guard.step(lv, self.trainer.epoch, self.step, self._clip_and_step)
        if problem is not None:
            return problem
        self.optimizer.zero_grad()
        self.state = detach_state(self.state)  # the gradient stops here
        self.total += lv * window.tokens
        self.count += window.tokens
        self.trainer.global_step += 1
        if self.batch_logs:
            self.trainer.total, self.trainer.count = self.total, self.count
            logs = {"loss": self.total / self.count}
            logs.update((m.name, m.result()) for m in self.metrics)
            self.cblist.on_batch_end(self.step, logs)
        self.step += 1
        return None


def fit_stream(
    model,
    train_data: Iterable,
    *,
    loss,
    optimizer,
    epochs: int = 1,
    tbptt_steps: int | None = None,
    time_dim: int = 0,
    clip_grad_norm: float | None = None,
    clip_grad_value: float | None = None,
    validation: Iterable | None = None,
    metrics: Iterable = (),
    callbacks: Iterable[Callback] = (),
    verbose: int = 1,
    scheduler=None,
    initial_epoch: int = 0,
    raise_on_nan: bool = False,
) -> History:
    """Train a recurrent ``model`` on a stream with truncated BPTT; returns the History.

    Batches are read in order (never shuffled: each continues the last). The state is
    ``None`` at each epoch's start and then carried from batch to batch; every
    ``tbptt_steps`` time steps the loss of those steps is back-propagated, the gradients
    clipped, the optimizer stepped and the state detached.

    Args:
        model: called as ``output, state = model(*inputs, state)`` (see the module doc).
        train_data: an iterable of ``(inputs..., target)`` batches in stream order, such
            as ``axon.data.bptt_batches(stream, bptt)``; iterated once per epoch.
        loss: ``loss(output, target) -> scalar`` with mean reduction, or a name
            (``"cross_entropy"``). Sequence logits (..., C) against integer targets (...)
            are flattened to (N, C) and (N,) first.
        optimizer: an ``axon.optim`` optimizer over the model's parameters.
        tbptt_steps: k, the time steps per update. ``None``: one update per batch (the
            word-LM example; the same as k = the batch length). A k below the batch length
            cuts each batch into pieces along ``time_dim`` (targets must keep that
            dimension); a larger k lets the gradient run back over several batches (one
            backward over all of them, as over one longer batch).
        time_dim: the time dimension of inputs and targets (0 for ``(T, B)`` windows, 1
            for ``batch_first``).
        clip_grad_norm: rescale the gradients to a global 2-norm of at most this before
            each step (``nn.utils.clip_grad_norm_``; 0.25 in the PyTorch word-LM example).
        clip_grad_value: clamp every gradient element into ``[-v, v]`` (applied first
            when both are given).
        validation: a stream like ``train_data``, evaluated at each epoch's end with the
            state carried over (logged as ``val_loss``, ``val_<metric>``).
        metrics, callbacks, verbose, scheduler, initial_epoch, raise_on_nan: as in
            :func:`axon.fit`; a "batch" for the callbacks is one update.

    The loss of an update is the mean over all its target elements (tokens), and so is the
    epoch's ``loss``: ``exp(loss)`` is the perplexity for cross-entropy.

    With a :class:`~axon.train.checkpoint.BackupAndRestore` callback (``save_freq`` in
    updates) the run resumes as ``fit`` does, bit for bit: a backup also holds the carried
    (detached) state and, when an update ended inside a batch, that batch and the time
    step reached in it.
    """
    loss_fn = _resolve_loss(loss)
    if tbptt_steps is not None and tbptt_steps < 1:
        raise ValueError(
            f"tbptt_steps must be a positive number of time steps or None, got {tbptt_steps}"
        )
    train_metrics = M.get_all(metrics)
    val_metrics = M.get_all(metrics, fresh=True)
    history = History()
    cbs = _callback_list(callbacks, scheduler, history, verbose)
    params = {
        "epochs": epochs,
        "steps": _stream_steps(train_data, tbptt_steps),
        "verbose": verbose,
        "metrics": [m.name for m in train_metrics],
    }
    trainer = TrainState(model, optimizer, loss_fn, history, params, loop_name="fit_stream")
    cblist = CallbackList(cbs, model=model, params=params, trainer=trainer)
    runner = _StreamTrainer(
        model,
        loss_fn,
        optimizer,
        tbptt_steps,
        time_dim,
        clip_grad_norm,
        clip_grad_value,
        train_metrics,
        cblist,
        trainer,
    )
    trainer.callbacks, trainer.loader, trainer.extra = cbs, train_data, runner
    trainer.guard = runner.guard
    trainer.objective = Objective(None, train_metrics)  # the metrics' sums, for backups
    if any(isinstance(cb, BackupAndRestore) for cb in cbs):
        trainer.fingerprint = checkpoint.fingerprint(
            trainer,
            train_data,
            train_data,
            loss=loss,
            tbptt_steps=tbptt_steps,
            time_dim=time_dim,
            clip_grad_norm=clip_grad_norm,
            clip_grad_value=clip_grad_value,
            scheduler=None if scheduler is None else type(scheduler).__name__,
            validation=validation is not None,
        )
    modes = _save_modes(model)
    model.stop_training = False
    epoch_logs: dict[str, float] = {}
    nan_message = None
    try:
        # on_train_begin, then the state of a backup, if there is one, restored
        first_epoch, mid = checkpoint.begin(trainer, cblist, initial_epoch, epochs)
        for epoch in range(first_epoch, epochs):
            trainer.epoch = epoch
            resume, mid = mid, None  # a backup taken inside this epoch, from where it was
            cblist.on_epoch_begin(epoch)
            model.train()
            total, count, nan_message = runner.epoch(train_data, resume)
            if nan_message is not None:
                trainer.stop(nan_message)
                print(nan_message, flush=True)
                break
            if count == 0:
                if model.stop_training:
                    break
                raise ValueError("fit_stream: train_data yielded no batches")
            epoch_logs = _epoch_logs(
                model,
                total / count,
                train_metrics,
                validation,
                lambda: _run_eval_stream(model, validation, loss_fn, val_metrics),
            )
            cblist.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        cblist.on_train_end(epoch_logs)
    finally:
        cblist.close()
        _restore_modes(modes)
    if nan_message is not None and raise_on_nan:
        raise NonFiniteError(nan_message)
    return history
