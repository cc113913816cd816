"""Padding layers: ``ZeroPad1d/2d/3d``, ``ConstantPad1d/2d/3d``, ``ReflectionPad1d/2d/3d``,
``ReplicationPad1d/2d/3d``, ``CircularPad1d/2d/3d``, each :func:`axon.nn.functional.pad` with
a fixed padding. ``padding``: an int (the same on every side) or torch's tuple
(left, right[, top, bottom[, front, back]])."""

from __future__ import annotations

from ..autograd.tensor import Tensor
from . import functional as F
from .module import Module


class _PadNd(Module):
    _nd: int
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        n = 2 * self._nd
        self.padding = (padding,) * n if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != n:
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or a tuple of {n} "
                f"ints, got {padding}"
            )

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``."""

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with ``value``."""

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with ``value``."""

    _nd = 3


class ZeroPad1d(_PadNd):
    """Pad the last dimension with zeros."""

    _nd = 1


class ZeroPad2d(_PadNd):
    """Pad the last two dimensions with zeros."""

    _nd = 2


class ReflectionPad1d(_PadNd):
    """Pad the last dimension with its reflection (the edge not repeated)."""

    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two dimensions with their reflection (the edge not repeated)."""

    _nd, _mode = 2, "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dimension by repeating its edge values."""

    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two dimensions by repeating their edge values."""

    _nd, _mode = 2, "replicate"


class CircularPad1d(_PadNd):
    """Pad the last dimension by wrapping around (periodic boundary)."""

    _nd, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Pad the last two dimensions by wrapping around (periodic boundary)."""

    _nd, _mode = 2, "circular"


class ZeroPad3d(_PadNd):
    """Pad the last three dimensions with zeros."""

    _nd = 3


class ReflectionPad3d(_PadNd):
    """Pad the last three dimensions with their reflection (the edge not repeated)."""

    _nd, _mode = 3, "reflect"


class ReplicationPad3d(_PadNd):
    """Pad the last three dimensions by repeating their edge values."""

    _nd, _mode = 3, "replicate"


class CircularPad3d(_PadNd):
    """Pad the last three dimensions by wrapping around (periodic boundary)."""

    _nd, _mode = 3, "circular"
