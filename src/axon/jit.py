"""torch.jit's entry points, for programs that script or trace a model on the way.

axon runs eagerly and has no TorchScript: ``script`` and ``trace`` hand back what they are
given (as ``axon.compile`` does), so ``model = torch.jit.script(model)`` keeps working and
computes the same numbers; ``is_scripting()`` / ``is_tracing()`` are False, the decorators
(``ignore``, ``unused``, ``export``) leave functions as they are. Saving a scripted module
is not offered: save its ``state_dict()``.
"""

from __future__ import annotations

from typing import Final  # noqa: F401  (torch.jit.Final, for annotations)

__all__ = ["export", "ignore", "is_scripting", "is_tracing", "script", "trace", "unused"]


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``obj`` itself: a module or function runs eagerly in axon."""
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """``func`` itself (no graph is recorded; ``example_inputs`` are not run)."""
    return func


def ignore(drop=False, **kwargs):
    """As a decorator, with or without arguments: the function unchanged."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def is_scripting() -> bool:
    """False: axon code never runs under TorchScript."""
    return False


def is_tracing() -> bool:
    return False
