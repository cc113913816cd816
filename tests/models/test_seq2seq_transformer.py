"""``axon.models.seq2seq.TransformerSeq2Seq``: outputs, gradients and cross-attention
weights against a torch twin with the same weights, padding and causality, the incremental
``step`` against teacher forcing and the searches it drives, and a tiny model that learns
a few pairs by heart."""

import math

import numpy as np
import pytest
import torch

import axon as ax
from axon import models, nn, optim
from axon.models import decoding
from axon.models.seq2seq import TransformerSeq2Seq, TransformerState, padding_mask
from tests.helpers import assert_close

V_SRC, V_TGT, BOS, EOS, D = 9, 11, 1, 2, 8
SRC = np.array([[3, 4, 5, 6, 7], [8, 3, 4, 0, 0], [5, 5, 0, 0, 0]])  # 0 = <pad>
LENS = np.array([5, 3, 2])
TGT_IN = np.array([[1, 4, 5, 6], [1, 7, 8, 0], [1, 9, 0, 0]])
TGT_OUT = np.array([[4, 5, 6, 2], [7, 8, 2, 0], [9, 2, 0, 0]])
TGT_LENS = np.array([4, 3, 2])

# torch's own note that its nested-tensor fast path is off for pre-norm layers
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")


def _model(norm_first=False, layers=2, dropout=0.0, d_model=D, seed=0):
    ax.manual_seed(seed)
    return TransformerSeq2Seq(
        V_SRC,
        V_TGT,
        BOS,
        EOS,
        d_model=d_model,
        nhead=2,
        num_encoder_layers=layers,
        num_decoder_layers=layers,
        dim_feedforward=16,
        dropout=dropout,
        max_len=12,
        norm_first=norm_first,
    )


class TorchTwin(torch.nn.Module):
    """The same model written directly in torch, with axon's module names."""

    def __init__(self, norm_first, layers=2):
        super().__init__()
        self.src_embedding = torch.nn.Embedding(V_SRC, D, padding_idx=0)
        self.tgt_embedding = torch.nn.Embedding(V_TGT, D, padding_idx=0)
        self.transformer = torch.nn.Transformer(
            D, 2, layers, layers, 16, 0.0, batch_first=True, norm_first=norm_first
        )
        self.out = torch.nn.Linear(D, V_TGT)
        pos = torch.arange(12, dtype=torch.float64)[:, None]
        angle = pos / 10000 ** (torch.arange(0, D, 2, dtype=torch.float64) / D)
        pe = torch.zeros(12, D, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
        self.pe = pe.float()

    def embed(self, emb, ids):
        return emb(ids) * math.sqrt(D) + self.pe[: ids.shape[1]]

    def forward(self, src, lengths, tgt_in):
        S, T = src.shape[1], tgt_in.shape[1]
        src_pad = torch.arange(S)[None, :] >= lengths[:, None]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        h = self.transformer(
            self.embed(self.src_embedding, src),
            self.embed(self.tgt_embedding, tgt_in),
            tgt_mask=causal,
            src_key_padding_mask=src_pad,
            tgt_key_padding_mask=tgt_in == 0,
            memory_key_padding_mask=src_pad,
        )
        return self.out(h)


def _twins(norm_first):
    model = _model(norm_first)
    torch.manual_seed(0)
    twin = TorchTwin(norm_first)
    theirs = twin.state_dict()
    assert sorted(model.state_dict()) == sorted(theirs)  # the twin's weights load unchanged
    model.load_state_dict({k: v.numpy() for k, v in theirs.items()})
    return model, twin


def _t(a):
    return torch.from_numpy(np.asarray(a))


# ----------------------------------------------------------------------------- torch twin
@pytest.mark.parametrize("norm_first", [False, True])
def test_outputs_and_gradients_match_torch(norm_first):
    model, twin = _twins(norm_first)
    logits = model(SRC, LENS, TGT_IN)
    t_logits = twin(_t(SRC), _t(LENS), _t(TGT_IN))
    assert logits.shape == (3, 4, V_TGT)
    real = TGT_IN != 0  # torch leaves padded target positions unspecified
    assert_close(
        logits.detach().numpy()[real], t_logits.detach().numpy()[real], rtol=1e-4, atol=1e-5
    )

    loss = nn.CrossEntropyLoss(ignore_index=0)(
        logits.reshape(-1, V_TGT), ax.tensor(TGT_OUT.reshape(-1))
    )
    t_loss = torch.nn.functional.cross_entropy(
        t_logits.reshape(-1, V_TGT), _t(TGT_OUT.reshape(-1)), ignore_index=0
    )
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5)
    loss.backward()
    t_loss.backward()
    grads = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert_close(p.grad, grads[name].grad, rtol=1e-3, atol=1e-5, msg=name)
    assert np.abs(model.src_embedding.weight.grad.numpy()[3:]).sum() > 0  # reaches the source
    assert not model.src_embedding.weight.grad.numpy()[0].any()  # the padding row learns nothing


