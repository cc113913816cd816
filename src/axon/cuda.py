"""``axon.cuda``: the answers torch gives on a machine without CUDA.

Programs ask ``torch.cuda.is_available()`` to choose a device and seed CUDA beside the CPU
(``torch.cuda.manual_seed_all(seed)``); both work here. axon has no CUDA backend yet, so
asking for a CUDA device's properties raises :class:`~axon.backend.device.DeviceUnavailableError`.
"""

from __future__ import annotations

from types import SimpleNamespace

from . import amp as _amp
from .backend.device import DeviceUnavailableError, _available, _no_backend

amp = SimpleNamespace(GradScaler=_amp.GradScaler, autocast=_amp.autocast)
"""``axon.cuda.amp``: torch's older spelling of ``axon.amp``."""


def is_available() -> bool:
    """Whether a CUDA backend is registered (none is yet: False)."""
    return "cuda" in _available


def device_count() -> int:
    """1 with a CUDA backend, else 0."""
    return int(is_available())


def manual_seed(seed: int) -> None:
    """Accepted and ignored, as torch does when CUDA is absent."""


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored, as torch does when CUDA is absent."""


def seed() -> None:
    """Accepted and ignored, as torch does when CUDA is absent."""


def seed_all() -> None:
    """Accepted and ignored, as torch does when CUDA is absent."""


def empty_cache() -> None:
    """Nothing to free: accepted, as torch accepts it before CUDA starts."""


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def _unavailable(*args, **kwargs):
    raise DeviceUnavailableError(f"CUDA was asked for: {_no_backend('cuda')}")


current_device = get_device_name = get_device_properties = set_device = synchronize = _unavailable
