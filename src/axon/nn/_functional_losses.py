"""The losses and distances added for running PyTorch programs unchanged: kl_div,
poisson_nll_loss, gaussian_nll_loss, margin_ranking_loss, hinge_embedding_loss,
soft_margin_loss, multilabel_soft_margin_loss, multilabel_margin_loss,
cosine_embedding_loss, triplet_margin_loss (and with a distance function), ctc_loss,
linear_cross_entropy; normalize, pairwise_distance, cosine_similarity, pdist.
:mod:`axon.nn.functional` re-exports every name here.

PyTorch writes most of these losses as compositions of elementwise ops (in ATen or in
Python); they are written here the same way, so the gradients (kinks included) are
PyTorch's. CTC is one op (``axon.autograd.ops.ctc``).
"""

from __future__ import annotations

import math
import warnings

from .. import backend as B
from ..autograd.ops import ctc as _ctc
from ..autograd.tensor import Tensor, _as_tensor, _wrap, normalize_dim, where
from ..backend import xp
from ._functional_activations import logsigmoid
from .functional import _data, _elementwise_weight, _reduction, cross_entropy, linear

__all__ = [
    "cosine_embedding_loss",
    "cosine_similarity",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "kl_div",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "normalize",
    "pairwise_distance",
    "pdist",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options=None,
) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``: the
    classifier head and its loss in one call (``ignore_index=None``: no class is
    ignored). A weight (C, d1, ..., dK, in_features) gives K-dimensional logits
    (N, C, d1, ..., dK). ``options`` (PyTorch's chunking hints) changes nothing here."""
    if linear_weight.ndim > 2:
        out_shape = tuple(linear_weight.shape[:-1])
        flat_bias = None if linear_bias is None else linear_bias.reshape(-1)
        logits = linear(input, linear_weight.reshape(-1, linear_weight.shape[-1]), flat_bias)
        logits = logits.reshape(*input.shape[:-1], *out_shape)
    else:
        logits = linear(input, linear_weight, linear_bias)
    return cross_entropy(
        logits,
        target,
        weight=weight,
        reduction=reduction,
        ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=label_smoothing,
    )


def _check_broadcast(name: str, input: Tensor, target) -> None:
    """PyTorch broadcasts these losses' target against the input; a RuntimeError naming
    both shapes when it cannot."""
    shape = tuple(_data(target).shape)
    try:
        xp.broadcast_shapes(shape, tuple(input.shape))
    except ValueError:
        raise RuntimeError(
            f"{name}: target of shape {shape} does not broadcast with input "
            f"of shape {tuple(input.shape)}"
        ) from None


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _pass_through_clamp(x: Tensor, min: float) -> Tensor:
    """``x`` clamped below at ``min`` in value, with the gradient of ``x`` itself (as
    PyTorch's in-place clamp under ``no_grad``): x + (clamped - x) as a constant."""
    return x + _wrap(B.namespace(x.array).maximum(x.array, min) - x.array)


def _xlogx(t: Tensor) -> Tensor:
    """t log t, and 0 where t = 0 (``xlogy(t, t)``)."""
    safe = where(t > 0, t, 1.0)
    return where(t > 0, t * safe.log(), 0.0)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL divergence of ``target`` from the distribution whose log-probabilities are
    ``input``: pointwise t (log t - x) (or e^t (t - x) with ``log_target``).
    ``'batchmean'`` divides the sum by the batch size (the KL divergence per sample);
    ``'mean'`` divides by the number of elements, with PyTorch's warning."""
    _check_broadcast("kl_div", input, target)
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            stacklevel=2,
        )
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    target = _as_tensor(target, input)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson target with rate e^x (``log_input``) or x:
    e^x - t x, or x - t log(x + eps); ``full`` adds Stirling's approximation of log(t!),
    t log t - t + log(2 pi t) / 2, for t > 1."""
    _check_broadcast("poisson_nll_loss", input, target)
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        t = where(big, target, 2.0)
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def _gaussian_var(input: Tensor, var) -> Tensor:
    """``var`` as a tensor broadcasting to the input: full size, one dimension short
    (unsqueezed) or one broadcast dimension; PyTorch's ValueErrors otherwise."""
    if isinstance(var, int | float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        return _wrap(B.namespace(input.array).full(input.shape, var, dtype=input.dtype))
    if (_data(var) < 0).any():
        raise ValueError("var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if input.shape[:-1] == var.shape:
        return var.unsqueeze(-1)
    if (
        var.ndim == input.ndim
        and sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1
    ):
        return var
    raise ValueError(
        f"var is of incorrect size: var of shape {tuple(var.shape)} for input of shape "
        f"{tuple(input.shape)}"
    )


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` under N(input, var):
    (log var + (x - t)^2 / var) / 2 (+ log(2 pi) / 2 with ``full``); var is clamped below
    at ``eps`` in value only (its gradient passes through, as in PyTorch)."""
    var = _gaussian_var(input, var)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = _pass_through_clamp(var, eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _same_ndim(name: str, **tensors) -> None:
    if len({t.ndim for t in tensors.values()}) > 1:
        sizes = ", ".join(f"{k}: {tuple(t.shape)}" for k, t in tensors.items())
        raise RuntimeError(
            f"{name}: All input tensors should have same dimension but got sizes: {sizes}"
        )


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin), y = 1 when x1 should rank higher, -1 otherwise."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input1)
    _same_ndim("margin_ranking_loss", input1=input1, input2=input2, target=target)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (x: a distance, y: same or not)."""
    _check_broadcast("hinge_embedding_loss", input, target)
    reduction = _reduction(size_average, reduce, reduction)
    t = _data(target, input)
    loss = where(t != 1, (margin - input).clamp(min=0), 0.0) + where(t != -1, input, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """log(1 + e^(-y x)): the logistic loss for labels y = +-1."""
    _check_broadcast("soft_margin_loss", input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce((-input * _as_tensor(target, input)).softplus(1.0, math.inf), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy per class on logits, averaged over the classes (last dim):
    -(y log sigmoid(x) + (1 - y) log sigmoid(-x)) (times ``weight``) / C per sample."""
    _check_broadcast("multilabel_soft_margin_loss", input, target)
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * _elementwise_weight("multilabel_soft_margin_loss", weight, input)
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def multilabel_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Multi-label hinge loss: per sample, sum over target classes j and non-target
    classes i of max(0, 1 - (x_j - x_i)) / C. ``target`` (same shape as ``input``) lists
    the target classes first, ended by the first -1."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _data(target, input)
    if input.ndim not in (1, 2) or t.shape != input.shape or t.dtype.kind not in "iu":
        raise RuntimeError(
            f"multilabel_margin_loss: inconsistent target size: {list(t.shape)} (dtype "
            f"{t.dtype}) for input of size: {list(input.shape)}; expected an integer target "
            f"of the input's shape, (C,) or (N, C)"
        )
    x = input if input.ndim == 2 else input.unsqueeze(0)
    t = t.reshape(x.shape)
    C = x.shape[1]
    if t.size and (t.min() < -1 or t.max() >= C):
        raise RuntimeError(f"multilabel_margin_loss: target values must be in [-1, {C - 1}]")
    ns = B.namespace(t)
    listed = ns.cumprod(t != -1, axis=1).astype(bool)  # the classes before the first -1
    cls = ns.where(listed, t, 0)
    is_target = ((cls[:, :, None] == ns.arange(C)) & listed[:, :, None]).any(axis=1)
    pair = listed[:, :, None] & ~is_target[:, None, :]  # (N, j, i)
    x_target = x.gather(1, _wrap(cls))  # (N, j)
    margins = (1 - x_target.unsqueeze(2) + x.unsqueeze(1)).relu()  # strict: 0 at the kink
    loss = (margins * _wrap(pair.astype(input.dtype))).sum((1, 2)) / C
    if input.ndim == 1:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction)


def _pairwise_cos(x1: Tensor, x2: Tensor, dim: int) -> Tensor:
    """cos of the angle between x1 and x2 along ``dim`` (PyTorch's
    ``cosine_embedding_loss`` formula, with its 1e-12 under the square root)."""
    prod = (x1 * x2).sum(dim)
    mag1 = (x1 * x1).sum(dim) + 1e-12
    mag2 = (x2 * x2).sum(dim) + 1e-12
    return prod / (mag1 * mag2).sqrt()


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _data(target, input1)
    target_shape = tuple(input1.shape[:1]) if input1.ndim == 2 else ()
    if input1.shape != input2.shape or input1.ndim not in (1, 2) or t.shape != target_shape:
        raise RuntimeError(
            f"cosine_embedding_loss: expected input1 and input2 of the same shape (D,) or "
            f"(N, D) and a target of shape () or (N,), got input1 {tuple(input1.shape)}, "
            f"input2 {tuple(input2.shape)} and target {tuple(t.shape)}"
        )
    cos = _pairwise_cos(input1, input2, input1.ndim - 1)
    loss = where(t == 1, 1 - cos, 0.0) + where(t == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d the ``p``-norm pairwise distance;
    ``swap`` uses min(d(a, n), d(p, n)) as the negative distance."""
    reduction = _reduction(size_average, reduce, reduction)
    dims = {anchor.ndim, positive.ndim, negative.ndim}
    if len(dims) > 1:
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def _host_int64(x):
    """A tensor, list or array of ints as an int64 host (NumPy) array: CTC's lengths and
    targets are read in Python before the op runs (moved onto the device for it)."""
    arr = _data(x)
    return B.of(arr).to_host(arr).astype(xp.int64, copy=False)


def _lengths(name: str, lengths, n: int):
    """Sequence lengths (a tensor, list or tuple of ints) as an int64 array of size n."""
    arr = _host_int64(lengths).reshape(-1)
    if arr.size != n:
        raise RuntimeError(f"{name} must be of size batch_size")
    return arr


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification loss: -log p(target | input), summed over
    every alignment of the target (with blanks and repeats) to the input's frames.

    ``log_probs``: (T, N, C) (or unbatched (T, C)) log-probabilities, e.g. from
    ``log_softmax(dim=2)``; ``targets``: padded (N, S) or the N targets concatenated
    (1-D); ``input_lengths``, ``target_lengths``: one length per sample. ``mean`` divides
    each sample's loss by its target length, then averages over the batch;
    ``zero_infinity`` zeroes the losses (and gradients) of impossible alignments."""
    reduction = _reduction(None, None, reduction)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    if log_probs.ndim != 3:
        raise RuntimeError(
            f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got "
            f"{tuple(log_probs.shape)}"
        )
    T, N, C = log_probs.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths("input_lengths", input_lengths, N)
    tgt_len = _lengths("target_lengths", target_lengths, N)
    t = _host_int64(targets)
    if unbatched or t.ndim == 2:
        t = t.reshape(N, -1)
        if t.shape[1] < tgt_len.max(initial=0):
            raise RuntimeError(
                f"Expected tensor to have size at least {tgt_len.max()} at dimension 1, but "
                f"got size {t.shape[1]} for argument #2 'targets' (targets of shape "
                f"{tuple(t.shape)}, target_lengths {tgt_len.tolist()})"
            )
    else:  # concatenated: cut into a padded (N, S_max) array
        if t.shape[0] != tgt_len.sum():
            raise RuntimeError(
                f"Expected tensor to have size {tgt_len.sum()} at dimension 0, but got size "
                f"{t.shape[0]} for argument #2 'targets' (the concatenated targets; "
                f"target_lengths {tgt_len.tolist()})"
            )
        padded = xp.full((N, max(int(tgt_len.max(initial=0)), 1)), blank, dtype=xp.int64)
        starts = xp.concatenate([[0], xp.cumsum(tgt_len)[:-1]])
        for i, (a, n) in enumerate(zip(starts, tgt_len, strict=True)):
            padded[i, :n] = t[a : a + n]
        t = padded
    if in_len.max(initial=0) > T or in_len.min(initial=1) < 1:
        raise RuntimeError(
            f"Expected input_lengths to have value at most {T}, but got value "
            f"{in_len.max()} (input_lengths {in_len.tolist()} for log_probs of shape "
            f"{tuple(log_probs.shape)})"
        )
    on = B.of(log_probs.array).from_host  # the integer arrays go where the log-probabilities are
    nll = _ctc.CTC.apply(log_probs, on(t), on(in_len), on(tgt_len), blank, bool(zero_infinity))
    if reduction == "mean":
        divisor = _wrap(on(xp.maximum(tgt_len, 1).astype(log_probs.dtype)))
        return (nll / divisor).mean()
    if unbatched and reduction == "none":
        return nll.squeeze(0)
    return _reduce(nll, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) for any distance function d (a callable of two
    tensors; :func:`pairwise_distance` by default); ``swap``: min(d(a, n), d(p, n))."""
    if margin <= 0:
        raise ValueError(
            f"triplet_margin_with_distance_loss: expected margin to be greater "
            f"than 0, got {margin} instead"
        )
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if len({anchor.ndim, positive.ndim, negative.ndim}) > 1:
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs"
        )
    d = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = d(anchor, positive), d(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(d(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


# ============================================================ distances and normalisation


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit vectors (zero vectors stay zero)."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    dim = normalize_dim(dim, input.ndim)
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p along the last dimension (eps keeps the gradient finite when
    x1 = x2)."""
    return (x1 - x2 + eps).norm(p, max(x1.ndim, x2.ndim) - 1, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The ``p``-norm distance between every pair of rows i < j of (N, M) ``input``, as
    the flat upper triangle (N (N - 1) / 2,) in row-major order."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = B.namespace(input.array).triu_indices(input.shape[0], k=1)
    return (input[i] - input[j]).norm(p, 1)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (after broadcasting);
    the norms are clamped in value only, as in PyTorch."""
    try:
        shape = xp.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise RuntimeError(
            f"cosine_similarity: x1 of shape {tuple(x1.shape)} and x2 of shape "
            f"{tuple(x2.shape)} cannot be "
            f"broadcast together"
        ) from None
    dim = normalize_dim(dim, len(shape))
    x1, x2 = x1.expand(*shape), x2.expand(*shape)
    n1 = _pass_through_clamp(x1.norm(2, dim, keepdim=True), eps)
    n2 = _pass_through_clamp(x2.norm(2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)
