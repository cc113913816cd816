"""``torch.types``: the type aliases that hints in programs import
(``from torch.types import Number, Device``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, Union

from .autograd.tensor import Size, Tensor
from .backend import dtype as _dtype
from .backend.device import device as _device
from .backend.device import layout as _layout

_bool = bool
_int = int
_float = float
_complex = complex
_str = str
_bytes = bytes
_size = Union[Size, list[int], tuple[int, ...]]  # noqa: UP007  (torch's spelling)
_symsize = _size
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]  # noqa: UP007
_TensorOrOptionalTensors = Union[Tensor, Sequence[Union[Tensor, None]]]  # noqa: UP007
Number = Union[int, float, bool]  # noqa: UP007
_Number = (int, float, bool)
Device = Union[_device, str, int, None]  # noqa: UP007
FileLike = Union[str, os.PathLike[str], IO[bytes]]  # noqa: UP007
IntLikeType = int
FloatLikeType = float
BoolLikeType = bool

__all__ = ["Device", "FileLike", "Number", "Size", "Tensor", "_dtype", "_layout"]
