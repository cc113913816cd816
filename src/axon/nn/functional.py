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
    return x.array if isinstance(x, Tensor) else xp.asarray(x)


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
    input_shape = tuple(input_shape)
    t = _data(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"{name}: expected integer class indices as target (or, for cross_entropy, class "
            f"probabilities of the input's shape {input_shape}), got a target of dtype "
            f"{t.dtype} and shape {tuple(t.shape)}"
        )
    expected = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    if t.shape != expected:
        raise ValueError(
            f"{name}: input of shape {input_shape} needs a target of shape {expected}, "
            f"got target of shape {tuple(t.shape)}"
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
                f"{name}: {what} of shape {tuple(w.shape)} does not broadcast to the input's shape "
                f"{tuple(input.shape)}"
            )
    return w


def _same_shape(name: str, input: Tensor, target) -> None:
    ts = tuple(_data(target).shape)
    if ts != input.shape:
        raise ValueError(
            f"{name}: target of shape {ts} differs from input of shape {tuple(input.shape)}; "
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
                f"{name}: input of shape {tuple(input.shape)} and target of shape {ts} cannot be "
                f"broadcast together"
            ) from None
        warnings.warn(
            f"Using a target size ({ts}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to "
            f"broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )
    w = _const(weight, input.dtype)
    if w is not None and w.shape != input.shape:
        raise ValueError(
            f"{name}: weight of shape {tuple(w.shape)} and input of shape "
            f"{tuple(input.shape)} must have the same shape"
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
            f"multi_margin_loss: input must be (C,) or (N, C), got shape {tuple(input.shape)}"
        )
    t = _data(target)
    n = input.shape[0] if input.ndim == 2 else 1
    if t.dtype.kind not in "iu" or t.ndim > 1 or t.size != n:
        raise ValueError(
            f"multi_margin_loss: input of shape {tuple(input.shape)} needs integer class indices "
            f"of shape ({n},), got target of shape {tuple(t.shape)} and dtype {t.dtype}"
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
        raise RuntimeError(f"pad: {pad} is not a valid padding for shape {tuple(input.shape)}")
    out = input
    for i in range(len(pad) // 2):
        dim = input.ndim - 1 - i
        out = out.index_select(dim, _pad_index(input.shape[dim], pad[2 * i],
                                               pad[2 * i + 1], mode))
    return out


# ============================================================ normalisation (fused ops)

from . import _norm_ops  # noqa: E402

__all__ += ["batch_norm", "group_norm", "layer_norm"]


def _check_per_channel(name: str, t, n: int, input: Tensor) -> None:
    if t is not None and tuple(t.shape) != (n,):
        raise RuntimeError(
            f"{name} of shape {tuple(t.shape)} does not match input of shape "
            f"{tuple(input.shape)}: expected ({n},), one value per channel (dim 1)"
        )


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation of (N, C, *) input per channel:
    y = (x - mean) / sqrt(var + eps) * weight + bias.

    ``training``: mean and biased var of the batch (over N and *), and running buffers,
    when given, are updated in place: r <- (1 - momentum) r + momentum * stat (the
    unbiased variance for running_var). Otherwise the running statistics are used.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_per_channel(f"batch_norm: {name}", t, c, input)
    if training:
        if input.numel() // max(c, 1) == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {tuple(input.shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be given in "
                           "evaluation mode (training=False)")
    rm = None if running_mean is None else _data(running_mean)
    rv = None if running_var is None else _data(running_var)
    return _norm_ops.BatchNorm.apply(input, weight, bias, rm, rv, training, momentum, eps)


def layer_norm(input: Tensor, normalized_shape: int | tuple[int, ...] | list[int],
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each sample over its last ``len(normalized_shape)`` dimensions:
    y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                               f"normalized_shape {shape}")
    return _norm_ops.LayerNorm.apply(input, weight, bias, k, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the C channels of (N, C, *) input into ``num_groups`` groups, normalise each
    sample's group, then y = xhat * weight + bias per channel."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected input of shape (N, C, *), got "
                           f"{tuple(input.shape)}")
    c = input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(input.shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        _check_per_channel(f"group_norm: {name}", t, c, input)
    return _norm_ops.GroupNorm.apply(input, weight, bias, num_groups, eps)


# ============================================================ convolution, pooling, upsampling

from . import _conv_ops  # noqa: E402

__all__ += [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "conv1d",
    "conv2d", "dropout2d", "interpolate", "max_pool1d", "max_pool2d",
]


def _ntuple(value, n: int, what: str, name: str) -> tuple:
    """An int, or a sequence of 1 or ``n`` ints, as an ``n``-tuple (PyTorch's ``_pair``)."""
    if isinstance(value, int):
        return (value,) * n
    v = tuple(int(a) for a in value)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(
            f"{name}: expected {what} to be a single integer value or a list of {n} values, "
            f"but got {what}={list(v)}"
        )
    return v


def _same_padding(kernel: tuple, dilation: tuple) -> tuple:
    """'same' padding per dimension as (before, after): the total d (k - 1), with the odd
    one of an even kernel on the after side (PyTorch's rule)."""
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                 for k, d in zip(kernel, dilation, strict=True))


def _conv(name: str, nd: int, input, weight, bias, stride, padding, dilation, groups):
    stride = _ntuple(stride, nd, "stride", name)
    dilation = _ntuple(dilation, nd, "dilation", name)
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{name}: non-positive stride is not supported (stride={stride})")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{name}: dilation should be greater than zero (dilation={dilation})")
    if groups <= 0:
        raise RuntimeError(f"{name}: non-positive groups is not supported (groups={groups})")
    w_shape = _data(weight).shape
    kernel = tuple(w_shape[2:]) if len(w_shape) == nd + 2 else (1,) * nd
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_padding(kernel, dilation)
        else:
            raise RuntimeError(f"Invalid padding string '{padding}', should be one of "
                               f"{{'valid', 'same'}}")
    else:
        p = _ntuple(padding, nd, "padding", name)
        if any(q < 0 for q in p):
            raise RuntimeError(f"{name}: negative padding is not supported (padding={p})")
        pads = tuple((q, q) for q in p)
    if nd == 1:  # run as 2-D with a height of 1
        stride, pads, dilation = (1, *stride), ((0, 0), *pads), (1, *dilation)
    return _conv_ops.Conv.apply(input, weight, bias, stride, pads, dilation, groups, name)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of ``input`` (N, C, H, W) or (C, H, W) with ``weight``
    (O, C / groups, kh, kw):

        y[n, o, h, w] = b[o] + sum_(c, i, j) W[o, c, i, j] x[n, c, h s + i d, w s + j d]

    over the zero-padded input. ``padding``: an int, a pair, 'valid' (none) or 'same'
    (output size = input size; stride 1 only). im2col plus one matrix product."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of ``input`` (N, C, L) or (C, L) with ``weight`` (O, C / groups,
    k): y[n, o, l] = b[o] + sum_(c, i) W[o, c, i] x[n, c, l s + i d]; as :func:`conv2d`."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def _pool_args(name: str, nd: int, kernel_size, stride, padding, dilation=1):
    """Kernel, stride (default: the kernel), padding and dilation as 2-D tuples."""
    kernel = _ntuple(kernel_size, nd, "kernel_size", name)
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        stride = kernel
    stride = _ntuple(stride, nd, "stride", name)
    padding = _ntuple(padding, nd, "padding", name)
    dilation = _ntuple(dilation, nd, "dilation", name)
    for what, values, low in (("kernel size", kernel, 1), ("stride", stride, 1),
                              ("dilation", dilation, 1), ("padding", padding, 0)):
        if any(v < low for v in values):
            raise RuntimeError(
                f"{name}: {what} should be {'greater than zero' if low else 'non-negative'}, "
                f"but got {what}={values}"
            )
    if nd == 1:  # run as 2-D with a height of 1
        kernel, stride, padding, dilation = ((1, *kernel), (1, *stride), (0, *padding),
                                             (1, *dilation))
    return kernel, stride, padding, dilation


