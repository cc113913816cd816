"""How a batch travels from a DataLoader worker to the main process.

A batch is pickled with protocol 5, which hands the memory of each contiguous NumPy array
over as a separate buffer instead of copying it into the pickle. Small batches (under
:data:`SHARED_MIN_BYTES` of arrays) send those buffers along with the pickle through the
result queue's pipe. Large ones write the buffers once into a file in shared memory
(``/dev/shm``) and send only the pickle of the structure and the file's name: the main
process maps the file, removes its name at once (the mapping lives on until the last
array using it goes) and unpickles the arrays as views of the mapping. That is one copy of
the pixels in all, where the pipe makes four or five.

Files are named ``{prefix}-...`` with a prefix unique to one loader iterator, so the
iterator can remove any that were never read (a batch left in the queue at shutdown).
"""

from __future__ import annotations

import glob
import mmap
import os
import pickle
import uuid

SHM_DIR = "/dev/shm"
SHARED_MIN_BYTES = 1 << 20  # batches with at least this many bytes of arrays use shared memory
_ALIGN = 64  # each array starts on a cache line


def pack(data, prefix: str) -> tuple:
    """``data`` as a message for the queue (see the module doc)."""
    buffers: list[pickle.PickleBuffer] = []
    meta = pickle.dumps(data, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    if sum(r.nbytes for r in raws) < SHARED_MIN_BYTES or not os.path.isdir(SHM_DIR):
        return ("pipe", meta, [bytearray(r) for r in raws])  # bytearray: writable arrays
    path = os.path.join(SHM_DIR, f"{prefix}-{uuid.uuid4().hex}")
    spans, offset = [], 0
    with open(path, "xb") as f:
        for raw in raws:
            f.write(raw)
            spans.append((offset, raw.nbytes))
            pad = -raw.nbytes % _ALIGN
            f.write(b"\0" * pad)
            offset += raw.nbytes + pad
    return ("shm", meta, path, spans)


def unpack(message: tuple):
    """The batch a :func:`pack` message carries."""
    if message[0] == "pipe":
        _, meta, buffers = message
        return pickle.loads(meta, buffers=buffers)
    _, meta, path, spans = message
    with open(path, "r+b") as f:
        os.unlink(path)  # the mapping keeps the memory; nothing else needs the name
        mapped = memoryview(mmap.mmap(f.fileno(), 0))
    return pickle.loads(meta, buffers=[mapped[start : start + n] for start, n in spans])


def discard(message) -> None:
    """Drop a message unread (a batch of an epoch cut short), removing its file if any."""
    if message is not None and message[0] == "shm":
        try:
            os.unlink(message[2])
        except OSError:
            pass


def remove_unread(prefix: str) -> None:
    """Remove the shared-memory files of batches that were sent but never unpacked."""
    for path in glob.glob(os.path.join(SHM_DIR, f"{prefix}-*")):
        try:
            os.unlink(path)
        except OSError:
            pass
