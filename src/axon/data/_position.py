"""A DataLoader's position: what ``DataLoader.state_dict()`` saves, and how
``load_state_dict()`` makes the next ``iter(loader)`` go on bit for bit, in this or a
fresh process.

Each ``iter(loader)`` keeps a record (:class:`Epoch`) of what its order was drawn from:
the states, when it was made, of axon's global generator and of the loader's own streams
(its ``generator``, its samplers' ``generator``); the base seed; and, for each pull of
the index sampler that drew random numbers, the streams' states just before it. The
last point makes lazy samplers exact: a sampler that draws from the global generator as
it goes (with replacement, in chunks; or any custom iterable) sees that stream moved by
augmentation and training between its draws, and its pulls can only be made again from
the states they saw. Reading the states costs a few microseconds, so only the pulls of a
sampler that may draw are watched (axon's whole-pass samplers: the first pull only).

Resuming an unfinished epoch runs the index sampler again from those states, without
reading any sample, to the pulls the saved iterator had made (a worker iterator pulls
ahead of what it hands out); then every stream is put back as it was. The iterator then
hands out what was not yet handed out: a single-process map-style loader at once, an
IterableDataset by reading its stream again and dropping what was read, workers by
making the yielded batches again and dropping them (see :mod:`axon.data._worker`).
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from .. import backend as B
from ..backend.generator import Generator
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
    _InfiniteConstantSampler,
    base_seed_stream,
    draw_base_seed,
)

if TYPE_CHECKING:
    from .dataloader import DataLoader

FORMAT = 1  # the layout of DataLoader.state_dict()
FORMAT = 1  # the layout of DataLoader.state_dict()


def _describe(obj) -> str:
    if isinstance(obj, dict):
        return f"a dict with keys {sorted(map(str, obj))}"
    return f"a {type(obj).__name__}"


def _parts(loader: DataLoader) -> list:
    """The loader's sampler, batch sampler and the batch sampler's sampler, each once."""
    found = []
    for part in (
        loader.sampler,
        loader.batch_sampler,
        getattr(loader.batch_sampler, "sampler", None),
    ):
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
        kind is RandomSampler and not part.replacement and part.num_samples <= len(part.data_source)
    ):
        return _WATCH_FIRST
    return _WATCH_EVERY


class Streams:
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
            if (
                isinstance(g, np.random.Generator)
                and g is not B.rng()
                and all(g is not o for o in self.own)
            ):
                self.own.append(g)
        self.watch = max((_watch(p) for p in _parts(loader)), default=_WATCH_NONE)

    def states(self) -> list[dict]:
        return [B.rng().bit_generator.state] + [g.bit_generator.state for g in self.own]

    def put(self, states: list) -> None:
        """Set each stream whose state is given (None: leave it)."""
        for g, state in zip([B.rng(), *self.own], states, strict=True):
            if state is not None:
                g.bit_generator.state = state


class Epoch:
    """What one ``iter(loader)`` has done, enough to make it again: the streams' states
    when it was made, the states before each pull of the sampler that drew random numbers,
    the number of pulls and of batches yielded, the base seed."""

    def __init__(self, streams: Streams, parts: list) -> None:
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
        return copy.deepcopy(
            {
                "start": self.start,
                "sampler_epochs": self.sampler_epochs,
                "draws": [[k, v] for k, v in sorted(self.draws.items())],
                "pulls": self.pulls,
                "exhausted": self.exhausted,
                "yielded": self.yielded,
                "finished": self.finished,
                "base_seed": self.base_seed,
                "worker_states": self.worker_states,
            }
        )


class Resume:
    """How a new iterator catches up with a saved one: the batches to make again and drop
    (``skip``), and (persistent workers) the workers' random states to start from."""

    def __init__(self, skip: int, worker_states: list | None) -> None:
        self.skip, self.worker_states = skip, worker_states


class Indices:
    """An epoch's index iterator: the sampler's, counting the pulls and noting the
    streams' states before each pull that drew random numbers (so that the pull can be
    made again exactly, whatever drew from the global generator between pulls); for a
    resumed epoch, the pulls already made come first."""

    def __init__(
        self, it: Iterator, streams: Streams, epoch: Epoch, pulled: list | None = None
    ) -> None:
        self._it, self._streams, self._epoch = it, streams, epoch
        self.pulled = deque(pulled or ())

    def __iter__(self) -> Indices:
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
                    epoch.draws[epoch.pulls] = [
                        b if b != a else None for b, a in zip(before, after, strict=True)
                    ]
            else:
                index = next(self._it)
        except StopIteration:
            epoch.exhausted = True
            raise
        epoch.pulls += 1
        return index


