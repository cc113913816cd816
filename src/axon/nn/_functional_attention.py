"""``scaled_dot_product_attention``, torch's functional form, with the masks it builds; the
fused op it calls (``Attention``, with its backward) is in ``axon.autograd.ops.attention``.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.ops.attention import Attention
from ..autograd.tensor import Tensor
from ..backend import xp

__all__ = ["scaled_dot_product_attention"]

_NEG_INF = float("-inf")


def _float_mask(name: str, attn_mask, query: Tensor, L: int, S: int):
    """``attn_mask`` as what the ops add to the scores: a bool mask (True = take part)
    becomes 0 / -inf of the query's dtype; a float mask is returned as it is (a Tensor keeps
    its gradient). The mask must broadcast to (..., L, S). A mask that is not a Tensor is
    moved to the query's device."""
    if attn_mask is None:
        return None
    if isinstance(attn_mask, Tensor):
        data = attn_mask.array
    else:
        data = B.of(query.array).from_host(xp.asarray(attn_mask))
    dtype = query.dtype
    if (
        data.ndim < 1
        or (data.ndim >= 2 and data.shape[-2] not in (1, L))
        or (data.shape[-1] not in (1, S))
    ):
        raise RuntimeError(
            f"{name}: attn_mask of shape {data.shape} does not broadcast to "
            f"the attention scores (..., {L}, {S})"
        )
    if data.dtype == B.bool_:
        return B.namespace(data).where(data, 0.0, _NEG_INF).astype(dtype)
    if data.dtype.kind != "f":
        raise RuntimeError(
            f"{name}: expected attn_mask dtype to be bool or float, got {data.dtype}"
        )
    if isinstance(attn_mask, Tensor) and attn_mask.requires_grad:
        return attn_mask
    return data.astype(dtype, copy=False)


def causal_mask(L: int, S: int, dtype):
    """The additive causal mask (L, S), a host array: 0 where j <= i (top-left aligned),
    -inf above."""
    return xp.where(xp.tri(L, S, dtype=bool), 0.0, _NEG_INF).astype(dtype)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q K^T * scale + M) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the
    batch dimensions ``...`` broadcast. ``scale`` defaults to 1 / sqrt(E). ``attn_mask``
    broadcasts to (..., L, S): a bool mask says which entries TAKE PART (True; False ones
    get weight 0), a float mask is added to the scores (a float Tensor that requires grad
    gets one). ``is_causal`` masks entries j > i (top-left aligned); it excludes
    ``attn_mask``. ``dropout_p`` drops weights after the softmax (always, as torch's
    functional form: pass 0 in eval mode), with masks from axon's seeded generator.

    A fully masked row (all its entries masked out) gets weights 0, so its output and
    every gradient through it are 0 (PyTorch's behaviour since 2.5, where a plain softmax
    would give NaN). One fused op with its own backward.
    """
    name = "scaled_dot_product_attention"
    if enable_gqa:
        raise NotImplementedError(f"{name}: enable_gqa=True is not supported in axon")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            f"{name}: expected query, key and value to be at least 2-dimensional, got shapes "
            f"{tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}"
        )
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(
            f"{name}: expected query, key and value to have the same dtype, "
            f"got {query.dtype}, {key.dtype} and {value.dtype}"
        )
    L, E = query.shape[-2:]
    S = key.shape[-2]
    if key.shape[-1] != E or value.shape[-2] != S:
        raise RuntimeError(
            f"{name}: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} disagree: need (..., L, E), (..., S, E), (..., S, Ev)"
        )
    try:
        xp.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"{name}: the batch dimensions of query {tuple(query.shape)}, key "
            f"{tuple(key.shape)} and value {tuple(value.shape)} do not broadcast"
        ) from None
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{name}: explicit attn_mask should not be set when is_causal=True")
        mask = B.of(query.array).from_host(causal_mask(L, S, query.dtype))
    else:
        mask = _float_mask(name, attn_mask, query, L, S)
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    return Attention.apply(query, key, value, mask, scale, float(dropout_p), None)
