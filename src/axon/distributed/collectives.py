"""torch.distributed's collectives on MPI: tensors through mpi4py's buffer methods (no
pickling; a contiguous tensor is reduced in place), small objects as JSON (never pickle).

Each call is non-blocking underneath (``Iallreduce``, ``Ibcast``, ...) and waited for with
the group's timeout (:func:`axon.distributed.group.wait`); ``async_op=True`` returns the
:class:`Work` instead of waiting.
"""

from __future__ import annotations

import enum
import json

import numpy as np

from ..autograd.tensor import Tensor
from . import group as G


class ReduceOp(enum.Enum):
    """How :func:`all_reduce` and :func:`reduce` combine the ranks' tensors (torch's
    names; ``AVG`` is the sum divided by the world size, for floating tensors)."""

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"


def _mpi_op(op: ReduceOp):
    MPI = G.mpi()
    ops = {
        ReduceOp.SUM: MPI.SUM,
        ReduceOp.AVG: MPI.SUM,
        ReduceOp.PRODUCT: MPI.PROD,
        ReduceOp.MIN: MPI.MIN,
        ReduceOp.MAX: MPI.MAX,
        ReduceOp.BAND: MPI.BAND,
        ReduceOp.BOR: MPI.BOR,
        ReduceOp.BXOR: MPI.BXOR,
    }
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be an axon.distributed.ReduceOp, got {op!r}")
    return ops[op]


class Work:
    """A collective in flight (``async_op=True``): :meth:`wait` finishes it (and copies
    the result into the tensor when the collective needed a contiguous copy)."""

    def __init__(self, request, name: str, finish=None) -> None:
        self._request, self._name, self._finish, self._done = request, name, finish, False

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        if not self._done:
            G.wait(self._request, self._name)
            self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()


def _host_buffer(tensor: Tensor, name: str) -> tuple[np.ndarray, bool]:
    """The NumPy array MPI reads and writes for ``tensor``: its own array when that is a
    C-contiguous host array, else a contiguous copy (second value True: copy it back)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} expects an axon Tensor, got {type(tensor).__name__}")
    arr = tensor.array
    if isinstance(arr, np.ndarray) and arr.flags.c_contiguous and arr.flags.writeable:
        return arr, False
    if tensor.device.type != "cpu":
        raise RuntimeError(
            f"{name}: the MPI backend takes tensors on the CPU, got one on {tensor.device}"
        )
    return np.ascontiguousarray(arr), True


def _run(request, name: str, async_op: bool, finish=None):
    G.current().enter()
    work = Work(request, name, finish)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over all ranks with ``op``; every rank gets the result in place."""
    g = G.current()
    buf, copied = _host_buffer(tensor, "all_reduce")
    if op is ReduceOp.AVG and buf.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got {buf.dtype}")
    request = g.comm.Iallreduce(G.mpi().IN_PLACE, buf, op=_mpi_op(op))

    def finish():
        if op is ReduceOp.AVG:
            buf[...] /= g.size
        if copied:
            tensor.array[...] = buf

    return _run(request, "all_reduce", async_op, finish)


