"""The functional forms of the other layers added for running PyTorch programs
unchanged: pixel and channel shuffling, instance, local response and RMS normalisation,
``bilinear``, ``embedding_bag``, channel and alpha dropout, and
``multi_head_attention_forward``. :mod:`axon.nn.functional` re-exports every name here
(and those of :mod:`axon.nn._functional_conv` and :mod:`axon.nn._functional_pool`).

Each takes PyTorch's arguments in PyTorch's order and raises PyTorch's exception class
for bad input, with a message naming the shapes at fault.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.ops.dropout import FeatureDropout
from ..autograd.ops.embedding import BagSum
from ..autograd.ops.pool_index import SegmentMax
from ..autograd.tensor import Tensor, _wrap
from ..backend import xp
from . import functional as F

__all__ = [
    "alpha_dropout",
    "bilinear",
    "channel_shuffle",
    "dropout1d",
    "dropout3d",
    "embedding_bag",
    "feature_alpha_dropout",
    "instance_norm",
    "local_response_norm",
    "multi_head_attention_forward",
    "native_channel_shuffle",
    "pixel_shuffle",
    "pixel_unshuffle",
    "rms_norm",
]


def _array(x, like: Tensor | None = None):
    """The array of a Tensor; anything else as a host array, on ``like``'s device if given."""
    return F._data(x, like)


# ============================================================ pixel and channel shuffling


