"""Transformer layers against PyTorch 2.13.

Every parity test builds the torch module, perturbs all its parameters (so biases are
non-zero and the layers of a stack differ), copies its ``state_dict`` into the axon
module, runs both in eval mode (dropout off) on the same inputs and masks, back-propagates
the same random weighting of the output and compares the output and the gradients of
every parameter and every floating input: float64 tight, float32 loose.

Covered: ``TransformerEncoderLayer`` and ``TransformerDecoderLayer`` for norm_first x
relu/gelu x batch_first, with causal and key-padding masks (float and boolean, with and
without the ``is_causal`` hint), a callable activation, ``bias=False``; the stacks with a
final norm and causal-mask detection; ``nn.Transformer`` with every mask; unbatched input;
state-dict keys; ``generate_square_subsequent_mask``; initialisation (Xavier, deep copies);
dropout in training mode; torch's eval fast path on unpadded positions; errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from axon.nn import functional as F
from tests.helpers import assert_close, assert_differs

D, NHEAD, FF = 8, 2, 16  # d_model, heads, feed-forward width
S, T, N = 5, 4, 3  # source length, target length, batch
# torch warns when a bool key padding mask meets a float attention mask (deprecated, but
# still what it computes); the mix is tested on purpose. It also warns about its nested-tensor
# fast path, which axon does not have.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-5)}


# ============================================================ helpers


def _torch_dtype(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def _perturb(tm: torch.nn.Module, seed: int = 0) -> None:
    """Add noise to every torch parameter: non-zero biases, layers of a stack that differ."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def _copy(tm: torch.nn.Module, am: nn.Module) -> None:
    tkeys = list(tm.state_dict())
    akeys = list(am.state_dict())
    assert akeys == tkeys, f"state-dict keys differ:\naxon  {akeys}\ntorch {tkeys}"
    am.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def build(torch_ctor, axon_ctor, dtype=np.float64, seed: int = 0):
    """(torch module, axon module) with the same (perturbed) weights, both in eval mode."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():  # torch: enable_nested_tensor is True, but ...
        warnings.simplefilter("ignore", UserWarning)
        tm = torch_ctor(_torch_dtype(dtype))
    am = axon_ctor(dtype)
    _perturb(tm, seed)
    _copy(tm, am)
    return tm.eval(), am.eval()


def _seq(shape_sbe, batch_first: bool) -> tuple:
    """(L, N, E) -> (N, L, E) when batch first; (L, E) stays (unbatched)."""
    if len(shape_sbe) == 3 and batch_first:
        return (shape_sbe[1], shape_sbe[0], shape_sbe[2])
    return tuple(shape_sbe)


def _to_torch(v):
    return torch.from_numpy(v) if isinstance(v, np.ndarray) else v


def _to_axon(v):
    return ax.from_numpy(v) if isinstance(v, np.ndarray) else v


def compare(
    tm, am, inputs: list[np.ndarray], masks: dict | None = None, dtype=np.float64, seed: int = 1
) -> None:
    """Run ``tm(*inputs, **masks)`` and ``am(...)``; compare outputs and all gradients."""
    masks = masks or {}
    tol = TOL[dtype]
    tm.zero_grad()
    am.zero_grad()
    t_in = [torch.tensor(x, requires_grad=True) for x in inputs]
    a_in = [ax.tensor(x, requires_grad=True) for x in inputs]
    t_out = tm(*t_in, **{k: _to_torch(v) for k, v in masks.items()})
    a_out = am(*a_in, **{k: _to_axon(v) for k, v in masks.items()})
    assert a_out.dtype == dtype
    assert_close(a_out, t_out, **tol, msg="output")
    w = np.random.default_rng(seed).standard_normal(t_out.shape).astype(dtype)
    (t_out * torch.from_numpy(w)).sum().backward()
    (a_out * ax.tensor(w)).sum().backward()
    for k, (a, t) in enumerate(zip(a_in, t_in, strict=True)):
        assert_close(a.grad, t.grad, **tol, msg=f"grad of input {k}")
    t_params = dict(tm.named_parameters())
    a_params = dict(am.named_parameters())
    assert list(a_params) == list(t_params)
    for name, p in a_params.items():
        assert p.grad is not None, f"{name}: no gradient"
        assert_close(p.grad, t_params[name].grad, **tol, msg=f"grad of {name}")


def causal(n: int, kind: str = "float") -> np.ndarray:
    """The (n, n) causal mask: -inf (float) or True (bool) above the diagonal."""
    if kind == "bool":
        return np.triu(np.ones((n, n), dtype=bool), 1)
    return np.triu(np.full((n, n), -np.inf), 1)


def padding(n_batch: int, length: int, lengths=(None, 2, 3)) -> np.ndarray:
    """(N, L) key padding mask, True past each sample's length (None: not padded)."""
    m = np.zeros((n_batch, length), dtype=bool)
    for i, n in enumerate(lengths[:n_batch]):
        if n is not None:
            m[i, n:] = True
    return m


