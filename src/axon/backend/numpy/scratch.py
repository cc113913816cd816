"""Scratch memory of the CPU convolution and pooling ops: the :class:`Workspace` pool of
arrays reused across calls, and the budget of im2col columns convolutions keep for backward.

A fresh array of tens of MB costs page faults on every call; a reused one does not.
"""

from __future__ import annotations

import math
import sys
import threading
import weakref
from collections import OrderedDict

import numpy as np

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
    is in use at once rather than one buffer per shape ever seen (a ResNet, whose
    convolutions come in many shapes, would otherwise keep hundreds of MB idle).

    A reused buffer keeps what its last user under the same key wrote: a caller that asks
    for a ``fill`` (a zero or -inf border for padding) gets a buffer filled with it (a
    new one, or one taken over from another key, filled again) and must itself rewrite,
    on every use, exactly the part it changes (the interior). At most ``per_key`` buffers
    are made per key and ``max_bytes`` kept in all (least recently used keys go first):
    enough for the whole working set of a small CNN, while a large network's idle buffers
    do not add to its peak memory.
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
        dtype = np.dtype(dtype)
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
        return np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)

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
"""The scratch pool of the convolution and pooling ops (``workspace.enabled = False``
turns reuse off; ``workspace.clear()`` lets the memory go)."""


# ============================================================ columns kept for backward

keep_columns_bytes = 48 << 20
"""Bytes of im2col columns that convolutions may keep, in all (every graph alive), for
their weight's gradient. A convolution whose columns do not fit keeps only its input
and copies the columns again in backward, into a scratch buffer that the next
convolution of that shape reuses: columns are kh kw times the input, and a ResNet's on
a batch of large images would hold hundreds of MB until backward. Making them again
costs one more im2col copy per step, hence a budget that small networks stay under. The
copy gives the same bits as forward's, so the gradients do not depend on which
convolutions kept."""

keep_columns_max_channels = 64
"""Output channels up to which a convolution may keep its columns. Making the columns
again costs one copy of them; the weight's gradient, a product with the output's
gradient, costs O multiply-adds per column element: the copy matters beside it only for
few output channels, and not for a ResNet's 128-512, whose kept columns would be pure
memory."""

_kept = [0]  # bytes of columns kept now, under keep_columns_bytes
_kept_lock = threading.Lock()


def keep_columns(cols) -> bool:
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
