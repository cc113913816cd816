"""``axon.models.seq2seq``: the encoder-decoder models against a torch twin (outputs and
every parameter's gradient), padding, source reversal, the step protocol with
``models.decoding``, and a tiny model that learns a few pairs by heart."""

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence as t_pack
from torch.nn.utils.rnn import pad_packed_sequence as t_unpack

import axon as ax
from axon import models, nn, optim
from axon.models import decoding
from axon.models.seq2seq import (
    AttentionDecoder,
    Decoder,
    DecoderState,
    Encoder,
    Seq2Seq,
    padding_mask,
    reverse_padded,
    seq2seq,
)
from tests.helpers import assert_close

V_SRC, V_TGT, BOS, EOS = 9, 11, 1, 2
SRC = np.array([[3, 4, 5, 6, 7], [8, 3, 4, 0, 0], [5, 5, 0, 0, 0]])  # 0 = <pad>
LENS = np.array([5, 3, 2])
TGT_IN = np.array([[1, 4, 5, 6], [1, 7, 8, 0], [1, 9, 0, 0]])
TGT_OUT = np.array([[4, 5, 6, 2], [7, 8, 2, 0], [9, 2, 0, 0]])


def _model(cell="gru", bidirectional=True, attention=True, layers=1, reverse=False, hidden=6):
    ax.manual_seed(0)
    return seq2seq(
        V_SRC,
        V_TGT,
        BOS,
        EOS,
        embedding_dim=5,
        hidden_size=hidden,
        num_layers=layers,
        cell=cell,
        attention=attention,
        bidirectional=bidirectional,
        reverse_source=reverse,
    )


# ----------------------------------------------------------------------------- torch twin
class TorchSeq2Seq(torch.nn.Module):
    """The same model written directly in torch, with axon's module names."""

    def __init__(self, cell, bidirectional, attention, layers, E=5, H=6):
        super().__init__()
        rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
        D = 2 if bidirectional else 1
        M = D * H
        self.lstm, self.D, self.L, self.use_attention = cell == "lstm", D, layers, attention
        self.encoder = torch.nn.Module()
        self.encoder.embedding = torch.nn.Embedding(V_SRC, E, padding_idx=0)
        self.encoder.rnn = rnn(E, H, layers, batch_first=True, bidirectional=bidirectional)
        self.decoder = torch.nn.Module()
        self.decoder.embedding = torch.nn.Embedding(V_TGT, E, padding_idx=0)
        if attention:
            att = self.decoder.attention = torch.nn.Module()
            att.query_proj = torch.nn.Linear(H, H, bias=False)
            att.key_proj = torch.nn.Linear(M, H)
            att.v = torch.nn.Linear(H, 1, bias=False)
        self.decoder.rnn = rnn(E + (M if attention else 0), H, layers, batch_first=True)
        self.decoder.out = torch.nn.Linear(H + (M if attention else 0), V_TGT)
        if bidirectional:
            self.bridge = torch.nn.ModuleList(
                [torch.nn.Linear(M, H) for _ in range(2 if self.lstm else 1)]
            )

    def forward(self, src, lengths, tgt_in):
        B, S = src.shape
        packed = t_pack(
            self.encoder.embedding(src), lengths, batch_first=True, enforce_sorted=False
        )
        out, state = self.encoder.rnn(packed)
        memory, _ = t_unpack(out, batch_first=True, total_length=S)
        parts = list(state) if self.lstm else [state]
        if self.D == 2:  # (L*2, B, H) -> (L, B, 2H), then the bridge
            parts = [p.view(self.L, 2, B, -1) for p in parts]
            parts = [torch.cat([p[:, 0], p[:, 1]], 2) for p in parts]
            parts = [torch.tanh(lin(p)) for lin, p in zip(self.bridge, parts, strict=True)]
        state = tuple(parts) if self.lstm else parts[0]
        y = self.decoder.embedding(tgt_in)
        if not self.use_attention:
            h, _ = self.decoder.rnn(y, state)
            return self.decoder.out(h), None
        att = self.decoder.attention
        keys = att.key_proj(memory)
        pad = torch.arange(S)[None, :] >= torch.as_tensor(lengths)[:, None]
        hs, cs, ws = [], [], []
        for t in range(tgt_in.shape[1]):
            query = (state[0] if self.lstm else state)[-1]
            scores = att.v(torch.tanh(keys + att.query_proj(query)[:, None])).squeeze(-1)
            w = torch.softmax(scores.masked_fill(pad, float("-inf")), dim=1)
            c = torch.bmm(w[:, None], memory)[:, 0]
            h, state = self.decoder.rnn(torch.cat([y[:, t], c], 1)[:, None], state)
            hs.append(h[:, 0])
            cs.append(c)
            ws.append(w)
        logits = self.decoder.out(torch.cat([torch.stack(hs, 1), torch.stack(cs, 1)], 2))
        return logits, torch.stack(ws, 1)


