"""The functional forms of the layers added for running PyTorch programs unchanged:
transposed convolution, ``unfold`` / ``fold``, pixel shuffling, instance and local
response normalisation, LP and adaptive max pooling, max unpooling, ``embedding_bag`` and
``bilinear``. :mod:`axon.nn.functional` re-exports every name here, so they are called as
``F.conv_transpose2d`` like the rest.

Each takes PyTorch's arguments in PyTorch's order and raises PyTorch's exception class
for bad input, with a message naming the shapes at fault.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor, _wrap
from ..backend import xp
from . import _conv3d_ops, _conv_ops, _pool_ops, _transpose_conv_ops
from . import functional as F

__all__ = ["conv_transpose1d", "conv_transpose2d", "fold", "unfold"]


# ============================================================ transposed convolution


def _conv_transpose(name, nd, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    """Arguments as ``nd``-tuples, checked as torch checks them, then the fused op."""
    stride = F._ntuple(stride, nd, "stride", name)
    dilation = F._ntuple(dilation, nd, "dilation", name)
    if isinstance(padding, str):
        raise RuntimeError(f"{name}: string padding {padding!r} is not supported for "
                           "transposed convolutions (give the padding as integers)")
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
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation,
                                                   strict=True)):
        raise RuntimeError(
            f"{name}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    if nd == 1:  # run as 2-D with a height of 1
        stride, padding, output_padding, dilation = ((1, *stride), (0, *padding),
                                                     (0, *output_padding), (1, *dilation))
    return _transpose_conv_ops.ConvTranspose.apply(input, weight, bias, stride, padding,
                                                   output_padding, dilation, groups, name)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution") of ``input`` (N, C_in, H, W) or
    (C_in, H, W) with ``weight`` (C_in, C_out / groups, kh, kw): the adjoint of
    :func:`conv2d`, each input pixel scattering a weighted kernel into the output.
    Output size per dimension: (n - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of (N, C_in, L) or (C_in, L) with weight
    (C_in, C_out / groups, k); as :func:`conv_transpose2d`."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


# ============================================================ unfold and fold (im2col)


def _block_args(name: str, kernel_size, dilation, padding, stride):
    args = tuple(F._ntuple(v, 2, what, name) for v, what in (
        (kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
        (stride, "stride")))
    kernel, dilation, padding, stride = args
    for what, values, low in (("kernel size", kernel, 1), ("dilation", dilation, 1),
                              ("padding", padding, 0), ("stride", stride, 1)):
        if any(v < low for v in values):
            raise RuntimeError(f"{name}: {what} should be "
                               f"{'greater than zero' if low else 'non-negative'}, but got "
                               f"{what}={values}")
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
    return _transpose_conv_ops.Unfold.apply(input, *args)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im, the adjoint of :func:`unfold`: columns (N, C kh kw, L) (or (C kh kw, L))
    summed back onto their windows of an (N, C, *output_size) image, overlaps adding."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"fold: expected a 2-D (unbatched) or 3-D (batched) input, got input of shape "
            f"{tuple(input.shape)}"
        )
    output_size = F._ntuple(output_size, 2, "output_size", "fold")
    kernel, dilation, padding, stride = _block_args("fold", kernel_size, dilation, padding,
                                                    stride)
    ck, length = input.shape[-2:]
    if ck % (kernel[0] * kernel[1]):
        raise RuntimeError(
            f"fold: expected size of input's dimension {input.ndim - 2} to be divisible by "
            f"the product of kernel_size, but got input of shape {tuple(input.shape)} and "
            f"kernel_size={kernel}"
        )
    blocks = _transpose_conv_ops._unfold_geometry("fold", output_size, kernel, dilation,
                                                  padding, stride)
    if blocks[0] * blocks[1] != length:
        raise RuntimeError(
            f"fold: given output_size={output_size}, kernel_size={kernel}, dilation="
            f"{dilation}, padding={padding}, stride={stride}, expected size of input's last "
            f"dimension to match the calculated number of sliding blocks {blocks[0]} * "
            f"{blocks[1]} = {blocks[0] * blocks[1]}, but got input of shape "
            f"{tuple(input.shape)}"
        )
    return _transpose_conv_ops.Fold.apply(input, output_size, kernel, dilation, padding,
                                          stride)


# ============================================================ pixel and channel shuffling

__all__ += ["channel_shuffle", "pixel_shuffle", "pixel_unshuffle"]


def _check_shuffle(name: str, input: Tensor, factor: int, what: str) -> None:
    if input.ndim < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got "
                           f"input of shape {tuple(input.shape)}")
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[c, h r + i, w r + j] = x[c r^2 + i r + j,
    h, w]. Trades channels for resolution (sub-pixel convolution, Shi et al., 2016)."""
    r = int(upscale_factor)
    _check_shuffle("pixel_shuffle", input, r, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input of shape {tuple(input.shape)} has {c} "
            f"channels, not divisible by {r * r}"
        )
    b = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)  # (*, C, i, j, H, W)
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)  # (*, C, H, i, W, j)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of :func:`pixel_shuffle`."""
    r = int(downscale_factor)
    _check_shuffle("pixel_unshuffle", input, r, "downscale_factor")
    *batch, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(
            f"pixel_unshuffle expects height and width to be divisible by downscale_factor, "
            f"but input of shape {tuple(input.shape)} is not divisible by {r}"
        )
    b = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)  # (*, C, H, i, W, j)
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)  # (*, C, i, j, H, W)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with C = g k: channel (i, j) of the (g, k) grid moves to (j, i), so the
    next grouped convolution sees channels of every group (ShuffleNet, Zhang et al.)."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, "
                           f"but got input of shape {tuple(input.shape)}")
    n, c, *rest = input.shape
    if groups <= 0 or c % groups:
        raise RuntimeError(f"channel_shuffle: number of channels must be divisible by "
                           f"groups; got input of shape {tuple(input.shape)} and groups={groups}")
    x = input.reshape(n, groups, c // groups, *rest)
    return x.transpose(1, 2).reshape(n, c, *rest)


# ============================================================ instance and local response norm

__all__ += ["instance_norm", "local_response_norm"]


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation of (N, C, *): each (sample, channel) plane normalised by its
    own mean and biased variance, y = xhat * weight + bias per channel (group norm with
    one channel per group). Running buffers, when given, move towards the batch average
    of the planes' means and unbiased variances; ``use_input_stats=False`` normalises
    with them instead (as batch norm in eval)."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input of shape (N, C, *) with spatial "
                         f"dimensions, got {tuple(input.shape)}")
    if not use_input_stats:
        return F.batch_norm(input, running_mean, running_var, weight, bias, False, momentum,
                            eps)
    n, c = input.shape[:2]
    if input.numel() // max(n * c, 1) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input "
                         f"size {tuple(input.shape)}")
    if running_mean is not None or running_var is not None:
        _update_instance_stats(input, running_mean, running_var, momentum)
    return F.group_norm(input, c, weight, bias, eps)