def _check_shuffle(name: str, input: Tensor, factor: int, what: str) -> None:
    if input.ndim < 3:
        raise RuntimeError(
            f"{name} expects input to have at least 3 dimensions, but got "
            f"input of shape {tuple(input.shape)}"
        )
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
        raise RuntimeError(
            f"channel_shuffle expects input to have at least 3 dimensions, "
            f"but got input of shape {tuple(input.shape)}"
        )
    n, c, *rest = input.shape
    if groups <= 0 or c % groups:
        raise RuntimeError(
            f"channel_shuffle: number of channels must be divisible by "
            f"groups; got input of shape {tuple(input.shape)} and groups={groups}"
        )
    x = input.reshape(n, groups, c // groups, *rest)
    return x.transpose(1, 2).reshape(n, c, *rest)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """:func:`channel_shuffle` (torch's name for its native kernel)."""
    return channel_shuffle(input, groups)


# ============================================================ instance, local response and RMS norm


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation of (N, C, *): each (sample, channel) plane normalised by its
    own mean and biased variance, y = xhat * weight + bias per channel (group norm with
    one channel per group). Running buffers, when given, move towards the batch average
    of the planes' means and unbiased variances; ``use_input_stats=False`` normalises
    with them instead (as batch norm in eval)."""
    if input.ndim < 3:
        raise ValueError(
            f"instance_norm: expected input of shape (N, C, *) with spatial "
            f"dimensions, got {tuple(input.shape)}"
        )
    if not use_input_stats:
        return F.batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = input.shape[:2]
    if input.numel() // max(n * c, 1) <= 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input "
            f"size {tuple(input.shape)}"
        )
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


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Normalisation across neighbouring channels (AlexNet's):
    y[c] = x[c] / (k + alpha / size * sum of x[c']^2 over the ``size`` channels around c
    (zero beyond the edges))^beta."""
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected 3D or higher dimensionality input "
            f"(got input of shape {tuple(input.shape)})"
        )
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    squares = (input * input).reshape(n, 1, c, -1)  # (N, 1, C, positions)
    squares = F.pad(squares, (0, 0, size // 2, (size - 1) // 2))  # zero channels around
    div = F.avg_pool2d(squares, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k).pow(beta)


def rms_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dimensions:
    y = x / sqrt(mean(x^2) + eps) * weight, with no centring and no bias (Zhang and
    Sennrich, 2019; LLaMA's norm). ``eps=None``: the machine epsilon of x's dtype."""
    shape = (
        (normalized_shape,)
        if isinstance(normalized_shape, int)
        else tuple(int(s) for s in normalized_shape)
    )
    k = len(shape)
    if tuple(input.shape[input.ndim - k :]) != shape or input.ndim < k:
        raise RuntimeError(
            f"rms_norm: given normalized_shape={list(shape)}, expected input "
            f"with shape [*, {', '.join(map(str, shape))}], but got input of "
            f"shape {tuple(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            f"rms_norm: weight of shape {tuple(weight.shape)} does not match "
            f"normalized_shape={list(shape)}"
        )
    eps = float(xp.finfo(input.dtype).eps) if eps is None else eps
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


# ============================================================ bilinear


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """y[..., o] = x1[..., :] A[o] x2[..., :] + b[o] for inputs (*, in1), (*, in2) and
    weight A (out, in1, in2): one bilinear form per output feature, computed as one
    product x1 A' with A' = A laid out (in1, out in2), then a sum against x2."""
    if input1.ndim != input2.ndim:
        raise RuntimeError(
            f"bilinear(): input dimensions do not match: got input1 of shape "
            f"{tuple(input1.shape)} and input2 of shape {tuple(input2.shape)}"
        )
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got input1 of "
            f"shape {tuple(input1.shape)} and input2 of shape "
            f"{tuple(input2.shape)}"
        )
    if weight.ndim != 3 or tuple(weight.shape[1:]) != (input1.shape[-1], input2.shape[-1]):
        raise RuntimeError(
            f"bilinear(): weight of shape {tuple(weight.shape)} does not match "
            f"input1 of shape {tuple(input1.shape)} and input2 of shape "
            f"{tuple(input2.shape)} (expected (out, {input1.shape[-1]}, "
            f"{input2.shape[-1]}))"
        )
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


def _bags(name: str, input, offsets, include_last_offset: bool, weight: Tensor):
    """Flat indices (T,), the bag of each, how many bags, and which tokens lie inside a
    bag (with ``include_last_offset`` those past the last offset do not), as arrays on
    ``weight``'s device."""
    idx = _array(input, weight)
    ns = B.namespace(idx)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"{name}: expected integer indices (int64 or int32), got input of dtype {idx.dtype}"
        )
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                f"{name}: if input is 2D, then offsets has to be None, as input "
                f"is treated as a mini-batch of fixed length sequences; got "
                f"input of shape {idx.shape} and offsets"
            )
        n, length = idx.shape
        starts = ns.arange(n) * length
        ends = starts + length
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError(
                f"{name}: offsets has to be a 1D Tensor but got None (input of shape {idx.shape})"
            )
        offs = _array(offsets, weight)
        if offs.ndim != 1:
            raise ValueError(
                f"{name}: offsets has to be a 1D Tensor, got offsets of shape {offs.shape}"
            )
        offs = offs.astype(B.int64)
        if offs.size and offs[0] != 0:
            raise RuntimeError(
                f"{name}: offsets[0] has to be 0, i.e., the first sequence in "
                f"the mini-batch has to start from position 0. However, got "
                f"{int(offs[0])}"
            )
        if offs.size and offs[-1] > idx.size:
            raise RuntimeError(
                f"{name}: offsets[-1] can not be greater than input's length "
                f"{idx.size} but got offsets[-1] of {int(offs[-1])}"
            )
        if include_last_offset:
            starts, ends = offs[:-1], offs[1:]
        else:
            starts, ends = offs, ns.append(offs[1:], idx.size)
    else:
        raise ValueError(
            f"{name}: input has to be 1D or 2D Tensor, but got input of shape {idx.shape}"
        )
    flat = idx.reshape(-1)
    t = ns.arange(flat.size)
    bag = ns.searchsorted(starts, t, side="right") - 1  # the last bag starting at or before t
    inside = (bag >= 0) & (t < (ends[-1] if len(ends) else 0))
    return flat, ns.maximum(bag, 0), len(starts), inside


def embedding_bag(
    input,
    weight: Tensor,
    offsets=None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sum, mean or max of the embedding rows of each bag of indices, without building
    the (bag, length, D) lookup: for a 2-D input (B, L) every row is a bag; for a 1-D
    input bag b is input[offsets[b]:offsets[b + 1]]. ``per_sample_weights`` (mode 'sum')
    weight each row; ``padding_idx`` entries are left out (and not counted by 'mean');
    an empty bag gives zeros. Sum and mean scatter-add each looked-up row into its bag
    (:class:`~axon.autograd.ops.embedding.BagSum`), max takes a segment maximum."""
    name = "embedding_bag"
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{name}: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"{name}: per_sample_weights was not None. "
            f"per_sample_weights is only supported for mode='sum' "
            f"(got mode={mode!r})"
        )
    flat, bag, num_bags, keep = _bags(name, input, offsets, include_last_offset, weight)
    in_shape = _array(input).shape
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != in_shape:
        raise ValueError(
            f"{name}: If per_sample_weights ({tuple(per_sample_weights.shape)}) "
            f"is not None, then it must have the same shape as the input "
            f"({in_shape})"
        )
    v = weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= v):
        bad = int(flat.min()) if flat.min() < 0 else int(flat.max())
        raise RuntimeError(
            f"{name}: index {bad} is out of range for a weight of shape {tuple(weight.shape)}"
        )
    if padding_idx is not None:
        padding_idx = padding_idx + v if padding_idx < 0 else padding_idx
        keep = keep & (flat != padding_idx)
    rows = F.embedding(
        _wrap(flat), weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse
    )  # (T, D)
    if mode == "max":
        kept = B.namespace(keep).flatnonzero(keep)
        return SegmentMax.apply(rows.index_select(0, kept), bag[kept], num_bags)
    scale = keep.astype(weight.dtype)  # 0 leaves a token out of its bag
    if mode == "mean":
        ns = B.namespace(bag)
        counts = ns.bincount(bag[keep], minlength=num_bags)  # tokens per bag
        scale /= ns.maximum(counts, 1)[bag]
    psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    return BagSum.apply(rows, psw, bag, scale, num_bags)


# ============================================================ channel and alpha dropout


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _channel_dropout(
    name: str, spatial: int, input: Tensor, p: float, training: bool, inplace: bool
) -> Tensor:
    """Zero whole channels (one draw per (sample, channel)); an unbatched input, one
    dimension short, is a batch of one."""
    _check_p(p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but "
            f"received input of shape {tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    batched = input.ndim == spatial + 2
    x = input if batched else input.unsqueeze(0)
    out = FeatureDropout.apply(x, p, B.rng())
    out = out if batched else out.squeeze(0)
    return F._inplace(input, out, inplace)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Channel dropout of (N, C, L) or (C, L): each whole channel zeroed with probability
    p, the rest scaled by 1 / (1 - p)."""
    return _channel_dropout("dropout1d", 1, input, p, training, inplace)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W)."""
    return _channel_dropout("dropout3d", 3, input, p, training, inplace)


_SELU_SATURATION = -1.0507009873554805 * 1.6732632423543772  # SELU's limit at -inf


def _alpha_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, mask_shape: tuple
) -> Tensor:
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
    # drawn on the host from the seeded generator, then moved to the input's device
    keep = B.of(input.array).from_host((B.rng().random(mask_shape) >= p).astype(input.dtype))
    m = _wrap(keep)
    out = input * (m * a) + _wrap((1 - keep) * (a * alpha) + b)
    return F._inplace(input, out, inplace)


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for self-normalising (SELU) networks: keeps the mean and variance of its
    input (see :func:`_alpha_dropout`); the identity when not ``training``."""
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """:func:`alpha_dropout` of whole channels (one draw per (sample, channel))."""
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha_dropout(input, p, training, inplace, shape)


# ============================================================ attention


def multi_head_attention_forward(*args, **kwargs):
    """:class:`~axon.nn.MultiheadAttention`'s forward with the weights passed in (see
    :func:`axon.nn.attention.multi_head_attention_forward`)."""
    from .attention import multi_head_attention_forward as forward

    return forward(*args, **kwargs)
