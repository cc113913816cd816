"""im2col and col2im on NumPy arrays: the strided window views and copies that turn a
convolution into one matrix product, and their adjoints, for 2-D and for any rank.

Arrays are channel-major, (C, N, *spatial), as the convolution and pooling ops keep them;
the CPU backend's ``windows`` and ``col2im`` and its fused ``conv2d`` use them.
"""

from __future__ import annotations

import itertools

from numpy.lib.stride_tricks import as_strided

from ..base import window_layout, window_slices
from . import scratch
from .chunking import split_batch

# ============================================================ 2-D: (C, N, H, W)


def padded(xc, pads: tuple, size: tuple, fill, tag: str, copy: bool = True):
    """The (C, N, H, W) array ``xc`` inside a (C, N, *size) scratch buffer whose border
    (top ``pads[0]`` rows, left ``pads[1]`` columns, and whatever lies past the input)
    holds ``fill``. Returns ``xc`` itself when no border is needed. ``copy=False``: the
    caller copies ``xc`` into the interior itself (a batch half at a time)."""
    C, N, H, W = xc.shape
    top, left = pads
    if top == 0 and left == 0 and size == (H, W):
        return xc
    buf = scratch.workspace.get((tag, top, left, H, W), (C, N, *size), xc.dtype, fill)
    if copy:
        buf[:, :, top : top + H, left : left + W] = xc
    return buf


narrow_width = 12
"""Output widths up to which :func:`im2col_copies` copies rows, then blocks of rows
(:func:`im2col_by_rows`), instead of one strided copy per kernel offset."""


