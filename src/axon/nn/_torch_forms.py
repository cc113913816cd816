"""torch's top-level forms of functional ops (``torch.batch_norm``, ``torch.embedding``,
``torch.kl_div``, ...) whose signatures differ from ``torch.nn.functional``'s.

These are the ATen schemas, which some programs (and code ported from TorchScript) call
directly: arguments in another order (``torch.embedding(weight, indices)``,
``torch.batch_norm(input, weight, bias, running_mean, running_var, ...)``), a ``cudnn``
flag that changes nothing here, and ``reduction`` as an integer code (0 ``"none"``,
1 ``"mean"``, 2 ``"sum"``). Each one calls the ``axon.nn.functional`` function. The forms
whose signatures match are bound directly in ``axon/__init__.py``.
"""

from __future__ import annotations

import warnings

from . import functional as F

_REDUCTIONS = ("none", "mean", "sum")
_INTERPOLATION_MODES = ("bilinear", "nearest", "bicubic")
_PADDING_MODES = ("zeros", "border", "reflection")


def _reduction(code: int) -> str:
    """The name of an integer reduction code (torch's ``at::Reduction``)."""
    if isinstance(code, str):
        return code
    if not 0 <= code < len(_REDUCTIONS):
        raise ValueError(f"{code} is not a valid value for reduction")
    return _REDUCTIONS[code]


def dropout(input, p: float, train: bool):
    """``torch.dropout(input, p, train)``."""
    return F.dropout(input, p, train)


def alpha_dropout(input, p: float, train: bool):
    """``torch.alpha_dropout(input, p, train)``."""
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input, p: float, train: bool):
    """``torch.feature_alpha_dropout(input, p, train)``."""
    return F.feature_alpha_dropout(input, p, train)


def _in_place(functional):
    def fn(input, p: float, train: bool):
        return input.copy_(functional(input, p, train)) if train and p > 0 else input

    fn.__name__ = fn.__qualname__ = functional.__name__ + "_"
    fn.__doc__ = (
        f"``torch.{fn.__name__}(input, p, train)``: ``{functional.__name__}`` "
        "written into ``input``."
    )
    return fn


dropout_ = _in_place(dropout)
alpha_dropout_ = _in_place(alpha_dropout)
feature_alpha_dropout_ = _in_place(feature_alpha_dropout)


def batch_norm(
    input,
    weight,
    bias,
    running_mean,
    running_var,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
):
    """``torch.batch_norm``: the affine parameters before the running statistics."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input,
    weight,
    bias,
    running_mean,
    running_var,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
):
    """``torch.instance_norm``: the affine parameters before the running statistics."""
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def layer_norm(
    input, normalized_shape, weight=None, bias=None, eps: float = 1e-5, cudnn_enable: bool = True
):
    """``torch.layer_norm`` (``cudnn_enable`` changes nothing here)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input, num_groups: int, weight=None, bias=None, eps: float = 1e-5, cudnn_enabled: bool = True
):
    """``torch.group_norm`` (``cudnn_enabled`` changes nothing here)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def embedding(
    weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False
):
    """``torch.embedding(weight, indices)``: the rows of ``weight``; ``padding_idx=-1``
    means none."""
    return F.embedding(
        indices,
        weight,
        None if padding_idx == -1 else padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
    )


def adaptive_max_pool1d(input, output_size):
    """``torch.adaptive_max_pool1d``: the pooled values *and* their indices."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def max_pool1d_with_indices(
    input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False
):
    """``torch.max_pool1d_with_indices``: the pooled values and their indices."""
    return F.max_pool1d(
        input, kernel_size, stride or None, padding, dilation, ceil_mode, return_indices=True
    )


def kl_div(input, target, reduction: int = 1, *, log_target: bool = False):
    """``torch.kl_div`` (``reduction=1`` is ``"mean"`` over every element, without the
    warning ``F.kl_div`` gives for it, as torch's top-level form)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction: int = 1):
    """``torch.cosine_embedding_loss`` with an integer ``reduction``."""
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction: int = 1):
    """``torch.hinge_embedding_loss`` with an integer ``reduction``."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction: int = 1):
    """``torch.margin_ranking_loss`` with an integer ``reduction``."""
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction: int):
    """``torch.poisson_nll_loss``: every argument required, ``reduction`` an integer."""
    return F.poisson_nll_loss(
        input, target, log_input, full, eps=eps, reduction=_reduction(reduction)
    )


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: int = 1,
):
    """``torch.triplet_margin_loss`` with an integer ``reduction``."""
    return F.triplet_margin_loss(
        anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction)
    )


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: int = 1,
    zero_infinity: bool = False,
):
    """``torch.ctc_loss`` with an integer ``reduction``."""
    return F.ctc_loss(
        log_probs,
        targets,
        input_lengths,
        target_lengths,
        blank,
        _reduction(reduction),
        zero_infinity,
    )


