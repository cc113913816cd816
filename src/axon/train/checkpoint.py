"""The whole training state in one checkpoint, and ``BackupAndRestore``, which resumes a
killed ``fit`` or ``fit_stream`` to the same bits as a run that was never stopped.

A backup holds everything the rest of the run depends on, as one dict that
:func:`axon.save` writes atomically:

- the model's parameters and buffers, the optimizer's state and param_groups, the
  schedulers (through the callbacks that step them), every callback's own state
  (``EarlyStopping``'s counters and best weights, ``History``, ``ModelCheckpoint``'s best,
  ``CSVLogger``'s position in its file);
- the global random stream (``axon.get_rng_state()``) and the data loader's position
  (``DataLoader.state_dict()`` where the loader has one; otherwise the stream as it was
  when the epoch's iterator was made, so the batches already used can be drawn again and
  skipped);
- where the loop stands: the epoch, the batches (updates) done in it and in all, the
  epoch's running loss total and the metrics' running sums, and the step's own state
  (for truncated BPTT the carried recurrent state and the position inside the current
  batch);
- a fingerprint of the run's arguments (model layout, optimizer and its initial
  hyperparameters, loss, metrics, batching, clipping, seed, callbacks): a resume with
  different ones is refused, naming each difference. ``epochs`` may differ (train longer
  or shorter than first planned).

The loops call three functions of this module: :func:`begin` (load a backup if there is
one, run ``on_train_begin``, then restore), :func:`epoch_batches` / :func:`resume_batches`
(the batches of an epoch, from its start or from a saved position), and the callback
saves through :func:`gather`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

from ..backend.generator import get_rng_state, set_rng_state
from .base import Callback
from .distributed import speaks

__all__ = ["BackupAndRestore", "fingerprint", "gather", "restore"]

FORMAT = 1  # the layout of the saved dict; bumped when it changes
LATEST = "backup.safetensors"
PREVIOUS = "backup.previous.safetensors"


# ----------------------------------------------------------------------------- fingerprint
def describe(obj: Any) -> str:
    """A short stable text naming ``obj`` for the fingerprint: a string as is, a function
    by its qualified name, an object (a loss module) by its class and its public settings
    that are plain values (``CrossEntropyLoss(ignore_index=-100, label_smoothing=0.1,
    reduction='mean')``)."""
    if obj is None or isinstance(obj, str | bool | int | float):
        return repr(obj) if not isinstance(obj, str) else obj
    if isinstance(obj, list | tuple):
        return "[" + ", ".join(describe(o) for o in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k}: {describe(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
        return f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"
    plain = str | bool | int | float | tuple | None
    settings = sorted(
        (k, v)
        for k, v in getattr(obj, "__dict__", {}).items()
        if not k.startswith("_") and k != "training" and isinstance(v, plain)
    )
    return f"{type(obj).__name__}({', '.join(f'{k}={v!r}' for k, v in settings)})"


def _data_description(data, loader) -> dict[str, str]:
    """How the training data are batched: the loader's batch size, sampler and length,
    and the dataset's length when known."""
    out = {}
    inner = getattr(loader, "loader", loader)  # fit's wrapper of nested arrays
    if hasattr(inner, "batch_size"):
        out["batch_size"] = repr(inner.batch_size)
    sampler = getattr(inner, "sampler", None)
    if sampler is not None:
        out["sampler"] = type(sampler).__name__
    dataset = getattr(inner, "dataset", None)
    try:
        out["dataset length"] = repr(len(dataset if dataset is not None else data))
    except TypeError:
        pass
    try:
        out["batches per epoch"] = repr(len(loader))
    except TypeError:
        pass
    return out