def _inputs(shapes, dtype, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def encoder_layer_pair(dtype=np.float64, t_act="relu", a_act=None, **kw):
    return build(
        lambda dt: torch.nn.TransformerEncoderLayer(
            D, NHEAD, FF, dropout=0.1, activation=t_act, dtype=dt, **kw
        ),
        lambda dt: nn.TransformerEncoderLayer(
            D, NHEAD, FF, dropout=0.1, activation=a_act or t_act, dtype=dt, **kw
        ),
        dtype,
    )


def decoder_layer_pair(dtype=np.float64, t_act="relu", a_act=None, **kw):
    return build(
        lambda dt: torch.nn.TransformerDecoderLayer(
            D, NHEAD, FF, dropout=0.1, activation=t_act, dtype=dt, **kw
        ),
        lambda dt: nn.TransformerDecoderLayer(
            D, NHEAD, FF, dropout=0.1, activation=a_act or t_act, dtype=dt, **kw
        ),
        dtype,
    )


LAYER_CONFIGS = [
    pytest.param(nf, act, bf, id=f"{'pre' if nf else 'post'}-{act}-{'bf' if bf else 'sf'}")
    for nf in (False, True)
    for act in ("relu", "gelu")
    for bf in (False, True)
]


# ============================================================ encoder layer


@pytest.mark.parametrize("norm_first, activation, batch_first", LAYER_CONFIGS)
def test_encoder_layer_matches_torch(norm_first, activation, batch_first):
    tm, am = encoder_layer_pair(t_act=activation, norm_first=norm_first, batch_first=batch_first)
    src = _inputs([_seq((S, N, D), batch_first)], np.float64)
    compare(tm, am, src, dict(src_mask=causal(S), src_key_padding_mask=padding(N, S)))


MASKS = {
    "none": {},
    "causal-float": dict(src_mask=causal(S)),
    "causal-bool": dict(src_mask=causal(S, "bool")),
    "causal-hint": dict(src_mask=causal(S), is_causal=True),
    "padding": dict(src_key_padding_mask=padding(N, S)),
    "padding-float": dict(src_key_padding_mask=np.where(padding(N, S), -np.inf, 0.0)),
    "causal-bool-padding-bool": dict(
        src_mask=causal(S, "bool"), src_key_padding_mask=padding(N, S)
    ),
    "causal-hint-padding": dict(
        src_mask=causal(S), src_key_padding_mask=padding(N, S), is_causal=True
    ),
    "additive-per-head": dict(src_mask=np.random.default_rng(3).standard_normal((N * NHEAD, S, S))),
}


@pytest.mark.parametrize("mask_kind", list(MASKS))
def test_encoder_layer_masks_match_torch(mask_kind):
    tm, am = encoder_layer_pair(norm_first=True)
    compare(tm, am, _inputs([(S, N, D)], np.float64), MASKS[mask_kind])


def test_encoder_layer_float32_matches_torch():
    tm, am = encoder_layer_pair(np.float32, t_act="gelu", batch_first=True)
    compare(
        tm,
        am,
        _inputs([(N, S, D)], np.float32),
        dict(src_mask=causal(S).astype(np.float32), src_key_padding_mask=padding(N, S)),
        dtype=np.float32,
    )


def test_encoder_layer_callable_activation_and_no_bias():
    tm, am = encoder_layer_pair(t_act=torch.tanh, a_act=lambda x: x.tanh(), bias=False)
    assert not any(k.endswith("bias") for k in am.state_dict())
    compare(tm, am, _inputs([(S, N, D)], np.float64), dict(src_mask=causal(S)))


def test_encoder_layer_activation_functions_and_modules():
    assert nn.TransformerEncoderLayer(D, NHEAD, FF).activation is F.relu  # torch's default
    assert nn.TransformerEncoderLayer(D, NHEAD, FF, activation="gelu").activation is F.gelu
    tm, am = encoder_layer_pair(t_act=torch.nn.GELU(), a_act=nn.GELU())
    compare(tm, am, _inputs([(S, N, D)], np.float64))


def test_encoder_layer_unbatched_matches_torch():
    tm, am = encoder_layer_pair(batch_first=True)
    compare(tm, am, _inputs([(S, D)], np.float64), dict(src_mask=causal(S)))


# ============================================================ decoder layer


@pytest.mark.parametrize("norm_first, activation, batch_first", LAYER_CONFIGS)
def test_decoder_layer_matches_torch(norm_first, activation, batch_first):
    tm, am = decoder_layer_pair(t_act=activation, norm_first=norm_first, batch_first=batch_first)
    tgt, mem = _inputs([_seq((T, N, D), batch_first), _seq((S, N, D), batch_first)], np.float64)
    compare(
        tm,
        am,
        [tgt, mem],
        dict(
            tgt_mask=causal(T),
            tgt_key_padding_mask=padding(N, T),
            memory_key_padding_mask=padding(N, S, (2, None, 4)),
        ),
    )


def test_decoder_layer_memory_mask_and_hints_match_torch():
    tm, am = decoder_layer_pair(t_act="gelu", norm_first=True)
    mem_mask = np.zeros((T, S), dtype=bool)
    mem_mask[:, -1] = True  # no query may look at the last source position
    compare(
        tm,
        am,
        _inputs([(T, N, D), (S, N, D)], np.float64),
        dict(tgt_mask=causal(T, "bool"), memory_mask=mem_mask, tgt_is_causal=True),
    )


def test_decoder_layer_float32_unbatched_matches_torch():
    tm, am = decoder_layer_pair(np.float32)
    compare(
        tm,
        am,
        _inputs([(T, D), (S, D)], np.float32),
        dict(tgt_mask=causal(T).astype(np.float32)),
        dtype=np.float32,
    )


# ============================================================ stacks


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_stack_matches_torch(norm_first, batch_first):
    def make(mod):
        def ctor(dt):
            layer = mod.TransformerEncoderLayer(
                D,
                NHEAD,
                FF,
                activation="gelu",
                batch_first=batch_first,
                norm_first=norm_first,
                dtype=dt,
            )
            return mod.TransformerEncoder(layer, 3, norm=mod.LayerNorm(D, dtype=dt))

        return ctor

    tm, am = build(make(torch.nn), make(nn))
    assert list(am.state_dict())[0] == "layers.0.self_attn.in_proj_weight"
    src = _inputs([_seq((S, N, D), batch_first)], np.float64)
    # is_causal=None: the stack recognises the causal mask, float or boolean
    compare(tm, am, src, dict(mask=causal(S), src_key_padding_mask=padding(N, S)))
    compare(tm, am, src, dict(mask=causal(S, "bool")))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_stack_matches_torch(norm_first):
    def make(mod):
        def ctor(dt):
            layer = mod.TransformerDecoderLayer(
                D, NHEAD, FF, norm_first=norm_first, batch_first=True, dtype=dt
            )
            return mod.TransformerDecoder(layer, 2, norm=mod.LayerNorm(D, dtype=dt))

        return ctor

    tm, am = build(make(torch.nn), make(nn))
    compare(
        tm,
        am,
        _inputs([(N, T, D), (N, S, D)], np.float64),
        dict(tgt_mask=causal(T), memory_key_padding_mask=padding(N, S)),
    )


def test_stack_without_norm_and_causal_detection():
    from axon.nn.transformer import _detect_is_causal

    tm, am = build(
        lambda dt: torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(D, NHEAD, FF, dtype=dt), 2
        ),
        lambda dt: nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF, dtype=dt), 2),
    )
    assert am.norm is None and not any(k.startswith("norm") for k in am.state_dict())
    compare(tm, am, _inputs([(S, N, D)], np.float64), dict(mask=causal(S)))
    assert _detect_is_causal(ax.tensor(causal(S)), None, S) is True
    assert _detect_is_causal(ax.tensor(causal(S, "bool")), None, S) is True
    assert _detect_is_causal(ax.tensor(causal(S)), None, S + 1) is False  # wrong size
    assert _detect_is_causal(ax.tensor(causal(S).T.copy()), None, S) is False
    assert _detect_is_causal(ax.tensor(causal(S)), False, S) is False  # the hint wins
    assert _detect_is_causal(None, None, S) is False


