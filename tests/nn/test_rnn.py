"""Recurrent layers against PyTorch 2.13 and against their own reference.

- ``RNN`` / ``LSTM`` / ``GRU``: every layer type x num_layers {1, 2} x bidirectional x
  batch_first x with/without initial state, outputs, final states and ALL gradients
  (input, initial states, every weight), float64 tight and float32 loose; unbatched
  input; ``dropout``; state-dict keys; repr; errors naming the shapes.
- The cells against torch's cells.
- The fused sequence ops against a Python loop over the cells with the same weights (the
  readable reference), and a float64 ``gradcheck`` of each fused op.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from axon.autograd.ops.rnn import GRUSeq, LSTMSeq, RNNSeq
from tests.helpers import assert_close

KINDS = ["RNN", "RNN-relu", "LSTM", "GRU"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}
I, H, L, N = 3, 4, 5, 2


def make_pair(kind: str, dtype=np.float64, **kw):
    """(torch module, axon module) of ``kind`` with the same weights (torch's, copied)."""
    name = kind.split("-")[0]
    if kind.endswith("relu"):
        kw["nonlinearity"] = "relu"
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    tm = getattr(torch.nn, name)(I, H, dtype=tdt, **kw)
    am = getattr(nn, name)(I, H, dtype=dtype, **kw)
    am.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, am


def as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, tuple | list) else (x,)


def compare(
    tm, am, x: np.ndarray, states: list[np.ndarray] | None, lstm: bool, tol: dict, seed: int = 1
) -> None:
    """Run both modules on ``x`` (and initial ``states``), back-propagate the same random
    weighting of the output and the final states, compare everything."""
    tx, axx = torch.tensor(x, requires_grad=True), ax.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states or []]
    as_ = [ax.tensor(s, requires_grad=True) for s in states or []]

    def hx(ss):
        if not ss:
            return None
        return tuple(ss) if lstm else ss[0]

    t_out, t_fin = tm(tx, hx(ts))
    a_out, a_fin = am(axx, hx(as_))
    t_fin, a_fin = as_tuple(t_fin), as_tuple(a_fin)
    assert len(a_fin) == (2 if lstm else 1)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(t.shape) for t in (t_out, *t_fin)]
    t_loss = sum(
        (t * torch.tensor(w, dtype=t.dtype)).sum()
        for t, w in zip((t_out, *t_fin), weights, strict=True)
    )
    a_loss = sum(
        (a * ax.tensor(w, dtype=a.dtype)).sum()
        for a, w in zip((a_out, *a_fin), weights, strict=True)
    )
    t_loss.backward()
    a_loss.backward()
    assert_close(a_out, t_out, **tol, msg="output")
    assert a_out.dtype == x.dtype
    for k, (a, t) in enumerate(zip(a_fin, t_fin, strict=True)):
        assert_close(a, t, **tol, msg=f"final state {k}")
    assert_close(axx.grad, tx.grad, **tol, msg="input grad")
    for k, (a, t) in enumerate(zip(as_, ts, strict=True)):
        assert_close(a.grad, t.grad, **tol, msg=f"initial state {k} grad")
    t_params = dict(tm.named_parameters())
    for name, p in am.named_parameters():
        assert p.grad.dtype == x.dtype, name
        assert_close(p.grad, t_params[name].grad, **tol, msg=f"grad of {name}")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch_float64(kind, num_layers, bidirectional, batch_first, with_state):
    tm, am = make_pair(
        kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, L, I) if batch_first else (L, N, I))
    D = 2 if bidirectional else 1
    lstm = kind == "LSTM"
    states = None
    if with_state:
        states = [rng.standard_normal((D * num_layers, N, H)) for _ in range(2 if lstm else 1)]
    compare(tm, am, x, states, lstm, TOL[np.float64])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_matches_torch_float32(kind, bidirectional):
    tm, am = make_pair(kind, np.float32, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, 3, I)).astype(np.float32)
    D = 2 if bidirectional else 1
    lstm = kind == "LSTM"
    states = [
        rng.standard_normal((2 * D, 3, H)).astype(np.float32) for _ in range(2 if lstm else 1)
    ]
    compare(tm, am, x, states, lstm, TOL[np.float32])


