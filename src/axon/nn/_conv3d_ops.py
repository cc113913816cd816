"""Volumetric (3-D) convolution, transposed convolution, max and average pooling, as
fused ops over (N, C, D, H, W) inputs (video and medical volumes).

The same im2col idea as :mod:`axon.nn._conv_ops`, written once for any number of
spatial dimensions with a strided view: the padded input, channel-major as
(C, N, *padded), is read as (C, *kernel, N, *out) windows,

    view[c, i, j, k, n, d, h, w] = xpad[c, n, d s + i dil, h s + j dil, w s + k dil]

whose copy is the columns of one matrix product with the weight. The adjoint,
:func:`col2im`, adds every column back onto the pixel it came from, one strided
slice-add per kernel offset (kd kh kw whole-array adds, no loop over pixels).
Pooling reduces the same view over its kernel axes.
"""

from __future__ import annotations

import itertools

from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Op
from ..backend import threads, xp
from ._conv_ops import AvgPool, pool_output_size

# ============================================================ geometry


def windows(xpad, kernel: tuple, out: tuple, stride: tuple, dilation: tuple):
    """The read-only (C, *kernel, N, *out) view of ``xpad`` (C, N, *padded) whose copy is
    the im2col columns."""
    s_c, s_n, *s_sp = xpad.strides
    shape = (xpad.shape[0], *kernel, xpad.shape[1], *out)
    strides = (
        s_c,
        *(s * d for s, d in zip(s_sp, dilation, strict=True)),
        s_n,
        *(s * t for s, t in zip(s_sp, stride, strict=True)),
    )
    return as_strided(xpad, shape, strides, writeable=False)


def col2im(cols, dxpad, stride: tuple, dilation: tuple) -> None:
    """Add the columns ``cols`` (C, *kernel, N, *out) back onto ``dxpad`` (C, N, *padded),
    the adjoint of copying :func:`windows`."""
    nd = len(stride)
    kernel, out = cols.shape[1 : 1 + nd], cols.shape[2 + nd :]
    for offset in itertools.product(*(range(k) for k in kernel)):
        where = tuple(
            slice(o * d, o * d + s * (n - 1) + 1, s)
            for o, d, s, n in zip(offset, dilation, stride, out, strict=True)
        )
        dxpad[(slice(None), slice(None), *where)] += cols[(slice(None), *offset)]


def channel_major_padded(x, padding: tuple, fill=0.0, extra: tuple | None = None):
    """``x`` (N, C, *S) as a (C, N, *padded) array filled with ``fill`` around it;
    ``extra`` more cells at the end of each axis (ceil-mode pooling)."""
    extra = extra or (0,) * len(padding)
    n, c, *size = x.shape
    padded = [s + 2 * p + e for s, p, e in zip(size, padding, extra, strict=True)]
    out = xp.full((c, n, *padded), fill, x.dtype)
    inner = tuple(slice(p, p + s) for p, s in zip(padding, size, strict=True))
    out[(slice(None), slice(None), *inner)] = x.swapaxes(0, 1)
    return out


def crop(xpad, padding: tuple, size: tuple):
    """The (C, N, *size) interior of a padded (C, N, *padded) array, as (N, C, *size)."""
    inner = tuple(slice(p, p + s) for p, s in zip(padding, size, strict=True))
    return xpad[(slice(None), slice(None), *inner)].swapaxes(0, 1)


def _batched(name: str, x, nd: int):
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{name}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D "
            f"(batched) input, got input of shape {x.shape}"
        )
    return x if x.ndim == nd + 2 else x[None]


def _unbatch(y, x_shape: tuple, nd: int):
    return y if len(x_shape) == nd + 2 else y[0]


# ============================================================ convolution


