"""Sequence to sequence: an encoder RNN reads the source, a decoder RNN writes the target.

The plain model (Sutskever et al. 2014; Cho et al. 2014)::

    encoder:  h_1 .. h_S = RNN(E_src[x_1 .. x_S])      (bidirectional: h_j = [h_fwd; h_bwd])
    bridge:   s_0 = the encoder's final state, or tanh(W_b [h_fwd; h_bwd] + b_b) when the
              encoder is bidirectional or its size differs from the decoder's
    decoder:  s_t = RNN(s_{t-1}, E_tgt[y_{t-1}]),   p(y_t | y_<t, x) = softmax(W_o s_t + b_o)

The decoder sees the source only through s_0, one fixed-size vector: the *bottleneck* that
makes long inputs hard. Feeding the source back to front (``reverse_source=True``) puts its
first words next to the target's first words, which Sutskever et al. found to help.

The attention decoder (Bahdanau et al. 2015) looks back at every encoder output at every
step; padding positions get no weight::

    e_tj = v^T tanh(W_q s_{t-1} + W_k h_j),   a_t = softmax_j(e_tj),   c_t = sum_j a_tj h_j
    s_t = RNN(s_{t-1}, [E_tgt[y_{t-1}]; c_t]),   p(y_t | ...) = softmax(W_o [s_t; c_t] + b_o)

Training is teacher-forced: the decoder reads the true previous token ``tgt_in`` =
``<bos> y_1 .. y_{T-1}`` and is scored on ``tgt_out`` = ``y_1 .. y_T`` (ending in ``<eos>``).
Decoding feeds back its own predictions one step at a time through :meth:`Seq2Seq.step`,
``step(tokens, state) -> (log_probs, state)``, the protocol of the greedy and beam searches.

The Transformer (Vaswani et al. 2017), :class:`TransformerSeq2Seq`, has no recurrence:
``nn.Transformer`` over scaled token embeddings plus sinusoidal positions, source padding
masked, a causal mask on the target; its ``step`` decodes one new position at a time
against cached decoder inputs, so the same searches drive it.

Shapes are batch first: source ids (B, S) with lengths (B,), target ids (B, T), logits
(B, T, V), attention weights (B, T, S).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import nn
from ..autograd.creation import cat, stack
from ..autograd.grad_mode import no_grad
from ..autograd.ops.attention import MaskedSoftmax
from ..autograd.tensor import Tensor, _wrap
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from .decoding import beam_search, gather_state, greedy_search
from .transformer import causal_mask

__all__ = [
    "AttentionDecoder",
    "Decoder",
    "DecoderState",
    "Encoder",
    "Seq2Seq",
    "TransformerSeq2Seq",
    "TransformerState",
    "padding_mask",
    "reverse_padded",
    "seq2seq",
]

_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


def _rnn_class(cell: str) -> type[nn.RNNBase]:
    key = cell.lower() if isinstance(cell, str) else cell
    if key not in _CELLS:
        raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
    return _CELLS[key]


def _ids(x, name: str, device=None) -> Tensor:
    """``x`` as a (B, L) int64 Tensor of token ids, on ``device`` when given (the
    embedding's: ids given as host data follow a model that lives on a GPU)."""
    t = x if isinstance(x, Tensor) else _wrap(np.asarray(x))
    if t.ndim != 2 or t.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a (batch, length) tensor of integer ids, got shape "
            f"{tuple(t.shape)} and dtype {t.dtype}"
        )
    return t if device is None else t.to(device)


def _host(t: Tensor) -> np.ndarray:
    """A Tensor's values in host memory (its own array on the CPU)."""
    return t.detach().cpu().array


def _on(x, like: Tensor) -> Tensor:
    """Host data (a mask, an index) as a Tensor on ``like``'s device."""
    t = x if isinstance(x, Tensor) else _wrap(np.asarray(x))
    return t.to(like.device)


def _lengths(lengths, batch: int, length: int) -> np.ndarray:
    """``lengths`` as a (B,) int64 array, each in [1, length]."""
    lens = np.asarray(_host(lengths) if isinstance(lengths, Tensor) else lengths).astype(np.int64)
    if lens.shape != (batch,):
        raise ValueError(
            f"src_lengths must have shape ({batch},) for a batch of {batch} "
            f"sources, got shape {lens.shape}"
        )
    if batch and (lens.min() < 1 or lens.max() > length):
        raise ValueError(
            f"src_lengths must lie in [1, {length}] (the padded source length), got {lens.tolist()}"
        )
    return lens


