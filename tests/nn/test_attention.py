"""Attention layers against PyTorch 2.13 and float64 finite differences.

- ``BahdanauAttention`` / ``LuongAttention``: against a hand-written torch reference with
  the same weights (outputs and every gradient, with and without padding, one query or T
  queries), fully padded rows (weights 0, no NaN), float64 ``gradcheck``, errors.
- ``functional.scaled_dot_product_attention``: against torch's (bool / float / causal
  masks, custom scale, broadcast batch dimensions, fully masked rows, the gradient of a
  float mask), dropout against a reference with the same drawn mask, ``gradcheck`` of the
  three fused ops, errors.
- ``MultiheadAttention``: against torch's with a copied state dict (outputs, weights,
  every gradient) over self- / key-is-value / cross-attention, kdim/vdim, no bias,
  add_bias_kv, add_zero_attn, bool and float, 2-D and 3-D masks, batch_first, unbatched
  input, need_weights and average_attn_weights; init, state-dict keys, dropout, fully
  masked rows, errors.
- ``PositionalEncoding`` / ``LearnedPositionalEncoding``: the formula, layouts, buffers,
  errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from axon.autograd.ops.attention import Attention, AttentionWeights, PackedAttention
from axon.nn import functional as F
from tests.helpers import assert_close, assert_differs

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


def rand(rng, *shape, dtype=np.float64):
    return rng.uniform(-1.0, 1.0, shape).astype(dtype)


def padding_mask(rng, B: int, S: int) -> np.ndarray:
    """(B, S) bool, True at padding: sequence b has a random length in [1, S]."""
    lengths = rng.integers(1, S + 1, B)
    lengths[0] = S  # one full row
    return np.arange(S)[None, :] >= lengths[:, None]


def tparams(module) -> dict[str, torch.Tensor]:
    """The module's parameters as torch leaves (copies) that require grad."""
    return {
        k: torch.tensor(v.detach().numpy(), requires_grad=True)
        for k, v in module.named_parameters()
    }


def torch_attend(scores, values, mask):
    """The torch reference of the shared tail: mask, softmax, weighted sum."""
    if mask is not None:
        scores = scores.masked_fill(mask[:, None, :], float("-inf"))
    w = torch.softmax(scores, dim=-1)
    return w @ values, w


def torch_bahdanau(p, q, keys, values, mask):
    single = q.dim() == 2
    q3 = q[:, None] if single else q
    qp = q3 @ p["query_proj.weight"].T  # (B, T, H)
    kp = keys @ p["key_proj.weight"].T
    if "key_proj.bias" in p:
        kp = kp + p["key_proj.bias"]
    scores = (torch.tanh(qp[:, :, None] + kp[:, None]) @ p["v.weight"].T)[..., 0]
    ctx, w = torch_attend(scores, values, mask)
    return (ctx[:, 0], w[:, 0]) if single else (ctx, w)


def torch_luong(p, q, keys, values, mask):
    single = q.dim() == 2
    q3 = q[:, None] if single else q
    k = keys @ p["proj.weight"].T if "proj.weight" in p else keys
    ctx, w = torch_attend(q3 @ k.transpose(1, 2), values, mask)
    return (ctx[:, 0], w[:, 0]) if single else (ctx, w)


def check_seq2seq(module, reference, Dq, Dk, Dv, *, steps, masked, same_values, dtype, seed=0):
    """Run module and reference on the same inputs; compare (context, weights) and the
    gradients of the inputs and of every parameter under a random upstream gradient."""
    rng = np.random.default_rng(seed)
    B, T, S = 3, 4, 5
    q = rand(rng, *((B, T, Dq) if steps else (B, Dq)), dtype=dtype)
    keys = rand(rng, B, S, Dk, dtype=dtype)
    values = None if same_values else rand(rng, B, S, Dv, dtype=dtype)
    mask = padding_mask(rng, B, S) if masked else None
    module = module.double() if dtype == np.float64 else module
    p = tparams(module)

    tq, tk = torch.tensor(q, requires_grad=True), torch.tensor(keys, requires_grad=True)
    tv = tk if values is None else torch.tensor(values, requires_grad=True)
    t_ctx, t_w = reference(p, tq, tk, tv, None if mask is None else torch.tensor(mask))
    aq, ak = ax.tensor(q, requires_grad=True), ax.tensor(keys, requires_grad=True)
    av = None if values is None else ax.tensor(values, requires_grad=True)
    a_ctx, a_w = module(aq, ak, av, key_padding_mask=None if mask is None else ax.tensor(mask))

    tol = TOL[dtype]
    assert a_ctx.dtype == dtype and a_w.dtype == dtype
    assert_close(a_ctx, t_ctx, **tol, msg="context")
    assert_close(a_w, t_w, **tol, msg="weights")
    assert_close(a_w.sum(-1), np.ones(a_w.shape[:-1]), **tol, msg="weights sum to 1")
    if mask is not None:
        w = a_w.detach().numpy().reshape(B, -1, S)
        assert (w[np.broadcast_to(mask[:, None], w.shape)] == 0).all(), "padding got weight"

    g_ctx, g_w = rand(rng, *t_ctx.shape, dtype=dtype), rand(rng, *t_w.shape, dtype=dtype)
    ((t_ctx * torch.tensor(g_ctx)).sum() + (t_w * torch.tensor(g_w)).sum()).backward()
    ((a_ctx * ax.tensor(g_ctx)).sum() + (a_w * ax.tensor(g_w)).sum()).backward()
    assert_close(aq.grad, tq.grad, **tol, msg="grad query")
    assert_close(ak.grad, tk.grad, **tol, msg="grad keys")
    if av is not None:
        assert_close(av.grad, tv.grad, **tol, msg="grad values")
    for name, param in module.named_parameters():
        assert_close(param.grad, p[name].grad, **tol, msg=f"grad {name}")