def _max_pool(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    args = (*_pool_args(name, nd, kernel_size, stride, padding, dilation), bool(ceil_mode),
            name)
    out = _conv_ops.MaxPool.apply(input, *args)
    if return_indices:
        return out, _wrap(_conv_ops.max_pool_indices(_data(input), out.array, *args))
    return out


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """y[n, c, h, w] = max over the window x[n, c, h s + i d, w s + j d] (0 <= i < kh,
    0 <= j < kw) of the input padded with -inf; ``stride`` defaults to the kernel. The
    gradient goes to the first maximum of each window (PyTorch's rule for ties).
    ``return_indices`` also returns each maximum's flat index h W + w in its plane."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def _avg_pool(name, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    kernel, stride, padding, _ = _pool_args(name, nd, kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{name}: divisor must be not zero")
    return _conv_ops.AvgPool.apply(input, kernel, stride, padding, bool(ceil_mode),
                                   bool(count_include_pad), divisor_override, name)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """y = (sum of each window of the zero-padded input) / divisor; the divisor is the
    window's size within the padded input (``count_include_pad``), within the input
    itself otherwise, or ``divisor_override``."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """:func:`avg_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def _adaptive_size(name: str, output_size, in_size: tuple) -> tuple:
    """``output_size`` (an int or a tuple with None for 'keep') as a tuple of ints."""
    n = len(in_size)
    sizes = (output_size,) * n if output_size is None or isinstance(output_size, int) else (
        tuple(output_size))
    if len(sizes) != n:
        raise ValueError(f"{name}: output_size must have {n} elements, got {output_size}")
    sizes = tuple(i if s is None else int(s) for s, i in zip(sizes, in_size, strict=True))
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"{name}: output_size must be non-negative, got {sizes}")
    return sizes


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (Ho, Wo): output i averages rows
    floor(i H / Ho) <= h < ceil((i + 1) H / Ho) (and likewise columns); windows may
    overlap when the sizes don't divide. ``None`` in ``output_size`` keeps that size."""
    size = _adaptive_size("adaptive_avg_pool2d", output_size, input.shape[-2:])
    return _conv_ops.AdaptiveAvgPool.apply(input, size, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """:func:`adaptive_avg_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    size = _adaptive_size("adaptive_avg_pool1d", output_size, input.shape[-1:])
    return _conv_ops.AdaptiveAvgPool.apply(input, size, "adaptive_avg_pool1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout: zero each whole channel (n, c) with probability p and scale the
    rest by 1 / (1 - p); the identity when not ``training``. As in PyTorch, a 3-D input
    is read as (N, C, L) (with a warning)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior and "
            "silence this warning, please use dropout instead. Note that dropout2d exists "
            "to provide channel-wise dropout on inputs with 2 spatial dimensions, a channel "
            "dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret "
            "the input as one without a batch dimension, i.e. shape (C, H, W). To maintain "
            "the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    if not training or p == 0.0:
        return input
    return _inplace(input, _conv_ops.FeatureDropout.apply(input, p, B.rng()), inplace)


_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
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
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         f"modes and requires a 4-D tensor as input (got mode {mode!r} and "
                         f"input of shape {tuple(input.shape)})")
    if mode in _LINEAR_MODES:
        if nd != _LINEAR_MODES[mode]:
            raise NotImplementedError(
                f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR_MODES[mode] + 2}D "
                f"input"
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
    out_size, scales = _interpolate_sizes(input.shape[2:], size, scale_factor,
                                          recompute_scale_factor)
    if mode == "area" and nd < 3:
        return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(input, out_size)
    if mode == "area":  # volumes: adaptive average pooling is separable too
        return _resize_separable(input, out_size, scales, False, False, area=True)
    if mode in _LINEAR_MODES:
        return _resize_separable(input, out_size, scales, bool(align_corners),
                                 mode == "bicubic", antialias)
    if nd == 3:
        return _resize_nearest(input, out_size, scales, mode == "nearest-exact")
    return _conv_ops.UpsampleNearest.apply(input, out_size, scales, mode == "nearest-exact",
                                           "interpolate")


def _interpolate_sizes(in_size: tuple, size, scale_factor, recompute_scale_factor):
    """The output size, and the scale factor per dimension that the index mapping uses
    (None: output / input)."""
    nd = len(in_size)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        out_size = _ntuple(size, nd, "size", "interpolate")
        scales = (None,) * nd
    elif scale_factor is not None:
        factors = (tuple(float(s) for s in scale_factor)
                   if isinstance(scale_factor, tuple | list) else (float(scale_factor),) * nd)
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
            w = xp.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                         xp.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))
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


