"""Tests for ``axon/data/sampler.py``, ``axon.Generator``, ``axon/data/collate.py`` and the
single-process DataLoader, against ``torch.utils.data`` wherever the results are comparable
(fixed index orders; random orders are checked for their rules, as the generators differ)."""

from collections import Counter, OrderedDict, namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import axon
from axon.data import (
    BatchSampler,
    ChainDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    random_split,
)
from tests.helpers import assert_close, to_numpy


def same_error(axon_fn, torch_fn):
    """Both calls raise, the same exception class; returns axon's exception."""
    with pytest.raises(Exception) as torch_err:
        torch_fn()
    with pytest.raises(type(torch_err.value)) as axon_err:
        axon_fn()
    return axon_err.value


def plain(batch):
    """A batch (axon or torch) as nested Python lists/dicts of (dtype name, values)."""
    if isinstance(batch, axon.Tensor | torch.Tensor | np.ndarray):
        a = to_numpy(batch)
        return (str(a.dtype), a.tolist())
    if isinstance(batch, dict):
        return {k: plain(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return (type(batch).__name__, [plain(b) for b in batch])
    return batch


# ------------------------------------------------------------------------ Generator
def test_generator_seeds_like_torch():
    g = axon.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    assert g.manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    same_error(
        lambda: axon.Generator().manual_seed(1.5), lambda: torch.Generator().manual_seed(1.5)
    )
    s = axon.Generator().seed()
    assert isinstance(s, int) and s >= 0


def test_generator_streams_are_reproducible_and_restorable():
    a = axon.Generator().manual_seed(3)
    b = axon.Generator().manual_seed(3)
    assert a.rng.random(4).tolist() == b.rng.random(4).tolist()
    state = a.get_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    first = a.rng.random(3).tolist()
    a.manual_seed(99)
    a.set_state(state)
    assert a.rng.random(3).tolist() == first and a.initial_seed() == 3
    with pytest.raises(TypeError):
        a.set_state(np.zeros(45, np.uint8))  # torch: TypeError for a non-ByteTensor
    err = same_error(
        lambda: a.set_state(axon.zeros(3, dtype=axon.uint8)),
        lambda: torch.Generator().set_state(torch.zeros(3, dtype=torch.uint8)),
    )
    assert "size to be 3" in str(err)


def test_reseeding_keeps_the_numpy_generator_object():
    g = axon.Generator()
    held = g.rng
    g.manual_seed(7)
    assert held is g.rng and held.random() == np.random.default_rng(7).random()


# ------------------------------------------------------------------------ samplers
def test_sequential_and_batch_samplers_match_torch():
    assert list(SequentialSampler(range(7))) == list(tud.SequentialSampler(range(7)))
    order = [5, 3, 8, 0, 1, 9, 2, 7, 4, 6]
    for bs in (1, 3, 4, 10, 12):
        for drop in (False, True):
            ours, theirs = BatchSampler(order, bs, drop), tud.BatchSampler(order, bs, drop)
            assert list(ours) == list(theirs)
            assert len(ours) == len(theirs)


@pytest.mark.parametrize(
    "args", [(0, False), (-2, False), (2.0, False), (True, False), (3, 1), (3, None)]
)
def test_batch_sampler_argument_errors_match_torch(args):
    err = same_error(
        lambda: BatchSampler(range(5), *args), lambda: tud.BatchSampler(range(5), *args)
    )
    assert ("batch_size" if args[1] in (False,) else "drop_last") in str(err)


def test_random_sampler_is_a_reproducible_permutation():
    gen = axon.Generator().manual_seed(0)
    s = RandomSampler(range(12), generator=gen)
    first = list(s)
    assert sorted(first) == list(range(12)) and first != list(range(12))
    assert list(s) != first  # the generator moved on
    gen.manual_seed(0)
    assert list(s) == first
    assert len(s) == len(tud.RandomSampler(range(12))) == 12


def test_random_sampler_without_generator_follows_manual_seed():
    s = RandomSampler(range(30))
    axon.manual_seed(4)
    a = [list(s), list(s)]
    axon.manual_seed(4)
    b = [list(s), list(s)]
    assert a == b and a[0] != a[1]


def test_random_sampler_num_samples_and_replacement():
    g = axon.Generator().manual_seed(1)
    chained = list(RandomSampler(range(5), num_samples=13, generator=g))
    assert len(chained) == 13  # two whole permutations, then 3 of a third
    assert sorted(chained[:5]) == sorted(chained[5:10]) == list(range(5))
    assert len(set(chained[10:])) == 3
    drawn = list(RandomSampler(range(4), replacement=True, num_samples=70, generator=g))
    assert len(drawn) == 70 and set(drawn) == {0, 1, 2, 3}  # 70 draws of 4: all seen
    for kwargs in ({"num_samples": 0}, {"num_samples": -1}, {"replacement": 1}):
        same_error(
            lambda kw=kwargs: RandomSampler(range(4), **kw),
            lambda kw=kwargs: tud.RandomSampler(range(4), **kw),
        )


def test_subset_random_sampler():
    idx = [10, 20, 30, 40, 50]
    g = axon.Generator().manual_seed(2)
    out = list(SubsetRandomSampler(idx, generator=g))
    assert sorted(out) == idx and len(SubsetRandomSampler(idx)) == 5
    g.manual_seed(2)
    assert list(SubsetRandomSampler(idx, generator=g)) == out


def test_weighted_random_sampler_follows_the_weights():
    w = [0.1, 0.0, 0.6, 0.3]
    g = axon.Generator().manual_seed(0)
    counts = Counter(WeightedRandomSampler(w, 20_000, generator=g))
    assert counts[1] == 0
    freq = np.array([counts[i] for i in range(4)]) / 20_000
    assert_close(freq, w, atol=0.015)
    distinct = list(WeightedRandomSampler(w, 3, replacement=False, generator=g))
    assert sorted(distinct) == [0, 2, 3]  # the weight-0 index only once the others are out
    assert list(WeightedRandomSampler(w, 4, replacement=False, generator=g))[-1] == 1
    # without replacement, the first draw still follows the weights
    firsts = Counter(
        next(iter(WeightedRandomSampler(w, 2, False, generator=g))) for _ in range(5000)
    )
    assert_close(np.array([firsts[i] for i in range(4)]) / 5000, w, atol=0.025)
    assert len(WeightedRandomSampler(w, 7)) == 7


def test_weighted_random_sampler_errors_match_torch():
    for args in ((0,), (-3,), (True,), (2.0,), (2, 1)):
        same_error(
            lambda a=args: WeightedRandomSampler([1.0, 2.0], *a),
            lambda a=args: tud.WeightedRandomSampler([1.0, 2.0], *a),
        )
    err = same_error(
        lambda: WeightedRandomSampler([[1.0, 2.0]], 2),
        lambda: tud.WeightedRandomSampler([[1.0, 2.0]], 2),
    )
    assert "(1, 2)" in str(err)
    for weights, n in (([1.0, 0.0, 2.0], 4), ([0.0, 0.0], 1), ([1.0, -1.0], 1), ([1.0, np.inf], 1)):
        for replacement in (False, True):
            if n > len(weights) and replacement:
                continue
            same_error(
                lambda w=weights, k=n, r=replacement: list(WeightedRandomSampler(w, k, r)),
                lambda w=weights, k=n, r=replacement: list(tud.WeightedRandomSampler(w, k, r)),
            )


def test_sampler_base_class():
    class Evens(Sampler):
        def __iter__(self):
            return iter([0, 2, 4])

        def __len__(self):
            return 3

    batches = [b.tolist() for b in DataLoader(list(range(10, 20)), sampler=Evens(), batch_size=2)]
    assert batches == [[10, 12], [14]]
    with pytest.raises(NotImplementedError):
        iter(Sampler())


# ------------------------------------------------------------------------ collation
Point = namedtuple("Point", "x y")


@pytest.mark.parametrize(
    "samples",
    [
        [(1, 2.5, True), (3, 4.5, False)],
        [[1, 2], [3, 4]],
        [{"a": 1.0, "b": "s0"}, {"a": 2.0, "b": "s1"}],
        [
            OrderedDict(img=np.ones((2, 2), np.float32), y=3),
            OrderedDict(img=np.zeros((2, 2), np.float32), y=4),
        ],
        [Point(np.arange(3, dtype=np.int32), 1.5), Point(np.arange(3, dtype=np.int32) + 1, 2.5)],
        [np.float32(1.5), np.float32(2.5)],
        [np.array(7, dtype=np.uint8), np.array(8, dtype=np.uint8)],
        [b"x", b"y"],
    ],
)
def test_default_collate_matches_torch(samples):
    ours, theirs = default_collate(samples), tud.default_collate(samples)
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, axon.Tensor)
    else:
        assert type(ours) is type(theirs)
    assert plain(ours) == plain(theirs)


def test_default_collate_stacks_tensors_and_errors_like_torch():
    rows = [np.arange(3.0) * i for i in range(4)]
    ours = default_collate([axon.tensor(r, requires_grad=True) for r in rows])
    theirs = tud.default_collate([torch.tensor(r) for r in rows])
    assert plain(ours) == plain(theirs) and not ours.requires_grad
    same_error(
        lambda: default_collate([np.zeros(2), np.zeros(3)]),
        lambda: tud.default_collate([np.zeros(2), np.zeros(3)]),
    )
    same_error(
        lambda: default_collate([(1, 2), (1, 2, 3)]),
        lambda: tud.default_collate([(1, 2), (1, 2, 3)]),
    )
    same_error(lambda: default_collate([None]), lambda: tud.default_collate([None]))
    same_error(
        lambda: default_collate([np.array(["a"])]), lambda: tud.default_collate([np.array(["a"])])
    )


def test_default_convert_matches_torch():
    for sample in ([np.ones(2), 3, "s"], (np.int64(4), 2.0), {"k": np.zeros((1, 2))}):
        assert plain(default_convert(sample)) == plain(tud.default_convert(sample))


# ------------------------------------------------------------------------ DataLoader
class Records(Dataset):
    """Sample i is a dict of a float array, an int label and a string."""

    def __init__(self, n=10):
        self.n = n

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i, "name": f"r{i}"}

    def __len__(self):
        return self.n


