"""``DataLoader``: iterate a dataset in (optionally shuffled) mini-batches.

Each epoch (each ``iter(loader)``) draws a fresh permutation when ``shuffle=True``: from
axon's global generator by default, so ``axon.manual_seed`` fixes the order of every epoch,
or from the loader's own generator when it is given a ``seed``.

Batches are built by ``collate_fn`` from the list of samples. For a ``TensorDataset`` (or
a ``Subset`` of one) with the default collate, the loader skips the per-sample path and
takes each batch with one NumPy fancy-index per array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.tensor import Tensor, _wrap
from .dataset import Dataset, GeneratorLike, Subset, TensorDataset, as_generator


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, field by field.

    Tensors and NumPy arrays are stacked along a new first dimension (dtype kept);
    Python floats become a float32 Tensor (the default dtype), ints int64, bools bool;
    strings stay a list; tuples and lists give a tuple of batched fields; dicts give a
    dict of batched values. The result never requires grad.
    """
    if not batch:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor | np.ndarray | np.generic):
        arrays = [x.array if isinstance(x, Tensor) else x for x in batch]
        shapes = {np.shape(a) for a in arrays}
        if len(shapes) > 1:
            raise RuntimeError(
                f"default_collate: cannot stack samples of different shapes "
                f"{sorted(shapes)}; pad them to one shape or pass a collate_fn"
            )
        return _wrap(np.stack(arrays))
    if isinstance(elem, bool | np.bool_):
        return _wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return _wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, float):
        return _wrap(np.asarray(batch, dtype=B.get_default_dtype()))
    if isinstance(elem, str | bytes):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple | list):
        n = len(elem)
        if any(len(sample) != n for sample in batch):
            raise RuntimeError(
                f"default_collate: samples have different numbers of fields "
                f"{sorted({len(s) for s in batch})}; each must have {n}"
            )
        fields = [default_collate(list(f)) for f in zip(*batch, strict=True)]
        if hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields)
    raise TypeError(
        f"default_collate: a sample (or a field of one) is a {type(elem).__name__}; "
        f"it must be a Tensor, NumPy array, number, string, dict, tuple or list "
        f"(pass a collate_fn for anything else)"
    )


def _tensor_source(dataset: Dataset) -> tuple[tuple[np.ndarray, ...], np.ndarray | None] | None:
    """For a TensorDataset, or Subsets of one: its arrays and the composed index map."""
    index_map = None
    while isinstance(dataset, Subset):
        idx = np.asarray(dataset.indices, dtype=np.int64)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset):
        return dataset.arrays, index_map
    return None


class DataLoader:
    """Iterate ``dataset`` in batches of ``batch_size`` samples.

    Args:
        dataset: a map-style dataset (``len`` and integer indexing).
        batch_size: samples per batch; the last batch may be smaller unless ``drop_last``.
        shuffle: visit the samples in a new random order each epoch.
        drop_last: drop the last batch when it has fewer than ``batch_size`` samples.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        seed: ``None`` shuffles with axon's global generator (``axon.manual_seed``); an int
            or a ``numpy.random.Generator`` gives this loader a generator of its own.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list], Any] | None = None,
        seed: GeneratorLike = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.seed = seed
        self._generator = None if seed is None else as_generator(seed)
        self._default_collate = collate_fn is None

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        # the global generator is looked up now: manual_seed replaces it
        gen = self._generator if self._generator is not None else B.rng()
        return gen.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        n_batches = len(self)
        bs = self.batch_size
        fast = _tensor_source(self.dataset) if self._default_collate else None
        if fast is not None:
            arrays, index_map = fast
            if index_map is not None:
                order = index_map[order]
            for b in range(n_batches):
                idx = order[b * bs : (b + 1) * bs]
                yield tuple(_wrap(a[idx]) for a in arrays)
            return
        order = order.tolist()
        for b in range(n_batches):
            yield self.collate_fn([self.dataset[i] for i in order[b * bs : (b + 1) * bs]])

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