# ============================================================ Bahdanau / Luong


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("steps", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_bahdanau_matches_torch(dtype, steps, masked, bias):
    ax.manual_seed(1)
    check_seq2seq(
        nn.BahdanauAttention(4, 6, 5, bias=bias),
        torch_bahdanau,
        4,
        6,
        7,
        steps=steps,
        masked=masked,
        same_values=False,
        dtype=dtype,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("steps", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("method", ["dot", "general"])
def test_luong_matches_torch(dtype, steps, masked, method):
    ax.manual_seed(2)
    Dk = 4 if method == "dot" else 6
    check_seq2seq(
        nn.LuongAttention(4, Dk, method),
        torch_luong,
        4,
        Dk,
        3,
        steps=steps,
        masked=masked,
        same_values=False,
        dtype=dtype,
    )


@pytest.mark.parametrize("kind", ["bahdanau", "luong"])
def test_values_default_to_keys(kind):
    ax.manual_seed(3)
    if kind == "bahdanau":
        module, ref = nn.BahdanauAttention(4, 6, 5), torch_bahdanau
    else:
        module, ref = nn.LuongAttention(4, 6, "general"), torch_luong
    check_seq2seq(module, ref, 4, 6, 6, steps=True, masked=True, same_values=True, dtype=np.float64)


def test_parameter_names_and_shapes():
    b = nn.BahdanauAttention(4, 6, 5)
    assert {k: tuple(v.shape) for k, v in b.state_dict().items()} == {
        "query_proj.weight": (5, 4),
        "key_proj.weight": (5, 6),
        "key_proj.bias": (5,),
        "v.weight": (1, 5),
    }
    assert "key_proj.bias" not in nn.BahdanauAttention(4, 6, 5, bias=False).state_dict()
    assert {
        k: tuple(v.shape) for k, v in nn.LuongAttention(4, 6, "general").state_dict().items()
    } == {"proj.weight": (4, 6)}
    assert not nn.LuongAttention(4, 4).state_dict()
    assert "hidden_size=5" in repr(b) and "method='general'" in repr(
        nn.LuongAttention(4, 6, "general")
    )


@pytest.mark.parametrize("kind", ["bahdanau", "luong"])
def test_fully_padded_row_gives_zero_weights_and_no_nan(kind):
    """A sequence whose keys are all padding: weights 0, context 0, finite gradients 0."""
    ax.manual_seed(4)
    module = nn.BahdanauAttention(3, 3, 4) if kind == "bahdanau" else nn.LuongAttention(3, 3)
    rng = np.random.default_rng(0)
    q = ax.tensor(rand(rng, 2, 3, dtype=np.float32), requires_grad=True)
    k = ax.tensor(rand(rng, 2, 4, 3, dtype=np.float32), requires_grad=True)
    mask = np.zeros((2, 4), bool)
    mask[1] = True
    ctx, w = module(q, k, key_padding_mask=ax.tensor(mask))
    assert np.isfinite(ctx.detach().numpy()).all() and np.isfinite(w.detach().numpy()).all()
    np.testing.assert_array_equal(w.detach().numpy()[1], 0)
    np.testing.assert_array_equal(ctx.detach().numpy()[1], 0)
    assert_close(w.detach().numpy()[0].sum(), 1.0)
    (ctx.sum() + (w * 2).sum()).backward()
    for g in (q.grad, k.grad):
        assert np.isfinite(g.numpy()).all()
    np.testing.assert_array_equal(q.grad.numpy()[1], 0)
    np.testing.assert_array_equal(k.grad.numpy()[1], 0)


@pytest.mark.parametrize("kind", ["bahdanau", "luong-dot", "luong-general"])
def test_seq2seq_attention_gradcheck(kind):
    ax.manual_seed(5)
    if kind == "bahdanau":
        module = nn.BahdanauAttention(3, 2, 3).double()
    else:
        module = nn.LuongAttention(3, 3 if kind == "luong-dot" else 2, kind[6:]).double()
    Dk = 3 if kind == "luong-dot" else 2
    rng = np.random.default_rng(1)
    q = ax.tensor(rand(rng, 2, 2, 3), requires_grad=True)
    k = ax.tensor(rand(rng, 2, 3, Dk), requires_grad=True)
    v = ax.tensor(rand(rng, 2, 3, 2), requires_grad=True)
    mask = ax.tensor(np.array([[False, False, False], [False, False, True]]))
    ax.gradcheck(lambda q, k, v: module(q, k, v, key_padding_mask=mask), (q, k, v))


def test_seq2seq_attention_errors():
    with pytest.raises(ValueError, match="query_size == key_size.*query_size=4.*key_size=6"):
        nn.LuongAttention(4, 6)
    with pytest.raises(ValueError, match="'dot' or 'general'"):
        nn.LuongAttention(4, 4, "concat")
    b = nn.BahdanauAttention(4, 6, 5)
    q, k = ax.randn(2, 4), ax.randn(2, 3, 6)
    with pytest.raises(ValueError, match=r"query of shape \(2, 5\).*query_size=4"):
        b(ax.randn(2, 5), k)
    with pytest.raises(ValueError, match=r"keys of shape \(2, 3, 5\).*key_size=6"):
        b(q, ax.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"keys must be \(B, S, Dk\)"):
        b(q, ax.randn(3, 6))
    with pytest.raises(ValueError, match=r"values \(2, 4, 7\)"):
        b(q, k, ax.randn(2, 4, 7))
    with pytest.raises(ValueError, match=r"query \(3, 4\)"):
        b(ax.randn(3, 4), k)
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(2, 4\).*\(2, 3\)"):
        b(q, k, key_padding_mask=ax.tensor(np.zeros((2, 4), bool)))
    with pytest.raises(TypeError, match="bool"):
        b(q, k, key_padding_mask=ax.zeros(2, 3))


# ============================================================ scaled_dot_product_attention

SDPA_CASES = {
    # name: (q shape, k shape, v shape, mask kind, kwargs)
    "plain": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {}),
    "2d": ((4, 5), (6, 5), (6, 3), None, {}),
    "bool-mask-full-row": ((2, 4, 5), (2, 6, 5), (2, 6, 5), "bool", {}),
    "float-mask-batched": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), "float3", {}),
    "causal": ((2, 5, 3), (2, 5, 3), (2, 5, 4), None, dict(is_causal=True)),
    "causal-L>S": ((1, 6, 3), (1, 4, 3), (1, 4, 2), None, dict(is_causal=True)),
    "scale": ((2, 4, 5), (2, 6, 5), (2, 6, 5), "bool", dict(scale=0.7)),
    "broadcast-batch": ((2, 1, 4, 5), (1, 3, 6, 5), (1, 3, 6, 2), "float2", {}),
}


