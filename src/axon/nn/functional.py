"""``axon.nn.functional``: layers and losses as plain functions, with PyTorch's names,
signatures, defaults and semantics (``torch.nn.functional``).

Activations route to the primitive ops of ``axon.autograd``; the losses, dropout,
normalisations and embedding here are fused ops of ``axon.autograd.ops``, one graph node
each. Weights of losses (``weight``, ``pos_weight``) are constants: no gradient flows to
them. The rest lives in themed modules re-exported at the end: ``_functional_activations``,
``_functional_losses`` (and distances), ``_functional_attention``, ``_functional_sampling``
(interpolate, grid_sample), ``_functional_conv``, ``_functional_pool``, ``_functional_layers``.
"""

from __future__ import annotations

import warnings

from .. import backend as B
from ..autograd import ops
from ..autograd.tensor import Tensor, _wrap
from ..backend import xp

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "huber_loss",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "multi_margin_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "tanh",
]


# ============================================================ helpers


def _data(x, like: Tensor | None = None):
    """The array of a Tensor; anything else (numbers, lists, NumPy arrays) as a host array,
    moved onto the backend of ``like`` when given (a Tensor's array stays where it is: a
    device mismatch is the op's error, as in torch)."""
    if isinstance(x, Tensor):
        return x.array
    arr = xp.asarray(x)
    if like is not None and like.array.__class__ is not xp.ndarray:
        return B.of(like.array).from_host(arr)
    return arr


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


def _const(w, dtype, like: Tensor | None = None):
    """A loss weight as a plain array of the input's dtype (or None), on ``like``'s device
    when it was not a Tensor."""
    return None if w is None else _data(w, like).astype(dtype, copy=False)


def _class_weight(weight, n_classes: int, input: Tensor):
    w = _const(weight, input.dtype, input)
    if w is not None and w.shape != (n_classes,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {list(w.shape)}"
        )
    return w


def _check_class_input(name: str, input: Tensor) -> None:
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")


