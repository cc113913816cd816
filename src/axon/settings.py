"""torch's global switches that programs set in their preamble, for a NumPy engine.

``use_deterministic_algorithms``: axon's CPU kernels are deterministic already, so the
switch is recorded and answered back. ``set_float32_matmul_precision``: NumPy multiplies
float32 in full precision whatever is asked; the value is validated and recorded.
``compile``: there is no compiler, so the model (or function) is returned as it is.
"""

from __future__ import annotations

import warnings

_state = {"deterministic": False, "warn_only": False, "matmul_precision": "highest"}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the switch (axon's kernels are deterministic either way)."""
    _state["deterministic"], _state["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


def set_float32_matmul_precision(precision: str) -> None:
    """Record "highest", "high" or "medium" (NumPy keeps full float32 precision); another
    value warns and changes nothing, as in torch."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the "
                      f"set_float32_matmul_precision call has no effect.", stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["matmul_precision"]


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable: bool = False):
    """``model`` itself: axon has no compiler. Also usable as ``@compile`` and
    ``@compile(mode=...)``."""
    if model is None:
        return lambda fn: fn
    return model
