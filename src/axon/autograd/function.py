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

import weakref
from typing import Any

from .. import backend
from .grad_mode import enable_grad, grad_mode, no_grad
from .tensor import Tensor, _wrap

_new = object.__new__
_ndarray = backend.cpu.array_type  # NumPy's ndarray: the CPU's arrays
_array_types = backend.base._by_class  # the array type of each registered backend
xp = backend.cpu.xp  # the CPU's namespace (NumPy): the engine's own arrays, hooks' returns

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

    ``self.xp`` is the array namespace of the inputs' backend and ``self.backend`` the
    backend itself (its ``matmul``, ``scatter_add``, ``sliding_windows``): the CPU's as class
    attributes, replaced on the instance when the inputs live on another backend
    (``Op.apply``).
    """

    xp = backend.cpu.xp
    backend = backend.cpu

    parents: tuple | None
    out_shape: tuple
    _retain: Any = None  # a weak reference to the output whose .grad is kept (retain_grad)
    _hooks: list | None = None  # the output tensor's hooks (Tensor.register_hook)

    @classmethod
    def apply(cls, *args):
        if trace_hook is not None:
            return trace_hook(cls, args)
        ctx = _new(cls)
        datas = []
        parents = []
        track = foreign = False
        for a in args:
            if isinstance(a, Tensor):
                arr = a.array
                if arr.__class__ is not _ndarray:
                    foreign = True
                datas.append(arr)
                if a.requires_grad:
                    track = True
                    parents.append(a._ctx or a)
                else:
                    parents.append(None)
            else:
                datas.append(a)
                parents.append(None)
        if foreign:
            _dispatch(ctx, datas)
        if track and grad_mode.enabled:
            ctx.parents = parents
            out = ctx.forward(*datas)
            if out.__class__ is not _ndarray:  # ufuncs give NumPy scalars for 0-d inputs
                out = _as_array(ctx, out)
            ctx.out_shape = out.shape
            return _wrap(out, True, ctx)
        ctx.parents = None
        out = ctx.forward(*datas)
        if out.__class__ is not _ndarray:
            out = _as_array(ctx, out)
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


def _dispatch(ctx: Op, datas: list) -> None:
    """Give ``ctx`` the namespace of its inputs' backend (some input is not a NumPy array);
    inputs on two devices raise torch's RuntimeError naming both and the op."""
    found = None  # (backend, device) of the first array input
    for i, d in enumerate(datas):
        b = backend.of(d)
        if b is None:  # a number or another non-array argument
            continue
        dev = b.device_of(d)
        if found is None:
            found = (b, dev, i)
        elif dev != found[1]:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two "
                f"devices, {found[1]} and {dev}! (when checking argument {i} against "
                f"argument {found[2]} in {ctx.name})"
            )
    if found is not None and found[0].xp is not xp:
        ctx.xp = found[0].xp
        ctx.backend = found[0]
        found[0].activate(found[1])  # a GPU: kernels launch on the inputs' GPU


def _as_array(ctx: Op, out):
    """An op's result as an array of its backend: a NumPy scalar (ufuncs return them for
    0-d inputs) or a number through the dispatched namespace's ``asarray``; another
    backend's array (a transfer's result) as it is."""
    if out.__class__ in _array_types:
        return out
    return ctx.xp.asarray(out)


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
    if isinstance(g, Tensor):  # create_graph: .grad keeps the graph of the gradient
        if g.dtype != data.dtype:
            g = g.type(data.dtype)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if g.shape != data.shape:
        g = _reduce_to(g, data.shape)
    if g.dtype != data.dtype:
        g = g.astype(data.dtype)
    if leaf.grad is None:
        if g.__class__ is not _ndarray:  # another backend's array: a private copy always
            g = g.copy()
        else:
            owner = g if g.base is None else g.base
            if not g.flags.writeable or id(owner) in handed:
                g = g.copy()
                owner = g
            handed.add(id(owner))
        leaf.grad = _wrap(g, False, None)
    else:
        leaf.grad.array = leaf.grad.array + g


def run_hooks(hooks: list, g):
    """Pass gradient ``g`` (an array, or a Tensor under ``create_graph``) through a tensor's
    hooks in order; a hook returning a Tensor replaces the gradient, None keeps it."""
    graph = isinstance(g, Tensor)
    for hook in hooks:
        out = hook(g if graph else _wrap(g, False, None))
        if out is not None:
            if graph:
                g = out if isinstance(out, Tensor) else _wrap(xp.asarray(out))
            else:
                g = out.array if isinstance(out, Tensor) else xp.asarray(out)
    return g