def sdpa_mask(kind, rng, L, S, dtype):
    if kind == "bool":  # True = take part; row 1 fully masked
        m = rng.random((L, S)) > 0.3
        m[:, 0] = True
        m[1] = False
        return m
    if kind == "float2":
        return rng.standard_normal((L, S)).astype(dtype)
    if kind == "float3":
        return rng.standard_normal((3, L, S)).astype(dtype)
    return None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_sdpa_matches_torch(case, dtype):
    qs, ks, vs, kind, kw = SDPA_CASES[case]
    rng = np.random.default_rng(0)
    q, k, v = (rand(rng, *s, dtype=dtype) for s in (qs, ks, vs))
    mask = sdpa_mask(kind, rng, qs[-2], ks[-2], dtype)
    mask_grad = mask is not None and mask.dtype != bool
    tin = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    ain = [ax.tensor(a, requires_grad=True) for a in (q, k, v)]
    tm = None if mask is None else torch.tensor(mask, requires_grad=mask_grad)
    am = None if mask is None else ax.tensor(mask, requires_grad=mask_grad)
    t_out = torch.nn.functional.scaled_dot_product_attention(*tin, attn_mask=tm, **kw)
    a_out = F.scaled_dot_product_attention(*ain, attn_mask=am, **kw)
    tol = TOL[dtype]
    assert a_out.dtype == dtype
    assert_close(a_out, t_out, **tol, msg="output")
    g = rand(rng, *t_out.shape, dtype=dtype)
    t_out.backward(torch.tensor(g))
    a_out.backward(g)
    for name, a, t in zip("qkv", ain, tin, strict=True):
        assert_close(a.grad, t.grad, **tol, msg=f"grad {name}")
    if mask_grad:
        assert_close(am.grad, tm.grad, **tol, msg="grad of the float mask")


