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

import copy
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.tensor import _wrap
from ..backend.generator import Generator
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, Subset, TensorDataset
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
    base_seed_stream,
    draw_base_seed,
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


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the 'indices' of an IterableDataset, one per sample to read."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


class MapFetcher:
    """Reads the samples of a map-style dataset at the given indices and collates them."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
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

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.stream = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = (
            auto_collation, collate_fn, drop_last)

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
        _check_nonnegative_int(num_workers, "num_workers",
                               "; use num_workers=0 to disable multiprocessing")
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing: let num_workers > 0, or leave prefetch_factor None")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError(f"prefetch_factor option should be non-negative, got "
                             f"{prefetch_factor}")
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
            shuffle, sampler, batch_sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.batch_size, self.drop_last = batch_size, drop_last
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self._iterator = None  # the persistent workers' iterator
        self._epoch: _Epoch | None = None  # the record of the latest iterator's epoch
        self._pending: dict | None = None  # a loaded epoch, resumed by the next iter()

    def _samplers(self, shuffle, sampler, batch_sampler, batch_size, drop_last):
        """torch's argument checks, then the default sampler and batch sampler."""
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
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
        streams = _Streams(self)
        if self._pending is not None:  # loaded, to be resumed by the next iter()
            epoch = copy.deepcopy(self._pending)
        elif self._epoch is not None:
            epoch = self._epoch.state()
            if (self._epoch.finished and self.persistent_workers
                    and self._iterator is not None and not self._iterator._shut):
                epoch["worker_states_end"] = self._iterator.worker_states()
        else:
            epoch = None
        return {
            "format": _STATE_FORMAT,
            "num_workers": self.num_workers,
            "persistent_workers": self.persistent_workers,
            "epoch": epoch,
            "own_streams": streams.states()[1:],
            "base_seed_stream": (None if self.generator is not None
                                 else base_seed_stream().bit_generator.state),
            "sampler_epochs": [p.epoch for p in _epoch_parts(self)],
        }

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
        """
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise ValueError(f"DataLoader.load_state_dict: expected a dict from "
                             f"DataLoader.state_dict() (format {_STATE_FORMAT}), got "
                             f"{_describe(state)}")
        for key, ours in (("num_workers", self.num_workers),
                          ("persistent_workers", self.persistent_workers)):
            if state[key] != ours:
                raise ValueError(f"DataLoader.load_state_dict: the state was saved with "
                                 f"{key}={state[key]}, this loader has {key}={ours} (the "
                                 f"workers' random streams would differ)")
        streams = _Streams(self)
        if len(state["own_streams"]) != len(streams.own):
            raise ValueError(f"DataLoader.load_state_dict: the state holds "
                             f"{len(state['own_streams'])} generator(s) of the loader and its "
                             f"samplers, this loader has {len(streams.own)}: build it with "
                             f"the same sampler and generator arguments")
        parts = _epoch_parts(self)
        if len(state["sampler_epochs"]) != len(parts):
            raise ValueError("DataLoader.load_state_dict: the state was saved with a different "
                             "sampler (a set_epoch sampler such as DistributedSampler)")
        if self._iterator is not None:  # persistent workers: start them afresh, reseeded
            self._iterator._shutdown()
            self._iterator = None
        streams.put([None, *state["own_streams"]])
        if state["base_seed_stream"] is not None and self.generator is None:
            base_seed_stream().bit_generator.state = state["base_seed_stream"]
        for part, e in zip(parts, state["sampler_epochs"], strict=True):
            part.set_epoch(e)
        self._epoch = None
        self._pending = copy.deepcopy(state["epoch"])

    def _open_epoch(self, base_seed: int | None = None) -> tuple[_Epoch, Iterator, _Resume | None]:
        """At ``iter(loader)``: begin the epoch's record and its index iterator, resuming a
        loaded epoch if there is one (``base_seed`` given: persistent workers keep theirs,
        none is drawn).

        Returns the record, the index iterator (a resumed epoch's pulls made so far first)
        and, for a resumed epoch, what the iterator must do to catch up."""
        saved, self._pending = self._pending, None
        streams = _Streams(self)
        if saved is not None and not saved["finished"]:
            return self._replay(streams, saved)
        resume = None
        if saved is not None and saved.get("worker_states_end") is not None:
            # persistent workers, the saved epoch finished: the next epoch goes on with the
            # same workers (no new base seed), from their random states at its end
            base_seed = saved["base_seed"]
            resume = _Resume(0, saved["worker_states_end"])
        epoch = _Epoch(streams, _epoch_parts(self))
        indices = _Indices(iter(self._index_sampler), streams, epoch)
        epoch.base_seed = draw_base_seed(self.generator) if base_seed is None else base_seed
        if resume is not None:
            epoch.worker_states = resume.worker_states
        self._epoch = epoch
        return epoch, indices, resume

    def _replay(self, streams: _Streams, saved: dict):
        """Rebuild an unfinished saved epoch: its index iterator run again, from the saved
        stream states, through the pulls the saved iterator had made; then every stream
        and a set_epoch sampler's epoch back where they were before the replay."""
        parts = _epoch_parts(self)
        epoch = _Epoch(streams, parts)  # (its start: the states to put back)
        draws = dict(saved["draws"])
        pulled = []
        try:
            for part, e in zip(parts, saved["sampler_epochs"], strict=True):
                part.set_epoch(e)
            streams.put(saved["start"])
            it = iter(self._index_sampler)
            for number in range(saved["pulls"]):
                if number in draws:
                    streams.put(draws[number])
                try:
                    pulled.append(next(it))
                except StopIteration:
                    raise RuntimeError(
                        f"DataLoader: resuming a saved position, the sampler ended after "
                        f"{number} of the {saved['pulls']} pulls it had made when the state "
                        f"was saved: it draws from a stream the loader does not know, or "
                        f"the dataset changed") from None
        finally:
            streams.put(epoch.start)
            for part, e in zip(parts, epoch.sampler_epochs, strict=True):
                part.set_epoch(e)
        epoch.draws, epoch.pulls, epoch.exhausted = draws, saved["pulls"], saved["exhausted"]
        epoch.base_seed, epoch.yielded = saved["base_seed"], saved["yielded"]
        epoch.worker_states = saved.get("worker_states")
        epoch.start, epoch.sampler_epochs = saved["start"], saved["sampler_epochs"]
        self._epoch = epoch
        indices = _Indices(it, streams, epoch, pulled)
        return epoch, indices, _Resume(saved["yielded"], epoch.worker_states)

    def __len__(self) -> int:
        if self._iterable:  # the stream's own length, in batches
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size="
                f"{self.batch_size}, sampler={type(self.sampler).__name__}, "
                f"num_workers={self.num_workers}, drop_last={self.drop_last})")


