"""Resizing and resampling for running PyTorch programs unchanged: ``interpolate`` in
every mode (nearest, nearest-exact, area, linear, bilinear, trilinear, bicubic,
antialias), the deprecated ``upsample*`` spellings, and the spatial transformer's
``affine_grid`` and ``grid_sample``. :mod:`axon.nn.functional` re-exports every name here.

The linear modes are separable: one interpolation matrix per spatial dimension, applied
as a matrix product, so the gradient is the transposed product.
"""

from __future__ import annotations

import math
import warnings

from .. import backend as B
from ..autograd.ops import grid_sample as _grid_sample
from ..autograd.ops.resample import UpsampleNearest
from ..autograd.tensor import Tensor, _wrap
from ..backend import xp
from ..backend.linspace import torch_linspace
from .functional import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = [
    "affine_grid",
    "grid_sample",
    "interpolate",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]


_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dimensions of (N, C, *spatial) to ``size`` or by
    ``scale_factor`` (output = floor(input * scale)).

    Modes: ``nearest`` (output j copies input min(floor(j / scale), n - 1)),
    ``nearest-exact`` (floor((j + 0.5) / scale)), ``linear`` / ``bilinear`` /
    ``trilinear`` (for 3-D / 4-D / 5-D input), ``bicubic`` (4-D; PyTorch's cubic
    convolution with A = -0.75) and ``area`` (adaptive average pooling). The scale is
    ``scale_factor`` when given (unless ``recompute_scale_factor``), else output / input;
    ``align_corners=True`` maps the corner pixels' centres onto each other instead.
    Volumes (N, C, D, H, W) take the nearest modes, ``area`` and ``trilinear``.
    ``antialias`` (bilinear and bicubic): when shrinking, each output averages the input
    under a filter widened by the scale (PIL's resampling, as PyTorch)."""
    nd = input.ndim - 2
    if antialias and (mode not in ("bilinear", "bicubic") or input.ndim != 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos "
            f"modes and requires a 4-D tensor as input (got mode {mode!r} and "
            f"input of shape {tuple(input.shape)})"
        )
    if mode in _LINEAR_MODES:
        if nd != _LINEAR_MODES[mode]:
            raise NotImplementedError(
                f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR_MODES[mode] + 2}D input"
            )
    elif mode not in ("nearest", "nearest-exact", "area"):
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not implemented in axon (nearest, nearest-exact, "
            f"area, linear, bilinear, trilinear, bicubic)"
        )
    elif align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    elif nd not in (1, 2, 3):
        raise NotImplementedError(
            f"interpolate: mode {mode!r} supports 3-D, 4-D and 5-D inputs (N, C, *spatial), "
            f"got input of shape {tuple(input.shape)}"
        )
    out_size, scales = _interpolate_sizes(
        input.shape[2:], size, scale_factor, recompute_scale_factor
    )
    if mode == "area" and nd < 3:
        return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(input, out_size)
    if mode == "area":  # volumes: adaptive average pooling is separable too
        return _resize_separable(input, out_size, scales, False, False, area=True)
    if mode in _LINEAR_MODES:
        return _resize_separable(
            input, out_size, scales, bool(align_corners), mode == "bicubic", antialias
        )
    if nd == 3:
        return _resize_nearest(input, out_size, scales, mode == "nearest-exact")
    return UpsampleNearest.apply(input, out_size, scales, mode == "nearest-exact", "interpolate")


