"""Fused ops of convolutional networks: convolution, max/average/adaptive pooling,
nearest upsampling and channel dropout, each one graph node with a vectorised backward.

**Layout.** Every op here works on the channel-major view ``xc = x.transpose(1, 0, 2, 3)``
of shape (C, N, H, W) and hands back its result as the (N, C, H', W') transposed view of
a C-contiguous (C, N, H', W') array. The values and shapes are PyTorch's; only the memory
order differs, and it is the order the next layer wants: the matrix product of a
convolution produces (O, N * H' * W') directly, and the im2col of the next convolution
reads whole (N, H, W) blocks per channel. A conv -> relu -> pool -> conv chain never
copies to change layout.

**Convolution** is im2col plus one matrix product (Needle, d2l). With padded input xp,
stride s, dilation d and a kh x kw kernel::

    cols[c, i, j, n, ho, wo] = xp[c, n, ho s + i d, wo s + j d]       (kh kw strided copies)
    out[o, (n, ho, wo)] = sum_(c, i, j) W[o, (c, i, j)] cols[(c, i, j), (n, ho, wo)] + b[o]

and backward, with g of shape (O, N Ho Wo)::

    dW = g cols^T,   db = sum of g over (n, ho, wo),   dcols = W^T g,
    dx = col2im(dcols)                                   (kh kw strided slice-adds)

Groups split C and O into G blocks: one batched product over the G blocks.

**Pooling** visits the kh x kw offsets of the window as strided slices of the whole input
(k k array ops, no loop over pixels): a max is a running ``maximum``, an average a running
sum. Reshaping to (C, N, Ho, k, Wo, k) and reducing over the window axes gives the same
values but is about 25x slower in NumPy (a reduction over two non-adjacent axes).

For stride 1 the input's gradient skips col2im: with g laid out in zero-padded input
planes, dx is one ``sum`` over the kernel offsets of a strided view of W^T g whose rows
are shifted back by each offset (:meth:`Conv._dx_by_planes`), a few items at a time.

**Scratch buffers** (:class:`Workspace`) are reused across calls: a fresh 58 MB array
costs page faults (the 42 MB im2col of conv(64, 3x3) on (64, 32, 26, 26): 6.5 ms into a
fresh array, 3.6 ms into a reused one).

**Two threads.** A convolution of more than :data:`product_split_threshold` bytes of
columns runs whole (padding, im2col, products, col2im) as two batch halves on two
threads, each with a one-thread BLAS (:func:`axon.backend.threads.run_halves`; the
weight's gradient is the sum of the halves' parts, or, when small, computed on the
helper thread while the main one goes on: :class:`Conv`). For LeNet's second
convolution (16 x 150 by 150 x 6400) that takes 2.5 ms for forward and backward against
3.6 ms as one pass on a two-thread BLAS. Big max-pooling passes split the same way.
Where the split cannot run (one thread, another split running) the same two halves run
one after the other (:func:`split_batch`): the bits never depend on the thread count or
on the load.
"""

from __future__ import annotations

import math
import sys
import threading
import weakref
from collections import OrderedDict

from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Op
from ..autograd.tensor import Tensor
from ..backend import threads, xp

# ============================================================ scratch buffers

_probe = [object()]
_FREE_REFCOUNT = sys.getrefcount(_probe[0])  # the count of an object only a list holds
del _probe