def _index_target(name: str, input_shape: tuple, t):
    """Check the array ``t`` of class-index targets: shape (N, d1, ...) for input
    (N, C, d1, ...), () for (C,)."""
    input_shape = tuple(input_shape)
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
    w = _const(weight, input.dtype, input)
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


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j) along ``dim``."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """log_softmax(x) = x - log sum_j e^(x_j) along ``dim`` (stable)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return input.log_softmax(dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by
    1 / (1 - p), so the expectation is unchanged; the identity when not ``training``."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _inplace(input, ops.Dropout.apply(input, p, B.rng()), inplace)


# ============================================================ regression losses


def _pointwise(
    name: str, kind: str, input: Tensor, target, param, weight, reduction: str, mean_by_weight: bool
) -> Tensor:
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
    w = _const(weight, input.dtype, input)
    if w is not None and w.shape != input.shape:
        raise ValueError(
            f"{name}: weight of shape {tuple(w.shape)} and input of shape "
            f"{tuple(input.shape)} must have the same shape"
        )
    return ops.PointwiseLoss.apply(input, target, kind, param, w, reduction, mean_by_weight)


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error: mean((x - y)^2). With ``weight``: sum(w (x - y)^2) / sum(w)."""
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise("mse_loss", "mse", input, target, None, weight, reduction, True)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error: mean(|x - y|). With ``weight``: sum(w |x - y|) / sum(w)."""
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise("l1_loss", "l1", input, target, None, weight, reduction, True)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """d^2 / 2 for |d| < delta, else delta (|d| - delta / 2), with d = x - y."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise("huber_loss", "huber", input, target, float(delta), weight, reduction, False)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """d^2 / (2 beta) for |d| < beta, else |d| - beta / 2 (huber_loss / beta); L1 at
    beta = 0."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    kind = "l1" if beta == 0 else "smooth_l1"
    return _pointwise("smooth_l1_loss", kind, input, target, float(beta), None, reduction, False)


# ============================================================ classification losses


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) on probabilities p, logs clamped to >= -100."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_shape("binary_cross_entropy", input, target)
    w = _elementwise_weight("binary_cross_entropy", weight, input)
    return ops.BCE.apply(input, target, w, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on logits x, stable for any x: -w (pw y log sigmoid(x) + (1 - y) log
    sigmoid(-x)); ``pos_weight`` pw weighs the positive term (broadcast over the last
    dimension)."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    name = "binary_cross_entropy_with_logits"
    w = _elementwise_weight(name, weight, input)
    pw = _elementwise_weight(name, pos_weight, input, "pos_weight")
    return ops.BCEWithLogits.apply(input, target, w, pw, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
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
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    C = input.shape[1 if input.ndim > 1 else 0]
    w = _class_weight(weight, C, input)
    t = _data(target, input)
    if t.dtype.kind == "f" and t.shape == input.shape:
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return ops.SoftTargetCrossEntropy.apply(input, target, w, reduction, float(label_smoothing))
    t = _index_target("cross_entropy", input.shape, t)
    return ops.ClassIndexLoss.apply(
        input, t, w, ignore_index, reduction, float(label_smoothing), True
    )


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities: -w_y x_y per sample; ``mean``
    divides by the summed weight of the targets that are not ``ignore_index``."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_class_input("nll_loss", input)
    C = input.shape[1 if input.ndim > 1 else 0]
    w = _class_weight(weight, C, input)
    t = _index_target("nll_loss", input.shape, _data(target, input))
    return ops.ClassIndexLoss.apply(input, t, w, ignore_index, reduction, 0.0, False)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss (the SVM loss): per sample
    sum_{j != y} max(0, margin - x_y + x_j)^p * w_y / C, for p = 1 or 2."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if input.ndim not in (1, 2):
        raise ValueError(
            f"multi_margin_loss: input must be (C,) or (N, C), got shape {tuple(input.shape)}"
        )
    t = _data(target, input)
    n = input.shape[0] if input.ndim == 2 else 1
    if t.dtype.kind not in "iu" or t.ndim > 1 or t.size != n:
        raise ValueError(
            f"multi_margin_loss: input of shape {tuple(input.shape)} needs integer class indices "
            f"of shape ({n},), got target of shape {tuple(t.shape)} and dtype {t.dtype}"
        )
    w = _class_weight(weight, input.shape[-1], input)
    return ops.MultiMargin.apply(input, t, p, float(margin), w, reduction)


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
    return _wrap(B.namespace(t).eye(num_classes, dtype=B.int64)[t])


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


def pad(
    input: Tensor, pad: tuple | list, mode: str = "constant", value: float | None = None
) -> Tensor:
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
        out = out.index_select(dim, _pad_index(input.shape[dim], pad[2 * i], pad[2 * i + 1], mode))
    return out


# ============================================================ normalisation (fused ops)

__all__ += ["batch_norm", "group_norm", "layer_norm"]


def _check_per_channel(name: str, t, n: int, input: Tensor) -> None:
    if t is not None and tuple(t.shape) != (n,):
        raise RuntimeError(
            f"{name} of shape {tuple(t.shape)} does not match input of shape "
            f"{tuple(input.shape)}: expected ({n},), one value per channel (dim 1)"
        )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    *,
    _sync=None,
) -> Tensor:
    """Batch normalisation of (N, C, *) input per channel:
    y = (x - mean) / sqrt(var + eps) * weight + bias.

    ``training``: mean and biased var of the batch (over N and *), and running buffers,
    when given, are updated in place: r <- (1 - momentum) r + momentum * stat (the
    unbiased variance for running_var). Otherwise the running statistics are used.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _check_per_channel(f"batch_norm: {name}", t, c, input)
    if training:
        if input.numel() // max(c, 1) == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got "
                f"input size {tuple(input.shape)}"
            )
    elif running_mean is None or running_var is None:
        raise RuntimeError(
            "batch_norm: running_mean and running_var must be given in "
            "evaluation mode (training=False)"
        )
    rm = None if running_mean is None else _data(running_mean)
    rv = None if running_var is None else _data(running_var)
    if _sync is not None and training:  # SyncBatchNorm: statistics over every process
        return ops.BatchNorm.apply(input, weight, bias, rm, rv, training, momentum, eps, _sync)
    return ops.BatchNorm.apply(input, weight, bias, rm, rv, training, momentum, eps)


def layer_norm(
    input: Tensor,
    normalized_shape: int | tuple[int, ...] | list[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each sample over its last ``len(normalized_shape)`` dimensions:
    y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                f"normalized_shape {shape}"
            )
    return ops.LayerNorm.apply(input, weight, bias, k, eps)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split the C channels of (N, C, *) input into ``num_groups`` groups, normalise each
    sample's group, then y = xhat * weight + bias per channel."""
    if input.ndim < 2:
        raise RuntimeError(
            f"group_norm: expected input of shape (N, C, *), got {tuple(input.shape)}"
        )
    c = input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(input.shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        _check_per_channel(f"group_norm: {name}", t, c, input)
    return ops.GroupNorm.apply(input, weight, bias, num_groups, eps)


# ============================================================ convolution, pooling, upsampling

__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "dropout2d",
    "max_pool1d",
    "max_pool2d",
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
    return tuple(
        (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
        for k, d in zip(kernel, dilation, strict=True)
    )


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
            raise RuntimeError(
                f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}"
            )
    else:
        p = _ntuple(padding, nd, "padding", name)
        if any(q < 0 for q in p):
            raise RuntimeError(f"{name}: negative padding is not supported (padding={p})")
        pads = tuple((q, q) for q in p)
    if nd == 1:  # run as 2-D with a height of 1
        stride, pads, dilation = (1, *stride), ((0, 0), *pads), (1, *dilation)
    return ops.conv.Conv.apply(input, weight, bias, stride, pads, dilation, groups, name)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of ``input`` (N, C, H, W) or (C, H, W) with ``weight``
    (O, C / groups, kh, kw):

        y[n, o, h, w] = b[o] + sum_(c, i, j) W[o, c, i, j] x[n, c, h s + i d, w s + j d]

    over the zero-padded input. ``padding``: an int, a pair, 'valid' (none) or 'same'
    (output size = input size; stride 1 only). im2col plus one matrix product."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
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
    for what, values, low in (
        ("kernel size", kernel, 1),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
        ("padding", padding, 0),
    ):
        if any(v < low for v in values):
            raise RuntimeError(
                f"{name}: {what} should be {'greater than zero' if low else 'non-negative'}, "
                f"but got {what}={values}"
            )
    if nd == 1:  # run as 2-D with a height of 1
        kernel, stride, padding, dilation = (
            (1, *kernel),
            (1, *stride),
            (0, *padding),
            (1, *dilation),
        )
    return kernel, stride, padding, dilation


def _max_pool(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    args = (*_pool_args(name, nd, kernel_size, stride, padding, dilation), bool(ceil_mode), name)
    out = ops.pool.MaxPool.apply(input, *args)
    if return_indices:
        return out, _wrap(ops.pool.max_pool_indices(_data(input), out.array, *args))
    return out


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """y[n, c, h, w] = max over the window x[n, c, h s + i d, w s + j d] (0 <= i < kh,
    0 <= j < kw) of the input padded with -inf; ``stride`` defaults to the kernel. The
    gradient goes to the first maximum of each window (PyTorch's rule for ties).
    ``return_indices`` also returns each maximum's flat index h W + w in its plane."""
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """:func:`max_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    name, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    kernel, stride, padding, _ = _pool_args(name, nd, kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{name}: divisor must be not zero")
    return ops.pool.AvgPool.apply(
        input,
        kernel,
        stride,
        padding,
        bool(ceil_mode),
        bool(count_include_pad),
        divisor_override,
        name,
    )


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """y = (sum of each window of the zero-padded input) / divisor; the divisor is the
    window's size within the padded input (``count_include_pad``), within the input
    itself otherwise, or ``divisor_override``."""
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """:func:`avg_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def _adaptive_size(name: str, output_size, in_size: tuple) -> tuple:
    """``output_size`` (an int or a tuple with None for 'keep') as a tuple of ints."""
    n = len(in_size)
    sizes = (
        (output_size,) * n
        if output_size is None or isinstance(output_size, int)
        else (tuple(output_size))
    )
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
    return ops.pool.AdaptiveAvgPool.apply(input, size, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """:func:`adaptive_avg_pool2d` over the last dimension of (N, C, L) or (C, L)."""
    size = _adaptive_size("adaptive_avg_pool1d", output_size, input.shape[-1:])
    return ops.pool.AdaptiveAvgPool.apply(input, size, "adaptive_avg_pool1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
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
    return _inplace(input, ops.dropout.FeatureDropout.apply(input, p, B.rng()), inplace)


# ============================================================ embedding (lookup tables)

from ..autograd.ops.embedding import check_indices  # noqa: E402

__all__ += ["embedding"]


def embedding(
    input,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` (V, D) picked by the integer ``input`` of any shape:
    ``out[...] = weight[input[...]]``, of shape ``input.shape + (D,)``.

    The ``padding_idx`` row gets no gradient. With ``max_norm``, the rows looked up are
    first rescaled in place (without a graph) to a ``norm_type``-norm of at most
    ``max_norm``, as in PyTorch. Out-of-range indices raise IndexError."""
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported")
    idx = _data(input, weight)
    v = weight.shape[0]
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise ValueError(f"Padding_idx must be within num_embeddings ({v}), got {padding_idx}")
        padding_idx = padding_idx + v if padding_idx < 0 else padding_idx
    if max_norm is not None:
        check_indices(idx, v)
        w = weight.array
        ns = B.namespace(w)
        rows = ns.unique(idx)  # each row once
        norms = ns.linalg.norm(w[rows], ord=norm_type, axis=1)  # (len(rows),)
        big = norms > max_norm
        if big.any():
            scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] *= scale[:, None]
    return ops.Embedding.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


# ============================================================ attention (fused ops)

from ._functional_attention import scaled_dot_product_attention  # noqa: E402

__all__ += ["scaled_dot_product_attention"]


# ============================================================ more layers' functional forms
# (transposed and 3-D convolution, unfold/fold, more pooling, pixel shuffle, instance norm,
# embedding_bag, ...: written in axon/nn/_functional_conv.py, _functional_pool.py and
# _functional_layers.py, exported here under torch's names)

from . import _functional_conv, _functional_layers, _functional_pool  # noqa: E402
from ._functional_conv import *  # noqa: E402, F403
from ._functional_layers import *  # noqa: E402, F403
from ._functional_pool import *  # noqa: E402, F403

__all__ += _functional_conv.__all__ + _functional_pool.__all__ + _functional_layers.__all__


# ============================================================ more activations, losses, resizing
# (written in _functional_activations, _functional_losses and _functional_sampling,
# exported here under torch's names)

from . import _functional_activations, _functional_losses, _functional_sampling  # noqa: E402
from ._functional_activations import *  # noqa: E402, F403
from ._functional_losses import *  # noqa: E402, F403
from ._functional_sampling import *  # noqa: E402, F403

__all__ += (
    _functional_activations.__all__ + _functional_losses.__all__ + _functional_sampling.__all__
)

# torch.nn.functional's integer codes of grid_sample's modes, and its path to nn.grad
GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}
from . import grad  # noqa: E402, F401  (F.grad.conv2d_input, ...)
