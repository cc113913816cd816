"""``DataLoader``: iterate a dataset in mini-batches, as ``torch.utils.data.DataLoader``.

The loader is three parts, each replaceable: a *sampler* gives the order of the indices
(:class:`SequentialSampler`, or :class:`RandomSampler` for ``shuffle=True``), a
*batch sampler* groups them (:class:`BatchSampler` of ``batch_size``), and ``collate_fn``
turns each group's samples into a batch (:func:`default_collate`). An
:class:`IterableDataset` has no indices: the loader reads its stream in order.

Each epoch (each ``iter(loader)``) draws a *base seed* (from the loader's ``generator``,
else from a stream that ``axon.manual_seed`` restarts: see
:func:`axon.data.sampler.draw_base_seed`), then runs the sampler, which for a shuffle
without a generator draws its permutation from axon's global generator: so
``axon.manual_seed`` fixes every epoch's order, and ``num_workers`` does not change it.
With ``num_workers > 0`` the batches are made in worker processes (see
:mod:`axon.data._worker`), worker ``i`` seeded with ``base_seed + i``.

For a ``TensorDataset`` (or a ``Subset`` of one) with the default collate, a batch is
taken with one NumPy fancy-index per array instead of sample by sample.

``state_dict()`` / ``load_state_dict()`` (torchdata's ``StatefulDataLoader`` names) save
and restore the loader's position, so that a training run resumed in a fresh process
reads the batches it would have read: see :meth:`DataLoader.state_dict`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.tensor import _wrap
from . import _position
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, Subset, TensorDataset
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    _InfiniteConstantSampler,
    own_generator,
)

__all__ = ["DataLoader", "default_collate", "default_convert"]


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


class MapFetcher:
    """Reads the samples of a map-style dataset at the given indices and collates them."""

    def __init__(
        self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool
    ) -> None:
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        fast = _tensor_source(dataset) if collate_fn is default_collate else None
        self._fast = fast if auto_collation else None

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self._fast is not None:  # one fancy-index per array: the TensorDataset path
            arrays, index_map = self._fast
            idx = np.asarray(index, dtype=np.int64)
            idx = idx if index_map is None else index_map[idx]
            return [_wrap(a[idx]) for a in arrays]
        if hasattr(self.dataset, "__getitems__"):
            samples = self.dataset.__getitems__(index)
        else:
            samples = [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class IterableFetcher:
    """Reads the next ``len(index)`` samples of an IterableDataset's stream; raises
    StopIteration when the stream is done (or, with ``drop_last``, too short)."""

    def __init__(
        self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool
    ) -> None:
        self.stream = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = (
            auto_collation,
            collate_fn,
            drop_last,
        )

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(next(self.stream))
        samples = []
        for _ in index:
            try:
                samples.append(next(self.stream))
            except StopIteration:
                break
        if not samples or (self.drop_last and len(samples) < len(index)):
            raise StopIteration
        return self.collate_fn(samples)


def make_fetcher(dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
    kind = IterableFetcher if isinstance(dataset, IterableDataset) else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)


def _check_nonnegative_int(value, name: str, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} option should be a non-negative integer, got {value!r}{hint}")


class DataLoader:
    """Iterate ``dataset`` in batches, with torch's arguments and semantics.

    Args:
        dataset: a map-style :class:`Dataset` (``len`` and ``ds[i]``) or an
            :class:`IterableDataset`.
        batch_size: samples per batch; ``None`` turns batching off (each sample is passed
            through :func:`default_convert`).
        shuffle: a new random order every epoch (map-style datasets only).
        sampler: the order of the indices (excludes ``shuffle``).
        batch_sampler: yields whole lists of indices (excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``).
        num_workers: worker processes making the batches; 0 makes them in this process.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        pin_memory, pin_memory_device: accepted for torch's signature; axon has no device
            memory to pin.
        drop_last: drop the last batch when it is short.
        timeout: seconds to wait for a worker's batch before a RuntimeError (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after
            seeding and before the first batch.
        multiprocessing_context: a start method name (``"fork"``, ``"spawn"``,
            ``"forkserver"``) or context; default fork where available, else spawn.
        generator: the stream for the base seed and for ``shuffle`` (an
            :class:`axon.Generator`, a NumPy generator or an int seed); default the global.
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the workers alive from one epoch to the next.
        in_order: accepted for torch's signature; batches always come in sampler order.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        _check_nonnegative_int(
            num_workers, "num_workers", "; use num_workers=0 to disable multiprocessing"
        )
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in "
                "multiprocessing: let num_workers > 0, or leave prefetch_factor None"
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError(
                f"prefetch_factor option should be non-negative, got {prefetch_factor}"
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _context(multiprocessing_context, num_workers)
        self.in_order = in_order
        self.generator = own_generator(generator)
        self.persistent_workers = persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        sampler, batch_sampler, batch_size, drop_last = self._samplers(
            shuffle, sampler, batch_sampler, batch_size, drop_last
        )
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.batch_size, self.drop_last = batch_size, drop_last
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self._iterator = None  # the persistent workers' iterator
        self._epoch: _position.Epoch | None = None  # the latest iterator's record
        self._pending: dict | None = None  # a loaded epoch, resumed by the next iter()

    def _samplers(self, shuffle, sampler, batch_sampler, batch_size, drop_last):
        """torch's argument checks, then the default sampler and batch sampler."""
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified "
                    f"shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified "
                    f"sampler option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified "
                    f"batch_sampler option, but got batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(self.dataset, generator=self.generator)
            else:
                sampler = SequentialSampler(self.dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        return sampler, batch_sampler, batch_size, drop_last

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What the iterator draws from: lists of indices, or single ones without batching."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        from ._worker import MultiProcessIter

        if not self.persistent_workers:
            return MultiProcessIter(self)
        if self._iterator is None:
            self._iterator = MultiProcessIter(self)
        else:
            self._iterator.reset()
        return self._iterator

    # ------------------------------------------------------------------ position
    def state_dict(self) -> dict:
        """The loader's position, to resume it with :meth:`load_state_dict` (in this or a
        fresh process): only what ``axon.save`` stores (no pickle).

        It holds how many batches the latest ``iter(loader)`` has yielded and whether its
        epoch is finished; what that epoch's order was drawn from: the states, when the
        iterator was made, of axon's global generator and of the loader's own streams
        (its ``generator``, its samplers' ``generator``), the states before each later
        pull of the sampler that drew random numbers, the base seed, a
        ``DistributedSampler``'s epoch; and the states *now* of the loader's own streams
        and of the base-seed stream (:func:`axon.data.sampler.base_seed_stream`). The
        global generator's state now is not the loader's: save it beside
        (``axon.get_rng_state()``) and put it back with ``axon.set_rng_state``. With
        persistent workers, the workers' random states at the epoch's start (or, for a
        finished epoch, now: asked of the workers) are kept too.
        """
        return _position.state_dict(self)

    def load_state_dict(self, state: dict) -> None:
        """Go back to a position saved by :meth:`state_dict` (from a loader over the same
        dataset with the same arguments).

        The loader's own streams, the base-seed stream and a ``DistributedSampler``'s
        epoch are set at once (so a validation loader iterated before this one's next
        epoch draws its base seed where the saved run did); the epoch is resumed by the
        next ``iter(loader)``. That iterator yields what the saved one would have yielded
        after its position (the rest of its epoch; for a finished epoch, the next epoch, as
        the saved loader's next ``iter`` would give it for the same global generator
        state), and leaves axon's global generator as it found it. How the epoch is
        resumed:

        - map-style, ``num_workers=0``: the sampler is run again from the saved stream
          states, without reading any sample, to the saved position (cheap);
        - ``num_workers > 0``: the same, and the batches already yielded are made again by
          the workers and dropped, so that each worker's random state (its augmentation)
          is where it was: exact, at the cost of making those batches again;
        - an :class:`IterableDataset` in this process: the stream is read again from its
          start and the batches already yielded dropped (exact when the stream draws
          from its own generator, or from axon's global one only in ``__iter__``).

        A sampler that draws from a stream the loader does not know (Python's ``random``,
        ``numpy.random``'s global one) is run again from that stream's state now, so its
        resumed order is exact only if that stream was put back by the caller.

        Call ``axon.manual_seed`` before this, not after: it restarts the base-seed stream
        (``axon.set_rng_state`` does not). Persistent workers running are stopped; the
        next ``iter`` starts new ones.
        """
        _position.load_state_dict(self, state)

    def _open_epoch(self, base_seed: int | None = None):
        """At ``iter(loader)``: the epoch's record, its index iterator, and what a resumed
        epoch's iterator must do to catch up (see :func:`axon.data._position.open_epoch`)."""
        return _position.open_epoch(self, base_seed)

    def __len__(self) -> int:
        if self._iterable:  # the stream's own length, in batches
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}, batch_size="
            f"{self.batch_size}, sampler={type(self.sampler).__name__}, "
            f"num_workers={self.num_workers}, drop_last={self.drop_last})"
        )


