"""Tests for ``axon/data/_worker.py``: DataLoader(num_workers > 0) in real processes.

Every test runs under a watchdog (``signal.alarm``): a hang fails the test instead of the
run. What must hold: the batches of ``num_workers=2`` are those of ``num_workers=0`` for a
deterministic dataset (whatever the order the workers finish in); random augmentation in
the workers is reproducible for a seed and a worker count, and differs between workers;
errors, dead workers and timeouts reach the main process.
"""

import os
import random
import signal
import time

import numpy as np
import pytest
import torch.utils.data as tud

import axon
from axon.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    TensorDataset,
    _transport,
    get_worker_info,
)
from tests.helpers import assert_close, assert_differs

WATCHDOG_S = 30


class Hung(Exception):
    pass


@pytest.fixture(autouse=True)
def watchdog():
    def on_alarm(signum, frame):
        raise Hung(f"the test ran over {WATCHDOG_S} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(WATCHDOG_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


class Slowish(Dataset):
    """Sample i: an image of value i and label i; odd samples take longer, so workers
    finish out of turn."""

    def __init__(self, n=40):
        self.n = n

    def __getitem__(self, i):
        if i % 2:
            time.sleep(0.002)
        return np.full((1, 4, 4), i, dtype=np.float32), i

    def __len__(self):
        return self.n


class Augmented(Dataset):
    """A random crop of a fixed image, drawn from axon's global generator (seeded per worker)."""

    def __init__(self, n=24):
        self.images = np.arange(n * 64, dtype=np.float32).reshape(n, 8, 8)

    def __getitem__(self, i):
        top, left = axon.randint(0, 3, (2,)).tolist()
        return self.images[i, top : top + 6, left : left + 6].copy(), i

    def __len__(self):
        return len(self.images)


def _batches(loader):
    return [(x.array.copy(), y.tolist()) for x, y in loader]


def _assert_same_batches(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert ya == yb
        assert_close(xa, xb, rtol=0, atol=0)


def test_two_workers_give_the_batches_of_none():
    for shuffle_kw in ({}, {"shuffle": True}):
        axon.manual_seed(3)
        inline = _batches(DataLoader(Slowish(), batch_size=5, **shuffle_kw))
        axon.manual_seed(3)
        loader = DataLoader(Slowish(), batch_size=5, num_workers=2, **shuffle_kw)
        _assert_same_batches(_batches(loader), inline)
        assert len(loader) == 8


def test_workers_follow_a_generator_and_the_fast_path():
    ds = TensorDataset(np.arange(50.0).reshape(25, 2), np.arange(25))
    runs = []
    for workers in (0, 2, 2):
        gen = axon.Generator().manual_seed(11)
        loader = DataLoader(
            ds,
            batch_size=4,
            shuffle=True,
            num_workers=workers,
            generator=gen,
            drop_last=True,
            prefetch_factor=workers or None,
        )
        runs.append(_batches(loader))
    _assert_same_batches(runs[1], runs[0])
    _assert_same_batches(runs[2], runs[0])
    assert len(runs[0]) == 6


class WhoAmI(Dataset):
    """Each sample reports the worker reading it and that worker's random draws."""

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "id": info.id,
            "seed": info.seed,
            "n": info.num_workers,
            "axon": float(axon.rand(1).item()),
            "py": random.random(),
            "np": float(np.random.random()),
            "init": _init_mark,
            "pid": os.getpid(),
            "same_dataset": info.dataset is self,
        }

    def __len__(self):
        return 8


_init_mark = -1


def _mark_init(worker_id):
    global _init_mark
    _init_mark = 100 + worker_id


def _who(seed, **kwargs):
    axon.manual_seed(seed)
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=_mark_init, **kwargs)
    return [
        {k: v.tolist() if isinstance(v, axon.Tensor) else v for k, v in b.items()} for b in loader
    ]


