"""``fit``, ``evaluate`` and ``predict``: Keras' training loop around a PyTorch-style model.

One training step is the PyTorch loop, written out::

    optimizer.zero_grad(); out = model(x); l = loss(out, y); l.backward()
    # NaN/Inf guard, then optional clip_grad_norm_
    optimizer.step()

``model.train()`` is set at each epoch's start (validation switches to eval and back).
Per step the loop reads one float (the loss) and scores the metrics on the NumPy arrays
of the output and target; the loss and the metrics are averaged over the epoch weighted
by batch size.

Stopping: callbacks set ``model.stop_training = True`` (Keras); ``fit`` sets it to False
when it starts and checks it after each batch and each epoch.

Batches: a batch is ``(x, y)`` or ``(x1, x2, ..., y)``: the last item is the target, the
items before it the model's inputs (``model(x1, x2, ...)``). For a model with several
inputs or outputs (a functional ``nn.Model``) an input item may be a dict name -> Tensor
(``model(x_dict)``) and the target a dict name -> Tensor or a tuple in output order: a
DataLoader over samples ``(inputs_dict, targets_dict)`` gives such batches, and so do
arrays given as ``({"num": a, "district": b}, {"price": c, "energy": d})``. Per-output
losses, ``loss_weights`` and metrics are described in :mod:`axon.train.objective`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, _wrap
from ..nn.utils import clip_grad_norm_
from . import checkpoint
from .base import Callback, CallbackList
from .callbacks import LearningRateScheduler
from .guard import FiniteGuard
from .history import History
from .objective import make_objective, resolve_loss
from .progress import ProgressBar


class NonFiniteError(FloatingPointError):
    """The loss, a gradient or a parameter became NaN or infinite (``raise_on_nan=True``)."""


class TrainState:
    """What callbacks can reach during ``fit`` (``callback.trainer``): the model,
    optimizer, loss, history, the current 0-based ``epoch`` and ``step`` (the batch, or
    the update for ``fit_stream``, in the epoch) and ``global_step`` (updates done in all).

    For checkpoints (:mod:`axon.train.checkpoint`) it also holds the run's ``callbacks``,
    the training ``loader``, the ``objective`` (the metrics' running sums), the epoch's
    running ``total`` and ``count`` of the loss (current in ``on_batch_end``), the loop's
    own ``extra`` state (``fit_stream``'s carried recurrent state) and the ``fingerprint``
    of the run's arguments; ``resuming`` is True while a run restored from a backup starts.
    """

    def __init__(
        self, model, optimizer, loss, history: History, params: dict, loop_name: str = "fit"
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.history = history
        self.params = params
        self.loop_name = loop_name
        self.epoch = 0
        self.step = 0
        self.global_step = 0
        self.callbacks: list[Callback] = []
        self.loader = None
        self.objective = None
        self.extra = None
        self.total, self.count = 0.0, 0
        self.fingerprint: dict[str, str] | None = None
        self.resuming = False
        self.backing_up = False  # a BackupAndRestore listens: note each epoch's stream
        self.epoch_rng = None
        self.guard = None  # the loop's FiniteGuard

    @property
    def stop_training(self) -> bool:
        return bool(getattr(self.model, "stop_training", False))

    def stop(self, reason: str | None = None) -> None:
        """Ask ``fit`` to stop after the current batch; ``reason`` goes to the history."""
        self.model.stop_training = True
        if reason is not None and self.history.stopped_reason is None:
            self.history.stopped_reason = reason


# ----------------------------------------------------------------------------- data
def _is_array(x) -> bool:
    return isinstance(x, Tensor | np.ndarray)


def _as_input_array(x):
    """A NumPy float array that is not the default dtype is cast to it (as Keras casts to
    floatx); Tensors are kept as they are."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype != B.get_default_dtype():
        return x.astype(B.get_default_dtype())
    return x


def _leaves(tree) -> list | None:
    """The arrays of a nested tuple/list/dict of arrays, in order; None if anything else."""
    if _is_array(tree):
        return [tree]
    items = (
        tree.values()
        if isinstance(tree, dict) and tree
        else tree
        if isinstance(tree, tuple | list) and tree
        else None
    )
    if items is None:
        return None
    out = []
    for item in items:
        sub = _leaves(item)
        if sub is None:
            return None
        out.extend(sub)
    return out


def _rebuild(tree, leaves):
    """``tree`` with its arrays replaced, in order, by the next items of ``leaves``."""
    if _is_array(tree):
        return next(leaves)
    if isinstance(tree, dict):
        return {k: _rebuild(v, leaves) for k, v in tree.items()}
    return type(tree)(_rebuild(v, leaves) for v in tree)


class _NestedBatches:
    """Batches of nested arrays: the leaves batched together by a DataLoader (its fast
    path), each batch put back into the structure of ``tree``."""

    def __init__(self, loader, tree) -> None:
        self.loader = loader
        self.tree = tree

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield _rebuild(self.tree, iter(batch))

    def __getattr__(self, name: str):
        """The loader's ``state_dict`` / ``load_state_dict`` (its position), when it has them."""
        if name in ("state_dict", "load_state_dict"):
            return getattr(self.loader, name)
        raise AttributeError(name)


def as_loader(data, batch_size: int = 32, shuffle: bool = False):
    """An iterable of batches from ``data``: a DataLoader-like iterable (returned as is), a
    Dataset, or a tuple of arrays/Tensors ``(x, y)`` batched with ``batch_size`` and
    ``shuffle``. In the tuple, a tuple of inputs is spread (``((x1, x2), y)`` gives
    batches ``(x1, x2, y)``); dicts of arrays (inputs or targets by name) and the target
    keep their structure (``({"a": xa, "b": xb}, (y1, y2))``)."""
    from ..data import DataLoader, Dataset, TensorDataset

    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if _is_array(data) or isinstance(data, dict):
        data = (data,)
    if isinstance(data, tuple) and data:
        fields = []
        for i, item in enumerate(data):
            spread = isinstance(item, tuple) and (i < len(data) - 1 or len(data) == 1)
            fields.extend(item if spread else (item,))
        if all(_is_array(f) for f in fields):
            arrays = [_as_input_array(f) for f in fields]
            return DataLoader(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle)
        leaves = _leaves(tuple(fields))
        if leaves is not None:
            arrays = [_as_input_array(f) for f in leaves]
            loader = DataLoader(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle)
            return _NestedBatches(loader, tuple(fields))
    if not isinstance(data, Iterable):
        raise TypeError(
            f"data must be a DataLoader (or any iterable of (x, y) batches), a Dataset, or a "
            f"tuple (x, y) of arrays/Tensors; got {type(data).__name__}"
        )
    return data


def _split_batch(batch) -> tuple[tuple, Any]:
    """``(x, y)`` -> ``((x,), y)``; ``(x1, x2, y)`` -> ``((x1, x2), y)``."""
    if isinstance(batch, list | tuple) and len(batch) >= 2:
        return tuple(_tensor(b) for b in batch[:-1]), _tensor(batch[-1])
    raise TypeError(
        f"each batch must be a tuple (inputs..., target); got {type(batch).__name__}"
        + (f" of length {len(batch)}" if isinstance(batch, list | tuple) else "")
    )


def _inputs_only(batch, has_target: bool) -> tuple:
    """The model inputs of a predict batch: a Tensor, a dict by input name, ``(x...)``, or
    ``(x..., y)`` when the batches come from a loader of training data (y dropped)."""
    if isinstance(batch, list | tuple):
        drop = has_target and len(batch) > 1
        return tuple(_tensor(b) for b in (batch[:-1] if drop else batch))
    return (_tensor(batch),)


def _tensor(x):
    """Arrays as Tensors (float arrays in the default dtype), through tuples, lists and
    dicts; Tensors and anything else as they are."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return _wrap(_as_input_array(x))
    if isinstance(x, dict):
        return {k: _tensor(v) for k, v in x.items()}
    if isinstance(x, tuple | list) and any(isinstance(v, np.ndarray) for v in x):
        return type(x)(_tensor(v) for v in x)
    return x


def _batch_len(x) -> int:
    """The number of samples in a target: its first dimension, that of the first target
    of a dict or tuple of them, else its length."""
    if isinstance(x, dict) and x:
        return _batch_len(next(iter(x.values())))
    if isinstance(x, tuple | list) and x and getattr(x[0], "shape", None):
        return int(x[0].shape[0])
    shape = getattr(x, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(x)
    except TypeError:
        return 1


def _array(x) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else np.asarray(x)


_resolve_loss = resolve_loss  # the name tbptt imports


# ----------------------------------------------------------------------------- modes
def _save_modes(model) -> list:
    return [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []


def _restore_modes(modes: list) -> None:
    for m, training in modes:
        m.__dict__["training"] = training


# ----------------------------------------------------------------------------- loops
def _epoch_logs(model, loss: float, train_metrics, validation, run_validation) -> dict:
    """An epoch's logs in Keras' names: ``loss``, the metrics (Metric objects, or a dict of
    logs), then ``val_*`` from ``run_validation()`` (run in eval mode without a graph)
    when there is validation data."""
    logs = {"loss": loss}
    if isinstance(train_metrics, dict):
        logs.update(train_metrics)
    else:
        logs.update((m.name, m.result()) for m in train_metrics)
    if validation is not None:
        model.eval()
        with no_grad():
            val = run_validation()
        model.train()
        logs.update(("val_" + k, v) for k, v in val.items())
    return logs


def _run_eval(model, loader, objective) -> dict[str, float]:
    """Loss and metrics over ``loader`` (the caller sets eval mode and no_grad)."""
    objective.reset()
    total, count = 0.0, 0
    for batch in loader:
        inputs, target = _split_batch(batch)
        out = model(*inputs)
        n = _batch_len(target)
        if objective.has_loss:
            total += float(objective(out, target).item()) * n
        count += n
        objective.update(out, target, n)
    if count == 0:
        raise ValueError("evaluate: the data yielded no batches")
    logs = {"loss": total / count} if objective.has_loss else {}
    logs.update(objective.logs())
    return logs


def evaluate(
    model, data, *, loss=None, metrics=(), batch_size: int = 32, loss_weights=None
) -> dict[str, float]:
    """Mean loss (when ``loss`` is given) and metrics over ``data``, in eval mode and
    without a graph; the model's previous modes are restored. Returns e.g.
    ``{"loss": 0.31, "accuracy": 0.91}``; for several outputs ``loss``, ``metrics`` and
    ``loss_weights`` are given as to :func:`fit` and the keys are its log keys."""
    loader = as_loader(data, batch_size, shuffle=False)
    objective = make_objective(model, loss, metrics, loss_weights)
    modes = _save_modes(model)
    try:
        model.eval()
        with no_grad():
            return _run_eval(model, loader, objective)
    finally:
        _restore_modes(modes)


def predict(model, x, *, batch_size: int = 32) -> Tensor:
    """The model's outputs for ``x``, concatenated along the batch dimension.

    ``x`` is an array/Tensor, a tuple of them (several inputs), a dict of them by input
    name, a Dataset, or a loader whose batches are ``x``, ``(x,)`` or ``(x..., y)`` (the
    target is dropped). Several outputs come back as a tuple, or a dict by output name.
    Runs in eval mode without a graph and restores the previous modes."""
    loader = as_loader(x, batch_size, shuffle=False)
    # arrays given directly are all inputs; a loader's or dataset's batches end with y
    has_target = not (
        _is_array(x) or isinstance(x, dict) or isinstance(x, tuple) and all(map(_is_array, x))
    )
    modes = _save_modes(model)
    outs = []
    try:
        model.eval()
        with no_grad():
            for batch in loader:
                outs.append(model(*_inputs_only(batch, has_target)))
    finally:
        _restore_modes(modes)
    if not outs:
        raise ValueError("predict: the data yielded no batches")
    if isinstance(outs[0], dict):
        return {k: _wrap(np.concatenate([_array(o[k]) for o in outs])) for k in outs[0]}
    if isinstance(outs[0], tuple | list):
        return tuple(
            _wrap(np.concatenate([_array(o[i]) for o in outs])) for i in range(len(outs[0]))
        )
    return _wrap(np.concatenate([_array(o) for o in outs]))


def fit(
    model,
    train_data,
    *,
    loss,
    optimizer,
    epochs: int = 1,
    validation=None,
    metrics: Iterable = (),
    callbacks: Iterable[Callback] = (),
    batch_size: int = 32,
    shuffle: bool = True,
    verbose: int = 1,
    scheduler=None,
    grad_clip: float | None = None,
    initial_epoch: int = 0,
    raise_on_nan: bool = False,
    loss_weights=None,
) -> History:
    """Train ``model`` for ``epochs`` epochs; returns the :class:`History`.

    Args:
        model: an ``nn.Module`` called as ``model(*inputs)``.
        train_data: a DataLoader (or any iterable of ``(x, y)`` batches; ``(x1, x2, y)``
            for several inputs), a Dataset, or a tuple ``(x, y)`` of arrays/Tensors,
            batched with ``batch_size`` and ``shuffle``. NumPy float arrays are cast to
            the default dtype.
        loss: ``loss(output, target) -> scalar Tensor``, or a name (``"cross_entropy"``,
            ``"mse"``, ...). For several outputs: one loss for all, a dict output name ->
            loss, or a list in output order (see :mod:`axon.train.objective`).
        optimizer: an ``axon.optim`` optimizer over the model's parameters.
        validation: data like ``train_data``, evaluated at each epoch's end
            (logged as ``val_loss`` and ``val_<metric>``).
        metrics: names (``"accuracy"``, ``"mae"``, ...), Metric objects or functions; for
            several outputs a dict output name -> metrics (logged ``<output>_<metric>``).
        callbacks: Keras-style callbacks; ``History`` and (``verbose`` > 0) a
            ``ProgressBar`` are added after them.
        verbose: 0 silent, 1 live bar (lines only when stdout is not a terminal), 2 one
            line per epoch.
        scheduler: an ``optim.lr_scheduler`` object stepped after each epoch
            (``ReduceLROnPlateau`` with ``val_loss``, else ``loss``).
        grad_clip: clip the global gradient norm to this value before each step.
        initial_epoch: the epoch to start from (a restored backup starts from its own
            position instead).
        raise_on_nan: raise :class:`NonFiniteError` instead of returning the History.
        loss_weights: several outputs: a dict or list of factors; the loss minimised is
            ``sum_k w_k * loss_k`` (logged as ``loss``, each output's as ``<output>_loss``).

    NaN guard (:class:`~axon.train.guard.FiniteGuard`): after each backward, if the loss,
    a gradient, a buffer or a parameter is NaN/Inf (or the parameters are after the
    step), training stops and the model is put back as it was before that step, all
    finite; a message naming the epoch, the step (both 1-based) and the first bad tensor
    is printed (whatever ``verbose``) and kept in ``history.stopped_reason``; the
    unfinished epoch is not recorded. A loss that diverges (10,000 times its lowest)
    gives one ``RuntimeWarning``.

    Resume: with a :class:`~axon.train.checkpoint.BackupAndRestore` callback the whole
    training state is backed up (each epoch, or every N batches), and the same ``fit``
    call started again after a crash or a kill continues from it, even inside an
    epoch, to the same bits as a run that was never stopped.
    """
    objective = make_objective(model, loss, metrics, loss_weights)
    val_objective = make_objective(model, loss, metrics, loss_weights, fresh=True)
    train_loader = as_loader(train_data, batch_size, shuffle)
    val_loader = None if validation is None else as_loader(validation, batch_size, False)
    history = History()
    cbs = _callback_list(callbacks, scheduler, history, verbose)
    steps = len(train_loader) if hasattr(train_loader, "__len__") else None
    params = {
        "epochs": epochs,
        "steps": steps,
        "verbose": verbose,
        "metrics": objective.metric_names,
    }
    state = TrainState(model, optimizer, getattr(objective, "loss_fn", objective), history, params)
    state.callbacks, state.loader, state.objective = cbs, train_loader, objective
    if any(isinstance(cb, checkpoint.BackupAndRestore) for cb in cbs):
        state.fingerprint = checkpoint.fingerprint(
            state,
            train_data,
            train_loader,
            loss=loss,
            grad_clip=grad_clip,
            loss_weights=loss_weights,
            scheduler=None if scheduler is None else type(scheduler).__name__,
            validation=validation is not None,
        )
    cblist = CallbackList(cbs, model=model, params=params, trainer=state)
    guard = state.guard = FiniteGuard(model)
    clip_params = [p for p in model.parameters() if p.requires_grad]

    def update():  # after the guard's check: clipping, then the optimizer's step
        if grad_clip is not None:
            clip_grad_norm_(clip_params, grad_clip)
        optimizer.step()

    batch_logs = cblist.wants_batch_logs
    modes = _save_modes(model)
    model.stop_training = False
    epoch_logs: dict[str, float] = {}
    nan_message = None
    try:
        # on_train_begin, then the state of a backup, if there is one, restored
        first_epoch, mid = checkpoint.begin(state, cblist, initial_epoch, epochs)
        for epoch in range(first_epoch, epochs):
            state.epoch = epoch
            resume, mid = mid, None  # a backup taken inside this epoch, from where it was
            if resume is None:
                objective.reset()
            cblist.on_epoch_begin(epoch)
            model.train()
            if resume is not None:
                total, count, first = state.total, state.count, resume["step"]
                batches = checkpoint.resume_batches(state, train_loader, resume, first)
            else:
                total, count, first = 0.0, 0, 0
                batches = checkpoint.epoch_batches(state, train_loader)
            for step, batch in enumerate(batches, first):
                state.step = step
                cblist.on_batch_begin(step)
                guard.remember()
                inputs, target = _split_batch(batch)
                optimizer.zero_grad()
                out = model(*inputs)
                l = objective(out, target)
                l.backward()
                lv = float(l.item())
                nan_message = guard.step(lv, epoch, step, update)
                if nan_message is not None:
                    break
                state.global_step += 1
                n = _batch_len(target)
                total += lv * n
                count += n
                objective.update(out, target, n)
                if batch_logs:
                    state.total, state.count = total, count
                    logs = {"loss": total / count}
                    logs.update(objective.logs())
                    cblist.on_batch_end(step, logs)
                if model.stop_training:
                    break
            if nan_message is not None:
                state.stop(nan_message)
                print(nan_message, flush=True)
                break
            if count == 0:
                raise ValueError("fit: train_data yielded no batches")
            epoch_logs = _epoch_logs(
                model,
                total / count,
                objective.logs(),
                val_loader,
                lambda: _run_eval(model, val_loader, val_objective),
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


def _callback_list(
    callbacks: Iterable[Callback], scheduler, history: History, verbose: int
) -> list[Callback]:
    """The run's callbacks in calling order: the user's, the ``scheduler``'s, the History,
    the progress bar (``verbose``), and last any ``BackupAndRestore``, so that a backup
    sees every other callback's work of the batch or epoch."""
    cbs = list(callbacks)
    backups = [cb for cb in cbs if isinstance(cb, checkpoint.BackupAndRestore)]
    cbs = [cb for cb in cbs if not isinstance(cb, checkpoint.BackupAndRestore)]
    if scheduler is not None:
        cbs.append(LearningRateScheduler(scheduler))
    cbs.append(history)
    if verbose and not any(isinstance(cb, ProgressBar) for cb in cbs):
        cbs.append(ProgressBar(live=None if verbose == 1 else False))
    return cbs + backups