def test_encoder_stack_deep_copies_the_layer():
    layer = nn.TransformerEncoderLayer(D, NHEAD, FF)
    enc = nn.TransformerEncoder(layer, 2)
    a, b = enc.layers[0], enc.layers[1]
    assert a is not layer and b is not a
    for (name, p0), p1, p in zip(
        a.named_parameters(), b.parameters(), layer.parameters(), strict=True
    ):
        np.testing.assert_array_equal(p0.array, p.array, err_msg=name)  # same start
        assert p0.array is not p1.array and not np.shares_memory(p0.array, p1.array), name
    with ax.no_grad():
        a.linear1.weight.array[...] = 0.0
    assert np.any(b.linear1.weight.array) and np.any(layer.linear1.weight.array)
    assert enc.num_parameters() == 2 * layer.num_parameters()


# ============================================================ Transformer


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(norm_first, batch_first):
    def make(mod):
        return lambda dt: mod.Transformer(
            D,
            NHEAD,
            2,
            2,
            FF,
            activation="gelu",
            batch_first=batch_first,
            norm_first=norm_first,
            dtype=dt,
        )

    tm, am = build(make(torch.nn), make(nn))
    src, tgt = _inputs([_seq((S, N, D), batch_first), _seq((T, N, D), batch_first)], np.float64)
    compare(
        tm,
        am,
        [src, tgt],
        dict(
            src_mask=causal(S),
            tgt_mask=nn.Transformer.generate_square_subsequent_mask(T, dtype=np.float64).numpy(),
            src_key_padding_mask=padding(N, S),
            tgt_key_padding_mask=padding(N, T, (3, None, 2)),
            memory_key_padding_mask=padding(N, S),
        ),
    )


