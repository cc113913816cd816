"""The CPU's fused 2-D convolution (:class:`Conv2dKernel`, ``cpu.conv2d``): the forward and
backward passes of ``axon.autograd.ops.conv.Conv`` with NumPy's speed machinery.

**Scratch buffers** (:class:`~axon.backend.numpy.scratch.Workspace`) are reused across
calls: a fresh array of tens of MB costs page faults that a reused one does not.

**Two threads.** A convolution of more than
:data:`~axon.backend.numpy.chunking.product_split_threshold` bytes of columns runs whole
(padding, im2col, products, col2im) as two batch halves on two threads, each with a
one-thread BLAS (:func:`axon.backend.numpy.threads.run_halves`; the weight's gradient is the sum
of the halves' parts, or, when small, computed on the helper thread while the main one
goes on). For a small CNN's convolutions that beats one pass on a two-thread BLAS, whose
threads split products too small to share well. Where the split cannot run (one thread,
another split running) the same two halves run one after the other
(:func:`~axon.backend.numpy.chunking.split_batch`): the bits never depend on the thread
count or on the load.

**A first layer** (an input that needs no gradient, or no recording) runs in chunks of a
few batch items whose columns stay in a core's cache
(:data:`~axon.backend.numpy.chunking.chunk_bytes`): each chunk's im2col is one strided
copy, its product follows while the columns are hot, and backward recomputes them for the
weight's gradient instead of keeping them. A first layer has few input channels, so its
columns are many times its input, and they would otherwise go out to memory and back. A
chunk holds at most :data:`~axon.backend.numpy.chunking.chunk_macs` multiply-adds, the
size up to which OpenBLAS skips packing; within that, larger chunks mean fewer trips
through Python.

**The weight's gradient**, when the weight is a leaf and the product is small
(:data:`~axon.backend.numpy.chunking.deferred_product`), comes from the helper thread
(:func:`axon.backend.numpy.threads.defer`): the main thread carries the input's gradient on back
meanwhile through the pooling and ReLU below, single-threaded passes that would leave the
second core idle, and the autograd engine adds the weight's gradient at the end of
``backward``. A large one is faster as two batch halves.

**For stride 1 the input's gradient skips col2im**: with g laid out in zero-padded input
planes, dx is one ``sum`` over the kernel offsets of a strided view of W^T g whose rows are
shifted back by each offset (:func:`_dx_by_planes`), a few items at a time.
"""

from __future__ import annotations

import numpy as np

from . import chunking, scratch, threads
from .chunking import split_batch
from .im2col import col2im, im2col_copies, padded, shifted_rows_view, windows_view