def test_sdpa_fully_masked_rows_are_zero():
    """A row with every key masked out: output 0 and gradients 0, as torch (no NaN)."""
    rng = np.random.default_rng(1)
    q, k, v = (ax.tensor(rand(rng, 3, 4), requires_grad=True) for _ in range(3))
    mask = np.ones((3, 3), bool)
    mask[2] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=ax.tensor(mask))
    np.testing.assert_array_equal(out.detach().numpy()[2], 0)
    assert np.abs(out.detach().numpy()[:2]).sum() > 0
    out.sum().backward()
    np.testing.assert_array_equal(q.grad.numpy()[2], 0)
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()
    # a float mask of -inf does the same
    fm = np.where(mask, 0.0, -np.inf)
    out2 = F.scaled_dot_product_attention(q, k, v, attn_mask=ax.tensor(fm))
    np.testing.assert_array_equal(out2.detach().numpy(), out.detach().numpy())


def test_sdpa_dropout_matches_reference_with_the_same_mask():
    """Dropout drops weights after the softmax with masks from axon's generator: rebuild
    the drawn mask from the seed and compare with a torch reference using it."""
    rng = np.random.default_rng(2)
    q, k, v = rand(rng, 2, 4, 3), rand(rng, 2, 5, 3), rand(rng, 2, 5, 2)
    p = 0.4
    ax.manual_seed(7)
    ain = [ax.tensor(a, requires_grad=True) for a in (q, k, v)]
    a_out = F.scaled_dot_product_attention(*ain, dropout_p=p)
    keep = np.random.default_rng(7).random((2, 4, 5)) >= p
    assert 0 < keep.sum() < keep.size
    tin = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    w = torch.softmax(tin[0] @ tin[1].transpose(-1, -2) / np.sqrt(3), dim=-1)
    t_out = (w * torch.tensor(keep / (1 - p))) @ tin[2]
    assert_close(a_out, t_out, **TOL[np.float64])
    g = rand(rng, 2, 4, 2)
    a_out.backward(g)
    t_out.backward(torch.tensor(g))
    for a, t in zip(ain, tin, strict=True):
        assert_close(a.grad, t.grad, **TOL[np.float64])
    out = F.scaled_dot_product_attention(*ain, dropout_p=1.0)
    np.testing.assert_array_equal(out.detach().numpy(), 0)


@pytest.mark.parametrize("op", ["Attention", "PackedAttention", "AttentionWeights"])
def test_fused_attention_ops_gradcheck(op):
    """Each fused op against central differences in float64: with a constant mask holding
    -inf entries and a fully masked row, and with a finite float mask that gets its own
    gradient."""
    rng = np.random.default_rng(3)
    inf_mask = rng.standard_normal((3, 3))
    inf_mask[0, 1] = -np.inf
    inf_mask[2] = -np.inf
    finite = ax.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    if op == "PackedAttention":
        qkv = ax.tensor(rand(rng, 3, 2, 3, 2), requires_grad=True)
        ax.gradcheck(lambda x: PackedAttention.apply(x, inf_mask, 0.8, 0.0, None), (qkv,))
        ax.gradcheck(lambda x, m: PackedAttention.apply(x, m, 0.8, 0.0, None), (qkv, finite))
        return
    q, k, v = (ax.tensor(rand(rng, 2, 3, 2), requires_grad=True) for _ in range(3))
    if op == "Attention":
        for m in (inf_mask, finite):
            ax.gradcheck(
                lambda q, k, v, m: Attention.apply(q, k, v, m, 0.8, 0.0, None), (q, k, v, m)
            )
    else:
        for m in (inf_mask, finite):
            ax.gradcheck(lambda q, k, m: AttentionWeights.apply(q, k, m, 0.8, 0.0, None), (q, k, m))


