"""The functional forms of the convolutions added for running PyTorch programs
unchanged: transposed convolution (1-D, 2-D, 3-D), ``unfold`` / ``fold`` (im2col and
col2im) and ``conv3d``. :mod:`axon.nn.functional` re-exports every name here, so they are
called as ``F.conv_transpose2d`` like the rest.

Each takes PyTorch's arguments in PyTorch's order and raises PyTorch's exception class
for bad input, with a message naming the shapes at fault.
"""

from __future__ import annotations

from ..autograd.ops.conv3d import Conv3d, ConvTranspose3d
from ..autograd.ops.conv_transpose import ConvTranspose
from ..autograd.ops.fold import Fold, Unfold, unfold_geometry
from ..autograd.tensor import Tensor
from . import functional as F

__all__ = ["conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "fold", "unfold"]


# ============================================================ transposed convolution


def _conv_transpose(
    name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation
):
    """Arguments as ``nd``-tuples, checked as torch checks them, then the fused op."""
    stride = F._ntuple(stride, nd, "stride", name)
    dilation = F._ntuple(dilation, nd, "dilation", name)
    if isinstance(padding, str):
        raise RuntimeError(
            f"{name}: string padding {padding!r} is not supported for "
            "transposed convolutions (give the padding as integers)"
        )
    padding = F._ntuple(padding, nd, "padding", name)
    output_padding = F._ntuple(output_padding, nd, "output_padding", name)
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{name}: non-positive stride is not supported (stride={stride})")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{name}: dilation should be greater than zero (dilation={dilation})")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"{name}: negative padding is not supported (padding={padding})")
    if groups <= 0:
        raise RuntimeError(f"{name}: non-positive groups is not supported (groups={groups})")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise RuntimeError(
            f"{name}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    if nd == 1:  # run as 2-D with a height of 1
        stride, padding, output_padding, dilation = (
            (1, *stride),
            (0, *padding),
            (0, *output_padding),
            (1, *dilation),
        )
    return ConvTranspose.apply(
        input, weight, bias, stride, padding, output_padding, dilation, groups, name
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution ("deconvolution") of ``input`` (N, C_in, H, W) or
    (C_in, H, W) with ``weight`` (C_in, C_out / groups, kh, kw): the adjoint of
    :func:`conv2d`, each input pixel scattering a weighted kernel into the output.
    Output size per dimension: (n - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """1-D transposed convolution of (N, C_in, L) or (C_in, L) with weight
    (C_in, C_out / groups, k); as :func:`conv_transpose2d`."""
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """3-D transposed convolution of (N, C_in, D, H, W) with weight
    (C_in, C_out / groups, kd, kh, kw): the adjoint of :func:`conv3d`."""
    name = "conv_transpose3d"
    stride, padding, output_padding, dilation = (
        F._ntuple(v, 3, what, name)
        for v, what in (
            (stride, "stride"),
            (padding, "padding"),
            (output_padding, "output_padding"),
            (dilation, "dilation"),
        )
    )
    if groups <= 0 or min(stride) <= 0 or min(dilation) <= 0 or min(padding) < 0:
        raise RuntimeError(
            f"{name}: invalid stride={stride}, padding={padding}, "
            f"dilation={dilation} or groups={groups}"
        )
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise RuntimeError(
            f"{name}: output padding must be smaller than either stride or "
            f"dilation, but got output_padding={output_padding}, stride="
            f"{stride}, dilation={dilation}"
        )
    return ConvTranspose3d.apply(
        input, weight, bias, stride, padding, output_padding, dilation, groups, name
    )


# ============================================================ unfold and fold (im2col)


def _block_args(name: str, kernel_size, dilation, padding, stride):
    args = tuple(
        F._ntuple(v, 2, what, name)
        for v, what in (
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )
    kernel, dilation, padding, stride = args
    for what, values, low in (
        ("kernel size", kernel, 1),
        ("dilation", dilation, 1),
        ("padding", padding, 0),
        ("stride", stride, 1),
    ):
        if any(v < low for v in values):
            raise RuntimeError(
                f"{name}: {what} should be "
                f"{'greater than zero' if low else 'non-negative'}, but got "
                f"{what}={values}"
            )
    return args


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: every sliding ``kernel_size`` window of the zero-padded (N, C, H, W) (or
    (C, H, W)) input as a column, giving (N, C kh kw, L) with L the number of windows;
    row (c, i, j) of a column holds x[c, h s + i d, w s + j d]. A convolution is
    ``weight.view(O, -1) @ unfold(x, k)``."""
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"unfold: expected a 3-D (unbatched) or 4-D (batched) input, got input of shape "
            f"{tuple(input.shape)}"
        )
    args = _block_args("unfold", kernel_size, dilation, padding, stride)
    return Unfold.apply(input, *args)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im, the adjoint of :func:`unfold`: columns (N, C kh kw, L) (or (C kh kw, L))
    summed back onto their windows of an (N, C, *output_size) image, overlaps adding."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"fold: expected a 2-D (unbatched) or 3-D (batched) input, got input of shape "
            f"{tuple(input.shape)}"
        )
    output_size = F._ntuple(output_size, 2, "output_size", "fold")
    kernel, dilation, padding, stride = _block_args("fold", kernel_size, dilation, padding, stride)
    ck, length = input.shape[-2:]
    if ck % (kernel[0] * kernel[1]):
        raise RuntimeError(
            f"fold: expected size of input's dimension {input.ndim - 2} to be divisible by "
            f"the product of kernel_size, but got input of shape {tuple(input.shape)} and "
            f"kernel_size={kernel}"
        )
    blocks = unfold_geometry("fold", output_size, kernel, dilation, padding, stride)
    if blocks[0] * blocks[1] != length:
        raise RuntimeError(
            f"fold: given output_size={output_size}, kernel_size={kernel}, dilation="
            f"{dilation}, padding={padding}, stride={stride}, expected size of input's last "
            f"dimension to match the calculated number of sliding blocks {blocks[0]} * "
            f"{blocks[1]} = {blocks[0] * blocks[1]}, but got input of shape "
            f"{tuple(input.shape)}"
        )
    return Fold.apply(input, output_size, kernel, dilation, padding, stride)


# ============================================================ volumetric convolution


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation of (N, C, D, H, W) or (C, D, H, W) with weight
    (O, C / groups, kd, kh, kw); ``padding``: ints, 'valid' or 'same' (stride 1)."""
    name = "conv3d"
    stride, dilation = (
        F._ntuple(v, 3, what, name) for v, what in ((stride, "stride"), (dilation, "dilation"))
    )
    if groups <= 0 or min(stride) <= 0 or min(dilation) <= 0:
        raise RuntimeError(
            f"{name}: stride, dilation and groups must be positive, got "
            f"stride={stride}, dilation={dilation}, groups={groups}"
        )
    if padding == "same":
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        pairs = F._same_padding(tuple(weight.shape[2:]), dilation)
        if any(lo != hi for lo, hi in pairs):  # an even kernel: the odd one after
            input = F.pad(input, [p for lo, hi in reversed(pairs) for p in (0, hi - lo)])
        padding = tuple(lo for lo, _ in pairs)
    elif padding == "valid":
        padding = (0, 0, 0)
    elif isinstance(padding, str):
        raise RuntimeError(
            f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}"
        )
    padding = F._ntuple(padding, 3, "padding", name)
    if min(padding) < 0:
        raise RuntimeError(f"{name}: negative padding is not supported (padding={padding})")
    return Conv3d.apply(input, weight, bias, stride, padding, dilation, groups, name)