class TorchRecords(tud.Dataset):
    def __init__(self, n=10):
        self.inner = Records(n)

    def __getitem__(self, i):
        return self.inner[i]

    def __len__(self):
        return len(self.inner)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 3},
        {"batch_size": 4, "drop_last": True},
        {"batch_size": None},
        {"sampler": [9, 1, 4, 4, 0], "batch_size": 2},
        {"batch_sampler": [[3, 1], [0], [9, 8, 7]]},
    ],
)
def test_loader_batches_match_torch_for_a_fixed_order(kwargs):
    ours = DataLoader(Records(), **kwargs)
    theirs = tud.DataLoader(TorchRecords(), **kwargs)
    assert len(ours) == len(theirs)
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]


def test_loader_with_batch_sampler_object():
    bs = BatchSampler(SequentialSampler(range(10)), 4, drop_last=False)
    ours = [b["y"].tolist() for b in DataLoader(Records(), batch_sampler=bs)]
    assert ours == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sampler": [0, 1], "shuffle": True},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "shuffle": True},
        {"batch_sampler": [[0]], "sampler": [0]},
        {"batch_sampler": [[0]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"num_workers": 1, "prefetch_factor": -1},
        {"persistent_workers": True},
        {"multiprocessing_context": "fork"},
        {"num_workers": 1, "multiprocessing_context": "no-such-method"},
        {"num_workers": 1, "multiprocessing_context": 3},
        {"batch_size": 0},
    ],
)
def test_loader_argument_errors_match_torch(kwargs):
    same_error(
        lambda: DataLoader(Records(), **kwargs), lambda: tud.DataLoader(TorchRecords(), **kwargs)
    )


