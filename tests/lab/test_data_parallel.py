"""``axon run data-parallel --quick --nproc 2`` end to end, on tiny fake MNIST files
(those of test_vision_experiments.py): the job exits 0, the printed claims say that the
weights of 2 processes and of one process on the union of their batches agree, only rank
0 prints, and only rank 0's figure is in --out. Also the experiment's parts that need no
MPI: the batches over epochs and the steps it keeps the weights at."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from axon.data import MNIST, TensorDataset
from axon.distributed import launch
from axon.lab import Config
from axon.lab import data_parallel as dp
from tests.distributed.launch import require_mpi, run_command
from tests.lab.test_vision_experiments import data_root  # noqa: F401 (a fixture)

WRAPPER = Path(__file__).parent / "fake_mnist_axon.py"
PNG = b"\x89PNG\r\n\x1a\n"


def _job(cmd: list[str], tables, tmp_path, timeout: float, **env_vars):
    """Run ``cmd`` (the axon command on the fake MNIST files) with a hard timeout; its
    process group is killed when the timeout runs out. Returns (status, stdout, stderr)."""
    files = tmp_path / "mnist_files.json"
    files.write_text(json.dumps(tables[MNIST]))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in launch.MPI_JOB_VARIABLES and k != "AXON_DATA_DIR"
    }
    env.update(AXON_TEST_MNIST_FILES=str(files), **env_vars)
    code, printed, err, _ = run_command(cmd, env, timeout, " ".join(cmd))
    return code, printed, err


def test_data_parallel_on_two_processes_through_the_cli(data_root, tmp_path):  # noqa: F811
    require_mpi()
    root, tables = data_root
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    cmd = [sys.executable, str(WRAPPER), "run", "data-parallel", "--quick", "--nproc", "2"]
    cmd += ["--out", str(out), "--data-dir", str(root)]
    code, printed, err = _job(cmd, tables, tmp_path, 240, TMPDIR=str(scratch))
    assert code == 0, f"{printed}\n{err}"
    assert "on 2 MPI processes: rank 0 reports, rank 1 works silently" in printed
    assert printed.count("Claims\n") == 1 and printed.count("MNIST from") == 1  # rank 0 only
    assert "data-parallel: all claims hold" in printed
    for dtype, steps, tolerance in (("float32", 10, 1e-4), ("float64", 4, 1e-10)):
        claim = re.search(
            rf"\[PASS\] {dtype}: after {steps} steps the weights on 2 processes equal one "
            r"process's on the union of the batches \(relative difference (\S+) <",
            printed,
        )
        assert claim, printed
        assert 0 <= float(claim.group(1)) < tolerance  # NaN fails here
    assert "every rank starts from rank 0's weights" in printed
    assert re.search(r"speed-up \d+\.\d\dx; scaling efficiency \d+%", printed)
    assert sorted(p.name for p in out.glob("*.png")) == ["data_parallel.png"]  # rank 0's
    assert (out / "data_parallel.png").read_bytes()[:8] == PNG
    assert not list(scratch.glob("axon-data-parallel-rank*"))  # rank 1's folder is gone


def test_without_a_process_group_it_says_how_to_start_it(tmp_path):
    with pytest.raises(RuntimeError, match=r"axon run data-parallel --nproc 2"):
        dp.run(Config(out=tmp_path, quick=True))


def test_the_ranks_batches_cover_each_epoch_once_and_reshuffle():
    data = TensorDataset(np.arange(20), np.zeros(20, dtype=np.int64))
    loaders = [dp.rank_loader(data, 5, 2, r, seed=3) for r in range(2)]
    seen = [[x.numpy().tolist() for x, _ in dp.batches(*loader, 4)] for loader in loaders]
    assert [len(s) for s in seen] == [4, 4]  # 2 batches an epoch each, over two epochs
    for epoch in (0, 1):
        union = sorted(i for s in seen for b in s[2 * epoch : 2 * epoch + 2] for i in b)
        assert union == list(range(20))
    assert seen[0][:2] != seen[0][2:]  # set_epoch: another order in the second epoch


def test_the_weights_are_kept_at_the_first_the_claimed_and_the_last_step():
    assert dp.snapshot_steps(10) == list(range(1, 11))
    steps = dp.snapshot_steps(300)
    assert steps[0] == 1 and steps[-1] == 300 and dp.CLAIM_STEPS in steps
    assert steps == sorted({1, *range(10, 301, 10)})


def test_a_rank_without_its_data_ends_the_job_at_once(data_root, tmp_path):  # noqa: F811
    """``mpiexec`` with two programs: rank 0 has the data (and goes on to wait in fit's
    first collective), rank 1's data folder is empty. Rank 1's one-line error ends the
    whole job with status 2 within seconds, not after the collective's 5-minute timeout."""
    root, tables = data_root
    empty = tmp_path / "empty"
    empty.mkdir()
    rank = [sys.executable, str(WRAPPER), "run", "mnist-mlp", "--quick", "--out"]
    cmd = [require_mpi(), "-n", "1", *rank, str(tmp_path / "out0"), "--data-dir", str(root)]
    cmd += [":", "-n", "1", *rank, str(tmp_path / "out1"), "--data-dir", str(empty)]
    root_ok = dict(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    code, printed, err = _job(cmd, tables, tmp_path, 60, **root_ok)
    assert code == 2, f"{printed}\n{err}"
    assert "rank 1 of 2: axon: error:" in err and "train-images-idx3-ubyte" in err, err
