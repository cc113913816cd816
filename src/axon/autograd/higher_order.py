"""Differentiable backward rules: what ``create_graph=True`` runs instead of ``Op.backward``.

An op's ``backward`` computes on arrays, so the gradient it returns records nothing. For a
second derivative (a gradient penalty, a Hessian-vector product) the backward pass itself
must record a graph. Each rule here is the op's backward written with Tensor ops:

* an input the rule needs is :func:`saved_input`: the leaf itself, or the array the node
  saved, wrapped as a Tensor produced by the node that made it, so the second backward
  reaches that node and everything before it;
* the node's own output (``exp``, ``tanh``, ``softmax`` reuse it) is :func:`saved_output`,
  a Tensor produced by the node itself.

Ops without a rule raise NotImplementedError naming the op (see ``SUPPORTED``).
"""

from __future__ import annotations

import math

from .. import backend as B
from . import ops
from .function import Op, _FunctionNode
from .tensor import Tensor, _wrap

RULES: dict = {}


def rule(*classes):
    """Register the decorated function as the differentiable backward of ``classes``."""

    def register(fn):
        for cls in classes:
            RULES[cls] = fn
        return fn

    return register


def graph_backward(node, g: Tensor) -> tuple:
    """The gradients of ``node``'s inputs as Tensors that record the graph."""
    fn = RULES.get(type(node))
    if fn is None and isinstance(node, _FunctionNode):
        fn = _function_rule
    if fn is None:
        raise NotImplementedError(
            f"create_graph=True: {node.name} has no differentiable backward yet (ops that "
            f"have one: {', '.join(sorted(SUPPORTED))})"
        )
    return fn(node, g)


def saved_input(node, i: int, value):
    """Input ``i`` of ``node`` (``value`` is what the node saved of it) as a Tensor whose
    gradient reaches what produced it; Python numbers stay numbers."""
    if B.of(value) is None:
        return value
    parent = node.parents[i]
    if parent is None:
        return _wrap(value)
    if isinstance(parent, Tensor):
        return parent
    return _wrap(value, True, parent)


def saved_output(node, value) -> Tensor:
    """``node``'s output (saved by its forward as ``value``) as a Tensor produced by it."""
    return _wrap(value, True, node)


