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

import numpy as np

from . import ops
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
    if fn is None:
        raise NotImplementedError(
            f"create_graph=True: {node.name} has no differentiable backward yet (ops that "
            f"have one: {', '.join(sorted(SUPPORTED))})"
        )
    return fn(node, g)


def saved_input(node, i: int, value):
    """Input ``i`` of ``node`` (``value`` is what the node saved of it) as a Tensor whose
    gradient reaches what produced it; Python numbers stay numbers."""
    if not isinstance(value, np.ndarray):
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
    return _wrap(np.asarray(array))


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
def _mul(n, g):
    a, b = saved_input(n, 0, n.a), saved_input(n, 1, n.b)
    return g * b, g * a


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
    return (g * _const(np.sign(n.a)),)


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
    return (g * _const(n.out > 0),)


@rule(ops.LeakyRelu)
def _leaky_relu(n, g):
    return g * _const(np.where(n.mask, 1.0, n.slope).astype(g.dtype)), None


@rule(ops.Where)
def _where(n, g):
    zero = g * 0
    cond = _const(n.cond)
    return None, ops.Where.apply(cond, g, zero), ops.Where.apply(cond, zero, g)


@rule(ops.Cast)
def _cast(n, g):
    return (g.type(n.in_dtype) if n.in_dtype.kind in "fc" else None), None


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
    from .ops.index import _is_basic

    if not _is_basic(n.index):
        raise NotImplementedError(
            "create_graph=True: indexing with integer arrays has no differentiable backward "
            "yet (basic indexing and boolean masks have one)"
        )
    zeros = _wrap(np.zeros(n.shape, dtype=g.dtype))
    return ops.IndexPut.apply(zeros, n.index, g), None


SUPPORTED = {cls.__name__ for cls in RULES}
