"""``axon.amp``: automatic mixed precision's API (``autocast``, ``GradScaler``) on a CPU.

Programs written for a GPU wrap their forward in ``autocast`` and their backward in a
``GradScaler``, usually with ``enabled=use_amp``. axon computes in the tensors' own
dtypes: ``autocast`` marks the region (``is_autocast_enabled()``) but casts nothing, and
``GradScaler`` behaves as torch's does without CUDA: it disables itself (with torch's
warning when asked to be enabled), so ``scale(loss)`` is ``loss`` and ``step(opt)`` is
``opt.step()``.
"""

from __future__ import annotations

import functools
import warnings

_state = {"enabled": False}


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """True inside an enabled ``autocast`` region."""
    return _state["enabled"]


class autocast:  # noqa: N801  (torch's name)
    """``with autocast(device_type="cuda", dtype=torch.float16, enabled=True):`` or as a
    decorator. Accepted for torch's API; the ops inside run in their inputs' dtypes."""

    def __init__(
        self,
        device_type: str = "cuda",
        dtype=None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type, self.dtype, self.enabled = device_type, dtype, bool(enabled)

    def __enter__(self) -> autocast:
        self.prev = _state["enabled"]
        _state["enabled"] = self.enabled
        return self

    def __exit__(self, *exc) -> None:
        _state["enabled"] = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.dtype, self.enabled):
                return fn(*args, **kwargs)

        return wrapper


class GradScaler:
    """torch's loss scaler as it behaves without CUDA: disabled, every method a
    pass-through (``scale`` returns its argument, ``step`` calls ``optimizer.step``)."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if enabled:
            warnings.warn(
                "GradScaler is enabled, but axon computes in the tensors' own dtypes "
                "(autocast casts nothing), so there is no underflow to scale. Disabling.",
                UserWarning,
                stacklevel=2,
            )
        self._enabled = False

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer) -> None:
        pass

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        pass

    def get_scale(self) -> float:
        return 1.0

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        pass
