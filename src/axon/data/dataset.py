"""Datasets: indexable collections of samples, named and behaving as in ``torch.utils.data``.

A map-style dataset answers ``len(ds)`` and ``ds[i]`` for ``0 <= i < len(ds)``.
``TensorDataset`` wraps arrays that share a first dimension; ``Subset`` picks some indices
of another dataset; ``ConcatDataset`` chains datasets end to end; ``random_split`` cuts a
dataset into disjoint random subsets, seeded so a split can be reproduced.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.tensor import Tensor, _wrap
from ..backend.generator import Generator

GeneratorLike = Generator | np.random.Generator | int | None


def as_generator(generator: GeneratorLike) -> np.random.Generator:
    """A NumPy generator: axon's global one for ``None``, an :class:`axon.Generator`'s
    own stream, or a fresh one for an int seed."""
    if generator is None:
        return B.rng()
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, int | np.integer) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"generator must be None, an axon.Generator, an int seed or a numpy.random.Generator, "
        f"got {type(generator).__name__}"
    )


class Dataset:
    """A collection of samples read by index: subclasses define ``__getitem__`` and
    usually ``__len__`` (as in torch, a dataset read only through a custom sampler may
    go without). ``a + b`` chains two datasets into a :class:`ConcatDataset`."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__``. The DataLoader reads it in
    order; with workers, each worker iterates its own copy, so a dataset that should not
    repeat itself splits the work with :func:`axon.data.get_worker_info` in ``__iter__``.
    ``a + b`` chains two streams into a :class:`ChainDataset`."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets read one after another; ``len`` is the sum of their lengths."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError(
                    f"ChainDataset only supports IterableDataset, got {type(d).__name__}"
                )  # torch's exception class
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension: ``ds[i]`` is
    ``(t[i] for t in tensors)``, a tuple of Tensors.

    Args:
        *tensors: axon Tensors or NumPy arrays, all of length N along dimension 0.
            Arrays are shared, not copied; Tensors are stored detached, so samples
            never require grad.
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        stored = []
        for i, t in enumerate(tensors):
            if isinstance(t, Tensor):
                t = t.detach()
            elif isinstance(t, np.ndarray):
                t = _wrap(t)
            else:
                raise TypeError(
                    f"TensorDataset takes axon Tensors or NumPy arrays; argument {i} is a "
                    f"{type(t).__name__}"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is 0-d; it needs a first dimension")
            stored.append(t)
        sizes = [t.shape[0] for t in stored]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(
                f"Size mismatch between tensors: first dimensions are "
                f"{', '.join(map(str, sizes))}; all must be equal"
            )
        self.tensors: tuple[Tensor, ...] = tuple(stored)

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """The underlying arrays (what the DataLoader's fast path indexes)."""
        return tuple(t.array for t in self.tensors)

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        # ``a[i, ...]`` keeps a 0-d array (not a NumPy scalar) for 1-d data
        return tuple(_wrap(t.array[index, ...]) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``sub[i]`` is
    ``dataset[indices[i]]``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[operator.index(self.indices[i])] for i in index]
        return self.dataset[operator.index(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets chained end to end: indices ``0..len(a)-1`` read ``a``, the next read ``b``."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):  # torch's exception class
                raise AssertionError(
                    f"ConcatDataset does not support IterableDataset, got {type(d).__name__}"
                )
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        n = len(self)
        index = operator.index(index)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of length {n}")
        if index < 0:
            index += n
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][index - start]


class StackDataset(Dataset):
    """Datasets of equal length read side by side: ``StackDataset(a, b)[i]`` is
    ``(a[i], b[i])``, ``StackDataset(image=a, text=b)[i]`` is ``{"image": a[i], "text": b[i]}``."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError(
                "StackDataset takes datasets either by position (samples are "
                "tuples) or by name (samples are dicts), not both"
            )
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        self.datasets: tuple | dict = args or kwargs
        lengths = [len(d) for d in (args or kwargs.values())]
        if len(set(lengths)) > 1:
            raise ValueError(f"Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: d[index] for key, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """Turn ``lengths`` (ints summing to ``n``, or fractions summing to 1) into ints."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must not be negative, got {lengths}")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1 and not all(_is_int(x) for x in lengths):
        # fractions, as torch: floor each, then hand out the remainder one by one
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        return sizes
    if not all(_is_int(x) for x in lengths):
        raise ValueError(
            f"random_split: lengths must be ints summing to the dataset's length or "
            f"fractions summing to 1, got {lengths} (sum {total})"
        )
    sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise ValueError(
            f"random_split: lengths {sizes} sum to {sum(sizes)}, but the dataset has {n} samples"
        )
    return sizes


def _is_int(x) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: GeneratorLike = None
) -> list[Subset]:
    """Split ``dataset`` into disjoint random subsets of the given lengths.

    Args:
        dataset: the dataset to split.
        lengths: ints summing to ``len(dataset)``, or fractions summing to 1 (each
            ``floor(n * frac)``, the remainder spread one by one from the first, as torch).
        generator: ``None`` draws from axon's global generator (``axon.manual_seed``);
            an :class:`axon.Generator`, an int seed or a ``numpy.random.Generator`` gives
            a split of its own.
    """
    n = len(dataset)
    sizes = _split_lengths(n, lengths)
    perm = as_generator(generator).permutation(n).tolist()
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[start : start + size]))
        start += size
    return out
