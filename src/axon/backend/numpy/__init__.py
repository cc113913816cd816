"""The CPU backend: NumPy arrays, and all the speed machinery that only NumPy needs.

Threads and BLAS control, the workspace pool, im2col/col2im and strided windows live here;
the ops reach them through the backend, so another array library supplies its own.
"""

from __future__ import annotations

import numpy as np

from ..base import Backend, register
from ..device import CPU


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

    def matmul(self, a, b):
        """``a @ b`` with the thread policy of ``threads.matmul`` (one-thread BLAS, the
        same bits at any thread count)."""
        from .. import threads

        return threads.matmul(a, b)


cpu = register(NumpyBackend())
"""The CPU backend (``backend.for_device("cpu")``)."""
