"""DistributedDataParallel on 2 and 3 MPI processes equals one process training on the
union of the ranks' batches: an MLP, an LSTM and a CNN whose BatchNorm becomes SyncBatchNorm, 10
steps of SGD with momentum and of Adam (parameters and running statistics to 1e-12 in
float64, 1e-5 in float32); differently seeded ranks start equal; ``no_sync``
accumulation equals one large batch; the state dict carries torch's ``module.`` keys."""

from __future__ import annotations

import re

import pytest

from tests.distributed.launch import run


@pytest.mark.parametrize(
    ("nproc", "dtype"),
    [(2, "float64"), pytest.param(3, "float64", marks=pytest.mark.slow), (3, "float32")],
)  # by default 2 and 3 ranks, float64 and float32; every pair with --runslow
def test_ddp_equals_one_process_on_the_union_of_the_batches(nproc, dtype):
    code, out, err, _ = run(nproc, "ddp.py", dtype, timeout=120)
    assert code == 0, f"exit {code}\n{out}\n{err}"
    assert sorted(re.findall(r"rank \d+ ok", out)) == [f"rank {r} ok" for r in range(nproc)], out


def test_buckets_follow_torchs_caps_and_dtypes():
    """Reverse-order parameters cut into buckets: the first at most 1 MiB (torch's
    first-bucket cap), the others at most bucket_cap_mb, one dtype each, a parameter
    over the cap alone."""
    import axon as ax
    from axon.nn.parallel import _buckets

    mib = 2**20
    sizes = [(mib // 8, "float32"), (mib // 8, "float32"), (mib // 4, "float32")]  # 0.5, 0.5, 1
    sizes += [(mib // 16, "float64"), (3 * mib, "float32"), (10, "float32"), (10, "float32")]
    params = [ax.zeros(n, dtype=getattr(ax, dt)) for n, dt in sizes]
    got = _buckets(params, 4 * mib, mib)
    as_index = [[next(i for i, p in enumerate(params) if p is q) for q in b] for b in got]
    assert as_index == [[0, 1], [2], [3], [4], [5, 6]]
    assert [len(b) for b in _buckets(params, 64 * mib)] == [3, 1, 3]  # no first cap: dtypes cut