def _interpolate_sizes(in_size: tuple, size, scale_factor, recompute_scale_factor):
    """The output size, and the scale factor per dimension that the index mapping uses
    (None: output / input)."""
    nd = len(in_size)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = (size,) * nd if isinstance(size, int) else tuple(int(n) for n in size)
        if len(sizes) != nd:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(in_size)} and output size of "
                f"{list(sizes)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                f"and output size in (o1, o2, ...,oK) format."
            )
        out_size = sizes
        scales = (None,) * nd
    elif scale_factor is not None:
        factors = (
            tuple(float(s) for s in scale_factor)
            if isinstance(scale_factor, tuple | list)
            else (float(scale_factor),) * nd
        )
        if len(factors) != nd:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, "
                f"but got input with spatial dimensions of {list(in_size)} and scale_factor "
                f"of shape {list(factors)}."
            )
        out_size = tuple(int(n * s // 1) for n, s in zip(in_size, factors, strict=True))
        scales = (None,) * nd if recompute_scale_factor else factors
    else:
        raise ValueError("either size or scale_factor should be defined")
    if any(n <= 0 for n in out_size) or any(n <= 0 for n in in_size):
        raise RuntimeError(
            f"interpolate: input and output sizes should be greater than 0, but got input "
            f"{tuple(in_size)} and output {out_size}"
        )
    return out_size, scales


def _source_index(n_in: int, n_out: int, scale, align_corners: bool, cubic: bool):
    """Where each output position samples the input (PyTorch's
    ``area_pixel_compute_source_index``): i (n_in - 1) / (n_out - 1) with
    ``align_corners``, else (i + 1/2) / scale - 1/2 (clamped at 0 unless cubic)."""
    j = xp.arange(n_out, dtype=xp.float64)
    if align_corners:
        return j * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    step = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    src = step * (j + 0.5) - 0.5
    return src if cubic else xp.maximum(src, 0.0)


def _cubic_weights(t):
    """The four cubic-convolution weights (A = -0.75) of taps at -1, 0, 1, 2 from the
    sample point's floor, for fractional offsets t."""
    A = -0.75

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return (far(t + 1), near(t), near(1 - t), far(2 - t))


def _antialias_matrix(n_in: int, n_out: int, scale, align_corners: bool, cubic: bool):
    """The (n_out, n_in) resampling matrix with a filter stretched by the scale when
    shrinking (a triangle for bilinear, the a = -0.5 cubic for bicubic), each row
    normalised to sum to 1: PIL's algorithm, which PyTorch's ``antialias`` follows."""
    if align_corners:
        step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        step = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    half = 2.0 if cubic else 1.0  # the filter's half-width at scale 1
    stretch = max(step, 1.0)
    m = xp.zeros((n_out, n_in))
    for i in range(n_out):
        centre = step * (i + 0.5)
        lo = max(int(centre - half * stretch + 0.5), 0)
        hi = min(int(centre + half * stretch + 0.5), n_in)
        x = xp.abs((xp.arange(lo, hi) - centre + 0.5) / stretch)
        if cubic:
            a = -0.5
            w = xp.where(
                x < 1,
                ((a + 2) * x - (a + 3)) * x * x + 1,
                xp.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0),
            )
        else:
            w = xp.maximum(0.0, 1.0 - x)
        total = w.sum()
        m[i, lo:hi] = w / total if total else w
    return m


def _resize_matrix(n_in: int, n_out: int, scale, align_corners: bool, cubic: bool):
    """The (n_out, n_in) matrix M of linear (or cubic) interpolation along one dimension:
    output = M @ input. Linear: weights 1 - l, l on the taps floor(src), floor(src) + 1
    (the last tap repeats at the border); cubic: four taps clamped to the border."""
    src = _source_index(n_in, n_out, scale, align_corners, cubic)
    base = xp.floor(src).astype(xp.int64)
    t = src - base
    rows = xp.arange(n_out)
    m = xp.zeros((n_out, n_in))
    if cubic:
        for k, w in enumerate(_cubic_weights(t)):
            xp.add.at(m, (rows, xp.clip(base - 1 + k, 0, n_in - 1)), w)
        return m
    base = xp.minimum(base, n_in - 1)
    lam = xp.clip(t, 0.0, 1.0)
    xp.add.at(m, (rows, base), 1 - lam)
    xp.add.at(m, (rows, xp.minimum(base + 1, n_in - 1)), lam)
    return m


def _area_matrix(n_in: int, n_out: int, *_):
    """Adaptive average pooling along one dimension: output i averages the inputs
    floor(i n_in / n_out) <= j < ceil((i + 1) n_in / n_out)."""
    m = xp.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _resize_nearest(input: Tensor, out_size: tuple, scales: tuple, exact: bool) -> Tensor:
    """Nearest-neighbour resizing of any number of spatial dimensions by picking, along
    each, input min(floor(j s), n - 1) (``exact``: floor((j + 1/2) s)) for output j,
    s = 1 / scale_factor or input / output (in float32, as PyTorch computes it)."""
    nd = len(out_size)
    out = input
    for k in range(nd):
        dim = input.ndim - nd + k
        n_in, n_out = input.shape[dim], out_size[k]
        step = xp.float32(1.0 / scales[k] if scales[k] else n_in / n_out)
        j = xp.arange(n_out, dtype=xp.float32) + (xp.float32(0.5) if exact else 0)
        idx = xp.minimum(xp.floor(j * step).astype(xp.int64), n_in - 1)
        out = out.index_select(dim, idx)
    return out


def _resize_separable(
    input: Tensor,
    out_size: tuple,
    scales: tuple,
    align_corners: bool,
    cubic: bool,
    antialias: bool = False,
    area: bool = False,
) -> Tensor:
    """Linear / bilinear / trilinear / bicubic resizing as one interpolation matrix per
    spatial dimension (the kernels are separable): x <- x @ M^T along each, so the
    gradient is the transposed product. Integer images (uint8) are resized in float32 one
    dimension at a time, last first, rounded into their dtype's range after each pass as
    PyTorch's (and PIL's) kernels store them (its fixed-point arithmetic can differ by 1)."""
    nd = len(out_size)
    matrix = _area_matrix if area else _antialias_matrix if antialias else _resize_matrix

    def resize_dim(x: Tensor, k: int) -> Tensor:
        dim = x.ndim - nd + k
        m = matrix(x.shape[dim], out_size[k], scales[k], align_corners, cubic)
        mt = _wrap(xp.ascontiguousarray(m.T).astype(x.dtype)).to(x.device)  # a host matrix
        return (x.transpose(dim, -1) @ mt).transpose(dim, -1)

    if input.dtype.kind in "iu":
        info, ns = xp.iinfo(input.dtype), B.namespace(input.array)
        out = input.array
        for k in reversed(range(nd)):
            out = resize_dim(_wrap(out.astype(ns.float32)), k).array
            out = ns.clip(ns.rint(out), info.min, info.max).astype(input.dtype)
        return _wrap(out)
    out = input
    for k in range(nd):
        out = resize_dim(out, k)
    return out


def _deprecated_upsample(name: str) -> None:
    warnings.warn(
        f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=3,
    )


def upsample(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated (PyTorch warns too): :func:`interpolate`."""
    _deprecated_upsample("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(mode='nearest')``."""
    _deprecated_upsample("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(mode='bilinear', align_corners=True)``."""
    _deprecated_upsample("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ============================================================ spatial transformers


_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)


def _align(align_corners: bool | None) -> bool:
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)
        return False
    return bool(align_corners)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps ``theta`` for an output of ``size``: 2-D maps
    (N, 2, 3) and size (N, C, H, W) give grid[n, i, j] = theta[n] @ (x_j, y_i, 1) of shape
    (N, H, W, 2); 3-D maps (N, 3, 4) and size (N, C, D, H, W) a grid (N, D, H, W, 3).
    x, y, z are the normalised pixel centres in [-1, 1] (see :func:`grid_sample`)."""
    align_corners = _align(align_corners)
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(
            f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    nd = len(size) - 2
    N, spatial = size[0], size[2:]
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (nd, nd + 1):
        raise ValueError(
            f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} "
            f"for size {size}. Got {tuple(theta.shape)}."
        )
    if theta.shape[0] != N:
        raise RuntimeError(
            f"affine_grid: theta of shape {tuple(theta.shape)} holds "
            f"{theta.shape[0]} matrices, but size {size} asks for N = {N}"
        )

    def centres(n: int):
        # torch's values in theta's dtype (linspace, then * (n - 1) / n), so that points on
        # a pixel centre land on the same side of it as in torch (bilinear's kink)
        if n <= 1:
            return xp.zeros(1, dtype=theta.dtype)
        line = xp.asarray(torch_linspace(-1.0, 1.0, n, theta.dtype))
        return line if align_corners else line * (n - 1) / n

    # base[..., k] is the coordinate along spatial axis nd - 1 - k (x first), then a 1
    base = xp.ones((*spatial, nd + 1), dtype=theta.dtype)
    for k in range(nd):
        axis = nd - 1 - k
        shape = [1] * nd
        shape[axis] = spatial[axis]
        base[..., k] = centres(spatial[axis]).reshape(shape)
    points = math.prod(spatial)
    # grid[..., k] = ((x t[k, 0] + y t[k, 1]) (+ z t[k, 2])) + t[k, nd], rounded term by term
    # in theta's dtype as torch's product is: the same bits, so points on a pixel centre
    # fall on torch's side of it in grid_sample
    base = B.for_device(theta.device).from_host(base.reshape(1, points, nd + 1))
    grid = _wrap(base[..., :1]) * theta[:, :, 0].unsqueeze(1)  # (N, points, nd)
    for j in range(1, nd):
        grid = grid + _wrap(base[..., j : j + 1]) * theta[:, :, j].unsqueeze(1)
    grid = grid + theta[:, :, nd].unsqueeze(1)
    return grid.reshape(N, *spatial, nd)


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Read ``input`` (N, C, H, W) at the normalised positions ``grid`` (N, Ho, Wo, 2),
    (x, y) in [-1, 1] (or (N, C, D, H, W) at (N, Do, Ho, Wo, 3), (x, y, z)), by
    ``bilinear`` (trilinear for volumes) interpolation or the ``nearest`` pixel;
    ``padding_mode`` 'zeros', 'border' or 'reflection' decides reads outside the input.
    Differentiable in the input and (bilinear) in the grid."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
            f"'nearest' or 'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
            f"'border', or 'reflection', but got: '{padding_mode}'"
        )
    if mode == "bicubic":
        if input.ndim != 4:
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
        raise NotImplementedError("grid_sample: mode='bicubic' is not implemented in axon")
    align_corners = _align(align_corners)
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(
            f"grid_sampler(): expected 4D or 5D input and grid with same "
            f"number of dimensions, but got input with sizes "
            f"{list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            f"grid_sampler(): expected grid and input to have same batch size, "
            f"but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {input.ndim - 2} in "
            f"last dimension, but got grid with sizes {list(grid.shape)}"
        )
    return _grid_sample.GridSample.apply(input, grid, mode, padding_mode, align_corners)