def run_backward(roots, grads, retain_graph: bool = False, inputs=None, create_graph: bool = False):
    """Back-propagate ``grads`` (arrays shaped like ``roots``) through the graph.

    ``roots`` is a Tensor or a sequence of Tensors, ``grads`` one array per root. Without
    ``inputs``, each leaf's gradient (summed over the whole walk, then passed through its
    hooks) is added into ``leaf.grad``. With ``inputs`` (Tensors, leaves or not), nothing
    is accumulated: the gradients of ``inputs`` are returned as arrays (None where no path
    reached one), as ``axon.autograd.grad`` needs.

    With ``create_graph``, ``grads`` are Tensors and every node runs its differentiable
    rule (``higher_order``): the gradients are Tensors that record their own graph.
    """
    if isinstance(roots, Tensor):
        roots, grads = (roots,), (grads,)
    leaf_grads: dict = {}  # leaf Tensor -> its gradient summed over every path
    seeds: dict = {}
    for root, g in zip(roots, grads, strict=True):
        fn = root._ctx
        if fn is None:
            if root.requires_grad:
                _add_leaf(leaf_grads, root, g)
        else:
            seeds[fn] = g if fn not in seeds else seeds[fn] + g
    capture = None
    if inputs is not None:
        capture = {t._ctx: None for t in inputs if t._ctx is not None}
    handed: set = set()
    for root in roots:  # a GPU: the backward pass's kernels launch on the loss's GPU
        if root.array.__class__ is not _ndarray:
            b = backend.of(root.array)
            b.activate(b.device_of(root.array))
            break
    try:
        if seeds:
            _walk(seeds, leaf_grads, retain_graph, capture, create_graph, handed)
        if inputs is not None:
            return [_captured(t, leaf_grads, capture) for t in inputs]
        for leaf, g in leaf_grads.items():
            _finish_leaf(leaf, g, handed)
    finally:  # queued by this backward's hooks: run once, or dropped if a hook raised
        queued = END_CALLBACKS[:]
        END_CALLBACKS.clear()
    for fn in queued:
        fn()
    return None


def _finish_leaf(leaf: Tensor, g, handed: set) -> None:
    """Give ``leaf`` its whole gradient ``g``: through its hooks into ``.grad``, then its
    post-accumulate hooks."""
    hooks = getattr(leaf, "_hooks", None)
    _accumulate(leaf, run_hooks(hooks, g) if hooks else g, handed)
    if POST_ACCUMULATE_HOOKS and id(leaf) in POST_ACCUMULATE_HOOKS:
        for hook in list(POST_ACCUMULATE_HOOKS[id(leaf)]):
            hook(leaf)


END_CALLBACKS: list = []
"""Functions to call once, when the backward pass running now has accumulated every
gradient (torch's ``Variable._execution_engine.queue_callback``): a post-accumulate hook
queues one to act after all of them (DistributedDataParallel waits for its reductions)."""


def queue_callback(fn) -> None:
    """Call ``fn()`` at the end of the backward pass that is running (from a hook)."""
    END_CALLBACKS.append(fn)


POST_ACCUMULATE_HOOKS: dict = {}
"""id(leaf) -> the hooks ``Tensor.register_post_accumulate_grad_hook`` registered on it,
run with the leaf once its ``.grad`` has been accumulated (an optimizer step per
parameter). Keyed by id, as Tensor's ``==`` is elementwise; an entry leaves with its
tensor (:func:`post_accumulate_hooks`)."""


def post_accumulate_hooks(leaf: Tensor) -> list:
    """The (mutable) list of ``leaf``'s post-accumulate hooks, made on first use."""
    key = id(leaf)
    if key not in POST_ACCUMULATE_HOOKS:
        POST_ACCUMULATE_HOOKS[key] = []
        weakref.finalize(leaf, POST_ACCUMULATE_HOOKS.pop, key, None)
    return POST_ACCUMULATE_HOOKS[key]


def _captured(t: Tensor, leaf_grads: dict, capture: dict):
    if t._ctx is not None:
        return capture[t._ctx]
    g = leaf_grads.get(t)
    hooks = getattr(t, "_hooks", None)
    return run_hooks(hooks, g) if hooks and g is not None else g


def _add_leaf(leaf_grads: dict, leaf: Tensor, g) -> None:
    """Sum ``g`` into the gradient gathered for ``leaf`` in this walk."""
    if g.shape != leaf.array.shape:
        g = _reduce_any(g, leaf.array.shape)
    prev = leaf_grads.get(leaf)
    leaf_grads[leaf] = g if prev is None else prev + g


