"""``torch.autograd.graph``: the context managers about saved tensors that make sense on
the CPU. ``save_on_cpu`` changes nothing (axon's saved tensors are on the CPU already);
``disable_saved_tensors_hooks`` is accepted. Pack/unpack hooks (``saved_tensors_hooks``)
are not supported: axon's ops keep their saved arrays themselves."""

from __future__ import annotations

import contextlib

__all__ = ["disable_saved_tensors_hooks", "save_on_cpu"]


@contextlib.contextmanager
def save_on_cpu(pin_memory: bool = False, device_type: str = "cuda"):
    """Within the block, tensors saved for backward live on the CPU: they already do."""
    yield


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str):
    """Within the block saved-tensor hooks may not be registered; axon has none."""
    yield
