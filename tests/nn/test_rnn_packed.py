"""Variable-length batches: ``pad_sequence``, ``pack_padded_sequence``,
``pad_packed_sequence`` (and friends) against PyTorch, and the recurrent layers on packed
batches: outputs, final states and ALL gradients (input and initial states included)
against torch; padded steps change neither outputs nor gradients; each sequence of a
packed batch gives what it gives alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as trnn

import axon as ax
from axon import nn
from axon.nn.utils import rnn as arnn
from tests.helpers import assert_close

TOL = dict(rtol=1e-10, atol=1e-12)
I, H = 3, 4


def t_and_a(x: np.ndarray):
    return torch.tensor(x, requires_grad=True), ax.tensor(x, requires_grad=True)


# ------------------------------------------------------------------ the utilities


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted, lengths", [(True, [5, 3, 3, 1]), (False, [2, 5, 1, 4])])
def test_pack_and_pad_match_torch(batch_first, enforce_sorted, lengths):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 2) if batch_first else (6, 4, 2))  # padded to 6 > max
    tx, axx = t_and_a(x)
    tp = trnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    ap = arnn.pack_padded_sequence(axx, ax.tensor(lengths), batch_first, enforce_sorted)
    assert isinstance(ap, arnn.PackedSequence)
    assert_close(ap.data, tp.data, rtol=0, atol=0)
    assert ap.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert ap.batch_sizes.dtype == np.int64
    for a, t in (
        (ap.sorted_indices, tp.sorted_indices),
        (ap.unsorted_indices, tp.unsorted_indices),
    ):
        assert (a is None) == (t is None)
        if t is not None:
            assert a.tolist() == t.tolist()
    tpad, tlen = trnn.pad_packed_sequence(tp, batch_first, padding_value=-1.0, total_length=7)
    apad, alen = arnn.pad_packed_sequence(ap, batch_first, padding_value=-1.0, total_length=7)
    assert_close(apad, tpad, rtol=0, atol=0)
    assert alen.tolist() == tlen.tolist() == lengths
    # gradients flow back through pack and pad to the padded input (0 at padded steps)
    w = rng.standard_normal(tpad.shape)
    (tpad * torch.tensor(w)).sum().backward()
    (apad * ax.tensor(w)).sum().backward()
    assert_close(axx.grad, tx.grad, rtol=0, atol=0)


def test_pad_packed_default_length_and_errors():
    ap = arnn.pack_padded_sequence(ax.randn(5, 3, 2), [4, 2, 1])
    padded, lengths = arnn.pad_packed_sequence(ap)
    assert padded.shape == (4, 3, 2) and lengths.tolist() == [4, 2, 1]
    with pytest.raises(ValueError, match="total_length=3 and max sequence length being 4"):
        arnn.pad_packed_sequence(ap, total_length=3)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        arnn.pack_padded_sequence(ax.randn(5, 3, 2), [2, 4, 1])
    with pytest.raises(RuntimeError, match="greater than 0"):
        arnn.pack_padded_sequence(ax.randn(5, 3, 2), [4, 2, 0])
    with pytest.raises(RuntimeError, match="exceeds the padded length 5"):
        arnn.pack_padded_sequence(ax.randn(5, 3, 2), [6, 2, 1])
    with pytest.raises(RuntimeError, match=r"len\(lengths\)"):
        arnn.pack_padded_sequence(ax.randn(5, 3, 2), [4, 2])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, padding_side):
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((n, 2, 3)) for n in (3, 5, 1)]
    ts = [torch.tensor(s, requires_grad=True) for s in seqs]
    as_ = [ax.tensor(s, requires_grad=True) for s in seqs]
    t = trnn.pad_sequence(ts, batch_first, 7.0, padding_side)
    a = arnn.pad_sequence(as_, batch_first, 7.0, padding_side)
    assert_close(a, t, rtol=0, atol=0)
    w = rng.standard_normal(t.shape)
    (t * torch.tensor(w)).sum().backward()
    (a * ax.tensor(w)).sum().backward()
    for x, y in zip(as_, ts, strict=True):
        assert_close(x.grad, y.grad, rtol=0, atol=0)


def test_pack_sequence_roundtrip_matches_torch():
    rng = np.random.default_rng(2)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 3)]
    tp = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    ap = arnn.pack_sequence([ax.tensor(s) for s in seqs], enforce_sorted=False)
    assert_close(ap.data, tp.data, rtol=0, atol=0)
    back = arnn.unpack_sequence(ap)
    for a, s in zip(back, seqs, strict=True):
        assert_close(a, s, rtol=0, atol=0)
    assert arnn.invert_permutation(ax.tensor([2, 0, 1])).tolist() == [1, 2, 0]


# ------------------------------------------------------------------ layers on packed input


def make_pair(kind: str, **kw):
    tm = getattr(torch.nn, kind)(I, H, dtype=torch.float64, **kw)
    am = getattr(nn, kind)(I, H, dtype=np.float64, **kw)
    am.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, am


def as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, tuple | list) else (x,)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_packed_layer_matches_torch(kind, num_layers, bidirectional, enforce_sorted, with_state):
    tm, am = make_pair(kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=True)
    lengths = [6, 4, 4, 1] if enforce_sorted else [3, 6, 1, 4]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, I))
    tx, axx = t_and_a(x)
    D = 2 if bidirectional else 1
    lstm = kind == "LSTM"
    pairs = (
        [t_and_a(rng.standard_normal((D * num_layers, 4, H))) for _ in range(2 if lstm else 1)]
        if with_state
        else []
    )
    ts, as_ = [p[0] for p in pairs], [p[1] for p in pairs]

    def hx(ss):
        return (tuple(ss) if lstm else ss[0]) if ss else None

    t_out, t_fin = tm(trnn.pack_padded_sequence(tx, lengths, True, enforce_sorted), hx(ts))
    a_out, a_fin = am(arnn.pack_padded_sequence(axx, lengths, True, enforce_sorted), hx(as_))
    assert isinstance(a_out, arnn.PackedSequence)
    assert_close(a_out.data, t_out.data, **TOL, msg="packed output")
    t_pad, _ = trnn.pad_packed_sequence(t_out, batch_first=True)
    a_pad, a_len = arnn.pad_packed_sequence(a_out, batch_first=True)
    assert a_len.tolist() == lengths
    t_fin, a_fin = as_tuple(t_fin), as_tuple(a_fin)
    ws = [rng.standard_normal(t.shape) for t in (t_pad, *t_fin)]
    sum((t * torch.tensor(w)).sum() for t, w in zip((t_pad, *t_fin), ws, strict=True)).backward()
    sum((a * ax.tensor(w)).sum() for a, w in zip((a_pad, *a_fin), ws, strict=True)).backward()
    assert_close(a_pad, t_pad, **TOL, msg="padded output")
    for k, (a, t) in enumerate(zip(a_fin, t_fin, strict=True)):
        assert_close(a, t, **TOL, msg=f"final state {k}")
    assert_close(axx.grad, tx.grad, **TOL, msg="input grad")
    for k, (a, t) in enumerate(zip(as_, ts, strict=True)):
        assert_close(a.grad, t.grad, **TOL, msg=f"initial state {k} grad")
    t_params = dict(tm.named_parameters())
    for name, p in am.named_parameters():
        assert_close(p.grad, t_params[name].grad, **TOL, msg=f"grad of {name}")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_padded_steps_change_nothing(kind):
    """Garbage at padded steps: same outputs and gradients as zeros there; and every
    sequence of the packed batch gives exactly what it gives run alone."""
    _, m = make_pair(kind, num_layers=2, bidirectional=True)
    lengths = [5, 3, 2]
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3, I))
    real = np.arange(5)[:, None] < np.array(lengths)[None, :]  # (L, N)
    results = []
    for fill in (0.0, 1e3):
        m.zero_grad()
        xs = np.where(real[..., None], x, fill)
        xt = ax.tensor(xs, requires_grad=True)
        out, fin = m(arnn.pack_padded_sequence(xt, lengths))
        pad, _ = arnn.pad_packed_sequence(out)
        (pad**2).sum().add(sum((f**2).sum() for f in as_tuple(fin))).backward()
        grads = [p.grad.numpy().copy() for p in m.parameters()]
        assert (xt.grad.numpy()[~real] == 0).all()
        results.append(
            (
                pad.detach().numpy(),
                [f.detach().numpy() for f in as_tuple(fin)],
                xt.grad.numpy(),
                grads,
            )
        )
    (p0, f0, gx0, gw0), (p1, f1, gx1, gw1) = results
    assert_close(p1, p0, rtol=0, atol=0)
    assert (p0[~real] == 0).all()  # outputs at padded steps are 0
    for a, b in zip(f1 + [gx1] + gw1, f0 + [gx0] + gw0, strict=True):
        assert_close(a, b, rtol=0, atol=0)
    for b, n in enumerate(lengths):  # each sequence alone, unbatched
        alone_out, alone_fin = m(ax.tensor(x[:n, b]))
        assert_close(p0[:n, b], alone_out, **TOL)
        for f, fa in zip(f0, as_tuple(alone_fin), strict=True):
            assert_close(f[:, b], fa, **TOL)


def test_packed_input_errors():
    m = nn.GRU(I, H)
    packed = arnn.pack_padded_sequence(ax.randn(4, 2, 5), [4, 2])
    with pytest.raises(RuntimeError, match="Expected 3, got 5"):
        m(packed)
    packed = arnn.pack_padded_sequence(ax.randn(4, 2, I), [4, 2])
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        m(packed, ax.zeros(1, 3, H))
