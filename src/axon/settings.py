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
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the "
            f"set_float32_matmul_precision call has no effect.",
            stacklevel=2,
        )
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["matmul_precision"]


def compile(
    model=None,
    *,
    fullgraph: bool = False,
    dynamic=None,
    backend="inductor",  # noqa: A001
    mode=None,
    options=None,
    disable: bool = False,
):
    """``model`` itself: axon has no compiler. Also usable as ``@compile`` and
    ``@compile(mode=...)``."""
    if model is None:
        return lambda fn: fn
    return model


# ------------------------------------------------------------------ more of torch's switches
_state.update(warn_always=False, interop_threads=1, anomaly_check_nan=True)


def set_warn_always(b: bool) -> None:
    """Record whether warnings torch gives once should be given every time."""
    _state["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _state["warn_always"]


def set_flush_denormal(mode: bool) -> bool:
    """Accepted for torch's API (NumPy keeps denormals); returns True, as torch on x86."""
    return True


def get_num_interop_threads() -> int:
    """The threads that run independent ops side by side (recorded; axon runs ops in turn)."""
    return _state["interop_threads"]


def set_num_interop_threads(num: int) -> None:
    if num < 1:
        raise RuntimeError(f"Number of threads must be positive, got {num}")
    _state["interop_threads"] = int(num)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """``set_detect_anomaly``'s switch as a function (recorded, as anomaly mode is)."""
    from .autograd.grad_mode import grad_mode

    grad_mode.anomaly = bool(enabled)
    _state["anomaly_check_nan"] = bool(check_nan)


def is_anomaly_check_nan_enabled() -> bool:
    return _state["anomaly_check_nan"]


# torch's build flags (what this build can do) and its deterministic debug mode
has_lapack = has_mkl = has_openmp = has_spectral = True  # NumPy's LAPACK, FFT, threads
_DEBUG_MODES = ("default", "warn", "error")
_state["debug_mode"] = 0


def set_deterministic_debug_mode(debug_mode) -> None:
    """0/"default", 1/"warn" or 2/"error" (recorded: axon's ops are deterministic)."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, "
                f"`warn`, `error`, but got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES.index(debug_mode)
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    _state["debug_mode"] = int(debug_mode)


def get_deterministic_debug_mode() -> int:
    return _state["debug_mode"]


def init_num_threads() -> None:
    """Accepted for torch's API: axon's thread pool starts on first use."""
