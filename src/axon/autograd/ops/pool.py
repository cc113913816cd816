"""Max, average and adaptive average pooling over (N, C, H, W) or (N, C, L), with backward.

Channel-major like the convolution (:mod:`axon.autograd.ops.conv`); scratch buffers, padding
and batch halves are the backend's (``scratch``, ``padded``, ``split_batch``).

Pooling visits the kh x kw offsets of the window as strided slices of the whole input
(k k array ops, no loop over pixels): a max is a running ``maximum``, an average a running
sum. Reshaping to (C, N, Ho, k, Wo, k) and reducing over the window axes gives the same
values but is many times slower in NumPy (a reduction over two non-adjacent axes). Big
max-pooling passes run as two batch halves on two threads on the CPU
(:func:`~axon.backend.numpy.chunking.split_batch`).
"""

from __future__ import annotations

import math

from ... import backend as B
from ...backend.base import window_slices
from ..function import Op
from .spatial import to_4d


def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling size: floor (or ceil) of (n + 2p - d (k - 1) - 1) / s, plus 1; in
    ceil mode the last window must start inside the input or the left padding."""
    span = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


class _Pool(Op):
    """Shared geometry of max and average pooling over (N, C, H, W) (1-D: H = 1)."""

    def _setup(self, x, kernel, stride, padding, dilation, ceil_mode, name, fill):
        nd = 1 if name.endswith("1d") else 2
        if x.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(
                f"{name}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                f"got input of shape {x.shape}"
            )
        if x.dtype.kind != "f":
            raise RuntimeError(f"{name}: expected a floating point input, got {x.dtype}")
        self.x_shape, self.nd = x.shape, nd
        x4 = to_4d(x, nd)
        N, C, H, W = x4.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        for p, k, d in ((ph, kh, dh), (pw, kw, dw)):
            if p > (d * (k - 1) + 1) // 2:
                raise RuntimeError(
                    f"{name}: pad should be at most half of effective kernel size, but got "
                    f"pad={p}, kernel_size={k} and dilation={d}"
                )
        Ho = pool_output_size(H, kh, sh, ph, dh, ceil_mode)
        Wo = pool_output_size(W, kw, sw, pw, dw, ceil_mode)
        if Ho <= 0 or Wo <= 0:
            size, out = (C, H, W), (C, Ho, Wo)
            if nd == 1:
                size, out = (C, W), (C, Wo)
            raise RuntimeError(
                f"{name}: given input of shape {self.x_shape} (per sample {size}), the "
                f"calculated output size {out} is too small"
            )
        # the padded extent the windows reach (ceil mode may run past the right padding)
        Hp = max(H + 2 * ph, (Ho - 1) * sh + dh * (kh - 1) + 1)
        Wp = max(W + 2 * pw, (Wo - 1) * sw + dw * (kw - 1) + 1)
        xc = x4.transpose(1, 0, 2, 3)
        x_padded = self.backend.padded(xc, (ph, pw), (Hp, Wp), fill, f"{name}-pad")
        self.windows = window_slices(kernel, stride, dilation, (Ho, Wo))
        # windows never overlap, and (exact) cover every padded pixel once
        self.disjoint = dh * (kh - 1) < sh and dw * (kw - 1) < sw
        self.exact = self.disjoint and (kh, kw) == (sh, sw) and (Hp, Wp) == (Ho * sh, Wo * sw)
        self.geometry = (N, C, H, W, Hp, Wp, Ho, Wo, ph, pw)
        return x_padded

    def _out(self, outc):
        """(C, N, Ho, Wo) -> the caller's rank, as a channel-major (N, C, ...) view."""
        y = outc.transpose(1, 0, 2, 3)
        if self.nd == 1:
            y = y[:, :, 0]
        return y[0] if len(self.x_shape) == y.ndim - 1 else y

    def _grad_buffer(self, dtype):
        """A (C, N, Hp, Wp) buffer for dx, zeroed unless every pixel gets assigned."""
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        dx_padded = self.backend.scratch("pool-dx", (C, N, Hp, Wp), dtype)
        if not self.exact:
            dx_padded.fill(0)
        return dx_padded

    def _grad_out(self, dx_padded):
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        dxc = dx_padded[:, :, ph : ph + H, pw : pw + W]  # (C, N, H, W): drop the padding
        return dxc.transpose(1, 0, 2, 3).reshape(self.x_shape)

    def _grad_in(self, g):
        """The upstream gradient as a C-contiguous (C, N, Ho, Wo) array (one copy when it
        comes in NCHW order, as from a Flatten: cheaper than the strided passes on it)."""
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        return self.xp.ascontiguousarray(g.reshape(N, C, Ho, Wo).transpose(1, 0, 2, 3))


