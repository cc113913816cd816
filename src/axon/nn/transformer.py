"""The Transformer of "Attention Is All You Need" (Vaswani et al., 2017), with PyTorch's
classes, arguments, defaults, submodule names (so state-dict keys) and semantics:
``TransformerEncoderLayer``, ``TransformerDecoderLayer``, the stacks ``TransformerEncoder``
and ``TransformerDecoder``, and the whole encoder-decoder ``Transformer``.

An encoder layer is two sublayers, each wrapped in a residual connection and a layer norm:

    post-norm (norm_first=False, the paper's):  x = norm1(x + SA(x));  x = norm2(x + FF(x))
    pre-norm  (norm_first=True):                x = x + SA(norm1(x));  x = x + FF(norm2(x))

with SA the multi-head self-attention (``MultiheadAttention``) and
FF(x) = linear2(dropout(activation(linear1(x)))). Each sublayer's output passes through
its own dropout before the residual sum. A decoder layer has a third sublayer between the
two, the cross-attention MHA(x, memory, memory) over the encoder's output.

Shapes: (S, N, E) sequences, or (N, S, E) with ``batch_first=True``, or unbatched (S, E).
Masks are those of ``MultiheadAttention``: an attention mask (L, S) or (N * nhead, L, S),
boolean (True = may not attend) or float (added to the scores), and key padding masks
(N, S), True at the padded keys. ``Transformer.generate_square_subsequent_mask(sz)`` is
the causal mask: -inf above the diagonal, 0 elsewhere.

PyTorch's inference fast path (nested tensors, fused kernels) is an implementation detail
that is not reproduced; in particular, torch's ``TransformerEncoder`` in eval mode without
autograd returns zeros at padded positions, where axon returns the values the layers
computed there (the outputs at unpadded positions agree).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from .. import backend as B
from ..autograd.tensor import Tensor, _device_of, _placed, _wrap
from ..backend import xp
from . import functional as F
from . import init
from ._factory import check_device, factory_dtype
from .attention import MultiheadAttention
from .containers import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


# ============================================================ helpers


def _activation_fn(activation: str | Callable) -> Callable:
    """The feed-forward activation: ``"relu"``, ``"gelu"`` or any unary callable."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(
            f"activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}"
        )
    return activation


def _clones(module: Module, n: int) -> ModuleList:
    """``n`` independent deep copies of ``module`` (identical values, separate memory)."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"num_layers must be a non-negative integer, got {n!r}")
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _causal_mask_array(sz: int, dtype):
    """(sz, sz) causal mask: True / -inf above the diagonal, False / 0 on and below."""
    if xp.dtype(dtype) == xp.bool_:
        return xp.triu(xp.ones((sz, sz), dtype=xp.bool_), 1)
    return xp.triu(xp.full((sz, sz), -xp.inf, dtype=dtype), 1)


def _seq_len(x: Tensor, batch_first: bool) -> int:
    """The sequence length of a (S, E), (S, N, E) or, batch first, (N, S, E) input."""
    if x.ndim == 2:
        return x.shape[0]
    return x.shape[1 if batch_first else 0]


def _detect_is_causal(mask, is_causal: bool | None, size: int | None) -> bool:
    """The ``is_causal`` hint handed to the layers.

    An explicit ``is_causal`` is returned as it is. ``None`` means "find out": True when
    ``mask`` is exactly the causal mask of the sequence length (a float mask with -inf
    above the diagonal and 0 elsewhere, or a boolean one True above the diagonal).
    The hint never changes the result, only which path computes it: the mask is passed
    on to the attention either way.
    """
    if is_causal is not None or mask is None:
        return bool(is_causal)
    m = mask.array if isinstance(mask, Tensor) else xp.asarray(mask)
    sz = size if size is not None else m.shape[-2]
    if m.shape != (sz, sz) or not (m.dtype == xp.bool_ or m.dtype.kind == "f"):
        return False
    causal = _causal_mask_array(sz, m.dtype)  # built on the host, compared where m is
    return bool(B.namespace(m).array_equal(m, _placed(causal, _device_of(m))))


def _attend(
    attn: Module,
    dropout: Module,
    x: Tensor,
    mem: Tensor,
    attn_mask,
    key_padding_mask,
    is_causal: bool,
) -> Tensor:
    """dropout(attn(x, mem, mem)): a layer's self- (mem is x) or cross-attention sublayer,
    without the weights."""
    out = attn(
        x,
        mem,
        mem,
        attn_mask=attn_mask,
        key_padding_mask=key_padding_mask,
        need_weights=False,
        is_causal=is_causal,
    )[0]
    return dropout(out)


def _feed_forward(layer: Module, x: Tensor) -> Tensor:
    """linear2(dropout(activation(linear1(x)))): a layer's position-wise network."""
    return layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))