def binary_cross_entropy_with_logits(
    input, target, weight=None, pos_weight=None, reduction: int = 1
):
    """``torch.binary_cross_entropy_with_logits``: ``pos_weight`` fourth, ``reduction``
    an integer."""
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction), pos_weight=pos_weight
    )


def constant_pad_nd(input, pad, value=0):
    """``torch.constant_pad_nd``: ``F.pad`` in constant mode."""
    return F.pad(input, pad, "constant", value)


def grid_sampler(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
    """``torch.grid_sampler``: ``F.grid_sample`` with the modes as integer codes
    (0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border, 2 reflection)."""
    return F.grid_sample(
        input,
        grid,
        _INTERPOLATION_MODES[interpolation_mode],
        _PADDING_MODES[padding_mode],
        align_corners,
    )


def affine_grid_generator(theta, size, align_corners: bool):
    """``torch.affine_grid_generator``: ``F.affine_grid``."""
    return F.affine_grid(theta, size, align_corners)


def convolution(
    input, weight, bias, stride, padding, dilation, transposed: bool, output_padding, groups: int
):
    """``torch.convolution``: the convolution (or transposed one) of ``input``'s
    dimensionality (1-, 2- or 3-d)."""
    n = input.ndim - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-, 4- or 5-d input, got {input.ndim}-d")
    if transposed:
        conv = getattr(F, f"conv_transpose{n}d")
        return conv(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(F, f"conv{n}d")(input, weight, bias, stride, padding, dilation, groups)


grid_sampler_2d = grid_sampler_3d = grid_sampler


def _cell_input(input, hx, w_ih, w_hh, b_ih, b_hh):
    """``input W_ih^T + b_ih`` and ``hx W_hh^T + b_hh``, the two halves of every cell."""
    gi = F.linear(input, w_ih, b_ih)
    gh = F.linear(hx, w_hh, b_hh)
    return gi, gh


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman step: ``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    gi, gh = _cell_input(input, hx, w_ih, w_hh, b_ih, b_hh)
    return (gi + gh).tanh()


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman step with ReLU."""
    gi, gh = _cell_input(input, hx, w_ih, w_hh, b_ih, b_hh)
    return (gi + gh).relu()


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: ``hx = (h, c)``; gates in torch's order input, forget, cell, output.
    Returns ``(h', c')``."""
    h, c = hx
    gi, gh = _cell_input(input, h, w_ih, w_hh, b_ih, b_hh)
    i, f, g, o = (gi + gh).chunk(4, -1)
    c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_next.tanh(), c_next


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (torch's: the reset gate scales ``h W_hn^T + b_hn``)."""
    gi, gh = _cell_input(input, hx, w_ih, w_hh, b_ih, b_hh)
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * hx


def feature_dropout(input, p: float, train: bool):
    """``torch.feature_dropout``: whole channels (dim 1) zeroed with probability ``p``, the
    rest scaled by ``1 / (1 - p)``."""
    if not train or p == 0:
        return input
    from .. import backend as B
    from ..autograd.tensor import _wrap

    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    keep = (
        (B.rng().random(shape) >= p).astype(input.dtype) / (1 - p)
        if p < 1
        else B.xp.zeros(shape, dtype=input.dtype)
    )
    return input * _wrap(keep).to(input.device)  # drawn on the host


feature_dropout_ = _in_place(feature_dropout)


def embedding_renorm_(weight, indices, max_norm: float, norm_type: float):
    """The rows of ``weight`` named in ``indices`` rescaled in place so that their
    ``norm_type``-norm is at most ``max_norm`` (scale ``max_norm / (norm + 1e-7)``)."""
    from .. import backend as B
    from ..autograd.grad_mode import no_grad
    from ..backend import xp

    arr = indices.array if hasattr(indices, "array") else xp.asarray(indices)
    rows = B.namespace(arr).unique(arr)
    with no_grad():
        picked = weight[rows]
        norms = picked.norm(norm_type, -1, keepdim=True)
        over = norms > max_norm
        weight[rows] = picked * (max_norm / (norms + 1e-7)).where(over, norms * 0 + 1)
    return weight
