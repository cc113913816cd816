"""The convolution op (conv1d / conv2d): im2col plus one matrix product, with its backward.

Its CPU machinery (scratch buffers, im2col, batch splitting) is in ``axon.backend.numpy``.

**Layout.** The convolution and pooling ops work on the channel-major view
``xc = x.transpose(1, 0, 2, 3)`` of shape (C, N, H, W) and hand back their result as the
(N, C, H', W') transposed view of a C-contiguous (C, N, H', W') array. The values and
shapes are PyTorch's; only the memory order differs, and it is the order the next layer
wants: the matrix product of a convolution produces (O, N * H' * W') directly, and the
im2col of the next convolution reads whole (N, H, W) blocks per channel. A
conv -> relu -> pool -> conv chain never copies to change layout.

**Convolution** is im2col plus one matrix product (Needle, d2l). With padded input
x_padded, stride s, dilation d and a kh x kw kernel::

    cols[c, i, j, n, ho, wo] = x_padded[c, n, ho s + i d, wo s + j d]  (kh kw strided copies)
    out[o, (n, ho, wo)] = sum_(c, i, j) W[o, (c, i, j)] cols[(c, i, j), (n, ho, wo)] + b[o]

and backward, with g of shape (O, N Ho Wo)::

    dW = g cols^T,   db = sum of g over (n, ho, wo),   dcols = W^T g,
    dx = col2im(dcols)                                   (kh kw strided slice-adds)

Groups split C and O into G blocks: one batched product over the G blocks.

For stride 1 the input's gradient skips col2im: with g laid out in zero-padded input
planes, dx is one ``sum`` over the kernel offsets of a strided view of W^T g whose rows
are shifted back by each offset (:meth:`Conv._dx_by_planes`), a few items at a time.

**Scratch buffers** (:class:`axon.backend.numpy.scratch.Workspace`) are reused across
calls: a fresh array of tens of MB costs page faults that a reused one does not.

**Two threads.** A convolution of more than
:data:`~axon.backend.numpy.chunking.product_split_threshold` bytes of columns runs whole
(padding, im2col, products, col2im) as two batch halves on two threads, each with a
one-thread BLAS (:func:`axon.backend.threads.run_halves`; the weight's gradient is the sum
of the halves' parts, or, when small, computed on the helper thread while the main one
goes on: :class:`Conv`). For a small CNN's convolutions that beats one pass on a
two-thread BLAS, whose threads split products too small to share well. Where the split
cannot run (one thread, another split running) the same two halves run one after the
other (:func:`~axon.backend.numpy.chunking.split_batch`): the bits never depend on the
thread count or on the load.
"""

from __future__ import annotations

from ...backend import threads, xp
from ...backend.numpy import chunking, scratch
from ...backend.numpy.chunking import split_batch
from ...backend.numpy.im2col import (
    col2im,
    im2col_copies,
    padded,
    shifted_rows_view,
    windows_view,
)
from ..function import Op
from ..tensor import Tensor
from .spatial import check_input_dims, to_4d


