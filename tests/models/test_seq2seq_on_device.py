"""The encoder-decoders on a device: a Seq2Seq (GRU and LSTM, with and without attention,
reversed sources) and a TransformerSeq2Seq moved to the tests' strict device (arrays that
refuse NumPy) give the CPU's numbers, in float64, for teacher forcing, gradients, greedy
decoding with attention maps, greedy and beam-search generation, and cross-attention: host
token ids, lengths and masks follow the model, and the search's bookkeeping reads the
scores back on the host."""

from __future__ import annotations

import numpy as np
import pytest

import axon as ax
import tests.backend.strict  # noqa: F401  (registers the device type "strict")
from axon.models.seq2seq import TransformerSeq2Seq, seq2seq
from tests.helpers import assert_close

SRC = np.array([[5, 6, 7, 2, 0], [8, 3, 2, 0, 0], [4, 4, 9, 6, 2]])
LENGTHS = np.array([4, 3, 5])
TGT_IN = np.array([[1, 5, 6, 7], [1, 3, 9, 0], [1, 4, 4, 8]])

RNN_MODELS = {
    "gru attention reversed": {"cell": "gru", "attention": True, "reverse_source": True},
    "lstm plain bidirectional": {"cell": "lstm", "attention": False, "bidirectional": True},
}


def _build(kind: str):
    ax.manual_seed(0)
    if kind == "transformer":
        sizes = {"num_encoder_layers": 1, "num_decoder_layers": 1, "dim_feedforward": 32}
        model = TransformerSeq2Seq(10, 10, 1, 2, d_model=16, nhead=2, dropout=0.0, **sizes)
    else:
        model = seq2seq(10, 10, 1, 2, embedding_dim=8, hidden_size=12, **RNN_MODELS[kind])
    return model.double().eval()


def _run(kind: str, device: str) -> dict:
    model = _build(kind).to(device)
    found = {}
    logits = model(SRC, LENGTHS, TGT_IN)
    assert logits.device.type == device
    loss = (logits * logits).mean()
    loss.backward()
    found["logits"] = logits.detach().cpu().numpy()
    found["grads"] = [p.grad.cpu().numpy() for p in model.parameters() if p.grad is not None]
    found["greedy"] = model.generate(SRC, LENGTHS, max_length=6)
    found["beam"] = model.generate(SRC, LENGTHS, max_length=6, beam_width=3)
    if kind == "transformer":
        found["cross"] = model.cross_attention(SRC, LENGTHS, TGT_IN)
    else:
        ids, weights = model.greedy_decode(SRC, LENGTHS, max_length=6)
        found["greedy_ids"] = ids
        if weights is not None:
            found["weights"] = weights
    return found


@pytest.mark.parametrize("kind", [*RNN_MODELS, "transformer"])
def test_encoder_decoders_on_a_device_give_the_cpu_s_numbers(kind):
    cpu, dev = _run(kind, "cpu"), _run(kind, "strict")
    assert cpu.keys() == dev.keys()
    assert_close(dev["logits"], cpu["logits"], rtol=1e-12, atol=0)
    for a, b in zip(dev["grads"], cpu["grads"], strict=True):
        assert_close(a, b, rtol=1e-10, atol=1e-14)
    assert dev["greedy"] == cpu["greedy"] and dev["beam"] == cpu["beam"]
    assert any(len(seq) for seq in cpu["beam"])  # something was decoded
    for key in ("greedy_ids", "weights", "cross"):
        if key in cpu:
            assert isinstance(dev[key], np.ndarray)
            assert_close(dev[key], cpu[key], rtol=1e-12, atol=0)


def _bert_parts(device: str) -> dict:
    """A masked LM's loss and a mean-pooling classifier's scores on ``device``, from host
    ids, targets and a given padding mask, with their gradients and attention maps."""
    from axon.models.transformer import (
        IGNORE_INDEX,
        MaskedLM,
        TransformerClassifier,
        TransformerEncoderModel,
        TransformerLM,
    )

    ax.manual_seed(1)
    encoder = TransformerEncoderModel(12, d_model=16, nhead=2, num_layers=1, dim_feedforward=32,
                                      dropout=0.0, max_len=8)  # fmt: skip
    mlm, clf = MaskedLM(encoder), TransformerClassifier(encoder, 3, dropout=0.0)
    lm = TransformerLM(12, d_model=16, nhead=2, num_layers=1, dim_feedforward=32, dropout=0.0)
    for m in (mlm, clf, lm):
        m.double().to(device)
    ids = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 10]])
    targets = np.full(ids.shape, IGNORE_INDEX)
    targets[0, 1], targets[1, 3] = 7, 2
    loss = mlm.loss(ids, targets) + clf(ids).sum() + clf(ids, key_padding_mask=ids == 0).sum()
    loss = loss + lm(ids).logsumexp(-1).mean()
    loss.backward()
    return {
        "loss": float(loss),
        "grads": [p.grad.cpu().numpy() for p in (*mlm.parameters(), *lm.parameters())],
        "maps": encoder.attention_maps(ids) + lm.attention_maps(ids),
    }


def test_transformer_models_on_a_device_give_the_cpu_s_numbers():
    cpu, dev = _bert_parts("cpu"), _bert_parts("strict")
    assert dev["loss"] == pytest.approx(cpu["loss"], rel=1e-12)
    for a, b in zip(dev["grads"], cpu["grads"], strict=True):
        assert_close(a, b, rtol=1e-10, atol=1e-14)
    for a, b in zip(dev["maps"], cpu["maps"], strict=True):
        assert isinstance(a, np.ndarray)
        assert_close(a, b, rtol=1e-12, atol=0)
