"""How the CPU convolution and pooling passes cut their work: two batch halves on two
threads (:func:`split_batch` and its thresholds), and cache-sized pieces (the chunk sizes).

Each constant is a module attribute read at call time, so tests and tuning can set it.
"""

from __future__ import annotations

from . import threads

# ============================================================ two threads, half the batch each

split_threshold = 4 << 20
"""Bytes an elementwise pass must move before it is split over two threads (smaller ones
lose more to the hand-off than they gain; ``float('inf')`` turns splitting off)."""

product_split_threshold = 1 << 20
"""Bytes of im2col columns above which a whole convolution (copies and matrix products)
runs as two batch halves on two threads, each with a one-thread BLAS."""

deferred_product = 1 << 25
"""Multiply-adds up to which a convolution's weight gradient is computed on the helper
thread while the main thread carries the input's gradient on
(:mod:`axon.backend.numpy.conv2d`)."""


def split_batch(body, n: int, nbytes: int, products: bool = False) -> None:
    """Run ``body(part)`` over the batch slices ``part`` of ``range(n)``: one call
    ``body(slice(0, n))``, or, when the pass moves at least :data:`split_threshold` bytes
    (:data:`product_split_threshold` for a body with matrix ``products``), the two halves
    at once, one on a helper thread (:func:`axon.backend.numpy.threads.run_halves`).

    A body with products always runs on a one-thread BLAS, and when big enough always as
    the same two halves: at once, or one after the other where the split is refused (one
    thread allowed, another split running; :func:`axon.backend.numpy.threads.halves`). Its
    products and its sums over the batch (a weight's gradient: the two halves' parts
    added) then give the same bits whether the split ran or not, and whatever the thread
    count (OpenBLAS's bits depend on how a product is cut: see
    :mod:`axon.backend.numpy.threads`). An elementwise body gives the same bits however the
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


# ============================================================ cache-sized pieces

chunk_bytes = 800_000
"""A convolution whose input needs no gradient (a first layer) runs in batch chunks whose
columns and outputs fit in about this many bytes (a core's L2 cache), recomputing the
columns in backward instead of keeping them: see :mod:`axon.backend.numpy.conv2d`."""

chunk_macs = 1_000_000
"""Multiply-adds up to which a first layer's chunk (:data:`chunk_bytes`) may grow. OpenBLAS
(0.3.17 on, AVX-512 kernels) multiplies products this small directly, without first
packing them into its blocked layout; for a skinny product such as a first layer's
(6, 25) weight by its columns, the packing costs more than the arithmetic, so a chunk
just past this size is markedly slower than one just under it."""

planes_bytes = 1 << 20
"""Bytes of W^T g that the input's gradient of a stride-1 convolution computes at a time
(:func:`axon.backend.numpy.conv2d._dx_by_planes`): few enough items to stay in a core's
cache, enough that the Python around each chunk stays small next to its work."""
