"""``axon.nn.functional``: layers and losses as plain functions, with PyTorch's names,
signatures, defaults and semantics (``torch.nn.functional``).

Activations route to the primitive ops of ``axon.autograd``; the losses and dropout are
fused ops (``axon.nn._ops``), one graph node each. Weights of losses (``weight``,
``pos_weight``) are constants: no gradient flows to them.
"""

from __future__ import annotations

import warnings

from .. import backend as B
from ..autograd import ops
from ..autograd.tensor import Tensor, _wrap
from ..backend import xp
from . import _ops

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "elu", "gelu", "huber_loss", "l1_loss", "leaky_relu", "linear", "log_softmax",
    "mse_loss", "multi_margin_loss", "nll_loss", "one_hot", "pad", "relu", "sigmoid",
    "smooth_l1_loss", "softmax", "softplus", "tanh",
]


# ============================================================ helpers


def _data(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _inplace(x: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """``inplace=True``: write ``out`` into ``x`` (as ``x.copy_``) and return ``x``."""
    return x.copy_(out) if inplace else out


def _reduction(size_average, reduce, reduction: str) -> str:
    """The reduction string, from PyTorch's deprecated ``size_average``/``reduce`` too."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            stacklevel=3,
        )
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _const(w, dtype):
    """A loss weight as a plain array of the input's dtype (or None)."""
    return None if w is None else xp.asarray(_data(w), dtype=dtype)


def _class_weight(weight, n_classes: int, dtype):
    w = _const(weight, dtype)
    if w is not None and w.shape != (n_classes,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {list(w.shape)}"
        )
    return w


def _check_class_input(name: str, input: Tensor) -> None:
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")


def _index_target(name: str, input_shape: tuple, target):
    """Check class-index targets: shape (N, d1, ...) for input (N, C, d1, ...), () for (C,)."""
    t = _data(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"{name}: expected integer class indices as target (or, for cross_entropy, class "
            f"probabilities of the input's shape {input_shape}), got a target of dtype "
            f"{t.dtype} and shape {t.shape}"
        )
    expected = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    if t.shape != expected:
        raise ValueError(
            f"{name}: input of shape {input_shape} needs a target of shape {expected}, "
            f"got target of shape {t.shape}"
        )
    return t


def _elementwise_weight(name: str, weight, input: Tensor, what: str = "weight"):
    """A weight that must broadcast to the input's shape, as an array of its dtype."""
    w = _const(weight, input.dtype)
    if w is not None:
        try:
            ok = xp.broadcast_shapes(w.shape, input.shape) == input.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{name}: {what} of shape {w.shape} does not broadcast to the input's shape "
                f"{input.shape}"
            )
    return w


def _same_shape(name: str, input: Tensor, target) -> None:
    ts = tuple(_data(target).shape)
    if ts != input.shape:
        raise ValueError(
            f"{name}: target of shape {ts} differs from input of shape {input.shape}; "
            f"they must have the same shape"
        )


# ============================================================ activations


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b (one fused op)."""
    return ops.Linear.apply(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """relu(x) = max(x, 0)."""
    return _inplace(input, input.relu(), inplace)


def sigmoid(input: Tensor) -> Tensor:
    """sigmoid(x) = 1 / (1 + e^-x)."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return _inplace(input, input.leaky_relu(negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return _inplace(input, input.elu(alpha), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold."""
    return input.softplus(beta, threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) (Phi: the standard normal CDF); ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return input.gelu(approximate)


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        f"include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j) along ``dim``."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """log_softmax(x) = x - log sum_j e^(x_j) along ``dim`` (stable)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return input.log_softmax(dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by
    1 / (1 - p), so the expectation is unchanged; the identity when not ``training``."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _inplace(input, _ops.Dropout.apply(input, p, B.rng()), inplace)


# ============================================================ regression losses


def _pointwise(name: str, kind: str, input: Tensor, target, param, weight,
               reduction: str, mean_by_weight: bool) -> Tensor:
    ts = tuple(_data(target).shape)
    if ts != input.shape:
        try:
            xp.broadcast_shapes(ts, input.shape)
        except ValueError:
            raise ValueError(
                f"{name}: input of shape {input.shape} and target of shape {ts} cannot be "
                f"broadcast together"
            ) from None
        warnings.warn(
            f"Using a target size ({ts}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            f"broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )
    w = _const(weight, input.dtype)
    if w is not None and w.shape != input.shape:
        raise ValueError(
            f"{name}: weight of shape {w.shape} and input of shape {input.shape} must have "
            f"the same shape"
        )
    return _ops.PointwiseLoss.apply(input, target, kind, param, w, reduction, mean_by_weight)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error: mean((x - y)^2). With ``weight``: sum(w (x - y)^2) / sum(w)."""
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise("mse_loss", "mse", input, target, None, weight, reduction, True)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: mean(|x - y|). With ``weight``: sum(w |x - y|) / sum(w)."""
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise("l1_loss", "l1", input, target, None, weight, reduction, True)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """d^2 / 2 for |d| < delta, else delta (|d| - delta / 2), with d = x - y."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise("huber_loss", "huber", input, target, float(delta), weight, reduction,
                      False)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """d^2 / (2 beta) for |d| < beta, else |d| - beta / 2 (huber_loss / beta); L1 at
    beta = 0."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    kind = "l1" if beta == 0 else "smooth_l1"
    return _pointwise("smooth_l1_loss", kind, input, target, float(beta), None, reduction,
                      False)


# ============================================================ classification losses


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) on probabilities p, logs clamped to >= -100."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_shape("binary_cross_entropy", input, target)
    w = _elementwise_weight("binary_cross_entropy", weight, input)
    return _ops.BCE.apply(input, target, w, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE on logits x, stable for any x: -w (pw y log sigmoid(x) + (1 - y) log
    sigmoid(-x)); ``pos_weight`` pw weighs the positive term (broadcast over the last
    dimension)."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    name = "binary_cross_entropy_with_logits"
    w = _elementwise_weight(name, weight, input)
    pw = _elementwise_weight(name, pos_weight, input, "pos_weight")
    return _ops.BCEWithLogits.apply(input, target, w, pw, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d1, ...) or (C,) against class
    indices (N,) / (N, d1, ...) / () or class probabilities of the input's shape.

    Per sample: -sum_c w_c q_c log softmax(x)_c, where q is the one-hot target smoothed
    to (1 - eps) q + eps / C. With indices, ``mean`` divides by the summed weight of the
    targets that are not ``ignore_index``; with probabilities, by the sample count.
    One fused op: backward is (softmax - smoothed one-hot) * weights / denominator.
    """
    reduction = _reduction(size_average, reduce, reduction)
    _check_class_input("cross_entropy", input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )
    C = input.shape[1 if input.ndim > 1 else 0]
    w = _class_weight(weight, C, input.dtype)
    t = _data(target)
    if t.dtype.kind == "f" and t.shape == input.shape:
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _ops.SoftTargetCrossEntropy.apply(input, target, w, reduction,
                                                 float(label_smoothing))
    t = _index_target("cross_entropy", input.shape, t)
    return _ops.ClassIndexLoss.apply(input, t, w, ignore_index, reduction,
                                     float(label_smoothing), True)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities: -w_y x_y per sample; ``mean``
    divides by the summed weight of the targets that are not ``ignore_index``."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_class_input("nll_loss", input)
    C = input.shape[1 if input.ndim > 1 else 0]
    w = _class_weight(weight, C, input.dtype)
    t = _index_target("nll_loss", input.shape, target)
    return _ops.ClassIndexLoss.apply(input, t, w, ignore_index, reduction, 0.0, False)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss (the SVM loss): per sample
    sum_{j != y} max(0, margin - x_y + x_j)^p * w_y / C, for p = 1 or 2."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if input.ndim not in (1, 2):
        raise ValueError(
            f"multi_margin_loss: input must be (C,) or (N, C), got shape {input.shape}"
        )
    t = _data(target)
    n = input.shape[0] if input.ndim == 2 else 1
    if t.dtype.kind not in "iu" or t.ndim > 1 or t.size != n:
        raise ValueError(
            f"multi_margin_loss: input of shape {input.shape} needs integer class indices "
            f"of shape ({n},), got target of shape {t.shape} and dtype {t.dtype}"
        )
    w = _class_weight(weight, input.shape[-1], input.dtype)
    return _ops.MultiMargin.apply(input, t, p, float(margin), w, reduction)


