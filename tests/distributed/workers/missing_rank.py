"""Ranks 0 and 2 call all_reduce; rank 1 never does (it sleeps, making no MPI call). With
a 2-second timeout the job must abort with a message naming the collective and rank 1."""

import datetime
import time

import axon as ax
import axon.distributed as dist

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1))
dist.barrier()  # every rank has entered one collective
if dist.get_rank() != 1:
    dist.all_reduce(ax.ones(3))
time.sleep(60)