def test_transformer_float32_and_memory_mask_match_torch():
    tm, am = build(
        lambda dt: torch.nn.Transformer(D, NHEAD, 1, 2, FF, dtype=dt),
        lambda dt: nn.Transformer(D, NHEAD, 1, 2, FF, dtype=dt),
        np.float32,
    )
    mem_mask = np.where(np.arange(S)[None, :] > np.arange(T)[:, None] + 1, -np.inf, 0.0)
    compare(
        tm,
        am,
        _inputs([(S, N, D), (T, N, D)], np.float32),
        dict(
            tgt_mask=causal(T).astype(np.float32),
            memory_mask=mem_mask.astype(np.float32),
            tgt_is_causal=True,
        ),
        dtype=np.float32,
    )


def test_transformer_structure_and_state_dict_keys():
    kw = dict(
        d_model=D, nhead=NHEAD, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF
    )
    tm, am = torch.nn.Transformer(**kw), nn.Transformer(**kw)
    assert list(am.state_dict()) == list(tm.state_dict())
    assert {k: tuple(v.shape) for k, v in am.state_dict().items()} == {
        k: tuple(v.shape) for k, v in tm.state_dict().items()
    }
    assert isinstance(am.encoder.norm, nn.LayerNorm) and isinstance(am.decoder.norm, nn.LayerNorm)
    assert (am.d_model, am.nhead, am.batch_first) == (D, NHEAD, False)
    assert am.encoder.layers[0].dropout.p == 0.1 and am.encoder.layers[0].norm1.eps == 1e-5
    nb_t = torch.nn.Transformer(**kw, bias=False)
    nb_a = nn.Transformer(**kw, bias=False)
    assert list(nb_a.state_dict()) == list(nb_t.state_dict())
    assert "Transformer" in repr(am) and "TransformerEncoderLayer" in repr(am)


def test_transformer_custom_encoder_decoder():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, NHEAD, FF), 1)
    model = nn.Transformer(D, NHEAD, custom_encoder=enc, custom_decoder=dec).eval()
    assert model.encoder is enc and model.decoder is dec and enc.norm is None
    src, tgt = (ax.tensor(x) for x in _inputs([(S, N, D), (T, N, D)], np.float32))
    with ax.no_grad():
        want = dec(tgt, enc(src))
        got = model(src, tgt)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_transformer_xavier_initialisation():
    model = nn.Transformer(D, NHEAD, 2, 2, FF)
    for name, p in model.named_parameters():
        if p.ndim > 1:
            fan_out, fan_in = p.shape
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            assert np.abs(p.array).max() <= bound, name
            assert np.abs(p.array).max() > 0.8 * bound, name  # spread over the range
    enc = model.encoder.layers
    assert_differs(enc[0].linear1.weight.array, enc[1].linear1.weight.array, rtol=0, atol=0)
    assert np.all(model.encoder.norm.weight.array == 1)  # 1-d parameters keep their init


def test_generate_square_subsequent_mask_matches_torch():
    got = nn.Transformer.generate_square_subsequent_mask(4)
    want = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert isinstance(got, ax.Tensor) and got.dtype == np.float32 and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.numpy()[0, 1] == -np.inf and got.numpy()[1, 0] == 0.0
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=ax.float64).dtype == (np.float64)
    model = nn.Transformer(D, NHEAD, 1, 1, FF)  # also on an instance (a static method)
    np.testing.assert_array_equal(model.generate_square_subsequent_mask(1).numpy(), [[0.0]])


