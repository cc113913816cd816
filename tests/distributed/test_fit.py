"""``axon.fit`` and ``axon.evaluate`` under a process group of 2 and 3 MPI processes: the
weights after fit equal one process training on the union of the ranks' batches (float64,
1e-12), the History is the all-rank example-weighted mean and the same on every rank,
early stopping and a stop asked on one rank stop every rank at the same update, the NaN
guard stops every rank alike, uneven data sizes follow the DistributedSampler's padding,
only rank 0 writes files and progress, and no DDP hook is left on the model."""

from __future__ import annotations

import re

import pytest

from tests.distributed.launch import run


@pytest.mark.parametrize("nproc", [pytest.param(2, marks=pytest.mark.slow), 3])  # 3: uneven shards
def test_fit_under_a_process_group_equals_one_process_on_the_union(nproc, tmp_path):
    code, out, err, _ = run(nproc, "fit.py", str(tmp_path), timeout=120)
    assert code == 0, f"exit {code}\n{out}\n{err}"
    assert sorted(re.findall(r"rank \d+ ok", out)) == [f"rank {r} ok" for r in range(nproc)], out
    # verbose=2 in one fit of 3 epochs: one line per epoch, from rank 0 alone
    assert re.findall(r"^Epoch (\d)/3 - loss: ", out, re.M) == ["1", "2", "3"], out