@pytest.mark.parametrize("kind", KINDS)
def test_no_bias_matches_torch(kind):
    tm, am = make_pair(kind, num_layers=2, bidirectional=True, bias=False)
    assert not any("bias" in name for name, _ in am.named_parameters())
    x = np.random.default_rng(3).standard_normal((L, N, I))
    compare(tm, am, x, None, kind == "LSTM", TOL[np.float64])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(kind, with_state, batch_first):
    tm, am = make_pair(kind, num_layers=2, bidirectional=True, batch_first=batch_first)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((L, I))
    lstm = kind == "LSTM"
    states = [rng.standard_normal((4, H)) for _ in range(2 if lstm else 1)] if with_state else None
    compare(tm, am, x, states, lstm, TOL[np.float64])
    out, fin = am(ax.tensor(x))
    assert out.shape == (L, 2 * H)
    assert all(f.shape == (4, H) for f in as_tuple(fin))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_dropout_zero_and_eval_match_torch(kind):
    tm, am = make_pair(kind, num_layers=3, dropout=0.0)
    x = np.random.default_rng(5).standard_normal((L, N, I))
    compare(tm, am, x, None, kind == "LSTM", TOL[np.float64])
    tm, am = make_pair(kind, num_layers=3, dropout=0.5)
    tm.eval()
    am.eval()
    compare(tm, am, x, None, kind == "LSTM", TOL[np.float64])


def test_dropout_between_layers_training_only_and_seeded():
    m = nn.GRU(I, H, num_layers=2, dropout=0.5, dtype=np.float64)
    x = ax.tensor(np.random.default_rng(6).standard_normal((L, N, I)))
    ax.manual_seed(1)
    a, ha = m(x)
    ax.manual_seed(1)
    b, hb = m(x)
    assert_close(a, b, rtol=0, atol=0)  # same seed, same masks
    m.eval()
    e1, he = m(x)
    e2, _ = m(x)
    assert_close(e1, e2, rtol=0, atol=0)  # eval: no dropout
    assert np.isfinite(a.detach().numpy()).all()
    assert not np.allclose(a.detach().numpy(), e1.detach().numpy())  # training differs from eval
    # the first layer's final state is computed before any dropout
    assert_close(ha[0], he[0], rtol=0, atol=0)
    # a single layer gets no dropout (and PyTorch's warning)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        one = nn.LSTM(I, H, dropout=0.5)
    assert one.dropout == 0.5


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_keys_order_and_shapes_match_torch(kind, bias):
    tm = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True, bias=bias)
    am = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, bias=bias)
    t_sd, a_sd = tm.state_dict(), am.state_dict()
    assert list(a_sd) == list(t_sd)
    for k in t_sd:
        assert tuple(a_sd[k].shape) == tuple(t_sd[k].shape), k
    assert am._flat_weights_names == tm._flat_weights_names
    assert [[p.shape for p in w] for w in am.all_weights] == [
        [tuple(p.shape) for p in w] for w in tm.all_weights
    ]


def test_repr_matches_torch():
    for args, kw in [
        ((3, 4), {}),
        ((3, 4, 2), dict(batch_first=True, dropout=0.5, bidirectional=True, bias=False)),
    ]:
        for kind in ("RNN", "LSTM", "GRU"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert repr(getattr(nn, kind)(*args, **kw)) == repr(
                    getattr(torch.nn, kind)(*args, **kw)
                )
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu", bias=False)) == repr(
        torch.nn.RNNCell(3, 4, nonlinearity="relu", bias=False)
    )
    assert repr(nn.LSTMCell(3, 4)) == repr(torch.nn.LSTMCell(3, 4))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_init_uniform_in_bounds_and_seeded(kind):
    ax.manual_seed(3)
    m = getattr(nn, kind)(5, 16)
    ax.manual_seed(3)
    m2 = getattr(nn, kind)(5, 16)
    bound = 1 / np.sqrt(16)
    for (name, p), p2 in zip(m.named_parameters(), m2.parameters(), strict=True):
        assert p.dtype == np.float32, name
        assert np.abs(p.array).max() <= bound, name
        assert np.abs(p.array).max() > 0.8 * bound, name  # spread over the whole range
        assert_close(p, p2, rtol=0, atol=0)


