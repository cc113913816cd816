"""The functional forms of the pooling layers added for running PyTorch programs
unchanged: LP pooling, adaptive max pooling, max unpooling, 3-D max / average / adaptive
pooling, fractional max pooling, and torch's ``*_with_indices`` spellings.
:mod:`axon.nn.functional` re-exports every name here.

Each takes PyTorch's arguments in PyTorch's order and raises PyTorch's exception class
for bad input, with a message naming the shapes at fault.
"""

from __future__ import annotations

import itertools

from .. import backend as B
from ..autograd.ops import pool as _pool
from ..autograd.ops import pool3d as _pool3d
from ..autograd.ops import pool_index as _pool_index
from ..autograd.ops.spatial import to_4d
from ..autograd.tensor import Tensor, _wrap
from ..backend import xp
from . import functional as F

__all__ = [
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool3d",
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


def _prod(values) -> int:
    p = 1
    for v in values:
        p *= v
    return p


def _array(x):
    return x.array if isinstance(x, Tensor) else xp.asarray(x)


# ============================================================ LP pooling


def _lp_root(pooled: Tensor, window: int, norm_type: float) -> Tensor:
    """(window * mean of x^p)^(1/p), with negative means (odd p) clipped to zero."""
    return (pooled.sign() * pooled.abs().relu() * window).pow(1.0 / norm_type)


def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling: y = (sum over each window of x^p)^(1/p); p = 1 is sum
    pooling, p -> inf max pooling."""
    kh, kw = F._ntuple(kernel_size, 2, "kernel_size", "lp_pool2d")
    pooled = F.avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return _lp_root(pooled, kh * kw, norm_type)


def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """:func:`lp_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    (k,) = F._ntuple(kernel_size, 1, "kernel_size", "lp_pool1d")
    pooled = F.avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return _lp_root(pooled, k, norm_type)


def lp_pool3d(
    input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """:func:`lp_pool2d` over the last three dimensions."""
    kernel = F._ntuple(kernel_size, 3, "kernel_size", "lp_pool3d")
    pooled = avg_pool3d(input.pow(norm_type), kernel, stride, 0, ceil_mode)
    return _lp_root(pooled, _prod(kernel), norm_type)


# ============================================================ adaptive max pooling


def _adaptive_max(name: str, nd: int, input: Tensor, output_size, return_indices: bool):
    if input.ndim not in (nd + 1, nd + 2) or 0 in input.shape[-nd:]:
        raise RuntimeError(
            f"{name}: expected a {nd + 1}-D or {nd + 2}-D input with non-zero "
            f"spatial sizes, got input of shape {tuple(input.shape)}"
        )
    size = F._adaptive_size(name, output_size, input.shape[-nd:])
    x4 = to_4d(input.array, nd)  # (N, C, H, W); 1-D: H = 1
    out_hw = (1, *size) if nd == 1 else size
    idx = _pool_index.adaptive_max_indices(B.namespace(x4), x4, out_hw)  # (N, C, Ho, Wo)
    N, C, H, W = x4.shape
    flat = input.reshape(N * C, H * W)
    out = _pool_index.PlaneGather.apply(flat, idx.reshape(N * C, -1))
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


# ============================================================ max unpooling


def _max_unpool(
    name: str, nd: int, input: Tensor, indices, kernel_size, stride, padding, output_size
) -> Tensor:
    kernel = F._ntuple(kernel_size, nd, "kernel_size", name)
    stride = kernel if stride is None else F._ntuple(stride, nd, "stride", name)
    padding = F._ntuple(padding, nd, "padding", name)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{name}: expected a {nd + 1}-D or {nd + 2}-D input, got input of "
            f"shape {tuple(input.shape)}"
        )
    idx = indices.array if isinstance(indices, Tensor) else xp.asarray(indices)
    if idx.shape != tuple(input.shape):
        raise RuntimeError(
            f"{name}: expected indices of the input's shape "
            f"{tuple(input.shape)}, got indices of shape {idx.shape}"
        )
    spatial = input.shape[-nd:]
    default = tuple(
        (n - 1) * s - 2 * p + k for n, s, p, k in zip(spatial, stride, padding, kernel, strict=True)
    )
    if output_size is None:
        size = default
    else:
        size = tuple(int(s) for s in output_size)[-nd:]
        low = tuple(d - s for d, s in zip(default, stride, strict=True))
        high = tuple(d + s for d, s in zip(default, stride, strict=True))
        if len(size) != nd or any(
            not lo < o < hi for o, lo, hi in zip(size, low, high, strict=True)
        ):
            raise ValueError(
                f"{name}: invalid output_size {tuple(output_size)} (dim "
                f"{nd} must be between {low} and {high})"
            )
    plane = _prod(size)  # positions per output plane
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise RuntimeError(
            f"{name}: found an invalid max index {bad} (output planes are of "
            f"size {'x'.join(map(str, size))})"
        )
    rows = _prod(input.shape[:-nd])  # (N, C) or (C,) planes
    out = _pool_index.PlaneScatter.apply(input.reshape(rows, -1), idx.reshape(rows, -1), plane)
    return out.reshape(*input.shape[:-nd], *size)


def max_unpool2d(
    input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """The partial inverse of :func:`max_pool2d`: each value put back at the position its
    ``indices`` (from ``return_indices=True``) name, zeros elsewhere. Output size
    (H - 1) s - 2 p + k per dimension, or ``output_size``."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d(
    input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """:func:`max_unpool2d` over the last dimension of (N, C, L) or (C, L)."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """:func:`max_unpool2d` over the last three dimensions (flat indices d H W + h W + w)."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


# ============================================================ volumetric (3-D) pooling


def _pool3d_args(name, kernel_size, stride, padding, dilation=1):
    kernel = F._ntuple(kernel_size, 3, "kernel_size", name)
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        stride = kernel
    args = (
        kernel,
        F._ntuple(stride, 3, "stride", name),
        F._ntuple(padding, 3, "padding", name),
        F._ntuple(dilation, 3, "dilation", name),
    )
    if min(args[0]) < 1 or min(args[1]) < 1 or min(args[3]) < 1 or min(args[2]) < 0:
        raise RuntimeError(
            f"{name}: kernel size, stride and dilation must be positive and "
            f"padding non-negative, got kernel_size={kernel}, stride="
            f"{args[1]}, padding={args[2]}, dilation={args[3]}"
        )
    return args


def max_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over each (dilated) kd x kh x kw window of (N, C, D, H, W) or (C, D, H, W);
    ``return_indices`` also gives each maximum's flat index d H W + h W + w."""
    args = (
        *_pool3d_args("max_pool3d", kernel_size, stride, padding, dilation),
        bool(ceil_mode),
        "max_pool3d",
    )
    out = _pool3d.MaxPool3d.apply(input, *args)
    if return_indices:
        return out, _wrap(_pool3d.max_pool3d_indices(input.array, *args))
    return out


def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Average over each kd x kh x kw window (divisor as in :func:`avg_pool2d`)."""
    kernel, stride, padding, _ = _pool3d_args("avg_pool3d", kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool3d: divisor must be not zero")
    return _pool3d.AvgPool3d.apply(
        input,
        kernel,
        stride,
        padding,
        bool(ceil_mode),
        bool(count_include_pad),
        divisor_override,
        "avg_pool3d",
    )


def _check_3d(name: str, input: Tensor) -> None:
    if input.ndim not in (4, 5) or 0 in input.shape[-3:]:
        raise RuntimeError(
            f"{name}: expected a 4-D or 5-D input with non-zero spatial sizes, "
            f"got input of shape {tuple(input.shape)}"
        )


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (Do, Ho, Wo): the averaging matrix of
    :func:`adaptive_avg_pool2d` applied along each of the three axes."""
    _check_3d("adaptive_avg_pool3d", input)
    size = F._adaptive_size("adaptive_avg_pool3d", output_size, input.shape[-3:])
    y = input
    for axis, (n_in, n_out) in enumerate(zip(input.shape[-3:], size, strict=True)):
        if n_in == n_out:
            continue
        a = _pool.adaptive_matrix(B.namespace(input.array), n_in, n_out, input.dtype)
        a = _wrap(a.T)  # (n_in, n_out)
        d = input.ndim - 3 + axis
        y = (y.transpose(d, -1) @ a).transpose(d, -1)
    return y if y is not input else input * 1


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed (Do, Ho, Wo) (windows as :func:`adaptive_max_pool2d`);
    ``return_indices`` also gives each maximum's flat index d H W + h W + w."""
    _check_3d("adaptive_max_pool3d", input)
    size = F._adaptive_size("adaptive_max_pool3d", output_size, input.shape[-3:])
    x5 = input.array if input.ndim == 5 else input.array[None]
    idx = _pool_index.adaptive_max_indices_nd(B.namespace(x5), x5, size)  # (N, C, *size)
    n, c = x5.shape[:2]
    out = _pool_index.PlaneGather.apply(input.reshape(n * c, -1), idx.reshape(n * c, -1))
    shape = tuple(input.shape[:-3]) + tuple(size)
    out = out.reshape(shape)
    return (out, _wrap(idx.reshape(shape))) if return_indices else out


# ============================================================ fractional max pooling


def _fractional_starts(n_in: int, n_out: int, k: int, u):
    """Window starts along one axis for per-plane samples ``u`` in [0, 1) (any shape):
    pseudo-random steps of floor or ceil of alpha = (n_in - k) / (n_out - 1), the last
    window flush with the end (Graham, 2014; torch's sequence). Shape u.shape + (n_out,)."""
    if n_out == 1:
        return xp.full(u.shape + (1,), n_in - k, dtype=xp.int64)
    alpha = (n_in - k) / (n_out - 1)
    i = xp.arange(n_out - 1)
    steps = ((i + u[..., None]) * alpha).astype(xp.int64) - (u[..., None] * alpha).astype(xp.int64)
    last = xp.full(u.shape + (1,), n_in - k, dtype=xp.int64)
    return xp.concatenate([steps, last], axis=-1)


def _fractional_max_pool(
    name: str,
    nd: int,
    input: Tensor,
    kernel_size,
    output_size,
    output_ratio,
    return_indices: bool,
    _random_samples,
    sample_axis,
):
    """Fractional max pooling over the last ``nd`` dimensions; ``sample_axis[a]`` is the
    entry of a plane's samples that spatial axis ``a`` uses (torch's layout)."""
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{name}: expected a {nd + 1}-D or {nd + 2}-D input, got input of "
            f"shape {tuple(input.shape)}"
        )
    kernel = F._ntuple(kernel_size, nd, "kernel_size", name)
    size = tuple(input.shape[-nd:])
    if output_size is None:
        ratio = (
            (output_ratio,) * nd
            if isinstance(output_ratio, float | int)
            else tuple(float(r) for r in output_ratio)
        )
        output_size = tuple(int(n * r) for n, r in zip(size, ratio, strict=True))
    out = F._ntuple(output_size, nd, "output_size", name)
    if any(o + k - 1 > n for o, k, n in zip(out, kernel, size, strict=True)):
        raise RuntimeError(
            f"{name}: output_size {out} plus kernel_size {kernel} minus one "
            f"must fit the input of shape {tuple(input.shape)}"
        )
    x = input.array if input.ndim == nd + 2 else input.array[None]
    N, C = x.shape[:2]
    backend, dev = B.of(x), input.device  # the windows are found on the host, the max on dev
    if _random_samples is None:
        u = B.rng().random((N, C, nd))
    else:
        u = _array(_random_samples)
        u = B.of(u).to_host(u) if B.of(u) is not None else u
    u = u.reshape(N, C, nd).astype(xp.float64)
    starts = [
        _fractional_starts(n, o, k, u[..., sample_axis[a]])  # (N, C, o) per axis
        for a, (n, o, k) in enumerate(zip(size, out, kernel, strict=True))
    ]
    planes, ns = x.reshape(N, C, -1), backend.xp
    best = best_idx = None
    for offset in itertools.product(*(range(k) for k in kernel)):  # scan order: first max
        idx = xp.zeros((N, C) + (1,) * nd, dtype=xp.int64)
        for a, (start, o) in enumerate(zip(starts, offset, strict=True)):
            shape = [N, C] + [1] * nd
            shape[2 + a] = out[a]
            idx = idx * size[a] + (start + o).reshape(shape)  # (N, C, *out) by broadcasting
        idx = backend.from_host(idx.reshape(N, C, -1), dev)
        vals = ns.take_along_axis(planes, idx, axis=2)
        if best is None:
            best, best_idx = vals, idx
        else:
            better = (vals > best) | (ns.isnan(vals) & ~ns.isnan(best))
            best, best_idx = ns.where(better, vals, best), ns.where(better, idx, best_idx)
    result = _pool_index.PlaneGather.apply(input.reshape(N * C, -1), best_idx.reshape(N * C, -1))
    shape = tuple(input.shape[:-nd]) + out
    result = result.reshape(shape)
    return (result, _wrap(best_idx.reshape(shape))) if return_indices else result


def fractional_max_pool2d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """Fractional max pooling (Graham, 2014): kh x kw maxima at pseudo-random window
    starts that shrink H, W to ``output_size`` (or ``output_ratio`` of them) by a
    non-integer factor. ``_random_samples`` (N, C, 2) in [0, 1) fix the starts (the
    width's sample first, as torch); otherwise they are drawn from axon's generator."""
    return _fractional_max_pool(
        "fractional_max_pool2d",
        2,
        input,
        kernel_size,
        output_size,
        output_ratio,
        return_indices,
        _random_samples,
        (1, 0),
    )


def fractional_max_pool3d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """:func:`fractional_max_pool2d` over the last three dimensions; ``_random_samples``
    (N, C, 3) in the order depth, height, width (as torch)."""
    return _fractional_max_pool(
        "fractional_max_pool3d",
        3,
        input,
        kernel_size,
        output_size,
        output_ratio,
        return_indices,
        _random_samples,
        (0, 1, 2),
    )


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = True,
    _random_samples=None,
):
    """:func:`fractional_max_pool3d` returning (output, indices)."""
    return fractional_max_pool3d(
        input, kernel_size, output_size, output_ratio, True, _random_samples
    )


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = True,
    _random_samples=None,
):
    """:func:`fractional_max_pool2d` returning (output, indices)."""
    return fractional_max_pool2d(
        input, kernel_size, output_size, output_ratio, True, _random_samples
    )


# ============================================================ the *_with_indices spellings


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """:func:`max_pool1d` returning (output, indices)."""
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """:func:`max_pool2d` returning (output, indices)."""
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
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