def fingerprint(trainer, data, loader, **arguments) -> dict[str, str]:
    """What makes a resumed run the continuation of the saved one, as text by name.

    ``arguments`` are the loop's and its step's (``clip_grad_norm``, ``tbptt_steps``,
    ...), described by :func:`describe`; ``epochs`` and ``verbose`` are left out on
    purpose."""
    from ..backend import initial_seed

    model, optimizer = trainer.model, trainer.optimizer
    out = {"loop": trainer.loop_name, "model": type(model).__name__}
    for name, t in model.state_dict().items():
        out[f"model entry {name!r}"] = f"{tuple(t.shape)} {t.dtype}"
    out["optimizer"] = type(optimizer).__name__
    defaults = getattr(optimizer, "defaults", {})
    out["optimizer hyperparameters"] = describe(dict(sorted(defaults.items())))
    out["optimizer param_groups"] = repr([len(g["params"]) for g in optimizer.param_groups])
    out["loss"] = describe(trainer.loss)
    out["metrics"] = describe(list(trainer.params.get("metrics") or []))
    out.update(_data_description(data, loader))
    out.update((k, describe(v)) for k, v in arguments.items())
    out["callbacks"] = describe([type(cb).__name__ for cb in _stateful_order(trainer)])
    out["initial seed"] = repr(initial_seed())
    return out


def _in_current_names(saved: dict) -> dict:
    """A fingerprint written before ``fit`` and ``fit_stream`` became one loop, in the
    names of today's: fit's ``grad_clip`` is ``clip_grad_norm`` (with no
    ``clip_grad_value``), and fit_stream's had no ``loss_weights``."""
    saved = dict(saved)
    if "grad_clip" in saved and "clip_grad_norm" not in saved:
        saved["clip_grad_norm"] = saved.pop("grad_clip")
        saved.setdefault("clip_grad_value", "None")
    if saved.get("loop") == "fit_stream":
        saved.setdefault("loss_weights", "None")
    return saved


def check_fingerprint(saved: dict, now: dict, path: str) -> None:
    """Raise ValueError naming every entry that differs between the backup and this run
    (a backup's older names are read as today's)."""
    saved = _in_current_names(saved)
    keys = list(saved) + [k for k in now if k not in saved]
    diffs = []
    for key in keys:
        a, b = saved.get(key, "absent"), now.get(key, "absent")
        if a != b:
            diffs.append(f"{key}: {a} in the backup, {b} now")
    if not diffs:
        return
    shown = diffs[:8] + ([f"... and {len(diffs) - 8} more"] if len(diffs) > 8 else [])
    raise ValueError(
        f"BackupAndRestore: the backup {path!r} was made by a different run, so it cannot "
        "be resumed:\n  " + "\n  ".join(shown) + "\nTrain with the same arguments, or delete "
        "the backup directory to start afresh."
    )


# ----------------------------------------------------------------------------- callbacks
def _stateful_order(trainer) -> list[Callback]:
    """The callbacks whose state belongs to the run, in order: all but the displays (the
    progress bar, LivePlot: a resumed run may add or drop them) and the backups themselves."""
    from .liveplot import LivePlot
    from .progress import ProgressBar

    displays = ProgressBar | LivePlot | BackupAndRestore
    return [cb for cb in trainer.callbacks if not isinstance(cb, displays)]


def _callback_states(trainer) -> dict[str, Any]:
    out = {}
    for i, cb in enumerate(_stateful_order(trainer)):
        if callable(getattr(cb, "state_dict", None)):
            out[f"{i}.{type(cb).__name__}"] = cb.state_dict()
    return out


def _load_callback_states(trainer, states: dict[str, Any]) -> None:
    for i, cb in enumerate(_stateful_order(trainer)):
        key = f"{i}.{type(cb).__name__}"
        if key in states and callable(getattr(cb, "load_state_dict", None)):
            cb.load_state_dict(states[key])


def _guard_state(trainer) -> Any:
    """The NaN guard's own state (its divergence watch), when it keeps one."""
    guard = getattr(trainer, "guard", None)
    return guard.state_dict() if callable(getattr(guard, "state_dict", None)) else None


# ----------------------------------------------------------------------------- gather/restore
def gather(trainer, epoch: int, step: int) -> dict[str, Any]:
    """The whole training state now, positioned at ``step`` batches (updates) done in the
    0-based ``epoch`` (``step = 0``: the epoch has not started). Savable by ``axon.save``."""
    loader = trainer.loader
    loader_state = loader.state_dict() if callable(getattr(loader, "state_dict", None)) else None
    mid = step > 0
    return {
        "format": FORMAT,
        "fingerprint": trainer.fingerprint,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "callbacks": _callback_states(trainer),
        "guard": _guard_state(trainer),
        "rng": get_rng_state(),
        "loop": {
            "epoch": epoch,
            "step": step,
            "global_step": trainer.global_step,
            "stop_training": bool(getattr(trainer.model, "stop_training", False)),
            "loader": loader_state,
            # the stream as the epoch's iterator found it: to draw the used batches again
            "epoch_rng": trainer.epoch_rng if mid and loader_state is None else None,
            "total": trainer.total if mid else 0.0,
            "count": trainer.count if mid else 0,
            "metrics": trainer.objective.state_dict() if mid else None,
            "extra": trainer.strategy.state_dict()
            if mid and trainer.strategy is not None
            else None,
        },
    }