def _update_instance_stats(input: Tensor, running_mean, running_var, momentum: float) -> None:
    """r <- (1 - momentum) r + momentum * (the batch mean of the planes' statistics)."""
    planes = input.array.reshape(input.shape[0], input.shape[1], -1)  # (N, C, positions)
    if running_mean is not None:
        rm = running_mean.array
        rm *= 1 - momentum
        rm += momentum * planes.mean(axis=2).mean(axis=0).astype(rm.dtype)
    if running_var is not None:
        rv = running_var.array
        rv *= 1 - momentum
        rv += momentum * planes.var(axis=2, ddof=1).mean(axis=0).astype(rv.dtype)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Normalisation across neighbouring channels (AlexNet's):
    y[c] = x[c] / (k + alpha / size * sum of x[c']^2 over the ``size`` channels around c
    (zero beyond the edges))^beta."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher dimensionality input "
                         f"(got input of shape {tuple(input.shape)})")
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    squares = (input * input).reshape(n, 1, c, -1)  # (N, 1, C, positions)
    squares = F.pad(squares, (0, 0, size // 2, (size - 1) // 2))  # zero channels around
    div = F.avg_pool2d(squares, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k).pow(beta)


# ============================================================ LP and adaptive max pooling

__all__ += ["adaptive_max_pool1d", "adaptive_max_pool2d", "lp_pool1d", "lp_pool2d",
            "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _lp_root(pooled: Tensor, window: int, norm_type: float) -> Tensor:
    """(window * mean of x^p)^(1/p), with negative means (odd p) clipped to zero."""
    return (pooled.sign() * pooled.abs().relu() * window).pow(1.0 / norm_type)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: y = (sum over each window of x^p)^(1/p); p = 1 is sum
    pooling, p -> inf max pooling."""
    kh, kw = F._ntuple(kernel_size, 2, "kernel_size", "lp_pool2d")
    pooled = F.avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return _lp_root(pooled, kh * kw, norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """:func:`lp_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    (k,) = F._ntuple(kernel_size, 1, "kernel_size", "lp_pool1d")
    pooled = F.avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return _lp_root(pooled, k, norm_type)


def _adaptive_max(name: str, nd: int, input: Tensor, output_size, return_indices: bool):
    if input.ndim not in (nd + 1, nd + 2) or 0 in input.shape[-nd:]:
        raise RuntimeError(f"{name}: expected a {nd + 1}-D or {nd + 2}-D input with non-zero "
                           f"spatial sizes, got input of shape {tuple(input.shape)}")
    size = F._adaptive_size(name, output_size, input.shape[-nd:])
    x4 = _conv_ops.to_4d(input.array, nd)  # (N, C, H, W); 1-D: H = 1
    out_hw = (1, *size) if nd == 1 else size
    idx = _pool_ops.adaptive_max_indices(x4, out_hw)  # (N, C, Ho, Wo)
    N, C, H, W = x4.shape
    flat = input.reshape(N * C, H * W)
    out = _pool_ops.PlaneGather.apply(flat, idx.reshape(N * C, -1))
    shape = input.shape[:-nd] + tuple(size)
    out = out.reshape(shape)
    return (out, _wrap(idx.reshape(shape))) if return_indices else out


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size (Ho, Wo): output i takes the maximum of rows
    floor(i H / Ho) <= h < ceil((i + 1) H / Ho) (and likewise columns). The gradient goes
    to each window's first maximum; ``return_indices`` also gives its flat index h W + w."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """:func:`lp_pool2d` over the last three dimensions."""
    kernel = F._ntuple(kernel_size, 3, "kernel_size", "lp_pool3d")
    pooled = avg_pool3d(input.pow(norm_type), kernel, stride, 0, ceil_mode)
    return _lp_root(pooled, _prod(kernel), norm_type)


def _max_unpool(name: str, nd: int, input: Tensor, indices, kernel_size, stride, padding,
                output_size) -> Tensor:
    kernel = F._ntuple(kernel_size, nd, "kernel_size", name)
    stride = kernel if stride is None else F._ntuple(stride, nd, "stride", name)
    padding = F._ntuple(padding, nd, "padding", name)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: expected a {nd + 1}-D or {nd + 2}-D input, got input of "
                           f"shape {tuple(input.shape)}")
    idx = indices.array if isinstance(indices, Tensor) else xp.asarray(indices)
    if idx.shape != tuple(input.shape):
        raise RuntimeError(f"{name}: expected indices of the input's shape "
                           f"{tuple(input.shape)}, got indices of shape {idx.shape}")
    spatial = input.shape[-nd:]
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(spatial, stride, padding,
                                                                  kernel, strict=True))
    if output_size is None:
        size = default
    else:
        size = tuple(int(s) for s in output_size)[-nd:]
        low = tuple(d - s for d, s in zip(default, stride, strict=True))
        high = tuple(d + s for d, s in zip(default, stride, strict=True))
        if len(size) != nd or any(not lo < o < hi for o, lo, hi in zip(size, low, high,
                                                                        strict=True)):
            raise ValueError(f"{name}: invalid output_size {tuple(output_size)} (dim "
                             f"{nd} must be between {low} and {high})")
    plane = _prod(size)  # positions per output plane
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise RuntimeError(f"{name}: found an invalid max index {bad} (output planes are of "
                           f"size {'x'.join(map(str, size))})")
    rows = _prod(input.shape[:-nd])  # (N, C) or (C,) planes
    out = _pool_ops.PlaneScatter.apply(input.reshape(rows, -1), idx.reshape(rows, -1), plane)
    return out.reshape(*input.shape[:-nd], *size)


def _prod(shape) -> int:
    p = 1
    for s in shape:
        p *= s
    return p


def max_unpool2d(input: Tensor, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of :func:`max_pool2d`: each value put back at the position its
    ``indices`` (from ``return_indices=True``) name, zeros elsewhere. Output size
    (H - 1) s - 2 p + k per dimension, or ``output_size``."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool1d(input: Tensor, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """:func:`max_unpool2d` over the last dimension of (N, C, L) or (C, L)."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input: Tensor, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """:func:`max_unpool2d` over the last three dimensions (flat indices d H W + h W + w)."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


# ============================================================ bilinear

__all__ += ["bilinear"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """y[..., o] = x1[..., :] A[o] x2[..., :] + b[o] for inputs (*, in1), (*, in2) and
    weight A (out, in1, in2): one bilinear form per output feature, computed as one
    product x1 A' with A' = A laid out (in1, out in2), then a sum against x2."""
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got input1 of shape "
                           f"{tuple(input1.shape)} and input2 of shape {tuple(input2.shape)}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got input1 of "
                           f"shape {tuple(input1.shape)} and input2 of shape "
                           f"{tuple(input2.shape)}")
    if weight.ndim != 3 or tuple(weight.shape[1:]) != (input1.shape[-1], input2.shape[-1]):
        raise RuntimeError(f"bilinear(): weight of shape {tuple(weight.shape)} does not match "
                           f"input1 of shape {tuple(input1.shape)} and input2 of shape "
                           f"{tuple(input2.shape)} (expected (out, {input1.shape[-1]}, "
                           f"{input2.shape[-1]}))")
    out, in1, in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)  # (n, in1)
    x2 = input2.reshape(-1, in2)  # (n, in2)
    a = weight.permute(1, 0, 2).reshape(in1, out * in2)  # (in1, out in2)
    y = ((x1 @ a).reshape(-1, out, in2) * x2.unsqueeze(1)).sum(-1)  # (n, out)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out)


# ============================================================ embedding bags

__all__ += ["embedding_bag"]


def _bags(name: str, input, offsets, include_last_offset: bool):
    """Flat indices (T,), the bag of each, how many bags, and which tokens lie inside a
    bag (with ``include_last_offset`` those past the last offset do not)."""
    idx = _array(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected integer indices (int64 or int32), got input "
                           f"of dtype {idx.dtype}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{name}: if input is 2D, then offsets has to be None, as input "
                             f"is treated as a mini-batch of fixed length sequences; got "
                             f"input of shape {idx.shape} and offsets")
        n, length = idx.shape
        starts = xp.arange(n) * length
        ends = starts + length
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError(f"{name}: offsets has to be a 1D Tensor but got None (input of "
                             f"shape {idx.shape})")
        offs = _array(offsets)
        if offs.ndim != 1:
            raise ValueError(f"{name}: offsets has to be a 1D Tensor, got offsets of shape "
                             f"{offs.shape}")
        offs = offs.astype(xp.int64)
        if offs.size and offs[0] != 0:
            raise RuntimeError(f"{name}: offsets[0] has to be 0, i.e., the first sequence in "
                               f"the mini-batch has to start from position 0. However, got "
                               f"{int(offs[0])}")
        if offs.size and offs[-1] > idx.size:
            raise RuntimeError(f"{name}: offsets[-1] can not be greater than input's length "
                               f"{idx.size} but got offsets[-1] of {int(offs[-1])}")
        if include_last_offset:
            starts, ends = offs[:-1], offs[1:]
        else:
            starts, ends = offs, xp.append(offs[1:], idx.size)
    else:
        raise ValueError(f"{name}: input has to be 1D or 2D Tensor, but got input of shape "
                         f"{idx.shape}")
    flat = idx.reshape(-1)
    t = xp.arange(flat.size)
    bag = xp.searchsorted(starts, t, side="right") - 1  # the last bag starting at or before t
    inside = (bag >= 0) & (t < (ends[-1] if len(ends) else 0))
    return flat, xp.maximum(bag, 0), len(starts), inside


def embedding_bag(input, weight: Tensor, offsets=None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean",
                  sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> Tensor:
    """Sum, mean or max of the embedding rows of each bag of indices, without building
    the (bag, length, D) lookup: for a 2-D input (B, L) every row is a bag; for a 1-D
    input bag b is input[offsets[b]:offsets[b + 1]]. ``per_sample_weights`` (mode 'sum')
    weight each row; ``padding_idx`` entries are left out (and not counted by 'mean');
    an empty bag gives zeros. Sum and mean are one product M @ rows with the (B, T)
    bag-membership matrix M."""
    name = "embedding_bag"
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{name}: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"{name}: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' "
                                  f"(got mode={mode!r})")
    flat, bag, num_bags, keep = _bags(name, input, offsets, include_last_offset)
    in_shape = _array(input).shape
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != in_shape:
        raise ValueError(f"{name}: If per_sample_weights ({tuple(per_sample_weights.shape)}) "
                         f"is not None, then it must have the same shape as the input "
                         f"({in_shape})")
    v = weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= v):
        bad = int(flat.min()) if flat.min() < 0 else int(flat.max())
        raise RuntimeError(f"{name}: index {bad} is out of range for a weight of shape "
                           f"{tuple(weight.shape)}")
    if padding_idx is not None:
        padding_idx = padding_idx + v if padding_idx < 0 else padding_idx
        keep = keep & (flat != padding_idx)
    rows = F.embedding(_wrap(flat), weight, padding_idx, max_norm, norm_type,
                       scale_grad_by_freq, sparse)  # (T, D)
    if mode == "max":
        kept = xp.flatnonzero(keep)
        return _pool_ops.SegmentMax.apply(rows.index_select(0, kept), bag[kept], num_bags)
    members = xp.zeros((num_bags, flat.size), weight.dtype)  # M[b, t]: token t in bag b
    members[bag[keep], xp.flatnonzero(keep)] = 1
    if mode == "mean":
        members /= xp.maximum(members.sum(axis=1, keepdims=True), 1)
    m = _wrap(members)
    if per_sample_weights is not None:
        m = m * per_sample_weights.reshape(-1)  # (B, T) * (T,): a gradient for the weights
    return m @ rows  # (B, T) @ (T, D)


def _array(x):
    return x.array if isinstance(x, Tensor) else xp.asarray(x)


# ============================================================ RMS norm

__all__ += ["rms_norm"]


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dimensions:
    y = x / sqrt(mean(x^2) + eps) * weight, with no centring and no bias (Zhang and
    Sennrich, 2019; LLaMA's norm). ``eps=None``: the machine epsilon of x's dtype."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
        int(s) for s in normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise RuntimeError(f"rms_norm: given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of "
                           f"shape {tuple(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"rms_norm: weight of shape {tuple(weight.shape)} does not match "
                           f"normalized_shape={list(shape)}")
    eps = float(xp.finfo(input.dtype).eps) if eps is None else eps
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


# ============================================================ channel and alpha dropout

__all__ += ["alpha_dropout", "dropout1d", "dropout3d", "feature_alpha_dropout"]


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _channel_dropout(name: str, spatial: int, input: Tensor, p: float, training: bool,
                     inplace: bool) -> Tensor:
    """Zero whole channels (one draw per (sample, channel)); an unbatched input, one
    dimension short, is a batch of one."""
    _check_p(p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but "
                           f"received input of shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    batched = input.ndim == spatial + 2
    x = input if batched else input.unsqueeze(0)
    out = _conv_ops.FeatureDropout.apply(x, p, B.rng())
    out = out if batched else out.squeeze(0)
    return F._inplace(input, out, inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, L) or (C, L): each whole channel zeroed with probability
    p, the rest scaled by 1 / (1 - p)."""
    return _channel_dropout("dropout1d", 1, input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W)."""
    return _channel_dropout("dropout3d", 3, input, p, training, inplace)


_SELU_SATURATION = -1.0507009873554805 * 1.6732632423543772  # SELU's limit at -inf


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                   mask_shape: tuple) -> Tensor:
    """y = a (x m + alpha' (1 - m)) + b with m ~ Bernoulli(1 - p) and alpha' SELU's
    negative saturation: dropped units sit at SELU's low value instead of 0, and a, b
    restore zero mean and unit variance (Klambauer et al., 2017)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return F._inplace(input, input * 0.0, inplace)
    alpha = _SELU_SATURATION
    a = ((1 - p) * (1 + p * alpha * alpha)) ** -0.5
    b = -a * alpha * p
    keep = (B.rng().random(mask_shape) >= p).astype(input.dtype)
    m = _wrap(keep)
    out = input * (m * a) + _wrap((1 - keep) * (a * alpha) + b)
    return F._inplace(input, out, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for self-normalising (SELU) networks: keeps the mean and variance of its
    input (see :func:`_alpha_dropout`); the identity when not ``training``."""
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """:func:`alpha_dropout` of whole channels (one draw per (sample, channel))."""
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha_dropout(input, p, training, inplace, shape)


# ============================================================ volumetric (3-D) layers

__all__ += ["adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "conv3d",
            "conv_transpose3d", "max_pool3d"]


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D cross-correlation of (N, C, D, H, W) or (C, D, H, W) with weight
    (O, C / groups, kd, kh, kw); ``padding``: ints, 'valid' or 'same' (stride 1)."""
    name = "conv3d"
    stride, dilation = (F._ntuple(v, 3, what, name) for v, what in ((stride, "stride"),
                                                                     (dilation, "dilation")))
    if groups <= 0 or min(stride) <= 0 or min(dilation) <= 0:
        raise RuntimeError(f"{name}: stride, dilation and groups must be positive, got "
                           f"stride={stride}, dilation={dilation}, groups={groups}")
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
        raise RuntimeError(f"Invalid padding string '{padding}', should be one of "
                           f"{{'valid', 'same'}}")
    padding = F._ntuple(padding, 3, "padding", name)
    if min(padding) < 0:
        raise RuntimeError(f"{name}: negative padding is not supported (padding={padding})")
    return _conv3d_ops.Conv3d.apply(input, weight, bias, stride, padding, dilation, groups,
                                    name)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution of (N, C_in, D, H, W) with weight
    (C_in, C_out / groups, kd, kh, kw): the adjoint of :func:`conv3d`."""
    name = "conv_transpose3d"
    stride, padding, output_padding, dilation = (F._ntuple(v, 3, what, name) for v, what in (
        (stride, "stride"), (padding, "padding"), (output_padding, "output_padding"),
        (dilation, "dilation")))
    if groups <= 0 or min(stride) <= 0 or min(dilation) <= 0 or min(padding) < 0:
        raise RuntimeError(f"{name}: invalid stride={stride}, padding={padding}, "
                           f"dilation={dilation} or groups={groups}")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation,
                                                   strict=True)):
        raise RuntimeError(f"{name}: output padding must be smaller than either stride or "
                           f"dilation, but got output_padding={output_padding}, stride="
                           f"{stride}, dilation={dilation}")
    return _conv3d_ops.ConvTranspose3d.apply(input, weight, bias, stride, padding,
                                             output_padding, dilation, groups, name)


def _pool3d_args(name, kernel_size, stride, padding, dilation=1):
    kernel = F._ntuple(kernel_size, 3, "kernel_size", name)
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        stride = kernel
    args = (kernel, F._ntuple(stride, 3, "stride", name), F._ntuple(padding, 3, "padding", name),
            F._ntuple(dilation, 3, "dilation", name))
    if min(args[0]) < 1 or min(args[1]) < 1 or min(args[3]) < 1 or min(args[2]) < 0:
        raise RuntimeError(f"{name}: kernel size, stride and dilation must be positive and "
                           f"padding non-negative, got kernel_size={kernel}, stride="
                           f"{args[1]}, padding={args[2]}, dilation={args[3]}")
    return args


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over each (dilated) kd x kh x kw window of (N, C, D, H, W) or (C, D, H, W);
    ``return_indices`` also gives each maximum's flat index d H W + h W + w."""
    args = (*_pool3d_args("max_pool3d", kernel_size, stride, padding, dilation),
            bool(ceil_mode), "max_pool3d")
    out = _conv3d_ops.MaxPool3d.apply(input, *args)
    if return_indices:
        return out, _wrap(_conv3d_ops.max_pool3d_indices(input.array, *args))
    return out


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Average over each kd x kh x kw window (divisor as in :func:`avg_pool2d`)."""
    kernel, stride, padding, _ = _pool3d_args("avg_pool3d", kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool3d: divisor must be not zero")
    return _conv3d_ops.AvgPool3d.apply(input, kernel, stride, padding, bool(ceil_mode),
                                       bool(count_include_pad), divisor_override, "avg_pool3d")


def _check_3d(name: str, input: Tensor) -> None:
    if input.ndim not in (4, 5) or 0 in input.shape[-3:]:
        raise RuntimeError(f"{name}: expected a 4-D or 5-D input with non-zero spatial sizes, "
                           f"got input of shape {tuple(input.shape)}")


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (Do, Ho, Wo): the averaging matrix of
    :func:`adaptive_avg_pool2d` applied along each of the three axes."""
    _check_3d("adaptive_avg_pool3d", input)
    size = F._adaptive_size("adaptive_avg_pool3d", output_size, input.shape[-3:])
    y = input
    for axis, (n_in, n_out) in enumerate(zip(input.shape[-3:], size, strict=True)):
        if n_in == n_out:
            continue
        a = _wrap(_conv_ops.adaptive_matrix(n_in, n_out, input.dtype).T)  # (n_in, n_out)
        d = input.ndim - 3 + axis
        y = (y.transpose(d, -1) @ a).transpose(d, -1)
    return y if y is not input else input * 1


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed (Do, Ho, Wo) (windows as :func:`adaptive_max_pool2d`);
    ``return_indices`` also gives each maximum's flat index d H W + h W + w."""
    _check_3d("adaptive_max_pool3d", input)
    size = F._adaptive_size("adaptive_max_pool3d", output_size, input.shape[-3:])
    x5 = input.array if input.ndim == 5 else input.array[None]
    idx = _pool_ops.adaptive_max_indices_nd(x5, size)  # (N, C, *size)
    n, c = x5.shape[:2]
    out = _pool_ops.PlaneGather.apply(input.reshape(n * c, -1), idx.reshape(n * c, -1))
    shape = tuple(input.shape[:-3]) + tuple(size)
    out = out.reshape(shape)
    return (out, _wrap(idx.reshape(shape))) if return_indices else out


# ============================================================ aliases torch keeps

__all__ += ["adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
            "adaptive_max_pool3d_with_indices", "max_pool1d_with_indices",
            "max_pool2d_with_indices", "max_pool3d_with_indices", "multi_head_attention_forward",
            "native_channel_shuffle"]


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """:func:`max_pool1d` returning (output, indices)."""
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """:func:`max_pool2d` returning (output, indices)."""
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """:func:`max_pool3d` returning (output, indices)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """:func:`adaptive_max_pool1d` returning (output, indices)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """:func:`adaptive_max_pool2d` returning (output, indices)."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """:func:`adaptive_max_pool3d` returning (output, indices)."""
    return adaptive_max_pool3d(input, output_size, True)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """:func:`channel_shuffle` (torch's name for its native kernel)."""
    return channel_shuffle(input, groups)


def multi_head_attention_forward(*args, **kwargs):
    """:class:`~axon.nn.MultiheadAttention`'s forward with the weights passed in (see
    :func:`axon.nn.attention.multi_head_attention_forward`)."""
    from .attention import multi_head_attention_forward as forward

    return forward(*args, **kwargs)


# ============================================================ fractional max pooling

__all__ += ["fractional_max_pool2d", "fractional_max_pool2d_with_indices"]


def _fractional_starts(n_in: int, n_out: int, k: int, u):
    """Window starts along one axis for per-plane samples ``u`` in [0, 1) (any shape):
    pseudo-random steps of floor or ceil of alpha = (n_in - k) / (n_out - 1), the last
    window flush with the end (Graham, 2014; torch's sequence). Shape u.shape + (n_out,)."""
    if n_out == 1:
        return xp.full(u.shape + (1,), n_in - k, dtype=xp.int64)
    alpha = (n_in - k) / (n_out - 1)
    i = xp.arange(n_out - 1)
    steps = ((i + u[..., None]) * alpha).astype(xp.int64) - (u[..., None] * alpha).astype(
        xp.int64)
    last = xp.full(u.shape + (1,), n_in - k, dtype=xp.int64)
    return xp.concatenate([steps, last], axis=-1)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling (Graham, 2014): kh x kw maxima at pseudo-random window
    starts that shrink H, W to ``output_size`` (or ``output_ratio`` of them) by a
    non-integer factor. ``_random_samples`` (N, C, 2) in [0, 1) fix the starts (the
    width's sample first, as torch); otherwise they are drawn from axon's generator."""
    name = "fractional_max_pool2d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an "
                         f"output_ratio")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{name}: expected a 3-D or 4-D input, got input of shape "
                           f"{tuple(input.shape)}")
    kh, kw = F._ntuple(kernel_size, 2, "kernel_size", name)
    H, W = input.shape[-2:]
    if output_size is None:
        ratio = ((output_ratio, output_ratio) if isinstance(output_ratio, float | int)
                 else tuple(float(r) for r in output_ratio))
        output_size = (int(H * ratio[0]), int(W * ratio[1]))
    Ho, Wo = F._ntuple(output_size, 2, "output_size", name)
    if Ho + kh - 1 > H or Wo + kw - 1 > W:
        raise RuntimeError(f"{name}: output_size ({Ho}, {Wo}) plus kernel_size ({kh}, {kw}) "
                           f"minus one must fit the input of shape {tuple(input.shape)}")
    x4 = input.array if input.ndim == 4 else input.array[None]
    N, C = x4.shape[:2]
    u = (B.rng().random((N, C, 2)) if _random_samples is None
         else _array(_random_samples).reshape(N, C, 2)).astype(xp.float64)
    rows = _fractional_starts(H, Ho, kh, u[..., 1])  # (N, C, Ho)
    cols = _fractional_starts(W, Wo, kw, u[..., 0])  # (N, C, Wo)
    planes = x4.reshape(N, C, H * W)
    best = best_idx = None
    for i in range(kh):  # scan order: the first maximum wins
        for j in range(kw):
            idx = (rows[..., :, None] + i) * W + cols[..., None, :] + j  # (N, C, Ho, Wo)
            vals = xp.take_along_axis(planes, idx.reshape(N, C, -1), axis=2)
            if best is None:
                best, best_idx = vals, idx.reshape(N, C, -1)
            else:
                better = (vals > best) | (xp.isnan(vals) & ~xp.isnan(best))
                best = xp.where(better, vals, best)
                best_idx = xp.where(better, idx.reshape(N, C, -1), best_idx)
    out = _pool_ops.PlaneGather.apply(input.reshape(N * C, H * W), best_idx.reshape(N * C, -1))
    shape = tuple(input.shape[:-2]) + (Ho, Wo)
    out = out.reshape(shape)
    return (out, _wrap(best_idx.reshape(shape))) if return_indices else out


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = True,
                                       _random_samples=None):
    """:func:`fractional_max_pool2d` returning (output, indices)."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)