def _reduce_any(g, shape: tuple):
    """``_reduce_to`` for an array, its Tensor form for a Tensor (``create_graph``)."""
    if isinstance(g, Tensor):
        from .higher_order import reduce_to

        return reduce_to(g, shape)
    return _reduce_to(g, shape)


def _walk(
    seeds: dict,
    leaf_grads: dict,
    retain_graph: bool,
    capture,
    create_graph: bool = False,
    handed: set | None = None,
) -> None:
    """Run every node reachable from the seeded nodes, each once all its consumers have
    sent their gradients.

    A leaf with post-accumulate hooks (a parameter DistributedDataParallel watches) is
    finished inside the walk, as soon as the last node that sends it a gradient has run,
    as torch's AccumulateGrad node is: its hooks start work (a bucket's all-reduce) while
    the rest of backward runs. The other leaves are finished after the walk.
    """
    early = bool(POST_ACCUMULATE_HOOKS) and capture is None and not create_graph
    handed = set() if handed is None else handed
    senders: dict | None = {} if early else None  # id(hooked leaf) -> nodes still to send
    # Pass 1: count, for every node, how many consumers will send it a gradient.
    pending = dict.fromkeys(seeds, 0)
    stack = list(seeds)
    while stack:
        parents = stack.pop().parents
        if parents is None:
            raise RuntimeError(_FREED_MSG)
        for p in parents:
            if p is None:
                continue
            if not isinstance(p, Tensor):
                if p in pending:
                    pending[p] += 1
                else:
                    pending[p] = 1
                    stack.append(p)
            elif early and id(p) in POST_ACCUMULATE_HOOKS:
                senders[id(p)] = senders.get(id(p), 0) + 1
    # Pass 2: a node runs once all its consumers have sent their gradients.
    ready = [fn for fn in seeds if pending[fn] == 0]
    if create_graph:
        _run_nodes_graph(ready, dict(seeds), pending, leaf_grads, capture)
        return
    deferred = []  # (leaf, pending gradient): anything with .result(), such as a gradient
    # a helper thread is computing (the CPU backend's threads.Deferred)
    finish = None
    if senders:

        def finish(leaf: Tensor) -> None:  # its last sender has run
            mine = [d for d in deferred if d[0] is leaf]
            for d in mine:
                deferred.remove(d)
                _add_leaf(leaf_grads, leaf, d[1].result())
            g = leaf_grads.pop(leaf, None)
            if g is not None:
                _finish_leaf(leaf, g, handed)

    try:
        _run_nodes(
            ready,
            dict(seeds),
            pending,
            leaf_grads,
            deferred,
            retain_graph,
            capture,
            senders,
            finish,
        )
    finally:  # the helper's values, even when a node failed (it must be free again)
        values = [(leaf, d.result()) for leaf, d in deferred]
    for leaf, g in values:
        _add_leaf(leaf_grads, leaf, g)


def _run_nodes(
    ready, grads, pending, leaf_grads, deferred, retain_graph, capture, senders=None, finish=None
) -> None:
    with no_grad():
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            parents = node.parents
            if g is not None:
                if node._hooks is not None:
                    g = run_hooks(node._hooks, g)
                if capture is not None and node in capture:
                    capture[node] = g
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
                    if pg is not None:
                        if pg.__class__ is not _ndarray and hasattr(pg, "result"):
                            deferred.append((p, pg))  # pending: computed on another thread
                        else:
                            _add_leaf(leaf_grads, p, pg)
                    if senders and id(p) in senders:
                        left = senders[id(p)] - 1
                        senders[id(p)] = left
                        if left == 0:
                            finish(p)
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


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, list | tuple) else (x,)