def state_dict(loader: DataLoader) -> dict:
    """What :meth:`DataLoader.state_dict` returns."""
    streams = Streams(loader)
    if loader._pending is not None:  # loaded, to be resumed by the next iter()
        epoch = copy.deepcopy(loader._pending)
    elif loader._epoch is not None:
        epoch = loader._epoch.state()
        if (
            loader._epoch.finished
            and loader.persistent_workers
            and loader._iterator is not None
            and not loader._iterator._shut
        ):
            epoch["worker_states_end"] = loader._iterator.worker_states()
    else:
        epoch = None
    return {
        "format": FORMAT,
        "num_workers": loader.num_workers,
        "persistent_workers": loader.persistent_workers,
        "epoch": epoch,
        "own_streams": streams.states()[1:],
        "base_seed_stream": (
            None if loader.generator is not None else base_seed_stream().bit_generator.state
        ),
        "sampler_epochs": [p.epoch for p in _epoch_parts(loader)],
    }


def load_state_dict(loader: DataLoader, state: dict) -> None:
    """What :meth:`DataLoader.load_state_dict` does."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(
            f"DataLoader.load_state_dict: expected a dict from "
            f"DataLoader.state_dict() (format {FORMAT}), got "
            f"{_describe(state)}"
        )
    for key, ours in (
        ("num_workers", loader.num_workers),
        ("persistent_workers", loader.persistent_workers),
    ):
        if state[key] != ours:
            raise ValueError(
                f"DataLoader.load_state_dict: the state was saved with "
                f"{key}={state[key]}, this loader has {key}={ours} (the "
                f"workers' random streams would differ)"
            )
    streams = Streams(loader)
    if len(state["own_streams"]) != len(streams.own):
        raise ValueError(
            f"DataLoader.load_state_dict: the state holds "
            f"{len(state['own_streams'])} generator(s) of the loader and its "
            f"samplers, this loader has {len(streams.own)}: build it with "
            f"the same sampler and generator arguments"
        )
    parts = _epoch_parts(loader)
    if len(state["sampler_epochs"]) != len(parts):
        raise ValueError(
            "DataLoader.load_state_dict: the state was saved with a different "
            "sampler (a set_epoch sampler such as DistributedSampler)"
        )
    if loader._iterator is not None:  # persistent workers: start them afresh, reseeded
        loader._iterator._shutdown()
        loader._iterator = None
    streams.put([None, *state["own_streams"]])
    if state["base_seed_stream"] is not None and loader.generator is None:
        base_seed_stream().bit_generator.state = state["base_seed_stream"]
    for part, e in zip(parts, state["sampler_epochs"], strict=True):
        part.set_epoch(e)
    loader._epoch = None
    loader._pending = copy.deepcopy(state["epoch"])


def open_epoch(
    loader: DataLoader, base_seed: int | None = None
) -> tuple[Epoch, Indices, Resume | None]:
    """At ``iter(loader)``: begin the epoch's record and its index iterator, resuming a
    loaded epoch if there is one (``base_seed`` given: persistent workers keep theirs,
    none is drawn).

    Returns the record, the index iterator (a resumed epoch's pulls made so far first)
    and, for a resumed epoch, what the iterator must do to catch up."""
    saved, loader._pending = loader._pending, None
    streams = Streams(loader)
    if saved is not None and not saved["finished"]:
        return _replay(loader, streams, saved)
    resume = None
    if saved is not None and saved.get("worker_states_end") is not None:
        # persistent workers, the saved epoch finished: the next epoch goes on with the
        # same workers (no new base seed), from their random states at its end
        base_seed = saved["base_seed"]
        resume = Resume(0, saved["worker_states_end"])
    epoch = Epoch(streams, _epoch_parts(loader))
    indices = Indices(iter(loader._index_sampler), streams, epoch)
    epoch.base_seed = draw_base_seed(loader.generator) if base_seed is None else base_seed
    if resume is not None:
        epoch.worker_states = resume.worker_states
    loader._epoch = epoch
    return epoch, indices, resume


def _replay(loader: DataLoader, streams: Streams, saved: dict) -> tuple[Epoch, Indices, Resume]:
    """Rebuild an unfinished saved epoch: its index iterator run again, from the saved
    stream states, through the pulls the saved iterator had made; then every stream
    and a set_epoch sampler's epoch back where they were before the replay."""
    parts = _epoch_parts(loader)
    epoch = Epoch(streams, parts)  # (its start: the states to put back)
    draws = dict(saved["draws"])
    pulled = []
    try:
        for part, e in zip(parts, saved["sampler_epochs"], strict=True):
            part.set_epoch(e)
        streams.put(saved["start"])
        it = iter(loader._index_sampler)
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
                    f"the dataset changed"
                ) from None
    finally:
        streams.put(epoch.start)
        for part, e in zip(parts, epoch.sampler_epochs, strict=True):
            part.set_epoch(e)
    epoch.draws, epoch.pulls, epoch.exhausted = draws, saved["pulls"], saved["exhausted"]
    epoch.base_seed, epoch.yielded = saved["base_seed"], saved["yielded"]
    epoch.worker_states = saved.get("worker_states")
    epoch.start, epoch.sampler_epochs = saved["start"], saved["sampler_epochs"]
    loader._epoch = epoch
    indices = Indices(it, streams, epoch, pulled)
    return epoch, indices, Resume(saved["yielded"], epoch.worker_states)
