"""Volumetric (3-D) max and average pooling over (N, C, D, H, W) inputs, with backward:
each reduces the (C, *kernel, N, *out) windows of the padded input (the backend's
``windows``: a strided view on the CPU) over its kernel axes.
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op
from .pool import AvgPool, pool_output_size
from .spatial import batched, channel_major_padded, crop, unbatch


def _pool_geometry(name, x, kernel, stride, padding, dilation, ceil_mode):
    """Output size and the extra right padding ceil mode needs, for input ``x`` (its
    shape as given names it in errors)."""
    size = x.shape[-3:]
    for p, k, d in zip(padding, kernel, dilation, strict=True):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(
                f"{name}: pad should be at most half of effective kernel size, "
                f"but got pad={p}, kernel_size={k} and dilation={d}"
            )
    out = tuple(
        pool_output_size(s, k, t, p, d, ceil_mode)
        for s, k, t, p, d in zip(size, kernel, stride, padding, dilation, strict=True)
    )
    if min(out) <= 0:
        raise RuntimeError(
            f"{name}: given input of shape {x.shape}, the calculated output size {out} is too small"
        )
    # ceil mode: windows may run past the right padding
    extra = tuple(
        max(0, (o - 1) * t + d * (k - 1) + 1 - (s + 2 * p))
        for o, t, d, k, s, p in zip(out, stride, dilation, kernel, size, padding, strict=True)
    )
    return size, out, extra


def _window_max(backend, x, kernel, stride, padding, dilation, ceil_mode, name):
    """Each window's maximum (C, N, *out) and its first position in the window (argmax
    over the flattened kernel; NaN counts as the maximum), with the geometry."""
    xp = backend.xp
    x5 = batched(name, x, 3)
    size, out, extra = _pool_geometry(name, x, kernel, stride, padding, dilation, ceil_mode)
    x_padded = channel_major_padded(backend, x5, padding, -math.inf, f"{name}-pad", extra)
    view = backend.windows(x_padded, kernel, out, stride, dilation)  # (C, kd, kh, kw, N, *out)
    c, n = x_padded.shape[:2]
    flat = view.reshape(c, math.prod(kernel), n, *out)
    arg = xp.argmax(flat, axis=1)
    y = xp.take_along_axis(flat, arg[:, None], axis=1)[:, 0]
    return y, arg, out, x_padded.shape, size


def max_pool3d_indices(x, kernel, stride, padding, dilation, ceil_mode, name):
    """The flat index d H W + h W + w of every window's maximum in its input volume, shaped
    like the output: PyTorch's ``return_indices=True``."""
    backend = B.of(x)
    xp = backend.xp
    _, arg, out, _, size = _window_max(
        backend, x, kernel, stride, padding, dilation, ceil_mode, name
    )
    offsets = xp.unravel_index(arg, kernel)  # per axis: the maximum's kernel offset
    flat = xp.zeros(arg.shape, xp.int64)
    for axis in range(3):
        start = xp.arange(out[axis]) * stride[axis] - padding[axis]
        shape = [1] * arg.ndim
        shape[2 + axis] = out[axis]
        flat = flat * size[axis] + start.reshape(shape) + offsets[axis] * dilation[axis]
    return unbatch(flat.swapaxes(0, 1), x.shape, 3)


class MaxPool3d(Op):
    """y = max over each (dilated) window, padding counting as -inf; the gradient goes to
    each window's first maximum (PyTorch's rule for ties)."""

    def forward(self, x, kernel, stride, padding, dilation, ceil_mode, name):
        y, arg, out, x_padded_shape, size = _window_max(
            self.backend, x, kernel, stride, padding, dilation, ceil_mode, name
        )
        self.saved = (arg, kernel, out, x_padded_shape, size)
        self.args, self.x_shape = (stride, padding, dilation), x.shape
        return unbatch(y.swapaxes(0, 1), x.shape, 3)

    def backward(self, g):
        arg, kernel, out, x_padded_shape, size = self.saved
        stride, padding, dilation = self.args
        c, n = x_padded_shape[:2]
        gc = g.reshape(n, c, *out).swapaxes(0, 1)  # (C, N, *out)
        xp = self.xp
        dcols = xp.zeros((c, math.prod(kernel), n, *out), g.dtype)
        xp.put_along_axis(dcols, arg[:, None], gc[:, None], axis=1)
        dx_padded = xp.zeros(x_padded_shape, g.dtype)
        self.backend.col2im(dcols.reshape(c, *kernel, n, *out), dx_padded, stride, dilation)
        return (
            crop(dx_padded, padding, size).reshape(self.x_shape),
            None,
            None,
            None,
            None,
            None,
            None,
        )


class AvgPool3d(Op):
    """y = (sum over each window of the zero-padded input) / divisor, with PyTorch's
    divisor (the window clipped to the padded input, ``count_include_pad``, or to the
    input itself, or ``divisor_override``); dx spreads g / divisor over each window."""

    def forward(
        self, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, name
    ):
        x5 = batched(name, x, 3)
        ones = (1, 1, 1)
        size, out, extra = _pool_geometry(name, x, kernel, stride, padding, ones, ceil_mode)
        x_padded = channel_major_padded(self.backend, x5, padding, 0.0, f"{name}-pad", extra)
        view = self.backend.windows(x_padded, kernel, out, stride, ones)
        total = view.sum(axis=(1, 2, 3))  # (C, N, *out)
        if divisor_override:
            div = divisor_override
        else:
            counts = [
                AvgPool._counts(self.xp, s, o, k, t, p, count_include_pad)
                for s, o, k, t, p in zip(size, out, kernel, stride, padding, strict=True)
            ]
            div = (
                counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]
            ).astype(x.dtype)
        self.saved = (div, kernel, out, x_padded.shape, size)
        self.args, self.x_shape = (stride, padding), x.shape
        return unbatch((total / div).swapaxes(0, 1), x.shape, 3)

    def backward(self, g):
        div, kernel, out, x_padded_shape, size = self.saved
        stride, padding = self.args
        c, n = x_padded_shape[:2]
        gc = g.reshape(n, c, *out).swapaxes(0, 1) / div  # (C, N, *out)
        dcols = self.xp.broadcast_to(gc[:, None, None, None], (c, *kernel, n, *out))
        dx_padded = self.xp.zeros(x_padded_shape, g.dtype)
        self.backend.col2im(dcols, dx_padded, stride, (1, 1, 1))
        return (
            crop(dx_padded, padding, size).reshape(self.x_shape),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