def first_max_offsets(xp, x_padded, out, windows, arg) -> None:
    """Write into ``arg`` the number of the window offset holding each output's first
    maximum (``arg`` keeps its value where none does: a window holding NaN); ``xp`` is
    the arrays' namespace."""
    for t, (_, hit) in enumerate(first_max_hits(xp, x_padded, out, windows)):
        xp.copyto(arg, t, where=hit)


def first_max_hits(xp, x_padded, out, windows):
    """For each window offset in scan order, yield (slices, hit): ``hit`` marks the outputs
    whose first maximum sits at that offset (PyTorch's CPU rule for ties: the first max in
    the window wins). ``hit`` is one reused buffer: use it before the next step."""
    found = xp.zeros(out.shape, dtype=bool)
    hit = xp.empty(out.shape, dtype=bool)
    last = len(windows) - 1
    for t, (rows, cols) in enumerate(windows):
        xp.equal(x_padded[:, :, rows, cols], out, out=hit)
        if t:
            xp.greater(hit, found, out=hit)  # hit and not yet found
        if t < last:
            xp.logical_or(found, hit, out=found)
        yield (rows, cols), hit


class MaxPool(_Pool):
    """y = max over each (dilated) window, padding counting as -inf.

    dy/dx: the gradient of each output goes to the first maximum of its window (ties
    break like PyTorch on CPU); found in backward by comparing each offset's slice with y.
    (A window holding NaN outputs NaN, as in PyTorch, but sends no gradient back.)

    2x2 windows at stride 2 (LeNet's, VGG's) go by phase planes when recording:
    forward copies the four offsets' pixels x[..., i::2, j::2] into four contiguous
    (C, N, Ho, Wo) planes (one strided copy) and takes their maximum; backward finds the
    first maximum by comparing those contiguous planes with y, and writes g times each
    plane's hits into dx's pixels (four strided writes). Every other pass runs on
    contiguous planes, where NumPy's inner loops are long: faster than the max of column
    pairs, then of row pairs, with strided passes both ways. Without recording, forward
    keeps that pairwise max (no copy).
    """

    def forward(self, x, kernel, stride, padding, dilation, ceil_mode, name):
        xp = self.xp
        x_padded = self._setup(x, kernel, stride, padding, dilation, ceil_mode, name, -math.inf)
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        out = xp.empty((C, N, Ho, Wo), x.dtype)
        self.pairs = tuple(kernel) == tuple(stride) == (2, 2) and tuple(dilation) == (1, 1)
        planes = None
        if self.pairs and self.parents is not None:  # phase planes (see the class doc)
            planes = self.backend.scratch("pool-planes", (2, 2, C, N, Ho, Wo), x.dtype)
        elif self.pairs:  # the max of each pair of columns
            colmax = self.backend.scratch("pool-colmax", (C, N, 2 * Ho, Wo), x.dtype)

        def body(part):  # running maximum over the window offsets
            if planes is not None:  # planes[i, j] = x[..., i::2, j::2]
                x6 = x_padded[:, part, : 2 * Ho, : 2 * Wo].reshape(C, -1, Ho, 2, Wo, 2)
                p = planes[:, :, :, part]
                xp.copyto(p, x6.transpose(3, 5, 0, 1, 2, 4))
                o = out[:, part]
                xp.maximum(p[0, 0], p[0, 1], out=o)
                xp.maximum(o, p[1, 0], out=o)
                xp.maximum(o, p[1, 1], out=o)
                return
            if self.pairs:
                x2 = x_padded[:, part, : 2 * Ho, : 2 * Wo]
                m = colmax[:, part]
                xp.maximum(x2[..., 0::2], x2[..., 1::2], out=m)
                xp.maximum(m[:, :, 0::2], m[:, :, 1::2], out=out[:, part])
                return
            views = [x_padded[:, part, rows, cols] for rows, cols in self.windows]
            o = out[:, part]
            if len(views) == 1:
                o[...] = views[0]
            else:
                xp.maximum(views[0], views[1], out=o)
            for v in views[2:]:
                xp.maximum(o, v, out=o)
            if arg is not None:  # each output's first maximum, as an offset number
                first_max_offsets(xp, x_padded[:, part], o, self.windows, arg[:, part])

        # the general path keeps, for backward, the offset of each output's first maximum
        # (a byte per output; len(windows) where the window holds NaN: no gradient), not
        # the padded input and the output
        arg = None
        if self.parents is not None and not self.pairs:
            n_win = len(self.windows)
            arg = xp.full((C, N, Ho, Wo), n_win, xp.uint8 if n_win < 255 else xp.int32)
        self.backend.split_batch(body, N, x_padded.nbytes)
        if self.parents is not None:  # the planes hold all the 2x2 path needs of x
            self.arg, self.outc, self.planes = arg, (out if self.pairs else None), planes
        return self._out(out)

    def backward(self, g):
        xp = self.xp
        gc = self._grad_in(g)
        dx_padded = self._grad_buffer(g.dtype)
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        arg = self.arg
        if self.pairs and xp.isnan(self.outc).any():  # NaN: the general rule, on x itself
            x_padded = xp.full((C, N, Hp, Wp), -math.inf, g.dtype)
            x6 = x_padded[:, :, : 2 * Ho, : 2 * Wo].reshape(C, N, Ho, 2, Wo, 2)
            xp.copyto(x6.transpose(3, 5, 0, 1, 2, 4), self.planes)
            arg = xp.full(self.outc.shape, len(self.windows), xp.uint8)
            first_max_offsets(xp, x_padded, self.outc, self.windows, arg)
        pairs = arg is None

        def body(part):
            grad = gc[:, part]
            if pairs:  # the first maximum in scan order (0, 0), (0, 1), (1, 0), (1, 1)
                p, y = self.planes[:, :, :, part], self.outc[:, part]
                dx6 = dx_padded[:, part, : 2 * Ho, : 2 * Wo].reshape(C, -1, Ho, 2, Wo, 2)
                found = xp.equal(p[0, 0], y)
                xp.multiply(grad, found, out=dx6[:, :, :, 0, :, 0])
                hit = xp.empty_like(found)
                for i, j in ((0, 1), (1, 0)):
                    xp.equal(p[i, j], y, out=hit)
                    xp.greater(hit, found, out=hit)  # a max, and none found before it
                    xp.logical_or(found, hit, out=found)
                    xp.multiply(grad, hit, out=dx6[:, :, :, i, :, j])
                xp.logical_not(found, out=hit)  # no NaN: one of the four holds the max
                xp.multiply(grad, hit, out=dx6[:, :, :, 1, :, 1])
                return
            tmp = None if self.disjoint else xp.empty(grad.shape, g.dtype)
            a = arg[:, part]
            hit = xp.empty(a.shape, dtype=bool)
            for t, (rows, cols) in enumerate(self.windows):
                xp.equal(a, t, out=hit)
                if self.disjoint:  # each pixel in at most one window: assign
                    xp.multiply(grad, hit, out=dx_padded[:, part, rows, cols])
                else:
                    xp.multiply(grad, hit, out=tmp)
                    dx_padded[:, part, rows, cols] += tmp

        self.backend.split_batch(body, N, dx_padded.nbytes)
        return self._grad_out(dx_padded), None, None, None, None, None, None


