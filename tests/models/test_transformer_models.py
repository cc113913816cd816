"""The Transformer language models of ``axon.models.transformer``: torch parity with
copied weights, causality, padding invariance, the masked-LM loss, BERT's masking rule,
and that tiny models can learn."""

import math

import numpy as np
import pytest
import torch

import axon as ax
from axon import optim
from axon.models.transformer import (
    IGNORE_INDEX,
    MaskedLM,
    TransformerClassifier,
    TransformerEncoderModel,
    TransformerLM,
    causal_mask,
    mask_tokens,
)
from tests.helpers import assert_close

V = 11


def torch_state(model) -> dict:
    return {k: torch.tensor(np.asarray(v.numpy())) for k, v in model.state_dict().items()}


def sinusoids(max_len: int, d: int) -> torch.Tensor:
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


def torch_encoder(d, nhead, layers, ff, norm_first=True):
    layer = torch.nn.TransformerEncoderLayer(
        d, nhead, ff, dropout=0.0, batch_first=True, norm_first=norm_first
    )
    return torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


# ----------------------------------------------------------------------------- TransformerLM
@pytest.mark.parametrize("norm_first", [True, False])
def test_lm_matches_torch_built_from_the_same_pieces(norm_first):
    model = TransformerLM(
        V,
        d_model=16,
        nhead=2,
        num_layers=2,
        dim_feedforward=24,
        dropout=0.0,
        max_len=12,
        norm_first=norm_first,
    )
    model.eval()
    emb, enc = torch.nn.Embedding(V, 16), torch_encoder(16, 2, 2, 24, norm_first)
    norm, head = torch.nn.LayerNorm(16), torch.nn.Linear(16, V)
    state = torch_state(model)
    emb.load_state_dict({"weight": state["token.weight"]})
    enc.load_state_dict(
        {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
    )
    norm.load_state_dict({"weight": state["norm.weight"], "bias": state["norm.bias"]})
    head.load_state_dict({"weight": state["head.weight"], "bias": state["head.bias"]})
    ids = np.random.default_rng(0).integers(0, V, (3, 9))
    t = torch.tensor(ids)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(9)
    expected = head(norm(enc(emb(t) + sinusoids(12, 16)[:9], mask=mask, is_causal=True)))
    assert_close(model(ids).detach().numpy(), expected.detach().numpy(), atol=2e-5, rtol=1e-4)


def test_lm_shapes_and_bad_input():
    model = TransformerLM(V, d_model=8, nhead=2, num_layers=1, dim_feedforward=16, max_len=6)
    assert model(np.zeros((2, 6), dtype=np.int64)).shape == (2, 6, V)
    with pytest.raises(ValueError, match=r"7 tokens .*max_len=6"):
        model(np.zeros((1, 7), dtype=np.int64))
    with pytest.raises(ValueError, match="integer token ids"):
        model(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(batch, length\)"):
        model(np.zeros(5, dtype=np.int64))


def test_changing_a_future_token_never_changes_earlier_logits():
    model = TransformerLM(
        V, d_model=16, nhead=4, num_layers=2, dim_feedforward=32, dropout=0.0, max_len=10
    )
    ids = np.random.default_rng(1).integers(0, V, (2, 10))
    base = model(ids).detach().numpy()
    for t in (0, 4, 9):
        changed = ids.copy()
        changed[:, t] = (changed[:, t] + 1) % V
        out = model(changed).detach().numpy()
        np.testing.assert_array_equal(out[:, :t], base[:, :t])  # the past is untouched
        assert np.abs(out[:, t:] - base[:, t:]).max() > 1e-4  # the token itself matters


def test_lm_attention_maps_are_causal_distributions():
    model = TransformerLM(V, d_model=8, nhead=2, num_layers=3, dim_feedforward=16, max_len=7)
    maps = model.attention_maps(np.arange(7)[None] % V)
    assert len(maps) == 3 and all(m.shape == (1, 2, 7, 7) for m in maps)
    for m in maps:
        assert_close(m.sum(-1), np.ones((1, 2, 7)), atol=1e-5)
        assert (m[..., causal_mask(7)] == 0).all()
    assert model.training  # the mode is restored


def test_causal_mask():
    np.testing.assert_array_equal(
        causal_mask(3), [[False, True, True], [False, False, True], [False, False, False]]
    )


# ----------------------------------------------------------------------------- BERT-style
def small_encoder(**kw) -> TransformerEncoderModel:
    args = dict(d_model=16, nhead=2, num_layers=2, dim_feedforward=24, dropout=0.0, max_len=10)
    args.update(kw)
    return TransformerEncoderModel(V, **args)


def test_encoder_matches_torch_at_the_real_positions():
    model = small_encoder()
    state = torch_state(model)
    enc = torch_encoder(16, 2, 2, 24)
    enc.load_state_dict(
        {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
    )
    norm = torch.nn.LayerNorm(16)
    norm.load_state_dict({"weight": state["norm.weight"], "bias": state["norm.bias"]})
    ids = np.array([[3, 4, 5, 6, 7, 8], [9, 3, 4, 0, 0, 0]])  # 0 = padding
    x = (
        torch.nn.functional.embedding(torch.tensor(ids), state["token.weight"])
        + state["pos.embedding.weight"][:6]
    )
    expected = norm(enc(x, src_key_padding_mask=torch.tensor(ids == 0))).detach().numpy()
    got = model(ids).detach().numpy()
    real = ids != 0
    assert_close(got[real], expected[real], atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_padding_does_not_change_the_classification(pooling):
    clf = TransformerClassifier(small_encoder(), num_classes=3, pooling=pooling, dropout=0.0)
    short = np.array([[4, 5, 6]])
    padded = np.array([[4, 5, 6, 0, 0, 0, 0]])
    batch = np.array([[4, 5, 6, 0, 0], [7, 8, 9, 10, 1]])  # beside a longer sentence
    a, b, c = clf(short).detach().numpy(), clf(padded).detach().numpy(), clf(batch).detach().numpy()
    assert a.shape == (1, 3) and c.shape == (2, 3)
    assert_close(b, a, atol=1e-5)
    assert_close(c[:1], a, atol=1e-5)
    hidden = clf.encoder(padded).detach().numpy()[:, :3]
    assert_close(hidden, clf.encoder(short).detach().numpy(), atol=1e-5)


def test_explicit_padding_mask_and_its_checks():
    enc = small_encoder(pad_index=1)  # a padding id other than 0
    ids = np.array([[4, 5, 1, 1]])
    assert_close(enc(ids).detach().numpy(), enc(ids, ids == 1).detach().numpy())
    np.testing.assert_array_equal(enc.padding_mask(ids), ids == 1)
    with pytest.raises(ValueError, match=r"bool array of the ids' shape \(1, 4\)"):
        enc(ids, np.zeros((1, 3), dtype=bool))
    with pytest.raises(ValueError, match="pooling must be"):
        TransformerClassifier(enc, pooling="max")


def test_encoder_attention_maps_give_padding_no_weight():
    enc = small_encoder()
    enc.train()
    maps = enc.attention_maps(np.array([[3, 4, 5, 0, 0]]))
    assert len(maps) == 2 and maps[0].shape == (1, 2, 5, 5)
    for m in maps:
        assert_close(m.sum(-1), np.ones((1, 2, 5)), atol=1e-5)
        assert (m[..., 3:] == 0).all()
    assert enc.training


def test_masked_lm_loss_is_the_cross_entropy_at_the_masked_positions():
    mlm = MaskedLM(small_encoder())
    assert mlm.decoder.weight is mlm.encoder.token.weight  # tied
    ids = np.array([[3, 4, 5, 6, 0], [7, 8, 9, 10, 3]])
    targets = np.full_like(ids, IGNORE_INDEX)
    targets[0, 1], targets[1, 4] = 9, 2
    logits = mlm(ids).detach().numpy().astype(np.float64)  # (2, 5, V)
    assert logits.shape == (2, 5, V)
    rows = [logits[0, 1], logits[1, 4]]
    expected = np.mean([np.log(np.exp(r).sum()) - r[t] for r, t in zip(rows, (9, 2), strict=True)])
    loss = mlm.loss(ids, targets)
    assert_close(loss.item(), expected, atol=1e-5)
    loss.backward()
    assert np.abs(mlm.encoder.token.weight.grad.numpy()).sum() > 0
    with pytest.raises(ValueError, match="no position is masked"):
        mlm.loss(ids, np.full_like(ids, IGNORE_INDEX))
    with pytest.raises(ValueError, match=r"targets of shape \(2, 4\)"):
        mlm.loss(ids, targets[:, :4])


# ----------------------------------------------------------------------------- mask_tokens
def test_mask_tokens_follows_berts_80_10_10_rule():
    rng = np.random.default_rng(0)
    ids = rng.integers(3, 50, (400, 50))
    ids[:, -5:] = 0  # padding, never chosen
    inputs, targets = mask_tokens(
        ids, mask_id=2, vocab_size=50, p=0.15, rng=rng, special_ids=(0, 1)
    )
    chosen = targets != IGNORE_INDEX
    assert not chosen[:, -5:].any()
    np.testing.assert_array_equal(targets[chosen], ids[chosen])
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])  # the rest untouched
    assert abs(chosen[:, :-5].mean() - 0.15) < 0.01
    masked = (inputs[chosen] == 2).mean()
    kept = (inputs[chosen] == ids[chosen]).mean()
    swapped = 1 - masked - kept
    assert abs(masked - 0.8) < 0.02 and abs(kept - 0.1) < 0.015 and abs(swapped - 0.1) < 0.015
    assert not np.isin(inputs[chosen & (inputs != 2)], [0, 1]).any()  # no special inserted


def test_mask_tokens_is_reproducible_and_checks_its_input():
    ids = np.arange(3, 40).reshape(1, -1)
    a = mask_tokens(ids, 2, 40, 0.5, np.random.default_rng(5))
    b = mask_tokens(ax.tensor(ids), 2, 40, 0.5, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].dtype == np.int64 and a[1].dtype == np.int64
    none, targets = mask_tokens(ids, 2, 40, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(none, ids)
    assert (targets == IGNORE_INDEX).all()
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        mask_tokens(ids, 2, 40, 1.5)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 30\)"):
        mask_tokens(ids, 2, 30)


# ----------------------------------------------------------------------------- learning
def test_a_tiny_lm_memorises_a_sequence():
    ax.manual_seed(0)
    model = TransformerLM(
        V, d_model=16, nhead=2, num_layers=1, dim_feedforward=32, dropout=0.0, max_len=12
    )
    seq = np.array([[1, 5, 2, 7, 3, 9, 4, 6, 8, 10, 0, 5, 1]])
    x, y = ax.tensor(seq[:, :-1]), ax.tensor(seq[:, 1:].reshape(-1))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        opt.zero_grad()
        loss = ax.nn.functional.cross_entropy(model(x).reshape(-1, V), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (model(x).detach().numpy()[0].argmax(-1) == seq[0, 1:]).all()


def test_a_tiny_classifier_fits_its_training_set():
    ax.manual_seed(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, V, (16, 6))
    ids[::2, 3:] = 0  # half the sentences padded
    labels = rng.integers(0, 2, 16)
    clf = TransformerClassifier(small_encoder(), num_classes=2, dropout=0.0)
    opt = optim.Adam(clf.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = ax.nn.functional.cross_entropy(clf(ids), ax.tensor(labels))
        loss.backward()
        opt.step()
    assert (clf(ids).detach().numpy().argmax(1) == labels).all()


def test_registered_in_the_zoo():
    from axon import models

    assert isinstance(models.get_model("transformer_lm", vocab_size=5, num_layers=1), TransformerLM)
    enc = models.get_model("transformer_encoder", vocab_size=5, num_layers=1)
    assert isinstance(enc, TransformerEncoderModel)
