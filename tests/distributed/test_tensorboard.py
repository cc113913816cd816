"""``callbacks.TensorBoard`` in ``fit`` on 2 MPI ranks: only rank 0 writes event files, and
what it writes is the History every rank agrees on."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.distributed.launch import run
from tests.utils.events import read_run, scalars


@pytest.mark.slow
def test_only_rank_zero_writes_the_events(tmp_path):
    code, out, err, _ = run(2, "tensorboard.py", str(tmp_path), timeout=120)
    assert code == 0, f"exit {code}\n{out}\n{err}"
    pids = dict(re.findall(r"^rank (\d) pid (\d+) ok$", out, re.M))
    assert sorted(pids) == ["0", "1"], out
    files = sorted(p.name for p in tmp_path.rglob("events.out.tfevents.*"))
    assert len(files) == 2, files  # train and validation
    # the event files are named <time>.<host>.<pid>.<n>.<run id>: rank 0's pid only
    assert {name.split(".")[-3] for name in files} == {pids["0"]}, (files, pids)
    loss = [float(v) for v in re.search(r"^loss (.+)$", out, re.M).group(1).split()]
    train = read_run(tmp_path / "train")
    assert scalars(train, "epoch_loss") == ([0, 1], list(np.float32(loss)))
    assert [h.step for h in train.Histograms("0.weight/gradient")] == [0, 1]