def test_packed_attention_equals_attention():
    rng = np.random.default_rng(4)
    qkv = rand(rng, 3, 2, 2, 4, 3)
    mask = np.where(np.triu(np.ones((4, 4), bool), 1), -np.inf, 0.0)
    g = rand(rng, 2, 2, 4, 3)
    a = ax.tensor(qkv, requires_grad=True)
    PackedAttention.apply(a, mask, 0.5, 0.0, None).backward(g)
    parts = [ax.tensor(qkv[i], requires_grad=True) for i in range(3)]
    out = Attention.apply(*parts, mask, 0.5, 0.0, None)
    out.backward(g)
    assert_close(a.grad, np.stack([p.grad.numpy() for p in parts]), **TOL[np.float64])


def test_sdpa_errors():
    q, k, v = ax.randn(2, 4, 3), ax.randn(2, 5, 3), ax.randn(2, 5, 6)
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ax.ones(4, 5), is_causal=True)
    with pytest.raises(RuntimeError, match=r"query \(2, 4, 3\), key \(2, 5, 2\)"):
        F.scaled_dot_product_attention(q, ax.randn(2, 5, 2), v)
    with pytest.raises(RuntimeError, match=r"value \(2, 4, 6\)"):
        F.scaled_dot_product_attention(q, k, ax.randn(2, 4, 6))
    with pytest.raises(RuntimeError, match="at least 2-dimensional"):
        F.scaled_dot_product_attention(ax.randn(3), k, v)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q.double(), k, v)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        F.scaled_dot_product_attention(ax.randn(3, 4, 3), k, v)
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ax.ones(3, 5))
    with pytest.raises(RuntimeError, match="bool or float"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ax.tensor(np.ones((4, 5), int)))
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(NotImplementedError, match="enable_gqa"):
        F.scaled_dot_product_attention(q, k, v, enable_gqa=True)


# ============================================================ MultiheadAttention

E, HEADS, L, S, N = 8, 2, 4, 5, 3


def make_mha_pair(dtype=np.float64, **kw):
    """(torch module, axon module) with torch's weights copied; both in eval mode."""
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, HEADS, dtype=tdt, **kw).eval()
    am = nn.MultiheadAttention(E, HEADS, dtype=dtype, **kw).eval()
    assert list(am.state_dict()) == list(tm.state_dict())
    am.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, am


def mha_masks(rng, masks: str, batched: bool, dtype, S: int):
    """key_padding_mask / attn_mask per the spec string: 'kpm' bool padding (a row with
    all but one key masked), 'kpmf' float padding, 'a2'/'a3' bool attn_mask 2-D / 3-D,
    'a2f'/'a3f' float ones."""
    out = {}
    for part in masks.split("+") if masks else ():
        if part.startswith("kpm"):
            m = rng.random((N, S) if batched else (S,)) < 0.3
            if batched:
                m[1] = [True] * (S - 1) + [False]
            out["key_padding_mask"] = (
                np.where(m, -1e9, rng.standard_normal(m.shape)).astype(dtype)
                if part == "kpmf"
                else m
            )
        else:
            shape = (L, S) if part[1] == "2" else ((N * HEADS if batched else HEADS), L, S)
            m = rng.random(shape) < 0.3
            m[..., -1] = False  # the key left by the padding mask: no row fully masked
            out["attn_mask"] = rng.standard_normal(shape).astype(dtype) if part.endswith("f") else m
    return out


def compare_mha(
    kw,
    *,
    kind,
    need_weights=True,
    average=True,
    batch_first=False,
    masks="",
    batched=True,
    dtype=np.float64,
    seed=0,
):
    """Run both modules; compare output, weights and the gradients of every parameter and
    input under random upstream gradients of the output and the weights."""
    tm, am = make_mha_pair(dtype, batch_first=batch_first, **kw)
    rng = np.random.default_rng(seed)
    Sk = L if kind == "self" else S
    kdim, vdim = kw.get("kdim", E), kw.get("vdim", E)

    def shape(T, D):
        if not batched:
            return (T, D)
        return (N, T, D) if batch_first else (T, N, D)

    arrays = [rand(rng, *shape(L, E), dtype=dtype)]
    if kind != "self":
        arrays.append(rand(rng, *shape(Sk, kdim), dtype=dtype))
    if kind == "cross":
        arrays.append(rand(rng, *shape(Sk, vdim), dtype=dtype))
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    ain = [ax.tensor(a, requires_grad=True) for a in arrays]

    def qkv(ts):
        return (
            (ts[0], ts[0], ts[0])
            if kind == "self"
            else ((ts[0], ts[1], ts[1]) if kind == "kv" else tuple(ts))
        )

    m = mha_masks(rng, masks, batched, dtype, Sk)
    t_out, t_w = tm(
        *qkv(tin),
        need_weights=need_weights,
        average_attn_weights=average,
        **{k: torch.tensor(v) for k, v in m.items()},
    )
    a_out, a_w = am(
        *qkv(ain),
        need_weights=need_weights,
        average_attn_weights=average,
        **{k: ax.tensor(v) for k, v in m.items()},
    )
    tol = TOL[dtype]
    assert_close(a_out, t_out, **tol, msg="output")
    t_loss = (t_out * torch.tensor(g := rand(rng, *t_out.shape, dtype=dtype))).sum()
    a_loss = (a_out * ax.tensor(g)).sum()
    if need_weights:
        assert_close(a_w, t_w, **tol, msg="weights")
        gw = rand(rng, *t_w.shape, dtype=dtype)
        t_loss = t_loss + (t_w * torch.tensor(gw)).sum()
        a_loss = a_loss + (a_w * ax.tensor(gw)).sum()
    else:
        assert a_w is None and t_w is None
    t_loss.backward()
    a_loss.backward()
    t_params = dict(tm.named_parameters())
    for name, p in am.named_parameters():
        assert_close(p.grad, t_params[name].grad, **tol, msg=f"grad {name}")
    for i, (a, t) in enumerate(zip(ain, tin, strict=True)):
        assert_close(a.grad, t.grad, **tol, msg=f"grad of input {i}")