@pytest.mark.parametrize("norm_first", [False, True])
def test_cross_attention_is_what_the_decoder_layers_use(norm_first):
    model, twin = _twins(norm_first)
    seen = {}
    for k, layer in enumerate(twin.transformer.decoder.layers):
        original = layer.multihead_attn.forward

        def spy(*args, _original=original, _k=k, **kwargs):
            kwargs["need_weights"] = True  # torch's layer asks for none: ask, and keep them
            out, w = _original(*args, **kwargs)
            seen[_k] = w.detach().numpy()
            return out, None

        layer.multihead_attn.forward = spy
    with torch.no_grad():
        twin(_t(SRC), _t(LENS), _t(TGT_IN))
    model.eval()
    for k in range(2):
        w = model.cross_attention(SRC, LENS, TGT_IN, layer=k)
        assert w.shape == (3, 4, 5)
        assert_close(w, seen[k], rtol=1e-4, atol=1e-6, msg=f"layer {k}")
        assert_close(w.sum(axis=2), np.ones((3, 4)))
        assert (w[np.broadcast_to(padding_mask(LENS, 5)[:, None, :], w.shape)] == 0).all()
    assert_close(model.cross_attention(SRC, LENS, TGT_IN), seen[1], rtol=1e-4, atol=1e-6)


def test_embeddings_start_at_unit_scale_with_zero_padding_rows():
    model = _model(d_model=64)
    w = model.tgt_embedding.weight.detach().numpy()
    assert not w[0].any()
    assert 0.8 < (w[1:] * math.sqrt(64)).std() < 1.2  # scaled by sqrt(d): about unit size


# ----------------------------------------------------------------------------- masks
def test_padding_changes_nothing():
    """Each row of a padded batch gives what it gives alone, unpadded (source and target)."""
    model = _model()
    model.eval()
    with ax.no_grad():
        logits = model(SRC, LENS, TGT_IN).numpy()
        for b, (n, m) in enumerate(zip(LENS, TGT_LENS, strict=True)):
            alone = model(SRC[b : b + 1, :n], [n], TGT_IN[b : b + 1, :m]).numpy()
            assert_close(logits[b, :m], alone[0], rtol=1e-4, atol=1e-5)
        extra = np.pad(SRC, ((0, 0), (0, 3)), constant_values=5)  # junk after each end
        assert_close(model(extra, LENS, TGT_IN), logits, rtol=1e-5, atol=1e-5)


def test_the_decoder_is_causal():
    model = _model()
    model.eval()
    with ax.no_grad():
        before = model(SRC, LENS, TGT_IN).numpy()
        changed = TGT_IN.copy()
        changed[:, 2] = 10
        after = model(SRC, LENS, changed).numpy()
    assert_close(after[:, :2], before[:, :2], rtol=1e-5, atol=1e-6)  # earlier: unchanged
    assert np.abs(after[0, 2] - before[0, 2]).max() > 1e-3  # position 2 reads its own token