def _context(context, num_workers: int):
    """The multiprocessing context the workers start from (None: the default)."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError(
            f"multiprocessing_context can only be used with multi-process "
            f"loading (num_workers > 0), but got num_workers={num_workers}"
        )
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(
                f"multiprocessing_context option should specify a valid start "
                f"method in {methods!r}, but got multiprocessing_context="
                f"{context!r}"
            )
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(
            f"multiprocessing_context option should be a valid context object or "
            f"a string specifying the start method, but got "
            f"multiprocessing_context={context}"
        )
    return context


class _SingleProcessIter:
    """One epoch in this process: the base seed, then batch after batch."""

    def __init__(self, loader: DataLoader) -> None:
        if loader.timeout != 0:  # as torch, which asserts this too
            raise AssertionError(
                "DataLoader: timeout needs num_workers > 0 (a batch made in "
                f"this process cannot time out); got timeout={loader.timeout}"
            )
        self._loader = loader
        self._epoch, self._indices, resume = loader._open_epoch()
        if resume is None or not loader._iterable:
            self._indices.pulled.clear()  # (a resumed map-style epoch: its pulls are used)
            self._fetcher = make_fetcher(
                loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last
            )
            return
        # an IterableDataset: read the stream again from its start and drop what was read,
        # with the global generator as it was when the saved epoch began
        live = B.rng().bit_generator.state
        B.rng().bit_generator.state = self._epoch.start[0]
        try:
            self._fetcher = make_fetcher(
                loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last
            )
            for _ in range(resume.skip):
                self._fetcher.fetch(self._indices.pulled.popleft())
        finally:
            B.rng().bit_generator.state = live
        self._indices.pulled.clear()

    def __iter__(self) -> _SingleProcessIter:
        return self

    def __next__(self) -> Any:
        try:
            index = next(self._indices)
            batch = self._fetcher.fetch(index)  # an IterableDataset's end raises it too
        except StopIteration:
            self._epoch.finished = True
            raise
        self._epoch.yielded += 1
        return batch

    def __len__(self) -> int:
        return len(self._loader)
