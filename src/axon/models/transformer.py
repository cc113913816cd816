"""Transformer language models: a decoder-only one (GPT) and a BERT-style encoder.

``TransformerLM`` reads a sequence and predicts each next token; a causal mask keeps
position t from seeing any position after it::

    h_0 = E[x] + PE[:T]                                 (token embedding + sinusoids)
    h_l = EncoderLayer_l(h_{l-1}, mask = causal)        (l = 1 .. L, pre-norm by default)
    p(x_{t+1} | x_<=t) = softmax(W LayerNorm(h_L)_t + b)

``TransformerEncoderModel`` is BERT's body: token embeddings plus *learned* position
embeddings, then encoder layers that attend in both directions, padding left out through
a key padding mask (True at ``pad_index``). Two heads sit on it:

- ``MaskedLM`` predicts the tokens hidden by :func:`mask_tokens` (BERT's pretraining):
  ``softmax(E LayerNorm(gelu(W h_t)) + b)``, the output matrix tied to the embeddings E;
- ``TransformerClassifier`` labels a whole sequence from the first token's vector
  (``pooling="first"``: a ``<cls>`` token put in front) or the mean over the real tokens
  (``pooling="mean"``).

All shapes are batch first: ids (B, T), hidden states (B, T, d_model), logits (B, T, V).
The embeddings start N(0, 0.02) as in BERT and GPT-2 (the output layer tied to them then
starts with small logits: a loss near ln V).
"""

from __future__ import annotations

import numpy as np

from .. import backend as B
from .. import nn
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, _wrap
from ..nn.transformer import _causal_mask_array

__all__ = [
    "IGNORE_INDEX",
    "MaskedLM",
    "TransformerClassifier",
    "TransformerEncoderModel",
    "TransformerLM",
    "causal_mask",
    "mask_tokens",
]

IGNORE_INDEX = -100  # the target cross-entropy skips (PyTorch's ignore_index default)


# ============================================================ helpers


def _ids(x, name: str, max_len: int, device=None) -> Tensor:
    """``x`` as a (B, T) int64 Tensor of token ids, T <= max_len, on ``device`` when
    given (the embedding's: ids given as host data follow a model on a GPU)."""
    t = x if isinstance(x, Tensor) else _wrap(np.asarray(x))
    if t.ndim != 2 or t.dtype.kind not in "iu":
        raise ValueError(
            f"{name}: expected a (batch, length) tensor of integer token ids, got "
            f"shape {tuple(t.shape)} and dtype {t.dtype}"
        )
    if t.shape[1] > max_len:
        raise ValueError(
            f"{name}: the sequences have {t.shape[1]} tokens (ids of shape "
            f"{tuple(t.shape)}) but the model was built with max_len={max_len}"
        )
    return t if device is None else t.to(device)


def causal_mask(size: int) -> np.ndarray:
    """The (size, size) bool mask that is True above the diagonal: query t may not attend
    to key s > t (``MultiheadAttention``'s convention, True = not allowed)."""
    return _causal_mask_array(size, np.bool_)


def _causal_where(size: int, x: Tensor):
    """The causal mask on ``x``'s device: a host array on the CPU, a bool Tensor moved
    there on another device (the attention's inputs must share one device)."""
    mask = causal_mask(size)
    return mask if x.array.__class__ is np.ndarray else _wrap(mask).to(x.device)


def _encoder(
    d_model: int,
    nhead: int,
    num_layers: int,
    dim_feedforward: int,
    dropout: float,
    norm_first: bool,
    activation: str,
) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model,
        nhead,
        dim_feedforward,
        dropout,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
    )
    return nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)


def _attention_maps(encoder: nn.TransformerEncoder, x: Tensor, mask, pad) -> list[np.ndarray]:
    """Each layer's self-attention weights per head, (B, heads, T, T) arrays, computed on
    the way through the stack as the layers compute them (eval mode, no graph)."""
    maps = []
    for layer in encoder.layers:
        h = layer.norm1(x) if layer.norm_first else x
        _, w = layer.self_attn(
            h,
            h,
            h,
            key_padding_mask=pad,
            attn_mask=mask,
            need_weights=True,
            average_attn_weights=False,
        )
        maps.append(w.cpu().numpy())
        x = layer(x, src_mask=mask, src_key_padding_mask=pad)
    return maps


def _small_normal_(*weights: Tensor, std: float = 0.02) -> None:
    for w in weights:
        nn.init.normal_(w, 0.0, std)


# ============================================================ decoder-only LM