def im2col_copies(x_padded, cols, stride: tuple, dilation: tuple):
    """The copies that fill the columns ``cols`` (C, kh, kw, N, Ho, Wo) from the padded
    input ``x_padded`` (C, N, Hp, Wp), cols[:, i, j] = x_padded[:, :, i d : ... : s,
    j d : ... : s], as a function of a batch slice ``part`` returning (destination,
    source) view pairs for those items: one strided copy per kernel offset, or for narrow
    outputs at stride 1 down the rows the two copies of :func:`im2col_by_rows`. The views
    are made here, once for the whole batch, so a batch half only slices them: Python
    work inside a split makes the other thread wait for the GIL."""
    C, kh, kw, N, Ho, Wo = cols.shape
    if stride[0] == 1 and Wo <= narrow_width:
        (rows, shifted), (blocks_dst, blocks) = im2col_by_rows(x_padded, cols, stride[1], dilation)
        return lambda part: (
            (rows[:, :, part], shifted[:, :, part]),
            (blocks_dst[:, :, :, part], blocks[:, :, :, part]),
        )
    windows = window_slices((kh, kw), stride, dilation, (Ho, Wo))
    pairs = [
        (cols[:, t // kw, t % kw], x_padded[:, :, rows, cs]) for t, (rows, cs) in enumerate(windows)
    ]
    return lambda part: [(dst[:, part], src[:, part]) for dst, src in pairs]


def im2col_by_rows(x_padded, cols, stride_w: int, dilation: tuple):
    """The im2col copies at stride 1 down the rows, two with long inner loops:
    first every padded row shifted by each kernel column, rows[c, j, n, h, wo] =
    x_padded[c, n, h, wo s + j dw]; then each (c, i, j, n) block of ``cols`` is the Ho
    consecutive rows of it from row i dh on, one contiguous run of Ho Wo values. The
    kh kw strided copies of im2col loop over runs only Wo long, and NumPy's cost per
    run outweighs the copying when Wo is small.

    Returns the two copies, (rows, its source) and (``cols`` as (C, kh, kw, N, Ho Wo),
    its source), with the batch on axis 2 and 3 respectively."""
    C, kh, kw, n, Ho, Wo = cols.shape
    Hp, (dh, dw) = x_padded.shape[2], dilation
    rows = scratch.workspace.get("conv-rows", (C, kw, n, Hp, Wo), x_padded.dtype)
    c_s, n_s, h_s, w_s = x_padded.strides
    shifted = as_strided(
        x_padded, rows.shape, (c_s, dw * w_s, n_s, h_s, stride_w * w_s), writeable=False
    )
    r_c, r_j, r_n, r_h, size = rows.strides
    blocks = as_strided(
        rows, (C, kh, kw, n, Ho * Wo), (r_c, dh * r_h, r_j, r_n, size), writeable=False
    )
    return (rows, shifted), (cols.reshape(C, kh, kw, n, Ho * Wo), blocks)


def windows_view(x_padded, kernel: tuple, out_hw: tuple, stride: tuple, dilation: tuple):
    """The read-only (C, kh, kw, n, Ho, Wo) view of the padded input ``x_padded``
    (C, n, Hp, Wp) whose copy is the im2col columns: view[c, i, j, n, ho, wo] =
    x_padded[c, n, ho s + i d, wo s + j d]. Copying it is one call (for small batch
    chunks, kh kw slice copies cost more in calls than in bytes)."""
    sc, sn, sh, sw = x_padded.strides
    shape = (x_padded.shape[0], *kernel, x_padded.shape[1], *out_hw)
    strides = (sc, sh * dilation[0], sw * dilation[1], sn, sh * stride[0], sw * stride[1])
    return as_strided(x_padded, shape, strides, writeable=False)


def shifted_rows_view(d, channels: int, kernel: tuple, dilation: tuple, width: int):
    """The read-only (C, kh, kw, q) view of ``d`` (G, K, back + q), K = C / G kh kw rows
    (c, i, j), whose [c, i, j, p] is d[:, (c, i, j), back + p - s(i, j)]: each row shifted
    back by s(i, j) = i dh width + j dw, up to ``back``, the farthest shift. Summing it over
    (i, j) is the stride-1 convolution's input gradient on flattened planes of ``width``
    columns (:func:`axon.backend.numpy.conv2d._dx_by_planes`)."""
    (kh, kw), (dh, dw) = kernel, dilation
    back = (kh - 1) * dh * width + (kw - 1) * dw
    row, size = d.strides[1], d.itemsize
    strides = (kh * kw * row, kw * row - dh * width * size, row - dw * size, size)
    shape = (channels, kh, kw, d.shape[2] - back)
    return as_strided(d[:, :, back:], shape, strides, writeable=False)


def col2im(dcols, dx_padded, stride: tuple, dilation: tuple) -> None:
    """Add every column of ``dcols`` (C, kh, kw, N, Ho, Wo) back onto the pixel it was
    copied from, in the zeroed (C, N, Hp, Wp) ``dx_padded``: the adjoint of im2col."""
    C, kh, kw, N, Ho, Wo = dcols.shape
    windows = window_slices((kh, kw), stride, dilation, (Ho, Wo))

    def body(part):
        for t, (rows, cs) in enumerate(windows):
            i, j = divmod(t, kw)
            dx_padded[:, part, rows, cs] += dcols[:, i, j, part]

    split_batch(body, N, dcols.nbytes)


# ============================================================ any rank: (C, N, *spatial)


def windows_view_nd(x_padded, kernel: tuple, out: tuple, stride: tuple, dilation: tuple):
    """The read-only (C, *kernel, N, *out) view of ``x_padded`` (C, N, *padded) whose copy
    is the im2col columns: view[c, i, j, k, n, d, h, w] = x_padded[c, n, d s + i dil,
    h s + j dil, w s + k dil] in 3-D."""
    shape, strides = window_layout(x_padded, kernel, out, stride, dilation)
    return as_strided(x_padded, shape, strides, writeable=False)


def col2im_nd(cols, dx_padded, stride: tuple, dilation: tuple) -> None:
    """Add the columns ``cols`` (C, *kernel, N, *out) back onto ``dx_padded``
    (C, N, *padded), the adjoint of copying :func:`windows_view_nd`: one strided
    slice-add per kernel offset (whole-array adds, no loop over pixels)."""
    nd = len(stride)
    kernel, out = cols.shape[1 : 1 + nd], cols.shape[2 + nd :]
    for offset in itertools.product(*(range(k) for k in kernel)):
        where = tuple(
            slice(o * d, o * d + s * (n - 1) + 1, s)
            for o, d, s, n in zip(offset, dilation, stride, out, strict=True)
        )
        dx_padded[(slice(None), slice(None), *where)] += cols[(slice(None), *offset)]
