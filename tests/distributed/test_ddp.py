"""DistributedDataParallel on 2 and 3 MPI processes equals one process training on the
union of the ranks' batches: an MLP, an LSTM and a CNN whose BatchNorm becomes SyncBatchNorm, 10
steps of SGD with momentum and of Adam (parameters and running statistics to 1e-12 in
float64, 1e-5 in float32); differently seeded ranks start equal; ``no_sync``
accumulation equals one large batch; the state dict carries torch's ``module.`` keys."""

from __future__ import annotations

import re

import pytest

from tests.distributed.launch import run


@pytest.mark.parametrize(("nproc", "dtype"), [(2, "float64"), (3, "float64"), (3, "float32")])
def test_ddp_equals_one_process_on_the_union_of_the_batches(nproc, dtype):
    code, out, err, _ = run(nproc, "ddp.py", dtype, timeout=120)
    assert code == 0, f"exit {code}\n{out}\n{err}"
    assert sorted(re.findall(r"rank \d+ ok", out)) == [f"rank {r} ok" for r in range(nproc)], out
