"""The autograd API as torch's, checked against torch: ``autograd.grad`` / ``backward``,
tensor hooks, ``retain_grad``, the grad-mode switches, and the small tensor queries
programs use (``f"{loss:.4f}"``, ``is_contiguous``, ``numel``, ...)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from tests.helpers import assert_close

A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
B = np.array([1.0, -2.0, 0.5])


def _graph(L, a, b):
    """A small graph with a reused leaf and an intermediate: returns (h, out)."""
    h = (a * b).tanh()
    return h, (h * a + b.exp()).sum()


def _leaves(L):
    return (L.tensor(A, requires_grad=True), L.tensor(B, requires_grad=True))


# ------------------------------------------------------------------ autograd.grad
def test_grad_of_leaves_and_an_intermediate_matches_torch():
    ta, tb = _leaves(torch)
    th, tout = _graph(torch, ta, tb)
    expected = torch.autograd.grad(tout, [ta, th, tb])
    aa, ab = _leaves(ax)
    ah, aout = _graph(ax, aa, ab)
    got = ax.autograd.grad(aout, [aa, ah, ab])
    assert len(got) == 3
    for g, e in zip(got, expected, strict=True):
        assert_close(g, e, rtol=1e-12, atol=1e-12)
    assert aa.grad is None and ab.grad is None  # grad() accumulates nothing


def test_grad_with_grad_outputs_and_several_outputs():
    ta, tb = _leaves(torch)
    aa, ab = _leaves(ax)
    go = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    expected = torch.autograd.grad(
        [ta * tb, (ta**2).sum()], [ta, tb], grad_outputs=[torch.tensor(go), None]
    )
    got = ax.autograd.grad([aa * ab, (aa**2).sum()], [aa, ab], grad_outputs=[ax.tensor(go), None])
    for g, e in zip(got, expected, strict=True):
        assert_close(g, e, rtol=1e-12, atol=1e-12)


def test_grad_retain_graph_allows_a_second_call():
    aa, ab = _leaves(ax)
    _, out = _graph(ax, aa, ab)
    first = ax.autograd.grad(out, aa, retain_graph=True)
    second = ax.autograd.grad(out, aa)
    assert_close(first[0], second[0], rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="second time"):
        ax.autograd.grad(out, aa)


def test_grad_unused_inputs_as_torch():
    for L in (torch, ax):
        a, b = _leaves(L)
        out = (a * 2).sum()
        with pytest.raises(RuntimeError, match="allow_unused=True"):
            L.autograd.grad(out, [a, b], retain_graph=True)
        ga, gb = L.autograd.grad(out, [a, b], allow_unused=True, retain_graph=True)
        assert gb is None
        ga, gb = L.autograd.grad(out, [a, b], materialize_grads=True)
        assert_close(gb, np.zeros(3), rtol=0, atol=0)


def test_grad_refuses_inputs_and_outputs_without_grad():
    for L in (torch, ax):
        a, b = _leaves(L)
        with pytest.raises(RuntimeError, match="does not require grad"):
            L.autograd.grad((a * 2).sum(), [L.ones(3)])
        with pytest.raises(RuntimeError, match="does not require grad"):
            L.autograd.grad(L.ones(3).sum(), [a])
        with pytest.raises(RuntimeError, match="scalar outputs"):
            L.autograd.grad(a * 2, [a])


# ------------------------------------------------------------------ create_graph
UNARY = {
    "exp": lambda x: x.exp(),
    "log": lambda x: x.abs().log(),
    "sqrt": lambda x: x.abs().sqrt(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu() * x,
    "cube": lambda x: x**3,
    "pow_frac": lambda x: x.abs() ** 2.5,
    "neg": lambda x: -x * x,
    "leaky_relu": lambda x: (
        (x.leaky_relu(0.1) if isinstance(x, ax.Tensor) else torch.nn.functional.leaky_relu(x, 0.1))
        * x
    ),
    "reciprocal": lambda x: 1 / (x * x + 1),
    "softmax": lambda x: x.softmax(-1) * x,
    "log_softmax": lambda x: x.log_softmax(0) ** 2,
    "mean": lambda x: x.mean(1, keepdim=True) * x,
    "cast": lambda x: x.float().double() ** 3,
    "reshape_t": lambda x: (x.reshape(3, 2).t() ** 2) * x,
    "index": lambda x: x[1:, ::2] ** 3,
    "index_repeated": lambda x: x[:, [0, 2, 0]] ** 3,
    "elu": lambda x: _F(x).elu(x, 0.7) * x,
    "softplus": lambda x: _F(x).softplus(x, beta=1.5) * x,
    "silu": lambda x: _F(x).silu(x) * x,
    "gelu": lambda x: _F(x).gelu(x) * x,
    "gelu_tanh": lambda x: _F(x).gelu(x, approximate="tanh") * x,
    "log1p": lambda x: (x * x).log1p(),
    "expm1": lambda x: (x * x).expm1(),
    "clamp": lambda x: x.clamp(-1.0, 1.0) * x * x,
    "maximum": lambda x: x.maximum(x * 0.5) * x,
    "amax": lambda x: x.amax(1) * x.sum(1) * (x * x).amax(),
    "var": lambda x: x.var(1) * x.sum(1),
    "std": lambda x: x.std() * x,
    "norm": lambda x: x.norm(dim=0) * x,
    "logsumexp": lambda x: x.logsumexp(1) ** 2,
    "cat_stack": lambda x: (_L(x).cat([x, x * x], 1) ** 2).sum() * _L(x).stack([x, x]).sum(0),
    "pad_repeat": lambda x: (_F(x).pad(x, (1, 2)) ** 3).sum() * x.repeat(2, 1).sum(0),
    "gather": lambda x: x.gather(1, _L(x).tensor([[0, 0, 2], [1, 2, 1]])) ** 3,
    "tan": lambda x: (x * 0.5).tan(),
    "exp2": lambda x: x.exp2() if hasattr(x, "exp2") else 2**x,
    "sinh": lambda x: x.sinh(),
    "cosh": lambda x: x.cosh(),
    "atan": lambda x: x.atan(),
    "asin": lambda x: (x * 0.5).asin(),
    "acos": lambda x: (x * 0.5).acos(),
    "asinh": lambda x: x.asinh(),
    "acosh": lambda x: (x * x + 1.5).acosh(),
    "atanh": lambda x: (x * 0.5).atanh(),
    "log2": lambda x: (x * x + 1).log2(),
    "log10": lambda x: (x * x + 1).log10(),
}


def _L(x):
    """The library ``x`` belongs to."""
    return ax if isinstance(x, ax.Tensor) else torch


def _F(x):
    return _L(x).nn.functional


X = np.array([[0.3, -1.2, 0.8], [1.5, 0.4, -0.6]])


def _second_derivative(L, f):
    """d/dx of sum(d f(x).sum() / dx * w): a Hessian-vector product."""
    x = L.tensor(X, requires_grad=True)
    (g,) = L.autograd.grad(f(x).sum(), x, create_graph=True)
    assert g.requires_grad
    w = L.tensor(np.arange(6.0).reshape(2, 3) - 2)
    (h,) = L.autograd.grad((g * w).sum(), x)
    return g, h


@pytest.mark.parametrize("name", sorted(UNARY))
def test_double_backward_of_unary_ops_matches_torch(name):
    g_a, h_a = _second_derivative(ax, UNARY[name])
    g_t, h_t = _second_derivative(torch, UNARY[name])
    assert_close(g_a, g_t.detach(), rtol=1e-12, atol=1e-12)
    assert_close(h_a, h_t, rtol=1e-12, atol=1e-12)


def test_double_backward_of_binary_broadcasting_ops_matches_torch():
    def f(L, a, b):
        return ((a * b) / (b * b + 1) - (a * a + 1) ** b + L.matmul(a, b.t()).sum() * a).sum()

    results = []
    for L in (torch, ax):
        a = L.tensor(X, requires_grad=True)
        b = L.tensor(np.array([[0.5, -0.25, 1.5]]), requires_grad=True)
        ga, gb = L.autograd.grad(f(L, a, b), [a, b], create_graph=True)
        results.append(L.autograd.grad((ga**2).sum() + (gb * ga.sum(0)).sum(), [a, b]))
    for got, expected in zip(results[1], results[0], strict=True):
        assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_gradient_penalty_trains_as_torch():
    """WGAN-GP's penalty: the norm of d critic / d input, differentiated by the weights."""
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(4, 3)), rng.normal(size=4)
    w2, b2 = rng.normal(size=(1, 4)), rng.normal(size=1)
    xs = rng.normal(size=(5, 3))
    grads = []
    for L in (torch, ax):
        net = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.Tanh(), L.nn.Linear(4, 1)).double()
        with L.no_grad():
            for p, v in zip(net.parameters(), (w1, b1, w2, b2), strict=True):
                p.copy_(L.tensor(v))
        x = L.tensor(xs, requires_grad=True)
        (gx,) = L.autograd.grad(net(x).sum(), x, create_graph=True)
        penalty = (((gx * gx).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()
        penalty.backward()
        grads.append([p.grad for p in net.parameters()])
    assert grads[0][-1] is None and grads[1][-1] is None  # the last bias leaves gx alone
    for got, expected in zip(grads[1][:-1], grads[0][:-1], strict=True):
        assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_backward_with_create_graph_keeps_the_graph_of_grad():
    for L in (torch, ax):
        x = L.tensor([0.5, 2.0], dtype=L.float64, requires_grad=True)
        (x**3).sum().backward(create_graph=True)
        g = x.grad
        assert g.requires_grad
        x.grad = None
        g.sum().backward()
        assert_close(x.grad, np.array([3.0, 12.0]), rtol=1e-12, atol=0)


def test_double_backward_of_an_op_without_a_rule_names_it():
    x = ax.tensor(X, requires_grad=True)
    with pytest.raises(NotImplementedError, match="CumsumBackward"):
        ax.autograd.grad(x.cumsum(1).sum(), x, create_graph=True)


# ------------------------------------------------------------------ autograd.backward
def test_backward_function_and_inputs_match_torch():
    ta, tb = _leaves(torch)
    torch.autograd.backward([_graph(torch, ta, tb)[1]], [torch.tensor(2.0, dtype=torch.float64)])
    aa, ab = _leaves(ax)
    ax.autograd.backward([_graph(ax, aa, ab)[1]], [ax.tensor(2.0, dtype=ax.float64)])
    assert_close(aa.grad, ta.grad, rtol=1e-12, atol=1e-12)
    assert_close(ab.grad, tb.grad, rtol=1e-12, atol=1e-12)
    ta, tb = _leaves(torch)
    _graph(torch, ta, tb)[1].backward(inputs=[tb])
    aa, ab = _leaves(ax)
    _graph(ax, aa, ab)[1].backward(inputs=[ab])
    assert aa.grad is None and ta.grad is None
    assert_close(ab.grad, tb.grad, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ hooks
def _hooked(L, calls):
    """A leaf used twice whose hook doubles its gradient; an intermediate whose hook
    negates the gradient flowing below it."""
    a, b = _leaves(L)
    a.register_hook(lambda g: calls.append(("a", g.clone())) or g * 2)
    h = a * b
    h.register_hook(lambda g: calls.append(("h", g.clone())) or -g)
    (h.sin() * a).sum().backward()
    return a, b, calls


def test_hooks_on_leaves_and_intermediates_match_torch():
    ta, tb, tcalls = _hooked(torch, [])
    aa, ab, acalls = _hooked(ax, [])
    assert [n for n, _ in acalls] == [n for n, _ in tcalls] == ["h", "a"]
    for (_, g), (_, e) in zip(acalls, tcalls, strict=True):  # the leaf's hook sees the sum
        assert_close(g, e, rtol=1e-12, atol=1e-12)
    assert_close(aa.grad, ta.grad, rtol=1e-12, atol=1e-12)
    assert_close(ab.grad, tb.grad, rtol=1e-12, atol=1e-12)


def test_hook_handle_remove_and_grad_hooks():
    a = ax.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = a.register_hook(lambda g: seen.append(g.clone()))
    (a * 3).sum().backward()
    handle.remove()
    (a * 3).sum().backward()
    assert len(seen) == 1
    assert_close(a.grad, np.array([6.0, 6.0]), rtol=0, atol=0)
    b = ax.tensor([1.0, 2.0], requires_grad=True)
    b.register_hook(lambda g: g * 10)
    (g,) = ax.autograd.grad((b * b).sum(), b)  # autograd.grad runs tensor hooks too
    assert_close(g, np.array([20.0, 40.0]), rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ax.ones(2).register_hook(lambda g: g)


def test_retain_grad_and_requires_grad_():
    ta, tb = _leaves(torch)
    th, tout = _graph(torch, ta, tb)
    th.retain_grad()
    tout.backward()
    aa, ab = _leaves(ax)
    ah, aout = _graph(ax, aa, ab)
    ah.retain_grad()
    aout.backward()
    assert_close(ah.grad, th.grad, rtol=1e-12, atol=1e-12)
    x = ax.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(RuntimeError):
        ax.ones(2, dtype=ax.int64).requires_grad_()


# ------------------------------------------------------------------ grad modes
def test_grad_mode_switches_as_torch():
    x = ax.ones(2, requires_grad=True)
    with ax.inference_mode():
        assert ax.is_inference_mode_enabled() and not ax.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert not ax.is_inference_mode_enabled() and ax.is_grad_enabled()
    with ax.inference_mode(False):
        assert (x * 2).requires_grad

    @ax.inference_mode()
    def infer():
        return x * 2

    @ax.inference_mode
    def infer_bare():
        return x * 2

    @ax.no_grad()
    def frozen():
        return x * 2

    assert not infer().requires_grad and not infer_bare().requires_grad
    assert not frozen().requires_grad and ax.is_grad_enabled()

    @ax.set_grad_enabled(False)
    def off():
        return ax.is_grad_enabled()

    assert ax.is_grad_enabled() and off() is False and ax.is_grad_enabled()
    try:
        ax.set_grad_enabled(False)  # the function form switches at once
        assert not ax.is_grad_enabled()
        with ax.enable_grad():
            assert (x * 2).requires_grad
        with ax.set_grad_enabled(True):
            assert ax.is_grad_enabled()
        assert not ax.is_grad_enabled()
    finally:
        ax.set_grad_enabled(True)


# ------------------------------------------------------------------ small queries
@pytest.mark.parametrize("spec", [".4f", ".2e", "", "8.3f", ".1%"])
def test_format_of_a_zero_d_tensor_as_torch(spec):
    assert format(ax.tensor(1.23456), spec) == format(torch.tensor(1.23456), spec)
    assert f"{ax.tensor(3)}" == f"{torch.tensor(3)}"


def test_format_of_a_vector():
    with pytest.raises(TypeError):
        format(torch.tensor([1.0, 2.0]), ".2f")
    with pytest.raises(TypeError):
        format(ax.tensor([1.0, 2.0]), ".2f")
    assert f"{ax.tensor([1.0, 2.0])}" == str(ax.tensor([1.0, 2.0]))


def test_contiguity_and_sizes_as_torch():
    for L in (torch, ax):
        x = L.ones(2, 3, dtype=L.float64)
        t = x.t()
        assert x.is_contiguous() and not t.is_contiguous()
        c = t.contiguous()
        assert c.is_contiguous() and x.contiguous() is x
        assert x.element_size() == 8 and L.ones(2, dtype=L.int32).element_size() == 4
        assert x.numel() == x.nelement() == L.numel(x) == 6
        assert x.ndimension() == 2 and x.dim() == 2
        assert L.is_tensor(x) and not L.is_tensor([1])
        assert L.is_floating_point(x) and not L.is_floating_point(L.ones(1, dtype=L.int64))
        assert not x.is_cuda
    y = ax.ones(2, 3, requires_grad=True)
    y.t().contiguous().sum().backward()  # the copy records the graph
    assert_close(y.grad, np.ones((2, 3)), rtol=0, atol=0)


def test_shape_is_a_size_as_torch():
    for L in (torch, ax):
        x = L.ones(2, 3)
        assert isinstance(x.shape, tuple) and isinstance(x.shape, L.Size)
        assert x.shape == (2, 3) and x.size() == (2, 3) and x.shape.numel() == 6
        assert isinstance(x.shape[1:], L.Size) and x.shape[-1] == 3
        assert isinstance(x.shape + (4,), L.Size) and x.size(-2) == 2
        assert L.Size([2, 3]) == x.shape
        with pytest.raises(IndexError, match="Dimension"):
            x.size(2)
        with pytest.raises(IndexError, match="no dimensions"):
            L.tensor(1.0).size(0)
    assert repr(ax.ones(2, 3).shape) == repr(torch.ones(2, 3).shape).replace("torch", "axon")


def test_legacy_variable_and_anomaly_switches_as_torch():
    for L in (torch, ax):
        x = L.ones(2)
        v = L.autograd.Variable(x, requires_grad=True)
        assert v is not x and v.requires_grad and v.is_leaf and not x.requires_grad
        v.data[0] = 5.0  # the storage is shared
        assert float(x[0]) == 5.0
        assert not L.is_anomaly_enabled()
        with L.autograd.detect_anomaly():
            assert L.is_anomaly_enabled()
        with L.autograd.set_detect_anomaly(True):
            assert L.is_anomaly_enabled()
        assert not L.is_anomaly_enabled()


# ------------------------------------------------------------------ autograd.functional
FX = np.array([[0.3, -1.2], [0.8, 1.5]])
FY = np.array([0.5, -0.25])
FV = (np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([0.3, 0.7]))


def _scalar_fn(x, y):
    return (x.tanh() * y).sum() + (x * x * y.exp()).sum()


def _vector_fn(x, y):
    return (x.sin() @ y, (x * 2).exp())


def _flat(result):
    """Every Tensor of a nested tuple result, in order."""
    if isinstance(result, tuple | list):
        return [t for r in result for t in _flat(r)]
    return [result]


FUNCTIONAL = {
    "jacobian": lambda L, x, y, v: L.autograd.functional.jacobian(_vector_fn, (x, y)),
    "jacobian_single": lambda L, x, y, v: L.autograd.functional.jacobian(
        lambda a: a.sigmoid() * a, x
    ),
    "hessian": lambda L, x, y, v: L.autograd.functional.hessian(_scalar_fn, (x, y)),
    "hessian_single": lambda L, x, y, v: L.autograd.functional.hessian(
        lambda a: (a.exp() * a).sum(), x
    ),
    "vjp": lambda L, x, y, v: L.autograd.functional.vjp(_vector_fn, (x, y), (v[1], v[0])),
    "jvp": lambda L, x, y, v: L.autograd.functional.jvp(_vector_fn, (x, y), v),
    "hvp": lambda L, x, y, v: L.autograd.functional.hvp(_scalar_fn, (x, y), v),
    "vhp": lambda L, x, y, v: L.autograd.functional.vhp(_scalar_fn, (x, y), v),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_autograd_functional_matches_torch(name):
    results = []
    for L in (torch, ax):
        x, y = L.tensor(FX), L.tensor(FY)
        results.append(_flat(FUNCTIONAL[name](L, x, y, tuple(L.tensor(a) for a in FV))))
        assert not x.requires_grad and x.grad is None  # the caller's tensors are untouched
    assert len(results[0]) == len(results[1])
    for got, expected in zip(results[1], results[0], strict=True):
        assert not got.requires_grad
        assert_close(got, expected, rtol=1e-12, atol=1e-12)


def _cube(L):
    class Cube(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2

    return Cube


def test_double_backward_through_a_custom_function_matches_torch():
    results = []
    for L in (torch, ax):
        x = L.tensor(X, requires_grad=True)
        (g,) = L.autograd.grad(_cube(L).apply(x.sin()).sum(), x, create_graph=True)
        results.append(L.autograd.grad((g * g).sum(), x)[0])
    assert_close(results[1], results[0], rtol=1e-12, atol=1e-12)


def test_double_backward_of_a_function_saving_its_output_is_refused():
    class Exp(ax.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.saved_tensors[0]

    x = ax.tensor(X, requires_grad=True)
    with pytest.raises(NotImplementedError, match="Exp.backward"):
        ax.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    assert isinstance(ax.float32, ax.dtype) and isinstance(x.dtype, ax.dtype)


def test_math_constants_as_torch():
    for name in ("pi", "e", "inf"):
        assert getattr(ax, name) == getattr(torch, name)
    assert np.isnan(ax.nan) and np.isnan(torch.nan)


@pytest.mark.parametrize("element", [2.0, 3, 5, True])
def test_membership_as_torch(element):
    data = [[1.0, 2.0], [3.0, 4.0]]
    assert (element in ax.tensor(data)) == (element in torch.tensor(data))


VIEWS = [lambda t: t, lambda t: t[1:, 2:], lambda t: t.t(), lambda t: t[:, ::2], lambda t: t[2]]


@pytest.mark.parametrize("view", VIEWS)
def test_strides_and_offsets_as_torch(view):
    got, expected = view(ax.ones(4, 6)), view(torch.ones(4, 6))
    assert got.stride() == expected.stride()
    assert got.storage_offset() == expected.storage_offset()


def test_memory_layout_queries_as_torch():
    for L in (torch, ax):
        base = L.ones(4, 6, dtype=L.float64)
        assert base[1:, 2:].stride(-1) == 1
        assert base.nbytes == 192 and base.itemsize == 8
        assert not base.is_sparse and not base.is_quantized and not base.is_meta
        assert not base.is_inference() and not base.retains_grad
        y = base.requires_grad_() * 2
        y.retain_grad()
        assert y.retains_grad
        assert base[1:].data_ptr() == base.data_ptr() + 6 * 8