class Conv(Op):
    """conv1d / conv2d: im2col plus one matrix product (see the module doc for the formulas).

    ``padding`` is ((top, bottom), (left, right)) in 2-D terms; 1-D inputs (N, C, L) run
    as (N, C, 1, L) and unbatched inputs as a batch of one. The input's gradient is skipped
    when it needs none (a first layer), the weight's when it is frozen.

    An input that needs no gradient (a first layer, or no recording) runs in chunks of a
    few batch items whose columns stay in a core's cache
    (:data:`~axon.backend.numpy.chunking.chunk_bytes`): each chunk's im2col is one strided
    copy, its product follows while the columns are hot, and backward recomputes them for
    the weight's gradient instead of keeping them. A first layer has few input channels,
    so its columns are many times its input, and they would otherwise go out to memory
    and back. A chunk holds at most :data:`~axon.backend.numpy.chunking.chunk_macs`
    multiply-adds, the size up to which OpenBLAS skips packing; within that, larger chunks
    mean fewer trips through Python.

    The weight's gradient, when the weight is a leaf and the product is small
    (:data:`~axon.backend.numpy.chunking.deferred_product`), comes from the helper thread
    (:func:`axon.backend.threads.defer`): the main thread carries the input's gradient
    on back meanwhile through the pooling and ReLU below, single-threaded passes that
    would leave the second core idle, and the autograd engine adds the weight's
    gradient at the end of ``backward``. A large one is faster as two batch halves.
    """

    def forward(self, x, w, b, stride, padding, dilation, groups, name):
        nd = 1 if name == "conv1d" else 2
        check_input_dims(name, x, nd)
        if w.ndim != nd + 2:
            raise RuntimeError(
                f"{name}: expected a {nd + 2}-D weight (out_channels, in_channels / groups, "
                f"*kernel_size), got weight of shape {w.shape}"
            )
        if x.dtype.kind != "f":
            raise RuntimeError(f"{name}: expected a floating point input, got {x.dtype}")
        if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):
            raise RuntimeError(
                f"{name}: input ({x.dtype}), weight ({w.dtype})"
                + (f" and bias ({b.dtype})" if b is not None else "")
                + " must have the same dtype"
            )
        self.x_shape, self.w_shape, self.nd = x.shape, w.shape, nd
        x, w = to_4d(x, nd), w.reshape(w.shape[:2] + (1,) * (2 - nd) + w.shape[2:])
        N, C, H, W = x.shape
        O, Cg, kh, kw = w.shape
        G = groups
        if O % G:
            raise RuntimeError(
                f"{name}: the weight's {O} output channels (weight shape {self.w_shape}) are "
                f"not divisible by groups={G}"
            )
        if C != Cg * G:
            raise RuntimeError(
                f"{name}: input has {C} channels but the weight expects {Cg * G} (weight shape "
                f"{self.w_shape}" + (f", groups={G})" if G > 1 else ")")
            )
        if b is not None and b.shape != (O,):
            raise RuntimeError(
                f"{name}: bias of shape {b.shape} does not match the {O} output channels of "
                f"the weight (shape {self.w_shape})"
            )
        (pt, pb), (pl, pr) = padding
        (sh, sw), (dh, dw) = stride, dilation
        Hp, Wp = H + pt + pb, W + pl + pr
        Ho = (Hp - dh * (kh - 1) - 1) // sh + 1
        Wo = (Wp - dw * (kw - 1) - 1) // sw + 1
        if Ho <= 0 or Wo <= 0:
            size, pad_size, kern = (H, W), (Hp, Wp), (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
            if nd == 1:
                size, pad_size, kern = size[1:], pad_size[1:], kern[1:]
            raise RuntimeError(
                f"{name}: the input's spatial size {size} (padded: {pad_size}) is smaller "
                f"than the (dilated) kernel {kern} of the weight of shape {self.w_shape}: "
                f"output size too small (input shape {self.x_shape})"
            )
        K, L, Og = Cg * kh * kw, N * Ho * Wo, O // G

        xc = x.transpose(1, 0, 2, 3)  # (C, N, H, W): channel-major view
        x_padded = padded(xc, (pt, pl), (Hp, Wp), 0, "conv-pad", copy=False)  # (C, N, Hp, Wp)
        out = scratch.workspace.get("conv-out", (O, N, Ho, Wo), x.dtype)
        out3 = out.reshape(G, Og, L)
        wg = w.reshape(G, Og, K)  # (G, O / G, Cg kh kw)
        bg = None if b is None else b.reshape(G, Og, 1)
        self.geometry = (N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw)
        self.stride, self.dilation = stride, dilation
        # no gradient for x: compute in cache-sized chunks, keep no columns (see class doc)
        self.chunk = 0
        if self.parents is None or self.parents[0] is None:
            per_item = (K + O) * Ho * Wo * x.itemsize
            self.chunk = min(
                N,
                max(1, chunking.chunk_bytes // per_item),
                max(1, chunking.chunk_macs // (Og * K * Ho * Wo)),
            )
        if not self.chunk:
            cols = scratch.workspace.get("conv-cols", (C, kh, kw, N, Ho, Wo), x.dtype)
            cols3 = cols.reshape(G, K, L)

        if self.chunk:
            windows = windows_view(x_padded, (kh, kw), (Ho, Wo), stride, dilation)
        else:
            copies = im2col_copies(x_padded, cols, stride, dilation)

        def body(part):  # the batch items in part: columns [n0 Ho Wo, n1 Ho Wo) of cols3
            if x_padded is not xc:
                x_padded[:, part, pt : pt + H, pl : pl + W] = xc[:, part]
            if self.chunk:
                for n0, c3 in self._chunk_columns(windows, part):
                    span = slice(n0 * Ho * Wo, n0 * Ho * Wo + c3.shape[2])
                    if G == 1:
                        xp.matmul(wg[0], c3[0], out=out3[0, :, span])
                    else:
                        xp.matmul(wg, c3, out=out3[:, :, span])
            else:
                for dst, src in copies(part):
                    xp.copyto(dst, src)
                span = slice(part.start * Ho * Wo, part.stop * Ho * Wo)
                if G == 1:
                    xp.matmul(wg[0], cols3[0, :, span], out=out3[0, :, span])
                else:
                    xp.matmul(wg, cols3[:, :, span], out=out3[:, :, span])
            if bg is not None:
                o = out3[:, :, part.start * Ho * Wo : part.stop * Ho * Wo]
                o += bg

        nbytes = K * L * x.itemsize
        split_batch(body, N, nbytes, products=True)
        cols = x_padded if self.chunk else cols3  # what backward needs for the weight

        if self.parents is not None:  # recording: keep what backward needs
            px, pw, _ = self.parents[:3]
            keep = (
                self.chunk
                or pw is None
                or (G * Og <= scratch.keep_columns_max_channels and scratch.keep_columns(cols))
            )
            self.cols = cols if pw is not None and keep else None
            self.x = x if pw is not None and not keep else None  # columns made again
            self.wg = wg if px is not None else None
        y = out.transpose(1, 0, 2, 3)  # (N, O, Ho, Wo), channel-major memory
        return y.reshape(self._out_shape(y.shape))

    def _chunk_columns(self, windows, part):
        """For each chunk of the batch items in ``part``: (first item, its im2col columns
        as a (G, K, n Ho Wo) array), copied from ``windows`` (the padded input's
        :func:`~axon.backend.numpy.im2col.windows_view`) into one scratch buffer reused
        from chunk to chunk."""
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = self.geometry
        flat = scratch.workspace.get("conv-chunk", (K * G * self.chunk * Ho * Wo,), windows.dtype)
        for n0 in range(part.start, part.stop, self.chunk):
            n = min(self.chunk, part.stop - n0)
            cols = flat[: G * K * n * Ho * Wo].reshape(C, kh, kw, n, Ho, Wo)
            xp.copyto(cols, windows[:, :, :, n0 : n0 + n])
            yield n0, cols.reshape(G, K, n * Ho * Wo)

    def _dx_by_planes(self, wt, g_plane, dx_padded, part) -> None:
        """The padded input's gradient ``dx_padded[:, part]`` of a stride-1 convolution, a few
        batch items at a time, with no col2im.

        Lay g out in zero (Hp, Wp) planes (``g_plane``, (O, N, Hp, Wp)), flatten them,
        and the output at plane position q = ho Wp + wo came from input position
        q + s(i, j) of the same plane, s(i, j) = i dh Wp + j dw. So with
        D = W^T g_plane, rows (c, i, j), one product per chunk of items::

            dx[c, q] = sum over (i, j) of D[(c, i, j), q - s(i, j)]

        which is a single ``sum`` over the (i, j) axes of a strided view of D, its rows
        shifted back by s(i, j). A shift that reaches back past the start of a plane
        lands on the zero rows and columns of the plane before it (the last
        (kh - 1) dh rows and (kw - 1) dw columns of each plane are zero), or on the
        zero columns ahead of D in its buffer. The chunks keep D in a core's cache
        (:data:`~axon.backend.numpy.chunking.planes_bytes`) and the strided view is
        :func:`~axon.backend.numpy.im2col.shifted_rows_view`.
        """
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = self.geometry
        (dh, dw), P, size = self.dilation, Hp * Wp, dx_padded.itemsize
        back = (kh - 1) * dh * Wp + (kw - 1) * dw  # the farthest shift s(i, j)
        chunk = min(part.stop - part.start, max(1, chunking.planes_bytes // (G * K * P * size)))
        buf = scratch.workspace.get(
            ("conv-dx-planes", back), (G, K, back + chunk * P), dx_padded.dtype, fill=0
        )
        # (C, kh, kw, positions): D[(c, i, j), q - s(i, j)], positions from buf[:, :, back]
        view = shifted_rows_view(buf, C, (kh, kw), (dh, dw), Wp)
        g3 = g_plane.reshape(G, Og, N * P)
        dx2 = dx_padded.reshape(C, N * P)
        for n0 in range(part.start, part.stop, chunk):
            span = slice(n0 * P, min(n0 + chunk, part.stop) * P)
            n = span.stop - span.start
            if G == 1:
                xp.matmul(wt[0], g3[0, :, span], out=buf[0, :, back : back + n])
            else:
                xp.matmul(wt, g3[:, :, span], out=buf[:, :, back : back + n])
            xp.sum(view[..., :n], axis=(1, 2), out=dx2[:, span])

    def _out_shape(self, shape4: tuple) -> tuple:
        """(N, O, Ho, Wo) back to the caller's rank: drop H = 1 for 1-D, N for unbatched."""
        shape = shape4[:2] + shape4[3:] if self.nd == 1 else shape4
        return shape[1:] if len(self.x_shape) == len(shape) - 1 else shape

    def backward(self, g):
        px, pw, pb = self.parents[:3]
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = self.geometry
        O = G * Og
        # (N, O, Ho, Wo) -> (O, N, Ho, Wo) -> (G, O / G, N Ho Wo); free when g is channel-major
        gc = g.reshape(N, O, Ho, Wo).transpose(1, 0, 2, 3).reshape(G, Og, L)
        gws, gbs = {}, {}  # per batch half: its part of the sums over the batch
        planes = self.stride == (1, 1)  # dx plane by plane: see _dx_by_planes
        # a small weight gradient of a leaf weight: on the helper thread, later (see class)
        later = (
            px is not None
            and isinstance(pw, Tensor)
            and not self.chunk
            and Og * K * L * G <= chunking.deferred_product
        )
        if pw is not None and self.chunk:  # self.cols is the padded input: its windows
            windows = windows_view(self.cols, (kh, kw), (Ho, Wo), self.stride, self.dilation)
        cols3 = self.cols
        again = pw is not None and cols3 is None  # copy the columns again, a half at a time
        if again:
            xc = self.x.transpose(1, 0, 2, 3)  # (C, N, H, W)
            x_padded = padded(xc, (pt, pl), (Hp, Wp), 0, "conv-pad", copy=False)
            cols = scratch.workspace.get("conv-cols", (C, kh, kw, N, Ho, Wo), g.dtype)
            copies = im2col_copies(x_padded, cols, self.stride, self.dilation)
            cols3 = cols.reshape(G, K, L)
        if px is not None:
            wt = self.wg.transpose(0, 2, 1)  # (G, Cg kh kw, O / G)
            dx_padded = scratch.workspace.get("conv-dx", (C, N, Hp, Wp), g.dtype)
            if planes:  # g inside zero (Hp, Wp) planes (the buffer keeps the zeros)
                g_plane = scratch.workspace.get(
                    ("conv-g-plane", Ho, Wo), (O, N, Hp, Wp), g.dtype, fill=0
                )
            else:
                dcols = scratch.workspace.get("conv-dcols", (C, kh, kw, N, Ho, Wo), g.dtype)
                dcols3 = dcols.reshape(G, K, L)

        def body(part):
            span = slice(part.start * Ho * Wo, part.stop * Ho * Wo)
            gp = gc[:, :, span]  # (G, O / G, n Ho Wo)
            if again:  # the forward's im2col of these items, as forward made it
                if x_padded is not xc:
                    x_padded[:, part, pt : pt + H, pl : pl + W] = xc[:, part]
                for dst, src in copies(part):
                    xp.copyto(dst, src)
            if pw is not None and self.chunk:  # recompute the columns chunk by chunk
                gw = xp.zeros((G, Og, K), g.dtype)
                for n0, c3 in self._chunk_columns(windows, part):
                    g3 = gc[:, :, n0 * Ho * Wo : n0 * Ho * Wo + c3.shape[2]]
                    if G == 1:
                        gw[0] += g3[0] @ c3[0].T
                    else:
                        gw += xp.matmul(g3, c3.transpose(0, 2, 1))
                gws[part.start] = gw
            elif pw is not None and not later:
                gws[part.start] = weight_grad(cols3[:, :, span], gp)
            if px is not None and planes:
                g_plane[:, part, :Ho, :Wo] = gp.reshape(O, -1, Ho, Wo)
                self._dx_by_planes(wt, g_plane, dx_padded, part)
            elif px is not None:
                dx_padded[:, part].fill(0)
                xp.matmul(wt, gp, out=dcols3[:, :, span])
                col2im(dcols[:, :, :, part], dx_padded[:, part], self.stride, self.dilation)
            # the bias last: a half should start with a long NumPy call, during which the
            # other thread takes the GIL (see im2col_copies); sum over (n, ho, wo) as a
            # product with ones (3x faster than a .sum)
            if pb is not None:
                gbs[part.start] = xp.matmul(gp, xp.ones(gp.shape[2], g.dtype))

        split_batch(body, N, L * K * g.itemsize, products=True)
        gx = gw = gb = None
        if gbs:
            gb = sum(gbs.values()).reshape(O)
        if gws:
            gw = sum(gws.values()).reshape(self.w_shape)
        elif later:  # the task lets go of the columns and g once done (threads may keep it)
            w_shape, operands = self.w_shape, [cols3, gc]

            def weight_grad_later():
                cols, grad = operands
                operands.clear()
                return weight_grad(cols, grad).reshape(w_shape)

            gw = threads.defer(weight_grad_later)
        if px is not None:
            dxc = dx_padded[:, :, pt : pt + H, pl : pl + W]  # (C, N, H, W): drop the padding
            gx = dxc.transpose(1, 0, 2, 3).reshape(self.x_shape)
        return gx, gw, gb, None, None, None, None, None


def weight_grad(cols, g):
    """dW = g cols^T per group, (G, O / G, K), from the columns (G, K, L) and g (G, O / G,
    L); OpenBLAS is faster with the larger side first, so for K >= O / G as (cols g^T)^T."""
    if cols.shape[1] >= g.shape[1]:
        return xp.matmul(cols, g.transpose(0, 2, 1)).transpose(0, 2, 1)
    return xp.matmul(g, cols.transpose(0, 2, 1))
