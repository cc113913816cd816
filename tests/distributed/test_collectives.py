"""axon.distributed on real MPI processes (2 and 3 ranks on this machine): every
collective against NumPy's result, a failing rank and a missing rank end the job within
seconds, and one process runs without a launcher. Each run has a hard timeout."""

from __future__ import annotations

import re

import pytest

from tests.distributed.launch import require_mpi, run


@pytest.mark.parametrize("nproc", [2, 3])
def test_collectives_match_numpy_on_every_rank(nproc):
    code, out, err, _ = run(nproc, "collectives.py", timeout=120)
    assert code == 0, f"exit {code}\n{out}\n{err}"
    # the ranks' lines may interleave on the launcher's stdout
    assert sorted(re.findall(r"rank \d+ ok", out)) == [f"rank {r} ok" for r in range(nproc)], out


def test_a_rank_that_raises_ends_the_job_with_its_error():
    code, out, err, seconds = run(2, "failing_rank.py", timeout=60)
    assert code != 0
    assert "rank 1 of 2: uncaught ValueError" in err and "boom from rank 1" in err, err
    assert seconds < 30, f"the job took {seconds:.0f} s to end"  # the others sleep 60 s


def test_a_collective_past_its_timeout_aborts_naming_it_and_the_missing_rank():
    code, out, err, seconds = run(3, "missing_rank.py", timeout=60)
    assert code != 0
    assert re.search(
        r"rank [02] of 3: all_reduce \(collective call 2 of this rank\) waited more than 1 s"
        r" for the other ranks: rank 1 \(at call 1\) has not reached it",
        err,
    ), err
    assert seconds < 30, f"the job took {seconds:.0f} s to end"


def test_one_process_without_a_launcher():
    require_mpi()
    code, out, err, _ = run(None, "single.py", timeout=60)
    assert code == 0 and out.strip() == "single ok", f"{out}\n{err}"


def test_without_a_group_the_calls_raise_torchs_error():
    import axon as ax
    import axon.distributed as dist

    assert dist.is_available() and not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_world_size()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.all_reduce(ax.ones(2))


def test_ranks_share_the_cores_unless_the_user_chose():
    code, out, err, _ = run(2, "threads.py", timeout=60, threads=False)
    assert code == 0, err
    found = re.findall(r"rank (\d) threads (\d+) cores (\d+) of (\d+)", out)
    assert len(found) == 2, out
    for _, threads, cores, machine in found:
        # a rank bound to some cores keeps them; one free to run anywhere takes half
        share = int(cores) if int(cores) < int(machine) else int(machine) // 2
        assert int(threads) == max(1, share), out
    code, out, err, _ = run(2, "threads.py", timeout=60)  # OMP/OPENBLAS_NUM_THREADS=1
    assert code == 0, err
    assert re.findall(r"threads (\d+)", out) == ["1", "1"], out