@pytest.mark.parametrize(
    "cell,bidirectional,attention,layers",
    [
        ("gru", True, True, 1),
        ("lstm", False, True, 2),
        ("gru", False, False, 2),
        ("lstm", True, False, 1),
    ],
)
def test_outputs_and_gradients_match_torch(cell, bidirectional, attention, layers):
    model = _model(cell, bidirectional, attention, layers)
    torch.manual_seed(0)
    twin = TorchSeq2Seq(cell, bidirectional, attention, layers)
    ours = model.state_dict()
    theirs = twin.state_dict()
    assert sorted(ours) == sorted(theirs)  # same keys: the twin's weights load unchanged
    model.load_state_dict({k: v.numpy() for k, v in theirs.items()})

    logits, weights = model(SRC, LENS, TGT_IN, return_attention=True)
    t_logits, t_weights = twin(
        torch.from_numpy(SRC), torch.from_numpy(LENS), torch.from_numpy(TGT_IN)
    )
    assert logits.shape == (3, 4, V_TGT)
    assert_close(logits, t_logits, rtol=1e-4, atol=1e-5)
    if attention:
        assert weights.shape == (3, 4, 5)
        assert_close(weights, t_weights, rtol=1e-4, atol=1e-6)
    else:
        assert weights is None

    loss = nn.CrossEntropyLoss(ignore_index=0)(
        logits.reshape(-1, V_TGT), ax.tensor(TGT_OUT.reshape(-1))
    )
    t_loss = torch.nn.functional.cross_entropy(
        t_logits.reshape(-1, V_TGT), torch.from_numpy(TGT_OUT.reshape(-1)), ignore_index=0
    )
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5)
    loss.backward()
    t_loss.backward()
    grads = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert_close(p.grad, grads[name].grad, rtol=1e-3, atol=1e-6, msg=name)
    assert np.abs(model.encoder.embedding.weight.grad.numpy()[3:]).sum() > 0  # reaches the source


# ----------------------------------------------------------------------------- padding, masks
def test_attention_weights_are_distributions_over_the_real_source():
    model = _model()
    _, w = model(SRC, LENS, TGT_IN, return_attention=True)
    w = w.detach().numpy()
    assert_close(w.sum(axis=2), np.ones((3, 4)))
    assert (w[padding_mask(LENS, 5)[:, None, :].repeat(4, axis=1)] == 0).all()
    assert (w[0] > 0).all()


@pytest.mark.parametrize("cell,reverse", [("gru", True), ("lstm", False)])
def test_padding_changes_nothing(cell, reverse):
    """Each row of a padded batch gives what it gives alone, unpadded."""
    model = _model(cell, bidirectional=True, attention=True, reverse=reverse)
    model.eval()
    with ax.no_grad():
        logits, w = model(SRC, LENS, TGT_IN, return_attention=True)
        for b, n in enumerate(LENS):
            alone, w_alone = model(
                SRC[b : b + 1, :n], [n], TGT_IN[b : b + 1], return_attention=True
            )
            assert_close(logits[b], alone[0], rtol=1e-5, atol=1e-6)
            assert_close(w[b, :, :n], w_alone[0], rtol=1e-5, atol=1e-7)
        extra = np.pad(SRC, ((0, 0), (0, 3)))  # more padding at the end
        assert_close(model(extra, LENS, TGT_IN), logits, rtol=1e-5, atol=1e-6)
        plain = _model(cell, attention=False, reverse=reverse)
        assert_close(plain(extra, LENS, TGT_IN), plain(SRC, LENS, TGT_IN), rtol=1e-5, atol=1e-6)


def test_source_reversal_reads_the_source_back_to_front():
    assert reverse_padded(SRC, LENS).tolist() == [[7, 6, 5, 4, 3], [4, 3, 8, 0, 0], [5, 5, 0, 0, 0]]
    flipped = _model(reverse=True)
    plain = _model(reverse=False)
    with ax.no_grad():
        a, w_a = flipped(SRC, LENS, TGT_IN, return_attention=True)
        b, w_b = plain(reverse_padded(SRC, LENS), LENS, TGT_IN, return_attention=True)
    assert_close(a, b)
    # the weights come back over the source as given: position j of the source is
    # position n - 1 - j of the reversed one
    for row, n in enumerate(LENS):
        assert_close(w_a[row, :, :n], w_b.numpy()[row, :, :n][:, ::-1])


def test_attend_with_precomputed_keys_is_the_attention_layer():
    dec = _model().decoder
    memory = ax.randn(3, 5, 12)
    query = ax.randn(3, 6)
    mask = ax.tensor(padding_mask(LENS, 5))
    context, w = dec.attend(query, dec.project_keys(memory), memory, mask)
    ref_context, ref_w = dec.attention(query, memory, key_padding_mask=mask)
    assert_close(context, ref_context)
    assert_close(w, ref_w)


