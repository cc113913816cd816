"""Every collective on every rank against the value NumPy computes from all ranks' inputs
(each rank knows them: they are a function of the rank). Prints ``rank R ok``."""

import numpy as np

import axon as ax
import axon.distributed as dist
from axon.data import DistributedSampler

dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()


def value(r, dtype):
    """Rank r's input: distinct per rank, exact in every dtype (small integers)."""
    return (np.arange(6).reshape(2, 3) * (r + 1) + r - 2).astype(dtype)


every = lambda dtype: [value(r, dtype) for r in range(size)]  # noqa: E731
REF = {
    dist.ReduceOp.SUM: lambda xs: np.sum(xs, axis=0),
    dist.ReduceOp.PRODUCT: lambda xs: np.prod(xs, axis=0),
    dist.ReduceOp.MIN: lambda xs: np.min(xs, axis=0),
    dist.ReduceOp.MAX: lambda xs: np.max(xs, axis=0),
    dist.ReduceOp.AVG: lambda xs: np.sum(xs, axis=0) / len(xs),
    dist.ReduceOp.BAND: lambda xs: np.bitwise_and.reduce(xs, axis=0),
    dist.ReduceOp.BOR: lambda xs: np.bitwise_or.reduce(xs, axis=0),
    dist.ReduceOp.BXOR: lambda xs: np.bitwise_xor.reduce(xs, axis=0),
}


def same(got, want, what):
    got = np.asarray(got)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, want {want.dtype}"
    assert np.array_equal(got, want), f"{what}: got\n{got}\nwant\n{want}"


for dtype in (np.float32, np.float64, np.int32, np.int64):
    for op, ref in REF.items():
        if op is dist.ReduceOp.AVG and dtype in (np.int32, np.int64):
            continue
        if op.name.startswith("B") and dtype in (np.float32, np.float64):
            continue
        t = ax.tensor(value(rank, dtype))
        assert dist.all_reduce(t, op=op) is None
        same(t.numpy(), ref(every(dtype)).astype(dtype), f"all_reduce {op.name} {dtype.__name__}")
        for dst in range(size):
            t = ax.tensor(value(rank, dtype))
            dist.reduce(t, dst=dst, op=op)
            want = ref(every(dtype)).astype(dtype) if rank == dst else value(rank, dtype)
            same(t.numpy(), want, f"reduce {op.name} {dtype.__name__} to {dst}")
    for src in range(size):
        t = ax.tensor(value(rank, dtype))
        dist.broadcast(t, src=src)
        same(t.numpy(), value(src, dtype), f"broadcast {dtype.__name__} from {src}")
    out = [ax.zeros(2, 3, dtype=ax.tensor(value(0, dtype)).dtype) for _ in range(size)]
    dist.all_gather(out, ax.tensor(value(rank, dtype)))
    for r in range(size):
        same(out[r].numpy(), value(r, dtype), f"all_gather {dtype.__name__} part {r}")

# a non-contiguous tensor is reduced through a copy and written back in place
base = ax.tensor(value(rank, np.float64).T.copy())  # (3, 2)
view = base.t()  # (2, 3), not C-contiguous
dist.all_reduce(view)
same(base.numpy().T, np.sum(every(np.float64), axis=0), "all_reduce of a transposed view")

# async_op: a Work to wait for
t = ax.tensor(value(rank, np.float64))
work = dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True)
assert work.wait() is True and work.is_completed()
same(t.numpy(), np.max(every(np.float64), axis=0), "async all_reduce")

# objects travel as JSON
gathered = [None] * size
dist.all_gather_object(gathered, {"rank": rank, "name": f"r{rank}", "xs": [rank] * rank})
assert gathered == [{"rank": r, "name": f"r{r}", "xs": [r] * r} for r in range(size)], gathered
for src in range(size):
    objs = [rank, f"from {rank}", None] if rank == src else [None, None, None]
    dist.broadcast_object_list(objs, src=src)
    assert objs == [src, f"from {src}", None], objs
try:
    dist.all_gather_object([None] * size, object())
except TypeError as err:
    assert "JSON" in str(err) and "never pickles" in str(err), err
else:
    raise AssertionError("an object that is not JSON-able was sent")

# DistributedSampler takes the group's world size and rank; the shares cover the data
sampler = DistributedSampler(list(range(10)), shuffle=False)
assert (sampler.num_replicas, sampler.rank) == (size, rank)
shares = [None] * size
dist.all_gather_object(shares, list(sampler))
assert shares == [[(r + size * k) % 10 for k in range(-(-10 // size))] for r in range(size)]

dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {rank} ok", flush=True)