class Conv2dKernel:
    """The CPU's ``conv2d`` kernel: ``forward(op, x, w, b)`` and ``backward(op, g)`` of the
    convolution op ``op`` (its ``geometry``, ``stride``, ``dilation``, ``parents``, shapes
    and ``leaf_weight``, set by the op); what backward needs is kept on ``op``."""

    def forward(self, op, x, w, b):
        """The (O, N, Ho, Wo) output of the (N, C, H, W) ``x``, (O, C / G, kh, kw) ``w`` and
        bias ``b`` (or None), C-contiguous (a scratch buffer)."""
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = op.geometry
        stride, dilation, O = op.stride, op.dilation, G * Og
        xc = x.transpose(1, 0, 2, 3)  # (C, N, H, W): channel-major view
        x_padded = padded(xc, (pt, pl), (Hp, Wp), 0, "conv-pad", copy=False)  # (C, N, Hp, Wp)
        out = scratch.workspace.get("conv-out", (O, N, Ho, Wo), x.dtype)
        out3 = out.reshape(G, Og, L)
        wg = w.reshape(G, Og, K)  # (G, O / G, Cg kh kw)
        bg = None if b is None else b.reshape(G, Og, 1)
        # no gradient for x: compute in cache-sized chunks, keep no columns (see the module doc)
        op.chunk = 0
        if op.parents is None or op.parents[0] is None:
            per_item = (K + O) * Ho * Wo * x.itemsize
            op.chunk = min(
                N,
                max(1, chunking.chunk_bytes // per_item),
                max(1, chunking.chunk_macs // (Og * K * Ho * Wo)),
            )
        if not op.chunk:
            cols = scratch.workspace.get("conv-cols", (C, kh, kw, N, Ho, Wo), x.dtype)
            cols3 = cols.reshape(G, K, L)

        if op.chunk:
            windows = windows_view(x_padded, (kh, kw), (Ho, Wo), stride, dilation)
        else:
            copies = im2col_copies(x_padded, cols, stride, dilation)

        def body(part):  # the batch items in part: columns [n0 Ho Wo, n1 Ho Wo) of cols3
            if x_padded is not xc:
                x_padded[:, part, pt : pt + H, pl : pl + W] = xc[:, part]
            if op.chunk:
                for n0, c3 in _chunk_columns(op, windows, part):
                    span = slice(n0 * Ho * Wo, n0 * Ho * Wo + c3.shape[2])
                    if G == 1:
                        np.matmul(wg[0], c3[0], out=out3[0, :, span])
                    else:
                        np.matmul(wg, c3, out=out3[:, :, span])
            else:
                for dst, src in copies(part):
                    np.copyto(dst, src)
                span = slice(part.start * Ho * Wo, part.stop * Ho * Wo)
                if G == 1:
                    np.matmul(wg[0], cols3[0, :, span], out=out3[0, :, span])
                else:
                    np.matmul(wg, cols3[:, :, span], out=out3[:, :, span])
            if bg is not None:
                o = out3[:, :, part.start * Ho * Wo : part.stop * Ho * Wo]
                o += bg

        nbytes = K * L * x.itemsize
        split_batch(body, N, nbytes, products=True)
        cols = x_padded if op.chunk else cols3  # what backward needs for the weight

        if op.parents is not None:  # recording: keep what backward needs
            px, pw, _ = op.parents[:3]
            keep = (
                op.chunk
                or pw is None
                or (G * Og <= scratch.keep_columns_max_channels and scratch.keep_columns(cols))
            )
            op.cols = cols if pw is not None and keep else None
            op.x = x if pw is not None and not keep else None  # columns made again
            op.wg = wg if px is not None else None
        return out

    def backward(self, op, g):
        """(dx as a (C, N, H, W) view or None, dW, db) for the upstream gradient ``g``."""
        px, pw, pb = op.parents[:3]
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = op.geometry
        O = G * Og
        # (N, O, Ho, Wo) -> (O, N, Ho, Wo) -> (G, O / G, N Ho Wo); free when g is channel-major
        gc = g.reshape(N, O, Ho, Wo).transpose(1, 0, 2, 3).reshape(G, Og, L)
        gws, gbs = {}, {}  # per batch half: its part of the sums over the batch
        planes = op.stride == (1, 1)  # dx plane by plane: see _dx_by_planes
        # a small weight gradient of a leaf weight: on the helper thread, later (see the module doc)
        later = (
            px is not None
            and op.leaf_weight
            and not op.chunk
            and Og * K * L * G <= chunking.deferred_product
        )
        if pw is not None and op.chunk:  # op.cols is the padded input: its windows
            windows = windows_view(op.cols, (kh, kw), (Ho, Wo), op.stride, op.dilation)
        cols3 = op.cols
        again = pw is not None and cols3 is None  # copy the columns again, a half at a time
        if again:
            xc = op.x.transpose(1, 0, 2, 3)  # (C, N, H, W)
            x_padded = padded(xc, (pt, pl), (Hp, Wp), 0, "conv-pad", copy=False)
            cols = scratch.workspace.get("conv-cols", (C, kh, kw, N, Ho, Wo), g.dtype)
            copies = im2col_copies(x_padded, cols, op.stride, op.dilation)
            cols3 = cols.reshape(G, K, L)
        if px is not None:
            wt = op.wg.transpose(0, 2, 1)  # (G, Cg kh kw, O / G)
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
                    np.copyto(dst, src)
            if pw is not None and op.chunk:  # recompute the columns chunk by chunk
                gw = np.zeros((G, Og, K), g.dtype)
                for n0, c3 in _chunk_columns(op, windows, part):
                    g3 = gc[:, :, n0 * Ho * Wo : n0 * Ho * Wo + c3.shape[2]]
                    if G == 1:
                        gw[0] += g3[0] @ c3[0].T
                    else:
                        gw += np.matmul(g3, c3.transpose(0, 2, 1))
                gws[part.start] = gw
            elif pw is not None and not later:
                gws[part.start] = weight_grad(cols3[:, :, span], gp)
            if px is not None and planes:
                g_plane[:, part, :Ho, :Wo] = gp.reshape(O, -1, Ho, Wo)
                _dx_by_planes(op, wt, g_plane, dx_padded, part)
            elif px is not None:
                dx_padded[:, part].fill(0)
                np.matmul(wt, gp, out=dcols3[:, :, span])
                col2im(dcols[:, :, :, part], dx_padded[:, part], op.stride, op.dilation)
            # the bias last: a half should start with a long NumPy call, during which the
            # other thread takes the GIL (see im2col_copies); the sum over (n, ho, wo) as a
            # product with ones, one BLAS pass instead of a ``.sum``'s reduction loop
            if pb is not None:
                gbs[part.start] = np.matmul(gp, np.ones(gp.shape[2], g.dtype))

        split_batch(body, N, L * K * g.itemsize, products=True)
        gx = gw = gb = None
        if gbs:
            gb = sum(gbs.values()).reshape(O)
        if gws:
            gw = sum(gws.values()).reshape(op.w_shape)
        elif later:  # the task lets go of the columns and g once done (threads may keep it)
            w_shape, operands = op.w_shape, [cols3, gc]

            def weight_grad_later():
                cols, grad = operands
                operands.clear()
                return weight_grad(cols, grad).reshape(w_shape)

            gw = threads.defer(weight_grad_later)
        if px is not None:
            gx = dx_padded[:, :, pt : pt + H, pl : pl + W]  # (C, N, H, W): drop the padding
        return gx, gw, gb


def _chunk_columns(op, windows, part):
    """For each chunk of the batch items in ``part``: (first item, its im2col columns
    as a (G, K, n Ho Wo) array), copied from ``windows`` (the padded input's
    :func:`~axon.backend.numpy.im2col.windows_view`) into one scratch buffer reused
    from chunk to chunk."""
    N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = op.geometry
    flat = scratch.workspace.get("conv-chunk", (K * G * op.chunk * Ho * Wo,), windows.dtype)
    for n0 in range(part.start, part.stop, op.chunk):
        n = min(op.chunk, part.stop - n0)
        cols = flat[: G * K * n * Ho * Wo].reshape(C, kh, kw, n, Ho, Wo)
        np.copyto(cols, windows[:, :, :, n0 : n0 + n])
        yield n0, cols.reshape(G, K, n * Ho * Wo)


def _dx_by_planes(op, wt, g_plane, dx_padded, part) -> None:
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
    N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = op.geometry
    (dh, dw), P, size = op.dilation, Hp * Wp, dx_padded.itemsize
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
            np.matmul(wt[0], g3[0, :, span], out=buf[0, :, back : back + n])
        else:
            np.matmul(wt, g3[:, :, span], out=buf[:, :, back : back + n])
        np.sum(view[..., :n], axis=(1, 2), out=dx2[:, span])


def weight_grad(cols, g):
    """dW = g cols^T per group, (G, O / G, K), from the columns (G, K, L) and g (G, O / G,
    L); OpenBLAS is faster with the larger side first, so for K >= O / G as (cols g^T)^T."""
    if cols.shape[1] >= g.shape[1]:
        return np.matmul(cols, g.transpose(0, 2, 1)).transpose(0, 2, 1)
    return np.matmul(g, cols.transpose(0, 2, 1))