def test_float32_stays_float32():
    m = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    x = ax.randn(L, N, I, requires_grad=True)
    out, (h, c) = m(x)
    assert out.dtype == h.dtype == c.dtype == np.float32
    (out.sum() + h.sum() + c.sum()).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in m.parameters())


# ------------------------------------------------------------------ graph shape


@pytest.mark.parametrize("kind, op", [("RNN", RNNSeq), ("LSTM", LSTMSeq), ("GRU", GRUSeq)])
def test_one_graph_node_per_layer_and_direction(kind, op):
    m = getattr(nn, kind)(I, H)
    out, _ = m(ax.randn(50, N, I, requires_grad=True))
    node = out.grad_fn  # the slice of the outputs out of the op's result
    (seq,) = [p for p in node.next_functions if p is not None]
    assert isinstance(seq, op)  # a 50-step sequence is one node, not 50 x many


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_gradient_through_final_state_only(kind):
    tm, am = make_pair(kind, num_layers=2, bidirectional=True)
    x = np.random.default_rng(7).standard_normal((L, N, I))
    tx, axx = torch.tensor(x, requires_grad=True), ax.tensor(x, requires_grad=True)
    t_fin = as_tuple(tm(tx)[1])[0]
    a_fin = as_tuple(am(axx)[1])[0]
    (t_fin**2).sum().backward()
    (a_fin**2).sum().backward()
    assert_close(axx.grad, tx.grad, **TOL[np.float64])
    t_params = dict(tm.named_parameters())
    for name, p in am.named_parameters():
        assert_close(p.grad, t_params[name].grad, **TOL[np.float64], msg=name)


def test_backward_twice_with_retain_graph_gives_same_grads():
    m = nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=np.float64)
    x = ax.tensor(np.random.default_rng(8).standard_normal((L, N, I)), requires_grad=True)
    out, (h, c) = m(x)
    loss = (out**2).sum() + (c * 3).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.numpy().copy() for p in m.parameters()] + [x.grad.numpy().copy()]
    m.zero_grad()
    x.grad = None
    loss.backward()
    second = [p.grad.numpy() for p in m.parameters()] + [x.grad.numpy()]
    for a, b in zip(first, second, strict=True):
        assert_close(a, b, rtol=0, atol=0)


def test_no_grad_records_nothing():
    m = nn.GRU(I, H)
    with ax.no_grad():
        out, h = m(ax.randn(L, N, I))
    assert out.grad_fn is None and not out.requires_grad and h.grad_fn is None


# ------------------------------------------------------------------ cells


