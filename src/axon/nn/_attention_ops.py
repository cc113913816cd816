"""Fused attention ops: each is ONE graph node with its forward and backward written on
arrays (PERFORMANCE.md item 7: ``np.matmul`` on strided (..., L, E) views).

With scores s = scale * Q K^T + mask (shape (..., L, S)), weights P = softmax(s) over the
last axis and output O = P V:

    dV = P^T dO,   dP = dO V^T,   ds = P * (dP - rowsum(dP * P)),
    dQ = scale * ds K,   dK = scale * ds^T Q,   d(mask) = ds.

Fully masked rows (every entry of s is -inf) get weights 0, so their output and every
gradient through them are 0: this is PyTorch's ``scaled_dot_product_attention`` (its
"safe softmax"), where a plain softmax would give NaN.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.function import Op
from ..autograd.tensor import Tensor
from ..backend import threads, xp

_NEG_INF = float("-inf")


def softmax_(s):
    """Softmax over the last axis, in place, with fully masked rows (all -inf) set to 0
    instead of NaN. Returns ``s``."""
    m = s.max(axis=-1, keepdims=True)  # (..., L, 1)
    dead = m == _NEG_INF
    any_dead = bool(dead.any())
    if any_dead:
        m[dead] = 0.0
    s -= m
    xp.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if any_dead:
        total[dead] = 1.0  # the row is all 0: 0 / 1 = 0
    s /= total
    return s


def softmax_backward(p, dp):
    """ds = P * (dP - rowsum(dP * P)): the gradient of the scores from that of the
    weights (reuses ``dp``'s memory)."""
    row = (dp * p).sum(axis=-1, keepdims=True)
    dp -= row
    dp *= p
    return dp


class MaskedSoftmax(Op):
    """P = softmax(s) over the last axis with the entries where ``pad`` is True left out
    (weight 0); ``pad`` is a bool array that broadcasts to ``s``, or None. A row with
    every entry left out gets weights 0. Backward: ds = P * (dP - rowsum(dP * P))."""

    def forward(self, s, pad):
        s = s.copy()
        if pad is not None:
            xp.copyto(s, _NEG_INF, where=pad)
        self.p = softmax_(s)
        return self.p

    def backward(self, g):
        return softmax_backward(self.p, g.copy()), None


def _t(a):
    """The last two axes swapped (a view)."""
    return xp.swapaxes(a, -1, -2)


def _matmul_like(a, b, like):
    """a @ b written into a new array laid out like ``like`` when the shapes agree (so a
    (B, H, L, d) view of a (B, L, H, d) buffer gives a (B, L, H, d)-ordered result, which
    merges the heads without a copy); a plain product otherwise."""
    shape = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    if shape != like.shape:
        return threads.matmul(a, b)
    return threads.matmul(a, b, out=xp.empty_like(like, dtype=xp.result_type(a, b)))


class _Scores:
    """The weights half shared by the attention ops: forward P = softmax(scale Q K^T +
    mask) with dropout, backward from dP (the gradient of the dropped weights) to dQ, dK
    and d(mask)."""

    def _weights(self, q, k, mask, scale, dropout_p, rng):
        s = threads.matmul(q, _t(k))  # (..., L, S)
        s *= scale
        if mask is not None:
            if xp.broadcast_shapes(s.shape, mask.shape) == s.shape:
                s += mask
            else:  # the mask has more batch dimensions than Q K^T
                s = s + mask
        self.p = softmax_(s)
        self.keep = None
        if dropout_p > 0.0:
            if dropout_p >= 1.0:
                self.keep = xp.zeros_like(s)
            else:
                draw = (B.rng() if rng is None else rng).random
                keep = draw(s.shape, dtype=s.dtype if s.dtype.itemsize >= 4 else xp.float64)
                self.keep = xp.multiply(keep >= dropout_p, 1.0 / (1.0 - dropout_p), dtype=s.dtype)
            return self.p * self.keep
        return self.p

    def _scores_grad(self, dpd, owned: bool):
        """ds from the gradient of the (dropped) weights; ``owned``: dpd may be reused."""
        if self.keep is not None:
            dp = dpd * self.keep
        else:
            dp = dpd if owned else dpd.copy()
        return softmax_backward(self.p, dp)

    def _qk_grads(self, ds, q, k, scale, need_q, need_k, out_q=None, out_k=None):
        """dQ = scale ds K, dK = scale ds^T Q (into ``out_q``/``out_k`` when given)."""
        dq = dk = None
        if need_q:
            dq = threads.matmul(ds, k, out=out_q)
            dq *= scale
        if need_k:
            dk = threads.matmul(_t(ds), q, out=out_k)
            dk *= scale
        return dq, dk


class Attention(_Scores, Op):
    """O = dropout(softmax(scale Q K^T + mask)) V for Q (..., L, E), K (..., S, E),
    V (..., S, Ev) and an additive float ``mask`` broadcasting to (..., L, S) (an array
    without gradient, or a Tensor that gets one); ``rng``: the generator of the dropout
    draws (None: axon's global one)."""

    def forward(self, q, k, v, mask, scale, dropout_p, rng):
        pd = self._weights(q, k, mask, scale, dropout_p, rng)
        self.pd, self.q, self.k, self.v, self.scale = pd, q, k, v, scale
        return _matmul_like(pd, v, q)

    def backward(self, g):
        pq, pk, pv, pm = self.parents[:4]
        dv = threads.matmul(_t(self.pd), g) if pv is not None else None  # (..., S, Ev)
        if pq is None and pk is None and pm is None:
            return None, None, dv, None, None, None, None
        ds = self._scores_grad(threads.matmul(g, _t(self.v)), owned=True)  # (..., L, S)
        dmask = ds if pm is not None else None
        dq, dk = self._qk_grads(ds, self.q, self.k, self.scale, pq is not None, pk is not None)
        return dq, dk, dv, dmask, None, None, None


class PackedAttention(_Scores, Op):
    """:class:`Attention` of self-attention with Q, K and V stacked in one (3, ..., L, E)
    array ``qkv`` (a view of the packed in-projection); backward writes the three
    gradients into one array laid out like ``qkv``, so nothing is split or joined."""

    def forward(self, qkv, mask, scale, dropout_p, rng):
        q, k, v = qkv[0], qkv[1], qkv[2]
        pd = self._weights(q, k, mask, scale, dropout_p, rng)
        self.pd, self.qkv, self.scale = pd, qkv, scale
        return _matmul_like(pd, v, q)

    def backward(self, g):
        qkv, pd = self.qkv, self.pd
        d = xp.empty_like(qkv)  # same memory order as qkv
        threads.matmul(_t(pd), g, out=d[2])  # dV
        ds = self._scores_grad(threads.matmul(g, _t(qkv[2])), owned=True)
        dmask = ds if self.parents[1] is not None else None
        self._qk_grads(ds, qkv[0], qkv[1], self.scale, True, True, out_q=d[0], out_k=d[1])
        return d, dmask, None, None, None


class AttentionWeights(_Scores, Op):
    """The weights alone, P = dropout(softmax(scale Q K^T + mask)) of shape (..., L, S),
    for callers that return them (``MultiheadAttention(need_weights=True)``); the output
    is then P @ V with the ordinary matmul."""

    def forward(self, q, k, mask, scale, dropout_p, rng):
        self.q, self.k, self.scale = q, k, scale
        return self._weights(q, k, mask, scale, dropout_p, rng)

    def backward(self, g):
        pq, pk, pm = self.parents[:3]
        ds = self._scores_grad(g, owned=False)
        dmask = ds if pm is not None else None
        dq, dk = self._qk_grads(ds, self.q, self.k, self.scale, pq is not None, pk is not None)
        return dq, dk, dmask, None, None, None


# ============================================================ the functional form


def _float_mask(name: str, attn_mask, dtype, L: int, S: int):
    """``attn_mask`` as what the ops add to the scores: a bool mask (True = take part)
    becomes 0 / -inf of ``dtype``; a float mask is returned as it is (a Tensor keeps its
    gradient). The mask must broadcast to (..., L, S)."""
    if attn_mask is None:
        return None
    data = attn_mask.array if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
    if (
        data.ndim < 1
        or (data.ndim >= 2 and data.shape[-2] not in (1, L))
        or (data.shape[-1] not in (1, S))
    ):
        raise RuntimeError(
            f"{name}: attn_mask of shape {data.shape} does not broadcast to "
            f"the attention scores (..., {L}, {S})"
        )
    if data.dtype == xp.bool_:
        return xp.where(data, 0.0, _NEG_INF).astype(dtype)
    if data.dtype.kind != "f":
        raise RuntimeError(
            f"{name}: expected attn_mask dtype to be bool or float, got {data.dtype}"
        )
    if isinstance(attn_mask, Tensor) and attn_mask.requires_grad:
        return attn_mask
    return data.astype(dtype, copy=False)


def causal_mask(L: int, S: int, dtype):
    """The additive causal mask (L, S): 0 where j <= i (top-left aligned), -inf above."""
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
        mask = causal_mask(L, S, query.dtype)
    else:
        mask = _float_mask(name, attn_mask, query.dtype, L, S)
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    return Attention.apply(query, key, value, mask, scale, float(dropout_p), None)
