"""``Callback``, the hooks ``fit`` calls, and ``CallbackList``, which calls them in order.

Keras' contract: ``epoch`` and ``batch`` are 0-based; ``logs`` is a dict of floats (running
means during an epoch, the epoch's values at its end, ``val_*`` included). A callback stops
training by setting ``self.model.stop_training = True``; ``fit`` resets that flag to False
when it starts and checks it after every batch and every epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
)


class Callback:
    """Base class: override the hooks you need; each receives ``logs`` (a dict or None).

    Set by ``fit`` before ``on_train_begin``: ``self.model`` (the module), ``self.params``
    (``epochs``, ``steps``, ``verbose``, ``metrics``) and ``self.trainer`` (the
    :class:`~axon.train.fit.TrainState`: optimizer, history, current epoch and step).
    """

    model: Any = None
    params: dict | None = None
    trainer: Any = None

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    def close(self) -> None:
        """Release resources (files, live displays); ``fit`` calls it on exit, even on error."""


def _overrides(cb: Callback, hook: str) -> bool:
    """Whether ``cb`` does something in ``hook`` (a subclass method or an instance attribute)."""
    return hook in vars(cb) or getattr(type(cb), hook, None) is not getattr(Callback, hook)


class CallbackList:
    """Calls each hook on every callback in order, skipping callbacks that do not define it
    (so the per-batch hooks cost nothing when nobody listens)."""

    def __init__(
        self, callbacks: Iterable[Callback], model=None, params: dict | None = None, trainer=None
    ) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(dict(params or {}))
            if hasattr(cb, "set_trainer"):
                cb.set_trainer(trainer)
        self._by_hook = {h: [cb for cb in self.callbacks if _overrides(cb, h)] for h in _HOOKS}

    @property
    def wants_batch_logs(self) -> bool:
        """True when some callback listens to ``on_batch_end`` (logs are worth building)."""
        return bool(self._by_hook["on_batch_end"])

    def on_train_begin(self, logs: dict | None = None) -> None:
        for cb in self._by_hook["on_train_begin"]:
            cb.on_train_begin(logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        for cb in self._by_hook["on_train_end"]:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        for cb in self._by_hook["on_epoch_begin"]:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for cb in self._by_hook["on_epoch_end"]:
            cb.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        for cb in self._by_hook["on_batch_begin"]:
            cb.on_batch_begin(batch, logs)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        for cb in self._by_hook["on_batch_end"]:
            cb.on_batch_end(batch, logs)

    def close(self) -> None:
        for cb in self.callbacks:
            close = getattr(cb, "close", None)
            if close is not None:
                close()
