"""``fit``, ``evaluate`` and ``predict``: Keras' training loop around a PyTorch-style model.

``fit`` is the one training loop: epochs, callbacks, progress, History, the NaN guard,
clipping, validation, schedulers and backups are written here once; what one update does
is a step (:mod:`axon.train.steps`): :class:`~axon.train.steps.BatchStep` by default, one
PyTorch step per batch::

    optimizer.zero_grad(); out = model(x); l = loss(out, y); l.backward()
    # NaN/Inf guard, then optional clip_grad_value_ / clip_grad_norm_
    optimizer.step()

and :class:`~axon.train.tbptt.TBPTTStep` for truncated BPTT over a stream (``fit_stream``).

``model.train()`` is set at each epoch's start (validation switches to eval and back).
Per update the loop reads one float (the loss); the loss and the metrics are averaged over
the epoch, weighted by batch size (by tokens for a stream).

Stopping: callbacks set ``model.stop_training = True`` (Keras); ``fit`` sets it to False
when it starts and checks it after each update and each epoch.

Batches (:mod:`axon.train.batches`): a batch is ``(x, y)`` or ``(x1, x2, ..., y)``: the
last item is the target, the items before it the model's inputs (``model(x1, x2, ...)``).
For a model with several inputs or outputs (a functional ``nn.Model``) an input item may
be a dict name -> Tensor (``model(x_dict)``) and the target a dict name -> Tensor or a
tuple in output order: a DataLoader over samples ``(inputs_dict, targets_dict)`` gives
such batches, and so do arrays given as ``({"num": a, "district": b}, {"price": c,
"energy": d})``. Per-output losses, ``loss_weights`` and metrics are described in
:mod:`axon.train.objective`.

Devices, as Keras does it: each batch is moved to the model's device (the device of its
first parameter) as the loop draws it, so data loaded on the host trains a model moved
with ``model.to(device)``; ``device=`` names another device. A model on the CPU costs the
loop nothing (no batch is touched).

Under a process group (:mod:`axon.distributed` initialised with several ranks; every
rank calls ``fit`` with the same arguments) ``fit`` trains data-parallel, as torch's
DistributedDataParallel recipe does by hand. The model is wrapped in
``nn.parallel.DistributedDataParallel`` for training (rank 0's parameters and buffers are
broadcast to every rank first; gradients are averaged over the ranks in backward; its
hooks are removed when ``fit`` returns, so the model is left as it was given; a model
that already is one is used as it is). The data are sharded: arrays, a Dataset or a
DataLoader over a map-style dataset are read through a
``DistributedSampler(dataset, shuffle=<the loader shuffles>, seed=<rank 0's
axon.initial_seed()>)`` (``set_epoch`` each epoch), a user's DataLoader rebuilt with it
around its own dataset, batch size, ``collate_fn``, ``drop_last`` and workers (as
Lightning does); a DataLoader that already has a DistributedSampler is used as is; an
IterableDataset, another sampler or a plain iterable of batches is a TypeError (fit cannot
know which batches are whose). ``batch_size`` is per rank, as in torch: a global batch is
``batch_size`` times the world size. Validation data are sharded likewise, in order. The
DistributedSampler evens out the shares by repeating the first examples (torch's
padding), so an epoch's and a validation's means count those few twice. ``fit_stream``
is not sharded: a NotImplementedError.

The ranks agree: the epoch's loss and metric sums are added up over the ranks once per
epoch (and once per validation), so the logs, the History and every callback's decisions
(EarlyStopping, ReduceLROnPlateau) are the same on every rank. Per update the ranks
share one gather of two numbers: their losses (the batch logs' ``loss`` is the ranks'
mean; their metrics are the rank's own until the epoch ends) and whether a callback asked
this rank to stop; when one did, every rank stops at the same update. A NaN on one rank
reaches every rank through the averaged gradients, and a loss that is not finite on
one rank is shared, so the NaN guard stops every rank at the same step. Rank 0 alone
shows progress, prints, and writes the CSV log, checkpoints, backups and
``History.plot`` figures; the other ranks keep the same state. Without a process group
(or with one rank) none of this runs, and nothing is imported for it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

from ..autograd.tensor import Tensor, _wrap
from ..backend import namespace
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from . import checkpoint
from .base import Callback, CallbackList
from .batches import as_loader, batch_device, inputs_only, is_array, to_array, to_device
from .callbacks import LearningRateScheduler
from .distributed import group
from .guard import FiniteGuard
from .history import History
from .objective import make_objective
from .progress import ProgressBar
from .steps import BatchStep, TrainStep, evaluation, kept_modes, run_eval

__all__ = ["NonFiniteError", "TrainState", "as_loader", "evaluate", "fit", "predict"]


class NonFiniteError(FloatingPointError):
    """The loss, a gradient or a parameter became NaN or infinite (``raise_on_nan=True``)."""


class _StopEverywhere(Exception):
    """Under a process group: some rank asked to stop after the previous update, so this
    one is not made (raised by :meth:`TrainState.update` on every rank alike)."""


class TrainState:
    """What callbacks and steps reach during ``fit`` (``callback.trainer``,
    ``step.trainer``): the model, optimizer, loss, history, the current 0-based ``epoch``
    and ``step`` (the update in the epoch: the batch, for the standard step) and
    ``global_step`` (updates done in all); :meth:`update` makes one guarded update.

    For checkpoints (:mod:`axon.train.checkpoint`) it also holds the run's ``callbacks``,
    the training ``loader``, the ``objective`` (the metrics' running sums), the epoch's
    running ``total`` and ``count`` of the loss (current in ``on_batch_end``), the step
    ``strategy`` (whose ``state_dict`` holds what the loop's position does not, such as
    TBPTT's carried recurrent state) and the ``fingerprint`` of the run's arguments;
    ``resuming`` is True while a run restored from a backup starts.

    Under a process group (see the module docstring) ``ranks`` is the
    :class:`~axon.train.distributed.Ranks` (None otherwise), ``rank`` and ``world_size``
    say where this process stands, ``is_global_zero`` whether it writes (rank 0; True
    without a group), and ``train_model`` is the model the steps call: the
    ``DistributedDataParallel`` around ``model`` (``model`` itself without a group).
    """

    def __init__(
        self,
        model,
        optimizer,
        loss,
        history: History,
        params: dict,
        loop_name: str = "fit",
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
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
        self.strategy: TrainStep | None = None
        self.total, self.count = 0.0, 0
        self.fingerprint: dict[str, str] | None = None
        self.resuming = False
        self.backing_up = False  # a BackupAndRestore listens: note each epoch's stream
        self.epoch_rng = None
        self.guard = None  # the loop's FiniteGuard
        self.device = None  # where the loop moves each batch (None: used as they come)
        self.clip_grad_norm, self.clip_grad_value = clip_grad_norm, clip_grad_value
        self.ranks = None  # a process group's Ranks (set by fit)
        self.train_model = model
        self.stop_asked = False  # this rank's stop, not yet told to the others
        self.batch_loss: float | None = None  # the ranks' mean loss of the last update
        clipping = clip_grad_norm is not None or clip_grad_value is not None
        self._clip_params = [p for p in model.parameters() if p.requires_grad] if clipping else []

    @property
    def rank(self) -> int:
        return 0 if self.ranks is None else self.ranks.rank

    @property
    def world_size(self) -> int:
        return 1 if self.ranks is None else self.ranks.world

    @property
    def is_global_zero(self) -> bool:
        return self.rank == 0

    @property
    def stop_training(self) -> bool:
        return bool(getattr(self.model, "stop_training", False))

    def stop(self, reason: str | None = None) -> None:
        """Ask ``fit`` to stop after the current batch; ``reason`` goes to the history."""
        self.model.stop_training = True
        if reason is not None and self.history.stopped_reason is None:
            self.history.stopped_reason = reason

    def update(self, loss: Tensor) -> float:
        """The guarded update of a step: ``loss.backward()``, the NaN guard's check,
        clipping (by value, then by norm), ``optimizer.step()`` and the check of the new
        parameters. Returns the loss as a float; raises :class:`NonFiniteError` when the
        guard finds a NaN/Inf (the model is then put back as before the update, and the
        loop stops the run).

        Under a process group the ranks share their losses and whether they were asked
        to stop (one gather of two numbers, started before backward and waited for after
        it): when some rank was, no rank makes the update (the forward's changes to the
        buffers are undone, the gradients dropped) and the loop stops; a loss that is
        not finite on some rank makes the guard stop every rank alike."""
        if self.ranks is not None:
            return self._update_with_ranks(loss)
        loss.backward()
        value = float(loss.item())
        problem = self.guard.step(value, self.epoch, self.step, self._clip_and_step)
        if problem is not None:
            raise NonFiniteError(problem)
        return value

    def _update_with_ranks(self, loss: Tensor) -> float:
        value = float(loss.item())
        shared = self.ranks.start_sums([value, float(self.stop_asked)])
        loss.backward()  # (the gather's latency hides behind it)
        total, stop = shared()
        if stop > 0:
            self.guard.restore()  # the buffers as before this forward; no gradients
            raise _StopEverywhere
        self.batch_loss = total / self.ranks.world
        # not finite on another rank: this rank's guard sees it too, and stops alike
        checked = value if math.isfinite(total) or not math.isfinite(value) else total
        problem = self.guard.step(checked, self.epoch, self.step, self._clip_and_step)
        if problem is not None:
            raise NonFiniteError(problem)
        return value

    def _clip_and_step(self) -> None:
        if self.clip_grad_value is not None:
            clip_grad_value_(self._clip_params, self.clip_grad_value)
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self._clip_params, self.clip_grad_norm)
        self.optimizer.step()


class _Moved:
    """``loader``'s batches moved to ``device`` as they are drawn (see :func:`to_device`)."""

    def __init__(self, loader, device) -> None:
        self.loader, self.device = loader, device

    def __iter__(self):
        device = self.device
        return (to_device(batch, device) for batch in self.loader)

    def __len__(self) -> int:
        return len(self.loader)


def _on(loader, device):
    """``loader`` moving its batches to ``device`` (itself for None: the CPU)."""
    return loader if device is None else _Moved(loader, device)


def evaluate(
    model,
    data,
    *,
    loss=None,
    metrics=(),
    batch_size: int = 32,
    loss_weights=None,
    device=None,
) -> dict[str, float]:
    """Mean loss (when ``loss`` is given) and metrics over ``data``, in eval mode and
    without a graph; the model's previous modes are restored. Returns e.g.
    ``{"loss": 0.31, "accuracy": 0.91}``; for several outputs ``loss``, ``metrics`` and
    ``loss_weights`` are given as to :func:`fit` and the keys are its log keys. Batches
    move to ``device`` (default: the model's), as in :func:`fit`.

    Under a process group of several ranks every rank must call it: each evaluates its
    share of ``data`` (sharded as :func:`fit` shards it, in order) and every rank returns
    the same all-rank means, weighted by examples (the few examples a DistributedSampler
    repeats to even out the shares count twice, as in torch)."""
    ranks = group()
    loader = as_loader(data, batch_size, shuffle=False)
    if ranks is not None:
        loader = ranks.shard(loader, seed=0, who="evaluate")
    loader = _on(loader, batch_device(model, device))
    objective = make_objective(model, loss, metrics, loss_weights)
    with evaluation(model):
        return run_eval(model, loader, objective, ranks)


def predict(model, x, *, batch_size: int = 32, device=None) -> Tensor:
    """The model's outputs for ``x``, concatenated along the batch dimension.

    ``x`` is an array/Tensor, a tuple of them (several inputs), a dict of them by input
    name, a Dataset, or a loader whose batches are ``x``, ``(x,)`` or ``(x..., y)`` (the
    target is dropped). Several outputs come back as a tuple, or a dict by output name.
    Runs in eval mode without a graph and restores the previous modes. Batches move to
    ``device`` (default: the model's), as in :func:`fit`; the outputs stay there. Under a
    process group each rank predicts all of ``x`` by itself (no data is sharded)."""
    loader = _on(as_loader(x, batch_size, shuffle=False), batch_device(model, device))
    # arrays given directly are all inputs; a loader's or dataset's batches end with y
    has_target = not (
        is_array(x) or isinstance(x, dict) or isinstance(x, tuple) and all(map(is_array, x))
    )
    outs = []
    with evaluation(model):
        for batch in loader:
            outs.append(model(*inputs_only(batch, has_target)))
    if not outs:
        raise ValueError("predict: the data yielded no batches")
    if isinstance(outs[0], dict):
        return {k: _concatenate([o[k] for o in outs]) for k in outs[0]}
    if isinstance(outs[0], tuple | list):
        return tuple(_concatenate([o[i] for o in outs]) for i in range(len(outs[0])))
    return _concatenate(outs)


def _concatenate(outs: list) -> Tensor:
    """The batches' outputs joined along the first dimension, on their device."""
    arrays = [to_array(o) for o in outs]
    return _wrap(namespace(arrays[0]).concatenate(arrays))


def _clipping(grad_clip, clip_grad_norm):
    """The norm to clip to: ``clip_grad_norm``, or the deprecated ``grad_clip``."""
    if grad_clip is None:
        return clip_grad_norm
    if clip_grad_norm is not None:
        raise TypeError(
            "fit: grad_clip= is the deprecated spelling of clip_grad_norm=; give only "
            "clip_grad_norm="
        )
    warnings.warn(
        "fit: grad_clip= is deprecated; use clip_grad_norm= (the same global-norm clipping)",
        DeprecationWarning,
        stacklevel=3,
    )
    return grad_clip


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
    clip_grad_norm: float | None = None,
    clip_grad_value: float | None = None,
    initial_epoch: int = 0,
    raise_on_nan: bool = False,
    loss_weights=None,
    step: TrainStep | None = None,
    device=None,
    grad_clip: float | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs; returns the :class:`History`.

    Args:
        model: an ``nn.Module`` called as ``model(*inputs)``.
        train_data: a DataLoader (or any iterable of ``(x, y)`` batches; ``(x1, x2, y)``
            for several inputs), a Dataset, or a tuple ``(x, y)`` of arrays/Tensors,
            batched with ``batch_size`` and ``shuffle``. Float arrays are cast to the
            default dtype; each batch moves to ``device``. Under a process group
            ``batch_size`` is per rank (see the module docstring).
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
        clip_grad_norm: rescale the gradients to a global 2-norm of at most this before
            each step (``nn.utils.clip_grad_norm_``).
        clip_grad_value: clamp every gradient element into ``[-v, v]`` before each step
            (``nn.utils.clip_grad_value_``; applied first when both are given).
        initial_epoch: the epoch to start from (a restored backup starts from its own
            position instead).
        raise_on_nan: raise :class:`NonFiniteError` instead of returning the History.
        loss_weights: several outputs: a dict or list of factors; the loss minimised is
            ``sum_k w_k * loss_k`` (logged as ``loss``, each output's as ``<output>_loss``).
        step: what one update does (:class:`~axon.train.steps.TrainStep`);
            :class:`~axon.train.steps.BatchStep` (one optimizer step per batch) when None.
        device: where each batch (training and validation) is moved as it is drawn;
            None: the model's device (Keras' behaviour: ``model.to("cuda")`` is all a
            run needs). On the CPU the batches are used as they come.
        grad_clip: the former name of ``clip_grad_norm`` (deprecated; a DeprecationWarning).

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
    clip_grad_norm = _clipping(grad_clip, clip_grad_norm)
    step = BatchStep() if step is None else step
    ranks = group()  # None without a process group of several ranks
    if ranks is not None:
        callbacks = list(callbacks)
        _check_distributed(step, callbacks, ranks)
    objective = step.make_objective(model, loss, metrics, loss_weights)
    val_objective = step.make_objective(model, loss, metrics, loss_weights, fresh=True)
    train_loader = step.loader(train_data, batch_size, shuffle)
    val_loader = None if validation is None else step.loader(validation, batch_size, False)
    if ranks is not None:  # each rank's share; the order from rank 0's seed
        from ..backend import initial_seed

        seed = ranks.same(initial_seed())
        train_loader = ranks.shard(train_loader, seed=seed, who=step.name)
        if val_loader is not None:
            val_loader = ranks.shard(val_loader, seed=seed, who=f"{step.name}'s validation")
    dev = batch_device(model, device)
    if val_loader is not None:
        val_loader = _on(val_loader, dev)
    history = History()
    cbs = _callback_list(
        callbacks, scheduler, history, verbose if ranks is None or ranks.rank == 0 else 0
    )
    params = {
        "epochs": epochs,
        "steps": step.steps_per_epoch(train_loader),
        "verbose": verbose,
        "metrics": objective.metric_names,
    }
    state = TrainState(
        model,
        optimizer,
        getattr(objective, "loss_fn", objective),
        history,
        params,
        loop_name=step.name,
        clip_grad_norm=clip_grad_norm,
        clip_grad_value=clip_grad_value,
    )
    state.callbacks, state.loader, state.objective = cbs, train_loader, objective
    state.device = dev
    state.strategy, state.guard = step, FiniteGuard(model)
    if ranks is not None:
        state.ranks = ranks
    if any(isinstance(cb, checkpoint.BackupAndRestore) for cb in cbs):
        state.fingerprint = checkpoint.fingerprint(
            state,
            train_data,
            train_loader,
            loss=loss,
            **step.fingerprint(),
            clip_grad_norm=clip_grad_norm,
            clip_grad_value=clip_grad_value,
            loss_weights=loss_weights,
            scheduler=None if scheduler is None else type(scheduler).__name__,
            validation=validation is not None,
        )
        if ranks is not None:  # rank 0's, which its backup holds (seeds may differ by rank)
            state.fingerprint = ranks.same(state.fingerprint)
    cblist = CallbackList(cbs, model=model, params=params, trainer=state)
    batch_logs = cblist.wants_batch_logs
    model.stop_training = False
    epoch_logs: dict[str, float] = {}
    nan_message = None
    ddp = made = None
    with kept_modes(model):
        try:
            if ranks is not None:  # gradients averaged over the ranks; rank 0's weights to all
                ddp, made = ranks.wrap(model)
                state.train_model = ddp
            step.bind(state)
            train_step, remember = step.train_step, state.guard.remember
            # on_train_begin, then the state of a backup, if there is one, restored
            first_epoch, mid = checkpoint.begin(state, cblist, initial_epoch, epochs)
            for epoch in range(first_epoch, epochs):
                state.epoch = epoch
                resume, mid = mid, None  # a backup taken inside this epoch, from where it was
                if resume is None:
                    objective.reset()
                cblist.on_epoch_begin(epoch)
                model.train()
                if resume is None:
                    total, count, first = 0.0, 0, 0
                    if ranks is not None:
                        ranks.set_epoch(train_loader, epoch)
                    batches = checkpoint.epoch_batches(state, train_loader)
                    items = step.epoch(iter(_on(batches, dev)), resumed=False)
                else:
                    total, count, first = state.total, state.count, resume["step"]
                    if resume["stop_training"]:  # stopped at that update: the epoch ends
                        items = ()
                    else:
                        used = step.batches_used(first)
                        batches = checkpoint.resume_batches(state, train_loader, resume, used)
                        items = step.epoch(iter(_on(batches, dev)), resumed=True)
                shown, state.stop_asked = total, False  # the running loss the logs show
                for i, item in enumerate(items, first):
                    state.step = i
                    cblist.on_batch_begin(i)
                    remember()
                    try:
                        result = train_step(item)
                    except NonFiniteError as e:
                        nan_message = str(e)
                        break
                    except _StopEverywhere:  # (under a process group) another rank stopped
                        model.stop_training = True
                        break
                    if result is not None:
                        value, n = result
                        state.global_step += 1
                        total += value * n
                        count += n
                        if ranks is None:
                            shown = total
                        else:  # the ranks' mean loss of the update, when it made one
                            loss_now, state.batch_loss = state.batch_loss, None
                            shown += (value if loss_now is None else loss_now) * n
                        if batch_logs:
                            state.total, state.count = total, count
                            logs = {"loss": shown / count}
                            logs.update(objective.logs())
                            cblist.on_batch_end(i, logs)
                    if model.stop_training:
                        if ranks is None:
                            break
                        state.stop_asked = True  # every rank stops at the next update
                if nan_message is not None:
                    state.stop(nan_message)
                    if state.is_global_zero:
                        print(nan_message, flush=True)
                    break
                if ranks is not None:  # the epoch's sums over the ranks; a stop anywhere
                    total, count, stop = ranks.summed_logs(
                        total, count, objective, model.stop_training
                    )
                    model.stop_training = model.stop_training or stop
                    ranks.sync_buffers(ddp)
                if count == 0:
                    if model.stop_training:
                        break
                    raise ValueError(f"{step.name}: train_data yielded no batches")
                epoch_logs = _epoch_logs(
                    model,
                    total / count,
                    objective.logs(),
                    val_loader,
                    lambda: step.evaluate(val_loader, val_objective),
                )
                cblist.on_epoch_end(epoch, epoch_logs)
                if ranks is not None and ranks.any(model.stop_training):
                    model.stop_training = True  # on_epoch_end stopped some rank
                if model.stop_training:
                    break
            if ranks is not None:  # the reason some rank recorded, on every rank
                history.stopped_reason = ranks.first(history.stopped_reason)
            cblist.on_train_end(epoch_logs)
        finally:
            cblist.close()
            if made:
                ranks.unwrap(ddp)
    if nan_message is not None and raise_on_nan:
        raise NonFiniteError(nan_message)
    return history


def _check_distributed(step: TrainStep, callbacks, ranks) -> None:
    """What ``fit`` cannot do under a process group yet, as errors that say so."""
    if step.name == "fit_stream":
        raise NotImplementedError(
            f"fit_stream under a process group of {ranks.world} ranks: the stream is not "
            "sharded between the ranks; call it without a process group (or give each "
            "rank its own columns of the batchified stream and average the gradients "
            "with nn.parallel.DistributedDataParallel in a loop of your own)"
        )
    for cb in callbacks:
        if isinstance(cb, checkpoint.BackupAndRestore) and cb.save_freq != "epoch":
            raise NotImplementedError(
                f"fit under a process group of {ranks.world} ranks: BackupAndRestore "
                f"backs up at epochs' ends only (save_freq='epoch'), got "
                f"save_freq={cb.save_freq!r}"
            )


def _epoch_logs(model, loss: float, train_logs: dict, validation, run_validation) -> dict:
    """An epoch's logs in Keras' names: ``loss``, the metrics, then ``val_*`` from
    ``run_validation()`` (run in eval mode without a graph) when there is validation
    data."""
    logs = {"loss": loss}
    logs.update(train_logs)
    if validation is not None:
        with evaluation(model):
            val = run_validation()
        model.train()
        logs.update(("val_" + k, v) for k, v in val.items())
    return logs


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