class Conv3d(Op):
    """y[n, o] = b[o] + sum over (c, i, j, k) of W[o, c, i, j, k] x[n, c, d s + i dil, ...]:
    im2col plus one (batched over groups) matrix product; backward dW = g cols^T,
    dx = col2im(W^T g)."""

    def forward(self, x, w, b, stride, padding, dilation, groups, name):
        nd = 3
        x5 = _batched(name, x, nd)
        n, c = x5.shape[:2]
        o, cg, *kernel = w.shape
        if w.ndim != nd + 2 or c != cg * groups or o % groups:
            raise RuntimeError(
                f"{name}: weight of shape {w.shape} (groups={groups}) does not "
                f"fit input of shape {x.shape}"
            )
        if b is not None and b.shape != (o,):
            raise RuntimeError(
                f"{name}: bias of shape {b.shape} does not match the {o} "
                f"output channels of the weight (shape {w.shape})"
            )
        size = x5.shape[2:]
        out = tuple(
            (s + 2 * p - d * (k - 1) - 1) // t + 1
            for s, p, d, k, t in zip(size, padding, dilation, kernel, stride, strict=True)
        )
        if min(out) <= 0:
            raise RuntimeError(
                f"{name}: input of shape {x.shape} (padding {padding}) is "
                f"smaller than the dilated kernel of the weight of shape "
                f"{w.shape}: output size {out} too small"
            )
        xpad = channel_major_padded(x5, padding)
        cols = xp.ascontiguousarray(windows(xpad, kernel, out, stride, dilation))
        cols3 = cols.reshape(groups, -1, n * _prod(out))  # (G, Cg K, N L)
        wg = w.reshape(groups, o // groups, -1)  # (G, O / G, Cg K)
        y = threads.matmul(wg, cols3).reshape(o, n, *out)
        if b is not None:
            y += b.reshape(o, *(1,) * (nd + 1))
        self.saved = (cols3, wg, cols.shape, xpad.shape, size, out)
        self.args, self.x_shape, self.w_shape = (stride, padding, dilation), x.shape, w.shape
        return _unbatch(y.swapaxes(0, 1), x.shape, nd)

    def backward(self, g):
        px, pw, pb = self.parents[:3]
        cols3, wg, cols_shape, xpad_shape, size, out = self.saved
        stride, padding, dilation = self.args
        groups, og = wg.shape[:2]
        g5 = g.reshape(-1, groups * og, *out)
        gc = g5.swapaxes(0, 1).reshape(groups, og, -1)  # (G, O / G, N L)
        gx = gw = gb = None
        if pw is not None:
            gw = threads.matmul(gc, cols3.transpose(0, 2, 1)).reshape(self.w_shape)
        if pb is not None:
            gb = gc.sum(axis=2).reshape(-1)
        if px is not None:
            dcols = threads.matmul(wg.transpose(0, 2, 1), gc).reshape(cols_shape)
            dxpad = xp.zeros(xpad_shape, g.dtype)
            col2im(dcols, dxpad, stride, dilation)
            gx = crop(dxpad, padding, size).reshape(self.x_shape)
        return gx, gw, gb, None, None, None, None, None


class ConvTranspose3d(Op):
    """The adjoint of :class:`Conv3d` as an op of its input: full = col2im(W^T x) per
    group, y = full cropped by ``padding`` (``output_padding`` more at the end) + b;
    dx = W im2col(g), dW = x im2col(g)^T."""

    def forward(self, x, w, b, stride, padding, output_padding, dilation, groups, name):
        nd = 3
        x5 = _batched(name, x, nd)
        n, c = x5.shape[:2]
        cin, og, *kernel = w.shape
        if w.ndim != nd + 2 or c != cin or cin % groups:
            raise RuntimeError(
                f"{name}: weight of shape {w.shape} (groups={groups}) does not "
                f"fit input of shape {x.shape}"
            )
        o = og * groups
        if b is not None and b.shape != (o,):
            raise RuntimeError(
                f"{name}: bias of shape {b.shape} does not match the {o} "
                f"output channels of the weight (shape {w.shape})"
            )
        size = x5.shape[2:]
        full = tuple(
            (s - 1) * t + d * (k - 1) + 1 + op
            for s, t, d, k, op in zip(size, stride, dilation, kernel, output_padding, strict=True)
        )
        out = tuple(f - 2 * p for f, p in zip(full, padding, strict=True))
        if min(out) <= 0:
            raise RuntimeError(
                f"{name}: given input of shape {x.shape} and weight of shape "
                f"{w.shape}, the output size {out} is too small"
            )
        xg = x5.swapaxes(0, 1).reshape(groups, cin // groups, -1)  # (G, C / G, N S)
        wg = w.reshape(groups, cin // groups, -1)  # (G, C / G, O / G K)
        cols = threads.matmul(wg.transpose(0, 2, 1), xg).reshape(o, *kernel, n, *size)
        yfull = xp.zeros((o, n, *full), x.dtype)
        col2im(cols, yfull, stride, dilation)
        y = crop(yfull, padding, out)
        if b is not None:
            y = y + b.reshape(o, *(1,) * nd)
        self.saved = (xg, wg, tuple(kernel), size, out, full)
        self.args, self.x_shape, self.w_shape = (stride, padding, dilation), x.shape, w.shape
        return _unbatch(y, x.shape, nd)

    def backward(self, g):
        px, pw, pb = self.parents[:3]
        xg, wg, kernel, size, out, full = self.saved
        stride, padding, dilation = self.args
        groups = wg.shape[0]
        g5 = g.reshape(-1, wg.shape[2] // _prod(kernel) * groups, *out)
        gfull = xp.zeros((g5.shape[1], g5.shape[0], *full), g.dtype)
        inner = tuple(slice(p, p + s) for p, s in zip(padding, out, strict=True))
        gfull[(slice(None), slice(None), *inner)] = g5.swapaxes(0, 1)
        dcols = xp.ascontiguousarray(windows(gfull, kernel, size, stride, dilation))
        dcols = dcols.reshape(groups, wg.shape[2], -1)  # (G, O / G K, N S)
        gx = gw = gb = None
        if px is not None:
            dx = threads.matmul(wg, dcols).reshape(-1, g5.shape[0], *size)  # (C, N, *S)
            gx = dx.swapaxes(0, 1).reshape(self.x_shape)
        if pw is not None:
            gw = threads.matmul(xg, dcols.transpose(0, 2, 1)).reshape(self.w_shape)
        if pb is not None:
            gb = g5.sum(axis=(0, *range(2, g5.ndim)))
        return gx, gw, gb, None, None, None, None, None, None


def _prod(values) -> int:
    p = 1
    for v in values:
        p *= v
    return p


# ============================================================ pooling


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


def _window_max(x, kernel, stride, padding, dilation, ceil_mode, name):
    """Each window's maximum (C, N, *out) and its first position in the window (argmax
    over the flattened kernel; NaN counts as the maximum), with the geometry."""
    x5 = _batched(name, x, 3)
    size, out, extra = _pool_geometry(name, x, kernel, stride, padding, dilation, ceil_mode)
    xpad = channel_major_padded(x5, padding, -xp.inf, extra)
    view = windows(xpad, kernel, out, stride, dilation)  # (C, kd, kh, kw, N, *out)
    c, n = xpad.shape[:2]
    flat = view.reshape(c, _prod(kernel), n, *out)
    arg = xp.argmax(flat, axis=1)
    y = xp.take_along_axis(flat, arg[:, None], axis=1)[:, 0]
    return y, arg, out, xpad.shape, size


def max_pool3d_indices(x, kernel, stride, padding, dilation, ceil_mode, name):
    """The flat index d H W + h W + w of every window's maximum in its input volume, shaped
    like the output: PyTorch's ``return_indices=True``."""
    _, arg, out, _, size = _window_max(x, kernel, stride, padding, dilation, ceil_mode, name)
    offsets = xp.unravel_index(arg, kernel)  # per axis: the maximum's kernel offset
    flat = xp.zeros(arg.shape, xp.int64)
    for axis in range(3):
        start = xp.arange(out[axis]) * stride[axis] - padding[axis]
        shape = [1] * arg.ndim
        shape[2 + axis] = out[axis]
        flat = flat * size[axis] + start.reshape(shape) + offsets[axis] * dilation[axis]
    return _unbatch(flat.swapaxes(0, 1), x.shape, 3)


class MaxPool3d(Op):
    """y = max over each (dilated) window, padding counting as -inf; the gradient goes to
    each window's first maximum (PyTorch's rule for ties)."""

    def forward(self, x, kernel, stride, padding, dilation, ceil_mode, name):
        y, arg, out, xpad_shape, size = _window_max(
            x, kernel, stride, padding, dilation, ceil_mode, name
        )
        self.saved = (arg, kernel, out, xpad_shape, size)
        self.args, self.x_shape = (stride, padding, dilation), x.shape
        return _unbatch(y.swapaxes(0, 1), x.shape, 3)

    def backward(self, g):
        arg, kernel, out, xpad_shape, size = self.saved
        stride, padding, dilation = self.args
        c, n = xpad_shape[:2]
        gc = g.reshape(n, c, *out).swapaxes(0, 1)  # (C, N, *out)
        dcols = xp.zeros((c, _prod(kernel), n, *out), g.dtype)
        xp.put_along_axis(dcols, arg[:, None], gc[:, None], axis=1)
        dxpad = xp.zeros(xpad_shape, g.dtype)
        col2im(dcols.reshape(c, *kernel, n, *out), dxpad, stride, dilation)
        return crop(dxpad, padding, size).reshape(self.x_shape), None, None, None, None, None, None


class AvgPool3d(Op):
    """y = (sum over each window of the zero-padded input) / divisor, with PyTorch's
    divisor (the window clipped to the padded input, ``count_include_pad``, or to the
    input itself, or ``divisor_override``); dx spreads g / divisor over each window."""

    def forward(
        self, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, name
    ):
        x5 = _batched(name, x, 3)
        ones = (1, 1, 1)
        size, out, extra = _pool_geometry(name, x, kernel, stride, padding, ones, ceil_mode)
        xpad = channel_major_padded(x5, padding, 0.0, extra)
        view = windows(xpad, kernel, out, stride, ones)
        total = view.sum(axis=(1, 2, 3))  # (C, N, *out)
        if divisor_override:
            div = divisor_override
        else:
            counts = [
                AvgPool._counts(s, o, k, t, p, count_include_pad)
                for s, o, k, t, p in zip(size, out, kernel, stride, padding, strict=True)
            ]
            div = (
                counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]
            ).astype(x.dtype)
        self.saved = (div, kernel, out, xpad.shape, size)
        self.args, self.x_shape = (stride, padding), x.shape
        return _unbatch((total / div).swapaxes(0, 1), x.shape, 3)

    def backward(self, g):
        div, kernel, out, xpad_shape, size = self.saved
        stride, padding = self.args
        c, n = xpad_shape[:2]
        gc = g.reshape(n, c, *out).swapaxes(0, 1) / div  # (C, N, *out)
        dcols = xp.broadcast_to(gc[:, None, None, None], (c, *kernel, n, *out))
        dxpad = xp.zeros(xpad_shape, g.dtype)
        col2im(dcols, dxpad, stride, (1, 1, 1))
        return (
            crop(dxpad, padding, size).reshape(self.x_shape),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
