"""``Backend``: what an array library supplies to axon, and the registry that finds the
backend of a device (``for_device``) or of an array (``of``).

A backend is one object per device type: its array type and array namespace (``xp``, NumPy's
API), the moves between its memory and the host's, and the few functions where the CPU uses
NumPy-only tricks (strided windows, unbuffered scatter-adds, the thread policy of products).
The CPU's lives in ``backend/numpy``; another library is one more module that makes a
``Backend`` and calls :func:`register` (a test backend does so in ``tests/backend``).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .device import DeviceUnavailableError, add_device_type, check_device, device


class Backend:
    """An array library on one device type.

    Subclasses set ``name`` (the device type: ``"cpu"``, ``"cuda"``, ...), ``array_type``
    (the class of its arrays) and ``xp`` (the array namespace, NumPy's names), and write
    :meth:`to_host` and :meth:`from_host`. The rest has generic forms written with ``xp``
    that a backend replaces where it has a faster one.
    """

    name: str
    array_type: type
    xp: Any

    # ------------------------------------------------------------ devices and memory
    def device(self, index: int | None = None) -> device:
        """The device an array asked for at ``index`` lands on (torch: ``"cuda"`` is
        ``cuda:0``, the current device)."""
        return device(self.name, 0 if index is None else index)

    def device_of(self, array) -> device:
        """The device ``array`` lives on."""
        return self.device()

    def to_host(self, array) -> np.ndarray:
        """``array`` copied into a NumPy array in host memory."""
        raise NotImplementedError

    def from_host(self, array: np.ndarray, dev: device | None = None):
        """The NumPy ``array`` copied onto ``dev`` (this backend's device)."""
        raise NotImplementedError

    def rng(self):
        """The seeded generator random draws use; a draw made on the host and moved with
        :meth:`from_host` gives every device the CPU's numbers for one seed."""
        from . import rng

        return rng()

    def device_rng(self):
        """A generator that draws in the device's own memory (with NumPy's ``random``), for
        the masks an op draws at every step (dropout), or None: the op then draws on the
        host from the seeded generator it was given and moves the draw."""
        return None

    # ------------------------------------------------------------ the NumPy-only tricks
    def scatter_add(self, target, index, values) -> None:
        """``target[index] += values`` with repeated indices summed (NumPy's ``add.at``)."""
        self.xp.add.at(target, index, values)

    def sliding_windows(self, x, window_shape, axis):
        """A view of every window of ``window_shape`` along ``axis`` (new trailing dims)."""
        return self.xp.lib.stride_tricks.sliding_window_view(x, window_shape, axis)

    def matmul(self, a, b, out=None):
        """The product ``a @ b`` (written into ``out`` when given)."""
        return self.xp.matmul(a, b, out=out)

    def kernels(self):
        """The backend's fused kernels for the hot steps (an LSTM or GRU step, Adam's
        update, softmax and its backward), or None: the ops then run their chains of ``xp``
        calls. CUDA has
        them (``backend/cupy/kernels.py``), since each launch costs there what a NumPy pass
        over a small array costs here."""
        return None

    def activate(self, dev) -> None:
        """Make ``dev`` the device that work is queued on (CUDA launches kernels on the
        current GPU); called with the inputs' device before an op runs."""

    def synchronize(self, index=None) -> None:
        """Wait for the work queued on the device (the CPU's is done when a call returns)."""

    # ------------------------------------------------------------ convolution and pooling
    conv2d = None
    """A fused 2-D convolution kernel (``forward(op, x, w, b)``, ``backward(op, g)``), or
    None: ``ops.conv.Conv`` then runs im2col, one product and col2im with the methods below."""

    def scratch(self, tag, shape: tuple, dtype, fill=None):
        """A new array for a pass's intermediate values (filled with ``fill`` if given); the
        CPU hands out reused buffers of its pool, keyed by ``tag``, instead."""
        xp = self.xp
        return xp.empty(shape, dtype) if fill is None else xp.full(shape, fill, dtype)

    def split_batch(self, body, n: int, nbytes: int, products: bool = False) -> None:
        """Run ``body(part)`` over batch slices ``part`` that cover ``range(n)``: here one
        call; the CPU runs a big pass as two halves on two threads."""
        body(slice(0, n))

    def padded(self, xc, pads: tuple, size: tuple, fill, tag: str):
        """The channel-major (C, N, *S) ``xc`` inside a (C, N, *size) array of ``fill``, its
        leading border ``pads`` cells per axis; ``xc`` itself when no border is needed."""
        if size == xc.shape[2:]:
            return xc
        out = self.scratch((tag, *pads, *xc.shape[2:]), (*xc.shape[:2], *size), xc.dtype, fill)
        out[(slice(None), slice(None), *_inner(pads, xc.shape[2:]))] = xc
        return out

    def windows(self, x_padded, kernel: tuple, out: tuple, stride: tuple, dilation: tuple):
        """The (C, *kernel, N, *out) windows of a channel-major (C, N, *padded) array:
        [c, i, j, n, h, w] = x_padded[c, n, h s + i d, w s + j d] in 2-D. A copy (made of one
        strided slice per kernel offset) here, a read-only view on the CPU; ``ascontiguousarray``
        of it is the im2col columns."""
        c, n = x_padded.shape[:2]
        parts = [
            x_padded[(slice(None), slice(None), *where)]
            for where in window_slices(kernel, stride, dilation, out)
        ]
        return self.xp.stack(parts, axis=1).reshape(c, *kernel, n, *out)

    def col2im(self, cols, dx_padded, stride: tuple, dilation: tuple) -> None:
        """Add the columns ``cols`` (C, *kernel, N, *out) back onto the pixels of ``dx_padded``
        (C, N, *padded) they were copied from (the adjoint of :meth:`windows`): one strided
        slice-add per kernel offset, in scan order."""
        nd = len(stride)
        kernel, out = cols.shape[1 : 1 + nd], cols.shape[2 + nd :]
        offsets = itertools.product(*(range(k) for k in kernel))
        slices = window_slices(kernel, stride, dilation, out)
        for offset, where in zip(offsets, slices, strict=True):
            dx_padded[(slice(None), slice(None), *where)] += cols[(slice(None), *offset)]

    def __repr__(self) -> str:
        return f"<axon backend {self.name!r}>"


_by_type: dict[str, Backend] = {}
_by_class: dict[type, Backend] = {}


def register(backend: Backend) -> Backend:
    """Make ``backend`` the one of its device type and of its array type. A name that is not
    one of torch's device types becomes one ``axon.device()`` accepts."""
    _by_type[backend.name] = backend
    _by_class[backend.array_type] = backend
    add_device_type(backend.name)
    return backend


def for_device(dev) -> Backend:
    """The backend of ``dev`` (a device or its name); :class:`DeviceUnavailableError` naming
    it when none is registered, torch's RuntimeError for a name torch does not know."""
    d = check_device(dev)
    return _by_type["cpu" if d is None else d.type]


def of(array) -> Backend | None:
    """The backend whose arrays ``array`` is one of (None for numbers and other objects)."""
    b = _by_class.get(array.__class__)
    if b is None:
        for cls, found in list(_by_class.items()):  # a subclass (np.memmap, ...)
            if isinstance(array, cls):
                _by_class[array.__class__] = b = found
                break
    return b


def namespace(array):
    """The array namespace of ``array``'s backend (NumPy for NumPy arrays and numbers)."""
    if array.__class__ is np.ndarray:
        return np
    b = of(array)
    return np if b is None else b.xp


def window_slices(kernel: tuple, stride: tuple, dilation: tuple, out: tuple) -> list:
    """For every kernel offset in scan order, the slices (one per spatial axis) that pick
    x[..., o s + k d, ...] for all outputs o at once (the windows' strided slices)."""
    if len(kernel) == 2:  # the pooling ops' case, per call: kept short
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out
        rows = [slice(i * dh, i * dh + sh * (ho - 1) + 1, sh) for i in range(kh)]
        cols = [slice(j * dw, j * dw + sw * (wo - 1) + 1, sw) for j in range(kw)]
        return [(r, c) for r in rows for c in cols]
    per_axis = [
        [slice(k * d, k * d + s * (o - 1) + 1, s) for k in range(kk)]
        for kk, s, d, o in zip(kernel, stride, dilation, out, strict=True)
    ]
    return list(itertools.product(*per_axis))


def window_layout(x_padded, kernel: tuple, out: tuple, stride: tuple, dilation: tuple):
    """The shape and byte strides of the (C, *kernel, N, *out) windows of a channel-major
    (C, N, *padded) array as one strided view: [c, i, j, n, h, w] = x_padded[c, n,
    h s + i d, w s + j d] in 2-D (each backend's ``as_strided`` makes the view)."""
    s_c, s_n, *s_sp = x_padded.strides
    shape = (x_padded.shape[0], *kernel, x_padded.shape[1], *out)
    strides = (
        s_c,
        *(s * d for s, d in zip(s_sp, dilation, strict=True)),
        s_n,
        *(s * t for s, t in zip(s_sp, stride, strict=True)),
    )
    return shape, strides


def _inner(pads: tuple, size: tuple) -> tuple:
    """The slices of the interior of a padded array, ``size`` cells after ``pads``."""
    return tuple(slice(p, p + s) for p, s in zip(pads, size, strict=True))


__all__ = [
    "Backend",
    "DeviceUnavailableError",
    "for_device",
    "namespace",
    "of",
    "register",
]
