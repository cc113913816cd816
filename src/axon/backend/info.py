"""``finfo`` and ``iinfo``: the numeric limits of a dtype, with torch's attribute names.

A program reads them to pick a safe epsilon (``torch.finfo(x.dtype).eps``) or the most
negative value for a mask (``torch.finfo(x.dtype).min``). The numbers come from NumPy's
``finfo``/``iinfo``, which agree with torch's for every dtype axon has; what differs is
naming (``tiny``/``smallest_normal``) and ``dtype``, which torch gives as a string.
"""

from __future__ import annotations

import numpy as np

from . import get_default_dtype, to_dtype


class finfo:  # noqa: N801  (torch's name)
    """The limits of a floating dtype: ``bits``, ``eps``, ``max``, ``min``, ``tiny``
    (= ``smallest_normal``), ``resolution`` and ``dtype`` (its name). ``finfo()`` describes
    the default dtype."""

    def __init__(self, type=None) -> None:  # noqa: A002  (torch's argument name)
        dt = to_dtype(type) if type is not None else get_default_dtype()
        if dt.kind != "f":
            raise TypeError(
                "torch.finfo() requires a floating point input type. "
                f"Use torch.iinfo to handle 'torch.finfo' (got {dt})"
            )
        info = np.finfo(dt)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = str(dt)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
            f"tiny={self.tiny:g}, dtype={self.dtype})"
        )


class iinfo:  # noqa: N801  (torch's name)
    """The limits of an integer dtype: ``bits``, ``max``, ``min`` and ``dtype`` (its name)."""

    def __init__(self, type) -> None:  # noqa: A002  (torch's argument name)
        dt = to_dtype(type)
        if dt.kind == "b":
            raise TypeError(f"torch.{dt} is not supported by torch.iinfo")
        if dt.kind not in "iu":
            raise TypeError(
                "torch.iinfo() requires an integer input type. "
                f"Use torch.finfo to handle 'torch.iinfo' (got {dt})"
            )
        info = np.iinfo(dt)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = str(dt)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
