"""Tests for ``axon/data/dataloader.py``: batching, shuffling, collation and the fast path."""

from collections import namedtuple

import numpy as np
import pytest

import axon
from axon.data import DataLoader, Dataset, Subset, TensorDataset, default_collate
from tests.helpers import assert_close


class Records(Dataset):
    """A generic (not tensor-backed) dataset returning whatever ``make(i)`` builds."""

    def __init__(self, n, make):
        self.n, self.make = n, make

    def __getitem__(self, i):
        return self.make(i)

    def __len__(self):
        return self.n


def _xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y)


def _labels(loader):
    return [int(v) for _, y in loader for v in y.array]


def test_batches_in_order_with_partial_last():
    loader = DataLoader(_xy(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert_close(batches[1][0], np.arange(12, 24, dtype=np.float32).reshape(4, 3))
    assert batches[2][1].tolist() == [8, 9]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


def test_drop_last():
    loader = DataLoader(_xy(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(y) for _, y in loader] == [4, 4]
    assert len(DataLoader(_xy(8), batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(_xy(3), batch_size=4, drop_last=True)) == 0
    assert list(DataLoader(_xy(3), batch_size=4, drop_last=True)) == []


def test_len_matches_iteration_without_drop_last():
    for n, bs in [(0, 3), (1, 3), (9, 3), (10, 3), (10, 1), (10, 64)]:
        loader = DataLoader(_xy(n), batch_size=bs)
        assert len(loader) == len(list(loader))


def test_shuffle_reproducible_with_manual_seed():
    loader = DataLoader(_xy(20), batch_size=3, shuffle=True)
    axon.manual_seed(7)
    first = _labels(loader)
    axon.manual_seed(7)
    again = _labels(loader)
    assert first == again
    assert first != list(range(20))


def test_shuffle_gives_a_new_order_each_epoch_seeing_every_sample_once():
    loader = DataLoader(_xy(20), batch_size=3, shuffle=True)
    epochs = [_labels(loader) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert epochs[0] != epochs[1] != epochs[2]


def test_loader_generator_gives_its_own_reproducible_stream():
    a = DataLoader(_xy(20), batch_size=5, shuffle=True, generator=axon.Generator().manual_seed(1))
    b = DataLoader(_xy(20), batch_size=5, shuffle=True, generator=axon.Generator().manual_seed(1))
    axon.manual_seed(0)
    ea = [_labels(a) for _ in range(2)]
    axon.manual_seed(123)  # the global seed does not matter to a seeded loader
    eb = [_labels(b) for _ in range(2)]
    assert ea == eb
    assert ea[0] != ea[1]


def test_fast_path_matches_sample_by_sample_collation():
    ds = _xy(11)
    axon.manual_seed(5)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True))
    axon.manual_seed(5)
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, collate_fn=default_collate))
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype
        assert_close(fx, sx)
        assert fy.tolist() == sy.tolist()


def test_fast_path_through_nested_subsets():
    ds = _xy(10)
    sub = Subset(Subset(ds, [9, 7, 5, 3, 1]), [4, 0, 2])  # -> 1, 9, 5
    ((x, y),) = list(DataLoader(sub, batch_size=8))
    assert y.tolist() == [1, 9, 5]
    assert_close(x, ds.tensors[0].array[[1, 9, 5]])


def test_batches_are_copies_that_do_not_require_grad():
    w = axon.randn(6, 2, requires_grad=True)
    ds = TensorDataset(w)
    (batch,) = next(iter(DataLoader(ds, batch_size=6)))
    assert not batch.requires_grad
    batch.array[0, 0] = 1e3  # writing into a batch leaves the dataset alone
    assert ds.tensors[0].array[0, 0] != 1e3
    slow = next(iter(DataLoader(Records(2, lambda i: w[i]), batch_size=2)))
    assert not slow.requires_grad


def test_collate_tuples_of_numbers():
    loader = DataLoader(Records(5, lambda i: (float(i) / 2, i, i % 2 == 0)), batch_size=5)
    f, n, b = next(iter(loader))
    assert f.dtype == np.float64 and n.dtype == np.int64 and b.dtype == np.bool_  # as torch
    assert_close(f, [0.0, 0.5, 1.0, 1.5, 2.0])
    assert n.tolist() == [0, 1, 2, 3, 4]
    assert b.tolist() == [True, False, True, False, True]


def test_collate_dicts_arrays_and_strings():
    def make(i):
        return {
            "image": np.full((2, 2), i, dtype=np.float64),
            "label": i,
            "name": f"s{i}",
            "mask": axon.tensor([i, i + 1], dtype=axon.uint8),
        }

    batch = next(iter(DataLoader(Records(3, make), batch_size=3)))
    assert set(batch) == {"image", "label", "name", "mask"}
    assert batch["image"].shape == (3, 2, 2) and batch["image"].dtype == np.float64
    assert_close(batch["image"][:, 0, 0], [0.0, 1.0, 2.0])
    assert batch["label"].dtype == np.int64
    assert batch["name"] == ["s0", "s1", "s2"]
    assert batch["mask"].dtype == np.uint8 and batch["mask"].tolist() == [[0, 1], [1, 2], [2, 3]]


def test_collate_lists_and_namedtuples():
    Pair = namedtuple("Pair", "x y")
    batch = default_collate([Pair(np.zeros(2, np.float32), 1), Pair(np.ones(2, np.float32), 2)])
    assert isinstance(batch, Pair)
    assert batch.x.shape == (2, 2) and batch.y.tolist() == [1, 2]
    batch = default_collate([[1, 2.0], [3, 4.0]])
    assert isinstance(batch, list) and batch[0].tolist() == [1, 3]
    assert batch[1].dtype == np.float64
    batch = default_collate([(1, 2.0), (3, 4.0)])
    assert isinstance(batch, list)  # tuples give a list, as torch


def test_collate_errors_are_clear():
    with pytest.raises(RuntimeError, match=r"shapes \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size.*\\[2, 3\\] fields"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="found <class 'NoneType'>"):
        default_collate([None, None])


def test_custom_collate_fn_receives_the_sample_list():
    loader = DataLoader(_xy(5), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2, 1]


def test_bad_batch_size():
    for bs in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size should be a positive integer"):
            DataLoader(_xy(3), batch_size=bs)


def test_fast_path_is_fast():
    """60k MNIST-sized samples in batches of 64 go by in well under a second."""
    import time

    ds = TensorDataset(np.zeros((60_000, 784), np.float32), np.zeros(60_000, np.int64))
    loader = DataLoader(ds, batch_size=64, shuffle=True)
    t = time.perf_counter()
    n = sum(len(y) for _, y in loader)
    assert n == 60_000
    assert time.perf_counter() - t < 2.0
