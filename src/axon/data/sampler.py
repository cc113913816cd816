"""Samplers: the order in which a DataLoader reads a map-style dataset, as ``torch.utils.data``.

A sampler is an iterable of indices (or, for :class:`BatchSampler`, of lists of indices);
the DataLoader reads ``dataset[i]`` for each. Random samplers draw from their
``generator`` (an :class:`axon.Generator`, a NumPy generator or an int seed) when given
one, so their order is reproducible on its own; without one, from axon's global generator
(``axon.manual_seed`` fixes it).

The orders are not torch's numbers (the generators differ); the rules that make them are.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from .. import backend as B
from .dataset import as_generator


def draw_seed(generator=None) -> int:
    """One seed in [0, 2**63) from ``generator``, or from axon's global generator."""
    gen = B.rng() if generator is None else as_generator(generator)
    return int(gen.integers(0, 2**63, dtype=np.int64))


_base_seeds: tuple[np.random.Generator, np.random.Generator] | None = None


def draw_base_seed(generator=None) -> int:
    """The base seed of a DataLoader epoch (worker ``i`` is seeded ``base + i``).

    From the loader's ``generator`` when it has one, as torch. Otherwise from a stream of
    the loader's own, restarted from axon's seed at every ``axon.manual_seed``: so
    ``manual_seed`` fixes the workers' seeds, each epoch gets new ones, and the global
    generator's own draws (shuffles, initialisations, dropout) are the same with and
    without workers, and as they were before loaders had workers.
    """
    if generator is not None:
        return draw_seed(generator)
    return int(base_seed_stream().integers(0, 2**63, dtype=np.int64))


def base_seed_stream() -> np.random.Generator:
    """The stream :func:`draw_base_seed` draws from without a ``generator``: started from
    axon's seed the first time it is asked for after each ``axon.manual_seed`` (which
    replaces the global generator; ``axon.set_rng_state`` only moves it, so the stream
    keeps its place). A DataLoader's ``state_dict`` saves its position, and
    ``load_state_dict`` puts it back, so that the workers of a resumed run get the seeds
    of the original run."""
    global _base_seeds
    current = B.rng()
    if _base_seeds is None or _base_seeds[0] is not current:
        _base_seeds = (current, np.random.default_rng([B.initial_seed() % 2**64, 0xDA7A]))
    return _base_seeds[1]


def own_generator(generator):
    """An int seed made into one generator now, so that each pass continues its stream
    (``as_generator`` would start it afresh every time); anything else as it is."""
    if isinstance(generator, int | np.integer) and not isinstance(generator, bool):
        return as_generator(generator)
    return generator


def _stream(generator) -> np.random.Generator:
    """The generator a random sampler draws one pass from: its own, else the global one
    (looked up now: ``manual_seed`` replaces it)."""
    return as_generator(generator)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")
    return int(value)


def _bool(value, name: str, error=ValueError) -> bool:
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value}")
    return value


class Sampler:
    """Base class: subclasses define ``__iter__`` (the indices) and usually ``__len__``."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices of ``data_source`` in a random order.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw each index independently (uniformly, in chunks of 32) instead of
            taking a permutation.
        num_samples: how many indices a pass gives (default ``len(data_source)``); without
            replacement, more than the length chains whole permutations.
        generator: the stream to draw from (see the module doc).
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator=None,
    ) -> None:
        self.data_source = data_source
        self.replacement = _bool(replacement, "replacement", TypeError)
        self._num_samples = num_samples
        self.generator = own_generator(generator)
        _positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        gen = _stream(self.generator)
        if self.replacement:
            for _ in range(count // 32):
                yield from gen.integers(0, n, size=32).tolist()
            if count % 32:
                yield from gen.integers(0, n, size=count % 32).tolist()
        else:
            for _ in range(count // n):
                yield from gen.permutation(n).tolist()
            if count % n:  # (torch draws a last permutation even when it takes none of it)
                yield from gen.permutation(n).tolist()[: count % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one each pass)."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = own_generator(generator)

    def __iter__(self) -> Iterator[int]:
        gen = _stream(self.generator)
        for i in gen.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of ``[0, len(weights))``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)`` (weights need not sum to 1).

    With ``replacement=False`` an index is drawn at most once per pass, as torch's
    ``multinomial``: by a race in which index ``i`` finishes at an exponential time of rate
    ``weights[i]`` (which draws them one by one in proportion to the weights left), indices
    of weight 0 last, in a random order. ``num_samples`` must then be at most
    ``len(weights)`` (a RuntimeError when the pass starts).
    """

    def __init__(
        self, weights: Sequence[float], num_samples: int, replacement: bool = True, generator=None
    ) -> None:
        self.num_samples = _positive_int(num_samples, "num_samples")
        self.replacement = _bool(replacement, "replacement")
        w = np.asarray(weights.array if hasattr(weights, "array") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}"
            )
        self.weights = w
        self.generator = own_generator(generator)

    def _check(self) -> None:
        """torch.multinomial's checks, made when a pass starts."""
        w = self.weights
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError(
                f"probability tensor contains either `inf`, `nan` or element "
                f"< 0: weights {w.tolist()}"
            )
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and self.num_samples > len(w):
            raise RuntimeError(
                f"cannot sample n_sample={self.num_samples} > "
                f"len(weights)={len(w)} samples without replacement"
            )

    def __iter__(self) -> Iterator[int]:
        self._check()
        w, gen = self.weights, _stream(self.generator)
        if self.replacement:
            drawn = gen.choice(len(w), size=self.num_samples, p=w / w.sum())
        else:
            finish = np.full(len(w), np.inf)  # weight 0: never finishes
            np.divide(gen.exponential(size=len(w)), w, out=finish, where=w > 0)
            tie_break = gen.random(len(w))  # a random order among the weight-0 indices
            drawn = np.lexsort((tie_break, finish))[: self.num_samples]
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the 'indices' of an IterableDataset, one per sample to read."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``; the last list may be
    shorter unless ``drop_last``.

    ``list(BatchSampler(SequentialSampler(range(10)), 3, False))`` is
    ``[[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]``.
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.drop_last = _bool(drop_last, "drop_last")
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        n, bs = len(self.sampler), self.batch_size
        return n // bs if self.drop_last else -(-n // bs)


__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]