class TransformerLM(nn.Module):
    """A decoder-only Transformer language model (GPT-style, Radford et al. 2018).

    ``token`` (Embedding V -> d_model) plus ``pos`` (the fixed sinusoids of
    ``nn.PositionalEncoding``, with dropout), ``encoder`` (``num_layers`` encoder layers
    run with the causal mask, so each position sees only itself and the past), ``norm``
    (a final LayerNorm) and ``head`` (Linear d_model -> V).

    ``forward(ids)``: ids (B, T) with T <= ``max_len`` -> logits (B, T, V), where
    ``logits[:, t]`` scores the token at t + 1.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 128,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        max_len: int = 256,
        norm_first: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.max_len = max_len
        self.token = nn.Embedding(vocab_size, d_model)
        self.pos = nn.PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.encoder = _encoder(
            d_model, nhead, num_layers, dim_feedforward, dropout, norm_first, activation
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        _small_normal_(self.head.weight)  # the embedding keeps N(0, 1), as large as PE
        nn.init.zeros_(self.head.bias)

    def forward(self, ids) -> Tensor:
        ids = _ids(ids, "TransformerLM", self.max_len, self.token.weight.device)
        T = ids.shape[1]
        x = self.pos(self.token(ids))  # (B, T) -> (B, T, d)
        x = self.encoder(x, mask=_causal_where(T, x), is_causal=True)  # (B, T, d)
        return self.head(self.norm(x))  # (B, T, V)

    def attention_maps(self, ids) -> list[np.ndarray]:
        """Each layer's causal self-attention weights per head: a list of ``num_layers``
        arrays (B, nhead, T, T), row t a distribution over the positions <= t."""
        ids = _ids(ids, "TransformerLM", self.max_len, self.token.weight.device)
        with no_grad():
            was = self.training
            self.eval()
            try:
                x = self.pos(self.token(ids))
                return _attention_maps(self.encoder, x, _causal_where(ids.shape[1], x), None)
            finally:
                self.train(was)


# ============================================================ BERT-style encoder


class TransformerEncoderModel(nn.Module):
    """BERT's body: ``token`` (Embedding V -> d_model) plus ``pos`` (a learned embedding of
    positions, ``nn.LearnedPositionalEncoding``, with dropout), then ``encoder``
    (``num_layers`` encoder layers, attention in both directions) and ``norm`` (a final
    LayerNorm).

    ``forward(ids, key_padding_mask=None)``: ids (B, T) -> hidden states (B, T, d_model).
    The padding mask (B, T) is True at padding; by default it is ``ids == pad_index``
    (so padded keys get attention weight 0 and cannot change the real positions).
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 128,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        max_len: int = 128,
        pad_index: int = 0,
        norm_first: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.max_len = max_len
        self.pad_index = pad_index
        self.token = nn.Embedding(vocab_size, d_model)
        self.pos = nn.LearnedPositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.encoder = _encoder(
            d_model, nhead, num_layers, dim_feedforward, dropout, norm_first, activation
        )
        self.norm = nn.LayerNorm(d_model)
        _small_normal_(self.token.weight, self.pos.embedding.weight)

    def padding_mask(self, ids) -> np.ndarray:
        """(B, T) bool, True where ``ids`` holds ``pad_index``."""
        ids = _ids(ids, "TransformerEncoderModel", self.max_len, self.token.weight.device)
        return ids.array == self.pad_index

    def _mask(self, ids: Tensor, key_padding_mask) -> np.ndarray:
        if key_padding_mask is None:
            return ids.array == self.pad_index
        given = key_padding_mask
        if not isinstance(given, Tensor):  # a backend's array as it is, else host data
            given = _wrap(given if B.of(given) is not None else np.asarray(given))
        pad = given.to(ids.device).array  # on the ids' device
        if pad.dtype != bool or pad.shape != tuple(ids.shape):
            raise ValueError(
                f"TransformerEncoderModel: key_padding_mask must be a bool "
                f"array of the ids' shape {tuple(ids.shape)}, got dtype "
                f"{pad.dtype} and shape {pad.shape}"
            )
        return pad

    def forward(self, ids, key_padding_mask=None) -> Tensor:
        ids = _ids(ids, "TransformerEncoderModel", self.max_len, self.token.weight.device)
        pad = self._mask(ids, key_padding_mask)
        x = self.pos(self.token(ids))  # (B, T) -> (B, T, d)
        x = self.encoder(x, src_key_padding_mask=pad)  # (B, T, d)
        return self.norm(x)

    def attention_maps(self, ids, key_padding_mask=None) -> list[np.ndarray]:
        """Each layer's self-attention weights per head: a list of ``num_layers`` arrays
        (B, nhead, T, T); row t is the distribution of query t over the keys (0 on
        padding). Computed in eval mode without a graph."""
        ids = _ids(ids, "TransformerEncoderModel", self.max_len, self.token.weight.device)
        pad = self._mask(ids, key_padding_mask)
        with no_grad():
            was = self.training
            self.eval()
            try:
                return _attention_maps(self.encoder, self.pos(self.token(ids)), None, pad)
            finally:
                self.train(was)


