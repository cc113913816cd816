"""The graph: ``Op`` (an internal primitive), ``Function`` (the public custom-op API) and
the iterative backward walk.

A node of the graph is the op that produced a tensor. Each node keeps ``parents``: for
every input, the node that produced it (an ``Op``), the leaf ``Tensor`` itself when it is
a leaf that requires grad, or ``None`` when no gradient flows there. The walk visits nodes
iteratively (no recursion, so a chain of 100,000 ops is fine), gives each node the sum of
its consumers' gradients, reduces broadcast gradients back to the input's shape in one
place (``_reduce_to``), and frees each node's saved arrays unless ``retain_graph``.
"""

from __future__ import annotations

from typing import Any

from ..backend import threads, xp
from .grad_mode import grad_mode, no_grad
from .tensor import Tensor, _wrap

_new = object.__new__
_ndarray = xp.ndarray

# Set by ``axon.onnx`` while it traces a forward pass: ``Op.apply(*args)`` then returns
# ``trace_hook(cls, args)``, which runs the op and records it.
trace_hook = None

_FREED_MSG = (
    "Trying to backward through the graph a second time (or to use saved values after "
    "they were freed). Saved intermediate values are freed when you call .backward(); "
    "pass retain_graph=True to the first backward if you need to backward twice."
)


class Op:
    """A differentiable primitive on arrays.

    Subclasses write ``forward(self, *arrays)`` returning an array and
    ``backward(self, grad)`` returning one gradient (or ``None``) per input. ``self`` is
    the context: store on it whatever backward needs. Non-tensor arguments (Python
    numbers, axes) are passed through to ``forward`` unchanged and get no gradient.
    ``self.parents[i] is None`` tells that input ``i`` needs no gradient.
    """

    parents: tuple | None
    out_shape: tuple
    _retain: Any = None  # a weak reference to the output whose .grad is kept (retain_grad)

    @classmethod
    def apply(cls, *args):
        if trace_hook is not None:
            return trace_hook(cls, args)
        ctx = _new(cls)
        datas = []
        parents = []
        track = False
        for a in args:
            if isinstance(a, Tensor):
                datas.append(a.array)
                if a.requires_grad:
                    track = True
                    parents.append(a._ctx or a)
                else:
                    parents.append(None)
            else:
                datas.append(a)
                parents.append(None)
        if track and grad_mode.enabled:
            ctx.parents = parents
            out = ctx.forward(*datas)
            if out.__class__ is not _ndarray:  # ufuncs give NumPy scalars for 0-d inputs
                out = xp.asarray(out)
            ctx.out_shape = out.shape
            return _wrap(out, True, ctx)
        ctx.parents = None
        out = ctx.forward(*datas)
        if out.__class__ is not _ndarray:
            out = xp.asarray(out)
        return _wrap(out, False, None)

    def forward(self, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The op's name as shown in graphs and error messages (``MulBackward``)."""
        return type(self).__name__ + "Backward"

    @property
    def next_functions(self) -> tuple:
        """The parents of this node, like ``grad_fn.next_functions`` in PyTorch."""
        return tuple(self.parents or ())

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _reduce_to(g, shape: tuple):
    """Sum a broadcast gradient back down to ``shape`` (the one place this happens)."""
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if extra:
        g = g.reshape(shape)
    if g.shape != shape:
        raise RuntimeError(f"gradient of shape {g.shape} cannot be reduced to shape {shape}")
    return g


def _accumulate(leaf: Tensor, g, handed: set) -> None:
    """Add ``g`` into ``leaf.grad``; never let two leaves share gradient memory.

    ``handed`` holds the memory owners (``base``) of the arrays already given to leaves in
    this backward: a gradient whose memory was handed out before, or that is read-only (a
    broadcast view), is copied; a fresh array, or a view of one, is kept as it is.
    """
    data = leaf.array
    if g.shape != data.shape:
        g = _reduce_to(g, data.shape)
    if g.dtype != data.dtype:
        g = g.astype(data.dtype)
    if leaf.grad is None:
        owner = g if g.base is None else g.base
        if not g.flags.writeable or id(owner) in handed:
            g = g.copy()
            owner = g
        handed.add(id(owner))
        leaf.grad = _wrap(g, False, None)
    else:
        leaf.grad.array = leaf.grad.array + g


def run_backward(root: Tensor, grad, retain_graph: bool = False) -> None:
    """Back-propagate ``grad`` (an array shaped like ``root``) to every leaf."""
    fn = root._ctx
    handed: set = set()
    if fn is None:
        if root.requires_grad:
            _accumulate(root, grad, handed)
        return
    # Pass 1: count, for every node, how many consumers will send it a gradient.
    pending = {fn: 0}
    stack = [fn]
    while stack:
        parents = stack.pop().parents
        if parents is None:
            raise RuntimeError(_FREED_MSG)
        for p in parents:
            if p is not None and not isinstance(p, Tensor):
                if p in pending:
                    pending[p] += 1
                else:
                    pending[p] = 1
                    stack.append(p)
    # Pass 2: a node runs once all its consumers have sent their gradients.
    grads = {fn: grad}
    ready = [fn]
    deferred = []  # (leaf, threads.Deferred): gradients a helper thread is computing
    try:
        _run_nodes(ready, grads, pending, handed, deferred, retain_graph)
    finally:  # the helper's values, even when a node failed (it must be free again)
        values = [(leaf, d.result()) for leaf, d in deferred]
    for leaf, g in values:
        _accumulate(leaf, g, handed)


def _run_nodes(ready, grads, pending, handed, deferred, retain_graph) -> None:
    with no_grad():
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            parents = node.parents
            if g is not None:
                if node._retain is not None:
                    kept = node._retain()
                    if kept is not None:
                        kept.grad = _wrap(g.copy(), False, None)
                in_grads = node.backward(g)
            else:
                in_grads = (None,) * len(parents)
            for p, pg in zip(parents, in_grads, strict=True):
                if p is None:
                    continue
                if isinstance(p, Tensor):
                    if isinstance(pg, threads.Deferred):
                        deferred.append((p, pg))
                    elif pg is not None:
                        _accumulate(p, pg, handed)
                    continue
                if pg is not None:
                    if pg.shape != p.out_shape:
                        pg = _reduce_to(pg, p.out_shape)
                    prev = grads.get(p)
                    grads[p] = pg if prev is None else prev + pg
                left = pending[p] - 1
                pending[p] = left
                if left == 0:
                    ready.append(p)
            if not retain_graph:
                node.__dict__.clear()
                node.parents = None


class FunctionCtx:
    """The ``ctx`` a custom :class:`Function` sees: ``save_for_backward``, ``saved_tensors``,
    ``needs_input_grad``, and any attribute you set on it."""

    def save_for_backward(self, *tensors) -> None:
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors) -> None:  # accepted for API compatibility
        pass


