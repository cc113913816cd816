"""Volumetric (3-D) convolution and transposed convolution over (N, C, D, H, W) inputs
(video and medical volumes), with their backward.

The same im2col idea as :mod:`axon.autograd.ops.conv`, for any number of spatial
dimensions: the padded input, channel-major as (C, N, *padded), is read as
(C, *kernel, N, *out) windows (the backend's ``windows``: a strided view on the CPU),

    view[c, i, j, k, n, d, h, w] = x_padded[c, n, d s + i dil, h s + j dil, w s + k dil]

whose copy is the columns of one matrix product with the weight. The adjoint, the
backend's ``col2im``, adds every column back onto the pixel it came from, one strided
slice-add per kernel offset (kd kh kw whole-array adds).
"""

from __future__ import annotations

import math

from ..function import Op
from .spatial import batched, channel_major_padded, crop, unbatch


class Conv3d(Op):
    """y[n, o] = b[o] + sum over (c, i, j, k) of W[o, c, i, j, k] x[n, c, d s + i dil, ...]:
    im2col plus one (batched over groups) matrix product; backward dW = g cols^T,
    dx = col2im(W^T g)."""

    def forward(self, x, w, b, stride, padding, dilation, groups, name):
        nd = 3
        x5 = batched(name, x, nd)
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
        x_padded = channel_major_padded(self.backend, x5, padding, 0, "conv3d-pad")
        windows = self.backend.windows(x_padded, kernel, out, stride, dilation)
        cols = self.xp.ascontiguousarray(windows)
        cols3 = cols.reshape(groups, -1, n * math.prod(out))  # (G, Cg K, N L)
        wg = w.reshape(groups, o // groups, -1)  # (G, O / G, Cg K)
        y = self.backend.matmul(wg, cols3).reshape(o, n, *out)
        if b is not None:
            y += b.reshape(o, *(1,) * (nd + 1))
        self.saved = (cols3, wg, cols.shape, x_padded.shape, size, out)
        self.args, self.x_shape, self.w_shape = (stride, padding, dilation), x.shape, w.shape
        return unbatch(y.swapaxes(0, 1), x.shape, nd)

    def backward(self, g):
        px, pw, pb = self.parents[:3]
        cols3, wg, cols_shape, x_padded_shape, size, out = self.saved
        stride, padding, dilation = self.args
        groups, og = wg.shape[:2]
        g5 = g.reshape(-1, groups * og, *out)
        gc = g5.swapaxes(0, 1).reshape(groups, og, -1)  # (G, O / G, N L)
        gx = gw = gb = None
        if pw is not None:
            gw = self.backend.matmul(gc, cols3.transpose(0, 2, 1)).reshape(self.w_shape)
        if pb is not None:
            gb = gc.sum(axis=2).reshape(-1)
        if px is not None:
            dcols = self.backend.matmul(wg.transpose(0, 2, 1), gc).reshape(cols_shape)
            dx_padded = self.xp.zeros(x_padded_shape, g.dtype)
            self.backend.col2im(dcols, dx_padded, stride, dilation)
            gx = crop(dx_padded, padding, size).reshape(self.x_shape)
        return gx, gw, gb, None, None, None, None, None


class ConvTranspose3d(Op):
    """The adjoint of :class:`Conv3d` as an op of its input: full = col2im(W^T x) per
    group, y = full cropped by ``padding`` (``output_padding`` more at the end) + b;
    dx = W im2col(g), dW = x im2col(g)^T."""

    def forward(self, x, w, b, stride, padding, output_padding, dilation, groups, name):
        nd = 3
        x5 = batched(name, x, nd)
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
        cols = self.backend.matmul(wg.transpose(0, 2, 1), xg).reshape(o, *kernel, n, *size)
        yfull = self.xp.zeros((o, n, *full), x.dtype)
        self.backend.col2im(cols, yfull, stride, dilation)
        y = crop(yfull, padding, out)
        if b is not None:
            y = y + b.reshape(o, *(1,) * nd)
        self.saved = (xg, wg, tuple(kernel), size, out, full)
        self.args, self.x_shape, self.w_shape = (stride, padding, dilation), x.shape, w.shape
        return unbatch(y, x.shape, nd)

    def backward(self, g):
        px, pw, pb = self.parents[:3]
        xg, wg, kernel, size, out, full = self.saved
        stride, padding, dilation = self.args
        groups = wg.shape[0]
        g5 = g.reshape(-1, wg.shape[2] // math.prod(kernel) * groups, *out)
        gfull = self.xp.zeros((g5.shape[1], g5.shape[0], *full), g.dtype)
        inner = tuple(slice(p, p + s) for p, s in zip(padding, out, strict=True))
        gfull[(slice(None), slice(None), *inner)] = g5.swapaxes(0, 1)
        dcols = self.xp.ascontiguousarray(
            self.backend.windows(gfull, kernel, size, stride, dilation)
        )
        dcols = dcols.reshape(groups, wg.shape[2], -1)  # (G, O / G K, N S)
        gx = gw = gb = None
        if px is not None:
            dx = self.backend.matmul(wg, dcols).reshape(-1, g5.shape[0], *size)  # (C, N, *S)
            gx = dx.swapaxes(0, 1).reshape(self.x_shape)
        if pw is not None:
            gw = self.backend.matmul(xg, dcols.transpose(0, 2, 1)).reshape(self.w_shape)
        if pb is not None:
            gb = g5.sum(axis=(0, *range(2, g5.ndim)))
        return gx, gw, gb, None, None, None, None, None, None