MHA_CASES = [
    # (kw, kind, need_weights, average, batch_first, masks, batched)
    ({}, "self", True, True, False, "", True),
    ({}, "self", False, True, False, "a2", True),
    ({}, "self", False, True, True, "kpm+a2", True),
    ({}, "self", False, True, True, "kpmf+a3f", True),
    ({}, "self", True, False, True, "kpm+a3", True),
    ({}, "self", False, True, False, "a3f", False),
    ({}, "self", True, True, False, "kpm+a2f", False),
    ({}, "kv", True, True, False, "kpm", True),
    ({}, "kv", False, True, True, "a2+kpm", True),
    ({}, "kv", True, False, False, "a3", False),
    ({}, "cross", True, True, True, "kpmf+a2f", True),
    ({}, "cross", False, True, False, "a3+kpm", True),
    ({}, "cross", True, False, False, "", False),
    (dict(kdim=3, vdim=5), "cross", True, True, False, "kpm+a2", True),
    (dict(kdim=3, vdim=5), "cross", False, True, True, "a3f", True),
    (dict(kdim=3, vdim=5), "cross", True, False, False, "kpm", False),
    (dict(bias=False), "self", False, True, True, "kpm", True),
    (dict(bias=False), "cross", True, True, False, "a2", True),
    (dict(add_bias_kv=True), "self", False, True, False, "kpm+a2", True),
    (dict(add_bias_kv=True), "cross", True, False, True, "a3f", True),
    (dict(add_zero_attn=True), "kv", True, True, False, "kpm+a3", True),
    (dict(add_zero_attn=True), "self", False, True, False, "a2f", False),
    (
        dict(add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5),
        "cross",
        True,
        True,
        True,
        "kpm+a2",
        True,
    ),
]


@pytest.mark.parametrize(
    "case",
    MHA_CASES,
    ids=lambda c: "-".join(
        [
            *(f"{k}={v}" for k, v in c[0].items()),
            c[1],
            "w" if c[2] else "now",
            "avg" if c[3] else "heads",
            "bf" if c[4] else "sf",
            c[5] or "nomask",
            "b" if c[6] else "unbatched",
        ]
    ),
)
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
def test_mha_matches_torch(case):
    kw, kind, need_weights, average, batch_first, masks, batched = case
    compare_mha(
        kw,
        kind=kind,
        need_weights=need_weights,
        average=average,
        batch_first=batch_first,
        masks=masks,
        batched=batched,
    )


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_torch_float32(need_weights):
    compare_mha(
        {},
        kind="self",
        need_weights=need_weights,
        batch_first=True,
        masks="kpm+a2",
        dtype=np.float32,
    )


def test_mha_float_mask_gets_its_gradient():
    tm, am = make_mha_pair()
    rng = np.random.default_rng(5)
    x = rand(rng, L, N, E)
    mask = rand(rng, L, L)
    t_mask = torch.tensor(mask, requires_grad=True)
    a_mask = ax.tensor(mask, requires_grad=True)
    tx, axx = torch.tensor(x), ax.tensor(x)
    t_out, _ = tm(tx, tx, tx, attn_mask=t_mask, need_weights=False)
    a_out, _ = am(axx, axx, axx, attn_mask=a_mask, need_weights=False)
    g = rand(rng, L, N, E)
    t_out.backward(torch.tensor(g))
    a_out.backward(g)
    assert_close(a_mask.grad, t_mask.grad, **TOL[np.float64])


