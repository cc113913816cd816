"""Truncated back-propagation through time (TBPTT) over one long stream: :class:`TBPTTStep`,
the step of :func:`axon.fit` that does it, ``fit_stream`` (``fit`` with that step) and
``evaluate_stream``.

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

from collections.abc import Iterable, Iterator
from typing import Any

from ..autograd.tensor import Tensor, _wrap
from ..data.text import BPTTBatches
from .base import Callback
from .batches import batch_device, split_batch, to_array, to_device
from .fit import fit
from .history import History
from .objective import Objective, resolve_loss
from .steps import TrainStep, evaluation, summarise

__all__ = ["TBPTTStep", "detach_state", "evaluate_stream", "fit_stream"]


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
    data = to_array(x)
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


def evaluate_stream(model, data, *, loss=None, metrics=()) -> dict[str, float]:
    """Mean loss and metrics over a stream, the state carried from batch to batch (no
    graph, eval mode; the previous modes are restored). The mean is over target
    elements (tokens), so for cross-entropy ``exp(loss)`` is the perplexity. Each batch
    moves to the model's device, as in ``evaluate``."""
    objective = Objective(None if loss is None else resolve_loss(loss), metrics, fresh=True)
    with evaluation(model):
        return run_eval_stream(model, data, objective)


def run_eval_stream(model, data, objective: Objective) -> dict[str, float]:
    """Loss and metrics over a stream (the caller sets eval mode and no_grad)."""

    device = batch_device(model)

    def outputs():
        state = None
        for batch in data:
            inputs, target = split_batch(batch if device is None else to_device(batch, device))
            out, state = _call(model, inputs, state)
            out, target = _flat_for_classes(out, target)
            yield out, target, int(to_array(target).size)

    return summarise(objective, outputs(), "evaluate_stream")


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


_END = object()


