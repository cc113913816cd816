"""``DataParallel``: PyTorch's single-process multi-GPU wrapper, as it behaves on a
machine without GPUs, which is what axon is: it holds the module (state-dict keys
``module.*``, as torch's) and calls it on the whole batch. ``DistributedDataParallel``:
one model per MPI rank, gradients averaged over the ranks in buckets during backward."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..autograd.tensor import Tensor, _wrap
from ..backend import namespace
from .module import Module


class DataParallel(Module):
    """Wraps ``module``; ``forward(*inputs, **kwargs)`` is ``module(*inputs, **kwargs)``.

    torch splits each batch over ``device_ids`` and gathers on ``output_device``; when no
    GPU is available it ignores both, keeps ``device_ids = []`` and runs the module as
    is. axon has no GPU, so it does exactly that.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids: list = []
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


class DistributedDataParallel(Module):
    """Data-parallel training over the ranks of :mod:`axon.distributed` (torch's DDP).

    Every rank runs the same model on its own share of each batch. At construction the
    parameters and buffers are broadcast from rank 0, so differently seeded ranks start
    equal. During backward, each parameter's gradient, once accumulated, joins its bucket
    (parameters in reverse order, grouped by dtype, about ``bucket_cap_mb`` MiB each, the
    first at most 1 MiB as in torch); a full bucket is flattened and its all-reduce
    started at once (non-blocking), and the end of backward waits for them all and
    writes the average of the ranks' gradients back into ``.grad``. So after
    ``loss.backward()`` every rank holds the gradient of the mean loss over all ranks'
    examples, and the same optimizer step keeps them equal.

    ``no_sync()`` skips the reduction (accumulate gradients locally; the next synced
    backward reduces the sum). ``broadcast_buffers`` copies rank 0's buffers (BatchNorm's
    running statistics) to all ranks at each forward. A parameter without a gradient in a
    synced backward is an error naming it, unless ``find_unused_parameters=True``, which
    reduces it as zero. As in torch, the wrapped model is ``.module`` and the wrapper's
    state-dict keys carry the ``module.`` prefix: save ``ddp.module.state_dict()`` for
    the plain model's keys.

    The engine finishes a watched parameter as soon as the last node sending it a
    gradient has run (as torch's AccumulateGrad), so the last layers' buckets are
    reduced while backward is still computing the first layers' gradients. MPI moves a
    non-blocking collective along only inside MPI calls (without an asynchronous
    progress thread): each gradient that arrives tests the reductions in flight, which
    is what moves them.
    """

    def __init__(
        self,
        module: Module,
        device_ids=None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group=None,
        bucket_cap_mb: float | None = 25,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        from .. import distributed as dist

        super().__init__()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self._dist = dist
        self._world = dist.get_world_size()
        for t in (*module.parameters(), *module.buffers()):
            dist.broadcast(t.detach(), src=0)
        params = [p for p in module.parameters() if p.requires_grad]
        cap = (bucket_cap_mb or 25) * 2**20
        self._buckets = _buckets(params[::-1], cap, min(cap, FIRST_BUCKET_BYTES))
        self._bucket_of = {id(p): i for i, b in enumerate(self._buckets) for p in b}
        self._reset()
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self._world > 1:
            for b in self.module.buffers():
                self._dist.broadcast(b.detach(), src=0)
        self._reset()
        return self.module(*inputs, **kwargs)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within this context backward leaves gradients local (accumulated in ``.grad``);
        the first synced backward after it reduces the accumulated sum."""
        before, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    # ----------------------------------------------------------------- the reduction
    def _reset(self) -> None:
        self._ready = [set() for _ in self._buckets]
        self._works: list = []
        self._queued = False

    def _on_grad(self, p) -> None:
        if not self.require_backward_grad_sync:
            return
        if not self._queued:
            from ..autograd.function import queue_callback

            queue_callback(self._finish)
            self._queued = True
        i = self._bucket_of[id(p)]
        self._ready[i].add(id(p))
        if len(self._ready[i]) == len(self._buckets[i]):
            self._start(i)
        for work, _, _ in self._works:  # move the reductions in flight along
            work.is_completed()

    def _start(self, i: int) -> None:
        bucket = self._buckets[i]
        xp = namespace(bucket[0].array)
        flat = xp.concatenate(
            [
                p.grad.array.reshape(-1) if p.grad is not None else xp.zeros(p.numel(), p.dtype)
                for p in bucket
            ]
        )
        work = self._dist.all_reduce(_wrap(flat), async_op=True)  # shares flat
        self._works.append((work, i, flat))

    def _finish(self) -> None:
        for i, bucket in enumerate(self._buckets):
            missing = [p for p in bucket if id(p) not in self._ready[i]]
            if missing and not self.find_unused_parameters:
                names = {id(p): n for n, p in self.module.named_parameters()}
                raise RuntimeError(
                    "DistributedDataParallel: these parameters received no gradient in "
                    f"this backward: {[names.get(id(p), '?') for p in missing]}; pass "
                    "find_unused_parameters=True if the model leaves some unused"
                )
            if missing:
                self._start(i)
        for work, i, flat in self._works:
            work.wait()
            flat /= self._world
            offset = 0
            for p in self._buckets[i]:
                n = p.numel()
                part = flat[offset : offset + n].reshape(p.shape)
                if p.grad is None:
                    p.grad = Tensor(part.copy())
                else:
                    p.grad.array[...] = part
                offset += n
        self._reset()


FIRST_BUCKET_BYTES = 2**20
"""The first bucket's cap (torch's ``_DEFAULT_FIRST_BUCKET_BYTES``): the last layers'
gradients, ready first, start their reduction early."""


def _buckets(params: list, cap_bytes: float, first_cap: float | None = None) -> list[list]:
    """``params`` in order, cut into lists of one dtype of at most ``cap_bytes`` (the
    first at most ``first_cap``; a parameter larger than the cap is a bucket of its
    own)."""
    buckets: list[list] = []
    size = 0.0
    for p in params:
        nbytes = p.numel() * p.dtype.itemsize
        cap = first_cap if len(buckets) == 1 and first_cap is not None else cap_bytes
        if not buckets or buckets[-1][0].dtype != p.dtype or size + nbytes > cap:
            buckets.append([])
            size = 0.0
        buckets[-1].append(p)
        size += nbytes
    return buckets
