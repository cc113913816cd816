"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools


class _GradMode:
    """The single switch the ops read (one class attribute per op); ``inference`` is
    True inside ``inference_mode()`` (which also turns ``enabled`` off)."""

    enabled: bool = True
    inference: bool = False
    anomaly: bool = False  # set_detect_anomaly: recorded only, for torch's API


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations record the graph for backward."""
    return grad_mode.enabled


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return grad_mode.inference


class set_grad_enabled:
    """Turn graph recording on or off: as a function (``set_grad_enabled(False)`` switches
    at once and stays), a context manager (restores the previous mode on exit) or a
    decorator (``@set_grad_enabled(False)``: the mode holds during each call)."""

    def __init__(self, mode: bool) -> None:
        self.prev = grad_mode.enabled
        self.mode = bool(mode)
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        grad_mode.enabled = self.prev

    def __call__(self, fn):
        grad_mode.enabled = self.prev  # decorating must not switch the mode now
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


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


class inference_mode(_Switch):
    """Run without recording a graph, like ``torch.inference_mode()``: a context manager
    and a decorator; ``inference_mode(False)`` changes nothing. Tensors made inside are
    ordinary tensors (axon has no separate inference tensors), so this is ``no_grad`` plus
    :func:`is_inference_mode_enabled` answering True."""

    def __new__(cls, mode=True):
        if callable(mode):  # used bare, as ``@inference_mode``
            return super().__new__(cls, mode)
        self = super().__new__(cls)
        self.active = bool(mode)
        return self

    def __init__(self, mode=True) -> None:
        pass

    def __enter__(self) -> None:
        self.prev = grad_mode.enabled
        self.prev_inference = grad_mode.inference
        if getattr(self, "active", True):
            grad_mode.enabled = False
            grad_mode.inference = True

    def __exit__(self, *exc) -> None:
        grad_mode.enabled = self.prev
        grad_mode.inference = self.prev_inference

    def __call__(self, fn):
        active = getattr(self, "active", True)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(active):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Accepted for torch's API (as a function and a context manager); axon records no
    extra trace: its error messages already name the op and the shapes at fault."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = grad_mode.anomaly
        grad_mode.anomaly = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        grad_mode.anomaly = self.prev


class detect_anomaly(set_detect_anomaly):
    """``with detect_anomaly():`` accepted for torch's API (see :class:`set_detect_anomaly`)."""

    def __init__(self, check_nan: bool = True) -> None:
        super().__init__(True, check_nan)


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly`` / after ``set_detect_anomaly(True)``."""
    return grad_mode.anomaly
