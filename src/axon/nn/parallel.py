"""``DataParallel``: PyTorch's single-process multi-GPU wrapper, as it behaves on a
machine without GPUs, which is what axon is: it holds the module (state-dict keys
``module.*``, as torch's) and calls it on the whole batch."""

from __future__ import annotations

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