def restore(trainer, state: dict[str, Any]) -> dict[str, Any]:
    """Put a :func:`gather`ed state back (model, optimizer, callbacks, global stream,
    loader, running sums); returns the loop's part (``epoch``, ``step``, ...), which the
    loop continues from."""
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    _load_callback_states(trainer, state["callbacks"])
    guard = getattr(trainer, "guard", None)
    if state.get("guard") is not None and callable(getattr(guard, "load_state_dict", None)):
        guard.load_state_dict(state["guard"])
    loop = state["loop"]
    loader = trainer.loader
    if loop["loader"] is not None and callable(getattr(loader, "load_state_dict", None)):
        loader.load_state_dict(loop["loader"])
    trainer.epoch = int(loop["epoch"])
    trainer.step = int(loop["step"])
    trainer.global_step = int(loop["global_step"])
    trainer.model.stop_training = bool(loop["stop_training"])
    if loop["step"] > 0:
        trainer.total, trainer.count = float(loop["total"]), int(loop["count"])
        trainer.objective.load_state_dict(loop["metrics"])
        if trainer.strategy is not None:
            trainer.strategy.load_state_dict(loop["extra"])
    set_rng_state(state["rng"])
    return loop


def begin(trainer, cblist, initial_epoch: int, epochs: int) -> tuple[int, dict | None]:
    """Start a run: read the backup of a ``BackupAndRestore`` among the callbacks (if it
    holds one), tell the callbacks (``trainer.resuming``), run ``on_train_begin``, then
    restore. Returns the first epoch to run, and the restored loop position when that
    epoch resumes in its middle (else None)."""
    backups = [cb for cb in trainer.callbacks if isinstance(cb, BackupAndRestore)]
    if len(backups) > 1:
        raise ValueError("fit: give at most one BackupAndRestore callback")
    state = backups[0].read(trainer) if backups else None
    trainer.resuming = state is not None
    cblist.on_train_begin()
    if state is None:
        return initial_epoch, None
    loop = restore(trainer, state)
    if loop["step"] == 0:  # at an epoch's end; after the last one if the run stopped there
        return (epochs if trainer.model.stop_training else int(loop["epoch"])), None
    return int(loop["epoch"]), loop  # (stopped in a batch: the epoch ends without more)


def epoch_batches(trainer, loader) -> Iterator:
    """A new epoch's iterator over ``loader``; with a backup to write, the global stream is
    noted first, so that a checkpoint in this epoch can draw its batches again."""
    if trainer.backing_up:
        trainer.epoch_rng = get_rng_state()
    return iter(loader)


def resume_batches(trainer, loader, loop: dict[str, Any], taken: int) -> Iterator:
    """The iterator of the saved epoch, ``taken`` batches into it.

    A loader with ``load_state_dict`` (restored already) continues where it was. Any other
    iterable is iterated afresh from the global stream as it was at the epoch's start and
    its first ``taken`` batches are skipped (they are drawn again, shuffles and random
    transforms included); then the stream is put back where the checkpoint left it."""
    if loop["stop_training"]:  # a callback stopped the run at that batch: no more batches
        return iter(())
    if loop["loader"] is not None and callable(getattr(loader, "load_state_dict", None)):
        return iter(loader)
    now = get_rng_state()
    if loop["epoch_rng"] is not None:
        set_rng_state(loop["epoch_rng"])
    trainer.epoch_rng = loop["epoch_rng"]
    it = iter(loader)
    for i in range(taken):
        try:
            next(it)
        except StopIteration:
            raise ValueError(
                f"BackupAndRestore: the data ended after {i} batches, but the backup was "
                f"taken {taken} batches into the epoch: is it the same data?"
            ) from None
    set_rng_state(now)
    return it