# ----------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("cell,attention", [("gru", True), ("lstm", False), ("lstm", True)])
def test_step_protocol_reproduces_teacher_forcing_and_drives_the_searches(cell, attention):
    model = _model(cell, attention=attention, layers=2)
    model.eval()
    with ax.no_grad():
        expected = model(SRC, LENS, TGT_IN).log_softmax(-1).numpy()  # (B, T, V)
        state = model.init_state(SRC, LENS)
        assert isinstance(state, DecoderState) and state.h.shape == (3, 2, 6)
        assert (state.c is not None) == (cell == "lstm")
        assert (state.keys is not None) == attention
        for t in range(TGT_IN.shape[1]):
            log_probs, state = model.step(TGT_IN[:, t], state)
            assert_close(log_probs, expected[:, t], rtol=1e-5, atol=1e-5)
    ids, weights = model.greedy_decode(SRC, LENS, max_length=6)
    hyps = decoding.greedy_search(model.step, BOS, EOS, 6, state=model.init_state(SRC, LENS))
    for row, h in zip(ids.tolist(), hyps, strict=True):
        end = row.index(EOS) if EOS in row else len(row)
        assert row[:end] == h.tokens
    assert model.generate(SRC, LENS, max_length=6) == [h.tokens for h in hyps]
    assert (weights is not None) == attention
    beams = model.generate(SRC, LENS, max_length=6, beam_width=3)
    assert len(beams) == 3 and all(len(b) <= 6 for b in beams)
    # beam search returns the hypothesis the model scores best among those it found
    best = decoding.beam_search(
        model.step,
        BOS,
        EOS,
        6,
        beam_width=3,
        length_penalty=0.0,
        state=model.init_state(SRC[:1], LENS[:1]),
    )[0][0]
    assert best.log_prob >= hyps[0].log_prob - 1e-6
    index = np.array([2, 2, 0])
    with ax.no_grad():
        state = model.init_state(SRC, LENS)
    moved = model.reorder_state(state, index)
    assert_close(moved.memory, state.memory.numpy()[index])
    assert moved.mask.numpy().tolist() == padding_mask(LENS, 5)[index].tolist()


def test_a_tiny_model_learns_a_few_pairs_by_heart():
    pairs = [([3, 4, 5], [6, 7]), ([5, 3], [8, 9, 10]), ([4, 4, 6, 7], [7]), ([8], [10, 6, 9, 8])]
    src = np.zeros((4, 4), dtype=np.int64)
    tgt_in = np.zeros((4, 5), dtype=np.int64)
    tgt_out = np.zeros((4, 5), dtype=np.int64)
    for i, (s, t) in enumerate(pairs):
        src[i, : len(s)] = s
        tgt_in[i, : len(t) + 1] = [BOS, *t]
        tgt_out[i, : len(t) + 1] = [*t, EOS]
    lens = np.array([len(s) for s, _ in pairs])
    for attention in (False, True):
        model = _model(attention=attention, hidden=16)
        opt = optim.Adam(model.parameters(), lr=0.03)
        loss_fn = nn.CrossEntropyLoss(ignore_index=0)
        for _ in range(60):
            opt.zero_grad()
            loss = loss_fn(
                model(src, lens, tgt_in).reshape(-1, V_TGT), ax.tensor(tgt_out.reshape(-1))
            )
            loss.backward()
            opt.step()
        assert loss.item() < 0.05
        model.eval()
        assert model.generate(src, lens, max_length=6) == [t for _, t in pairs]


# ----------------------------------------------------------------------------- errors
def test_bad_configurations_and_inputs_raise():
    enc = Encoder(V_SRC, 5, 6, cell="gru")
    with pytest.raises(ValueError, match="cell must be one of"):
        Encoder(V_SRC, 5, 6, cell="rnn")
    with pytest.raises(ValueError, match="encoder cell 'gru' and decoder cell 'lstm'"):
        Seq2Seq(enc, Decoder(V_TGT, 5, 6, cell="lstm"), BOS, EOS)
    with pytest.raises(ValueError, match="encoder has 1 layers, decoder 2"):
        Seq2Seq(enc, Decoder(V_TGT, 5, 6, num_layers=2), BOS, EOS)
    with pytest.raises(ValueError, match="memory_size 12 != encoder output size 6"):
        Seq2Seq(enc, AttentionDecoder(V_TGT, 5, 6, memory_size=12), BOS, EOS)
    model = _model()
    with pytest.raises(ValueError, match=r"src must be a \(batch, length\) tensor"):
        model(SRC[0], LENS, TGT_IN)
    with pytest.raises(ValueError, match=r"src_lengths must have shape \(3,\)"):
        model(SRC, LENS[:2], TGT_IN)
    with pytest.raises(ValueError, match=r"src_lengths must lie in \[1, 5\]"):
        model(SRC, [6, 3, 2], TGT_IN)
    with pytest.raises(TypeError, match="memory_mask must be bool"):
        model.decoder(
            TGT_IN, ax.zeros(1, 3, 6), ax.zeros(3, 5, 12), np.zeros((3, 5), dtype=np.int64)
        )


def test_registered_in_the_zoo():
    model = models.get_model(
        "seq2seq", src_vocab_size=7, tgt_vocab_size=8, bos_index=1, eos_index=2, attention=False
    )
    assert isinstance(model, Seq2Seq) and not model.attention
    assert model.bridge is None  # same size, one direction: the state passes unchanged
    assert isinstance(_model().decoder, AttentionDecoder) and _model().attention
