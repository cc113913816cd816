"""``fit`` and ``evaluate`` under a process group of :mod:`axon.distributed`: which rank
writes, how the data are sharded, and how the ranks agree on what they log and decide.

:func:`group` is None without a process group (or with one rank): the loops then do
exactly what they do in one process. With several ranks it is a :class:`Ranks`, which
the loops ask to

- wrap the model in :class:`~axon.nn.parallel.DistributedDataParallel` for training
  (:meth:`Ranks.wrap`; :meth:`Ranks.unwrap` removes its gradient hooks afterwards);
- shard the data (:meth:`Ranks.shard`): every rank reads its own share of the dataset
  through a :class:`~axon.data.DistributedSampler`;
- combine numbers over the ranks (:meth:`Ranks.sums`, :meth:`Ranks.summed_logs`): every
  rank's values are gathered and added up in rank order on each rank, so every rank
  computes the same bits (an MPI all-reduce of floats may round differently on different
  ranks; decisions such as early stopping must not).

Writing (files, the progress bar, messages) is for rank 0: callbacks ask
:func:`speaks`, anything else :func:`is_global_zero`.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import _host, _wrap
from ..backend import float64

__all__ = ["Ranks", "group", "is_global_zero", "speaks"]


def group() -> Ranks | None:
    """The ranks of :mod:`axon.distributed`'s process group when it has more than one,
    else None (no process group, or a world of one: nothing to share)."""
    from .. import distributed as dist  # loaded with axon; mpi4py is not touched here

    if not dist.is_initialized():
        return None
    world = dist.get_world_size()
    return Ranks(dist.get_rank(), world) if world > 1 else None


def is_global_zero() -> bool:
    """Whether this process writes: rank 0 of a process group, or a process without one."""
    from .. import distributed as dist

    return not dist.is_initialized() or dist.get_rank() == 0


def speaks(callback) -> bool:
    """Whether ``callback`` may write files and print: inside ``fit`` on rank 0 only (its
    ``trainer`` says), outside ``fit`` always."""
    return getattr(callback.trainer, "is_global_zero", True)


class Ranks:
    """This process's ``rank`` among ``world`` ranks, and what the loops do with them."""

    def __init__(self, rank: int, world: int) -> None:
        from .. import distributed as dist

        self.rank, self.world, self.dist = rank, world, dist

    # ------------------------------------------------------------------ numbers
    def sums(self, values: list[float]) -> list[float]:
        """``values`` added up over the ranks, in rank order: the same bits on every rank."""
        return self.start_sums(values)()

    def start_sums(self, values: list[float]):
        """Start gathering every rank's ``values`` (the same length on each); returns the
        function that waits for them and returns their sums in rank order (so the
        latency can hide behind other work, such as backward)."""
        mine = _wrap(_host(list(values)).astype(float64).reshape(-1))
        parts = [_wrap(mine.array.copy()) for _ in range(self.world)]
        work = self.dist.all_gather(parts, mine, async_op=True)

        def finish() -> list[float]:
            work.wait()
            rows = [p.array.tolist() for p in parts]
            out = rows[0]
            for row in rows[1:]:
                out = [a + b for a, b in zip(out, row, strict=True)]
            return out

        return finish

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on some rank."""
        return self.sums([float(bool(flag))])[0] > 0

    def same(self, obj):
        """Rank 0's ``obj`` (JSON-able), on every rank."""
        box = [obj]
        self.dist.broadcast_object_list(box, src=0)
        return box[0]

    def first(self, obj):
        """The first of the ranks' ``obj`` (JSON-able) that is not None, in rank order."""
        every: list = [None] * self.world
        self.dist.all_gather_object(every, obj)
        return next((o for o in every if o is not None), None)

    def summed_logs(self, total: float, count: int, objective, stop: bool = False):
        """A loop's running loss ``total`` and ``count`` and ``objective``'s running sums
        (its metrics', through its ``state_dict``), added up over the ranks in one
        gather; the objective continues from the sums, so its ``logs()`` are the
        all-rank values. Returns ``(total, count, stop)``: ``stop`` true when ``stop`` was
        on some rank."""
        state = objective.state_dict()
        leaves: list[float] = []
        _numbers(state, leaves, "the objective's state")
        summed = self.sums([total, float(count), float(bool(stop)), *leaves])
        objective.load_state_dict(_with_numbers(state, iter(summed[3:])))
        return summed[0], int(summed[1]), summed[2] > 0

    # ------------------------------------------------------------------ the model
    def wrap(self, model):
        """``model`` as it trains under the group: a DistributedDataParallel given by the
        user as is, any other module wrapped in one (rank 0's parameters and buffers are
        broadcast to every rank now). Returns ``(ddp, made)``: ``made`` when fit made it
        (and :meth:`unwrap` must remove it)."""
        from ..nn.parallel import DistributedDataParallel

        if isinstance(model, DistributedDataParallel):
            return model, False
        return DistributedDataParallel(model), True

    @staticmethod
    def unwrap(ddp) -> None:
        """Remove the gradient hooks that ``fit``'s DistributedDataParallel put on the
        user's parameters: the model is left as it was given."""
        for handle in ddp._handles:
            handle.remove()
        ddp._handles = []

    def sync_buffers(self, ddp) -> None:
        """Rank 0's buffers (running statistics) to every rank, as the DDP forward does,
        when ``ddp`` broadcasts buffers: validation and the model after ``fit`` then
        agree on every rank."""
        if ddp.broadcast_buffers:
            for b in ddp.module.buffers():
                self.dist.broadcast(b.detach(), src=0)

    # ------------------------------------------------------------------ the data
    def shard(self, loader, *, seed: int, who: str):
        """This rank's share of ``loader`` (what ``as_loader`` made of the data given to
        ``who``): a DataLoader whose sampler is a DistributedSampler as it is; any other
        DataLoader over a map-style dataset in order or shuffled (a SequentialSampler or
        a RandomSampler without replacement, as ``shuffle`` makes them) rebuilt over the
        same dataset with ``DistributedSampler(dataset, shuffle=<it shuffled>,
        seed=seed)``, keeping its batch size, ``drop_last``, ``collate_fn``, workers and
        the rest (inside a :class:`~axon.data.transforms.BatchTransformLoader`, whose
        transform then applies to the shard's batches); anything else (an
        IterableDataset, another sampler, a batch sampler, a plain iterable of batches) a
        TypeError, since fit cannot know which batches are this rank's."""
        from ..data import DataLoader, DistributedSampler, RandomSampler, SequentialSampler
        from ..data.transforms import BatchTransformLoader
        from .batches import _NestedBatches

        if isinstance(loader, _NestedBatches):
            return _NestedBatches(self.shard(loader.loader, seed=seed, who=who), loader.tree)
        if type(loader) is BatchTransformLoader:  # augmentation: the same, on the shard
            inner = self.shard(loader.loader, seed=seed, who=who)
            return BatchTransformLoader(inner, loader.transform, loader.apply_to)
        where = f"{who} under a process group of {self.world} ranks"
        advice = (
            "give a Dataset, arrays, or a DataLoader over a map-style dataset (fit shards "
            "it), or a DataLoader whose sampler is a DistributedSampler"
        )
        if not isinstance(loader, DataLoader):
            raise TypeError(
                f"{where}: the data is a {type(loader).__name__}, whose batches fit cannot "
                f"split between the ranks; {advice}"
            )
        sampler = loader.sampler
        if isinstance(sampler, DistributedSampler):
            return loader
        if loader._iterable:
            raise TypeError(
                f"{where}: the DataLoader reads an IterableDataset "
                f"({type(loader.dataset).__name__}), which fit cannot split between the "
                f"ranks; {advice}"
            )
        shuffled = (
            type(sampler) is RandomSampler
            and not sampler.replacement
            and sampler._num_samples is None
        )
        if not (shuffled or type(sampler) is SequentialSampler):
            raise TypeError(
                f"{where}: the DataLoader draws its indices from a "
                f"{type(sampler).__name__}, which fit cannot split between the ranks; "
                f"{advice}"
            )
        if loader.batch_size is None and loader.batch_sampler is not None:
            raise TypeError(
                f"{where}: the DataLoader batches with its own "
                f"{type(loader.batch_sampler).__name__}, which fit cannot split between "
                f"the ranks; {advice}"
            )
        return DataLoader(
            loader.dataset,
            batch_size=loader.batch_size,
            sampler=DistributedSampler(
                loader.dataset, self.world, self.rank, shuffle=shuffled, seed=seed
            ),
            num_workers=loader.num_workers,
            collate_fn=loader.collate_fn,
            pin_memory=loader.pin_memory,
            drop_last=loader.drop_last,
            timeout=loader.timeout,
            worker_init_fn=loader.worker_init_fn,
            multiprocessing_context=loader.multiprocessing_context,
            generator=loader.generator,
            prefetch_factor=loader.prefetch_factor,
            persistent_workers=loader.persistent_workers,
            pin_memory_device=loader.pin_memory_device,
            in_order=loader.in_order,
        )

    @staticmethod
    def set_epoch(loader, epoch: int) -> None:
        """Tell the DistributedSampler of a sharded ``loader`` which epoch starts."""
        inner = getattr(loader, "loader", loader)
        sampler = getattr(inner, "sampler", None)
        if callable(getattr(sampler, "set_epoch", None)):
            sampler.set_epoch(epoch)


def _numbers(tree, out: list[float], what: str) -> None:
    """The numbers (ints and floats, not bools) of a nested dict/list state, in order."""
    if isinstance(tree, bool) or tree is None or isinstance(tree, str):
        return
    if isinstance(tree, int | float):
        out.append(float(tree))
    elif isinstance(tree, dict):
        for v in tree.values():
            _numbers(v, out, what)
    elif isinstance(tree, list | tuple):
        for v in tree:
            _numbers(v, out, what)
    else:
        raise TypeError(
            f"{what} holds a {type(tree).__name__}: only numbers (running sums and counts) "
            "can be added up over the ranks; a metric keeping other state cannot be "
            "used under a process group"
        )


def _with_numbers(tree, numbers) -> Any:
    """``tree`` with its numbers replaced, in order, by the next of ``numbers`` (ints
    stay ints)."""
    if isinstance(tree, bool) or tree is None or isinstance(tree, str):
        return tree
    if isinstance(tree, int):
        return int(round(next(numbers)))
    if isinstance(tree, float):
        return next(numbers)
    if isinstance(tree, dict):
        return {k: _with_numbers(v, numbers) for k, v in tree.items()}
    return type(tree)(_with_numbers(v, numbers) for v in tree)