def reduce(tensor: Tensor, dst: int = 0, op: ReduceOp = ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks with ``op`` into rank ``dst``'s tensor (the
    others' tensors are left as they were)."""
    g = G.current()
    _check_rank(dst, g, "reduce", "dst")
    buf, copied = _host_buffer(tensor, "reduce")
    if op is ReduceOp.AVG and buf.dtype.kind != "f":
        raise TypeError(f"reduce: ReduceOp.AVG needs a floating tensor, got {buf.dtype}")
    MPI = G.mpi()
    mine = g.rank == dst
    send = MPI.IN_PLACE if mine else buf
    request = g.comm.Ireduce(send, buf if mine else None, op=_mpi_op(op), root=dst)

    def finish():
        if mine and op is ReduceOp.AVG:
            buf[...] /= g.size
        if mine and copied:
            tensor.array[...] = buf

    return _run(request, "reduce", async_op, finish)


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor`` (same shape and dtype)."""
    g = G.current()
    _check_rank(src, g, "broadcast", "src")
    buf, copied = _host_buffer(tensor, "broadcast")
    request = g.comm.Ibcast(buf, root=src)

    def finish():
        if copied:
            tensor.array[...] = buf

    return _run(request, "broadcast", async_op, finish)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list`` (one tensor per rank, each of ``tensor``'s shape and dtype)
    with every rank's ``tensor``, in rank order."""
    g = G.current()
    if len(tensor_list) != g.size:
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} tensors, the world size is {g.size}"
        )
    for i, t in enumerate(tensor_list):
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise RuntimeError(
                f"all_gather: tensor_list[{i}] is {tuple(t.shape)} {t.dtype}, the input "
                f"tensor {tuple(tensor.shape)} {tensor.dtype}: they must match"
            )
    send, _ = _host_buffer(tensor, "all_gather")
    out = np.empty((g.size, *send.shape), dtype=send.dtype)
    request = g.comm.Iallgather(send, out)

    def finish():
        for t, part in zip(tensor_list, out, strict=True):
            t.array[...] = part

    return _run(request, "all_gather", async_op, finish)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank has reached this call."""
    return _run(G.current().comm.Ibarrier(), "barrier", async_op)


# ----------------------------------------------------------------------------- objects
def _encode(obj, name: str) -> bytes:
    try:
        return json.dumps(obj, allow_nan=True).encode()
    except TypeError as err:
        raise TypeError(
            f"{name} sends JSON (axon never pickles): {type(obj).__name__} is not "
            f"JSON-serialisable ({err}); send numbers, strings, lists and dicts"
        ) from None


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list`` (length world size) with every rank's ``obj``, in rank
    order. Objects travel as JSON: numbers, strings, lists, dicts, None (a tuple comes
    back as a list)."""
    g = G.current()
    if len(object_list) != g.size:
        raise ValueError(
            f"all_gather_object: object_list has {len(object_list)} entries, "
            f"the world size is {g.size}"
        )
    data = np.frombuffer(_encode(obj, "all_gather_object"), dtype=np.uint8)
    sizes = np.empty(g.size, dtype=np.int64)
    mine = np.array([data.size], dtype=np.int64)
    _run(g.comm.Iallgather(mine, sizes), "all_gather_object", False)
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    MPI = G.mpi()
    request = g.comm.Iallgatherv(data, [out, (sizes, None), MPI.BYTE])
    _run(request, "all_gather_object", False)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for i in range(g.size):
        object_list[i] = json.loads(out[starts[i] : starts[i + 1]].tobytes())


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace every rank's ``object_list`` entries with rank ``src``'s (the lists have
    the same length on every rank). Objects travel as JSON, as in
    :func:`all_gather_object`."""
    g = G.current()
    _check_rank(src, g, "broadcast_object_list", "src")
    payload = _encode(list(object_list), "broadcast_object_list") if g.rank == src else b""
    size = np.array([len(payload)], dtype=np.int64)
    _run(g.comm.Ibcast(size, root=src), "broadcast_object_list", False)
    data = np.empty(int(size[0]), dtype=np.uint8)
    if g.rank == src:
        data[:] = np.frombuffer(payload, dtype=np.uint8)
    _run(g.comm.Ibcast(data, root=src), "broadcast_object_list", False)
    values = json.loads(data.tobytes())
    if len(values) != len(object_list):
        raise ValueError(
            f"broadcast_object_list: rank {src} sent {len(values)} objects, this rank's "
            f"list has {len(object_list)} entries"
        )
    object_list[:] = values


def _check_rank(r: int, g, name: str, what: str) -> None:
    if not 0 <= r < g.size:
        raise ValueError(f"{name}: {what}={r} is not a rank of this group (0 .. {g.size - 1})")
