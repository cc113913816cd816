"""Signal-window factories (``hann_window``, ``hamming_window``, ``blackman_window``,
``bartlett_window``, ``kaiser_window``), as torch computes them.

Each is a cosine (or triangle, or Bessel) profile over ``window_length`` points. A
*periodic* window (the default, for spectral analysis) is the symmetric window of
``window_length + 1`` points without its last point, so that it tiles.
"""

from __future__ import annotations

from .. import backend as B
from ..backend import xp  # the host's namespace: windows are computed there
from .tensor import Tensor, _wrap

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window"]


def _window(
    name: str, profile, window_length: int, periodic: bool, dtype, requires_grad: bool
) -> Tensor:
    """Evaluate ``profile(x)`` at ``x = n / (N - 1)`` for the symmetric window of ``N``
    points (``N = window_length + 1`` when periodic, then the last point dropped)."""
    if window_length < 0:
        raise RuntimeError(
            f"{name} requires non-negative window_length, got window_length={window_length}"
        )
    dt = B.to_dtype(dtype) or B.get_default_dtype()
    if dt.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length <= 1:
        arr = xp.ones(window_length)
    else:
        points = window_length + 1 if periodic else window_length
        arr = profile(xp.arange(window_length) / (points - 1))
    out = _wrap(arr.astype(dt))
    return out.requires_grad_(True) if requires_grad else out


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """``0.5 - 0.5 cos(2 pi x)``."""

    def profile(x):
        return 0.5 - 0.5 * xp.cos(2 * xp.pi * x)

    return _window("hann_window", profile, window_length, periodic, dtype, requires_grad)


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """``alpha - beta cos(2 pi x)``."""

    def profile(x):
        return alpha - beta * xp.cos(2 * xp.pi * x)

    return _window("hamming_window", profile, window_length, periodic, dtype, requires_grad)


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """``0.42 - 0.5 cos(2 pi x) + 0.08 cos(4 pi x)``."""

    def profile(x):
        return 0.42 - 0.5 * xp.cos(2 * xp.pi * x) + 0.08 * xp.cos(4 * xp.pi * x)

    return _window("blackman_window", profile, window_length, periodic, dtype, requires_grad)


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """The triangle ``1 - |2x - 1|``."""

    def profile(x):
        return 1 - xp.abs(2 * x - 1)

    return _window("bartlett_window", profile, window_length, periodic, dtype, requires_grad)


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """``I0(beta sqrt(1 - (2x - 1)^2)) / I0(beta)`` (``I0`` the modified Bessel function)."""

    def profile(x):
        return xp.i0(beta * xp.sqrt(xp.clip(1 - (2 * x - 1) ** 2, 0, None))) / xp.i0(beta)

    return _window("kaiser_window", profile, window_length, periodic, dtype, requires_grad)