def test_mha_init_and_parameters():
    ax.manual_seed(0)
    m = nn.MultiheadAttention(16, 4)
    bound = np.sqrt(6.0 / (16 + 48))  # xavier_uniform_ of (3E, E)
    w = m.in_proj_weight.detach().numpy()
    assert w.shape == (48, 16) and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    np.testing.assert_array_equal(m.in_proj_bias.detach().numpy(), 0)
    np.testing.assert_array_equal(m.out_proj.bias.detach().numpy(), 0)
    assert m.head_dim == 4 and m._qkv_same_embed_dim and m.q_proj_weight is None
    sep = nn.MultiheadAttention(16, 4, kdim=6, vdim=7, bias=False, add_bias_kv=True)
    assert {k: tuple(v.shape) for k, v in sep.state_dict().items()} == {
        "q_proj_weight": (16, 16),
        "k_proj_weight": (16, 6),
        "v_proj_weight": (16, 7),
        "bias_k": (1, 1, 16),
        "bias_v": (1, 1, 16),
        "out_proj.weight": (16, 16),
    }
    assert sep.in_proj_weight is None and sep.in_proj_bias is None
    assert "kdim=6" in repr(sep) and "out_proj" in repr(sep)


def test_mha_dropout_paths_agree_and_scale_weights():
    """In training, the weights path and the fused path draw the same dropout mask from
    the same seed, so they agree; kept weights are the eval weights / (1 - p)."""
    ax.manual_seed(0)
    m = nn.MultiheadAttention(E, HEADS, dropout=0.5)
    x = ax.tensor(rand(np.random.default_rng(6), L, N, E))
    ax.manual_seed(11)
    out_w, w = m(x, x, x, average_attn_weights=False)
    ax.manual_seed(11)
    out_fused, _ = m(x, x, x, need_weights=False)
    assert_close(out_w, out_fused.detach().numpy(), rtol=1e-5, atol=1e-6)
    m.eval()
    out_eval, w_eval = m(x, x, x, average_attn_weights=False)
    w, w_eval = w.detach().numpy(), w_eval.detach().numpy()
    kept = w != 0
    assert 0 < kept.mean() < 1
    assert_close(w[kept], 2 * w_eval[kept], rtol=1e-5, atol=1e-6)
    assert_differs(out_eval, out_w)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_fully_masked_query_gives_bias_not_nan(need_weights):
    """A batch element whose keys are all padding: output = out_proj.bias, weights 0 (torch
    gives the same with need_weights=False and NaN with need_weights=True)."""
    tm, am = make_mha_pair()
    with torch.no_grad():
        tm.out_proj.bias.uniform_(-1, 1)
    am.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(7)
    x = rand(rng, L, N, E)
    kpm = np.zeros((N, L), bool)
    kpm[1] = True
    a_in = ax.tensor(x, requires_grad=True)
    out, w = am(a_in, a_in, a_in, key_padding_mask=ax.tensor(kpm), need_weights=need_weights)
    t_out, _ = tm(
        torch.tensor(x),
        torch.tensor(x),
        torch.tensor(x),
        key_padding_mask=torch.tensor(kpm),
        need_weights=False,
    )
    assert_close(out, t_out, **TOL[np.float64])
    assert_close(
        out.detach().numpy()[:, 1],
        np.broadcast_to(tm.out_proj.bias.detach().numpy(), (L, E)),
        **TOL[np.float64],
    )
    if need_weights:
        np.testing.assert_array_equal(w.detach().numpy()[1], 0)
    out.sum().backward()
    assert np.isfinite(a_in.grad.numpy()).all()


def test_mha_is_causal_hint():
    tm, am = make_mha_pair(batch_first=True)
    x = ax.tensor(rand(np.random.default_rng(8), N, L, E))
    causal = ax.tensor(np.triu(np.ones((L, L), bool), 1))
    with pytest.raises(RuntimeError, match="need attn_mask"):
        am(x, x, x, is_causal=True)
    a, _ = am(x, x, x, attn_mask=causal, need_weights=False, is_causal=True)
    b, _ = am(x, x, x, attn_mask=causal, need_weights=False)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    tx = torch.tensor(x.numpy())
    t, _ = tm(
        tx, tx, tx, attn_mask=torch.tensor(causal.numpy()), need_weights=False, is_causal=True
    )
    assert_close(a, t, **TOL[np.float64])