def padding_mask(lengths, max_length: int) -> np.ndarray:
    """The (B, max_length) bool mask that is True at padding: ``mask[b, j] = j >= lengths[b]``
    (the ``key_padding_mask`` convention of attention)."""
    lens = np.asarray(_host(lengths) if isinstance(lengths, Tensor) else lengths)
    return np.arange(max_length)[None, :] >= lens[:, None]  # (B, S)


def _reversal_index(lengths: np.ndarray, max_length: int) -> np.ndarray:
    """(B, S) positions that read each row back to front within its length, padding kept at
    the end: row b is ``L_b - 1, .., 1, 0, L_b, .., S - 1``. It is its own inverse."""
    j = np.arange(max_length)[None, :]  # (1, S)
    lens = lengths[:, None]  # (B, 1)
    return np.where(j < lens, lens - 1 - j, j)  # (B, S)


def reverse_padded(ids, lengths) -> Tensor:
    """Each padded sequence of ``ids`` (B, S) reversed within its own length; padding stays
    at the end: ``[a b c <pad>]`` with length 3 becomes ``[c b a <pad>]``."""
    t = _ids(ids, "ids")
    B, S = t.shape
    index = _reversal_index(_lengths(lengths, B, S), S)
    return _on(np.take_along_axis(_host(t), index, axis=1), t)


def _mask_array(mask) -> np.ndarray:
    """A (B, S) padding mask as a bool array (True = padding)."""
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"memory_mask must be bool (True = padding), got dtype {m.dtype}")
    return m


def _top_hidden(state) -> Tensor:
    """The last layer's hidden state (B, H) of a GRU state (L, B, H) or an LSTM's (h, c)."""
    h = state[0] if isinstance(state, tuple) else state
    return h[-1]


# ============================================================================ encoder


class Encoder(nn.Module):
    """Embedding, dropout, then a GRU or LSTM over the padded source.

    ``forward(src, lengths)`` packs the batch (so each sequence is read over its own
    tokens only and its final state comes after its last real token) and returns

    - ``outputs`` (B, S, D*H), D = 2 if bidirectional: [h_fwd; h_bwd] at every position,
      zeros at padding;
    - the final state (num_layers, B, D*H), the two directions of each layer side by side
      (an LSTM gives a pair (h, c) of them).

    Args:
        vocab_size: source vocabulary size.
        embedding_dim: size of the token vectors.
        hidden_size: RNN hidden size H (per direction).
        num_layers: stacked RNN layers.
        cell: ``"gru"`` or ``"lstm"``.
        bidirectional: read the source in both directions.
        dropout: on the embeddings, and between stacked layers.
        pad_index: the padding id (its embedding row stays zero).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: str = "gru",
        bidirectional: bool = False,
        dropout: float = 0.0,
        pad_index: int = 0,
    ) -> None:
        super().__init__()
        self.cell = cell.lower()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.output_size = hidden_size * (2 if bidirectional else 1)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.drop = nn.Dropout(dropout)
        self.rnn = _rnn_class(cell)(
            embedding_dim,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )

    def forward(self, src, lengths=None):
        src = _ids(src, "src", self.embedding.weight.device)
        B, S = src.shape
        x = self.drop(self.embedding(src))  # (B, S) -> (B, S, E)
        if lengths is None:
            outputs, state = self.rnn(x)  # (B, S, D*H)
        else:
            packed = pack_padded_sequence(
                x, _lengths(lengths, B, S), batch_first=True, enforce_sorted=False
            )
            outputs, state = self.rnn(packed)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=S)
        if isinstance(state, tuple):
            return outputs, tuple(self._merge_directions(s) for s in state)
        return outputs, self._merge_directions(state)

    def _merge_directions(self, s: Tensor) -> Tensor:
        """(num_layers * D, B, H) -> (num_layers, B, D*H): forward and backward side by side."""
        if not self.bidirectional:
            return s
        L, B, H = self.num_layers, s.shape[1], s.shape[2]
        s = s.reshape(L, 2, B, H)  # PyTorch's order: index = layer * D + direction
        return cat([s[:, 0], s[:, 1]], 2)  # (L, B, 2H)


# ============================================================================ decoders


class Decoder(nn.Module):
    """The plain decoder: embedding, a GRU or LSTM started from the encoder's final state,
    and a linear read-out. The state is its only link to the source.

    ``forward(tgt_in, state, memory=None, memory_mask=None, keys=None)`` runs the whole
    (teacher-forced) target (B, T) in one fused RNN call and returns ``(logits (B, T, V),
    state, None)``; ``memory``, ``memory_mask`` and ``keys`` are accepted and ignored, so
    both decoders are called alike.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: str = "gru",
        dropout: float = 0.0,
        pad_index: int = 0,
    ) -> None:
        super().__init__()
        self.cell = cell.lower()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.drop = nn.Dropout(dropout)
        self.rnn = _rnn_class(cell)(
            embedding_dim,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, tgt_in, state, memory=None, memory_mask=None, keys=None):
        y = self.drop(self.embedding(_ids(tgt_in, "tgt_in", self.embedding.weight.device)))
        h, state = self.rnn(y, state)  # (B, T, H)
        return self.out(self.drop(h)), state, None  # (B, T, V)