def _context(context, num_workers: int):
    """The multiprocessing context the workers start from (None: the default)."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError(f"multiprocessing_context can only be used with multi-process "
                         f"loading (num_workers > 0), but got num_workers={num_workers}")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"multiprocessing_context option should specify a valid start "
                             f"method in {methods!r}, but got multiprocessing_context="
                             f"{context!r}")
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"multiprocessing_context option should be a valid context object or "
                        f"a string specifying the start method, but got "
                        f"multiprocessing_context={context}")
    return context


# ----------------------------------------------------------------------------- position
_STATE_FORMAT = 1  # the layout of DataLoader.state_dict()


def _describe(obj) -> str:
    if isinstance(obj, dict):
        return f"a dict with keys {sorted(map(str, obj))}"
    return f"a {type(obj).__name__}"


def _parts(loader: DataLoader) -> list:
    """The loader's sampler, batch sampler and the batch sampler's sampler, each once."""
    found = []
    for part in (loader.sampler, loader.batch_sampler,
                 getattr(loader.batch_sampler, "sampler", None)):
        if part is not None and all(part is not f for f in found):
            found.append(part)
    return found


def _epoch_parts(loader: DataLoader) -> list:
    """The parts whose order is fixed by ``set_epoch`` (DistributedSampler and the like)."""
    return [p for p in _parts(loader) if hasattr(p, "set_epoch") and hasattr(p, "epoch")]


_DETERMINISTIC = (SequentialSampler, _InfiniteConstantSampler, DistributedSampler, BatchSampler)
_WATCH_NONE, _WATCH_FIRST, _WATCH_EVERY = 0, 1, 2  # which sampler pulls may draw


def _watch(part) -> int:
    """Which pulls of ``part`` may draw random numbers: none (sequential orders), only the
    first (axon's samplers that draw a whole pass at once), or any (the rest, custom ones)."""
    kind = type(part)
    if kind in _DETERMINISTIC:
        return _WATCH_NONE
    if kind in (SubsetRandomSampler, WeightedRandomSampler) or (
            kind is RandomSampler and not part.replacement
            and part.num_samples <= len(part.data_source)):
        return _WATCH_FIRST
    return _WATCH_EVERY


class _Streams:
    """The random streams an epoch's order may be drawn from: axon's global generator
    (looked up at each use: ``manual_seed`` replaces it), then the loader's own (its
    ``generator``, its samplers' ``generator``), each once, in a fixed order.

    ``watch`` says which pulls of the sampler need watching: none when every part of the
    loader is one of axon's sequential samplers, only the first when they draw a whole
    pass at once, else every one (a state read costs a few microseconds)."""

    def __init__(self, loader: DataLoader) -> None:
        self.own: list[np.random.Generator] = []
        for g in (loader.generator, *(getattr(p, "generator", None) for p in _parts(loader))):
            if isinstance(g, Generator):
                g = g.rng
            if (isinstance(g, np.random.Generator) and g is not B.rng()
                    and all(g is not o for o in self.own)):
                self.own.append(g)
        self.watch = max((_watch(p) for p in _parts(loader)), default=_WATCH_NONE)

    def states(self) -> list[dict]:
        return [B.rng().bit_generator.state] + [g.bit_generator.state for g in self.own]

    def put(self, states: list) -> None:
        """Set each stream whose state is given (None: leave it)."""
        for g, state in zip([B.rng(), *self.own], states, strict=True):
            if state is not None:
                g.bit_generator.state = state


class _Epoch:
    """What one ``iter(loader)`` has done, enough to make it again: the streams' states
    when it was made, the states before each pull of the sampler that drew random numbers,
    the number of pulls and of batches yielded, the base seed."""

    def __init__(self, streams: _Streams, parts: list) -> None:
        self.start = streams.states()  # before iter(index sampler): it may draw at once
        self.sampler_epochs = [p.epoch for p in parts]
        self.draws: dict[int, list] = {}  # pull number -> the streams' states before it
        self.pulls = 0  # index batches taken from the sampler (ahead of use, with workers)
        self.exhausted = False  # the sampler has ended
        self.yielded = 0  # batches handed to the user
        self.finished = False  # the iterator raised StopIteration
        self.base_seed = 0
        self.worker_states: list | None = None  # persistent workers: at the epoch's start

    def state(self) -> dict:
        return copy.deepcopy({
            "start": self.start, "sampler_epochs": self.sampler_epochs,
            "draws": [[k, v] for k, v in sorted(self.draws.items())],
            "pulls": self.pulls, "exhausted": self.exhausted, "yielded": self.yielded,
            "finished": self.finished, "base_seed": self.base_seed,
            "worker_states": self.worker_states,
        })


class _Resume:
    """How a new iterator catches up with a saved one: the batches to make again and drop
    (``skip``), and (persistent workers) the workers' random states to start from."""

    def __init__(self, skip: int, worker_states: list | None) -> None:
        self.skip, self.worker_states = skip, worker_states


class _Indices:
    """An epoch's index iterator: the sampler's, counting the pulls and noting the
    streams' states before each pull that drew random numbers (so that the pull can be
    made again exactly, whatever drew from the global generator between pulls); for a
    resumed epoch, the pulls already made come first."""

    def __init__(self, it: Iterator, streams: _Streams, epoch: _Epoch,
                 pulled: list | None = None) -> None:
        self._it, self._streams, self._epoch = it, streams, epoch
        self.pulled = deque(pulled or ())

    def __iter__(self) -> _Indices:
        return self

    def __next__(self):
        if self.pulled:
            return self.pulled.popleft()
        epoch = self._epoch
        if epoch.exhausted:  # (a saved epoch's sampler had ended: do not run it again)
            raise StopIteration
        try:
            watch = self._streams.watch
            if watch == _WATCH_EVERY or (watch == _WATCH_FIRST and epoch.pulls == 0):
                before = self._streams.states()
                index = next(self._it)
                after = self._streams.states()
                if before != after:
                    epoch.draws[epoch.pulls] = [b if b != a else None
                                                for b, a in zip(before, after, strict=True)]
            else:
                index = next(self._it)
        except StopIteration:
            epoch.exhausted = True
            raise
        epoch.pulls += 1
        return index


class _SingleProcessIter:
    """One epoch in this process: the base seed, then batch after batch."""

    def __init__(self, loader: DataLoader) -> None:
        if loader.timeout != 0:  # as torch, which asserts this too
            raise AssertionError("DataLoader: timeout needs num_workers > 0 (a batch made in "
                                 f"this process cannot time out); got timeout={loader.timeout}")
        self._loader = loader
        self._epoch, self._indices, resume = loader._open_epoch()
        if resume is None or not loader._iterable:
            self._indices.pulled.clear()  # (a resumed map-style epoch: its pulls are used)
            self._fetcher = make_fetcher(loader.dataset, loader._auto_collation,
                                         loader.collate_fn, loader.drop_last)
            return
        # an IterableDataset: read the stream again from its start and drop what was read,
        # with the global generator as it was when the saved epoch began
        live = B.rng().bit_generator.state
        B.rng().bit_generator.state = self._epoch.start[0]
        try:
            self._fetcher = make_fetcher(loader.dataset, loader._auto_collation,
                                         loader.collate_fn, loader.drop_last)
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
