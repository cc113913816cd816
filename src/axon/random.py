"""``torch.random``: the global generator's functions under their module path, and
``fork_rng``, which lets a block draw random numbers without moving the global stream."""

from __future__ import annotations

import contextlib

from .backend import initial_seed
from .backend.generator import (
    Generator,
    default_generator,
    get_rng_state,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = [
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]


@contextlib.contextmanager
def fork_rng(
    devices=None,
    enabled: bool = True,
    _caller: str = "fork_rng",
    _devices_kw: str = "devices",
    device_type=None,
):
    """Within the block the global stream may be reseeded or drawn from; on leaving, it
    is back where it was (``devices`` name accelerators, of which axon has none)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
