"""Pooling layers, with PyTorch's arguments and defaults (``stride`` defaults to
``kernel_size``): ``MaxPool1d/2d/3d``, ``AvgPool1d/2d/3d``, ``AdaptiveAvgPool1d/2d/3d``,
``AdaptiveMaxPool1d/2d/3d``, ``LPPool1d/2d/3d``, ``MaxUnpool1d/2d/3d`` and
``FractionalMaxPool2d/3d``."""

from __future__ import annotations

from ..autograd.tensor import Tensor
from . import functional as F
from .module import Module


class _MaxPoolNd(Module):
    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
            f", dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    """y[n, c, h, w] = max of the window x[n, c, h s + i d, w s + j d] over
    0 <= i < kh, 0 <= j < kw (padding counts as -inf). The gradient goes to the first
    maximum of each window, as in PyTorch. ``return_indices=True`` also returns the flat
    index (h W + w) of each maximum in its input plane."""

    def forward(self, input: Tensor):
        return F.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxPool1d(_MaxPoolNd):
    """:class:`MaxPool2d` over the last dimension of (N, C, L) or (C, L)."""

    def forward(self, input: Tensor):
        return F.max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool2d(Module):
    """y = (sum of each kh x kw window of the zero-padded input) / divisor, where the
    divisor is the window's size within the padded input (``count_include_pad``, the
    default), within the input itself, or ``divisor_override``."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _single(v) -> tuple:
    return (v,) if isinstance(v, int) else tuple(v)


class AvgPool1d(Module):
    """:class:`AvgPool2d` over the last dimension of (N, C, L) or (C, L)."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (Ho, Wo) whatever the input size: output i
    averages rows floor(i H / Ho) <= h < ceil((i + 1) H / Ho), and likewise columns.
    ``output_size``: an int, or a pair whose ``None`` entries keep the input's size."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """:class:`AdaptiveAvgPool2d` over the last dimension of (N, C, L) or (C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (Ho, Wo) whatever the input size: output i takes
    the maximum of rows floor(i H / Ho) <= h < ceil((i + 1) H / Ho), and likewise columns.
    ``return_indices=True`` also returns each maximum's flat index h W + w."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """:class:`AdaptiveMaxPool2d` over the last dimension of (N, C, L) or (C, L)."""

    def forward(self, input: Tensor):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class LPPool2d(Module):
    """Power-average pooling: y = (sum over each window of x^p)^(1/p), p = ``norm_type``
    (p = 1: sum pooling; p -> inf: max pooling). No padding; stride defaults to the
    kernel."""

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool2d(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, ceil_mode={self.ceil_mode}"
        )


class LPPool1d(LPPool2d):
    """:class:`LPPool2d` over the last dimension of (N, C, L) or (C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool1d(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )


class _MaxUnpoolNd(Module):
    _nd: int
    _unpool = None  # the functional form

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = F._ntuple(kernel_size, self._nd, "kernel_size", type(self).__name__)
        self.stride = F._ntuple(
            stride if stride is not None else kernel_size, self._nd, "stride", type(self).__name__
        )
        self.padding = F._ntuple(padding, self._nd, "padding", type(self).__name__)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return type(self)._unpool(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of :class:`MaxPool2d`: ``forward(input, indices)`` puts every
    value back where ``MaxPool2d(return_indices=True)`` found it, zeros elsewhere (an
    encoder-decoder's "unpooling", SegNet). ``output_size`` settles the size when the
    pooling floored it."""

    _nd = 2
    _unpool = staticmethod(F.max_unpool2d)


class MaxUnpool1d(_MaxUnpoolNd):
    """:class:`MaxUnpool2d` over the last dimension of (N, C, L) or (C, L)."""

    _nd = 1
    _unpool = staticmethod(F.max_unpool1d)


class MaxPool3d(_MaxPoolNd):
    """:class:`MaxPool2d` over the last three dimensions of (N, C, D, H, W) or
    (C, D, H, W); ``return_indices=True`` gives flat indices d H W + h W + w."""

    def forward(self, input: Tensor):
        return F.max_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool3d(AvgPool2d):
    """:class:`AvgPool2d` over the last three dimensions of (N, C, D, H, W) or
    (C, D, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """:class:`AdaptiveAvgPool2d` over the last three dimensions."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """:class:`AdaptiveMaxPool2d` over the last three dimensions."""

    def forward(self, input: Tensor):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class LPPool3d(LPPool2d):
    """:class:`LPPool2d` over the last three dimensions."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool3d(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )


class MaxUnpool3d(_MaxUnpoolNd):
    """:class:`MaxUnpool2d` over the last three dimensions, with the flat indices
    d H W + h W + w of ``MaxPool3d(return_indices=True)``."""

    _nd = 3
    _unpool = staticmethod(F.max_unpool3d)


class _FractionalMaxPoolNd(Module):
    """Arguments and checks of the fractional max poolings; ``_fn`` is the functional."""

    _nd: int
    _fn = None

    def __init__(
        self,
        kernel_size,
        output_size=None,
        output_ratio=None,
        return_indices: bool = False,
        _random_samples=None,
    ) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.kernel_size = F._ntuple(kernel_size, nd, "kernel_size", name)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = (
            None if output_size is None else F._ntuple(output_size, nd, "output_size", name)
        )
        self.output_ratio = (
            None
            if output_ratio is None
            else (
                (output_ratio,) * nd
                if isinstance(output_ratio, float | int)
                else tuple(output_ratio)
            )
        )
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        return type(self)._fn(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling (Graham, 2014): kh x kw maxima at pseudo-random window
    starts, shrinking H, W to ``output_size`` or by ``output_ratio`` (in (0, 1)), a
    factor that need not be an integer; new starts at every call unless
    ``_random_samples`` fixes them."""

    _nd = 2
    _fn = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """:class:`FractionalMaxPool2d` over the last three dimensions."""

    _nd = 3
    _fn = staticmethod(F.fractional_max_pool3d)