# ============================================================ helpers on tensors


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer class indices of shape (*) to an int64 one-hot tensor (*, num_classes)."""
    t = _data(tensor)
    if t.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    if t.size:
        if t.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if t.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return _wrap(xp.eye(num_classes, dtype=B.int64)[t])


def _pad_index(n: int, lo: int, hi: int, mode: str):
    """Source positions along one dimension of length n padded by (lo, hi)."""
    j = xp.arange(-lo, n + hi)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    if mode == "circular":
        if lo > n or hi > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        return j % n
    if lo >= n or hi >= n:
        raise RuntimeError(
            f"pad: reflect padding ({lo}, {hi}) must be less than the dimension size {n}"
        )
    j = xp.abs(j)
    return xp.where(j > n - 1, 2 * (n - 1) - j, j)


def pad(input: Tensor, pad: tuple | list, mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last dimensions: ``pad = (left, right, top, bottom, ...)`` starting from the
    last dimension. Modes: 'constant' (with ``value``), 'reflect', 'replicate',
    'circular'; negative amounts crop."""
    pad = tuple(int(p) for p in pad)
    if mode == "constant":
        return ops.Pad.apply(input, pad, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported")
    if value:
        raise ValueError(f"Padding mode {mode!r} doesn't take in value argument")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: {pad} is not a valid padding for shape {input.shape}")
    out = input
    for i in range(len(pad) // 2):
        dim = input.ndim - 1 - i
        out = out.index_select(dim, _pad_index(input.shape[dim], pad[2 * i],
                                               pad[2 * i + 1], mode))
    return out
