"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools


class _GradMode:
    """The single switch the ops read (an attribute read costs ~20 ns)."""

    enabled: bool = True


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations record the graph for backward."""
    return grad_mode.enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.prev = grad_mode.enabled
        self.mode = bool(mode)
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        grad_mode.enabled = self.prev


class _Switch:
    """Base for ``no_grad`` / ``enable_grad``: a context manager and a decorator."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is not None:  # used bare, as ``@no_grad`` without parentheses
            return self(func)
        return self

    def __enter__(self) -> None:
        self.prev = grad_mode.enabled
        grad_mode.enabled = self.mode

    def __exit__(self, *exc) -> None:
        grad_mode.enabled = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Switch):
    """Run without recording a graph, like ``torch.no_grad()``.

    Use as ``with axon.no_grad(): ...`` or as a decorator ``@axon.no_grad()``.
    """

    mode = False


class enable_grad(_Switch):
    """Turn graph recording back on inside a ``no_grad`` block."""

    mode = True