def _resize_separable(input: Tensor, out_size: tuple, scales: tuple, align_corners: bool,
                      cubic: bool, antialias: bool = False, area: bool = False) -> Tensor:
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
        mt = _wrap(xp.ascontiguousarray(m.T).astype(x.dtype))
        return (x.transpose(dim, -1) @ mt).transpose(dim, -1)

    if input.dtype.kind in "iu":
        info = xp.iinfo(input.dtype)
        out = input.array
        for k in reversed(range(nd)):
            out = resize_dim(_wrap(out.astype(xp.float32)), k).array
            out = xp.clip(xp.rint(out), info.min, info.max).astype(input.dtype)
        return _wrap(out)
    out = input
    for k in range(nd):
        out = resize_dim(out, k)
    return out


def _deprecated_upsample(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  f"instead.", stacklevel=3)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
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


__all__ += ["upsample", "upsample_bilinear", "upsample_nearest"]


# ============================================================ embedding (lookup tables)

from . import _embedding_op  # noqa: E402

__all__ += ["embedding"]


def embedding(input, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (V, D) picked by the integer ``input`` of any shape:
    ``out[...] = weight[input[...]]``, of shape ``input.shape + (D,)``.

    The ``padding_idx`` row gets no gradient. With ``max_norm``, the rows looked up are
    first rescaled in place (without a graph) to a ``norm_type``-norm of at most
    ``max_norm``, as in PyTorch. Out-of-range indices raise IndexError."""
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported")
    idx = _data(input)
    v = weight.shape[0]
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise ValueError(f"Padding_idx must be within num_embeddings ({v}), got "
                             f"{padding_idx}")
        padding_idx = padding_idx + v if padding_idx < 0 else padding_idx
    if max_norm is not None:
        _embedding_op.check_indices(idx, v)
        rows = xp.unique(idx)  # each row once
        w = weight.array
        norms = xp.linalg.norm(w[rows], ord=norm_type, axis=1)  # (len(rows),)
        big = norms > max_norm
        if big.any():
            scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] *= scale[:, None]
    return _embedding_op.Embedding.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


# ============================================================ attention (fused ops)

from ._attention_ops import scaled_dot_product_attention  # noqa: E402

__all__ += ["scaled_dot_product_attention"]


# ============================================================ more activations (issue 13)
# Each is one primitive op (``axon.autograd.ops.activation``) where PyTorch's kernel has
# its own subgradients at kinks, and PyTorch's own composition otherwise (softsign,
# tanhshrink, softmin, glu, prelu), so values and gradients match it exactly.

import math  # noqa: E402

from ..autograd.tensor import _as_tensor, bind_methods, normalize_dim, where  # noqa: E402

__all__ += [
    "celu", "celu_", "elu_", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
    "hardtanh_", "leaky_relu_", "logsigmoid", "mish", "prelu", "relu6", "relu_", "rrelu",
    "rrelu_", "selu", "selu_", "silu", "softmin", "softshrink", "softsign", "tanhshrink",
    "threshold", "threshold_",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clip(x, min_val, max_val); the gradient is 1 strictly between the bounds, else 0."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace(input, ops.Hardtanh.apply(input, min_val, max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)``, so the gradient is 0 at 0 and at 6."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6, a piecewise-linear sigmoid."""
    return _inplace(input, ops.Hardsigmoid.apply(input), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6 (MobileNetV3's swish)."""
    return _inplace(input, ops.Hardswish.apply(input), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (x for x > 0, alpha (e^x - 1) otherwise), with the self-normalising constants
    alpha = 1.6732632423543772, scale = 1.0507009873554805."""
    return _inplace(input, ops.ScaledElu.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)): an ELU continuously differentiable
    at 0 for every alpha."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu: alpha must not be 0")
    return _inplace(input, ops.ScaledElu.apply(input, float(alpha), 1.0, 1.0 / alpha),
                    inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (also called swish)."""
    return _inplace(input, ops.Silu.apply(input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _inplace(input, ops.Mish.apply(input), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(1 / (1 + e^-x)), computed without overflow as -softplus(-x)."""
    return ops.LogSigmoid.apply(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) (PyTorch's own composition)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - input.tanh()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(-x) along ``dim``: the weights favour the smallest entries."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return (-input).softmax(dim)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``."""
    return _inplace(input, ops.Threshold.apply(input, threshold, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return _inplace(input, ops.Threshold.apply(input, threshold, value), True)


def _check_lambd(lambd: float) -> None:
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 in between."""
    _check_lambd(lambd)
    return ops.Shrink.apply(input, lambd, True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 in between."""
    _check_lambd(lambd)
    return ops.Shrink.apply(input, lambd, False)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: split ``input`` in halves a, b along ``dim``; a sigmoid(b)."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = normalize_dim(dim, input.ndim)
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim} is size {input.shape[dim]}"
        )
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, w x otherwise, with one learnable slope w per channel (dim 1) or one
    for all (a weight of one element)."""
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {n} and channel size = {channels}."
            )
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif weight.ndim > input.ndim:  # a (1,) slope on a 0-d input keeps the output 0-d
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training, each x <= 0 is scaled by a slope drawn uniformly
    from [lower, upper] (the gradient uses the same slope); otherwise by (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = B.rng().uniform(lower, upper, input.shape).astype(input.dtype)
    return _inplace(input, ops.LeakyRelu.apply(input, slopes), inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def _sigmoid_(input: Tensor) -> Tensor:
    """In-place sigmoid (``x.sigmoid_()``)."""
    return input.copy_(input.sigmoid())


def _tanh_(input: Tensor) -> Tensor:
    """In-place tanh (``x.tanh_()``)."""
    return input.copy_(input.tanh())


# the Tensor methods torch has for these: x.relu_(), x.sigmoid_(), x.tanh_(), x.prelu(w),
# x.hardshrink(lambd)
bind_methods(relu_=relu_, sigmoid_=_sigmoid_, tanh_=_tanh_, prelu=prelu,
             hardshrink=hardshrink)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
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
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)


__all__ += ["linear_cross_entropy"]


# ============================================================ more losses (issue 13)
# PyTorch writes these losses as compositions of elementwise ops (in ATen or in Python);
# they are written here the same way, so the gradients (kinks included) are PyTorch's.

from ..autograd.ops import ctc as _ctc  # noqa: E402

__all__ += [
    "ctc_loss", "cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss", "kl_div",
    "margin_ranking_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
    "poisson_nll_loss", "soft_margin_loss", "triplet_margin_loss",
]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _pass_through_clamp(x: Tensor, min: float) -> Tensor:
    """``x`` clamped below at ``min`` in value, with the gradient of ``x`` itself (as
    PyTorch's in-place clamp under ``no_grad``): x + (clamped - x) as a constant."""
    return x + _wrap(xp.maximum(x.array, min) - x.array)


def _xlogx(t: Tensor) -> Tensor:
    """t log t, and 0 where t = 0 (``xlogy(t, t)``)."""
    safe = where(t > 0, t, 1.0)
    return where(t > 0, t * safe.log(), 0.0)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence of ``target`` from the distribution whose log-probabilities are
    ``input``: pointwise t (log t - x) (or e^t (t - x) with ``log_target``).
    ``'batchmean'`` divides the sum by the batch size (the KL divergence per sample);
    ``'mean'`` divides by the number of elements, with PyTorch's warning."""
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


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,
                     full: bool = False, size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson target with rate e^x (``log_input``) or x:
    e^x - t x, or x - t log(x + eps); ``full`` adds Stirling's approximation of log(t!),
    t log t - t + log(2 pi t) / 2, for t > 1."""
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
        return _wrap(xp.full(input.shape, var, dtype=input.dtype))
    if (_data(var) < 0).any():
        raise ValueError("var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if input.shape[:-1] == var.shape:
        return var.unsqueeze(-1)
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape, strict=True)
                                      if i != v) == 1:
        return var
    raise ValueError(
        f"var is of incorrect size: var of shape {tuple(var.shape)} for input of shape "
        f"{tuple(input.shape)}"
    )


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
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
        raise RuntimeError(f"{name}: All input tensors should have same dimension but got "
                           f"sizes: {sizes}")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin), y = 1 when x1 should rank higher, -1 otherwise."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _as_tensor(target, input1)
    _same_ndim("margin_ranking_loss", input1=input1, input2=input2, target=target)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (x: a distance, y: same or not)."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _data(target)
    loss = (where(t != 1, (margin - input).clamp(min=0), 0.0)
            + where(t != -1, input, 0.0))
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + e^(-y x)): the logistic loss for labels y = +-1."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_shape("soft_margin_loss", input, target)
    return _reduce((-input * _as_tensor(target, input)).softplus(1.0, math.inf), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Binary cross-entropy per class on logits, averaged over the classes (last dim):
    -(y log sigmoid(x) + (1 - y) log sigmoid(-x)) (times ``weight``) / C per sample."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_shape("multilabel_soft_margin_loss", input, target)
    target = _as_tensor(target, input)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * _elementwise_weight("multilabel_soft_margin_loss", weight, input)
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: per sample, sum over target classes j and non-target
    classes i of max(0, 1 - (x_j - x_i)) / C. ``target`` (same shape as ``input``) lists
    the target classes first, ended by the first -1."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _data(target)
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
    listed = xp.cumprod(t != -1, axis=1).astype(bool)  # the classes before the first -1
    cls = xp.where(listed, t, 0)
    is_target = ((cls[:, :, None] == xp.arange(C)) & listed[:, :, None]).any(axis=1)
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


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _data(target)
    target_shape = tuple(input1.shape[:1]) if input1.ndim == 2 else ()
    if input1.shape != input2.shape or input1.ndim not in (1, 2) or t.shape != target_shape:
        raise RuntimeError(
            f"cosine_embedding_loss: expected input1 and input2 of the same shape (D,) or "
            f"(N, D) and a target of shape () or (N,), got input1 {tuple(input1.shape)}, "
            f"input2 {tuple(input2.shape)} and target {tuple(t.shape)}"
        )
    cos = _pairwise_cos(input1, input2, input1.ndim - 1)
    loss = (where(t == 1, 1 - cos, 0.0)
            + where(t == -1, (cos - margin).clamp(min=0), 0.0))
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
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


def _lengths(name: str, lengths, n: int):
    """Sequence lengths (a tensor, list or tuple of ints) as an int64 array of size n."""
    arr = xp.asarray(_data(lengths), dtype=xp.int64).reshape(-1)
    if arr.size != n:
        raise RuntimeError(f"{name} must be of size batch_size")
    return arr


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
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
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got "
                           f"{tuple(log_probs.shape)}")
    T, N, C = log_probs.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths("input_lengths", input_lengths, N)
    tgt_len = _lengths("target_lengths", target_lengths, N)
    t = xp.asarray(_data(targets), dtype=xp.int64)
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
            padded[i, :n] = t[a:a + n]
        t = padded
    if in_len.max(initial=0) > T or in_len.min(initial=1) < 1:
        raise RuntimeError(
            f"Expected input_lengths to have value at most {T}, but got value "
            f"{in_len.max()} (input_lengths {in_len.tolist()} for log_probs of shape "
            f"{tuple(log_probs.shape)})"
        )
    nll = _ctc.CTC.apply(log_probs, t, in_len, tgt_len, blank, bool(zero_infinity))
    if reduction == "mean":
        divisor = _wrap(xp.maximum(tgt_len, 1).astype(log_probs.dtype))
        return (nll / divisor).mean()
    if unbatched and reduction == "none":
        return nll.squeeze(0)
    return _reduce(nll, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) for any distance function d (a callable of two
    tensors; :func:`pairwise_distance` by default); ``swap``: min(d(a, n), d(p, n))."""
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be greater "
                         f"than 0, got {margin} instead")
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


__all__ += ["triplet_margin_with_distance_loss"]


# ============================================================ distances and normalisation

__all__ += ["cosine_similarity", "normalize", "pairwise_distance"]


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit vectors (zero vectors stay zero)."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    dim = normalize_dim(dim, input.ndim)
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
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
    i, j = xp.triu_indices(input.shape[0], k=1)
    return (input[i] - input[j]).norm(p, 1)


__all__ += ["pdist"]


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


# ============================================================ more layers' functional forms
# (transposed and 3-D convolution, unfold/fold, more pooling, pixel shuffle, instance norm,
# embedding_bag, ...: written in axon/nn/_functional_conv.py, _functional_pool.py and
# _functional_layers.py, exported here under torch's names)

from . import _functional_conv, _functional_layers, _functional_pool  # noqa: E402
from ._functional_conv import *  # noqa: E402, F403
from ._functional_layers import *  # noqa: E402, F403
from ._functional_pool import *  # noqa: E402, F403

__all__ += _functional_conv.__all__ + _functional_pool.__all__ + _functional_layers.__all__


# ============================================================ sampling (issue 13)

__all__ += ["gumbel_softmax"]


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A differentiable sample from the categorical distribution of ``logits``:
    softmax((logits + g) / tau) with g ~ Gumbel(0, 1) (g = -log E, E ~ Exp(1)). ``hard``
    returns the one-hot of its argmax in the forward pass and the soft sample's gradient
    in the backward (the straight-through estimator). ``eps`` is unused, as in PyTorch."""
    dim = normalize_dim(dim, logits.ndim)
    gumbels = -xp.log(B.rng().exponential(1.0, logits.shape)).astype(logits.dtype)
    y_soft = ((logits + _wrap(gumbels)) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = xp.expand_dims(y_soft.array.argmax(axis=dim), dim)
    y_hard = xp.zeros_like(y_soft.array)
    xp.put_along_axis(y_hard, index, 1.0, axis=dim)
    return _wrap(y_hard) - y_soft.detach() + y_soft


# ============================================================ spatial transformers (issue 13)

from ..autograd.ops import grid_sample as _grid_sample  # noqa: E402

__all__ += ["affine_grid", "grid_sample"]

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
    """The sampling grid (N, H, W, 2) of the 2-D affine maps ``theta`` (N, 2, 3) for an
    output of ``size`` (N, C, H, W): grid[n, i, j] = theta[n] @ (x_j, y_i, 1), with x, y
    the normalised pixel centres in [-1, 1] (see :func:`grid_sample`)."""
    align_corners = _align(align_corners)
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(
            f"affine_grid only supports 4D sizes (2D affine transforms) in axon, got size "
            f"{size}"
        )
    N, _, H, W = size
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                         f"{size}. Got {tuple(theta.shape)}.")
    if theta.shape[0] != N:
        raise RuntimeError(f"affine_grid: theta of shape {tuple(theta.shape)} holds "
                           f"{theta.shape[0]} matrices, but size {size} asks for N = {N}")

    def centres(n: int):
        line = xp.linspace(-1.0, 1.0, n) if n > 1 else xp.zeros(1)
        return line if align_corners else line * (n - 1) / n

    base = xp.ones((H, W, 3), dtype=theta.dtype)
    base[..., 0] = centres(W)[None, :]
    base[..., 1] = centres(H)[:, None]
    grid = _wrap(base.reshape(1, H * W, 3)) @ theta.transpose(1, 2)  # (N, H W, 2)
    return grid.reshape(N, H, W, 2)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Read ``input`` (N, C, H, W) at the normalised positions ``grid`` (N, Ho, Wo, 2),
    (x, y) in [-1, 1], by ``bilinear`` interpolation or the ``nearest`` pixel;
    ``padding_mode`` 'zeros', 'border' or 'reflection' decides reads outside the input.
    Differentiable in the input and (bilinear) in the grid."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not implemented in axon")
    align_corners = _align(align_corners)
    if input.ndim != 4 or grid.ndim != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid in axon, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.shape[-1] != 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size 2 in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    return _grid_sample.GridSample.apply(input, grid, mode, padding_mode, align_corners)
