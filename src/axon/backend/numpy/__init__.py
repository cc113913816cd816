"""The CPU backend: NumPy arrays, and all the speed machinery that only NumPy needs.

Threads and BLAS control, the workspace pool, im2col/col2im and strided windows live here;
the ops reach them through the backend, so another array library supplies its own.
"""

from __future__ import annotations

import numpy as np

from . import threads as _threads
from ..base import Backend, register
from ..device import CPU
from . import chunking as _chunking
from . import im2col as _im2col
from . import scratch as _scratch
from .conv2d import Conv2dKernel


class NumpyBackend(Backend):
    """NumPy on the CPU: host memory is its memory, so moves are copies at most."""

    name = "cpu"
    array_type = np.ndarray
    xp = np

    def device(self, index=None):
        return CPU  # torch's CPU tensors report ``cpu`` whatever index was asked

    def device_of(self, array):
        return CPU

    def to_host(self, array) -> np.ndarray:
        return array

    def from_host(self, array: np.ndarray, dev=None) -> np.ndarray:
        return array

    matmul = staticmethod(_threads.matmul)
    """``a @ b`` (into ``out`` when given) with the thread policy of ``threads.matmul``
    (one-thread BLAS, the same bits at any thread count); the function itself, so a step
    loop's products pay no extra call."""

    # the convolution and pooling machinery: scratch pool, batch halves, strided views
    conv2d = Conv2dKernel()

    def scratch(self, tag, shape, dtype, fill=None):
        return _scratch.workspace.get(tag, shape, dtype, fill)

    def split_batch(self, body, n, nbytes, products=False):
        _chunking.split_batch(body, n, nbytes, products)

    def padded(self, xc, pads, size, fill, tag):
        if len(pads) == 2:
            return _im2col.padded(xc, pads, size, fill, tag)
        return super().padded(xc, pads, size, fill, tag)

    def windows(self, x_padded, kernel, out, stride, dilation):
        return _im2col.windows_view_nd(x_padded, kernel, out, stride, dilation)

    def col2im(self, cols, dx_padded, stride, dilation):
        if len(stride) == 2:
            _im2col.col2im(cols, dx_padded, stride, dilation)  # two batch halves when big
        else:
            _im2col.col2im_nd(cols, dx_padded, stride, dilation)


cpu = register(NumpyBackend())
"""The CPU backend (``backend.for_device("cpu")``)."""