@pytest.mark.parametrize("kind", ["RNNCell", "RNNCell-relu", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells_match_torch(kind, batched, with_state):
    name = kind.split("-")[0]
    kw = {"nonlinearity": "relu"} if kind.endswith("relu") else {}
    tm = getattr(torch.nn, name)(I, H, dtype=torch.float64, **kw)
    am = getattr(nn, name)(I, H, dtype=np.float64, **kw)
    am.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(9)
    shape = (N,) if batched else ()
    x = rng.standard_normal((*shape, I))
    lstm = name == "LSTMCell"
    states = [rng.standard_normal((*shape, H)) for _ in range(2 if lstm else 1)]
    tx, axx = torch.tensor(x, requires_grad=True), ax.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    as_ = [ax.tensor(s, requires_grad=True) for s in states]
    if with_state:
        t_out = as_tuple(tm(tx, tuple(ts) if lstm else ts[0]))
        a_out = as_tuple(am(axx, tuple(as_) if lstm else as_[0]))
    else:
        t_out, a_out = as_tuple(tm(tx)), as_tuple(am(axx))
    ws = [rng.standard_normal(t.shape) for t in t_out]
    sum((t * torch.tensor(w)).sum() for t, w in zip(t_out, ws, strict=True)).backward()
    sum((a * ax.tensor(w)).sum() for a, w in zip(a_out, ws, strict=True)).backward()
    tol = TOL[np.float64]
    for a, t in zip(a_out, t_out, strict=True):
        assert_close(a, t, **tol)
    assert_close(axx.grad, tx.grad, **tol)
    if with_state:
        for a, t in zip(as_, ts, strict=True):
            assert_close(a.grad, t.grad, **tol)
    t_params = dict(tm.named_parameters())
    for pname, p in am.named_parameters():
        assert_close(p.grad, t_params[pname].grad, **tol, msg=pname)


# ------------------------------------------------------------------ fused vs cells


def _cell_loop(kind: str, layer, x: ax.Tensor, states: list, reverse: bool):
    """The reference: one layer and direction as a Python loop over the cell module,
    with the layer's weights. Returns (outputs (L, N, H), final states)."""
    name = {"RNN": "RNNCell", "LSTM": "LSTMCell", "GRU": "GRUCell"}[kind.split("-")[0]]
    kw = {"nonlinearity": "relu"} if kind.endswith("relu") else {}
    cell = getattr(nn, name)(layer.input_size, layer.hidden_size, dtype=np.float64, **kw)
    sfx = "_l0_reverse" if reverse else "_l0"
    for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(cell, p, getattr(layer, p + sfx))  # shared Parameters: grads land in layer
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outs: dict[int, ax.Tensor] = {}
    state = tuple(states) if kind == "LSTM" else states[0]
    for t in steps:
        state = cell(x[t], state)
        outs[t] = state[0] if kind == "LSTM" else state
    return ax.stack([outs[t] for t in range(x.shape[0])], 0), as_tuple(state)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_layer_matches_cell_loop(kind, reverse):
    """One direction of a layer (the fused op) against the loop over its cell: outputs,
    final states and all gradients, float64."""
    _, m = make_pair(kind, bidirectional=True)
    rng = np.random.default_rng(10)
    x_np = rng.standard_normal((6, 3, I))
    n_states = 2 if kind == "LSTM" else 1
    s_np = [rng.standard_normal((3, H)) for _ in range(n_states)]
    w_np = [rng.standard_normal((6, 3, H))] + [rng.standard_normal((3, H)) for _ in s_np]

    def run(fused: bool):
        m.zero_grad()
        x = ax.tensor(x_np, requires_grad=True)
        states = [ax.tensor(s, requires_grad=True) for s in s_np]
        if fused:
            k = 1 if reverse else 0
            full = [ax.stack([s, s], 0) for s in states]  # (2, N, H): both directions
            out, fin = m(x, tuple(full) if kind == "LSTM" else full[0])
            out = out[..., k * H : (k + 1) * H]
            fin = tuple(f[k] for f in as_tuple(fin))
        else:
            out, fin = _cell_loop(kind, m, x, states, reverse)
        loss = sum((a * ax.tensor(w)).sum() for a, w in zip((out, *fin), w_np, strict=True))
        loss.backward()
        grads = {n: p.grad.numpy().copy() for n, p in m.named_parameters() if p.grad is not None}
        return out, fin, x.grad, [s.grad for s in states], grads

    f_out, f_fin, f_gx, f_gs, f_gw = run(True)
    c_out, c_fin, c_gx, c_gs, c_gw = run(False)
    tol = TOL[np.float64]
    assert_close(f_out, c_out, **tol)
    for a, b in zip(f_fin, c_fin, strict=True):
        assert_close(a, b, **tol)
    assert_close(f_gx, c_gx, **tol)
    for a, b in zip(f_gs, c_gs, strict=True):
        assert_close(a, b, **tol)
    assert set(c_gw) == {n for n in f_gw if n.endswith("_reverse") == reverse}
    for name, g in c_gw.items():
        assert_close(f_gw[name], g, **tol, msg=name)


def _seq_inputs(kind: str, rng, L_: int = 3, N_: int = 3, I_: int = 2, H_: int = 2):
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    t = lambda *s: ax.tensor(rng.standard_normal(s), requires_grad=True)  # noqa: E731
    states = [t(N_, H_) for _ in range(2 if kind == "LSTM" else 1)]
    return t(L_, N_, I_), states, [t(G * H_, I_), t(G * H_, H_), t(G * H_), t(G * H_)]


@pytest.mark.parametrize("kind", ["RNN", "RNN-relu", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_gradcheck_fused_ops(kind, reverse, packed):
    base = kind.split("-")[0]
    rng = np.random.default_rng(11)
    x, states, w = _seq_inputs(base, rng)
    batch_sizes = np.array([3, 2, 1]) if packed else None
    op = {"RNN": RNNSeq, "LSTM": LSTMSeq, "GRU": GRUSeq}[base]
    extra = ("relu" if kind.endswith("relu") else "tanh",) if base == "RNN" else ()

    def fn(x, *rest):
        return op.apply(x, *rest, *extra, reverse, batch_sizes)

    assert ax.gradcheck(fn, (x, *states, *w))


# ------------------------------------------------------------------ errors


def test_errors_name_the_shapes():
    m = nn.LSTM(I, H, num_layers=2)
    with pytest.raises(RuntimeError, match=r"Expected 3, got 5.*\(5, 2, 5\)"):
        m(ax.randn(5, 2, 5))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        m(ax.randn(1, 5, 2, 3))
    h = ax.zeros(2, 2, H)
    with pytest.raises(RuntimeError, match=r"hidden\[0\] size \(2, 3, 4\), got \[2, 2, 4\]"):
        m(ax.randn(5, 3, I), (h, ax.zeros(2, 3, H)))
    with pytest.raises(RuntimeError, match=r"hidden\[1\] size \(2, 3, 4\), got \[1, 3, 4\]"):
        m(ax.randn(5, 3, I), (ax.zeros(2, 3, H), ax.zeros(1, 3, H)))
    with pytest.raises(RuntimeError, match="should also be 3-D"):
        m(ax.randn(5, 3, I), (ax.zeros(2, H), ax.zeros(2, H)))
    g = nn.GRU(I, H, bidirectional=True)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 3, 4\), got \[1, 3, 4\]"):
        g(ax.randn(5, 3, I), ax.zeros(1, 3, H))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 4\), got \[2, 3\]"):
        g(ax.randn(5, I), ax.zeros(2, 3))
    with pytest.raises(ValueError, match="dtype"):
        g(ax.randn(5, 3, I, dtype=np.float64))
    cell = nn.GRUCell(I, H)
    with pytest.raises(RuntimeError, match=r"got 5, expected 3"):
        cell(ax.randn(2, 5))
    with pytest.raises(RuntimeError, match=r"hidden0 has shape \(3, 4\), expected \(2, 4\)"):
        cell(ax.randn(2, I), ax.zeros(3, H))
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D, got 3D"):
        cell(ax.randn(1, 2, I))


def test_constructor_errors():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNNCell(I, H, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        nn.GRU(I, H, 2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.LSTM(I, 0)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        nn.LSTM(I, H, 0)
    with pytest.raises(TypeError, match="bias should be of type bool"):
        nn.GRU(I, H, bias=1)
    with pytest.raises(ValueError, match="proj_size"):  # LSTMP: tests/nn/test_more_layers.py
        nn.LSTM(I, H, proj_size=H)