class _FunctionNode(Op):
    """The graph node of a user-defined :class:`Function` (one subclass per Function, so
    ``fn_cls`` and the node's name outlive the freeing of the graph)."""

    fn_cls: type

    def backward(self, grad):
        fn_cls = self.fn_cls
        ctx = self.ctx
        grads = fn_cls.backward(ctx, _wrap(grad, False, None))
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(self.parents):
            raise RuntimeError(
                f"{fn_cls.__name__}.backward returned {len(grads)} gradients, but forward "
                f"took {len(self.parents)} inputs"
            )
        out = []
        for g in grads:
            if g is None:
                out.append(None)
            else:
                out.append(g.array if isinstance(g, Tensor) else xp.asarray(g))
        return tuple(out)

    @property
    def name(self) -> str:
        return self.fn_cls.__name__ + "Backward"


class Function:
    """Write your own differentiable op, as in PyTorch::

        class Cube(axon.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad * 3 * x ** 2

        y = Cube.apply(x)

    ``forward`` and ``backward`` receive and return Tensors; both run without recording a
    graph. ``backward`` returns one gradient (or ``None``) per argument of ``forward``.
    Check it with :func:`axon.gradcheck`.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor, got {type(out)}")
        if not (grad_mode.enabled and any(ctx.needs_input_grad)):
            return _wrap(out.array, False, None)
        node_cls = cls.__dict__.get("_node_cls")
        if node_cls is None:
            node_cls = type(cls.__name__ + "Node", (_FunctionNode,), {"fn_cls": cls})
            cls._node_cls = node_cls
        node = _new(node_cls)
        node.ctx = ctx
        node.parents = tuple(
            (a._ctx or a) if isinstance(a, Tensor) and a.requires_grad else None for a in args
        )
        node.out_shape = out.array.shape
        return _wrap(out.array, True, node)