def test_shuffled_loader_is_reproducible_with_a_generator_or_the_seed():
    ds = TensorDataset(np.arange(40.0), np.arange(40))
    a = DataLoader(ds, batch_size=8, shuffle=True, generator=axon.Generator().manual_seed(3))
    b = DataLoader(ds, batch_size=8, shuffle=True, generator=axon.Generator().manual_seed(3))
    ea = [y.tolist() for _, y in a]
    assert ea == [y.tolist() for _, y in b]
    assert sorted(sum(ea, [])) == list(range(40)) and sum(ea, []) != list(range(40))
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    axon.manual_seed(9)
    first = [y.tolist() for _, y in loader]
    axon.manual_seed(9)
    assert first == [y.tolist() for _, y in loader]


class Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TorchCount(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize(
    "kwargs", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}]
)
def test_iterable_dataset_matches_torch(kwargs):
    ours, theirs = DataLoader(Count(8), **kwargs), tud.DataLoader(TorchCount(8), **kwargs)
    assert len(ours) == len(theirs)
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]
    for bad in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        same_error(
            lambda b=bad: DataLoader(Count(3), **b),
            lambda b=bad: tud.DataLoader(TorchCount(3), **b),
        )


def test_chain_dataset_matches_torch():
    ours = list(ChainDataset([Count(2), Count(3)]))
    assert ours == list(tud.ChainDataset([TorchCount(2), TorchCount(3)]))
    assert list(Count(2) + Count(1)) == [0, 1, 0]
    assert len(ChainDataset([Count(2), Count(3)])) == 5
    same_error(
        lambda: list(ChainDataset([Records(2)])), lambda: list(tud.ChainDataset([TorchRecords(2)]))
    )


