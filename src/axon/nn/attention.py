"""Attention layers.

- ``BahdanauAttention`` (additive, Bahdanau et al. 2015) and ``LuongAttention``
  (multiplicative, Luong et al. 2015): the attention of the seq2seq models, batch first.
- ``MultiheadAttention`` (Vaswani et al. 2017) with PyTorch's arguments, parameter names
  and layout, on the fused ops of ``axon.autograd.ops.attention``.
- ``PositionalEncoding`` (the fixed sinusoids of "Attention Is All You Need") and
  ``LearnedPositionalEncoding`` (a learned embedding of positions).

The seq2seq modules return ``(context, weights)``: the weights are a softmax of the scores
over the S keys, the context is the weighted sum of the values. ``key_padding_mask``
(B, S) marks padding with True, as in PyTorch's ``MultiheadAttention``: those keys get
weight 0; a row whose keys are all padding gets weights 0 and context 0 (no NaN).
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.creation import cat, zeros
from ..autograd.ops.attention import Attention, AttentionWeights, MaskedSoftmax, PackedAttention
from ..autograd.tensor import Tensor, _wrap
from ..backend import xp
from . import functional as F
from . import init
from ._factory import factory_dtype, place
from .dropout import Dropout
from .linear import Linear
from .module import Module, Parameter
from .sparse import Embedding

__all__ = [
    "BahdanauAttention",
    "LearnedPositionalEncoding",
    "LuongAttention",
    "MultiheadAttention",
    "PositionalEncoding",
]


def _data(x):
    """A mask's array: a Tensor's own, any backend's array as it is (on its device),
    anything else (lists, ...) in host memory."""
    if isinstance(x, Tensor):
        return x.array
    return x if B.of(x) is not None else xp.asarray(x)


def _check_seq2seq_inputs(
    name: str,
    query: Tensor,
    keys: Tensor,
    values: Tensor,
    key_padding_mask,
    query_size: int,
    key_size: int,
):
    """Check the shapes of a seq2seq attention call; return the mask as a (B, 1, S) bool
    array (or None)."""
    if query.ndim not in (2, 3):
        raise ValueError(
            f"{name}: query must be (B, Dq) or (B, T, Dq), got shape {tuple(query.shape)}"
        )
    if keys.ndim != 3:
        raise ValueError(f"{name}: keys must be (B, S, Dk), got shape {tuple(keys.shape)}")
    if values.ndim != 3:
        raise ValueError(f"{name}: values must be (B, S, Dv), got shape {tuple(values.shape)}")
    B, S = keys.shape[0], keys.shape[1]
    if query.shape[-1] != query_size:
        raise ValueError(
            f"{name}: query of shape {tuple(query.shape)} has {query.shape[-1]} "
            f"features, expected query_size={query_size}"
        )
    if keys.shape[-1] != key_size:
        raise ValueError(
            f"{name}: keys of shape {tuple(keys.shape)} have {keys.shape[-1]} "
            f"features, expected key_size={key_size}"
        )
    if query.shape[0] != B or values.shape[:2] != (B, S):
        raise ValueError(
            f"{name}: batch and length disagree: query {tuple(query.shape)}, "
            f"keys {tuple(keys.shape)}, values {tuple(values.shape)} (need "
            f"query (B, ...), keys (B, S, Dk), values (B, S, Dv))"
        )
    if key_padding_mask is None:
        return None
    pad = _data(key_padding_mask)
    if pad.dtype != xp.bool_:
        raise TypeError(
            f"{name}: key_padding_mask must be a bool tensor (True = padding), "
            f"got dtype {pad.dtype}"
        )
    if pad.shape != (B, S):
        raise ValueError(
            f"{name}: key_padding_mask of shape {pad.shape} does not match keys "
            f"of shape {tuple(keys.shape)}: expected ({B}, {S})"
        )
    return pad[:, None, :]  # (B, 1, S), broadcast over the T queries


def _attend(scores: Tensor, pad, values: Tensor, single: bool):
    """weights = softmax(scores) with padding left out; context = weights @ values.
    ``scores`` is (B, T, S); with ``single`` the T axis (of size 1) is dropped."""
    weights = MaskedSoftmax.apply(scores, pad)  # (B, T, S)
    context = weights @ values  # (B, T, Dv)
    if single:
        return context.squeeze(1), weights.squeeze(1)  # (B, Dv), (B, S)
    return context, weights


class BahdanauAttention(Module):
    """Additive attention: score(q, k_j) = v^T tanh(W_q q + W_k k_j), weights = softmax
    of the scores over the keys j, context = sum_j weights_j value_j.

    Parameters: ``query_proj`` (Linear Dq -> hidden, no bias), ``key_proj`` (Linear
    Dk -> hidden, with a bias when ``bias``), ``v`` (Linear hidden -> 1, no bias).

    ``forward(query, keys, values=None, key_padding_mask=None)``, batch first: query (B, Dq)
    or (B, T, Dq), keys (B, S, Dk), values (B, S, Dv) (default: the keys),
    key_padding_mask (B, S) bool with True at padding. Returns ``(context, weights)``:
    (B, Dv) and (B, S), or (B, T, Dv) and (B, T, S).
    """

    def __init__(self, query_size: int, key_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.query_size = query_size
        self.key_size = key_size
        self.hidden_size = hidden_size
        self.query_proj = Linear(query_size, hidden_size, bias=False)
        self.key_proj = Linear(key_size, hidden_size, bias=bias)
        self.v = Linear(hidden_size, 1, bias=False)

    def forward(
        self, query: Tensor, keys: Tensor, values: Tensor | None = None, key_padding_mask=None
    ):
        values = keys if values is None else values
        pad = _check_seq2seq_inputs(
            "BahdanauAttention",
            query,
            keys,
            values,
            key_padding_mask,
            self.query_size,
            self.key_size,
        )
        single = query.ndim == 2
        q = query.unsqueeze(1) if single else query  # (B, T, Dq)
        qp = self.query_proj(q).unsqueeze(2)  # (B, T, 1, H)
        kp = self.key_proj(keys).unsqueeze(1)  # (B, 1, S, H)
        scores = self.v((qp + kp).tanh()).squeeze(-1)  # (B, T, S)
        return _attend(scores, pad, values, single)

    def extra_repr(self) -> str:
        return (
            f"query_size={self.query_size}, key_size={self.key_size}, "
            f"hidden_size={self.hidden_size}, bias={self.key_proj.bias is not None}"
        )


class LuongAttention(Module):
    """Multiplicative attention: score(q, k_j) = q . k_j (``method='dot'``, needs
    query_size == key_size) or q^T W k_j (``method='general'``, W = ``proj.weight`` of
    shape (query_size, key_size): ``proj`` is a Linear(key_size, query_size, bias=False));
    weights = softmax of the scores over the keys, context = sum_j weights_j value_j.

    ``forward`` takes and returns what :class:`BahdanauAttention`'s does.
    """

    def __init__(self, query_size: int, key_size: int, method: str = "dot") -> None:
        super().__init__()
        if method not in ("dot", "general"):
            raise ValueError(f"LuongAttention: method must be 'dot' or 'general', got {method!r}")
        if method == "dot" and query_size != key_size:
            raise ValueError(
                f"LuongAttention: method='dot' needs query_size == key_size, got "
                f"query_size={query_size} and key_size={key_size}; use method='general' to "
                f"learn a (query_size, key_size) map between them"
            )
        self.query_size = query_size
        self.key_size = key_size
        self.method = method
        self.proj = Linear(key_size, query_size, bias=False) if method == "general" else None

    def forward(
        self, query: Tensor, keys: Tensor, values: Tensor | None = None, key_padding_mask=None
    ):
        values = keys if values is None else values
        pad = _check_seq2seq_inputs(
            "LuongAttention", query, keys, values, key_padding_mask, self.query_size, self.key_size
        )
        single = query.ndim == 2
        q = query.unsqueeze(1) if single else query  # (B, T, Dq)
        k = self.proj(keys) if self.proj is not None else keys  # (B, S, Dq)
        scores = q @ k.transpose(1, 2)  # (B, T, S)
        return _attend(scores, pad, values, single)

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}, method={self.method!r}"


# ============================================================ multi-head attention


def _additive(name: str, mask, dtype):
    """A MultiheadAttention mask as what is added to the scores: bool True (= not allowed
    to attend) becomes -inf and False 0; a float mask is kept (as a Tensor when it
    requires grad, so the gradient reaches it)."""
    data = _data(mask)
    if data.dtype == xp.bool_:
        return B.namespace(data).where(data, float("-inf"), 0.0).astype(dtype)
    if data.dtype.kind != "f":
        raise AssertionError(
            f"MultiheadAttention: only bool and floating types of {name} "
            f"are supported, got {data.dtype}"
        )
    if isinstance(mask, Tensor) and mask.requires_grad:
        return mask
    return data.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn.MultiheadAttention``:

        head_i = softmax(Q W_q,i (K W_k,i)^T / sqrt(d) + mask) V W_v,i   (d = E / heads)
        out = concat(head_1, ..., head_h) W_o^T + b_o

    Parameters (PyTorch's names and layout): ``in_proj_weight`` (3E, E) holding W_q, W_k,
    W_v stacked (or ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim),
    ``v_proj_weight`` (E, vdim) when kdim or vdim differ from E), ``in_proj_bias`` (3E,),
    ``out_proj`` (a Linear E -> E), and with ``add_bias_kv`` ``bias_k`` / ``bias_v``
    (1, 1, E), appended to the keys and values as one more position. ``add_zero_attn``
    appends a position of zeros to them. Init as torch: Xavier-uniform in-projections,
    zero biases, Xavier-normal ``bias_k`` / ``bias_v``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)``: query (L, N, E), key (S, N, kdim),
    value (S, N, vdim) ((N, L, E) ... with ``batch_first``; (L, E) ... unbatched).
    ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N * heads, L, S) are bool
    (True = NOT allowed to attend, the opposite of ``scaled_dot_product_attention``'s
    bool mask) or float (added to the scores); both given, they add up. ``is_causal`` is
    a hint that ``attn_mask`` is the causal mask, which must still be given (as torch).
    Returns ``(attn_output, attn_output_weights)``: the output like the query, and the
    weights (after dropout) averaged over heads, (N, L, S), or per head (N, heads, L, S)
    with ``average_attn_weights=False``, or None with ``need_weights=False``.

    Self-attention (query, key and value the same Tensor) projects with ONE matrix
    product and, without ``need_weights``, runs as one fused op on head views of it.
    A query whose keys are all masked gets weights 0 and output ``out_proj.bias``: torch
    gives that with ``need_weights=False`` but NaN with ``need_weights=True``.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError(
                f"embed_dim must be divisible by num_heads, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        dt = factory_dtype(device, dtype)
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(xp.empty((3 * E, E), dtype=dt))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(xp.empty((E, E), dtype=dt))
            self.k_proj_weight = Parameter(xp.empty((E, self.kdim), dtype=dt))
            self.v_proj_weight = Parameter(xp.empty((E, self.vdim), dtype=dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(xp.empty((3 * E,), dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(xp.empty((1, 1, E), dtype=dt))
            self.bias_v = Parameter(xp.empty((1, 1, E), dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        place(self, device)

    def _reset_parameters(self) -> None:
        """torch's: Xavier-uniform projections, zero biases, Xavier-normal bias_k/bias_v
        (a parameter a builder draws itself, ``init._deferred``, is skipped)."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None and not init._defers(self, w):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for b in (self.bias_k, self.bias_v):
            if b is not None and not init._defers(self, b):
                init.xavier_normal_(b)

    # ------------------------------------------------------------- checks
    def _check(self, query, key, value, key_padding_mask, attn_mask) -> bool:
        """Check every shape; return whether the input is batched."""
        name = "MultiheadAttention"
        shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
        if query.ndim not in (2, 3):
            raise AssertionError(
                f"{name}: query should be unbatched 2D or batched 3D, got "
                f"{query.ndim}-D query of shape {tuple(query.shape)}"
            )
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise AssertionError(
                f"{name}: query, key and value must all be {query.ndim}-D; got {shapes}"
            )
        for t, size, what in (
            (query, self.embed_dim, "embed_dim"),
            (key, self.kdim, "kdim"),
            (value, self.vdim, "vdim"),
        ):
            if t.shape[-1] != size:
                raise AssertionError(
                    f"{name}: expected the last dimension of every input to "
                    f"match embed_dim={self.embed_dim}, kdim={self.kdim}, "
                    f"vdim={self.vdim} ({what}); got {shapes}"
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise AssertionError(
                f"{name}: key and value must agree on sequence length and batch; got {shapes}"
            )
        if batched:
            b_axis, s_axis = (0, 1) if self.batch_first else (1, 0)
            if key.shape[b_axis] != query.shape[b_axis]:
                raise AssertionError(
                    f"{name}: query and key have different batch sizes "
                    f"(batch_first={self.batch_first}); got {shapes}"
                )
            N, L, S = query.shape[b_axis], query.shape[s_axis], key.shape[s_axis]
        else:
            N, L, S = 1, query.shape[0], key.shape[0]
        if key_padding_mask is not None:
            want = (N, S) if batched else (S,)
            if tuple(key_padding_mask.shape) != want:
                raise AssertionError(
                    f"{name}: expected key_padding_mask of shape {want}, got "
                    f"{tuple(key_padding_mask.shape)} (with {shapes})"
                )
        if attn_mask is not None:
            H = self.num_heads
            ok = ((L, S), (N * H, L, S)) if batched else ((L, S), (H, L, S))
            if tuple(attn_mask.shape) not in ok:
                raise RuntimeError(
                    f"{name}: attn_mask of shape {tuple(attn_mask.shape)} should "
                    f"be {ok[0]} or {ok[1]} (with {shapes} and "
                    f"num_heads={H})"
                )
        return batched

    # ------------------------------------------------------------- pieces
    def _merged_mask(self, attn_mask, key_padding_mask, N: int, L: int, S: int, dtype):
        """attn_mask and key_padding_mask as one additive mask of shape (N or 1, heads or 1,
        L or 1, S): an array, or a Tensor when a float mask requires grad."""
        H = self.num_heads
        parts = []
        if attn_mask is not None:
            m = _additive("attn_mask", attn_mask, dtype)
            parts.append(m.reshape(1, 1, L, S) if m.ndim == 2 else m.reshape(-1, H, L, S))
        if key_padding_mask is not None:
            parts.append(_additive("key_padding_mask", key_padding_mask, dtype).reshape(N, 1, 1, S))
        if not parts:
            return None
        if any(isinstance(p, Tensor) for p in parts):
            parts = [p if isinstance(p, Tensor) else _wrap(p) for p in parts]
        return parts[0] if len(parts) == 1 else parts[0] + parts[1]

    def _split_heads(self, x: Tensor, n: int, seq_first: bool) -> Tensor:
        """(T, N, n*E) (or (N, T, n*E) when not ``seq_first``) -> the view
        (n, N, heads, T, d)."""
        H, d = self.num_heads, self.head_dim
        if seq_first:
            T, N = x.shape[0], x.shape[1]
            return x.reshape(T, N, n, H, d).permute(2, 1, 3, 0, 4)
        N, T = x.shape[0], x.shape[1]
        return x.reshape(N, T, n, H, d).permute(2, 0, 3, 1, 4)

    def _project(self, query, key, value, self_attn: bool, kv_same: bool, seq_first: bool):
        """Q, K, V projected and split into heads, each (N, heads, T, d)."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        if not self._qkv_same_embed_dim:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        elif self_attn:  # one product for all three
            qkv = self._split_heads(F.linear(query, self.in_proj_weight, b), 3, seq_first)
            return qkv[0], qkv[1], qkv[2]
        elif kv_same:  # one product for K and V
            w = self.in_proj_weight
            kv = self._split_heads(F.linear(key, w[E:], None if b is None else b[E:]), 2, seq_first)
            q = self._split_heads(F.linear(query, w[:E], bq), 1, seq_first)[0]
            return q, kv[0], kv[1]
        else:
            w = self.in_proj_weight
            ws = (w[:E], w[E : 2 * E], w[2 * E :])
        q = self._split_heads(F.linear(query, ws[0], bq), 1, seq_first)[0]
        k = self._split_heads(F.linear(key, ws[1], bk), 1, seq_first)[0]
        v = self._split_heads(F.linear(value, ws[2], bv), 1, seq_first)[0]
        return q, k, v

    def _extend_kv(self, k, v, mask):
        """Append ``bias_k`` / ``bias_v`` and then a zero position (``add_zero_attn``) to K
        and V (N, heads, S, d); the mask gets a 0 (attend) column for each."""
        N, H, _, d = k.shape
        extra = []
        if self.bias_k is not None:
            extra.append(
                (
                    self.bias_k.reshape(1, H, 1, d).expand(N, H, 1, d),
                    self.bias_v.reshape(1, H, 1, d).expand(N, H, 1, d),
                )
            )
        if self.add_zero_attn:
            z = zeros(N, H, 1, d, dtype=k.dtype, device=k.device)
            extra.append((z, z))
        for ek, ev in extra:
            k, v = cat([k, ek], dim=2), cat([v, ev], dim=2)
            if mask is not None:
                col_shape = mask.shape[:-1] + (1,)
                if isinstance(mask, Tensor):
                    pad = zeros(*col_shape, dtype=mask.dtype, device=mask.device)
                    mask = cat([mask, pad], dim=-1)
                else:
                    ns = B.namespace(mask)
                    mask = ns.concatenate([mask, ns.zeros(col_shape, mask.dtype)], axis=-1)
        return k, v, mask

    # ------------------------------------------------------------- forward
    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        batched = self._check(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "MultiheadAttention: need attn_mask if specifying the is_causal hint "
                "(nn.Transformer.generate_square_subsequent_mask makes one)"
            )
        self_attn = query is key and key is value
        kv_same = key is value
        if not batched:  # (T, E) -> (T, 1, E), keeping which inputs are the same Tensor
            query = query.unsqueeze(1)
            key = query if self_attn else key.unsqueeze(1)
            value = key if kv_same else value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = (
                    key_padding_mask.unsqueeze(0)
                    if isinstance(key_padding_mask, Tensor)
                    else xp.asarray(key_padding_mask)[None]
                )
        seq_first = not (batched and self.batch_first)
        n_axis = 1 if seq_first else 0
        N, L, S = query.shape[n_axis], query.shape[1 - n_axis], key.shape[1 - n_axis]
        mask = self._merged_mask(attn_mask, key_padding_mask, N, L, S, query.dtype)
        dropout_p = self.dropout if self.training else 0.0
        scale = 1.0 / math.sqrt(self.head_dim)
        weights = None
        if (
            self_attn
            and self._qkv_same_embed_dim
            and not need_weights
            and self.bias_k is None
            and not self.add_zero_attn
        ):
            # the fast path: one product, head views of it, one fused op
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)  # (L, N, 3E)
            qkv = self._split_heads(qkv, 3, seq_first)  # (3, N, H, L, d)
            out = PackedAttention.apply(qkv, mask, scale, dropout_p, None)  # (N, H, L, d)
        else:
            q, k, v = self._project(query, key, value, self_attn, kv_same, seq_first)
            k, v, mask = self._extend_kv(k, v, mask)
            if need_weights:
                weights = AttentionWeights.apply(q, k, mask, scale, dropout_p, None)
                out = weights @ v  # (N, H, L, d)
            else:
                out = Attention.apply(q, k, v, mask, scale, dropout_p, None)
        if seq_first:  # merge the heads: (N, H, L, d) -> (L, N, E)
            out = out.permute(2, 0, 1, 3).reshape(L, N, self.embed_dim)
        else:  # -> (N, L, E)
            out = out.permute(0, 2, 1, 3).reshape(N, L, self.embed_dim)
        out = self.out_proj(out)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)  # (N, L, S)
        if not batched:
            out = out.squeeze(1)
            weights = None if weights is None else weights.squeeze(0)
        return out, weights

    def extra_repr(self) -> str:
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.kdim != self.embed_dim or self.vdim != self.embed_dim:
            s += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.in_proj_bias is None:
            s += ", bias=False"
        if self.bias_k is not None:
            s += ", add_bias_kv=True"
        if self.add_zero_attn:
            s += ", add_zero_attn=True"
        if self.batch_first:
            s += ", batch_first=True"
        return s


# ============================================================ positional encodings


def _positions_check(name: str, x: Tensor, d_model: int, max_len: int, batch_first: bool):
    """The sequence length of ``x`` ((L, N, E), (N, L, E) batch first, or (L, E)), checked
    against ``max_len`` and ``d_model``."""
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise ValueError(
            f"{name}: expected input (L, N, {d_model}), (N, L, {d_model}) with "
            f"batch_first, or (L, {d_model}); got shape {tuple(x.shape)}"
        )
    L = x.shape[1] if (x.ndim == 3 and batch_first) else x.shape[0]
    if L > max_len:
        raise ValueError(
            f"{name}: the sequence has {L} positions (input of shape "
            f"{tuple(x.shape)}, batch_first={batch_first}) but max_len={max_len}; "
            f"build the layer with a larger max_len"
        )
    return L


def _along_sequence(table: Tensor, x: Tensor, batch_first: bool) -> Tensor:
    """A (L, E) table shaped to broadcast against ``x`` along its sequence axis."""
    if x.ndim == 3:
        return table.unsqueeze(0) if batch_first else table.unsqueeze(1)
    return table


def sinusoids(max_len: int, d_model: int, dtype=None):
    """The (max_len, d_model) table of "Attention Is All You Need":
    PE[pos, 2i] = sin(pos / 10000^(2i / d_model)), PE[pos, 2i + 1] = cos(same angle)."""
    pos = xp.arange(max_len, dtype=xp.float64)[:, None]  # (max_len, 1)
    inv_freq = xp.exp(xp.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))  # (ceil(d/2),)
    angle = pos * inv_freq  # (max_len, ceil(d/2))
    pe = xp.empty((max_len, d_model), dtype=xp.float64)
    pe[:, 0::2] = xp.sin(angle)
    pe[:, 1::2] = xp.cos(angle[:, : d_model // 2])
    return pe.astype(B.to_dtype(dtype) or B.get_default_dtype())


class PositionalEncoding(Module):
    """Adds the fixed sinusoidal position code, then dropout: y = dropout(x + PE[:L]) with
    PE[pos, 2i] = sin(pos / 10000^(2i / d_model)), PE[pos, 2i + 1] = cos(same angle).

    Each pair of dimensions is a rotation at its own frequency, so PE[pos + k] is a linear
    function of PE[pos]: relative offsets are easy to read. ``pe`` (max_len, d_model) is a
    non-persistent buffer (not in the state dict: it is recomputed). Input (L, N, d_model),
    (N, L, d_model) with ``batch_first``, or (L, d_model); L <= ``max_len``.
    """

    def __init__(
        self, d_model: int, max_len: int = 5000, dropout: float = 0.0, batch_first: bool = False
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.max_len = max_len
        self.batch_first = batch_first
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", _wrap(sinusoids(max_len, d_model)), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        L = _positions_check("PositionalEncoding", x, self.d_model, self.max_len, self.batch_first)
        return self.dropout(x + _along_sequence(self.pe[:L], x, self.batch_first))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class LearnedPositionalEncoding(Module):
    """Adds a learned vector per position, then dropout: y = dropout(x + P[:L]) where P is
    ``embedding.weight`` (max_len, d_model) of an ``Embedding`` (N(0, 1) init, as torch's).
    Shapes as :class:`PositionalEncoding`; L <= ``max_len`` (positions beyond it were never
    learned)."""

    def __init__(
        self, d_model: int, max_len: int, dropout: float = 0.0, batch_first: bool = False
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.max_len = max_len
        self.batch_first = batch_first
        self.embedding = Embedding(max_len, d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        L = _positions_check(
            "LearnedPositionalEncoding", x, self.d_model, self.max_len, self.batch_first
        )
        table = self.embedding.weight[:L]  # (L, d_model), positions 0 .. L-1
        return self.dropout(x + _along_sequence(table, x, self.batch_first))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


# ============================================================ the functional form


class _BoundLinear(Module):
    """``out_proj`` of :func:`multi_head_attention_forward`: F.linear with given tensors."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        super().__init__()
        self.w, self.b = weight, bias

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.w, self.b)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask=None,
    need_weights: bool = True,
    attn_mask=None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k=None,
    static_v=None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
):
    """:class:`MultiheadAttention`'s forward with the weights passed in (torch's
    ``F.multi_head_attention_forward``; inputs (L, N, E) or unbatched (L, E)): a
    MultiheadAttention is bound to the given tensors, without copying them, and run, so
    the two compute the same thing the same way. ``static_k`` / ``static_v`` are not
    supported."""
    if static_k is not None or static_v is not None:
        raise NotImplementedError(
            "multi_head_attention_forward: static_k and static_v are not supported in axon"
        )
    E = query.shape[-1]
    if E != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, "
            f"but got query of shape {tuple(query.shape)}"
        )
    if E % num_heads:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    mha = MultiheadAttention.__new__(MultiheadAttention)
    Module.__init__(mha)
    mha.embed_dim, mha.num_heads, mha.head_dim = E, num_heads, E // num_heads
    mha.kdim, mha.vdim = key.shape[-1], value.shape[-1]
    mha._qkv_same_embed_dim = not use_separate_proj_weight
    mha.dropout, mha.batch_first, mha.add_zero_attn = dropout_p, False, add_zero_attn
    mha.in_proj_weight, mha.in_proj_bias = in_proj_weight, in_proj_bias
    mha.q_proj_weight, mha.k_proj_weight = q_proj_weight, k_proj_weight
    mha.v_proj_weight = v_proj_weight
    mha.bias_k, mha.bias_v = bias_k, bias_v
    mha.out_proj = _BoundLinear(out_proj_weight, out_proj_bias)
    mha.train(training)
    return mha.forward(
        query,
        key,
        value,
        key_padding_mask,
        need_weights,
        attn_mask,
        average_attn_weights,
        is_causal,
    )