def _check_model_input(name: str, x: Tensor, d_model: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected an axon Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise RuntimeError(
            f"{name}: expected a (S, E), (S, N, E) or (N, S, E) input with E = d_model = "
            f"{d_model}, got shape {tuple(x.shape)}"
        )


# ============================================================ layers


class TransformerEncoderLayer(Module):
    """Self-attention and a position-wise feed-forward network, each with a residual
    connection and a layer norm (after the sum by default, before the sublayer with
    ``norm_first=True``):

        post-norm:  x = norm1(x + dropout1(SA(x)));   x = norm2(x + dropout2(FF(x)))
        pre-norm:   x = x + dropout1(SA(norm1(x)));   x = x + dropout2(FF(norm2(x)))

    with SA(x) = self_attn(x, x, x) and FF(x) = linear2(dropout(activation(linear1(x)))),
    linear1: d_model -> dim_feedforward, linear2: dim_feedforward -> d_model.
    Input and output: (S, N, d_model), or (N, S, d_model) with ``batch_first``, or (S,
    d_model).
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        attn_args = dict(
            dropout=dropout, bias=bias, batch_first=batch_first, device=device, dtype=dtype
        )
        self.self_attn = MultiheadAttention(d_model, nhead, **attn_args)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, device=device, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        act = _activation_fn(activation)
        # torch's flag for its fused kernels (1 relu, 2 gelu, 0 other); kept for callers
        self.activation_relu_or_gelu = 1 if act is F.relu else 2 if act is F.gelu else 0
        self.activation = act

    def forward(
        self, src: Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False
    ) -> Tensor:
        """The encoded sequence, of ``src``'s shape. ``src_mask``: attention mask;
        ``src_key_padding_mask``: (N, S), True at padded positions; ``is_causal``: a hint
        that ``src_mask`` is the causal mask."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        """dropout1(self_attn(x, x, x))."""
        return _attend(self.self_attn, self.dropout1, x, x, attn_mask, key_padding_mask, is_causal)

    def _ff_block(self, x: Tensor) -> Tensor:
        """dropout2(linear2(dropout(activation(linear1(x)))))."""
        return self.dropout2(_feed_forward(self, x))


class TransformerDecoderLayer(Module):
    """Masked self-attention, cross-attention over the encoder's output (``memory``) and
    a feed-forward network, each with a residual connection and a layer norm:

        post-norm:  x = norm1(x + dropout1(SA(x)))
                    x = norm2(x + dropout2(MHA(x, memory)))
                    x = norm3(x + dropout3(FF(x)))
        pre-norm:   x = x + dropout1(SA(norm1(x)))
                    x = x + dropout2(MHA(norm2(x), memory))
                    x = x + dropout3(FF(norm3(x)))

    with SA(x) = self_attn(x, x, x), MHA(x, m) = multihead_attn(x, m, m) and
    FF(x) = linear2(dropout(activation(linear1(x)))). ``tgt``: (T, N, E) (or (N, T, E)
    with ``batch_first``, or (T, E)); ``memory``: (S, N, E) likewise; output: ``tgt``'s
    shape.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        attn_args = dict(
            dropout=dropout, bias=bias, batch_first=batch_first, device=device, dtype=dtype
        )
        self.self_attn = MultiheadAttention(d_model, nhead, **attn_args)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **attn_args)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, device=device, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation_fn(activation)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """The decoded sequence, of ``tgt``'s shape. ``tgt_mask`` (T, T) masks the
        self-attention (the causal mask for autoregressive decoding), ``memory_mask``
        (T, S) the cross-attention; the key padding masks mark padded positions of
        ``tgt`` (N, T) and ``memory`` (N, S) with True."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x
                + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        """dropout1(self_attn(x, x, x))."""
        return _attend(self.self_attn, self.dropout1, x, x, attn_mask, key_padding_mask, is_causal)

    def _mha_block(
        self, x: Tensor, mem: Tensor, attn_mask, key_padding_mask, is_causal: bool
    ) -> Tensor:
        """dropout2(multihead_attn(x, mem, mem))."""
        return _attend(
            self.multihead_attn, self.dropout2, x, mem, attn_mask, key_padding_mask, is_causal
        )

    def _ff_block(self, x: Tensor) -> Tensor:
        """dropout3(linear2(dropout(activation(linear1(x)))))."""
        return self.dropout3(_feed_forward(self, x))


# ============================================================ stacks


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` applied in turn (state-dict keys
    ``layers.0.…``), then ``norm`` if given. The copies start with the same weights as
    ``encoder_layer``; ``encoder_layer`` itself is not part of the stack.

    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch compatibility;
    they steer torch's inference fast path, which axon does not have.
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(
        self, src: Tensor, mask=None, src_key_padding_mask=None, is_causal: bool | None = None
    ) -> Tensor:
        """Every layer with the same ``mask`` and ``src_key_padding_mask``; ``is_causal``
        None means: tell the layers whether ``mask`` is the causal mask."""
        batch_first = _batch_first(self.layers)
        is_causal = _detect_is_causal(mask, is_causal, _seq_len(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(
                output,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask,
                is_causal=is_causal,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer`` applied in turn, each attending to
    the same ``memory``, then ``norm`` if given (state-dict keys ``layers.0.…``)."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """Every layer with the same masks; ``tgt_is_causal`` None means: tell the layers
        whether ``tgt_mask`` is the causal mask."""
        batch_first = _batch_first(self.layers)
        tgt_is_causal = _detect_is_causal(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


def _batch_first(layers: ModuleList) -> bool:
    """Whether the stack's layers take batch-first input (read from the first layer's
    self-attention, as torch does; False for an empty stack or a custom layer without)."""
    if len(layers) == 0:
        return False
    attn = getattr(layers[0], "self_attn", None)
    return bool(getattr(attn, "batch_first", False))


# ============================================================ the model


class Transformer(Module):
    """The encoder-decoder Transformer: ``encoder`` is a ``TransformerEncoder`` of
    ``num_encoder_layers`` layers with a final LayerNorm, ``decoder`` a
    ``TransformerDecoder`` of ``num_decoder_layers`` layers with a final LayerNorm
    (or ``custom_encoder`` / ``custom_decoder``).

        output = decoder(tgt, encoder(src))

    ``src``: (S, N, E), ``tgt``: (T, N, E) (batch first: (N, S, E), (N, T, E); or
    unbatched (S, E), (T, E)), output: (T, N, E). Every parameter with more than one
    dimension starts Xavier-uniform, U(-a, a) with a = sqrt(6 / (fan_in + fan_out)),
    each layer drawn on its own. Embeddings, positional encodings and the output
    projection are the caller's.
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        layer_args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        # _reset_parameters draws every parameter of more than one dimension: the layers
        # made here skip their own draw of those (each parameter is drawn once)
        with init._deferred(lambda module, t: t.ndim > 1):
            if custom_encoder is not None:
                self.encoder = custom_encoder
            else:
                layer = TransformerEncoderLayer(*layer_args, device=device, dtype=dtype)
                norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
                self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
            if custom_decoder is not None:
                self.decoder = custom_decoder
            else:
                layer = TransformerDecoderLayer(*layer_args, device=device, dtype=dtype)
                norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
                self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def _reset_parameters(self) -> None:
        """Xavier-uniform for every parameter of more than one dimension."""
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """decoder(tgt, encoder(src)) with the masks routed to their attention:
        ``src_mask`` / ``src_key_padding_mask`` to the encoder's self-attention,
        ``tgt_mask`` / ``tgt_key_padding_mask`` to the decoder's self-attention,
        ``memory_mask`` / ``memory_key_padding_mask`` to its cross-attention."""
        _check_model_input("Transformer src", src, self.d_model)
        _check_model_input("Transformer tgt", tgt, self.d_model)
        if src.ndim != tgt.ndim:
            raise RuntimeError(
                f"Transformer: src and tgt must both be batched or both unbatched, got "
                f"shapes {tuple(src.shape)} and {tuple(tgt.shape)}"
            )
        if src.ndim == 3:
            b = 0 if self.batch_first else 1
            if src.shape[b] != tgt.shape[b]:
                raise RuntimeError(
                    f"the batch number of src and tgt must be equal: src {tuple(src.shape)}, "
                    f"tgt {tuple(tgt.shape)} (batch dimension {b}, "
                    f"batch_first={self.batch_first})"
                )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The (sz, sz) causal mask: -inf above the diagonal (position i may not attend
        to j > i), 0.0 on and below it; float32 unless ``dtype`` says otherwise."""
        mask = _causal_mask_array(int(sz), factory_dtype(device, dtype))
        return _wrap(_placed(mask, check_device(device)))
