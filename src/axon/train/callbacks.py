"""Callbacks with Keras' names and semantics: early stopping, checkpoints, learning-rate
schedules, CSV logs, NaN termination, the progress bar, live training curves.

A callback stops training by setting ``self.model.stop_training = True`` (as in Keras);
:meth:`TrainState.stop` does the same and also records a reason in
``history.stopped_reason``. Epoch indices in hooks are 0-based; messages show them 1-based.

Under a process group (``fit`` on several ranks) every rank runs every callback on the
same all-rank logs, so each keeps the same state and takes the same decisions, but only
rank 0 writes files (CSVLogger, ModelCheckpoint, BackupAndRestore) and prints; a callback
of your own can ask :func:`axon.train.distributed.speaks` (``self.trainer.is_global_zero``).
"""

from __future__ import annotations

import csv
import inspect
import math
import operator
import os
import warnings
from collections.abc import Callable

from .base import Callback, CallbackList
from .batches import to_array
from .checkpoint import BackupAndRestore
from .distributed import speaks
from .history import History
from .liveplot import LivePlot
from .progress import ProgressBar
from .tensorboard import TensorBoard

_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1")


def _monitor_op(monitor: str, mode: str) -> Callable[[float, float], bool]:
    """``operator.lt`` for quantities to minimise, ``operator.gt`` for ones to maximise.

    ``mode="auto"`` maximises names containing acc, auc, precision, recall or f1 and
    minimises everything else (losses, errors).
    """
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        base = monitor[4:] if monitor.startswith("val_") else monitor
        mode = "max" if any(w in base for w in _MAX_WORDS) else "min"
    return operator.gt if mode == "max" else operator.lt


def _stop(callback: Callback, reason: str) -> None:
    trainer = callback.trainer
    if trainer is not None and hasattr(trainer, "stop"):
        trainer.stop(reason)
    else:
        callback.model.stop_training = True


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs (Keras 3 semantics).

    Args:
        monitor: the log key to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (from the monitor's name).
        restore_best_weights: copy the state-dict arrays at the best epoch and load them
            back when training ends.
        baseline: the waiting count only restarts on epochs that also beat this value.
        start_from_epoch: epochs to let pass before watching.
        verbose: 1 prints when it stops and restores.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        self.monitor = monitor
        self.monitor_op = _monitor_op(monitor, mode)
        self.min_delta = abs(min_delta) if self.monitor_op is operator.gt else -abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights: dict | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None) -> None:
        self._reset()

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))

    def _snapshot(self) -> dict:
        """A copy of every weight and buffer, as Tensors on the device they live on (a
        backup saves them to host memory, as it saves the model's)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping: {self.monitor!r} is not in the logs "
                f"(available: {', '.join(logs or {})})",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self._snapshot()  # the first epoch is the best so far
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._snapshot()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            _stop(
                self,
                f"early stopping at epoch {epoch + 1}: {self.monitor} did not improve "
                f"for {self.wait} epochs (best {self.best:.4g} at epoch "
                f"{self.best_epoch + 1})",
            )

    def state_dict(self) -> dict:
        """The counters, the best value and epoch, and the best weights (for a backup)."""
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict) -> None:
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best = state["best"]
        self.best_epoch = int(state["best_epoch"])
        weights = state["best_weights"]
        self.best_weights = (
            None if weights is None else {k: to_array(v).copy() for k, v in weights.items()}
        )

    def on_train_end(self, logs=None) -> None:
        verbose = self.verbose > 0 and speaks(self)
        if self.stopped_epoch > 0 and verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if verbose:
                print(
                    f"Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save ``model.state_dict()`` as safetensors at each epoch's end.

    ``filepath`` may hold format fields filled from the epoch (1-based) and the logs:
    ``"ckpt-{epoch:02d}-{val_loss:.4f}.safetensors"``. With ``save_best_only`` a file is
    written only when ``monitor`` improves. The epoch and logs go into the file's metadata.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        mode: str = "auto",
        initial_value_threshold: float | None = None,
    ) -> None:
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.monitor_op = _monitor_op(monitor, mode)
        self.best = initial_value_threshold
        self.last_path: str | None = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        current = logs.get(self.monitor)
        if self.save_best_only:
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint: {self.monitor!r} is not in the logs; nothing saved",
                    stacklevel=2,
                )
                return
            if self.best is not None and not self.monitor_op(current, self.best):
                return
            if self.verbose > 0 and speaks(self):
                print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                    f"{current:.5f}, saving model"
                )
            self.best = current
        self._save(epoch, logs)

    def state_dict(self) -> dict:
        """The best value so far and the last file written (for a backup)."""
        return {"best": self.best, "last_path": self.last_path}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]
        self.last_path = state["last_path"]

    def _save(self, epoch: int, logs: dict) -> None:
        from ..serialization import save

        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: the filepath {self.filepath!r} names {e}, which "
                f"is not in the logs (available: epoch, {', '.join(logs)})"
            ) from None
        directory = os.path.dirname(os.path.abspath(path))
        if speaks(self):  # rank 0 writes (the others keep the same state)
            os.makedirs(directory, exist_ok=True)
            meta = {"epoch": str(epoch + 1), **{k: repr(float(v)) for k, v in logs.items()}}
            save(self.model.state_dict(), path, metadata=meta)
        self.last_path = path


def _is_plateau(scheduler) -> bool:
    return any(c.__name__ == "ReduceLROnPlateau" for c in type(scheduler).__mro__)


class LearningRateScheduler(Callback):
    """Set the learning rate each epoch.

    ``schedule`` is either a function ``schedule(epoch, lr) -> new_lr`` (Keras: called at
    each epoch's start with the 0-based epoch and the current lr; ``schedule(epoch)`` also
    works), or an ``axon.optim.lr_scheduler`` object, stepped at each epoch's end
    (``interval="step"``: after each batch). ``ReduceLROnPlateau`` is stepped with the
    ``monitor`` value (``val_loss``, or ``loss`` when there is no validation). The lr used
    in an epoch is logged as ``learning_rate``.
    """

    def __init__(
        self, schedule, verbose: int = 0, monitor: str = "val_loss", interval: str = "epoch"
    ) -> None:
        if interval not in ("epoch", "step"):
            raise ValueError(f"interval must be 'epoch' or 'step', got {interval!r}")
        self.schedule = schedule
        self.verbose = verbose
        self.monitor = monitor
        self.interval = interval
        self.is_scheduler = hasattr(schedule, "step") and hasattr(schedule, "optimizer")
        if not self.is_scheduler and not callable(schedule):
            raise TypeError("schedule must be a function (epoch, lr) -> lr or an lr_scheduler")
        self._takes_lr = self.is_scheduler or _n_positional(schedule) != 1
        self._lr = None
        self._begun = None  # the epoch whose lr is set (a resumed epoch is not set twice)

    @property
    def optimizer(self):
        if self.is_scheduler:
            return self.schedule.optimizer
        opt = getattr(self.trainer, "optimizer", None)
        if opt is None:
            raise RuntimeError("LearningRateScheduler needs the optimizer: use it inside fit()")
        return opt

    def _get_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def on_train_begin(self, logs=None) -> None:
        self._begun = None

    def state_dict(self) -> dict:
        """The scheduler's state, the lr of the epoch and which epoch set it (a backup)."""
        return {
            "scheduler": self.schedule.state_dict() if self.is_scheduler else None,
            "lr": self._lr,
            "begun": self._begun,
        }

    def load_state_dict(self, state: dict) -> None:
        if self.is_scheduler:
            self.schedule.load_state_dict(state["scheduler"])
        self._lr, self._begun = state["lr"], state["begun"]

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if epoch == self._begun:  # resumed in this epoch: its lr is set and restored
            return
        self._begun = epoch
        if not self.is_scheduler:
            lr = self._get_lr()
            new = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
            new = float(new)
            if not math.isfinite(new):
                raise ValueError(f"the schedule returned lr={new} at epoch {epoch}")
            for group in self.optimizer.param_groups:
                group["lr"] = new
            if self.verbose > 0 and new != lr and speaks(self):
                print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")
        self._lr = self._get_lr()

    def on_batch_end(self, batch: int, logs=None) -> None:
        if self.is_scheduler and self.interval == "step":
            self.schedule.step()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if logs is not None and self._lr is not None:
            logs["learning_rate"] = self._lr
        if not self.is_scheduler or self.interval != "epoch":
            return
        if _is_plateau(self.schedule):
            logs = logs or {}
            key = self.monitor if self.monitor in logs else "loss"
            if key not in logs:
                raise KeyError(f"ReduceLROnPlateau: {self.monitor!r} is not in the logs")
            self.schedule.step(logs[key])
        else:
            self.schedule.step()


