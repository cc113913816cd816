"""The course's experiments: one module each, registered by name in :mod:`.registry`.
Helpers they share (printing, backups, data, models, schedules) live in :mod:`.shared`.

    @register("xor", "XOR: a perceptron fails, a 2-2-1 network succeeds")
    def run(config: Config) -> Result: ...

``axon run NAME`` runs an experiment; ``axon worksheet NAME`` runs a worksheet (a worked
example computed step by step by the engine), registered with ``register(..., kind=
"worksheet")``. ``axon list`` prints both. No experiment module imports another.
"""

from __future__ import annotations

from .registry import ON_DEVICE, RESUMABLE, WEIGHTS, Entry, entries, get, names, register, run
from .shared.base import Config, Result, WeightsError

__all__ = [
    "ON_DEVICE",
    "RESUMABLE",
    "WEIGHTS",
    "Config",
    "Entry",
    "Result",
    "WeightsError",
    "entries",
    "get",
    "names",
    "register",
    "run",
]
