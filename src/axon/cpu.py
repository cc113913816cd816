"""``torch.cpu``: the device-module functions for the CPU, where axon computes (so a
program that picks its device module by name, ``getattr(torch, device.type)``, runs)."""

from __future__ import annotations

import contextlib

__all__ = [
    "current_device",
    "device_count",
    "is_available",
    "is_initialized",
    "set_device",
    "stream",
    "synchronize",
]


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device) -> None:
    """Accepted, as torch (there is one CPU device)."""


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU work is done when its call returns."""


@contextlib.contextmanager
def stream(stream=None):
    """A no-op context, as torch's on the CPU."""
    yield
