"""One process without a launcher: MPI's singleton; rank 0 of 1, collectives are the
identity; the argument checks raise torch's errors."""

import axon as ax
import axon.distributed as dist

for bad in (lambda: dist.get_rank(), lambda: dist.barrier()):
    try:
        bad()
    except ValueError as err:
        assert "init_process_group" in str(err)
    else:
        raise AssertionError("a collective ran without a process group")
try:
    dist.init_process_group("nccl")
except ValueError as err:
    assert "'mpi'" in str(err)
dist.init_process_group("mpi")
assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
try:
    dist.init_process_group("mpi")
except ValueError as err:
    assert "twice" in str(err)
t = ax.tensor([1.0, 2.0])
dist.all_reduce(t, op=dist.ReduceOp.AVG)
assert t.tolist() == [1.0, 2.0]
try:
    dist.broadcast(t, src=1)
except ValueError as err:
    assert "src=1" in str(err)
dist.destroy_process_group()
print("single ok")
