"""``axon.autograd.functional``: torch.autograd.functional's Jacobians and Hessians.

Each function takes ``func`` (Tensors in, a Tensor or a tuple of Tensors out) and the
point ``inputs`` (a Tensor or a tuple). Inputs are detached copies that require grad, so
the caller's tensors are left alone. Built on :func:`axon.autograd.grad`; second
derivatives (``hessian``, ``hvp``, ``vhp``, ``jvp``) use ``create_graph`` and so need ops
with a differentiable backward (``axon.autograd.higher_order.SUPPORTED``). A Jacobian is
made one output element at a time (reverse mode).
"""

from __future__ import annotations

from ..backend import xp
from .function import grad
from .tensor import Tensor, _wrap

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x, name: str) -> tuple[bool, tuple]:
    """``(was_tuple, items)``; every item must be a Tensor."""
    is_tuple = isinstance(x, tuple | list)
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"The {name} given to the function must be either a Tensor or a "
                f"tuple of Tensors but the value at index {i} has type "
                f"{type(t).__name__}."
            )
    return is_tuple, items


def _fresh(inputs: tuple, create_graph: bool) -> tuple:
    """Leaves to differentiate at: the inputs themselves under ``create_graph`` (so the
    result stays differentiable by them), detached copies otherwise."""
    if create_graph:
        return tuple(t if t.requires_grad else t.detach().requires_grad_() for t in inputs)
    return tuple(t.detach().requires_grad_() for t in inputs)


def _grads(outputs, inputs, grad_outputs, create_graph: bool) -> tuple:
    """``grad`` with unused inputs given zeros, the graph kept for the next call."""
    gs = grad(
        outputs,
        inputs,
        grad_outputs,
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    return tuple(
        _wrap(xp.zeros_like(t.array)) if g is None else g for g, t in zip(gs, inputs, strict=True)
    )


def _detach_all(xs: tuple, create_graph: bool) -> tuple:
    return xs if create_graph else tuple(x.detach() for x in xs)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    in_tuple, xs = _as_tuple(inputs, "inputs")
    xs = _fresh(xs, create_graph)
    out = func(*xs)
    out_tuple, outs = _as_tuple(out, "outputs of the user-provided function")
    if v is None:
        if any(o.numel() != 1 for o in outs):
            raise RuntimeError(
                "The vector v can only be None if the user-provided function "
                "returns a single Tensor with a single element."
            )
        vs = None
    else:
        vs = _as_tuple(v, "v")[1]
    g = _grads(outs, xs, vs, create_graph)
    outs = _detach_all(outs, create_graph)
    return (outs if out_tuple else outs[0]), (g if in_tuple else g[0])


def jacobian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """The Jacobian of ``func`` at ``inputs``: for one input and one output a Tensor of shape
    ``output.shape + input.shape``; tuples of them (outputs first) otherwise."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    in_tuple, xs = _as_tuple(inputs, "inputs")
    xs = _fresh(xs, create_graph)
    out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function")
    jac = []
    for o in outs:
        flat = o.reshape(-1)
        rows = [_grads(flat[i], xs, None, create_graph) for i in range(flat.shape[0])]
        per_input = []
        for j, x in enumerate(xs):
            if rows:
                from .creation import stack

                block = stack([r[j] for r in rows]).reshape(o.shape + x.shape)
            else:
                block = _wrap(xp.zeros(o.shape + x.shape, dtype=x.array.dtype))
            per_input.append(block if create_graph else block.detach())
        jac.append(tuple(per_input) if in_tuple else per_input[0])
    return tuple(jac) if out_tuple else jac[0]


def hessian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The Hessian of a scalar ``func`` at ``inputs``: shape ``input.shape * 2`` for one
    input; a tuple of tuples (one block per pair of inputs) otherwise."""
    in_tuple, xs = _as_tuple(inputs, "inputs")

    def gradient(*args):
        out = func(*args)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError(
                "The function given to hessian should return a single Tensor with a single element"
            )
        g = _grads(out.reshape(()), args, None, True)
        return g if in_tuple else g[0]

    return jacobian(gradient, xs if in_tuple else xs[0], create_graph=create_graph)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: the Hessian of a scalar ``func`` times the vector ``v``."""
    return _hessian_product(func, inputs, v, create_graph)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` (equal to ``hvp`` for the symmetric Hessians of smooth
    functions)."""
    return _hessian_product(func, inputs, v, create_graph)


def _hessian_product(func, inputs, v, create_graph: bool):
    in_tuple, xs = _as_tuple(inputs, "inputs")
    xs = _fresh(xs, True) if create_graph else tuple(t.detach().requires_grad_() for t in xs)
    out = func(*xs)
    if not isinstance(out, Tensor) or out.numel() != 1:
        raise RuntimeError(
            "The function given to hvp/vhp should return a single Tensor with a single element"
        )
    vs = _as_tuple(v, "v")[1]
    g = _grads(out.reshape(()), xs, None, True)
    dot = sum((gi * vi).sum() for gi, vi in zip(g, vs, strict=True))
    hv = _grads(dot, xs, None, create_graph)
    out = out if create_graph else out.detach()
    return out, (hv if in_tuple else hv[0])


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``, by the double-vjp trick: ``J v`` is the gradient, with
    respect to a dummy ``u``, of ``(J^T u) . v``."""
    in_tuple, xs = _as_tuple(inputs, "inputs")
    xs = _fresh(xs, True) if create_graph else tuple(t.detach().requires_grad_() for t in xs)
    out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function")
    if v is None:
        if any(x.numel() != 1 for x in xs):
            raise RuntimeError(
                "The vector v can only be None if the input to the "
                "user-provided function is a single Tensor with a single "
                "element."
            )
        vs = tuple(_wrap(xp.ones_like(x.array)) for x in xs)
    else:
        vs = _as_tuple(v, "v")[1]
    us = tuple(_wrap(xp.zeros_like(o.array), True) for o in outs)
    g = _grads(outs, xs, us, True)
    dot = sum((gi * vi).sum() for gi, vi in zip(g, vs, strict=True))
    jv = _grads(dot, us, None, create_graph)
    outs = _detach_all(outs, create_graph)
    return (outs if out_tuple else outs[0]), (jv if out_tuple else jv[0])