# ----------------------------------------------------------------------------- the callback
class BackupAndRestore(Callback):
    """Back up the whole training state, and resume from it when training restarts
    (Keras 3's callback; the resumed run equals an uninterrupted one bit for bit).

    ``fit(..., callbacks=[BackupAndRestore("backup")])``: at each epoch's end (or every
    ``save_freq`` batches) the state is written atomically to ``backup_dir``. If the run
    is killed, the same ``fit`` call started again, in a fresh process, finds the backup,
    restores model, optimizer, schedulers, callbacks, random streams and data position,
    and continues, even in the middle of an epoch. When training ends normally (or stops
    early), the backup is deleted.

    Args:
        backup_dir: the directory for the backup files (created when needed).
        save_freq: ``"epoch"``: at each epoch's end; an int N: after every N batches
            (updates for ``fit_stream``), counted over the whole run.
        double_checkpoint: keep the previous backup too, and fall back to it when the
            latest cannot be read.
        delete_checkpoint: delete the backup when training ends.

    Under a process group rank 0 writes (and deletes) the backup and every rank reads it
    when the job starts again, so ``backup_dir`` must be one that every rank sees (one
    machine, or a shared file system); backups are taken at epochs' ends only, and a
    resumed job continues every rank from rank 0's state (its random stream included).

    A backup made by a run with other arguments (model, optimizer, loss, batching,
    seed, ...) is refused with a ValueError naming the differences; ``epochs`` may change.
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a directory path")
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        ):
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch' or a positive "
                f"number of batches, got {save_freq!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        if save_freq != "epoch":  # per-batch hook only when it is used (free otherwise)
            self.on_batch_end = self._batch_end

    @property
    def path(self) -> str:
        """The latest backup's file."""
        return os.path.join(self.backup_dir, LATEST)

    @property
    def previous_path(self) -> str:
        return os.path.join(self.backup_dir, PREVIOUS)

    # ------------------------------------------------------------- reading
    def read(self, trainer) -> dict[str, Any] | None:
        """The backup's state, checked against this run, or None when there is none."""
        candidates = [self.path] + ([self.previous_path] if self.double_checkpoint else [])
        errors = []
        for path in candidates:
            if not os.path.exists(path):
                continue
            try:
                state = self._load(path)
            except ValueError as e:
                errors.append(f"{path!r}: {e}")
                continue
            if errors:
                warnings.warn(
                    f"BackupAndRestore: the latest backup cannot be read "
                    f"({errors[0]}); resuming from the previous one",
                    stacklevel=3,
                )
            check_fingerprint(state["fingerprint"], trainer.fingerprint, path)
            return state
        if errors:
            raise ValueError(
                "BackupAndRestore: the backup cannot be read: "
                + "; ".join(errors)
                + ". Delete the backup directory to start afresh."
            )
        return None

    @staticmethod
    def _load(path: str) -> dict[str, Any]:
        from ..serialization import load

        try:
            state = load(path)
        except (OSError, ValueError) as e:
            raise ValueError(f"{type(e).__name__}: {e}") from e
        if not (
            isinstance(state, dict)
            and state.get("format") == FORMAT
            and {"fingerprint", "model", "optimizer", "rng", "loop"} <= set(state)
        ):
            raise ValueError("it is not a training backup of this version of axon")
        return state

    # ------------------------------------------------------------- writing
    def save(self, epoch: int, step: int) -> None:
        """Write the state at ``step`` batches into the 0-based ``epoch`` atomically (the
        previous backup is kept as the fallback with ``double_checkpoint``)."""
        from ..serialization import save

        if not speaks(self):
            return  # under a process group rank 0 writes the backup; every rank reads it
        state = gather(self.trainer, epoch, step)
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self.path):
            os.replace(self.path, self.previous_path)
        save(state, self.path)

    def on_train_begin(self, logs=None) -> None:
        self.trainer.backing_up = True

    def _batch_end(self, batch: int, logs=None) -> None:
        if self.trainer.global_step % self.save_freq == 0:
            self.save(self.trainer.epoch, batch + 1)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.save_freq == "epoch":
            self.save(epoch + 1, 0)

    def on_train_end(self, logs=None) -> None:
        if not self.delete_checkpoint or not speaks(self):
            return
        for path in (self.path, self.previous_path):
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(self.backup_dir)  # only when nothing else is in it
        except OSError:
            pass