def test_workers_are_seeded_as_torch_and_run_worker_init_fn():
    batches = _who(0)
    # batches go round-robin: worker 0 reads batches 0 and 2, worker 1 batches 1 and 3
    assert [b["id"] for b in batches] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    assert all(b["n"] == [2, 2] and b["same_dataset"] == [True, True] for b in batches)
    assert [b["init"][0] for b in batches] == [100, 101, 100, 101]
    base = batches[0]["seed"][0]
    assert batches[1]["seed"][0] == base + 1  # worker seed = base seed + worker id
    axon.manual_seed(0)
    from axon.data.sampler import draw_base_seed

    assert base == draw_base_seed()  # manual_seed restarts the base seeds' stream
    for key in ("axon", "py", "np"):  # each worker's streams start from its seed...
        assert batches[0][key] != batches[1][key]
    axon.manual_seed(base)  # worker 0's global generator was seeded with its seed
    assert batches[0]["axon"][0] == axon.rand(1).item()
    assert batches[1]["py"][0] == random.Random(base + 1).random()
    again = _who(0)  # ...so a run is reproducible, and another seed changes it
    assert [b["axon"] for b in again] == [b["axon"] for b in batches]
    assert [b["axon"] for b in _who(1)] != [b["axon"] for b in batches]
    assert get_worker_info() is None  # in the main process


def test_seeded_augmentation_in_workers_is_reproducible():
    def run(seed, workers):
        axon.manual_seed(seed)
        return _batches(DataLoader(Augmented(), batch_size=4, shuffle=True, num_workers=workers))

    a, b = run(5, 2), run(5, 2)
    _assert_same_batches(a, b)
    c = run(6, 2)
    assert_differs(np.concatenate([x for x, _ in a]), np.concatenate([x for x, _ in c]))
    inline = run(5, 0)
    assert [y for _, y in inline] == [y for _, y in a]  # same order, other crops


class Failing(Dataset):
    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"sample {i} is broken")
        return i

    def __len__(self):
        return 10


def test_worker_errors_are_raised_with_the_worker_traceback():
    with pytest.raises(ValueError) as err:
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    text = str(err.value)
    assert "in DataLoader worker process 0" in text
    assert "sample 5 is broken" in text and "__getitem__" in text and "Traceback" in text


def _bad_init(worker_id):
    raise KeyError(f"no config for worker {worker_id}")


def test_worker_init_fn_errors_and_unpicklable_batches_are_raised():
    with pytest.raises(KeyError, match="no config for worker"):
        list(DataLoader(Failing(), batch_size=2, num_workers=2, worker_init_fn=_bad_init))
    loader = DataLoader(
        Slowish(4), batch_size=2, num_workers=1, collate_fn=lambda samples: lambda: samples
    )
    with pytest.raises(Exception, match="in DataLoader worker process 0"):
        list(loader)


class Killer(Dataset):
    def __getitem__(self, i):
        if i == 6:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

    def __len__(self):
        return 12


def test_a_killed_worker_is_a_runtime_error_not_a_hang():
    with pytest.raises(
        RuntimeError,
        match=r"DataLoader worker \(pid\(s\) \d+\) exited "
        r"unexpectedly",
    ):
        list(DataLoader(Killer(), batch_size=2, num_workers=2))


class Sleepy(Dataset):
    def __getitem__(self, i):
        time.sleep(5 if i == 2 else 0)
        return i

    def __len__(self):
        return 4


def test_timeout_raises():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(DataLoader(Sleepy(), batch_size=1, num_workers=1, timeout=0.5))
    assert time.monotonic() - start < 4


class Pids(Dataset):
    def __getitem__(self, i):
        return os.getpid(), i

    def __len__(self):
        return 12


def test_persistent_workers_live_across_epochs():
    loader = DataLoader(Pids(), batch_size=3, num_workers=2, shuffle=True, persistent_workers=True)
    epochs = [[(p.tolist(), y.tolist()) for p, y in loader] for _ in range(3)]
    pids = [{p for batch, _ in epoch for p in batch} for epoch in epochs]
    assert pids[0] == pids[1] == pids[2] and len(pids[0]) == 2
    orders = [sum((y for _, y in epoch), []) for epoch in epochs]
    assert all(sorted(o) == list(range(12)) for o in orders)
    assert orders[0] != orders[1]
    it = iter(loader)
    next(it)  # stop mid-epoch: the next epoch starts clean
    assert sorted(sum(([*y.tolist()] for _, y in loader), [])) == list(range(12))
    workers = loader._iterator._workers
    loader._iterator._shutdown()
    assert not any(w.is_alive() for w in workers)


def test_workers_stop_when_the_iterator_goes():
    it = iter(DataLoader(Pids(), batch_size=2, num_workers=2))
    next(it)
    workers = it._workers
    assert max(it._in_flight) <= 2  # prefetch_factor batches in flight per worker
    del it
    deadline = time.monotonic() + 5
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(w.is_alive() for w in workers)


