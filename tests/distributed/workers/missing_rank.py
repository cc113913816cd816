"""Rank 0 calls all_reduce; rank 1 never does (it sleeps). With a 2-second timeout the
job must abort with a message naming the collective."""

import datetime
import time

import axon as ax
import axon.distributed as dist

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2))
if dist.get_rank() == 0:
    dist.all_reduce(ax.ones(3))
time.sleep(60)
