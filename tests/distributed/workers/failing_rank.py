"""Rank 1 raises after init; the others wait in a barrier. The job must end, non-zero,
with rank 1's error printed."""

import sys
import time

import axon.distributed as dist

timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
import datetime  # noqa: E402

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=timeout))
if dist.get_rank() == 1:
    raise ValueError("boom from rank 1")
dist.barrier()
time.sleep(60)