class Workspace:
    """A pool of scratch arrays reused across calls, keyed by role, shape and dtype.

    A buffer is handed out only when the pool's own list is its sole reference. An array
    saved for backward, a tensor viewing the buffer, a gradient still in flight: each holds
    a reference and keeps the buffer busy, so two forward calls before one backward (a
    shared layer) get two buffers, and nothing saved for backward is ever overwritten. A
    buffer returns to the pool by itself once the graph that saved it is freed.

    Buffers are flat arrays; a caller gets a C-contiguous view of the first elements in
    the shape it asks for. With no free buffer under its own key, a request takes over a
    free one of another key (another role or shape, the same dtype) holding between 1
    and 2 times the elements it needs, the smallest such: so the pool holds about what
    is in use at once rather than one buffer per shape ever seen (ResNet-18 on 8 images:
    a conv of every shape, in forward and in backward, kept 500 MB of buffers idle).

    A reused buffer keeps what its last user under the same key wrote: a caller that asks
    for a ``fill`` (a zero or -inf border for padding) gets a buffer filled with it (a
    new one, or one taken over from another key, filled again) and must itself rewrite,
    on every use, exactly the part it changes (the interior). At most ``per_key`` buffers
    are made per key and ``max_bytes`` kept in all (least recently used keys go first):
    128 MB holds the whole working set of LeNet or of the conv32-conv64 CNN at batch 64,
    and keeps a large network's idle buffers from adding to its peak (ResNet-18 at batch
    8: 539 -> 438 MiB on one thread, the step's CPU time unchanged within noise).
    """

    def __init__(self, max_bytes: int = 128 << 20, per_key: int = 4) -> None:
        self.max_bytes = max_bytes
        self.per_key = per_key
        self.enabled = True
        self._pool: OrderedDict[tuple, list] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, tag, shape: tuple, dtype, fill=None):
        """An array of ``shape`` and ``dtype`` no one else holds (see the class doc)."""
        if not self.enabled:
            return self._new(shape, dtype, fill)
        dtype = xp.dtype(dtype)
        key = (tag, shape, dtype, fill)
        n = math.prod(shape)
        with self._lock:
            bufs = self._pool.get(key)
            if bufs is None:
                bufs = self._pool[key] = []
            else:
                self._pool.move_to_end(key)
                for k in range(len(bufs)):
                    if sys.getrefcount(bufs[k]) == _FREE_REFCOUNT:
                        return bufs[k][:n].reshape(shape)
            buf = self._take_over(bufs, n, dtype)
            if buf is not None:
                bufs.append(buf)
                if fill is not None:
                    buf[:n].fill(fill)
                return buf[:n].reshape(shape)
            buf = self._new((n,), dtype, fill)
            if len(bufs) < self.per_key:
                self._make_room(buf.nbytes, keep=key)
                if self._bytes + buf.nbytes <= self.max_bytes:
                    bufs.append(buf)
                    self._bytes += buf.nbytes
            return buf.reshape(shape)

    def _take_over(self, own: list, n: int, dtype):
        """The smallest free buffer of another key, of ``dtype``, holding n to 2n elements,
        taken out of its key's list (the caller files it under its own); None if none."""
        best = best_list = None
        for (_, _, kind, _), bufs in self._pool.items():
            if bufs is own or kind != dtype:
                continue
            for buf in bufs:
                size = buf.size
                if (
                    n <= size <= 2 * n
                    and (best is None or size < best.size)
                    and sys.getrefcount(buf) == _FREE_REFCOUNT + 1
                ):  # + ``buf``
                    best, best_list = buf, bufs
        if best is not None:
            del best_list[next(i for i, b in enumerate(best_list) if b is best)]
        return best

    @staticmethod
    def _new(shape, dtype, fill):
        return xp.empty(shape, dtype) if fill is None else xp.full(shape, fill, dtype)

    def _make_room(self, nbytes: int, keep) -> None:
        """Forget least recently used keys (but ``keep``) until ``nbytes`` more fit."""
        for key in [k for k in self._pool if k != keep]:  # oldest first
            if self._bytes + nbytes <= self.max_bytes:
                break
            self._bytes -= sum(b.nbytes for b in self._pool.pop(key))

    def clear(self) -> None:
        """Forget every buffer (arrays still in use stay valid: their users hold them)."""
        with self._lock:
            self._pool.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes the pool holds."""
        return self._bytes


workspace = Workspace()
"""The scratch pool of the ops in this module (``workspace.enabled = False`` turns reuse
off; ``workspace.clear()`` lets the memory go)."""


# ============================================================ two threads, half the batch each

split_threshold = 4 << 20
"""Bytes an elementwise pass must move before it is split over two threads (smaller ones
lose more to the hand-off than they gain; ``float('inf')`` turns splitting off)."""

chunk_bytes = 800_000
"""A convolution whose input needs no gradient (a first layer) runs in batch chunks whose
columns and outputs fit in about this many bytes (a core's L2 cache), recomputing the
columns in backward instead of keeping them: see :class:`Conv`."""

deferred_product = 1 << 25
"""Multiply-adds up to which a convolution's weight gradient is computed on the helper
thread while the main thread carries the input's gradient on (:class:`Conv`)."""

planes_bytes = 1 << 20
"""Bytes of W^T g that the input's gradient of a stride-1 convolution computes at a time
(:meth:`Conv._dx_by_planes`): few enough items to stay in a core's cache, enough that
the Python around each chunk stays small next to its work."""

small_product = 1_000_000
"""Multiply-adds up to which a first layer's chunk (:data:`chunk_bytes`) may grow. OpenBLAS
(0.3.17 on, AVX-512 kernels) multiplies products this small directly, without first
packing them into its blocked layout; for a skinny product the packing costs more than
the arithmetic: LeNet's first layer, (6, 25) by (25, n items x 784), takes 3 us per item
at 8 items a chunk (0.94M multiply-adds) and 6-11 us at 9 (1.06M), its weight gradient
4 us against 15."""

keep_columns_bytes = 48 << 20
"""Bytes of im2col columns that convolutions may keep, in all (every graph alive), for
their weight's gradient. A convolution whose columns do not fit keeps only its input
and copies the columns again in backward, into a scratch buffer that the next
convolution of that shape reuses: columns are kh kw times the input, and ResNet-18's on
a batch of 8 224x224 images would hold 400 MB until backward. Making them again costs
one more im2col copy (the conv32-conv64 CNN's step: 9% more CPU time, hence a budget
that small networks stay under, 42 MB for that CNN at batch 64). The copy gives the
same bits as forward's, so the gradients do not depend on which convolutions kept."""

keep_columns_max_channels = 64
"""Output channels up to which a convolution may keep its columns. Making the columns
again costs one copy of them; the weight's gradient, a product with the output's
gradient, costs O multiply-adds per column element: the copy matters beside it only for
few output channels (the conv32-conv64 CNN's 9%), and not for ResNet's 128-512, whose
kept columns were pure memory (ResNet-18's step at batch 8: 414 -> 361 MiB, torch's 367-407)."""

_kept = [0]  # bytes of columns kept now, under keep_columns_bytes
_kept_lock = threading.Lock()


def _keep_columns(cols) -> bool:
    """Whether ``cols`` fit in :data:`keep_columns_bytes`; if they do, they are counted
    until the array ``cols`` is freed (with its graph, or after its backward)."""
    n = cols.nbytes
    with _kept_lock:
        if _kept[0] + n > keep_columns_bytes:
            return False
        _kept[0] += n
    weakref.finalize(cols, _release_columns, n)
    return True


def _release_columns(n: int) -> None:
    with _kept_lock:
        _kept[0] -= n


product_split_threshold = 1 << 20
"""Bytes of im2col columns above which a whole convolution (copies and matrix products)
runs as two batch halves on two threads, each with a one-thread BLAS."""


def split_batch(body, n: int, nbytes: int, products: bool = False) -> None:
    """Run ``body(part)`` over the batch slices ``part`` of ``range(n)``: one call
    ``body(slice(0, n))``, or, when the pass moves at least :data:`split_threshold` bytes
    (:data:`product_split_threshold` for a body with matrix ``products``), the two halves
    at once, one on a helper thread (:func:`axon.backend.threads.run_halves`).

    A body with products always runs on a one-thread BLAS, and when big enough always as
    the same two halves: at once, or one after the other where the split is refused (one
    thread allowed, another split running; :func:`axon.backend.threads.halves`). Its
    products and its sums over the batch (a weight's gradient: the two halves' parts
    added) then give the same bits whether the split ran or not, and whatever the thread
    count (OpenBLAS's bits depend on how a product is cut: see
    :mod:`axon.backend.threads`). An elementwise body gives the same bits however the
    batch is cut: a refused split runs it whole.

    The helper thread may hold on to its last job after a split; it gets ``body``
    through a box emptied on return, so that what ``body`` refers to (columns, scratch
    buffers: a convolution's tens of MB) is not kept alive until the next split."""
    if not products:
        if nbytes >= split_threshold:
            box = [body]
            try:
                if threads.run_halves(lambda part: box[0](part), n):
                    return
            finally:
                box.clear()
        body(slice(0, n))
    elif nbytes >= product_split_threshold:
        box = [body]
        try:
            threads.halves(lambda part: box[0](part), n, products=True)
        finally:
            box.clear()
    else:
        with threads.one_blas_thread():
            body(slice(0, n))


# ============================================================ geometry helpers


def to_4d(a, nd: int):
    """View an (N, C, *S) or unbatched (C, *S) array with ``len(S) == nd`` (1 or 2) as
    (N, C, H, W); a 1-D signal gets H = 1."""
    if a.ndim == nd + 1:
        a = a[None]  # (C, *S) -> (1, C, *S)
    if nd == 1:
        a = a[:, :, None]  # (N, C, L) -> (N, C, 1, L)
    return a


def check_input_dims(name: str, x, nd: int) -> None:
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
            f"input of shape {x.shape}"
        )