class MaskedLM(nn.Module):
    """BERT's masked-language-model head on a :class:`TransformerEncoderModel`:

        logits_t = E LayerNorm(gelu(W h_t + c)) + b       (E: the token embedding matrix)

    ``forward(ids, key_padding_mask=None)`` -> logits (B, T, V). ``loss(ids, targets)``
    is the cross-entropy over the positions whose target is not ``IGNORE_INDEX`` only
    (the output layer runs on those rows alone, which saves most of its cost).
    """

    def __init__(self, encoder: TransformerEncoderModel) -> None:
        super().__init__()
        d, V = encoder.d_model, encoder.vocab_size
        self.encoder = encoder
        self.transform = nn.Linear(d, d)
        self.transform_norm = nn.LayerNorm(d)
        self.decoder = nn.Linear(d, V)
        self.decoder.weight = encoder.token.weight  # tied (V, d)
        nn.init.zeros_(self.decoder.bias)

    def _scores(self, h: Tensor) -> Tensor:
        return self.decoder(self.transform_norm(nn.functional.gelu(self.transform(h))))

    def forward(self, ids, key_padding_mask=None) -> Tensor:
        return self._scores(self.encoder(ids, key_padding_mask))  # (B, T, V)

    def loss(self, ids, targets, key_padding_mask=None) -> Tensor:
        """Mean cross-entropy of the predictions at the masked positions (targets (B, T),
        ``IGNORE_INDEX`` elsewhere) in nats."""
        h = self.encoder(ids, key_padding_mask)  # (B, T, d)
        t = targets.detach().cpu().array if isinstance(targets, Tensor) else np.asarray(targets)
        if t.shape != tuple(h.shape[:2]):
            raise ValueError(
                f"MaskedLM.loss: targets of shape {t.shape} do not match ids of "
                f"shape {tuple(h.shape[:2])}"
            )
        rows = np.flatnonzero(t.ravel() != IGNORE_INDEX)
        if rows.size == 0:
            raise ValueError(
                f"MaskedLM.loss: no position is masked (every target is {IGNORE_INDEX})"
            )
        rows_t, picked_t = (_wrap(a).to(h.device) for a in (rows, t.ravel()[rows]))
        picked = h.reshape(-1, self.encoder.d_model)[rows_t]  # (M, d)
        return nn.functional.cross_entropy(self._scores(picked), picked_t)


class TransformerClassifier(nn.Module):
    """A sequence classifier on a :class:`TransformerEncoderModel`: the vector of the first
    token (``pooling="first"``, BERT's ``[CLS]``) or the mean of the vectors of the
    non-padding tokens (``pooling="mean"``), then dropout and ``head`` (Linear d_model ->
    classes).

    ``forward(ids, key_padding_mask=None)``: ids (B, T) -> scores (B, classes).
    """

    def __init__(
        self,
        encoder: TransformerEncoderModel,
        num_classes: int = 2,
        pooling: str = "mean",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if pooling not in ("first", "mean"):
            raise ValueError(f"pooling must be 'first' or 'mean', got {pooling!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.d_model, num_classes)

    def forward(self, ids, key_padding_mask=None) -> Tensor:
        ids = _ids(ids, "TransformerClassifier", self.encoder.max_len, self.head.weight.device)
        pad = self.encoder._mask(ids, key_padding_mask)
        h = self.encoder(ids, pad)  # (B, T, d)
        if self.pooling == "first":
            pooled = h[:, 0]  # (B, d)
        else:
            keep = (~pad).astype(h.dtype)[:, :, None]  # (B, T, 1): 1 at real tokens
            counts = B.namespace(keep).maximum(keep.sum(1), 1.0)  # (B, 1)
            pooled = (h * _wrap(keep)).sum(1) / _wrap(counts)  # (B, d)
        return self.head(self.drop(pooled))


# ============================================================ BERT's masking


def mask_tokens(
    ids,
    mask_id: int,
    vocab_size: int,
    p: float = 0.15,
    rng: np.random.Generator | None = None,
    special_ids=(),
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masked-LM corruption (Devlin et al. 2019).

    Each position whose token is not in ``special_ids`` (padding, ``<cls>``, ...) is
    chosen with probability ``p``. A chosen token is replaced by ``mask_id`` with
    probability 0.8, by a random token (uniform over the ids that are neither special nor
    ``mask_id``) with probability 0.1, and kept with probability 0.1; the model must
    predict the original token at every chosen position.

    Returns ``(inputs, targets)``, int64 arrays of ``ids``' shape: the corrupted ids, and
    the original id at chosen positions with ``IGNORE_INDEX`` (-100) everywhere else.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"mask_tokens: p must be in [0, 1], got {p}")
    rng = rng if rng is not None else np.random.default_rng()
    ids = np.asarray(ids.array if isinstance(ids, Tensor) else ids).astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"mask_tokens: ids must lie in [0, {vocab_size}), got values from "
            f"{ids.min()} to {ids.max()}"
        )
    special = np.asarray(sorted(set(special_ids) | {mask_id}), dtype=np.int64)
    candidates = np.setdiff1d(np.arange(vocab_size), special)
    chosen = (rng.random(ids.shape) < p) & ~np.isin(
        ids, np.asarray(list(special_ids), dtype=np.int64)
    )
    targets = np.where(chosen, ids, IGNORE_INDEX)
    u = rng.random(ids.shape)
    inputs = ids.copy()
    inputs[chosen & (u < 0.8)] = mask_id
    swap = chosen & (u >= 0.8) & (u < 0.9)
    if candidates.size:
        inputs[swap] = rng.choice(candidates, size=int(swap.sum()))
    return inputs, targets