def max_pool_indices(x, y, kernel, stride, padding, dilation, ceil_mode, name):
    """The flat index (h W + w) into its input plane of every output's maximum, shaped
    like the output ``y``: PyTorch's ``return_indices=True``."""
    op = object.__new__(MaxPool)
    op.backend = B.of(x)
    xp = op.xp = op.backend.xp
    x_padded = op._setup(x, kernel, stride, padding, dilation, ceil_mode, name, -math.inf)
    N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = op.geometry
    outc = to_4d(y, op.nd).transpose(1, 0, 2, 3)  # (C, N, Ho, Wo)
    idx = xp.zeros((C, N, Ho, Wo), dtype=xp.int64)
    for (rows, cols), hit in first_max_hits(xp, x_padded, outc, op.windows):
        r = xp.arange(rows.start, rows.stop, rows.step) - ph  # input rows of this offset
        c = xp.arange(cols.start, cols.stop, cols.step) - pw
        xp.copyto(idx, r[:, None] * W + c[None, :], where=hit)
    return idx.transpose(1, 0, 2, 3).reshape(y.shape)


class AvgPool(_Pool):
    """y = (sum over each window) / divisor, with PyTorch's divisor: the window's size
    clipped to the padded input (``count_include_pad``), or to the input itself, or
    ``divisor_override``. dy/dx = g / divisor spread over each window."""

    def forward(
        self, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, name
    ):
        xp = self.xp
        x_padded = self._setup(x, kernel, stride, padding, (1, 1), ceil_mode, name, 0)
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        views = [x_padded[:, :, rows, cols] for rows, cols in self.windows]
        out = views[0].copy() if len(views) == 1 else xp.add(views[0], views[1])
        for v in views[2:]:
            xp.add(out, v, out=out)
        if divisor_override:
            div = divisor_override
        else:
            rows = self._counts(xp, H, Ho, kernel[0], stride[0], ph, count_include_pad)
            cols = self._counts(xp, W, Wo, kernel[1], stride[1], pw, count_include_pad)
            div = (rows[:, None] * cols[None, :]).astype(x.dtype)  # (Ho, Wo)
            if (div == div[0, 0]).all():
                div = int(div[0, 0])
        out /= div
        self.div = div
        return self._out(out)

    @staticmethod
    def _counts(xp, n, n_out, k, s, p, include_pad):
        """Per output position along one axis, how many cells the divisor counts (an
        array of namespace ``xp``)."""
        start = xp.arange(n_out) * s - p
        end = xp.minimum(start + k, n + p)
        if include_pad:
            return end - start
        return xp.minimum(end, n) - xp.maximum(start, 0)

    def backward(self, g):
        gc = self._grad_in(g) / self.div  # (C, N, Ho, Wo)
        dx_padded = self._grad_buffer(g.dtype)
        for rows, cols in self.windows:
            if self.disjoint:
                dx_padded[:, :, rows, cols] = gc
            else:
                dx_padded[:, :, rows, cols] += gc
        return self._grad_out(dx_padded), None, None, None, None, None, None, None


