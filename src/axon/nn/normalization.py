"""Normalisation layers: ``BatchNorm1d/2d/3d``, ``SyncBatchNorm``, ``InstanceNorm1d/2d/3d``,
``LayerNorm``, ``GroupNorm``, ``RMSNorm``, ``LocalResponseNorm`` and ``CrossMapLRN2d``,
with PyTorch's arguments, defaults, parameters, buffers, state-dict keys and reprs.

Most normalise groups of values to zero mean and unit variance, then apply a learned
per-feature affine map:  y = (x - mean) / sqrt(var + eps) * weight + bias.
They differ in what a group is: batch norm, one channel across the batch (and every
position); instance norm, one sample's channel; layer norm, one sample's trailing
``normalized_shape``; group norm, one sample's group of channels. Every forward and
backward is one fused op (``axon.autograd.ops.norm``). RMS norm only rescales; the local
response norms divide by the energy of neighbouring channels.
"""

from __future__ import annotations

import warnings

from .. import backend as B
from ..autograd.tensor import Tensor, _wrap
from . import functional as F
from . import init
from ._factory import factory_dtype, place
from .module import Module, Parameter


def _affine_parameters(module: Module, affine: bool, bias: bool, shape: tuple, dtype) -> None:
    """Register ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None for each one
    switched off, under torch's names."""
    if affine:
        module.weight = Parameter(B.xp.ones(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(B.xp.zeros(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    """weight <- 1, bias <- 0, for whichever of them exist."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """What batch and instance norms share (torch's ``_NormBase``): ``num_features``,
    ``eps``, ``momentum``, the affine ``weight`` and ``bias``, the running buffers
    (``running_mean``, ``running_var``, ``num_batches_tracked``) and their resets, the
    repr. Batch norm and instance norm differ in forward; neither is the other's subclass,
    so ``isinstance(m, nn.modules.batchnorm._BatchNorm)`` picks batch norms only, as in
    torch."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = factory_dtype(device, dtype)
        _affine_parameters(self, affine, bias, (num_features,), dt)
        if track_running_stats:
            self.register_buffer("running_mean", _wrap(B.xp.zeros((num_features,), dtype=dt)))
            self.register_buffer("running_var", _wrap(B.xp.ones((num_features,), dtype=dt)))
            self.register_buffer("num_batches_tracked", _wrap(B.xp.zeros((), dtype=B.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        place(self, device)

    def reset_running_stats(self) -> None:
        """running_mean <- 0, running_var <- 1, num_batches_tracked <- 0."""
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        """Running statistics reset, weight <- 1, bias <- 0."""
        self.reset_running_stats()
        _reset_affine(self)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    """The shared body of ``BatchNorm1d/2d/3d``.

    Training: normalise with the batch's statistics (biased variance) and update the
    running ones, running <- (1 - momentum) running + momentum batch (with the unbiased
    variance); ``momentum=None`` makes that a cumulative average, momentum = 1 / t at the
    t-th batch. Eval: normalise with the running statistics. With
    ``track_running_stats=False`` there are no running buffers and batch statistics are
    used in both modes.
    """

    _expected_dims: tuple[int, ...] = ()

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self._expected_dims:
            want = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(
                f"{type(self).__name__}: expected {want} input (got {input.ndim}D input "
                f"of shape {tuple(input.shape)})"
            )
        if input.shape[1] != self.num_features:  # torch: RuntimeError, from batch_norm
            raise RuntimeError(
                f"{type(self).__name__}({self.num_features}): expected {self.num_features} "
                f"channels in dim 1, got input of shape {tuple(input.shape)}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        # batch statistics in training, and in eval when there are no running ones
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep_running = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if keep_running else None,
            self.running_var if keep_running else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
            _sync=self._sync() if use_batch else None,
        )

    def _sync(self):
        """A function summing an array over the processes of a distributed job, for the
        batch statistics (SyncBatchNorm), or None: each process normalises its own batch."""
        return None


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per channel C.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, the statistics taken over N (and
    L) in training, the running averages in eval.
    """

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel C (statistics over N, H, W).

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias.
    """

    _expected_dims = (4,)


class LayerNorm(Module):
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions of each
    sample: y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, with weight and bias of
    shape ``normalized_shape`` (ones and zeros at first). The same in train and eval.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = factory_dtype(device, dtype)
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape, dt)
        place(self, device)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalisation of (N, C, *) input: the C channels are split into
    ``num_groups`` groups and each sample's group is normalised on its own, then
    y = xhat * weight + bias per channel. Independent of the batch size; the same in
    train and eval.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(
                f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dt = factory_dtype(device, dtype)
        _affine_parameters(self, affine, bias, (num_channels,), dt)
        place(self, device)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class _InstanceNorm(_NormBase):
    """The shared body of ``InstanceNorm1d`` and ``InstanceNorm2d``: batch norm's
    parameters, buffers and state-dict keys, but statistics per (sample, channel) plane.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, mean and biased variance over
    each plane's positions. With ``track_running_stats`` the running buffers move towards
    the batch average of the planes' statistics in training and normalise in eval;
    without (the default) every call uses the input's own statistics. Unbatched input,
    one dimension short, is a batch of one. ``affine`` is off by default.
    """

    _spatial: int

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def forward(self, input: Tensor) -> Tensor:
        nd = self._spatial
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {nd + 1}D or {nd + 2}D input "
                f"(got {input.ndim}D input of shape {tuple(input.shape)})"
            )
        channels = input.shape[-nd - 1]
        if channels != self.num_features:
            message = (
                f"{type(self).__name__}: expected input's size at dim="
                f"{input.ndim - nd - 1} to match num_features ({self.num_features}), "
                f"but got input of shape {tuple(input.shape)}"
            )
            if self.affine:
                raise ValueError(message)
            warnings.warn(message + "; the input is normalised anyway", stacklevel=2)
        if input.ndim == nd + 1:  # unbatched: a batch of one
            return self.forward(input.unsqueeze(0)).squeeze(0)
        return F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L): each sample's channel normalised
    over L on its own (style transfer's normalisation, Ulyanov et al., 2016)."""

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W): each sample's channel
    normalised over H, W on its own."""

    _spatial = 2


class LocalResponseNorm(Module):
    """Normalisation across neighbouring channels (AlexNet, Krizhevsky et al., 2012):
    y[c] = x[c] / (k + alpha / n * sum of x[c']^2 over the n = ``size`` channels around
    c)^beta."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) input, per channel C (statistics over N, D,
    H, W)."""

    _expected_dims = (5,)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W)."""

    _spatial = 3


class RMSNorm(Module):
    """Root-mean-square normalisation over the last ``len(normalized_shape)`` dimensions:
    y = x / sqrt(mean(x^2) + eps) * weight (no centring, no bias; LLaMA's norm), weight
    starting at ones. ``eps=None``: the machine epsilon of the input's dtype."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = factory_dtype(device, dtype)
        _affine_parameters(self, elementwise_affine, False, self.normalized_shape, dt)
        place(self, device)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, *) input whose training statistics are those of all
    processes' batches together (:mod:`axon.distributed`'s group; the backward reduces
    its two sums too), so data-parallel training normalises as one process would on the
    union of the batches. Without a group, or with one process, it is plain batch
    normalisation. ``process_group``: only the default group (all ranks) is supported.
    Parameters, buffers and state-dict keys are BatchNorm's, so weights move between the
    two."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )
        self.process_group = process_group

    def _sync(self):
        from .. import distributed as dist

        if not dist.is_initialized() or dist.get_world_size() == 1:
            return None
        return _sum_over_processes

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(
                f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D "
                f"input of shape {tuple(input.shape)})"
            )
        if input.shape[1] != self.num_features:
            raise RuntimeError(
                f"SyncBatchNorm({self.num_features}): expected {self.num_features} channels "
                f"in dim 1, got input of shape {tuple(input.shape)}"
            )

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm1d/2d/3d inside it replaced by a SyncBatchNorm
        holding the same parameters and buffers (the module itself if it is one)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, cls):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            for name in ("weight", "bias"):
                setattr(out, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                out.register_buffer(name, getattr(module, name))
            out.train(module.training)
            return out
        for name, child in list(module._modules.items()):
            if child is not None:
                setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module


def _cross_map_window(channels: int, size: int):
    """The (C, C) 0/1 matrix of which channels' squares each channel's CrossMapLRN2d scale
    sums: torch's legacy (Lua Torch) running window, built by its own recurrence (start
    with the first ``size // 2 + 1`` channels, then slide: add the channel entering, drop
    the one leaving), edges included as it has them."""
    pre = (size - 1) // 2 + 1
    window = B.xp.zeros((channels, channels))
    window[0, : min(pre, channels)] = 1
    for c in range(1, channels):
        window[c] = window[c - 1]
        if c < channels - pre + 1:
            window[c, c + pre - 1] += 1
        if c > pre:
            window[c, c - pre] -= 1
    return window


class CrossMapLRN2d(Module):
    """Local response normalisation across channels of (N, C, H, W), Lua Torch's form:
    y[c] = x[c] / (k + alpha / size * sum of x[c']^2 over c's window)^beta, the window of
    :func:`_cross_map_window` (at the edges it differs from :class:`LocalResponseNorm`)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim != 4:
            raise ValueError(
                f"CrossMapLRN2d: expected 4D input (got {input.ndim}D input of "
                f"shape {tuple(input.shape)})"
            )
        window = _cross_map_window(input.shape[1], self.size).astype(input.dtype)
        window = _wrap(window).to(input.device)  # built on the host
        squares = (input * input).transpose(1, 3)  # (N, W, H, C)
        sums = (squares @ window.transpose(0, 1)).transpose(1, 3)  # (N, C, H, W)
        return input * (sums * (self.alpha / self.size) + self.k).pow(-self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _sum_over_processes(array):
    """``array`` summed over every process of the distributed job (a new array)."""
    from .. import distributed as dist
    from ..autograd.tensor import _wrap

    total = _wrap(array.copy())
    dist.all_reduce(total)
    return total.array
