"""Convolutions ``Conv1d/2d/3d`` and transposed convolutions ``ConvTranspose1d/2d/3d``:
learnable cross-correlations (and their adjoints) with PyTorch's arguments, defaults,
weight layouts ((out_channels, in_channels / groups, *kernel_size); transposed:
(in_channels, out_channels / groups, *kernel_size)) and initialisation, so a PyTorch
state dict loads unchanged."""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.tensor import Tensor
from . import functional as F
from . import init
from ._factory import factory_dtype, place
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value, n: int) -> tuple:
    return (value,) * n if isinstance(value, int) else tuple(value)


class _ConvNd(Module):
    """What the convolutions share: arguments, parameters, initialisation, padding modes.

    ``transposed`` and ``output_padding`` are torch's attributes on every convolution
    (False and zeros for an ordinary one); a transposed convolution's weight is
    (in_channels, out_channels / groups, *kernel_size) instead."""

    _nd: int
    _conv = None  # the functional form (F.conv1d, F.conv2d, ...)
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size, stride, dilation = (
            _tuple(kernel_size, nd),
            _tuple(stride, nd),
            _tuple(dilation, nd),
        )
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _tuple(padding, nd)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {set(_PADDING_MODES)}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.output_padding = (0,) * nd
        # F.pad's (left, right, top, bottom) order: the padding a non-zeros mode applies
        if padding == "same":
            pairs = F._same_padding(kernel_size, dilation)
        elif padding == "valid":
            pairs = ((0, 0),) * nd
        else:
            pairs = tuple((p, p) for p in padding)
        self._reversed_padding_repeated_twice = [p for pair in reversed(pairs) for p in pair]
        dt = factory_dtype(device, dtype)
        shape = self._weight_shape(in_channels, out_channels, groups, kernel_size)
        self.weight = Parameter(B.xp.empty(shape, dtype=dt))
        self.bias = Parameter(B.xp.empty((out_channels,), dtype=dt)) if bias else None
        self.reset_parameters()
        place(self, device)

    @staticmethod
    def _weight_shape(in_channels: int, out_channels: int, groups: int, kernel: tuple):
        return (out_channels, in_channels // groups, *kernel)

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: Kaiming-uniform with a = sqrt(5), i.e. weights and bias
        uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)], fan_in = in/groups * prod(kernel).
        A parameter a builder draws itself (``init._deferred``) is skipped here."""
        if not init._defers(self, self.weight):
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None and not init._defers(self, self.bias):
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        conv = type(self)._conv
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C, H, W) or (C, H, W) inputs:

        y[n, o] = b[o] + sum_c W[o, c] * x[n, c]     (* : 2-D cross-correlation)

    with ``stride``, zero ``padding`` (an int, a pair, 'valid' or 'same'), ``dilation``
    and ``groups`` (the channels split into that many independent blocks). ``padding_mode``
    'reflect', 'replicate' or 'circular' pads with :func:`F.pad` first. Output size per
    dimension: floor((n + 2p - d (k - 1) - 1) / s) + 1.
    """

    _nd = 2
    _conv = staticmethod(F.conv2d)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) or (C, L) inputs; as :class:`Conv2d`, with weight
    (out_channels, in_channels / groups, kernel_size)."""

    _nd = 1
    _conv = staticmethod(F.conv1d)


class _ConvTransposeNd(_ConvNd):
    """What the transposed convolutions share: torch's argument order (with
    ``output_padding`` after ``padding`` and ``dilation`` after ``bias``), the weight
    (in_channels, out_channels / groups, *kernel_size) initialised as a convolution's
    (fan_in = out_channels / groups * prod(kernel)), zero padding only, and the
    ``output_size`` argument of ``forward``."""

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            raise ValueError(f"{name} does not support string padding ({padding!r})")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.output_padding = _tuple(output_padding, self._nd)

    @staticmethod
    def _weight_shape(in_channels: int, out_channels: int, groups: int, kernel: tuple):
        return (in_channels, out_channels // groups, *kernel)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """``output_padding``, or the one that makes the output ``output_size`` (the last
        nd sizes given; each must lie between the smallest and largest possible)."""
        if output_size is None:
            return self.output_padding
        nd, name = self._nd, type(self).__name__
        output_size = [int(s) for s in output_size]
        if len(output_size) in (nd + 1, nd + 2):
            output_size = output_size[-nd:]
        if len(output_size) != nd:
            raise ValueError(
                f"{name}: for {input.ndim}D input, output_size must have {nd} "
                f"or {nd + 2} elements (got {len(output_size)})"
            )
        spatial = tuple(input.shape[-nd:])
        low = [
            (n - 1) * s - 2 * p + d * (k - 1) + 1
            for n, s, p, d, k in zip(
                spatial, self.stride, self.padding, self.dilation, self.kernel_size, strict=True
            )
        ]
        high = [lo + s - 1 for lo, s in zip(low, self.stride, strict=True)]
        if any(not lo <= o <= hi for o, lo, hi in zip(output_size, low, high, strict=True)):
            raise ValueError(
                f"requested an output size of {tuple(output_size)}, but valid "
                f"sizes range from {low} to {high} (for an input of {spatial})"
            )
        return tuple(o - lo for o, lo in zip(output_size, low, strict=True))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return type(self)._conv(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution ("deconvolution", fractionally strided convolution) of
    (N, C_in, H, W) or (C_in, H, W) inputs: the adjoint of :class:`Conv2d`, each input
    pixel adding the kernel, scaled by its value, into the output. Upsamples by
    ``stride``: output size (n - 1) s - 2 p + d (k - 1) + output_padding + 1, or the
    ``output_size`` given to ``forward``. Weight (C_in, C_out / groups, kh, kw)."""

    _nd = 2
    _conv = staticmethod(F.conv_transpose2d)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) or (C_in, L); as
    :class:`ConvTranspose2d`, with weight (C_in, C_out / groups, k)."""

    _nd = 1
    _conv = staticmethod(F.conv_transpose1d)


class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) volumes (video, medical
    scans); as :class:`Conv2d`, with weight (out_channels, in_channels / groups, kd, kh,
    kw)."""

    _nd = 3
    _conv = staticmethod(F.conv3d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution; as :class:`ConvTranspose2d`, with weight
    (in_channels, out_channels / groups, kd, kh, kw)."""

    _nd = 3
    _conv = staticmethod(F.conv_transpose3d)
