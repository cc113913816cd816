"""``TensorBoard``: Keras' callback, writing ``fit``'s curves, learning rate, weight and
gradient histograms and a figure of the training curves for TensorBoard
(``tensorboard --logdir logs``).

The layout is Keras 3's, so a Keras user finds their runs where they expect them:

- two runs, ``log_dir/train`` and ``log_dir/validation``;
- per epoch (the 0-based epoch is the step) ``epoch_loss`` and ``epoch_<metric>`` in
  each run (``val_*`` logs go to ``validation`` without their prefix) and
  ``epoch_learning_rate`` in ``train``;
- with ``update_freq=N``, ``batch_loss`` and ``batch_<metric>`` (the epoch's running
  means) every N updates, the update counted over the run (1-based) as the step; and in
  ``validation`` ``evaluation_<name>_vs_iterations``, the validation at each epoch's end
  against the updates made so far;
- with ``histogram_freq=k``, every k epochs (epoch 0 included) a histogram of each
  parameter under its ``named_parameters()`` name and one of its gradient of the epoch's
  last update under ``<name>/gradient``.

What Keras draws from TensorFlow's graph has no counterpart here: ``write_graph`` writes
the model's layer table (:func:`axon.summary`) as text instead. At the end of training
the training curves (``History.plot``) are added as a figure, ``training_curves``.

The learning rate is the optimizer's as the epoch ends, before ``fit``'s ``scheduler=``
steps it (``fit`` calls your callbacks first), so it is the rate of the epoch's updates;
when a ``LearningRateScheduler`` already put ``learning_rate`` in the logs, that value
is written. Param groups with different rates are written as
``epoch_learning_rate/group_<i>``.

Resuming with ``BackupAndRestore``: the callback's backed-up state is the length each of
its event files had at the backup, and a resumed run cuts them back to it (and removes
the files of a run that resumed from the same backup and died again), as ``CSVLogger``
cuts its file.
So a crash and a resume leave one value per tag and step, for every reader: TensorBoard's
"purge" markers could not do it, because they drop every tag's events from a step on,
and the batch and epoch curves count their steps differently. The files of one training
carry its id in their names; files of other runs in ``log_dir`` are never touched.

Under a process group every rank runs the callback and rank 0 alone writes.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from .base import Callback
from .distributed import speaks

__all__ = ["TensorBoard"]

_RUNS = ("train", "validation")


class TensorBoard(Callback):
    """Log ``fit`` for TensorBoard (Keras 3's ``keras.callbacks.TensorBoard``).

    Args:
        log_dir: the folder of the two runs ``train`` and ``validation``; give each
            experiment its own (``logs/mlp-lr0.1``), and open ``tensorboard --logdir logs``
            to compare them.
        histogram_freq: every how many epochs to write the weight and gradient
            histograms; 0 writes none.
        write_graph: write the model's layer table as text (tag ``model``) when training
            starts.
        update_freq: ``"epoch"``; ``"batch"`` or an int N also writes ``batch_*``
            scalars every N updates.

    Needs tensorboardX (``pip install "axon[tensorboard]"``): an ImportError saying so
    is raised when the callback is made.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        update_freq: str | int = "epoch",
    ) -> None:
        from ..utils.tensorboard import tensorboardx

        tensorboardx()  # missing: the ImportError now, not after an epoch of training
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int):
            raise TypeError(f"TensorBoard: histogram_freq must be an int, got {histogram_freq!r}")
        if histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0, got {histogram_freq}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (
            isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0
        ):
            raise ValueError(
                f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive number of "
                f"updates, got {update_freq!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.update_freq = update_freq
        self._writers: dict[str, Any] = {}
        self._run_id = uuid.uuid4().hex[:12]
        if update_freq != "epoch":  # per-batch hook only when it is used (free otherwise)
            self.on_batch_end = self._batch_end

    # ------------------------------------------------------------- writers
    def _writer(self, run: str):
        """The run's SummaryWriter, made on its first use (no empty runs); None on the
        ranks that do not write."""
        if not speaks(self):
            return None
        if run not in self._writers:
            from ..utils.tensorboard import SummaryWriter

            self._writers[run] = SummaryWriter(
                os.path.join(self.log_dir, run), filename_suffix=f".{self._run_id}"
            )
        return self._writers[run]

    def _flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files (``fit`` calls it when it returns or fails)."""
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None) -> None:
        self.close()
        if getattr(self.trainer, "resuming", False):
            return  # the backup's state names the files to continue (load_state_dict)
        self._run_id = uuid.uuid4().hex[:12]
        if self.write_graph and speaks(self):
            from .summary import summary

            table = str(summary(self.model, print_fn=None))
            # four spaces: Markdown's code block, so the table keeps its columns
            text = "\n".join("    " + line for line in table.splitlines())
            self._writer("train").add_text("model", text, 0)

    def _batch_end(self, batch: int, logs=None) -> None:
        step = self.trainer.global_step  # updates so far, this one included (1-based)
        if step % self.update_freq or not speaks(self):
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            writer.add_scalar("batch_" + name, value, step)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if not speaks(self):
            return
        logs = logs or {}
        train = self._writer("train")
        for name, value in logs.items():
            if not name.startswith("val_"):
                train.add_scalar("epoch_" + name, value, epoch)
        for tag, value in self._learning_rates(logs).items():
            train.add_scalar(tag, value, epoch)
        validation = {name[4:]: v for name, v in logs.items() if name.startswith("val_")}
        if validation:
            writer = self._writer("validation")
            updates = self.trainer.global_step
            for name, value in validation.items():
                writer.add_scalar("epoch_" + name, value, epoch)
                writer.add_scalar(f"evaluation_{name}_vs_iterations", value, updates)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for name, param in self.model.named_parameters():
                train.add_histogram(name, param, epoch)
                if param.grad is not None:
                    train.add_histogram(f"{name}/gradient", param.grad, epoch)
        self._flush()  # TensorBoard shows each epoch as it ends

    def _learning_rates(self, logs: dict) -> dict[str, float]:
        """The optimizer's learning rate(s) by tag (see the module docstring)."""
        optimizer = getattr(self.trainer, "optimizer", None)
        if optimizer is None:
            return {}
        rates = [float(group["lr"]) for group in optimizer.param_groups]
        if len(set(rates)) > 1:
            return {f"epoch_learning_rate/group_{i}": lr for i, lr in enumerate(rates)}
        if "learning_rate" in logs or not rates:  # written with the logs
            return {}
        return {"epoch_learning_rate": rates[0]}

    def on_train_end(self, logs=None) -> None:
        history = getattr(self.trainer, "history", None)
        if speaks(self) and history is not None and history.epoch:
            figure = history.plot()
            self._writer("train").add_figure("training_curves", figure, history.epoch[-1])
        self.close()

    # ------------------------------------------------------------- backups
    def _files(self) -> dict[str, str]:
        """This training's event files, ``"<run>/<name>"`` -> path."""
        out = {}
        for run in _RUNS:
            folder = os.path.join(self.log_dir, run)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if name.endswith(f".{self._run_id}"):
                    out[f"{run}/{name}"] = os.path.join(folder, name)
        return out

    def state_dict(self) -> dict:
        """This training's id and the length of each of its event files now (for a
        backup; the files are flushed first)."""
        if not speaks(self):
            return {"run_id": self._run_id, "files": {}}
        self._flush()
        sizes = {key: os.path.getsize(path) for key, path in self._files().items()}
        return {"run_id": self._run_id, "files": sizes}

    def load_state_dict(self, state: dict) -> None:
        """Continue the backed-up training's files: each is cut back to its length at the
        backup, and those made after the backup are removed."""
        self.close()
        self._run_id = str(state["run_id"])
        if not speaks(self):
            return
        sizes = {key: int(size) for key, size in state["files"].items()}
        for key, path in self._files().items():
            if key not in sizes:
                os.remove(path)  # written by a run that started after the backup
            elif os.path.getsize(path) > sizes[key]:
                os.truncate(path, sizes[key])
