"""Fused attention ops (scaled dot-product attention, its weights, a masked softmax): each is
ONE graph node; ``axon.nn.functional.scaled_dot_product_attention`` and ``nn.attention`` use them.

Forward and backward are written on arrays, as batched products on strided (..., L, E) views
(so heads are split and merged without copies).

With scores s = scale * Q K^T + mask (shape (..., L, S)), weights P = softmax(s) over the
last axis and output O = P V:

    dV = P^T dO,   dP = dO V^T,   ds = P * (dP - rowsum(dP * P)),
    dQ = scale * ds K,   dK = scale * ds^T Q,   d(mask) = ds.

Fully masked rows (every entry of s is -inf) get weights 0, so their output and every
gradient through them are 0: this is PyTorch's ``scaled_dot_product_attention`` (its
"safe softmax"), where a plain softmax would give NaN.
"""

from __future__ import annotations

from ... import backend as B
from ..function import Op

_NEG_INF = float("-inf")


def softmax_(xp, s):
    """Softmax over the last axis of ``s`` (an array of namespace ``xp``), in place, with
    fully masked rows (all -inf) set to 0 instead of NaN. Returns ``s``."""
    fused = B.of(s).kernels()
    if fused is not None:  # a GPU: three launches, and no look at the rows from the host
        return fused.softmax_rows(s, out=s)[0]
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
    fused = B.of(p).kernels()
    if fused is not None:
        return fused.softmax_backward(p, dp, out=dp)
    row = (dp * p).sum(axis=-1, keepdims=True)
    dp -= row
    dp *= p
    return dp


class MaskedSoftmax(Op):
    """P = softmax(s) over the last axis with the entries where ``pad`` is True left out
    (weight 0); ``pad`` is a bool array that broadcasts to ``s``, or None. A row with
    every entry left out gets weights 0. Backward: ds = P * (dP - rowsum(dP * P))."""

    def forward(self, s, pad):
        xp = self.xp
        s = s.copy()
        if pad is not None:
            xp.copyto(s, _NEG_INF, where=pad)
        self.p = softmax_(xp, s)
        return self.p

    def backward(self, g):
        return softmax_backward(self.p, g.copy()), None


def _t(a):
    """The last two axes swapped (a view)."""
    return a.swapaxes(-1, -2)


def _matmul_like(backend, a, b, like):
    """a @ b (with ``backend``'s product) written into a new array laid out like ``like``
    when the shapes agree (so a (B, H, L, d) view of a (B, L, H, d) buffer gives a
    (B, L, H, d)-ordered result, which merges the heads without a copy); a plain product
    otherwise."""
    xp = backend.xp
    shape = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    if shape != like.shape:
        return backend.matmul(a, b)
    return backend.matmul(a, b, out=xp.empty_like(like, dtype=xp.result_type(a, b)))


class _Scores:
    """The weights half shared by the attention ops: forward P = softmax(scale Q K^T +
    mask) with dropout, backward from dP (the gradient of the dropped weights) to dQ, dK
    and d(mask)."""

    def _weights(self, q, k, mask, scale, dropout_p, rng):
        xp = self.xp
        s = self.backend.matmul(q, _t(k))  # (..., L, S)
        s *= scale
        if mask is not None:
            if xp.broadcast_shapes(s.shape, mask.shape) == s.shape:
                s += mask
            else:  # the mask has more batch dimensions than Q K^T
                s = s + mask
        self.p = softmax_(xp, s)
        self.keep = None
        if dropout_p > 0.0:
            if dropout_p >= 1.0:
                self.keep = xp.zeros_like(s)
            else:
                # drawn on the host from the seeded generator, then moved: every device
                # drops the CPU's weights for one seed
                draw = (B.rng() if rng is None else rng).random
                keep = draw(s.shape, dtype=s.dtype if s.dtype.itemsize >= 4 else xp.float64)
                keep = self.backend.from_host(keep)
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
            dq = self.backend.matmul(ds, k, out=out_q)
            dq *= scale
        if need_k:
            dk = self.backend.matmul(_t(ds), q, out=out_k)
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
        return _matmul_like(self.backend, pd, v, q)

    def backward(self, g):
        pq, pk, pv, pm = self.parents[:4]
        dv = self.backend.matmul(_t(self.pd), g) if pv is not None else None  # (..., S, Ev)
        if pq is None and pk is None and pm is None:
            return None, None, dv, None, None, None, None
        ds = self._scores_grad(self.backend.matmul(g, _t(self.v)), owned=True)  # (..., L, S)
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
        return _matmul_like(self.backend, pd, v, q)

    def backward(self, g):
        qkv, pd = self.qkv, self.pd
        d = self.xp.empty_like(qkv)  # same memory order as qkv
        self.backend.matmul(_t(pd), g, out=d[2])  # dV
        ds = self._scores_grad(self.backend.matmul(g, _t(qkv[2])), owned=True)
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