def adaptive_matrix(xp, n_in: int, n_out: int, dtype):
    """A (n_out, n_in) averaging matrix of namespace ``xp``: row i is 1 / (end - start) on
    PyTorch's window start = floor(i n_in / n_out) <= h < end = ceil((i + 1) n_in / n_out)."""
    i = xp.arange(n_out)
    start = (i * n_in) // n_out
    end = -(-(i + 1) * n_in // n_out)
    h = xp.arange(n_in)
    inside = (h >= start[:, None]) & (h < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _along_last(backend, a, m):
    """``a`` (..., n) times the matrix ``m`` (n, k) over its last axis, as one 2-D
    product of ``backend``: (..., k)."""
    return backend.matmul(a.reshape(-1, a.shape[-1]), m).reshape(*a.shape[:-1], m.shape[1])


class AdaptiveAvgPool(Op):
    """y = A_h x A_w^T per plane, with the averaging matrices of :func:`adaptive_matrix`
    (windows may overlap and differ in size when the sizes don't divide).
    dx = A_h^T g A_w."""

    def forward(self, x, out_size, name):
        nd = 1 if name.endswith("1d") else 2
        if x.ndim not in (nd + 1, nd + 2) or 0 in x.shape[-nd:]:
            raise RuntimeError(
                f"{name}: expected a {nd + 1}-D or {nd + 2}-D input with non-zero spatial "
                f"sizes, got input of shape {x.shape}"
            )
        if x.dtype.kind != "f":
            raise RuntimeError(f"{name}: expected a floating point input, got {x.dtype}")
        self.x_shape, self.nd = x.shape, nd
        x4 = to_4d(x, nd)
        N, C, H, W = x4.shape
        Ho, Wo = (1, *out_size) if nd == 1 else out_size
        self.ah = adaptive_matrix(self.xp, H, Ho, x.dtype) if Ho != H else None
        self.aw = adaptive_matrix(self.xp, W, Wo, x.dtype) if Wo != W else None
        out = x4.transpose(1, 0, 2, 3)  # (C, N, H, W)
        if self.aw is not None:
            out = _along_last(self.backend, out, self.aw.T)  # (C, N, H, Wo)
        if self.ah is not None:
            out = _along_last(self.backend, out.swapaxes(2, 3), self.ah.T).swapaxes(2, 3)
        elif self.aw is None:
            out = out.copy()
        self.out_hw = (N, C, Ho, Wo)
        y = out.transpose(1, 0, 2, 3)
        if nd == 1:
            y = y[:, :, 0]
        return y[0] if len(self.x_shape) == y.ndim - 1 else y

    def backward(self, g):
        N, C, Ho, Wo = self.out_hw
        gc = g.reshape(N, C, Ho, Wo).transpose(1, 0, 2, 3)  # (C, N, Ho, Wo)
        if self.aw is not None:
            gc = _along_last(self.backend, gc, self.aw)  # (C, N, Ho, W)
        if self.ah is not None:
            gc = _along_last(self.backend, gc.swapaxes(2, 3), self.ah).swapaxes(2, 3)
        return gc.transpose(1, 0, 2, 3).reshape(self.x_shape), None, None