class Shards(IterableDataset):
    """Worker k of n reads k, k + n, k + 2n, ... (so no sample is read twice)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        k, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(k, self.n, step))


class TorchShards(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = tud.get_worker_info()
        k, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(k, self.n, step))


def test_iterable_dataset_in_workers_matches_torch():
    ours = [b.tolist() for b in DataLoader(Shards(11), batch_size=3, num_workers=2)]
    theirs = [b.tolist() for b in tud.DataLoader(TorchShards(11), batch_size=3, num_workers=2)]
    assert ours == theirs
    assert sorted(sum(ours, [])) == list(range(11))


class MatmulInWorker(Dataset):
    def __getitem__(self, i):
        a = np.random.default_rng(i).standard_normal((200, 200))
        return float((a @ a.T).trace())

    def __len__(self):
        return 4


def test_blas_in_forked_workers_does_not_deadlock():
    a = np.ones((300, 300))
    _ = a @ a  # the parent's BLAS has run (and may hold threads) before the fork
    out = sum((b.tolist() for b in DataLoader(MatmulInWorker(), batch_size=2, num_workers=2)), [])
    expected = [MatmulInWorker()[i] for i in range(4)]
    assert_close(out, expected, rtol=1e-12, atol=0)


@pytest.mark.slow
def test_spawn_context_gives_the_same_batches():
    axon.manual_seed(2)
    inline = _batches(DataLoader(Slowish(12), batch_size=4, shuffle=True))
    axon.manual_seed(2)
    spawned = _batches(
        DataLoader(
            Slowish(12), batch_size=4, shuffle=True, num_workers=2, multiprocessing_context="spawn"
        )
    )
    _assert_same_batches(spawned, inline)


class Big(Dataset):
    """Samples of 512 KB: a batch of 4 is 2 MB, sent through shared memory."""

    def __getitem__(self, i):
        return np.full((256, 512), i, dtype=np.float32), {"i": i}

    def __len__(self):
        return 10


def _shm_files():
    return set(os.listdir(_transport.SHM_DIR)) if os.path.isdir(_transport.SHM_DIR) else set()


def test_transport_packs_large_batches_into_shared_memory():
    small = [np.arange(6.0).reshape(2, 3), "label", 3]
    message = _transport.pack(small, "axon-test")
    assert message[0] == "pipe"
    back = _transport.unpack(message)
    assert_close(back[0], small[0], rtol=0, atol=0) and back[1:] == ["label", 3]
    big = {"x": np.arange(1 << 19, dtype=np.float32).reshape(512, 1024), "y": np.arange(3)}
    message = _transport.pack(big, "axon-test")
    if not os.path.isdir(_transport.SHM_DIR):
        pytest.skip("no /dev/shm")
    assert message[0] == "shm" and os.path.exists(message[2])
    back = _transport.unpack(message)
    assert not os.path.exists(message[2])  # the name goes at once; the mapping lives on
    assert_close(back["x"], big["x"], rtol=0, atol=0)
    assert back["y"].tolist() == [0, 1, 2]
    back["x"][0, 0] = -1.0  # batches are writable, as from the pipe
    assert back["x"][0, 0] == -1.0


def test_large_batches_from_workers_match_and_leave_no_files():
    before = _shm_files()
    inline = [x.array.copy() for x, _ in DataLoader(Big(), batch_size=4)]
    loader = DataLoader(Big(), batch_size=4, num_workers=2)
    got = [(x, d["i"].tolist()) for x, d in loader]
    assert [i for _, i in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    for (x, _), ref in zip(got, inline, strict=True):
        assert_close(x, ref, rtol=0, atol=0)
    it = iter(loader)
    next(it)  # batches still in flight when the iterator goes are cleaned up
    it._shutdown()
    assert _shm_files() <= before


def test_persistent_workers_drop_the_files_of_an_epoch_cut_short():
    before = _shm_files()
    loader = DataLoader(Big(), batch_size=4, num_workers=2, persistent_workers=True)
    next(iter(loader))  # the other batches of this epoch are dropped by the next one
    assert [d["i"].tolist() for _, d in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert _shm_files() <= before  # while the workers still live
    loader._iterator._shutdown()