def reduce_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum a broadcast gradient Tensor back down to ``shape`` (as ``function._reduce_to``)."""
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1
    )
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    return g.reshape(shape) if g.shape != shape else g


def _const(array) -> Tensor:
    return _wrap(B.namespace(array).asarray(array))


# ------------------------------------------------------------------ elementwise
@rule(ops.Add)
def _add(n, g):
    return g, g


@rule(ops.Sub)
def _sub(n, g):
    return g, -g


@rule(ops.Neg)
def _neg(n, g):
    return (-g,)


@rule(ops.Mul)
def _mul(n, g):  # Mul keeps a factor only where the other one needs a gradient
    pa, pb = n.parents
    return (
        g * saved_input(n, 1, n.b) if pa is not None else None,
        g * saved_input(n, 0, n.a) if pb is not None else None,
    )


@rule(ops.Div)
def _div(n, g):
    a, b = saved_input(n, 0, n.a), saved_input(n, 1, n.b)
    return g / b, -g * a / (b * b)


@rule(ops.Pow)
def _pow(n, g):
    a, b = saved_input(n, 0, n.a), saved_input(n, 1, n.b)
    if not isinstance(b, Tensor):  # a Python exponent
        return (g * 0 if b == 0 else g * (b * a ** (b - 1))), None
    return g * b * a ** (b - 1), g * saved_output(n, n.out) * a.log()


@rule(ops.Exp)
def _exp(n, g):
    return (g * saved_output(n, n.out),)


@rule(ops.Log)
def _log(n, g):
    return (g / saved_input(n, 0, n.a),)


@rule(ops.Sqrt)
def _sqrt(n, g):
    return (g / (2 * saved_output(n, n.out)),)


@rule(ops.Sin)
def _sin(n, g):
    return (g * saved_input(n, 0, n.a).cos(),)


@rule(ops.Cos)
def _cos(n, g):
    return (-g * saved_input(n, 0, n.a).sin(),)


@rule(ops.Abs)
def _abs(n, g):
    return (g * _const(B.namespace(n.a).sign(n.a)),)


@rule(ops.Tanh)
def _tanh(n, g):
    t = saved_output(n, n.out)
    return (g * (1 - t * t),)


@rule(ops.Sigmoid)
def _sigmoid(n, g):
    s = saved_output(n, n.out)
    return (g * s * (1 - s),)


@rule(ops.Relu)
def _relu(n, g):
    return (g * _const(n.mask),)


@rule(ops.LeakyRelu)
def _leaky_relu(n, g):
    return g * _const(B.namespace(n.mask).where(n.mask, 1.0, n.slope).astype(g.dtype)), None


@rule(ops.Where)
def _where(n, g):
    zero = g * 0
    cond = _const(n.cond)
    return None, ops.Where.apply(cond, g, zero), ops.Where.apply(cond, zero, g)


@rule(ops.Cast)
def _cast(n, g):
    return (g.type(n.in_dtype) if n.in_dtype.kind in "fc" else None), None


@rule(ops.CopyInto)
def _copy_into(n, g):
    g_dst = g * 0 if n.parents[0] is not None else None
    g_src = None
    if n.parents[1] is not None and n.src_dtype is not None and n.src_dtype.kind in "fc":
        g_src = g.type(n.src_dtype)
    return g_dst, g_src


@rule(ops.Clone)
def _clone(n, g):
    return (g,)


# ------------------------------------------------------------------ reductions
def _expand_back(g: Tensor, shape, axes, keepdim) -> Tensor:
    if axes is not None and not keepdim:
        for ax in sorted(axes):
            g = g.unsqueeze(ax)
    return g.expand(shape)


@rule(ops.Sum)
def _sum(n, g):
    return _expand_back(g, n.shape, n.axes, n.keepdim), None, None


@rule(ops.Mean)
def _mean(n, g):
    return _expand_back(g / n.n, n.shape, n.axes, n.keepdim), None, None


@rule(ops.Softmax)
def _softmax(n, g):
    s = saved_output(n, n.out)
    return s * (g - (g * s).sum(n.dim, keepdim=True)), None


@rule(ops.LogSoftmax)
def _log_softmax(n, g):
    return g - saved_output(n, n.out).exp() * g.sum(n.dim, keepdim=True), None


# ------------------------------------------------------------------ products and shapes
@rule(ops.MatMul)
def _matmul(n, g):
    a, b = saved_input(n, 0, n.a), saved_input(n, 1, n.b)
    a2 = a.unsqueeze(0) if a.ndim == 1 else a  # (k,) -> (1, k)
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b  # (k,) -> (k, 1)
    g2 = g.unsqueeze(-1) if b.ndim == 1 else g
    if a.ndim == 1:
        g2 = g2.unsqueeze(-2)
    ga = gb = None
    if n.parents[0] is not None:
        ga = g2 @ b2.transpose(-1, -2)
        if a.ndim == 1:
            ga = ga.reshape(-1, a.shape[0]).sum(0)
    if n.parents[1] is not None:
        gb = a2.transpose(-1, -2) @ g2
        if b.ndim == 1:
            gb = gb.reshape(-1, b.shape[0]).sum(0)
    return ga, gb


@rule(ops.Linear)
def _linear(n, g):
    x, w = saved_input(n, 0, n.x), saved_input(n, 1, n.w)
    px, pw, pb = n.parents
    g2 = g.reshape(-1, g.shape[-1])
    gx = g @ w if px is not None else None
    gw = g2.t() @ x.reshape(-1, x.shape[-1]) if pw is not None else None
    gb = g2.sum(0) if pb is not None else None
    return gx, gw, gb


@rule(ops.Reshape)
def _reshape(n, g):
    return g.reshape(n.in_shape), None


@rule(ops.Permute)
def _permute(n, g):
    inv = [0] * len(n.axes)
    for i, ax in enumerate(n.axes):
        inv[ax] = i
    return g.permute(inv), None


@rule(ops.Expand)
def _expand(n, g):
    return g, None  # the engine sums it back to the input's shape


@rule(ops.Index)
def _index(n, g):
    return _AddAt.apply(g, n.shape, n.index), None


# ------------------------------------------------------------------ more activations
@rule(ops.Elu)
def _elu(n, g):
    # on the negative side elu' = out + alpha: the output (a Tensor of this node) carries it
    xp = B.namespace(n.em1)
    out = saved_output(n, xp.where(n.mask, 0, n.em1).astype(n.em1.dtype))
    coef = ops.Where.apply(_const(n.mask), _const(xp.ones((), n.em1.dtype)), out + n.alpha)
    return g * coef, None


@rule(ops.Softplus)
def _softplus(n, g):
    a = saved_input(n, 0, n.a)
    coef = ops.Where.apply(
        _const(n.a * n.beta > n.threshold),
        _const(B.namespace(n.a).ones((), n.a.dtype)),
        (a * n.beta).sigmoid(),
    )
    return g * coef, None, None


@rule(ops.Silu)
def _silu(n, g):
    a = saved_input(n, 0, n.a)
    s = a.sigmoid()
    return (g * s * (1 + a * (1 - s)),)


@rule(ops.Gelu)
def _gelu(n, g):
    a = saved_input(n, 0, n.a)
    if n.approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)
        t = (k * (a + 0.044715 * a * a * a)).tanh()
        return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * (k * (1 + 3 * 0.044715 * a * a))), None
    cdf = 0.5 * (1 + ops.Erf.apply(a / math.sqrt(2.0)))
    pdf = (-0.5 * a * a).exp() / math.sqrt(2.0 * math.pi)
    return g * (cdf + a * pdf), None


@rule(ops.Log1p)
def _log1p(n, g):
    return (g / (1 + saved_input(n, 0, n.a)),)


@rule(ops.Expm1)
def _expm1(n, g):
    return (g * (saved_output(n, n.out) + 1),)


_LN2, _LN10 = math.log(2.0), math.log(10.0)


@rule(ops.Tan)
def _tan(n, g):
    t = saved_output(n, n.out)
    return (g * (1 + t * t),)


@rule(ops.Exp2)
def _exp2(n, g):
    return (g * saved_output(n, n.out) * _LN2,)


def _of_input(derivative):
    """A rule ``g * derivative(a)`` for an op that saved its input as ``n.a``."""
    return lambda n, g: (g * derivative(saved_input(n, 0, n.a)),)


for _cls, _derivative in (
    (ops.Sinh, lambda a: a.cosh()),
    (ops.Cosh, lambda a: a.sinh()),
    (ops.Atan, lambda a: 1 / (1 + a * a)),
    (ops.Asin, lambda a: 1 / (1 - a * a).sqrt()),
    (ops.Acos, lambda a: -1 / (1 - a * a).sqrt()),
    (ops.Asinh, lambda a: 1 / (a * a + 1).sqrt()),
    (ops.Acosh, lambda a: 1 / (a * a - 1).sqrt()),
    (ops.Atanh, lambda a: 1 / (1 - a * a)),
    (ops.Log2, lambda a: 1 / (a * _LN2)),
    (ops.Log10, lambda a: 1 / (a * _LN10)),
):
    RULES[_cls] = _of_input(_derivative)


# ------------------------------------------------------------------ piecewise selections
# their second derivatives vanish almost everywhere: the masks are constants
@rule(ops.Clamp)
def _clamp(n, g):
    a, lo, hi = n.a, n.lo, n.hi
    _, p_lo, p_hi = n.parents
    inside = B.namespace(a).ones(a.shape, bool)
    if lo is not None:
        inside &= a >= lo
    if hi is not None:
        inside &= a <= hi
    g_lo = g_hi = None
    if p_lo is not None:
        g_lo = g * _const((a < lo) & (lo < hi) if hi is not None else a < lo)
    if p_hi is not None:
        g_hi = g * _const((a > hi) | (hi < lo) if lo is not None else a > hi)
    return g * _const(inside), g_lo, g_hi


@rule(ops.Maximum, ops.Minimum)
def _maximum(n, g):
    a, b = n.a, n.b
    wa = ((a > b) if isinstance(n, ops.Maximum) else (a < b)) + 0.5 * (a == b)
    wa = B.namespace(wa).asarray(wa, dtype=g.dtype)
    return g * _const(wa), g * _const(1 - wa)


@rule(ops.Amax)
def _amax(n, g):
    mask = n.a == n.out
    count = mask.sum(axis=n.axes, keepdims=True)
    if not n.keepdim:
        g = g.reshape(n.out.shape)
    return g * _const((mask / count).astype(g.dtype)), None, None


# ------------------------------------------------------------------ reductions with state
class _AddAt(Op):
    """Scatter-add ``g`` into zeros at ``index`` (repeats add up); backward gathers."""

    def forward(self, g, shape, index):
        self.index = index
        full = self.xp.zeros(shape, dtype=g.dtype)
        self.backend.scatter_add(full, index, g)
        return full

    def backward(self, gg):
        return gg[self.index], None, None


class _Centered(Op):
    """``a - mean(a, axes)`` given its value; backward is the same projection."""

    def forward(self, a, centered, axes):
        self.axes = axes
        return centered

    def backward(self, g):
        return g - g.mean(axis=self.axes, keepdims=True), None, None


class _SavedSoftmax(Op):
    """``softmax(a, axes)`` given its value ``p``; backward p (g - sum(g p))."""

    def forward(self, a, p, axes):
        self.p, self.axes = p, axes
        return p

    def backward(self, g):
        p = self.p
        return p * (g - (g * p).sum(axis=self.axes, keepdims=True)), None, None


def _placeholder(n, i: int, value) -> Tensor:
    """A Tensor standing for input ``i`` (shaped like it) that leads to its producer: the
    helper ops above ignore its values and only route gradients through it."""
    return saved_input(n, i, value) if n.parents[i] is not None else _wrap(value)


@rule(ops.Var, ops.Std)
def _var(n, g):
    if isinstance(n, ops.Std):  # std = sqrt(var): d std = d var / (2 std), 0 where std == 0
        out = saved_output(n, n.out)
        g = g / (2 * out) * _const(n.out != 0)
    g = _expand_back(g, n.shape, n.axes, n.keepdim)
    centered = _Centered.apply(_placeholder(n, 0, n.centered), n.centered, n.axes)
    return g * centered * (2 / n.denom), None, None, None


@rule(ops.Norm)
def _norm(n, g):
    if n.p != 2:
        raise NotImplementedError(
            "create_graph=True: only the 2-norm has a differentiable backward yet"
        )
    a = saved_input(n, 0, n.a)
    norm = saved_output(n, n.out if n.keepdim else n.out.reshape(n.out_shape))
    if not n.keepdim:
        g, norm = g.reshape(n.out.shape), norm.reshape(n.out.shape)
    return g * a / norm * _const(n.out != 0), None, None, None


@rule(ops.LogSumExp)
def _logsumexp(n, g):
    if not n.keepdim:
        for ax in sorted(n.axes if n.axes is not None else range(len(n.shape))):
            g = g.unsqueeze(ax)
    p = n.e / n.s
    return g * _SavedSoftmax.apply(_placeholder(n, 0, p), p, n.axes), None, None


# ------------------------------------------------------------------ joins and gathers
@rule(ops.Cat)
def _cat(n, g):
    out, start = [None], 0
    for size in n.sizes:
        out.append(g.narrow(n.dim, start, size))
        start += size
    return tuple(out)


@rule(ops.Stack)
def _stack(n, g):
    return (None, *(g.select(n.dim, i) for i in range(g.shape[n.dim])))


@rule(ops.Pad)
def _pad(n, g):
    if n.crop is not None:
        raise NotImplementedError(
            "create_graph=True: negative padding has no differentiable backward yet"
        )
    sl = tuple(slice(lo, g.shape[d] - hi) for d, (lo, hi) in enumerate(n.width))
    return g[sl], None, None


@rule(ops.Repeat)
def _repeat(n, g):
    lead = len(n.reps) - len(n.in_shape)
    shape = (1,) * lead + n.in_shape
    split = []
    for r, s in zip(n.reps, shape, strict=True):
        split += [r, s]
    g = g.reshape(split).sum(tuple(range(0, len(split), 2)))
    return g.reshape(n.in_shape), None


@rule(ops.Gather)
def _gather(n, g):
    return _AddAt.apply(g, n.shape, n.where), None, None


# ------------------------------------------------------------------ custom Functions
def _function_rule(n, g):
    """A user's ``Function.backward`` run with recording on: exact when every tensor it
    saved is one of its inputs (a saved output, made without recording, would hide its
    dependence on the inputs, so that case raises)."""
    ctx, fn_cls = n.ctx, n.fn_cls
    inputs = getattr(ctx, "_inputs", ())
    for t in getattr(ctx, "saved_tensors", ()):
        if isinstance(t, Tensor) and not any(t is a for a in inputs):
            raise NotImplementedError(
                f"create_graph=True: {fn_cls.__name__}.backward uses a tensor saved in "
                f"forward that is not one of its inputs; save the inputs and recompute "
                f"from them to differentiate it twice"
            )
    grads = fn_cls.backward(ctx, g)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(n.parents):
        raise RuntimeError(
            f"{fn_cls.__name__}.backward returned {len(grads)} gradients, but "
            f"forward took {len(n.parents)} inputs"
        )
    return tuple(
        None if gi is None else gi if isinstance(gi, Tensor) else _const(gi) for gi in grads
    )


SUPPORTED = {cls.__name__ for cls in RULES} | {"Function (saving only its inputs)"}
