"""Tests for ``axon/data/dataset.py``: TensorDataset, Subset, ConcatDataset, random_split."""

import numpy as np
import pytest

import axon
from axon.data import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from tests.helpers import assert_close


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return i * i

    def __len__(self):
        return self.n


def test_dataset_needs_getitem_not_len_as_torch():
    import torch.utils.data as tud

    class OnlyGetitem(Dataset):
        def __getitem__(self, i):
            return i

    assert OnlyGetitem()[3] == 3  # a dataset read through a custom sampler needs no len
    for base in (Dataset, tud.Dataset):
        with pytest.raises(NotImplementedError):
            base()[0]
        with pytest.raises(TypeError):
            len(base())


def test_tensor_dataset_mixes_tensors_and_arrays():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = axon.tensor([0, 1, 2, 3])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert isinstance(xi, axon.Tensor) and isinstance(yi, axon.Tensor)
    assert_close(xi, x[2])
    assert yi.shape == () and yi.item() == 2 and yi.dtype == np.int64
    assert xi.dtype == np.float32


def test_tensor_dataset_samples_do_not_require_grad():
    w = axon.randn(5, 2, requires_grad=True)
    ds = TensorDataset(w)
    assert not ds[0][0].requires_grad
    assert not ds.tensors[0].requires_grad


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match=r"first dimensions are 100, 99"):
        TensorDataset(np.zeros((100, 2)), np.zeros(99))


def test_tensor_dataset_bad_arguments():
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.ones(()))
    with pytest.raises(TypeError, match="argument 1 is a list"):
        TensorDataset(np.zeros(3), [1, 2, 3])


def test_subset_reads_the_given_indices_in_order():
    sub = Subset(Squares(10), [7, 2, 5])
    assert len(sub) == 3
    assert [sub[i] for i in range(3)] == [49, 4, 25]
    assert sub[-1] == 25
    assert sub[[0, 2]] == [49, 25]


def test_concat_dataset_and_add():
    a, b = Squares(3), Subset(Squares(10), [9, 8])
    cat = a + b
    assert isinstance(cat, ConcatDataset)
    assert len(cat) == 5
    assert [cat[i] for i in range(5)] == [0, 1, 4, 81, 64]
    assert cat[-1] == 64 and cat[-5] == 0
    with pytest.raises(IndexError, match="out of range"):
        cat[5]
    with pytest.raises(IndexError):
        cat[-6]


def test_concat_skips_empty_datasets():
    cat = ConcatDataset([Squares(0), Squares(2), Squares(0), Squares(1)])
    assert [cat[i] for i in range(len(cat))] == [0, 1, 0]


def test_concat_dataset_empty_list():
    with pytest.raises(ValueError, match="at least one dataset"):
        ConcatDataset([])


def _all_indices(parts):
    return [int(i) for p in parts for i in p.indices]


def test_random_split_sizes_and_disjoint_cover():
    parts = random_split(Squares(10), [3, 7])
    assert [len(p) for p in parts] == [3, 7]
    idx = _all_indices(parts)
    assert sorted(idx) == list(range(10))
    assert idx != list(range(10))  # actually shuffled (fixed seed, so deterministic)


def test_random_split_fractions_like_torch():
    # floor each, then the remainder one by one from the first split (torch's rule)
    parts = random_split(Squares(10), [0.33, 0.33, 0.34])
    assert [len(p) for p in parts] == [4, 3, 3]
    parts = random_split(Squares(7), [0.5, 0.5])
    assert [len(p) for p in parts] == [4, 3]
    assert sorted(_all_indices(parts)) == list(range(7))


def test_random_split_fraction_sizes_match_torch():
    torch = pytest.importorskip("torch")
    for n, fracs in [(10, [0.33, 0.33, 0.34]), (101, [0.8, 0.1, 0.1]), (5, [0.7, 0.3])]:
        ours = [len(p) for p in random_split(Squares(n), fracs)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fracs)]
        assert ours == theirs


def test_random_split_reproducible():
    axon.manual_seed(3)
    a = _all_indices(random_split(Squares(20), [10, 10]))
    axon.manual_seed(3)
    b = _all_indices(random_split(Squares(20), [10, 10]))
    c = _all_indices(random_split(Squares(20), [10, 10]))  # the generator moved on
    assert a == b
    assert a != c
    s1 = _all_indices(random_split(Squares(20), [0.5, 0.5], generator=42))
    s2 = _all_indices(random_split(Squares(20), [0.5, 0.5], generator=np.random.default_rng(42)))
    assert s1 == s2


def test_random_split_errors():
    with pytest.raises(ValueError, match=r"sum to 9, but the dataset has 10"):
        random_split(Squares(10), [4, 5])
    with pytest.raises(ValueError, match="fractions summing to 1"):
        random_split(Squares(10), [0.5, 0.3])
    with pytest.raises(ValueError, match="negative"):
        random_split(Squares(10), [12, -2])
    with pytest.raises(TypeError, match="generator"):
        random_split(Squares(10), [5, 5], generator="seed")
