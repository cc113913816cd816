"""The fused ops of the layers (normalisations, embedding lookups and bags, attention, the
recurrent sequences, packed or not) and their functional forms on the strict test backend:
outputs and gradients bit for bit the CPU's (float64), so no path calls NumPy on its arrays.

The losses and activations are checked on strict by their parity tests
(``AXON_PARITY_DEVICES=cpu,strict``); these ops' own tests compare with torch on the CPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import axon as ax
import axon.nn.functional as F
from axon import nn
from tests.backend.strict import STRICT  # noqa: F401  (registers the strict backend)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 3, 5))
QKV = [RNG.normal(size=(2, 3, 4, 8)) for _ in range(3)]


def _seeded(seed, fn):
    def run(*xs):
        ax.manual_seed(seed)
        return fn(*xs)

    return run


def _recurrent(cell: str, packed: bool):
    def run(x):
        ax.manual_seed(0)
        m = getattr(nn, cell)(5, 6, num_layers=2, bidirectional=True).double().to(x.device)
        if not packed:
            return m(x)[0]
        p = nn.utils.rnn.pack_padded_sequence(x, [7, 5, 2])
        return nn.utils.rnn.pad_packed_sequence(m(p)[0])[0]

    return run, [RNG.normal(size=(7, 3, 5))], ()


def _mha(x):
    m = nn.MultiheadAttention(8, 2, batch_first=True).double().to(x.device)
    out, weights = m(x, x, x)
    return out.sum() + weights.sum()


def _encoder_layer(x):
    m = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    mask = nn.Transformer.generate_square_subsequent_mask(4, device=x.device, dtype=ax.float64)
    return m.double().to(x.device)(x, src_mask=mask)


# name -> (function of tensors, input arrays, indices of the integer inputs)
CASES = {
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (5,), w, b),
        [X, RNG.normal(size=5), RNG.normal(size=5)],
        (),
    ),
    "group_norm": (
        lambda x, w, b: F.group_norm(x, 3, w, b),
        [X, RNG.normal(size=3), RNG.normal(size=3)],
        (),
    ),
    "batch_norm_train": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
        [X, RNG.normal(size=3), RNG.normal(size=3)],
        (),
    ),
    "batch_norm_eval": (
        lambda x, rm, rv: F.batch_norm(x, rm.detach(), rv.detach(), None, None, False),
        [X, RNG.normal(size=3), RNG.uniform(0.5, 2, size=3)],
        (),
    ),
    "instance_norm": (F.instance_norm, [X], ()),
    "rms_norm": (lambda x: F.rms_norm(x, (5,)), [X], ()),
    "embedding": (
        lambda w, i: F.embedding(i, w, padding_idx=1, scale_grad_by_freq=True),
        [RNG.normal(size=(7, 4)), RNG.integers(0, 7, (3, 5))],
        (1,),
    ),
    "embedding_scatter": (  # a table too big for the one-hot product
        lambda w, i: F.embedding(i, w),
        [RNG.normal(size=(700, 4)), RNG.integers(0, 700, (3, 5))],
        (1,),
    ),
    "embedding_max_norm": (
        lambda w, i: F.embedding(i, w.detach() * 1, max_norm=1.0) * w,
        [RNG.normal(size=(7, 4)), RNG.integers(0, 7, (7,))],
        (1,),
    ),
    "embedding_bag_mean": (
        lambda w, i, o: F.embedding_bag(i, w, o, mode="mean"),
        [RNG.normal(size=(7, 4)), RNG.integers(0, 7, 9), np.array([0, 3, 3, 5])],
        (1, 2),
    ),
    "embedding_bag_max": (
        lambda w, i, o: F.embedding_bag(i, w, o, mode="max"),
        [RNG.normal(size=(7, 4)), RNG.integers(0, 7, 9), np.array([0, 3, 4, 5])],
        (1, 2),
    ),
    "sdpa": (F.scaled_dot_product_attention, QKV, ()),
    "sdpa_causal": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        QKV,
        (),
    ),
    "sdpa_bool_mask": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=np.tri(4, 4, dtype=bool)),
        QKV,
        (),
    ),
    "sdpa_dropout": (
        _seeded(3, lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)),
        QKV,
        (),
    ),
    "MultiheadAttention": (_seeded(0, _mha), [RNG.normal(size=(2, 4, 8))], ()),
    "TransformerEncoderLayer": (_seeded(0, _encoder_layer), [RNG.normal(size=(2, 4, 8))], ()),
    **{
        f"{cell}{'_packed' if packed else ''}": _recurrent(cell, packed)
        for cell in ("RNN", "LSTM", "GRU")
        for packed in (False, True)
    },
    "gumbel_softmax_hard": (_seeded(1, lambda x: F.gumbel_softmax(x, hard=True)), [X], ()),
    "alpha_dropout": (_seeded(1, lambda x: F.alpha_dropout(x, 0.3, True)), [X], ()),
    "rrelu": (_seeded(1, lambda x: F.rrelu(x, training=True)), [X], ()),
    "one_hot": (
        lambda x, i: x * F.one_hot(i, 4),
        [RNG.normal(size=(3, 4)), RNG.integers(0, 4, 3)],
        (1,),
    ),
    "weight_elimination": (
        lambda a, b: nn.regularizers.weight_elimination([a, b], lam=0.1, beta=0.5),
        [RNG.normal(size=(3, 4)), RNG.normal(size=5)],
        (),
    ),
}


def _run(device: str, fn, arrays, ints):
    ins = [ax.tensor(a, device=device).requires_grad_(i not in ints) for i, a in enumerate(arrays)]
    out = fn(*ins)
    out.backward(ax.ones(out.shape, dtype=out.dtype, device=device))
    assert out.device.type == device
    grads = [None if t.grad is None else t.grad.cpu().numpy() for t in ins]
    return out.detach().cpu().numpy(), grads


@pytest.mark.parametrize("name", CASES)
def test_fused_op_on_strict_gives_the_cpus_bits(name):
    fn, arrays, ints = CASES[name]
    out_cpu, grads_cpu = _run("cpu", fn, arrays, ints)
    out_strict, grads_strict = _run("strict", fn, arrays, ints)
    np.testing.assert_array_equal(out_strict, out_cpu)
    for i, (gs, gc) in enumerate(zip(grads_strict, grads_cpu, strict=True)):
        assert (gs is None) == (gc is None), f"input {i}"
        if gc is not None:
            np.testing.assert_array_equal(gs, gc, err_msg=f"gradient of input {i}")