def _n_positional(fn) -> int:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 2
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(sig.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in kinds for p in params)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs:
    ...)``. Signatures as the hooks: ``on_epoch_*(epoch, logs)``, ``on_batch_*(batch,
    logs)``, ``on_train_*(logs)``."""

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_batch_begin=None,
        on_batch_end=None,
        on_train_begin=None,
        on_train_end=None,
    ) -> None:
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_batch_begin=on_batch_begin,
            on_batch_end=on_batch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
        )
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's running loss is NaN or infinite (Keras)."""

    def on_batch_end(self, batch: int, logs=None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if speaks(self):
                print(f"Batch {batch}: Invalid loss, terminating training")
            _stop(self, f"TerminateOnNaN: the loss became {loss} at batch {batch}")


class CSVLogger(Callback):
    """Append each epoch's logs to a CSV file (columns ``epoch`` then the sorted log keys).
    Under a process group rank 0 writes the file, the other ranks nothing."""

    def __init__(
        self, filename: str | os.PathLike, separator: str = ",", append: bool = False
    ) -> None:
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.keys: list[str] | None = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None) -> None:
        self._header_done, self._writer, self.keys = False, None, None
        if not speaks(self):
            return
        append = self.append or getattr(self.trainer, "resuming", False)
        exists = append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._file = open(self.filename, "a" if append else "w", newline="")
        self._header_done = bool(exists)
        self._writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self._file is None:  # another rank than 0: nothing is written
            return
        if self._writer is None:
            self._writer = csv.DictWriter(
                self._file,
                fieldnames=["epoch", *self.keys],
                delimiter=self.separator,
                extrasaction="ignore",
            )
            if not self._header_done:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self._file.flush()

    def state_dict(self) -> dict:
        """The columns and the file's length now (for a backup)."""
        size = self._file.tell() if self._file is not None else 0
        return {"keys": self.keys, "size": size}

    def load_state_dict(self, state: dict) -> None:
        """Resume the file where the backup left it: rows written after it are cut."""
        if self._file is not None:
            self._file.flush()
            self._file.truncate(int(state["size"]))
            self._file.seek(int(state["size"]))
        self.keys = None if state["keys"] is None else list(state["keys"])
        self._header_done = int(state["size"]) > 0
        self._writer = None

    def on_train_end(self, logs=None) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "LivePlot",
    "ModelCheckpoint",
    "ProgressBar",
    "TensorBoard",
    "TerminateOnNaN",
]