def test_mha_errors():
    with pytest.raises(AssertionError, match="embed_dim=10 and num_heads=4"):
        nn.MultiheadAttention(10, 4)
    m = nn.MultiheadAttention(E, HEADS)
    x = ax.randn(L, N, E)
    with pytest.raises(AssertionError, match=r"query \(4, 3, 6\)"):
        m(ax.randn(L, N, 6), x, x)
    with pytest.raises(AssertionError, match="unbatched 2D or batched 3D"):
        m(ax.randn(2, L, N, E), x, x)
    with pytest.raises(AssertionError, match="must all be 3-D"):
        m(x, ax.randn(L, E), ax.randn(L, E))
    with pytest.raises(AssertionError, match="key and value must agree"):
        m(x, ax.randn(5, N, E), ax.randn(6, N, E))
    with pytest.raises(AssertionError, match="different batch sizes"):
        m(x, ax.randn(5, 2, E), ax.randn(5, 2, E))
    with pytest.raises(AssertionError, match=r"key_padding_mask of shape \(3, 5\), got \(3, 4\)"):
        m(
            x,
            ax.randn(5, N, E),
            ax.randn(5, N, E),
            key_padding_mask=ax.tensor(np.zeros((3, 4), bool)),
        )
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(4, 4\) should be \(4, 5\)"):
        m(x, ax.randn(5, N, E), ax.randn(5, N, E), attn_mask=ax.zeros(4, 4))
    with pytest.raises(AssertionError, match="only bool and floating"):
        m(x, x, x, attn_mask=ax.tensor(np.zeros((L, L), int)))


# ============================================================ positional encodings


def torch_sinusoids(max_len: int, d: int) -> np.ndarray:
    """The table written the way the Transformer paper states it, in torch."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    i = torch.arange(d, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(10000.0, 2 * torch.div(i, 2, rounding_mode="floor") / d)
    return torch.where(i.long() % 2 == 0, torch.sin(angle), torch.cos(angle)).numpy()


@pytest.mark.parametrize("d", [6, 7])
def test_positional_encoding_formula_and_buffer(d):
    pe = nn.PositionalEncoding(d, max_len=50)
    assert_close(pe.pe.numpy(), torch_sinusoids(50, d), rtol=1e-6, atol=1e-6)
    assert pe.pe.dtype == np.float32 and not pe.pe.requires_grad
    assert "pe" in dict(pe.named_buffers()) and "pe" not in pe.state_dict()
    assert list(pe.parameters()) == []


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("learned", [False, True])
def test_positional_encodings_add_along_the_sequence(batch_first, learned):
    ax.manual_seed(0)
    layer = (
        nn.LearnedPositionalEncoding(6, 10, batch_first=batch_first)
        if learned
        else nn.PositionalEncoding(6, max_len=10, batch_first=batch_first)
    )
    table = (layer.embedding.weight if learned else layer.pe).detach().numpy()
    rng = np.random.default_rng(0)
    x = rand(rng, *((2, 4, 6) if batch_first else (4, 2, 6)), dtype=np.float32)
    a = ax.tensor(x, requires_grad=True)
    out = layer(a)
    expected = x + (table[None, :4] if batch_first else table[:4, None])
    assert_close(out, expected)
    one = x[0] if batch_first else x[:, 0]  # an unbatched (L, E) sequence
    assert_close(layer(ax.tensor(one)), one + table[:4], msg="unbatched (L, E)")
    g = rand(rng, *x.shape, dtype=np.float32)
    out.backward(g)
    assert_close(a.grad, g)
    if learned:
        gw = layer.embedding.weight.grad.numpy()
        assert_close(gw[:4], g.sum(0 if batch_first else 1))
        np.testing.assert_array_equal(gw[4:], 0)


def test_positional_encoding_dropout_only_in_training():
    layer = nn.PositionalEncoding(4, max_len=8, dropout=0.5)
    x = ax.ones(8, 3, 4)
    ax.manual_seed(0)
    y = layer(x).numpy()
    base = x.numpy() + layer.pe.numpy()[:, None]
    dropped = y == 0
    assert 0 < dropped.mean() < 1
    assert_close(y[~dropped], 2 * base[~dropped], rtol=1e-6, atol=1e-6)
    layer.eval()
    assert_close(layer(x), base)


@pytest.mark.parametrize("learned", [False, True])
def test_positional_encoding_errors(learned):
    name = "LearnedPositionalEncoding" if learned else "PositionalEncoding"
    layer = getattr(nn, name)(6, max_len=5) if not learned else nn.LearnedPositionalEncoding(6, 5)
    with pytest.raises(ValueError, match=f"{name}: the sequence has 7 positions.*max_len=5"):
        layer(ax.randn(7, 2, 6))
    with pytest.raises(ValueError, match=r"got shape \(3, 2, 4\)"):
        layer(ax.randn(3, 2, 4))
