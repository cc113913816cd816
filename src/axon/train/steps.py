"""The train-step seam of :func:`axon.fit`: :class:`TrainStep`, what one update of the loop
does, and :class:`BatchStep`, the standard step (one batch, one optimizer step).

``fit`` owns everything around the updates (epochs, callbacks, the progress bar, the
History, the NaN guard, clipping, validation, schedulers, early stopping, backups and
resume); a step owns the work of one update, as Keras' overridable ``Model.train_step``
does. Truncated BPTT over a stream is another step
(:class:`~axon.train.tbptt.TBPTTStep`).

A custom step usually subclasses :class:`BatchStep` and overrides :meth:`train_step`::

    class MyStep(ax.train.BatchStep):
        def train_step(self, batch):
            (x,), y = split_batch(batch)  # axon.train.batches: arrays become Tensors
            self.optimizer.zero_grad()
            out = self.model(x)
            loss = self.objective(out, y) + 1e-4 * (out * out).mean()
            value = self.trainer.update(loss)  # backward, guard, clipping, optimizer.step()
            self.objective.update(out, y, y.shape[0])  # the metrics
            return value, y.shape[0]  # the loss and its weight in the epoch's mean

    ax.fit(model, (x, y), loss="cross_entropy", optimizer=opt, step=MyStep())
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ..autograd.grad_mode import no_grad
from .batches import as_loader, batch_len, split_batch
from .objective import make_objective

__all__ = ["BatchStep", "TrainStep", "evaluation", "kept_modes", "run_eval"]


@contextmanager
def kept_modes(model) -> Iterator[None]:
    """Inside: whatever modes are set; on exit every module's train/eval mode is put back
    as it was on entry."""
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    try:
        yield
    finally:
        for m, training in modes:
            m.__dict__["training"] = training


@contextmanager
def evaluation(model) -> Iterator[None]:
    """Eval mode without a graph; the previous modes are restored on exit."""
    with kept_modes(model), no_grad():
        model.eval()
        yield


def run_eval(model, loader, objective, ranks=None) -> dict[str, float]:
    """Loss and metrics over ``loader`` (the caller sets eval mode and no_grad); over all
    ranks' loaders when ``ranks`` (a process group's
    :class:`~axon.train.distributed.Ranks`) is given."""

    def outputs():
        for batch in loader:
            inputs, target = split_batch(batch)
            yield model(*inputs), target, batch_len(target)

    return summarise(objective, outputs(), "evaluate", ranks)


def summarise(objective, outputs, who: str, ranks=None) -> dict[str, float]:
    """The mean loss (weighted by each batch's ``n``) and the metrics over the
    ``(output, target, n)`` triples of ``outputs``, and of every rank's when ``ranks`` is
    given (the sums are added up over the ranks, so every rank returns the same);
    ``who`` names the caller when there were none."""
    objective.reset()
    total, count = 0.0, 0
    for out, target, n in outputs:
        if objective.has_loss:
            total += float(objective(out, target).item()) * n
        count += n
        objective.update(out, target, n)
    if ranks is not None:
        total, count, _ = ranks.summed_logs(total, count, objective)
    if count == 0:
        raise ValueError(f"{who}: the data yielded no batches")
    logs = {"loss": total / count} if objective.has_loss else {}
    logs.update(objective.logs())
    return logs


class TrainStep:
    """What one update of ``fit``'s loop does, and how the step sees the data.

    The loop calls, in this order:

    - :meth:`bind` once, before training: the step gets ``self.trainer`` (the
      :class:`~axon.train.fit.TrainState`) and, for short, ``self.model`` (the model to
      call: under a process group its ``DistributedDataParallel``, whose backward
      averages the gradients over the ranks), ``self.optimizer`` and ``self.objective``
      (the loss and the training metrics);
    - :meth:`loader`, :meth:`steps_per_epoch`, :meth:`make_objective` and
      :meth:`fingerprint` while it sets up;
    - per epoch, :meth:`epoch` on the epoch's batches: an iterable of items, one per update;
    - per item, ``on_batch_begin`` and the guard's snapshot, then :meth:`train_step`;
    - at the epoch's end, :meth:`evaluate` on the validation data (eval mode, no graph).

    :meth:`train_step` receives one item (a batch, for :class:`BatchStep`) and returns
    ``(loss, n)``: the update's loss as a float and its weight in the epoch's mean (the
    samples, or the tokens); or None when it made no update (the loop then only checks
    ``model.stop_training``). It makes its update with ``self.trainer.update(loss)``
    (backward, the NaN guard, clipping, ``optimizer.step()``; it raises
    :class:`~axon.train.fit.NonFiniteError` to the loop when the guard stops the run) and
    scores the metrics with ``self.objective.update(out, target, n)``. The loop keeps the
    epoch's mean loss, calls the callbacks and counts the updates.

    A step whose updates depend on more than the batches done (a carried state) returns
    it from :meth:`state_dict`, so that a backup taken inside an epoch resumes it.
    """

    name = "fit"  # the loop's name in messages and in a backup's fingerprint

    def bind(self, trainer) -> None:
        """Before training: the run's :class:`~axon.train.fit.TrainState`."""
        self.trainer = trainer
        self.model = getattr(trainer, "train_model", trainer.model)
        self.optimizer = trainer.optimizer
        self.objective = trainer.objective

    def loader(self, data, batch_size: int, shuffle: bool):
        """``data`` as an iterable of batches (:func:`~axon.train.batches.as_loader`)."""
        return as_loader(data, batch_size, shuffle)

    def steps_per_epoch(self, loader) -> int | None:
        """Updates per epoch, when known (for the progress bar and ``params["steps"]``)."""
        return len(loader) if hasattr(loader, "__len__") else None

    def make_objective(self, model, loss, metrics, loss_weights=None, fresh: bool = False):
        """The loss and metrics (:func:`~axon.train.objective.make_objective`): one output
        or several; ``fresh`` for validation (metric objects copied)."""
        return make_objective(model, loss, metrics, loss_weights, fresh=fresh)

    def fingerprint(self) -> dict:
        """The step's own arguments, for a backup's fingerprint (a resume with others is
        refused)."""
        return {}

    def epoch(self, batches: Iterator, resumed: bool) -> Iterable:
        """The epoch's items, one per update, from its iterator of batches (``resumed``:
        a restored backup's epoch, its first batches skipped)."""
        return batches

    def batches_used(self, updates: int) -> int:
        """The batches of an epoch that ``updates`` updates used (a resume skips them)."""
        return updates

    def train_step(self, item) -> tuple[float, int] | None:
        """One update on ``item``: ``(loss, n)``, or None when no update was made."""
        raise NotImplementedError(f"{type(self).__name__}.train_step")

    def evaluate(self, loader, objective) -> dict[str, float]:
        """Loss and metrics over the validation data (in eval mode, without a graph; under
        a process group over every rank's share, with the model itself, not its
        ``DistributedDataParallel``)."""
        return run_eval(self.trainer.model, loader, objective, getattr(self.trainer, "ranks", None))

    def state_dict(self):
        """What a backup inside an epoch needs beyond the loop's position (None here)."""
        return None

    def load_state_dict(self, state) -> None:
        """Continue from :meth:`state_dict`."""


class BatchStep(TrainStep):
    """The standard step, PyTorch's loop body: for a batch ``(inputs..., target)``,
    ``optimizer.zero_grad(); out = model(*inputs); loss = objective(out, target)``, then the
    guarded update (backward, NaN guard, clipping, ``optimizer.step()``) and the metrics;
    the update weighs by the batch's samples."""

    def train_step(self, batch) -> tuple[float, int]:
        inputs, target = split_batch(batch)
        self.optimizer.zero_grad()
        out = self.model(*inputs)
        value = self.trainer.update(self.objective(out, target))
        n = batch_len(target)
        self.objective.update(out, target, n)
        return value, n
