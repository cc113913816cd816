"""Tests for ``DataLoader.state_dict()`` / ``load_state_dict()``: a loader resumed from a
saved position (through ``axon.save``/``axon.load``, in a new loader after re-seeding, or
in a fresh process) yields, bit for bit, the batches the original would have yielded.

The oracle is the original loader itself: it goes on after the save and its batches are
the expected ones. Between batches the tests draw from axon's global generator, as a
training step does (dropout), so that a sampler or a transform drawing from it sees the
global stream move between its draws. Worker tests run under a watchdog.
"""

import gc
import hashlib
import random
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import axon as ax
from axon.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    get_worker_info,
)
from axon.data.distributed import DistributedSampler
from axon.data.sampler import base_seed_stream
from tests.helpers import assert_differs, assert_equal

WATCHDOG_S = 60


@pytest.fixture(autouse=True)
def watchdog():
    def on_alarm(signum, frame):
        raise TimeoutError(f"the test ran over {WATCHDOG_S} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(WATCHDOG_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


class Noisy(Dataset):
    """Sample i: ``i`` plus noise drawn from axon's global generator (an augmentation),
    and the label i."""

    def __len__(self):
        return 23

    def __getitem__(self, i):
        return np.float32(i) + ax.rand(2).array, i


class WorkerNoisy(Noisy):
    """Noise from every stream a worker seeds: axon's, Python's and NumPy's legacy one
    (only in workers: in the main process those two are not the loader's to restore)."""

    def __getitem__(self, i):
        extra = np.float32(random.random() + np.random.random())
        return np.float32(i) + ax.rand(2).array + extra, i


class Shards(IterableDataset):
    """A stream shared out between workers by ``get_worker_info``, with noise from the
    worker's axon and Python streams."""

    def __len__(self):
        return 30

    def __iter__(self):
        info = get_worker_info()
        for i in range(info.id, 30, info.num_workers):
            yield np.float32(i) + ax.rand(1).array + np.float32(random.random())


class LazyGlobalSampler:
    """A custom sampler (any iterable) drawing each index from the global generator as it
    is asked for: its draws interleave with the augmentation's and the training's."""

    def __len__(self):
        return 23

    def __iter__(self):
        for _ in range(23):
            yield int(ax.randint(0, 23, (1,)).item())


class EagerBatches:
    """A custom batch sampler that draws its whole order when ``iter`` is called."""

    def __len__(self):
        return 6

    def __iter__(self):
        order = ax.randperm(23).tolist()
        return iter([order[i : i + 4] for i in range(0, 23, 4)])


class Stream(IterableDataset):
    """A stream whose start is drawn from the global generator in ``__iter__``."""

    def __len__(self):
        return 17

    def __iter__(self):
        start = int(ax.randint(0, 1000, (1,)).item())
        return iter(np.arange(start, start + 17, dtype=np.float32))


LOADERS = {
    "shuffle": lambda: DataLoader(Noisy(), batch_size=4, shuffle=True),
    "sequential_drop_last": lambda: DataLoader(Noisy(), batch_size=4, drop_last=True),
    "shuffle_drop_last": lambda: DataLoader(Noisy(), batch_size=4, shuffle=True, drop_last=True),
    "custom_lazy_sampler": lambda: DataLoader(Noisy(), batch_size=3, sampler=LazyGlobalSampler()),
    "replacement_in_chunks": lambda: DataLoader(
        Noisy(), batch_size=5, sampler=RandomSampler(range(23), replacement=True, num_samples=70)
    ),
    "weighted_own_generator": lambda: DataLoader(
        Noisy(),
        batch_size=4,
        sampler=WeightedRandomSampler(
            np.arange(1.0, 24.0), 30, generator=ax.Generator().manual_seed(3)
        ),
    ),
    "int_generator": lambda: DataLoader(Noisy(), batch_size=4, shuffle=True, generator=5),
    "custom_eager_batch_sampler": lambda: DataLoader(Noisy(), batch_sampler=EagerBatches()),
    "no_batching": lambda: DataLoader(Noisy(), batch_size=None, shuffle=True),
    "tensor_dataset": lambda: DataLoader(
        TensorDataset(np.arange(46.0).reshape(23, 2), np.arange(23)), batch_size=4, shuffle=True
    ),
    "iterable_dataset": lambda: DataLoader(Stream(), batch_size=4),
}


def _arrays(batch) -> list[np.ndarray]:
    parts = batch if isinstance(batch, list | tuple) else [batch]
    return [np.array(p.array if isinstance(p, ax.Tensor) else p) for p in parts]


def consume(it, n: int | None = None) -> list:
    """``n`` batches of ``it`` (all without ``n``), with a draw from the global generator
    after each, as a training step's dropout."""
    out = []
    while n is None or len(out) < n:
        try:
            batch = next(it)
        except StopIteration:
            break
        out.append(_arrays(batch))
        ax.rand(1)
    return out


def assert_same_batches(got: list, expected: list) -> None:
    assert len(got) == len(expected), f"{len(got)} batches, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        for a, b in zip(g, e, strict=True):
            assert_equal(a, b, msg=f"batch {i}")


def save_and_resume(tmp_path, make, k: int | None, epochs_after: int = 1):
    """Run one epoch, then ``k`` batches of the next (``None``: all of it), save the
    loader's and the global generator's states with ``axon.save``, and let the original
    go on; then re-seed, build a new loader, restore both states from the file and read
    as far. Returns (resumed batches, original batches)."""
    ax.manual_seed(0)
    loader = make()
    consume(iter(loader))
    it = iter(loader)
    consume(it, k)
    path = tmp_path / "position.safetensors"
    ax.save({"loader": loader.state_dict(), "rng": ax.get_rng_state()}, path)
    expected = [] if k is None else consume(it)
    for _ in range(epochs_after):
        expected += consume(iter(loader))

    ax.manual_seed(0)
    ax.rand(7)  # the new run's global stream is elsewhere until it is restored
    resumed = make()
    saved = ax.load(path)
    resumed.load_state_dict(saved["loader"])
    ax.set_rng_state(saved["rng"])
    got = []
    if k is not None:
        it = iter(resumed)
        # the rest of an epoch: iter() leaves the global generator as it found it
        assert_equal(ax.get_rng_state(), saved["rng"])
        got = consume(it)
    for _ in range(epochs_after):
        got += consume(iter(resumed))
    return got, expected


@pytest.mark.parametrize("k", [0, 2, None], ids=["start", "mid_epoch", "epoch_finished"])
@pytest.mark.parametrize("name", list(LOADERS))
def test_resumed_loader_gives_the_original_batches(tmp_path, name, k):
    got, expected = save_and_resume(tmp_path, LOADERS[name], k)
    assert_same_batches(got, expected)


def test_without_the_state_the_batches_differ(tmp_path):
    """The oracle has teeth: a new loader that does not load the state reads another
    order (and other noise)."""
    got, expected = save_and_resume(tmp_path, LOADERS["shuffle"], 2)
    ax.manual_seed(0)
    plain = consume(iter(LOADERS["shuffle"]()))  # batches 2 to 5 at the same places
    assert len(plain) == 6 and len(expected) == 4 + 6
    assert_differs(
        np.concatenate([b[0] for b in plain[2:]]), np.concatenate([b[0] for b in expected[:4]])
    )
    assert_same_batches(got, expected)


def test_all_batches_yielded_but_epoch_not_ended(tmp_path):
    """Saved after the last batch but before the StopIteration: the resumed iterator
    ends at once, then the next epoch is the original's."""
    got, expected = save_and_resume(tmp_path, LOADERS["shuffle"], 6, epochs_after=2)
    assert len(expected) == 12
    assert_same_batches(got, expected)


def test_distributed_sampler_epoch_is_restored(tmp_path):
    def make():
        return DataLoader(
            Noisy(),
            batch_size=3,
            sampler=DistributedSampler(Noisy(), num_replicas=2, rank=1, seed=4),
        )

    ax.manual_seed(0)
    loader = make()
    loader.sampler.set_epoch(3)
    it = iter(loader)
    consume(it, 1)
    state, rng = loader.state_dict(), ax.get_rng_state()
    expected = consume(it)
    resumed = make()  # at epoch 0, with another order
    assert resumed.sampler.state_dict() == {"epoch": 0, "seed": 4}
    resumed.load_state_dict(state)
    ax.set_rng_state(rng)
    assert_same_batches(consume(iter(resumed)), expected)
    assert resumed.sampler.epoch == 3
    with pytest.raises(ValueError, match="seed=5"):
        resumed.sampler.load_state_dict({"epoch": 1, "seed": 5})


@pytest.mark.parametrize(
    ("dataset", "persistent", "k"),
    [
        (WorkerNoisy, False, 2),
        (WorkerNoisy, True, 2),
        (WorkerNoisy, True, None),
        (Shards, False, 3),
    ],
    ids=[
        "workers_mid_epoch",
        "persistent_mid_epoch",
        "persistent_epoch_finished",
        "iterable_mid_epoch",
    ],
)
def test_resume_with_workers(tmp_path, dataset, persistent, k):
    """Each worker's random streams (axon's, Python's, NumPy's) are where they were: the
    resumed workers remake the yielded batches; persistent workers' states at the epoch's
    start (second epoch here) or end are saved. (Workers with a finished epoch: a new
    epoch from the restored base-seed stream, in the fresh-process test.)"""

    def make():
        kwargs = {} if dataset is Shards else {"shuffle": True}
        return DataLoader(
            dataset(), batch_size=4, num_workers=2, persistent_workers=persistent, **kwargs
        )

    got, expected = save_and_resume(tmp_path, make, k)
    assert_same_batches(got, expected)


def _same(a, b) -> bool:
    """Structural equality of two saved states (dicts, sequences, arrays, numbers)."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
        )
    if isinstance(a, list | tuple):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def test_state_round_trips_through_save_and_load(tmp_path):
    ax.manual_seed(0)
    loader = DataLoader(
        WorkerNoisy(), batch_size=4, shuffle=True, num_workers=2, persistent_workers=True
    )
    consume(iter(loader))
    it = iter(loader)
    consume(it, 2)
    state = loader.state_dict()
    assert state["epoch"]["yielded"] == 2 and not state["epoch"]["finished"]
    assert len(state["epoch"]["worker_states"]) == 2  # the second epoch's start
    ax.save(state, tmp_path / "s.safetensors")  # no pickle: axon.save refuses objects
    loaded = ax.load(tmp_path / "s.safetensors")
    assert _same(loaded, state)
    fresh = DataLoader(
        WorkerNoisy(), batch_size=4, shuffle=True, num_workers=2, persistent_workers=True
    )
    fresh.load_state_dict(loaded)
    assert _same(fresh.state_dict(), state)  # not yet applied: the same position
    del it


def test_base_seed_stream_is_restored_after_manual_seed():
    """A fresh run re-seeds (a new global generator, the base-seed stream restarted); the
    loaded state puts the stream where the saved run had it, at once: a validation loader
    iterated before the training loader's next epoch draws the seed the saved run's did."""

    def run(state=None):
        ax.manual_seed(2)
        train, val = DataLoader(Noisy(), batch_size=4), DataLoader(Noisy(), batch_size=8)
        if state is None:
            for _ in range(3):
                consume(iter(train))
                consume(iter(val))
            consume(iter(train))
            state = train.state_dict()
        else:
            train.load_state_dict(state)
        seeds = []
        for _ in range(2):
            consume(iter(val))
            seeds += [val._epoch.base_seed]
            consume(iter(train))
            seeds += [train._epoch.base_seed]
        return state, seeds

    state, seeds = run()
    assert len(set(seeds)) == 4
    assert run(state)[1] == seeds
    ax.manual_seed(2)
    assert run({**state, "base_seed_stream": base_seed_stream().bit_generator.state})[1] != seeds


def test_load_state_dict_refuses_another_loader():
    loader = DataLoader(Noisy(), batch_size=4, shuffle=True)
    state = loader.state_dict()
    with pytest.raises(ValueError, match="num_workers=0, this loader has num_workers=2"):
        DataLoader(Noisy(), batch_size=4, shuffle=True, num_workers=2).load_state_dict(state)
    with pytest.raises(ValueError, match="generator"):
        DataLoader(Noisy(), batch_size=4, shuffle=True, generator=1).load_state_dict(state)
    with pytest.raises(ValueError, match="expected a dict from DataLoader.state_dict"):
        loader.load_state_dict({"epoch": 3})


def test_dropped_persistent_loader_stops_its_workers_without_the_garbage_collector():
    """The persistent iterator holds its loader weakly: no reference cycle, so dropping
    the loader stops the workers at once (a cycle left them to the collector, which
    closed the queues first and waited 1 s per worker); a loader dropped while its
    iterator runs (``for x in DataLoader(...)``) still gives every batch and its length."""
    ds = TensorDataset(np.arange(10.0))
    it = iter(DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True))
    assert len(it) == 4
    assert [b[0].tolist() for b in it] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [9.0]]
    gc.disable()
    try:
        loader = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True)
        consume(iter(loader))
        workers = list(loader._iterator._workers)
        del loader
        for w in workers:
            w.join(timeout=WATCHDOG_S / 2)
            assert not w.is_alive()
    finally:
        gc.enable()


FRESH_PROCESS = textwrap.dedent("""
    import hashlib, random, sys
    import numpy as np
    import axon as ax
    from axon.data import DataLoader, Dataset

    class Noisy(Dataset):
        def __len__(self):
            return 23

        def __getitem__(self, i):
            noise = ax.rand(2).array
            if ax.data.get_worker_info() is not None:
                noise = noise + np.float32(random.random() + np.random.random())
            return np.float32(i) + noise, i

    def consume(it, n=None):
        digest = hashlib.sha256()
        count = 0
        for x, y in it:
            digest.update(x.array.tobytes() + y.array.tobytes())
            ax.rand(1)
            count += 1
            if count == n:
                break
        return digest.hexdigest()

    def main(mode, path):
        out = []
        for workers in (0, 2):
            out += run(mode, f"{path}.{workers}", workers)
        return " ".join(out)

    def run(mode, name, workers):
        ax.manual_seed(0)
        loader = DataLoader(Noisy(), batch_size=4, shuffle=True, num_workers=workers)
        if mode == "save":
            consume(iter(loader))
            it = iter(loader)
            consume(it, 3)
            ax.save({"loader": loader.state_dict(), "rng": ax.get_rng_state()}, name)
            return [consume(it), consume(iter(loader))]
        saved = ax.load(name)
        loader.load_state_dict(saved["loader"])
        ax.set_rng_state(saved["rng"])
        return [consume(iter(loader)), consume(iter(loader))]

    if __name__ == "__main__":
        print(main(sys.argv[1], sys.argv[2]))
""")


def test_resume_in_a_fresh_process(tmp_path):
    """The run saves here and goes on; a fresh process (no state shared but the file)
    resumes: the rest of the epoch and the next one hash the same, with and without
    workers."""
    script = tmp_path / "resume.py"
    script.write_text(FRESH_PROCESS)
    path = str(tmp_path / "position.safetensors")
    here = {"__name__": "saving_run"}
    exec(compile(FRESH_PROCESS, str(script), "exec"), here)  # the same code, this process
    original = here["main"]("save", path).split()
    done = subprocess.run(
        [sys.executable, str(script), "resume", path],
        capture_output=True,
        text=True,
        timeout=WATCHDOG_S - 10,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    resumed = done.stdout.split()
    assert len(original) == 4 and len(set(original)) == 4
    assert resumed == original
    assert original[0] != hashlib.sha256().hexdigest()  # the rest of the epoch is not empty


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_every_position_resumes(tmp_path, workers):
    """Every stop from before the first batch to after the last, for every loader (and,
    with workers, the augmenting datasets), over two following epochs."""
    if workers == 0:
        makers = LOADERS
    else:
        makers = {
            f"{ds.__name__}_{persistent}": (
                lambda ds=ds, persistent=persistent: DataLoader(
                    ds(),
                    batch_size=4,
                    num_workers=2,
                    persistent_workers=persistent,
                    **({} if ds is Shards else {"shuffle": True}),
                )
            )
            for ds in (WorkerNoisy, Shards)
            for persistent in (False, True)
        }
    for name, make in makers.items():
        ax.manual_seed(0)
        n = len(make())
        for k in [*range(n + 1), None]:
            got, expected = save_and_resume(tmp_path, make, k, epochs_after=2)
            assert len(expected) >= 2 * n - 1, name
            assert_same_batches(got, expected)