class AttentionDecoder(nn.Module):
    """The decoder with Bahdanau (additive) attention over the encoder outputs.

    At each step t the previous top-layer state s_{t-1} is the query; the context c_t is
    the attention-weighted sum of the encoder outputs (padding masked out); the RNN reads
    [E[y_{t-1}]; c_t]; the read-out sees [s_t; c_t].

    ``forward(tgt_in, state, memory, memory_mask, keys=None)`` loops over the T target steps
    and returns ``(logits (B, T, V), state, weights (B, T, S))``, the weights of every step
    (each row sums to 1 over the real source positions) for heat maps. ``keys`` are the
    projected encoder outputs (:meth:`project_keys`), computed here when not given.

    Args:
        memory_size: size of the encoder outputs (``Encoder.output_size``).
        attention_size: hidden size of the attention's scoring layer (default
            ``hidden_size``).
        The others as for :class:`Decoder`.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        memory_size: int,
        attention_size: int | None = None,
        num_layers: int = 1,
        cell: str = "gru",
        dropout: float = 0.0,
        pad_index: int = 0,
    ) -> None:
        super().__init__()
        self.cell = cell.lower()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.memory_size = memory_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.drop = nn.Dropout(dropout)
        self.attention = nn.BahdanauAttention(
            hidden_size, memory_size, attention_size or hidden_size
        )
        self.rnn = _rnn_class(cell)(
            embedding_dim + memory_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out = nn.Linear(hidden_size + memory_size, vocab_size)

    def project_keys(self, memory: Tensor) -> Tensor:
        """W_k h_j + b for every encoder output: (B, S, M) -> (B, S, A). It does not depend
        on the step, so it is computed once per source, not once per target token."""
        return self.attention.key_proj(memory)

    def attend(self, query: Tensor, keys: Tensor, memory: Tensor, memory_mask=None):
        """One step of Bahdanau attention with the keys already projected: the same
        ``(context (B, M), weights (B, S))`` as ``self.attention(query, memory,
        key_padding_mask=memory_mask)``."""
        att = self.attention
        q = att.query_proj(query).unsqueeze(1)  # (B, H) -> (B, 1, A)
        scores = att.v((keys + q).tanh()).squeeze(-1)  # (B, S, A) -> (B, S)
        pad = None if memory_mask is None else _mask_array(memory_mask)
        weights = MaskedSoftmax.apply(scores, pad)  # (B, S), 0 at padding
        context = (weights.unsqueeze(1) @ memory).squeeze(1)  # (B, 1, S) @ (B, S, M)
        return context, weights

    def forward(self, tgt_in, state, memory, memory_mask=None, keys=None):
        if memory is None or state is None:
            raise ValueError(
                "AttentionDecoder needs the encoder's outputs (memory) and an initial state"
            )
        y = self.drop(self.embedding(_ids(tgt_in, "tgt_in", self.embedding.weight.device)))
        if memory.ndim != 3 or memory.shape[2] != self.memory_size:
            raise ValueError(
                f"memory must be (batch, source length, {self.memory_size}), got "
                f"shape {tuple(memory.shape)}"
            )
        keys = self.project_keys(memory) if keys is None else keys  # (B, S, A)
        hs, contexts, weights = [], [], []
        for t in range(y.shape[1]):
            context, w = self.attend(_top_hidden(state), keys, memory, memory_mask)
            step_in = cat([y[:, t], context], 1).unsqueeze(1)  # (B, 1, E + M)
            h, state = self.rnn(step_in, state)  # (B, 1, H)
            hs.append(h[:, 0])
            contexts.append(context)
            weights.append(w)
        read = cat([stack(hs, 1), stack(contexts, 1)], 2)  # (B, T, H + M)
        return self.out(self.drop(read)), state, stack(weights, 1)  # (B,T,V), (B,T,S)


# ============================================================================ the model


class _Decodable(nn.Module):
    """What both encoder-decoders share on top of their ``init_state`` / ``step``
    protocol (with ``bos_index`` and ``eos_index``): state reordering and decoding."""

    @staticmethod
    def reorder_state(state, index):
        """The state of the rows ``index`` (dropped, kept or repeated): for beam search."""
        return gather_state(state, np.asarray(index))

    def generate(
        self,
        src,
        src_lengths=None,
        max_length: int = 50,
        beam_width: int = 1,
        length_penalty: float = 1.0,
    ) -> list[list[int]]:
        """Decode every source with :mod:`axon.models.decoding`'s greedy search
        (``beam_width=1``) or beam search; returns the token ids of each output, without
        ``<bos>`` and ``<eos>``."""
        with no_grad():
            state = self.init_state(src, src_lengths)
        if beam_width == 1:
            hyps = greedy_search(self.step, self.bos_index, self.eos_index, max_length, state=state)
            return [h.tokens for h in hyps]
        beams = beam_search(
            self.step,
            self.bos_index,
            self.eos_index,
            max_length,
            beam_width=beam_width,
            length_penalty=length_penalty,
            state=state,
        )
        return [b[0].tokens for b in beams]


class DecoderState(NamedTuple):
    """What :meth:`Seq2Seq.step` carries from one token to the next, every part batch
    first, so :func:`axon.models.decoding.gather_state` reorders it along dim 0.

    Attributes:
        h: the decoder's hidden state (B, L, H) (L layers).
        c: the LSTM's cell state (B, L, H); None for a GRU.
        memory: the encoder outputs (B, S, M).
        keys: the attention's projected encoder outputs (B, S, A); None without attention.
        mask: (B, S) bool, True at source padding.
    """

    h: Tensor
    c: Tensor | None
    memory: Tensor
    keys: Tensor | None
    mask: Tensor


class Seq2Seq(_Decodable):
    """An :class:`Encoder` and a :class:`Decoder` or :class:`AttentionDecoder`.

    ``forward(src, src_lengths, tgt_in)`` gives the teacher-forced logits (B, T, V)
    (``return_attention=True``: ``(logits, weights)``, the weights (B, T, S) over the
    source positions as given, also with ``reverse_source``).

    For decoding, ``state = model.init_state(src, src_lengths)`` then repeatedly
    ``log_probs, state = model.step(tokens, state)`` with the last tokens (B,), starting
    from ``bos_index``: the protocol of :mod:`axon.models.decoding` (:meth:`generate` runs
    its greedy or beam search). The state is a :class:`DecoderState` of batch-first
    tensors, so a search can reorder or repeat its rows along dim 0.

    Args:
        encoder, decoder: the two halves; same cell type and number of layers.
        bos_index, eos_index: the target's begin and end tokens.
        reverse_source: feed each source back to front (within its length).
    """

    def __init__(
        self,
        encoder: Encoder,
        decoder: Decoder | AttentionDecoder,
        bos_index: int,
        eos_index: int,
        reverse_source: bool = False,
    ) -> None:
        super().__init__()
        if encoder.cell != decoder.cell:
            raise ValueError(
                f"encoder cell {encoder.cell!r} and decoder cell {decoder.cell!r} "
                "differ: the encoder's state starts the decoder"
            )
        if encoder.num_layers != decoder.num_layers:
            raise ValueError(
                f"encoder has {encoder.num_layers} layers, decoder "
                f"{decoder.num_layers}: they must match layer for layer"
            )
        if isinstance(decoder, AttentionDecoder) and decoder.memory_size != encoder.output_size:
            raise ValueError(
                f"AttentionDecoder memory_size {decoder.memory_size} != encoder "
                f"output size {encoder.output_size}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.bos_index = bos_index
        self.eos_index = eos_index
        self.reverse_source = reverse_source
        self.pad_index = decoder.embedding.padding_idx or 0
        n_states = 2 if encoder.cell == "lstm" else 1
        if encoder.output_size != decoder.hidden_size or encoder.bidirectional:
            self.bridge = nn.ModuleList(
                [nn.Linear(encoder.output_size, decoder.hidden_size) for _ in range(n_states)]
            )
        else:
            self.bridge = None

    @property
    def attention(self) -> bool:
        """True if the decoder attends to the encoder outputs."""
        return isinstance(self.decoder, AttentionDecoder)

    # ---------------------------------------------------------------- teacher forcing
    def encode(self, src, src_lengths=None):
        """Run the encoder: ``(memory (B, S, M), memory_mask (B, S) bool or None, the
        decoder's initial state)``."""
        src = _ids(src, "src")
        B, S = src.shape
        lens = None if src_lengths is None else _lengths(src_lengths, B, S)
        if self.reverse_source:
            src = reverse_padded(src, lens if lens is not None else np.full(B, S))
        memory, state = self.encoder(src, lens)
        mask = None if lens is None else _on(padding_mask(lens, S), memory)
        return memory, mask, self._bridge(state)

    def _bridge(self, state):
        if self.bridge is None:
            return state
        if isinstance(state, tuple):
            return tuple(layer(s).tanh() for layer, s in zip(self.bridge, state, strict=True))
        return self.bridge[0](state).tanh()

    def forward(self, src, src_lengths, tgt_in, return_attention: bool = False):
        memory, mask, state = self.encode(src, src_lengths)
        logits, _, weights = self.decoder(tgt_in, state, memory, mask)
        if not return_attention:
            return logits
        if weights is not None and self.reverse_source:
            weights = self._unreverse(weights, src_lengths)
        return logits, weights

    def _unreverse(self, weights: Tensor, src_lengths) -> Tensor:
        """Weights over the reversed source -> over the source as given (B, T, S)."""
        B, T, S = weights.shape
        lens = np.full(B, S) if src_lengths is None else _lengths(src_lengths, B, S)
        index = np.broadcast_to(_reversal_index(lens, S)[:, None, :], (B, T, S))
        return weights.gather(2, _on(np.ascontiguousarray(index), weights))

    # ---------------------------------------------------------------- step protocol
    def init_state(self, src, src_lengths=None) -> DecoderState:
        """The decoding state after reading the source (a :class:`DecoderState`)."""
        memory, mask, state = self.encode(src, src_lengths)
        if mask is None:
            mask = _on(np.zeros(memory.shape[:2], dtype=bool), memory)
        h, c = state if isinstance(state, tuple) else (state, None)
        keys = self.decoder.project_keys(memory) if self.attention else None
        return DecoderState(
            h.transpose(0, 1), None if c is None else c.transpose(0, 1), memory, keys, mask
        )

    def step(self, tokens, state: DecoderState):
        """One decoding step: the last tokens (B,) -> ``(log_probs (B, V), new state)``."""
        log_probs, state, _ = self._step(tokens, state)
        return log_probs, state

    def _step(self, tokens, state: DecoderState):
        """:meth:`step`, also returning this step's attention weights (B, S) (or None)."""
        h = state.h.transpose(0, 1)  # (B, L, H) -> (L, B, H)
        rnn_state = h if state.c is None else (h, state.c.transpose(0, 1))
        tokens = _on(tokens, state.memory)
        logits, rnn_state, w = self.decoder(
            tokens.reshape(-1, 1), rnn_state, state.memory, state.mask, keys=state.keys
        )
        h, c = rnn_state if isinstance(rnn_state, tuple) else (rnn_state, None)
        new = state._replace(h=h.transpose(0, 1), c=None if c is None else c.transpose(0, 1))
        return logits[:, 0].log_softmax(-1), new, None if w is None else w[:, 0]

    def greedy_decode(self, src, src_lengths=None, max_length: int = 50):
        """Greedy decoding of the whole batch at once, keeping the attention weights for
        heat maps (which the ``step`` protocol does not carry); no gradients.

        Returns ``(tokens, weights)``: tokens (B, T') int64, the predicted tokens after
        ``<bos>`` up to and including ``<eos>``, then the padding id once a row has ended
        (T' <= max_length); weights (B, T', S) over the source as given, or None for the
        plain decoder. The tokens are those of :meth:`generate` (then ``<eos>``).
        """
        with no_grad():
            state = self.init_state(src, src_lengths)
            B = state.mask.shape[0]
            tokens = np.full(B, self.bos_index, dtype=np.int64)
            done = np.zeros(B, dtype=bool)
            out, weights = [], []
            for _ in range(max_length):
                log_probs, state, w = self._step(_wrap(tokens), state)
                tokens = _host(log_probs).argmax(axis=1).astype(np.int64)
                tokens[done] = self.pad_index
                out.append(tokens)
                if w is not None:
                    weights.append(_host(w))
                done |= tokens == self.eos_index
                if done.all():
                    break
            ids = np.stack(out, axis=1)  # (B, T')
            if not weights:
                return ids, None
            att = _wrap(np.stack(weights, axis=1))  # (B, T', S)
            if self.reverse_source:
                att = self._unreverse(att, src_lengths)
            return ids, att.array


def seq2seq(
    src_vocab_size: int,
    tgt_vocab_size: int,
    bos_index: int,
    eos_index: int,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    cell: str = "gru",
    attention: bool = True,
    bidirectional: bool = False,
    dropout: float = 0.0,
    pad_index: int = 0,
    reverse_source: bool = False,
) -> Seq2Seq:
    """Build a :class:`Seq2Seq`: ``attention=True`` gives the Bahdanau decoder, False the
    plain one; the decoder has the encoder's ``hidden_size`` (the bridge maps a
    bidirectional encoder's 2H down to H)."""
    encoder = Encoder(
        src_vocab_size,
        embedding_dim,
        hidden_size,
        num_layers,
        cell,
        bidirectional,
        dropout,
        pad_index,
    )
    if attention:
        decoder = AttentionDecoder(
            tgt_vocab_size,
            embedding_dim,
            hidden_size,
            encoder.output_size,
            None,
            num_layers,
            cell,
            dropout,
            pad_index,
        )
    else:
        decoder = Decoder(
            tgt_vocab_size, embedding_dim, hidden_size, num_layers, cell, dropout, pad_index
        )
    return Seq2Seq(encoder, decoder, bos_index, eos_index, reverse_source)


# ============================================================================ the Transformer


class TransformerState(NamedTuple):
    """What :meth:`TransformerSeq2Seq.step` carries from one token to the next, batch first
    (so :func:`axon.models.decoding.gather_state` reorders it along dim 0).

    Attributes:
        memory: the encoder's output (B, S, d_model).
        mask: (B, S) bool, True at source padding.
        inputs: per decoder layer, that layer's inputs at the t positions decoded so far
            (B, t, d_model): its self-attention keys and values. A causal decoder never
            changes the vectors of earlier positions, so each step computes only the
            newest one.
    """

    memory: Tensor
    mask: Tensor
    inputs: tuple[Tensor, ...]


class TransformerSeq2Seq(_Decodable):
    """An encoder-decoder Transformer (Vaswani et al. 2017) for translation::

        x_src = E_src[src] * sqrt(d) + PE,    x_tgt = E_tgt[tgt_in] * sqrt(d) + PE
        logits = W_o Transformer(x_src, x_tgt) + b_o                         (B, T, V)

    with ``nn.Transformer`` batch first, the source padding masked out of the encoder's
    self-attention and the decoder's cross-attention (``src_key_padding_mask`` and
    ``memory_key_padding_mask``, True after each length), the target padding out of the
    decoder's self-attention, and the causal mask on it, so position t sees ``tgt_in[:t+1]``
    only. The embeddings start N(0, 1 / d), so the scaled ones have unit size like the
    sinusoids ``PE`` they are added to.

    ``forward(src, src_lengths, tgt_in)`` gives the teacher-forced logits (B, T, V), as
    :class:`Seq2Seq` does. Decoding follows the same protocol: ``state =
    init_state(src, src_lengths)``, then ``log_probs, state = step(tokens, state)``;
    :meth:`generate` runs the greedy or beam search, :meth:`cross_attention` gives the
    decoder's attention over the source for heat maps.

    Args:
        src_vocab_size, tgt_vocab_size: the vocabulary sizes.
        bos_index, eos_index: the target's begin and end tokens.
        d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout,
            norm_first: as for ``nn.Transformer``.
        max_len: the longest source or target it takes (the length of the sinusoid table).
        pad_index: the padding id of both vocabularies.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        bos_index: int,
        eos_index: int,
        d_model: int = 128,
        nhead: int = 4,
        num_encoder_layers: int = 2,
        num_decoder_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        max_len: int = 256,
        pad_index: int = 0,
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"d_model={d_model} must be divisible by nhead={nhead}")
        self.d_model = d_model
        self.max_len = max_len
        self.bos_index = bos_index
        self.eos_index = eos_index
        self.pad_index = pad_index
        self.src_embedding = nn.Embedding(src_vocab_size, d_model, padding_idx=pad_index)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_index)
        for emb in (self.src_embedding, self.tgt_embedding):
            nn.init.normal_(emb.weight, 0.0, d_model**-0.5)
            emb.weight.array[pad_index] = 0.0
        self.positions = nn.PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.transformer = nn.Transformer(
            d_model,
            nhead,
            num_encoder_layers,
            num_decoder_layers,
            dim_feedforward,
            dropout,
            batch_first=True,
            norm_first=norm_first,
        )
        self.out = nn.Linear(d_model, tgt_vocab_size)

    # ---------------------------------------------------------------- teacher forcing
    def _embed(self, embedding: nn.Embedding, ids: Tensor) -> Tensor:
        """E[ids] * sqrt(d) + PE, then dropout: (B, L) -> (B, L, d)."""
        return self.positions(embedding(ids) * self.d_model**0.5)

    def _check_length(self, ids: Tensor, name: str) -> Tensor:
        if ids.shape[1] > self.max_len:
            raise ValueError(
                f"{name} has {ids.shape[1]} positions (shape {tuple(ids.shape)}) but the "
                f"model was built with max_len={self.max_len}"
            )
        return ids

    def encode(self, src, src_lengths=None) -> tuple[Tensor, Tensor]:
        """The encoder's output (B, S, d) and the source padding mask (B, S) (True at
        padding; all False when ``src_lengths`` is None)."""
        src = self._check_length(_ids(src, "src", self.src_embedding.weight.device), "src")
        B, S = src.shape
        if src_lengths is None:
            mask = np.zeros((B, S), dtype=bool)
        else:
            mask = padding_mask(_lengths(src_lengths, B, S), S)
        mask = _on(mask, src)
        memory = self.transformer.encoder(
            self._embed(self.src_embedding, src), src_key_padding_mask=mask
        )
        return memory, mask

    def _decode(self, tgt_in, memory: Tensor, mask: Tensor) -> Tensor:
        """The decoder's output (B, T, d) for the teacher-forced target."""
        tgt = self._check_length(_ids(tgt_in, "tgt_in", self.tgt_embedding.weight.device), "tgt_in")
        if tgt.shape[0] != memory.shape[0]:
            raise ValueError(
                f"tgt_in has {tgt.shape[0]} rows (shape {tuple(tgt.shape)}) but the source "
                f"has {memory.shape[0]}"
            )
        T = tgt.shape[1]
        return self.transformer.decoder(
            self._embed(self.tgt_embedding, tgt),
            memory,
            tgt_mask=_on(causal_mask(T), tgt),
            tgt_key_padding_mask=_wrap(tgt.array == self.pad_index),
            memory_key_padding_mask=mask,
            tgt_is_causal=True,
        )

    def forward(self, src, src_lengths, tgt_in):
        memory, mask = self.encode(src, src_lengths)
        return self.out(self._decode(tgt_in, memory, mask))  # (B, T, V)

    def cross_attention(self, src, src_lengths, tgt_in, layer: int = -1) -> np.ndarray:
        """The weights (B, T, S) with which decoder layer ``layer`` (default the last)
        attends to the source positions, averaged over the heads, for the target ``tgt_in``
        (e.g. ``<bos>`` and a decoded output): each row sums to 1, padding gets 0. No
        gradients; dropout as the current mode has it (call ``eval()`` first)."""
        with no_grad():
            memory, mask = self.encode(src, src_lengths)
            tgt = self._check_length(
                _ids(tgt_in, "tgt_in", self.tgt_embedding.weight.device), "tgt_in"
            )
            x = self._embed(self.tgt_embedding, tgt)
            causal, tgt_pad = (
                _on(causal_mask(tgt.shape[1]), tgt),
                _wrap(tgt.array == self.pad_index),
            )
            layers = list(self.transformer.decoder.layers)
            chosen = layers[layer]
            for dec in layers:
                if dec is chosen:
                    if dec.norm_first:
                        h = x + dec._sa_block(dec.norm1(x), causal, tgt_pad, True)
                        query = dec.norm2(h)
                    else:
                        query = dec.norm1(x + dec._sa_block(x, causal, tgt_pad, True))
                    _, weights = dec.multihead_attn(
                        query, memory, memory, key_padding_mask=mask, need_weights=True
                    )
                    return _host(weights)  # (B, T, S), the mean over heads
                x = dec(
                    x,
                    memory,
                    tgt_mask=causal,
                    tgt_key_padding_mask=tgt_pad,
                    memory_key_padding_mask=mask,
                    tgt_is_causal=True,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------- step protocol
    def init_state(self, src, src_lengths=None) -> TransformerState:
        """The decoding state after reading the source (a :class:`TransformerState` with
        no target position decoded yet)."""
        memory, mask = self.encode(src, src_lengths)
        B, d = memory.shape[0], self.d_model
        empty = tuple(
            _on(np.zeros((B, 0, d), dtype=memory.dtype), memory)
            for _ in self.transformer.decoder.layers
        )
        return TransformerState(memory, mask, empty)

    def step(self, tokens, state: TransformerState):
        """One decoding step: the last tokens (B,) -> ``(log_probs (B, V), new state)``.

        Only the newest position t goes through the decoder: its self-attention reads the
        cached inputs of positions 0 .. t (the causal mask's view), its cross-attention
        the memory. The result equals the teacher-forced forward at position t.
        """
        t = state.inputs[0].shape[1] if state.inputs else 0
        if t >= self.max_len:
            raise ValueError(f"cannot decode past max_len={self.max_len} positions")
        tokens = _on(tokens, state.memory)
        ids = _ids(tokens.reshape(-1, 1), "tokens")  # (B, 1)
        emb = self.tgt_embedding(ids) * self.d_model**0.5
        x = self.positions.dropout(emb + self.positions.pe[t : t + 1])  # (B, 1, d)
        inputs = []
        for dec, cache in zip(self.transformer.decoder.layers, state.inputs, strict=True):
            prefix = cat([cache, x], 1)  # (B, t + 1, d): the keys and values of position t
            inputs.append(prefix)
            x = _decoder_layer_last(dec, x, prefix, state.memory, state.mask)
        if self.transformer.decoder.norm is not None:
            x = self.transformer.decoder.norm(x)
        log_probs = self.out(x[:, 0]).log_softmax(-1)  # (B, V)
        return log_probs, state._replace(inputs=tuple(inputs))

    def generate(
        self,
        src,
        src_lengths=None,
        max_length: int = 50,
        beam_width: int = 1,
        length_penalty: float = 1.0,
    ) -> list[list[int]]:
        """:meth:`_Decodable.generate`, at most ``max_len`` (the positional table) long."""
        return super().generate(
            src, src_lengths, min(max_length, self.max_len), beam_width, length_penalty
        )


def _decoder_layer_last(
    layer: nn.TransformerDecoderLayer, x: Tensor, prefix: Tensor, memory: Tensor, mask: Tensor
) -> Tensor:
    """A decoder layer's output at the newest position only: ``x`` (B, 1, d) is that
    position's input, ``prefix`` (B, t + 1, d) the inputs of all positions so far (``x``
    last). The same as the layer's full causal forward at that position."""
    if layer.norm_first:
        h, keys = layer.norm1(x), layer.norm1(prefix)
        x = x + layer.dropout1(layer.self_attn(h, keys, keys, need_weights=False)[0])
        x = x + layer._mha_block(layer.norm2(x), memory, None, mask, False)
        return x + layer._ff_block(layer.norm3(x))
    x = layer.norm1(x + layer.dropout1(layer.self_attn(x, prefix, prefix, need_weights=False)[0]))
    x = layer.norm2(x + layer._mha_block(x, memory, None, mask, False))
    return layer.norm3(x + layer._ff_block(x))