def test_stack_dataset_matches_torch():
    a, ta, tb = Records(4), TorchRecords(4), list(range(4))
    ours = StackDataset(a, list(range(4)))
    assert len(ours) == len(tud.StackDataset(ta, tb)) == 4
    assert plain(ours[2]) == plain(tud.StackDataset(ta, tb)[2])
    named = StackDataset(x=a, y=list(range(4)))[1]
    assert plain(named) == plain(tud.StackDataset(x=ta, y=tb)[1])
    batch = next(iter(DataLoader(StackDataset(a, list(range(4))), batch_size=4)))
    assert plain(batch) == plain(next(iter(tud.DataLoader(tud.StackDataset(ta, tb), batch_size=4))))
    for args, kwargs in (((), {}), ((a,), {"y": a}), ((a, Records(3)), {})):
        same_error(
            lambda x=args, k=kwargs: StackDataset(*x, **k),
            lambda x=args, k=kwargs: tud.StackDataset(
                *[TorchRecords(len(d)) for d in x],
                **{n: TorchRecords(len(d)) for n, d in k.items()},
            ),
        )


def test_an_int_generator_is_one_stream_across_epochs():
    loader = DataLoader(Records(12), batch_size=12, shuffle=True, generator=5)
    first, second = (next(iter(loader))["y"].tolist() for _ in range(2))
    assert first != second and sorted(first) == sorted(second) == list(range(12))
    again = DataLoader(Records(12), batch_size=12, shuffle=True, generator=5)
    assert next(iter(again))["y"].tolist() == first


def test_random_split_takes_a_generator():
    parts = random_split(Records(10), [0.3, 0.7], generator=axon.Generator().manual_seed(1))
    again = random_split(Records(10), [0.3, 0.7], generator=axon.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [len(p) for p in tud.random_split(range(10), [0.3, 0.7])]
    assert [p.indices for p in parts] == [p.indices for p in again]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))


def test_single_process_timeout_is_refused_as_torch():
    same_error(
        lambda: iter(DataLoader(Records(), timeout=1)),
        lambda: iter(tud.DataLoader(TorchRecords(), timeout=1)),
    )


def test_loaders_draw_only_their_permutation_from_the_global_generator():
    """Shuffling takes one permutation per epoch from axon's global generator and nothing
    else (the workers' base seeds come from a stream of their own), with or without
    workers: the experiments' seeded results do not depend on how data are loaded."""
    ds = TensorDataset(np.arange(30.0), np.arange(30))
    for workers in (0, 2):
        axon.manual_seed(7)
        for _ in DataLoader(ds, batch_size=30, num_workers=workers):  # no shuffle: no draw
            pass
        after_plain = axon.rand(3).tolist()
        axon.manual_seed(7)
        assert after_plain == axon.rand(3).tolist()
        axon.manual_seed(7)
        ((_, y),) = DataLoader(ds, batch_size=30, shuffle=True, num_workers=workers)
        reference = np.random.default_rng(7)
        assert y.tolist() == reference.permutation(30).tolist()
        assert axon.backend.rng().random() == reference.random()  # one permutation, no more