# ============================================================ train mode, fast path


def test_dropout_is_active_in_train_mode():
    ax.manual_seed(0)
    layer = nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.5)
    tgt, mem = (ax.tensor(x) for x in _inputs([(T, N, D), (S, N, D)], np.float32))
    with ax.no_grad():
        a, b = layer(tgt, mem), layer(tgt, mem)
        layer.eval()
        c, d = layer(tgt, mem), layer(tgt, mem)
    assert_differs(a, b)
    assert_differs(a, c)
    np.testing.assert_array_equal(c.numpy(), d.numpy())
    # dropout 0 in train mode is the eval computation
    layer0 = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0)
    src = ax.tensor(_inputs([(S, N, D)], np.float32)[0])
    with ax.no_grad():
        train_out = layer0(src)
        eval_out = layer0.eval()(src)
    np.testing.assert_allclose(train_out.numpy(), eval_out.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "kind, name",
    [
        *[("encoder", n) for n in ("dropout", "dropout1", "dropout2", "self_attn")],
        *[
            ("decoder", n)
            for n in ("dropout", "dropout1", "dropout2", "dropout3", "self_attn", "multihead_attn")
        ],
    ],
)
def test_every_dropout_is_applied(kind, name):
    """Only the named dropout on (p = 0.5, the others 0): training differs from eval, so
    that dropout sits on the computed path."""
    ax.manual_seed(0)
    if kind == "encoder":
        layer = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0)
        args = [ax.tensor(x) for x in _inputs([(S, N, D)], np.float32)]
    else:
        layer = nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.0)
        args = [ax.tensor(x) for x in _inputs([(T, N, D), (S, N, D)], np.float32)]
    module = getattr(layer, name)
    if isinstance(module, nn.MultiheadAttention):
        module.dropout = 0.5
    else:
        module.p = 0.5
    with ax.no_grad():
        train_out = layer(*args)
        eval_out = layer.eval()(*args)
    assert_differs(train_out, eval_out)


def test_train_mode_without_dropout_matches_torch():
    """Train-mode dropout is random, so compare the parts it cannot touch: with p = 0,
    training and eval agree with torch's training mode exactly."""
    tm, am = encoder_layer_pair(norm_first=True)
    for m in (tm.dropout, tm.dropout1, tm.dropout2):
        m.p = 0.0
    for m in (am.dropout, am.dropout1, am.dropout2):
        m.p = 0.0
    tm.self_attn.dropout = 0.0
    am.self_attn.dropout = 0.0
    compare(tm.train(), am.train(), _inputs([(S, N, D)], np.float64), dict(src_mask=causal(S)))


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
def test_encoder_matches_torch_fast_path_on_unpadded_positions():
    """torch's eval path without autograd runs nested tensors and returns zeros at padded
    positions; on every other position it must agree with axon's."""
    tm, am = build(
        lambda dt: torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True, dtype=dt), 2
        ),
        lambda dt: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True, dtype=dt), 2
        ),
        np.float32,
    )
    (src,) = _inputs([(N, S, D)], np.float32)
    pad = padding(N, S)
    with torch.no_grad():
        want = tm(torch.from_numpy(src), src_key_padding_mask=torch.from_numpy(pad)).numpy()
    with ax.no_grad():
        got = am(ax.tensor(src), src_key_padding_mask=ax.tensor(pad)).numpy()
    assert_close(got[~pad], want[~pad], **TOL[np.float32])


# ============================================================ errors


def test_bad_activation_raises():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(D, NHEAD, FF, activation="tanh")
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerDecoderLayer(D, NHEAD, FF, activation="swish")
    with pytest.raises(TypeError, match="callable"):
        nn.TransformerEncoderLayer(D, NHEAD, FF, activation=3)


def test_transformer_input_errors_name_the_shapes():
    model = nn.Transformer(D, NHEAD, 1, 1, FF)
    src = ax.zeros(S, N, D)
    with pytest.raises(RuntimeError, match=r"batch number of src and tgt.*\(4, 2, 8\)"):
        model(src, ax.zeros(T, 2, D))
    with pytest.raises(RuntimeError, match=r"d_model = 8.*\(4, 3, 6\)"):
        model(src, ax.zeros(T, N, 6))
    with pytest.raises(RuntimeError, match="both be batched or both unbatched"):
        model(src, ax.zeros(T, D))
    with pytest.raises(ValueError, match="num_layers"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF), -1)
