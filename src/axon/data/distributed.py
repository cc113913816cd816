"""``DistributedSampler``: one replica's share of a dataset, as torch's
(``torch.utils.data.distributed``).

Each of ``num_replicas`` processes reads every ``num_replicas``-th index of one common
order, starting at its ``rank``; the order is padded by repeating its start (or cut, with
``drop_last``) so that every replica gets the same number. Shuffled orders come from a
generator seeded with ``seed + epoch`` (call :meth:`set_epoch` each epoch), so all
replicas agree. ``num_replicas`` and ``rank`` default to the world size and rank of
:mod:`axon.distributed`'s process group (torch's ValueError without one); with
``num_replicas=1`` a single-process program runs unchanged. The shuffled numbers are not
torch's (the generators differ); the rules are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..backend.generator import Generator
from .sampler import Sampler


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that replica ``rank`` of ``num_replicas`` reads."""

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:  # the process group's (ValueError without)
            from .. import distributed

            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = g.rng.permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:  # pad with the order's start, repeated as often as needed
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / max(len(indices), 1)))[:padding]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch number: shuffled orders differ between epochs and agree across
        replicas."""
        self.epoch = epoch

    def state_dict(self) -> dict:
        """The epoch (and seed) that fix the order: what a resumed run needs back.
        (A :class:`~axon.data.DataLoader` over this sampler saves the epoch in its own
        ``state_dict``, together with its position in the epoch.)"""
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """Put back the epoch saved by :meth:`state_dict`; a different seed is a
        ValueError (the orders would differ)."""
        if state.get("seed", self.seed) != self.seed:
            raise ValueError(
                f"DistributedSampler.load_state_dict: the state was saved with "
                f"seed={state['seed']}, this sampler has seed={self.seed}"
            )
        self.set_epoch(int(state["epoch"]))