def window_slices(kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple):
    """For every kernel offset (i, j) in scan order, the (rows, cols) slices that pick
    x[..., ho s + i d, wo s + j d] for all outputs (ho, wo) at once."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    rows = [slice(i * dh, i * dh + sh * (ho - 1) + 1, sh) for i in range(kh)]
    cols = [slice(j * dw, j * dw + sw * (wo - 1) + 1, sw) for j in range(kw)]
    return [(r, c) for r in rows for c in cols]


def padded(xc, pads: tuple, size: tuple, fill, tag: str, copy: bool = True):
    """The (C, N, H, W) array ``xc`` inside a (C, N, *size) scratch buffer whose border
    (top ``pads[0]`` rows, left ``pads[1]`` columns, and whatever lies past the input)
    holds ``fill``. Returns ``xc`` itself when no border is needed. ``copy=False``: the
    caller copies ``xc`` into the interior itself (a batch half at a time)."""
    C, N, H, W = xc.shape
    top, left = pads
    if top == 0 and left == 0 and size == (H, W):
        return xc
    buf = workspace.get((tag, top, left, H, W), (C, N, *size), xc.dtype, fill)
    if copy:
        buf[:, :, top : top + H, left : left + W] = xc
    return buf


# ============================================================ convolution


narrow_width = 12
"""Output widths up to which :func:`im2col_copies` copies rows, then blocks of rows
(:func:`im2col_by_rows`), instead of one strided copy per kernel offset."""


def im2col_copies(xp_, cols, stride: tuple, dilation: tuple):
    """The copies that fill the columns ``cols`` (C, kh, kw, N, Ho, Wo) from the padded
    input ``xp_`` (C, N, Hp, Wp), cols[:, i, j] = xp_[:, :, i d : ... : s, j d : ... : s],
    as a function of a batch slice ``part`` returning (destination, source) view pairs for
    those items: one strided copy per kernel offset, or for narrow outputs at stride 1
    down the rows the two copies of :func:`im2col_by_rows`. The views are made here, once
    for the whole batch, so a batch half only slices them: Python work inside a split
    makes the other thread wait for the GIL."""
    C, kh, kw, N, Ho, Wo = cols.shape
    if stride[0] == 1 and Wo <= narrow_width:
        (rows, shifted), (blocks_dst, blocks) = im2col_by_rows(xp_, cols, stride[1], dilation)
        return lambda part: (
            (rows[:, :, part], shifted[:, :, part]),
            (blocks_dst[:, :, :, part], blocks[:, :, :, part]),
        )
    windows = window_slices((kh, kw), stride, dilation, (Ho, Wo))
    pairs = [
        (cols[:, t // kw, t % kw], xp_[:, :, rows, cs]) for t, (rows, cs) in enumerate(windows)
    ]
    return lambda part: [(dst[:, part], src[:, part]) for dst, src in pairs]


def im2col_by_rows(xp_, cols, stride_w: int, dilation: tuple):
    """The im2col copies at stride 1 down the rows, two with long inner loops:
    first every padded row shifted by each kernel column, rows[c, j, n, h, wo] =
    xp_[c, n, h, wo s + j dw]; then each (c, i, j, n) block of ``cols`` is the Ho
    consecutive rows of it from row i dh on, one contiguous run of Ho Wo values. The
    kh kw strided copies of im2col loop over runs only Wo long, and NumPy's cost per
    run outweighs the copying when Wo is small: LeNet's second convolution (Wo = 10)
    gets its columns 2.5x faster this way (the whole forward op 10-15% faster).

    Returns the two copies, (rows, its source) and (``cols`` as (C, kh, kw, N, Ho Wo),
    its source), with the batch on axis 2 and 3 respectively."""
    C, kh, kw, n, Ho, Wo = cols.shape
    Hp, (dh, dw) = xp_.shape[2], dilation
    rows = workspace.get("conv-rows", (C, kw, n, Hp, Wo), xp_.dtype)
    c_s, n_s, h_s, w_s = xp_.strides
    shifted = as_strided(
        xp_, rows.shape, (c_s, dw * w_s, n_s, h_s, stride_w * w_s), writeable=False
    )
    r_c, r_j, r_n, r_h, size = rows.strides
    blocks = as_strided(
        rows, (C, kh, kw, n, Ho * Wo), (r_c, dh * r_h, r_j, r_n, size), writeable=False
    )
    return (rows, shifted), (cols.reshape(C, kh, kw, n, Ho * Wo), blocks)


def windows_view(xp_, kernel: tuple, out_hw: tuple, stride: tuple, dilation: tuple):
    """The read-only (C, kh, kw, n, Ho, Wo) view of the padded input ``xp_`` (C, n, Hp, Wp)
    whose copy is the im2col columns: view[c, i, j, n, ho, wo] = xp_[c, n, ho s + i d,
    wo s + j d]. Copying it is one call (for small batch chunks: 25 slice copies cost
    more in calls than in bytes)."""
    sc, sn, sh, sw = xp_.strides
    shape = (xp_.shape[0], *kernel, xp_.shape[1], *out_hw)
    strides = (sc, sh * dilation[0], sw * dilation[1], sn, sh * stride[0], sw * stride[1])
    return as_strided(xp_, shape, strides, writeable=False)


def col2im(dcols, dxp, stride: tuple, dilation: tuple) -> None:
    """Add every column of ``dcols`` (C, kh, kw, N, Ho, Wo) back onto the pixel it was
    copied from, in the zeroed (C, N, Hp, Wp) ``dxp``: the adjoint of :func:`im2col`."""
    C, kh, kw, N, Ho, Wo = dcols.shape
    windows = window_slices((kh, kw), stride, dilation, (Ho, Wo))

    def body(part):
        for t, (rows, cs) in enumerate(windows):
            i, j = divmod(t, kw)
            dxp[:, part, rows, cs] += dcols[:, i, j, part]

    split_batch(body, N, dcols.nbytes)


class Conv(Op):
    """conv1d / conv2d: im2col plus one matrix product (see the module doc for the formulas).

    ``padding`` is ((top, bottom), (left, right)) in 2-D terms; 1-D inputs (N, C, L) run
    as (N, C, 1, L) and unbatched inputs as a batch of one. The input's gradient is skipped
    when it needs none (a first layer), the weight's when it is frozen.

    An input that needs no gradient (a first layer, or no recording) runs in chunks of a
    few batch items whose columns stay in a core's cache (:data:`chunk_bytes`): each
    chunk's im2col is one strided copy, its product follows while the columns are hot,
    and backward recomputes them for the weight's gradient instead of keeping them. For
    LeNet's first layer (1 -> 6 channels, 5x5, K = 25 rows of columns, 5 MB for a batch
    of 64) forward and weight gradient take half the time; the LeNet step 4% less. A
    chunk holds at most :data:`small_product` multiply-adds, the size up to which
    OpenBLAS skips packing: LeNet's chunks of 8 items (4 before that cap existed, at
    half the ``chunk_bytes``) take another 3% off the step, fewer trips through Python.

    The weight's gradient, when the weight is a leaf and the product is small
    (:data:`deferred_product`), comes from the helper thread
    (:func:`axon.backend.threads.defer`): the main thread carries the input's gradient
    on back meanwhile through the pooling and ReLU below, single-threaded passes that
    would leave the second core idle, and the autograd engine adds the weight's
    gradient at the end of ``backward``. LeNet's step: 4% less. A large one (the
    conv32-conv64 CNN's: 680M multiply-adds) is faster as two batch halves.
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
        xpad = padded(xc, (pt, pl), (Hp, Wp), 0, "conv-pad", copy=False)  # (C, N, Hp, Wp)
        out = workspace.get("conv-out", (O, N, Ho, Wo), x.dtype)
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
                N, max(1, chunk_bytes // per_item), max(1, small_product // (Og * K * Ho * Wo))
            )
        if not self.chunk:
            cols = workspace.get("conv-cols", (C, kh, kw, N, Ho, Wo), x.dtype)
            cols3 = cols.reshape(G, K, L)

        if self.chunk:
            windows = windows_view(xpad, (kh, kw), (Ho, Wo), stride, dilation)
        else:
            copies = im2col_copies(xpad, cols, stride, dilation)

        def body(part):  # the batch items in part: columns [n0 Ho Wo, n1 Ho Wo) of cols3
            if xpad is not xc:
                xpad[:, part, pt : pt + H, pl : pl + W] = xc[:, part]
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
        cols = xpad if self.chunk else cols3  # what backward needs for the weight

        if self.parents is not None:  # recording: keep what backward needs
            px, pw, _ = self.parents[:3]
            keep = (
                self.chunk
                or pw is None
                or (G * Og <= keep_columns_max_channels and _keep_columns(cols))
            )
            self.cols = cols if pw is not None and keep else None
            self.x = x if pw is not None and not keep else None  # columns made again
            self.wg = wg if px is not None else None
        y = out.transpose(1, 0, 2, 3)  # (N, O, Ho, Wo), channel-major memory
        return y.reshape(self._out_shape(y.shape))

    def _chunk_columns(self, windows, part):
        """For each chunk of the batch items in ``part``: (first item, its im2col columns
        as a (G, K, n Ho Wo) array), copied from ``windows`` (:func:`windows_view` of the
        padded input) into one scratch buffer reused from chunk to chunk."""
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = self.geometry
        flat = workspace.get("conv-chunk", (K * G * self.chunk * Ho * Wo,), windows.dtype)
        for n0 in range(part.start, part.stop, self.chunk):
            n = min(self.chunk, part.stop - n0)
            cols = flat[: G * K * n * Ho * Wo].reshape(C, kh, kw, n, Ho, Wo)
            xp.copyto(cols, windows[:, :, :, n0 : n0 + n])
            yield n0, cols.reshape(G, K, n * Ho * Wo)

    def _dx_by_planes(self, wt, g_plane, dxp, part) -> None:
        """The padded input's gradient ``dxp[:, part]`` of a stride-1 convolution, a few
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
        (:data:`planes_bytes`).
        """
        N, C, H, W, Hp, Wp, Ho, Wo, G, Og, K, L, pt, pl, kh, kw = self.geometry
        (dh, dw), P, size = self.dilation, Hp * Wp, dxp.itemsize
        back = (kh - 1) * dh * Wp + (kw - 1) * dw  # the farthest shift s(i, j)
        chunk = min(part.stop - part.start, max(1, planes_bytes // (G * K * P * size)))
        buf = workspace.get(("conv-dx-planes", back), (G, K, back + chunk * P), dxp.dtype, fill=0)
        row = buf.strides[1]
        # (C, kh, kw, positions): D[(c, i, j), q - s(i, j)], positions from buf[:, :, back]
        shifted = (kh * kw * row, kw * row - dh * Wp * size, row - dw * size, size)
        view = as_strided(buf[:, :, back:], (C, kh, kw, chunk * P), shifted, writeable=False)
        g3 = g_plane.reshape(G, Og, N * P)
        dx2 = dxp.reshape(C, N * P)
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
            and Og * K * L * G <= deferred_product
        )
        if pw is not None and self.chunk:  # self.cols is the padded input: its windows
            windows = windows_view(self.cols, (kh, kw), (Ho, Wo), self.stride, self.dilation)
        cols3 = self.cols
        again = pw is not None and cols3 is None  # copy the columns again, a half at a time
        if again:
            xc = self.x.transpose(1, 0, 2, 3)  # (C, N, H, W)
            xpad = padded(xc, (pt, pl), (Hp, Wp), 0, "conv-pad", copy=False)
            cols = workspace.get("conv-cols", (C, kh, kw, N, Ho, Wo), g.dtype)
            copies = im2col_copies(xpad, cols, self.stride, self.dilation)
            cols3 = cols.reshape(G, K, L)
        if px is not None:
            wt = self.wg.transpose(0, 2, 1)  # (G, Cg kh kw, O / G)
            dxp = workspace.get("conv-dx", (C, N, Hp, Wp), g.dtype)
            if planes:  # g inside zero (Hp, Wp) planes (the buffer keeps the zeros)
                g_plane = workspace.get(("conv-g-plane", Ho, Wo), (O, N, Hp, Wp), g.dtype, fill=0)
            else:
                dcols = workspace.get("conv-dcols", (C, kh, kw, N, Ho, Wo), g.dtype)
                dcols3 = dcols.reshape(G, K, L)

        def body(part):
            span = slice(part.start * Ho * Wo, part.stop * Ho * Wo)
            gp = gc[:, :, span]  # (G, O / G, n Ho Wo)
            if again:  # the forward's im2col of these items, as forward made it
                if xpad is not xc:
                    xpad[:, part, pt : pt + H, pl : pl + W] = xc[:, part]
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
                self._dx_by_planes(wt, g_plane, dxp, part)
            elif px is not None:
                dxp[:, part].fill(0)
                xp.matmul(wt, gp, out=dcols3[:, :, span])
                col2im(dcols[:, :, :, part], dxp[:, part], self.stride, self.dilation)
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
            dxc = dxp[:, :, pt : pt + H, pl : pl + W]  # (C, N, H, W): drop the padding
            gx = dxc.transpose(1, 0, 2, 3).reshape(self.x_shape)
        return gx, gw, gb, None, None, None, None, None


def weight_grad(cols, g):
    """dW = g cols^T per group, (G, O / G, K), from the columns (G, K, L) and g (G, O / G,
    L); OpenBLAS is faster with the larger side first, so for K >= O / G as (cols g^T)^T."""
    if cols.shape[1] >= g.shape[1]:
        return xp.matmul(cols, g.transpose(0, 2, 1)).transpose(0, 2, 1)
    return xp.matmul(g, cols.transpose(0, 2, 1))


# ============================================================ pooling


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
        xpad = padded(x4.transpose(1, 0, 2, 3), (ph, pw), (Hp, Wp), fill, f"{name}-pad")
        self.windows = window_slices(kernel, stride, dilation, (Ho, Wo))
        # windows never overlap, and (exact) cover every padded pixel once
        self.disjoint = dh * (kh - 1) < sh and dw * (kw - 1) < sw
        self.exact = self.disjoint and (kh, kw) == (sh, sw) and (Hp, Wp) == (Ho * sh, Wo * sw)
        self.geometry = (N, C, H, W, Hp, Wp, Ho, Wo, ph, pw)
        return xpad

    def _out(self, outc):
        """(C, N, Ho, Wo) -> the caller's rank, as a channel-major (N, C, ...) view."""
        y = outc.transpose(1, 0, 2, 3)
        if self.nd == 1:
            y = y[:, :, 0]
        return y[0] if len(self.x_shape) == y.ndim - 1 else y

    def _grad_buffer(self, dtype):
        """A (C, N, Hp, Wp) buffer for dx, zeroed unless every pixel gets assigned."""
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        dxp = workspace.get("pool-dx", (C, N, Hp, Wp), dtype)
        if not self.exact:
            dxp.fill(0)
        return dxp

    def _grad_out(self, dxp):
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        dxc = dxp[:, :, ph : ph + H, pw : pw + W]  # (C, N, H, W): drop the padding
        return dxc.transpose(1, 0, 2, 3).reshape(self.x_shape)

    def _grad_in(self, g):
        """The upstream gradient as a C-contiguous (C, N, Ho, Wo) array (one copy when it
        comes in NCHW order, as from a Flatten: cheaper than the strided passes on it)."""
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        return xp.ascontiguousarray(g.reshape(N, C, Ho, Wo).transpose(1, 0, 2, 3))


def first_max_offsets(xpad, out, windows, arg) -> None:
    """Write into ``arg`` the number of the window offset holding each output's first
    maximum (``arg`` keeps its value where none does: a window holding NaN)."""
    for t, (_, hit) in enumerate(first_max_hits(xpad, out, windows)):
        xp.copyto(arg, t, where=hit)


def first_max_hits(xpad, out, windows):
    """For each window offset in scan order, yield (slices, hit): ``hit`` marks the outputs
    whose first maximum sits at that offset (PyTorch's CPU rule for ties: the first max in
    the window wins). ``hit`` is one reused buffer: use it before the next step."""
    found = xp.zeros(out.shape, dtype=bool)
    hit = xp.empty(out.shape, dtype=bool)
    last = len(windows) - 1
    for t, (rows, cols) in enumerate(windows):
        xp.equal(xpad[:, :, rows, cols], out, out=hit)
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
    contiguous planes, where NumPy's inner loops are long. Measured in the LeNet step,
    its two poolings take 1.31 ms forward and backward instead of 1.50 (against the max
    of column pairs, then of row pairs, with strided passes both ways): the step 3.7%
    less, the conv32-conv64 CNN's step 2% less. Without recording, forward keeps that
    pairwise max (no copy).
    """

    def forward(self, x, kernel, stride, padding, dilation, ceil_mode, name):
        xpad = self._setup(x, kernel, stride, padding, dilation, ceil_mode, name, -xp.inf)
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        out = xp.empty((C, N, Ho, Wo), x.dtype)
        self.pairs = tuple(kernel) == tuple(stride) == (2, 2) and tuple(dilation) == (1, 1)
        planes = None
        if self.pairs and self.parents is not None:  # phase planes (see the class doc)
            planes = workspace.get("pool-planes", (2, 2, C, N, Ho, Wo), x.dtype)
        elif self.pairs:  # the max of each pair of columns
            colmax = workspace.get("pool-colmax", (C, N, 2 * Ho, Wo), x.dtype)

        def body(part):  # running maximum over the window offsets
            if planes is not None:  # planes[i, j] = x[..., i::2, j::2]
                x6 = xpad[:, part, : 2 * Ho, : 2 * Wo].reshape(C, -1, Ho, 2, Wo, 2)
                p = planes[:, :, :, part]
                xp.copyto(p, x6.transpose(3, 5, 0, 1, 2, 4))
                o = out[:, part]
                xp.maximum(p[0, 0], p[0, 1], out=o)
                xp.maximum(o, p[1, 0], out=o)
                xp.maximum(o, p[1, 1], out=o)
                return
            if self.pairs:
                x2 = xpad[:, part, : 2 * Ho, : 2 * Wo]
                m = colmax[:, part]
                xp.maximum(x2[..., 0::2], x2[..., 1::2], out=m)
                xp.maximum(m[:, :, 0::2], m[:, :, 1::2], out=out[:, part])
                return
            views = [xpad[:, part, rows, cols] for rows, cols in self.windows]
            o = out[:, part]
            if len(views) == 1:
                o[...] = views[0]
            else:
                xp.maximum(views[0], views[1], out=o)
            for v in views[2:]:
                xp.maximum(o, v, out=o)
            if arg is not None:  # each output's first maximum, as an offset number
                first_max_offsets(xpad[:, part], o, self.windows, arg[:, part])

        # the general path keeps, for backward, the offset of each output's first maximum
        # (a byte per output; len(windows) where the window holds NaN: no gradient), not
        # the padded input and the output: 33 MB less in ResNet-18's step at batch 8
        arg = None
        if self.parents is not None and not self.pairs:
            n_win = len(self.windows)
            arg = xp.full((C, N, Ho, Wo), n_win, xp.uint8 if n_win < 255 else xp.int32)
        split_batch(body, N, xpad.nbytes)
        if self.parents is not None:  # the planes hold all the 2x2 path needs of x
            self.arg, self.outc, self.planes = arg, (out if self.pairs else None), planes
        return self._out(out)

    def backward(self, g):
        gc = self._grad_in(g)
        dxp = self._grad_buffer(g.dtype)
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        arg = self.arg
        if self.pairs and xp.isnan(self.outc).any():  # NaN: the general rule, on x itself
            xpad = xp.full((C, N, Hp, Wp), -xp.inf, g.dtype)
            x6 = xpad[:, :, : 2 * Ho, : 2 * Wo].reshape(C, N, Ho, 2, Wo, 2)
            xp.copyto(x6.transpose(3, 5, 0, 1, 2, 4), self.planes)
            arg = xp.full(self.outc.shape, len(self.windows), xp.uint8)
            first_max_offsets(xpad, self.outc, self.windows, arg)
        pairs = arg is None

        def body(part):
            grad = gc[:, part]
            if pairs:  # the first maximum in scan order (0, 0), (0, 1), (1, 0), (1, 1)
                p, y = self.planes[:, :, :, part], self.outc[:, part]
                dx6 = dxp[:, part, : 2 * Ho, : 2 * Wo].reshape(C, -1, Ho, 2, Wo, 2)
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
                    xp.multiply(grad, hit, out=dxp[:, part, rows, cols])
                else:
                    xp.multiply(grad, hit, out=tmp)
                    dxp[:, part, rows, cols] += tmp

        split_batch(body, N, dxp.nbytes)
        return self._grad_out(dxp), None, None, None, None, None, None


def max_pool_indices(x, y, kernel, stride, padding, dilation, ceil_mode, name):
    """The flat index (h W + w) into its input plane of every output's maximum, shaped
    like the output ``y``: PyTorch's ``return_indices=True``."""
    op = object.__new__(MaxPool)
    xpad = op._setup(x, kernel, stride, padding, dilation, ceil_mode, name, -xp.inf)
    N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = op.geometry
    outc = to_4d(y, op.nd).transpose(1, 0, 2, 3)  # (C, N, Ho, Wo)
    idx = xp.zeros((C, N, Ho, Wo), dtype=xp.int64)
    for (rows, cols), hit in first_max_hits(xpad, outc, op.windows):
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
        xpad = self._setup(x, kernel, stride, padding, (1, 1), ceil_mode, name, 0)
        N, C, H, W, Hp, Wp, Ho, Wo, ph, pw = self.geometry
        views = [xpad[:, :, rows, cols] for rows, cols in self.windows]
        out = views[0].copy() if len(views) == 1 else xp.add(views[0], views[1])
        for v in views[2:]:
            xp.add(out, v, out=out)
        if divisor_override:
            div = divisor_override
        else:
            rows = self._counts(H, Ho, kernel[0], stride[0], ph, count_include_pad)
            cols = self._counts(W, Wo, kernel[1], stride[1], pw, count_include_pad)
            div = (rows[:, None] * cols[None, :]).astype(x.dtype)  # (Ho, Wo)
            if (div == div.flat[0]).all():
                div = int(div.flat[0])
        out /= div
        self.div = div
        return self._out(out)

    @staticmethod
    def _counts(n, n_out, k, s, p, include_pad):
        """Per output position along one axis, how many cells the divisor counts."""
        start = xp.arange(n_out) * s - p
        end = xp.minimum(start + k, n + p)
        if include_pad:
            return end - start
        return xp.minimum(end, n) - xp.maximum(start, 0)

    def backward(self, g):
        gc = self._grad_in(g) / self.div  # (C, N, Ho, Wo)
        dxp = self._grad_buffer(g.dtype)
        for rows, cols in self.windows:
            if self.disjoint:
                dxp[:, :, rows, cols] = gc
            else:
                dxp[:, :, rows, cols] += gc
        return self._grad_out(dxp), None, None, None, None, None, None, None


def adaptive_matrix(n_in: int, n_out: int, dtype):
    """A (n_out, n_in) averaging matrix: row i is 1 / (end - start) on PyTorch's window
    start = floor(i n_in / n_out) <= h < end = ceil((i + 1) n_in / n_out)."""
    i = xp.arange(n_out)
    start = (i * n_in) // n_out
    end = -(-(i + 1) * n_in // n_out)
    h = xp.arange(n_in)
    inside = (h >= start[:, None]) & (h < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _along_last(a, m):
    """``a`` (..., n) times the matrix ``m`` (n, k) over its last axis, as one 2-D
    product: (..., k)."""
    return threads.matmul(a.reshape(-1, a.shape[-1]), m).reshape(*a.shape[:-1], m.shape[1])


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
        self.ah = adaptive_matrix(H, Ho, x.dtype) if Ho != H else None
        self.aw = adaptive_matrix(W, Wo, x.dtype) if Wo != W else None
        out = x4.transpose(1, 0, 2, 3)  # (C, N, H, W)
        if self.aw is not None:
            out = _along_last(out, self.aw.T)  # (C, N, H, Wo)
        if self.ah is not None:
            out = _along_last(out.swapaxes(2, 3), self.ah.T).swapaxes(2, 3)  # (C, N, Ho, Wo)
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
            gc = _along_last(gc, self.aw)  # (C, N, Ho, W)
        if self.ah is not None:
            gc = _along_last(gc.swapaxes(2, 3), self.ah).swapaxes(2, 3)  # (C, N, H, W)
        return gc.transpose(1, 0, 2, 3).reshape(self.x_shape), None, None


# ============================================================ upsampling


def nearest_index(n_in: int, n_out: int, scale: float | None, exact: bool):
    """Source index of every output position, PyTorch's rule (float32 arithmetic):
    src = min(floor(j * r), n_in - 1) with r = 1 / scale_factor when one is given, else
    n_in / n_out; ``nearest-exact`` uses floor((j + 0.5) r)."""
    j = xp.arange(n_out)
    if not exact and n_out == n_in:
        return j
    if not exact and n_out == 2 * n_in:
        return j >> 1
    r = xp.float32(1.0 / scale) if scale else xp.float32(n_in) / xp.float32(n_out)
    pos = (j.astype(xp.float32) + xp.float32(0.5)) * r if exact else j.astype(xp.float32) * r
    return xp.minimum(xp.floor(pos).astype(xp.int64), n_in - 1)


def _sum_runs(g, idx, n: int, axis: int):
    """Adjoint of ``take(x, idx, axis)`` for a non-decreasing ``idx``: sum the slices of
    ``g`` that came from the same source (one ``reduceat``); sources never taken get 0."""
    starts = xp.flatnonzero(xp.r_[True, idx[1:] != idx[:-1]])
    summed = xp.add.reduceat(g, starts, axis=axis)
    if len(starts) == n:
        return summed
    shape = list(g.shape)
    shape[axis] = n
    out = xp.zeros(shape, g.dtype)
    where = [slice(None)] * g.ndim
    where[axis] = idx[starts]
    out[tuple(where)] = summed
    return out


class UpsampleNearest(Op):
    """y[..., h, w] = x[..., ih[h], iw[w]] (:func:`nearest_index`); dx sums the gradient
    of every output that copied a pixel."""

    def forward(self, x, out_size, scales, exact, name):
        nd = x.ndim - 2
        self.x_shape = x.shape
        x4 = to_4d(x, nd)
        N, C, H, W = x4.shape
        if nd == 1:
            out_size, scales = (1, *out_size), (None, *scales)
        self.ih = nearest_index(H, out_size[0], scales[0], exact)
        self.iw = nearest_index(W, out_size[1], scales[1], exact)
        xc = x4.transpose(1, 0, 2, 3)  # (C, N, H, W)
        out = xp.take(xp.take(xc, self.ih, axis=2), self.iw, axis=3)  # (C, N, Ho, Wo)
        self.out_shape4, self.in_hw = (N, C, *out_size), (H, W)
        y = out.transpose(1, 0, 2, 3)
        return y[:, :, 0] if nd == 1 else y

    def backward(self, g):
        N, C, Ho, Wo = self.out_shape4
        H, W = self.in_hw
        gc = g.reshape(N, C, Ho, Wo).transpose(1, 0, 2, 3)  # (C, N, Ho, Wo)
        gc = _sum_runs(_sum_runs(gc, self.iw, W, axis=3), self.ih, H, axis=2)
        return gc.transpose(1, 0, 2, 3).reshape(self.x_shape), None, None, None, None


# ============================================================ channel dropout


class FeatureDropout(Op):
    """Dropout of whole channels: y = x * m / (1 - p) with one m ~ Bernoulli(1 - p) per
    (sample, channel), broadcast over the spatial positions; dy/dx = m / (1 - p)."""

    def forward(self, x, p, rng):
        shape = x.shape[:2] + (1,) * (x.ndim - 2)  # (N, C, 1, 1)
        if p == 1:
            self.mask = xp.zeros(shape, x.dtype)
        else:
            dt = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else xp.float64
            keep = rng.random(shape, dtype=dt) >= p
            self.mask = xp.multiply(keep, 1.0 / (1.0 - p), dtype=x.dtype)
        return x * self.mask

    def backward(self, g):
        return g * self.mask, None, None