class TBPTTStep(TrainStep):
    """Truncated BPTT over a stream, as a step of :func:`axon.fit`: an update is a window
    of ``tbptt_steps`` time steps, the recurrent state carried from window to window.

    The batches are the stream in order (never shuffled); each epoch starts from the state
    ``None``. Batches are cut along ``time_dim`` where windows end; a window's loss is the
    mean over its tokens, back-propagated once, then the state is detached. An update is
    a "batch" for the callbacks. Its :meth:`state_dict` (the carried state, the batches
    taken, the batch an update ended inside) lets a backup resume inside an epoch.
    ``fit_stream`` is ``fit`` with this step; the model protocol is the module's.
    """

    name = "fit_stream"

    def __init__(self, tbptt_steps: int | None = None, time_dim: int = 0) -> None:
        if tbptt_steps is not None and tbptt_steps < 1:
            raise ValueError(
                f"tbptt_steps must be a positive number of time steps or None, got {tbptt_steps}"
            )
        self.k, self.time_dim = tbptt_steps, time_dim
        self.state = None  # the carried recurrent state
        self.taken = 0  # batches taken from the data in this epoch
        self.pending = None  # a restored batch an update ended inside: (inputs, target, t)
        self.current, self.offset = None, 0  # the batch being cut, and how far
        self._batches: Iterator = iter(())
        self._pieces: Iterator = iter(())

    # ------------------------------------------------------------- setting up
    def loader(self, data, batch_size: int, shuffle: bool):
        return data  # read as given, in stream order

    def steps_per_epoch(self, loader) -> int | None:
        return _stream_steps(loader, self.k)

    def make_objective(self, model, loss, metrics, loss_weights=None, fresh: bool = False):
        if loss_weights is not None:
            raise TypeError("TBPTTStep trains one output: loss_weights cannot be given")
        return Objective(resolve_loss(loss), metrics, fresh=fresh)

    def fingerprint(self) -> dict:
        return {"tbptt_steps": self.k, "time_dim": self.time_dim}

    def evaluate(self, loader, objective) -> dict[str, float]:
        return run_eval_stream(self.model, loader, objective)

    # ------------------------------------------------------------- an epoch
    def epoch(self, batches: Iterator, resumed: bool) -> Iterator:
        """The epoch's windows; each item is a window's first piece, and
        :meth:`train_step` takes the rest from the stream as it needs them."""
        if not resumed:
            self.state, self.taken, self.pending = None, 0, None
        self._batches, self._pieces = batches, iter(())
        if self.pending is not None:  # the batch the backup was taken in, from where it was
            inputs, target, start = self.pending
            self.pending = None
            self.current = (inputs, target)
            self._pieces = _chunks(inputs, target, self.k, 0, self.time_dim, start)
        self.optimizer.zero_grad()
        return self._windows()

    def batches_used(self, updates: int) -> int:
        return self.taken

    def _windows(self) -> Iterator:
        while (piece := self._next_piece(0)) is not None:
            yield piece

    def _next_piece(self, used: int):
        """The stream's next piece ``(inputs, target, steps)``, cut so that windows end
        every k steps, ``used`` steps of the current window being taken; None at the end
        of the data. A new batch is drawn only when the last one is used up."""
        while True:
            piece = next(self._pieces, None)
            if piece is not None:
                inputs, target, steps, self.offset = piece
                return inputs, target, steps
            batch = next(self._batches, _END)
            if batch is _END:
                return None
            self.taken += 1
            inputs, target = split_batch(batch)
            self.current = (inputs, target)
            self._pieces = _chunks(inputs, target, self.k, used, self.time_dim)

    def train_step(self, piece) -> tuple[float, int] | None:
        """One window from its first ``piece``: the forwards from the carried state, then
        the guarded update on the mean loss, and the state detached. None when the run
        was stopped at a batch's end inside the window (no update)."""
        window = _Window()
        while True:
            inputs, target, steps = piece
            out, self.state = _call(self.model, inputs, self.state)
            out, target = _flat_for_classes(out, target)
            tokens = int(to_array(target).size)
            window.add(self.objective(out, target), tokens, steps)
            self.objective.update(out, target, tokens)
            if self.k is None or window.steps == self.k:
                break
            if self.model.stop_training:  # checked at each batch's end, as after an update
                return None
            piece = self._next_piece(window.steps)
            if piece is None:  # the stream ended inside a window: update on what there is
                break
        value = self.trainer.update(window.mean_loss())
        self.optimizer.zero_grad()
        self.state = detach_state(self.state)  # the gradient stops here
        return value, window.tokens

    # ------------------------------------------------------------- resume
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
        """Continue from :meth:`state_dict` (the loop restores its own position)."""
        self.state, self.taken = state["state"], int(state["taken"])
        self.pending = None if state["pending"] is None else tuple(state["pending"])
        device = getattr(getattr(self, "trainer", None), "device", None)
        if device is not None:  # a backup holds host arrays: back to the batches' device
            self.state, self.pending = to_device((self.state, self.pending), device)


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
    device=None,
) -> History:
    """Train a recurrent ``model`` on a stream with truncated BPTT; returns the History.

    Batches are read in order (never shuffled: each continues the last). The state is
    ``None`` at each epoch's start and then carried from batch to batch; every
    ``tbptt_steps`` time steps the loss of those steps is back-propagated, the gradients
    clipped, the optimizer stepped and the state detached. The same as
    ``fit(model, train_data, step=TBPTTStep(tbptt_steps, time_dim), ...)``.

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
        metrics, callbacks, verbose, scheduler, initial_epoch, raise_on_nan, device: as
            in :func:`axon.fit`; a "batch" for the callbacks is one update.

    The loss of an update is the mean over all its target elements (tokens), and so is the
    epoch's ``loss``: ``exp(loss)`` is the perplexity for cross-entropy.

    With a :class:`~axon.train.checkpoint.BackupAndRestore` callback (``save_freq`` in
    updates) the run resumes as ``fit`` does, bit for bit: a backup also holds the carried
    (detached) state and, when an update ended inside a batch, that batch and the time
    step reached in it.
    """
    return fit(
        model,
        train_data,
        loss=loss,
        optimizer=optimizer,
        epochs=epochs,
        validation=validation,
        metrics=metrics,
        callbacks=callbacks,
        verbose=verbose,
        scheduler=scheduler,
        clip_grad_norm=clip_grad_norm,
        clip_grad_value=clip_grad_value,
        initial_epoch=initial_epoch,
        raise_on_nan=raise_on_nan,
        step=TBPTTStep(tbptt_steps, time_dim),
        device=device,
    )
