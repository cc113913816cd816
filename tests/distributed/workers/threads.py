"""Prints ``rank R threads T cores C``: the threads axon gave this rank out of the cores
it may run on."""

import os

import axon as ax
import axon.distributed as dist

dist.init_process_group("mpi")
cores = len(os.sched_getaffinity(0))
print(
    f"rank {dist.get_rank()} threads {ax.get_num_threads()} cores {cores} of {os.cpu_count()}",
    flush=True,
)