# ----------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("norm_first", [False, True])
def test_step_protocol_reproduces_teacher_forcing_and_drives_the_searches(norm_first):
    model = _model(norm_first)
    model.eval()
    with ax.no_grad():
        expected = model(SRC, LENS, TGT_IN).log_softmax(-1).numpy()  # (B, T, V)
        state = model.init_state(SRC, LENS)
        assert isinstance(state, TransformerState) and state.memory.shape == (3, 5, D)
        assert [c.shape for c in state.inputs] == [(3, 0, D)] * 2
        for t in range(TGT_IN.shape[1]):
            log_probs, state = model.step(TGT_IN[:, t], state)
            real = t < TGT_LENS  # padded target rows differ (teacher forcing masks them)
            assert_close(log_probs.numpy()[real], expected[real, t], rtol=1e-4, atol=1e-5)
        assert [c.shape for c in state.inputs] == [(3, 4, D)] * 2

    hyps = decoding.greedy_search(model.step, BOS, EOS, 6, state=model.init_state(SRC, LENS))
    assert model.generate(SRC, LENS, max_length=6) == [h.tokens for h in hyps]
    beams = decoding.beam_search(
        model.step, BOS, EOS, 6, beam_width=1, length_penalty=0.0, state=model.init_state(SRC, LENS)
    )
    assert [b[0].tokens for b in beams] == [h.tokens for h in hyps]  # width 1 is greedy
    for row, h in enumerate(hyps):  # the log-prob the search reports is the model's
        score = decoding.score_sequence(
            model.step,
            BOS,
            h.tokens,
            model.init_state(SRC[row : row + 1], LENS[row : row + 1]),
            eos=EOS if h.finished else None,
        )
        assert score == pytest.approx(h.log_prob, abs=1e-4)
    wide = decoding.beam_search(
        model.step, BOS, EOS, 6, beam_width=4, length_penalty=0.0, state=model.init_state(SRC, LENS)
    )
    for b, h in zip(wide, hyps, strict=True):
        assert b[0].log_prob >= h.log_prob - 1e-5  # a wider beam finds at least as good
    assert len(model.generate(SRC, LENS, max_length=6, beam_width=3)) == 3

    index = np.array([2, 2, 0])
    with ax.no_grad():
        state = model.init_state(SRC, LENS)
        _, state = model.step(np.full(3, BOS), state)
    moved = model.reorder_state(state, index)
    assert_close(moved.memory, state.memory.numpy()[index])
    assert_close(moved.inputs[1], state.inputs[1].numpy()[index])
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
    model = _model(layers=1, d_model=16)
    opt = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)
    for _ in range(80):
        opt.zero_grad()
        loss = loss_fn(model(src, lens, tgt_in).reshape(-1, V_TGT), ax.tensor(tgt_out.reshape(-1)))
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    model.eval()
    assert model.generate(src, lens, max_length=6) == [t for _, t in pairs]
    assert model.generate(src, lens, max_length=6, beam_width=3) == [t for _, t in pairs]


# ----------------------------------------------------------------------------- errors
def test_bad_configurations_and_inputs_raise():
    with pytest.raises(ValueError, match="d_model=10 must be divisible by nhead=4"):
        TransformerSeq2Seq(V_SRC, V_TGT, BOS, EOS, d_model=10, nhead=4)
    model = _model()
    with pytest.raises(ValueError, match=r"src must be a \(batch, length\) tensor"):
        model(SRC[0], LENS, TGT_IN)
    with pytest.raises(ValueError, match=r"src_lengths must have shape \(3,\)"):
        model(SRC, LENS[:2], TGT_IN)
    with pytest.raises(ValueError, match="src has 13 positions .* max_len=12"):
        model(np.ones((1, 13), dtype=np.int64), [13], TGT_IN[:1])
    with pytest.raises(
        ValueError,
        match=r"tgt_in has 2 rows \(shape \(2, 4\)\) but the source "
        "has 3",
    ):
        model(SRC, LENS, TGT_IN[:2])
    state = model.init_state(SRC, LENS)
    long = state._replace(inputs=tuple(ax.zeros(3, 12, D) for _ in state.inputs))
    with pytest.raises(ValueError, match="cannot decode past max_len=12"):
        model.step(np.full(3, BOS), long)


def test_exported_from_the_zoo():
    assert models.TransformerSeq2Seq is TransformerSeq2Seq
    assert models.TransformerState is TransformerState