def _seed_grads(outputs: tuple, grad_outputs, create_graph: bool = False) -> list:
    """One gradient array per output: 1 for a single-element output given None. Under
    ``create_graph`` they are Tensors (a given one as it is, so its graph is kept)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad requires one grad_output per output: got {len(grad_outputs)} for "
            f"{len(outputs)} outputs"
        )
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs, strict=True)):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, but output {i} "
                    f"has shape {out.array.shape}: pass grad_outputs of that shape"
                )
            ones = backend.namespace(out.array).ones_like(out.array)
            seeds.append(_wrap(ones) if create_graph else ones)
            continue
        if isinstance(g, Tensor):
            arr = g.array
        else:
            arr = backend.namespace(out.array).asarray(g, dtype=out.array.dtype)
        if arr.shape != out.array.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {arr.shape} and "
                f"output[{i}] has a shape of {out.array.shape}."
            )
        if create_graph:
            seeds.append(g if isinstance(g, Tensor) else _wrap(arr.astype(out.array.dtype)))
            continue
        seeds.append(arr.astype(out.array.dtype, copy=True))
    return seeds


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Returns one Tensor per input and leaves every ``.grad`` untouched. ``inputs`` may be
    leaves or intermediate tensors. An input the outputs do not depend on raises, unless
    ``allow_unused`` (then its gradient is None) or ``materialize_grads`` (then zeros).
    The graph is freed unless ``retain_graph`` (which defaults to ``create_graph``).
    ``create_graph=True`` records the backward pass, so the gradients can be
    differentiated again (ops with such a rule: ``higher_order.SUPPORTED``).
    """
    if retain_graph is None:
        retain_graph = create_graph
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) is not supported")
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True"
        )
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: input {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds = _seed_grads(outputs, grad_outputs, create_graph)
    found = run_backward(
        outputs, seeds, bool(retain_graph), inputs=inputs, create_graph=create_graph
    )
    result = []
    for i, (t, g) in enumerate(zip(inputs, found, strict=True)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used "
                    f"in the graph. Set allow_unused=True if this is the desired behavior."
                )
            zeros = backend.namespace(t.array).zeros_like
            result.append(_wrap(zeros(t.array)) if materialize_grads else None)
        elif isinstance(g, Tensor):
            result.append(g if g.dtype == t.array.dtype else g.type(t.array.dtype))
        else:
            if g.dtype != t.array.dtype:
                g = g.astype(t.array.dtype)
            result.append(_wrap(g if g.flags.writeable else g.copy(), False, None))
    return tuple(result)


def backward(
    tensors,
    grad_tensors=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs=None,
) -> None:
    """Accumulate into ``.grad`` of the leaves (or of ``inputs`` only, when given) the
    gradient of ``tensors`` seeded with ``grad_tensors``, as ``torch.autograd.backward``.
    With ``create_graph`` the ``.grad`` tensors record their graph (see :func:`grad`)."""
    if retain_graph is None:
        retain_graph = create_graph
    tensors = _as_tuple(tensors)
    seeds = _seed_grads(tensors, grad_tensors, create_graph)
    if inputs is None:
        run_backward(tensors, seeds, bool(retain_graph), create_graph=create_graph)
        return
    inputs = _as_tuple(inputs)
    found = run_backward(
        tensors, seeds, bool(retain_graph), inputs=inputs, create_graph=create_graph
    )
    handed: set = set()
    for t, g in zip(inputs, found, strict=True):
        if g is not None:
            _accumulate(t, g, handed)


def _run_nodes_graph(ready, grads, pending, leaf_grads, capture) -> None:
    """``_run_nodes`` for ``create_graph``: gradients are Tensors, each node runs its
    differentiable rule with recording on, and the graph is kept."""
    from .higher_order import graph_backward, reduce_to

    with enable_grad():
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            parents = node.parents
            if g is not None:
                if node._hooks is not None:
                    g = run_hooks(node._hooks, g)
                if capture is not None and node in capture:
                    capture[node] = g
                if node._retain is not None:
                    kept = node._retain()
                    if kept is not None:
                        kept.grad = g
                in_grads = graph_backward(node, g)
            else:
                in_grads = (None,) * len(parents)
            for p, pg in zip(parents, in_grads, strict=True):
                if p is None:
                    continue
                if isinstance(p, Tensor):
                    if pg is not None:
                        _add_leaf(leaf_grads, p, pg)
                    continue
                if pg is not None:
                    if pg.shape != p.out_shape:
                        pg = reduce_to(pg, p.out_shape)
                    prev = grads.get(p)
                    grads[p] = pg if prev is None else prev + pg
                left = pending[p] - 1
                pending[p] = left
                if left == 0:
                    ready.append(p)


def Variable(tensor, requires_grad: bool = False, volatile: bool = False):  # noqa: N802
    """torch's legacy ``Variable(t, requires_grad=...)``: a new leaf Tensor sharing ``t``'s
    storage (Variables and Tensors are one type since torch 0.4)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(tensor).__name__}")
    return tensor.detach().requires_grad_(requires_grad)


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
        ctx._inputs = args  # for create_graph (higher_order): which saved tensors are inputs
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
