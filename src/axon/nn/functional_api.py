"""The functional API: a model that is a graph of layers, not a stack (Keras' habit).

``Input`` makes a symbolic tensor: a placeholder that knows its shape (``None`` for the
batch) and dtype but holds no numbers. Calling any ``Module`` on symbolic tensors does not
run it: it records a *node* (this layer, called on these tensors) and returns symbolic
outputs. ``Model(inputs, outputs)`` walks the nodes back from the outputs to the inputs
and becomes an ``nn.Module`` whose ``forward`` runs the recorded calls in topological
order on real tensors::

    num = nn.Input((6,), name="num")                       # (None, 6)
    district = nn.Input((), dtype=axon.int64, name="district")  # (None,)
    h = nn.Concatenate()(num, nn.Embedding(8, 4)(district))     # (None, 10)
    h = nn.ReLU()(nn.Linear(10, 32)(h))
    model = nn.Model([num, district], {"price": nn.Linear(32, 1)(h, name="price"),
                                       "energy": nn.Linear(32, 3)(h, name="energy")})
    out = model(x_num, x_district)        # {"price": (N, 1), "energy": (N, 3)}

- Layer names: ``name=`` at the symbolic call (``layer(x, name="price")``), else the
  module's own ``name`` attribute when it is a string (a nested ``Model``), else its class
  name in lower case numbered in graph order (``linear``, ``linear_1``, ...). The names
  are the state-dict prefixes (``price.weight``), so the same graph built again loads the
  same weights.
- Shared layers: one module called several times is one layer, registered once; its
  weights are shared and receive the sum of the gradients of every call.
- Shapes are inferred when a call is recorded: the layer runs (eval mode, no graph) on
  zeros with every unknown (``None``) dimension set to 2, then to 3; output dimensions
  that change with them are unknown. A layer that cannot take its inputs fails there,
  with an error naming the layer and the input shapes.
- Calling a ``Model``: ``model(x1, x2)`` in input order, ``model([x1, x2])``,
  ``model({"num": x1, "district": x2})`` or ``model(num=x1, district=x2)``. It returns a
  Tensor for a single output, a tuple for a list of outputs, a dict for a dict of them.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, _wrap
from .module import Module, SymbolicValue

__all__ = ["Input", "Model", "Node", "SymbolicTensor", "topological_order"]

_counter = itertools.count()  # creation order of symbolic tensors and nodes
_PROBE_SIZES = (2, 3)  # what an unknown dimension is set to when a call is recorded


class SymbolicTensor(SymbolicValue):
    """A placeholder in a functional graph: shape (``None`` where unknown, the batch
    first), dtype, and the node that produced it (None for an ``Input``). As a
    ``SymbolicValue``, a module called on it records a node (``_record``)."""

    __slots__ = ("shape", "dtype", "name", "node", "index", "order")

    def __init__(
        self, shape: tuple, dtype, name: str | None = None, node: Node | None = None, index: int = 0
    ) -> None:
        self.shape = tuple(shape)
        self.dtype = B.dtype(dtype)
        self.name = name
        self.node = node
        self.index = index  # which output of its node (position among the output leaves)
        self.order = next(_counter)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        made = (
            f"from {type(self.node.module).__name__}"
            if self.node is not None
            else f"Input {self.name!r}"
            if self.name
            else "Input"
        )
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype} {made}>"

    def __bool__(self) -> bool:
        raise TypeError("a SymbolicTensor has no value: it is a placeholder in a model graph")

    def record_call(self, module: Module, args: tuple, kwargs: dict) -> Any:
        return _record(module, args, kwargs)


def Input(
    shape: int | Sequence[int | None] = (),
    name: str | None = None,  # noqa: N802
    dtype=None,
) -> SymbolicTensor:
    """A model input: a symbolic tensor of shape ``(None, *shape)`` (``None``, the batch,
    and any other ``None`` may take any size). ``dtype`` defaults to the default float
    dtype; use ``axon.int64`` for categories or token ids. ``name`` is the key by which
    the model is called with a dict (default ``input``, ``input_1``, ...)."""
    if isinstance(shape, int | B.xp.integer):
        shape = (int(shape),)
    shape = tuple(None if d is None else int(d) for d in shape)
    if any(d is not None and d < 0 for d in shape):
        raise ValueError(f"Input: dimensions must be non-negative or None, got {shape}")
    if name is not None:
        _check_name(name, "Input")
    return SymbolicTensor(
        (None, *shape), B.get_default_dtype() if dtype is None else dtype, name=name
    )


class Node:
    """One recorded call: ``module(*args, **kwargs)`` where ``args``/``kwargs`` hold
    symbolic tensors (``inputs``, in order) among constants; ``outputs`` mirrors what the
    module returned, with a SymbolicTensor for each Tensor (``output_leaves``)."""

    __slots__ = ("module", "args", "kwargs", "inputs", "outputs", "output_leaves", "name", "order")

    def __init__(self, module: Module, args: tuple, kwargs: dict, name: str | None) -> None:
        self.module = module
        self.args = args
        self.kwargs = kwargs
        self.inputs = _symbols((args, kwargs))
        self.outputs: Any = None
        self.output_leaves: list[SymbolicTensor] = []
        self.name = name
        self.order = next(_counter)

    def __repr__(self) -> str:
        return f"<Node {type(self.module).__name__} on {[s.shape for s in self.inputs]}>"


# ----------------------------------------------------------------------------- structures
def _map(obj, fn: Callable):
    """``obj`` rebuilt with ``fn`` applied to every SymbolicTensor or Tensor in it
    (through tuples, namedtuples, lists and dicts); anything else kept as it is."""
    if isinstance(obj, SymbolicTensor | Tensor):
        return fn(obj)
    if isinstance(obj, tuple):
        items = [_map(o, fn) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, list):
        return [_map(o, fn) for o in obj]
    if isinstance(obj, dict):
        return {k: _map(v, fn) for k, v in obj.items()}
    return obj


def _symbols(obj) -> list[SymbolicTensor]:
    """The distinct symbolic tensors in ``obj``, in order of appearance."""
    found: dict[int, SymbolicTensor] = {}

    def visit(x):
        if isinstance(x, SymbolicTensor):
            found.setdefault(id(x), x)
        return x

    _map(obj, visit)
    return list(found.values())


def _check_name(name, what: str) -> None:
    if not isinstance(name, str) or not name or "." in name:
        raise ValueError(f"{what} name must be a non-empty string without '.', got {name!r}")


def _describe(module: Module, name: str | None = None) -> str:
    """``'price' (Linear(in_features=32, ...))``: how an error names a layer."""
    extra = module.extra_repr().replace("\n", " ")
    text = f"{type(module).__name__}({extra[:60] + '...' if len(extra) > 60 else extra})"
    return f"layer {name!r} ({text})" if name else f"layer {text}"


def _fmt_shapes(symbols: Sequence[SymbolicTensor]) -> str:
    return ", ".join(str(s.shape) for s in symbols) or "no tensors"


# ----------------------------------------------------------------------------- recording
def _probe(module: Module, node: Node, size: int):
    """Run ``module`` on zeros standing for the node's inputs (unknown dims = ``size``)."""

    def zeros(s):
        if isinstance(s, Tensor):
            return s
        return _wrap(B.xp.zeros([size if d is None else d for d in s.shape], dtype=s.dtype))

    return module.forward(*_map(node.args, zeros), **_map(node.kwargs, zeros))


def _merge_outputs(a, b, node: Node):
    """The symbolic outputs of ``node`` from its two probe runs: a dimension that differs
    between them is unknown (None)."""
    leaves_a: list = []
    _map(a, leaves_a.append)
    leaves_b: list = []
    _map(b, leaves_b.append)
    if len(leaves_a) != len(leaves_b):
        raise ValueError(
            f"{_describe(node.module, node.name)} returns a different number of "
            f"tensors for different batch sizes"
        )
    shapes = []
    for ta, tb in zip(leaves_a, leaves_b, strict=True):
        if ta.ndim != tb.ndim:
            raise ValueError(
                f"{_describe(node.module, node.name)}: the rank of its output "
                f"depends on the batch size ({ta.shape} vs {tb.shape})"
            )
        shapes.append(tuple(x if x == y else None for x, y in zip(ta.shape, tb.shape, strict=True)))
    index = itertools.count()

    def symbolic(t):
        k = next(index)
        return SymbolicTensor(shapes[k], t.dtype, node=node, index=k)

    node.outputs = _map(a, symbolic)
    node.output_leaves = _symbols(node.outputs)
    return node.outputs


def _record(module: Module, args: tuple, kwargs: dict):
    """What calling ``module`` on symbolic tensors does (see ``Module.__call__``): infer
    the output shapes on zeros and return symbolic outputs from a new node. A ``name=``
    keyword names the layer."""
    kwargs = dict(kwargs)
    name = kwargs.pop("name", None)
    if name is not None:
        _check_name(name, "layer")
    node = Node(module, args, kwargs, name)
    modes = [(m, m.training) for m in module.modules()]
    outs = []
    try:
        module.eval()
        with no_grad():
            for size in _PROBE_SIZES:
                outs.append(_probe(module, node, size))
    except Exception as err:
        raise ValueError(
            f"{_describe(module, name)} cannot be called on inputs of shape "
            f"{_fmt_shapes(node.inputs)}: {err}"
        ) from err
    finally:
        for m, training in modes:
            m.__dict__["training"] = training
    if not _symbols_or_tensors(outs[0]):
        raise ValueError(f"{_describe(module, name)} returned no tensor ({type(outs[0]).__name__})")
    return _merge_outputs(outs[0], outs[1], node)


def _symbols_or_tensors(obj) -> bool:
    found = []
    _map(obj, found.append)
    return bool(found)


# ----------------------------------------------------------------------------- the graph
def _reachable(outputs: Sequence[SymbolicTensor]) -> list[Node]:
    """Every node the outputs depend on (an iterative walk back from them)."""
    seen: dict[int, Node] = {}
    stack = [s.node for s in outputs if s.node is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(s.node for s in node.inputs if s.node is not None)
    return list(seen.values())


def topological_order(nodes: Sequence[Node]) -> list[Node]:
    """``nodes`` ordered so that every node comes after the nodes that produce its inputs
    (Kahn's algorithm; ties broken by creation order). A cycle raises a ``ValueError``
    naming the layers on it (a graph recorded by calls has none: it can only arise when
    nodes are edited by hand)."""
    members = {id(n) for n in nodes}
    producers = {
        id(n): {id(s.node) for s in n.inputs if s.node is not None and id(s.node) in members}
        for n in nodes
    }
    consumers: dict[int, list[Node]] = {id(n): [] for n in nodes}
    for n in nodes:
        for p in producers[id(n)]:
            consumers[p].append(n)
    waiting = {id(n): len(producers[id(n)]) for n in nodes}
    ready = [(n.order, id(n), n) for n in nodes if waiting[id(n)] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        for c in consumers[id(node)]:
            waiting[id(c)] -= 1
            if waiting[id(c)] == 0:
                heapq.heappush(ready, (c.order, id(c), c))
    if len(order) < len(nodes):
        stuck = [n for n in nodes if waiting[id(n)] > 0]
        names = ", ".join(_describe(n.module, n.name) for n in stuck)
        raise ValueError(f"the graph has a cycle through {names}")
    return order


def _snake(module: Module) -> str:
    return re.sub(r"\W", "_", type(module).__name__.lower())


def _numbered(base: str, k: int) -> str:
    """``base``, ``base_1``, ``base_2``, ... (Keras' default names)."""
    return base if k == 0 else f"{base}_{k}"


def _outputs_spec(outputs) -> tuple[str, list[str] | None, list[SymbolicTensor]]:
    """(kind, dict keys or None, the symbolic outputs) for one, a list or a dict."""
    if isinstance(outputs, SymbolicTensor):
        return "single", None, [outputs]
    if isinstance(outputs, Mapping):
        for k in outputs:
            _check_name(k, "output")
        return "dict", list(outputs), list(outputs.values())
    if isinstance(outputs, list | tuple) and outputs:
        return "list", None, list(outputs)
    raise TypeError(
        f"Model: outputs must be a symbolic tensor, a list or a dict of them, "
        f"got {type(outputs).__name__}"
    )


class Model(Module):
    """A model built from a graph of layer calls: ``Model(inputs, outputs, name)``.

    Args:
        inputs: an ``Input``, a list of them, or a dict name -> ``Input`` (the keys are
            then the input names).
        outputs: a symbolic tensor computed from the inputs, a list of them, or a dict
            name -> symbolic tensor. Output names are the dict keys, else the names of the
            layers that produced them (``output_names``): ``fit`` takes per-output losses
            and metrics by these names.
        name: the model's name (shown by ``summary``; the layer name when this model is
            itself called inside another graph).

    Every layer is a submodule under its name, so ``parameters()``, ``state_dict()``
    (keys ``<layer>.<param>``), ``train()``/``eval()`` and save/load work as for any
    module. Errors name the layer at fault: a layer that needs an ``Input`` missing from
    ``inputs`` (the graph is disconnected), an input no output depends on, a cycle.
    """

    def __init__(self, inputs, outputs, name: str = "model") -> None:
        super().__init__()
        _check_name(name, "Model")
        self.name = name
        self._inputs, self._input_names = self._take_inputs(inputs)
        kind, keys, outs = _outputs_spec(outputs)
        for i, s in enumerate(outs):
            if not isinstance(s, SymbolicTensor):
                raise TypeError(
                    f"Model {name!r}: output {keys[i] if keys else i} is a "
                    f"{type(s).__name__}, not a symbolic tensor made from Inputs"
                )
        self._output_kind = kind
        self._outputs = outs
        self._nodes = topological_order(_reachable(outs))
        self._check_connected()
        self._layer_names = self._name_layers()
        for node in self._nodes:
            self.add_module(self._layer_names[node.module], node.module)
        # what forward runs: for a call on symbolic tensors alone that returned one tensor,
        # the keys of its inputs and output (no structure to walk), else None
        self._plan = [
            (
                node,
                list(node.args)
                if not node.kwargs and all(isinstance(a, SymbolicTensor) for a in node.args)
                else None,
                node.outputs if isinstance(node.outputs, SymbolicTensor) else None,
            )
            for node in self._nodes
        ]
        self._output_names = keys if keys is not None else self._default_output_names()

    # ------------------------------------------------------------- construction
    @staticmethod
    def _take_inputs(inputs) -> tuple[list[SymbolicTensor], list[str]]:
        if isinstance(inputs, SymbolicTensor):
            items = [(inputs.name, inputs)]
        elif isinstance(inputs, Mapping):
            items = list(inputs.items())
            for k, _ in items:
                _check_name(k, "input")
        elif isinstance(inputs, list | tuple) and inputs:
            items = [(getattr(s, "name", None), s) for s in inputs]
        else:
            raise TypeError(
                f"Model: inputs must be an Input, a list or a dict of them, got "
                f"{type(inputs).__name__}"
            )
        symbols = []
        for key, s in items:
            if not isinstance(s, SymbolicTensor) or s.node is not None:
                what = type(s).__name__ if not isinstance(s, SymbolicTensor) else repr(s)
                raise TypeError(f"Model: input {key!r} must be made by nn.Input, got {what}")
            if any(s is t for t in symbols):
                raise ValueError(f"Model: input {key!r} is given twice")
            symbols.append(s)
        names: list[str] = []
        taken = {k for k, _ in items if k is not None}
        counter = itertools.count()
        for key, _ in items:
            if key is None:  # an unnamed Input: input, input_1, ... (names not taken)
                while (key := _numbered("input", next(counter))) in taken:
                    pass
                taken.add(key)
            elif key in names:
                raise ValueError(f"Model: two inputs are named {key!r}")
            names.append(key)
        return symbols, names

    def _input_name(self, s: SymbolicTensor) -> str:
        return self._input_names[next(i for i, t in enumerate(self._inputs) if t is s)]

    def _check_connected(self) -> None:
        known = {id(s) for s in self._inputs}
        for node in self._nodes:
            for s in node.inputs:
                if s.node is None and id(s) not in known:
                    listed = ", ".join(repr(n) for n in self._input_names)
                    raise ValueError(
                        f"Model {self.name!r}: the graph is disconnected: "
                        f"{_describe(node.module, node.name)} needs the input "
                        f"{s.name or repr(s)}, which is not among the model's inputs "
                        f"[{listed}]"
                    )
        for s in self._outputs:
            if s.node is None and id(s) not in known:
                raise ValueError(
                    f"Model {self.name!r}: output {s!r} is an Input that is not "
                    f"among the model's inputs"
                )
        used = {id(s) for node in self._nodes for s in node.inputs}
        used |= {id(s) for s in self._outputs}
        for s, key in zip(self._inputs, self._input_names, strict=True):
            if id(s) not in used:
                raise ValueError(
                    f"Model {self.name!r}: input {key!r} is not connected to any output"
                )

    def _name_layers(self) -> dict[Module, str]:
        """A unique name per layer: the explicit name of its calls, else the module's own
        ``name``, else its class name numbered in graph order."""
        names: dict[Module, str] = {}
        owner: dict[str, Module] = {n: None for n in self._input_names}
        for node in self._nodes:
            m, given = node.module, node.name
            if given is None:
                continue
            if m in names and names[m] != given:
                raise ValueError(
                    f"Model {self.name!r}: one layer is named both {names[m]!r} and {given!r}"
                )
            if given in owner and owner[given] is not m:
                raise ValueError(
                    f"Model {self.name!r}: the name {given!r} is given to two "
                    f"layers (or a layer and an input)"
                )
            names[m] = given
            owner[given] = m
        counts: dict[str, int] = {}
        for node in self._nodes:
            m = node.module
            if m in names:
                continue
            own = getattr(m, "name", None)
            if isinstance(own, str) and own and "." not in own and own not in owner:
                name = own
            else:
                base = _snake(m)
                while True:
                    k = counts.get(base, 0)
                    counts[base] = k + 1
                    if (name := _numbered(base, k)) not in owner:
                        break
            names[m] = name
            owner[name] = m
        return names

    def _default_output_names(self) -> list[str]:
        """Each output named after the layer (or input) that produced it; repeats get
        ``_1``, ``_2``."""
        out, seen = [], set()
        for s in self._outputs:
            base = self._input_name(s) if s.node is None else self._layer_names[s.node.module]
            name, k = base, 0
            while name in seen:
                k += 1
                name = f"{base}_{k}"
            seen.add(name)
            out.append(name)
        return out

    # ------------------------------------------------------------- what it is
    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._outputs)

    @property
    def input_names(self) -> list[str]:
        return list(self._input_names)

    @property
    def output_names(self) -> list[str]:
        return list(self._output_names)

    @property
    def layers(self) -> list[Module]:
        """The layers in graph order, each once (a shared layer too)."""
        seen, out = set(), []
        for node in self._nodes:
            if id(node.module) not in seen:
                seen.add(id(node.module))
                out.append(node.module)
        return out

    @property
    def nodes(self) -> list[Node]:
        """The recorded calls in the order ``forward`` runs them."""
        return list(self._nodes)

    def layer_name(self, module: Module) -> str:
        return self._layer_names[module]

    def get_layer(self, name: str) -> Module:
        """The layer registered as ``name``."""
        for m in self.layers:
            if self._layer_names[m] == name:
                return m
        known = ", ".join(self._layer_names[m] for m in self.layers)
        raise KeyError(f"Model {self.name!r} has no layer {name!r}; its layers: {known}")

    def tensor_label(self, s: SymbolicTensor) -> str:
        """How ``summary`` names a tensor: the input's or layer's name; ``name[i][j]`` is
        output ``j`` of call ``i`` when the layer is called more than once or returns
        several tensors."""
        if s.node is None:
            return self._input_name(s)
        name = self._layer_names[s.node.module]
        calls = [n for n in self._nodes if n.module is s.node.module]
        if len(calls) > 1 or len(s.node.output_leaves) > 1:
            return f"{name}[{calls.index(s.node)}][{s.index}]"
        return name

    def extra_repr(self) -> str:
        return f"name={self.name!r}, inputs={self._input_names}, outputs={self._output_names}"

    # ------------------------------------------------------------- running
    def _bind(self, args: tuple, kwargs: dict) -> list:
        """The values of the inputs, in order, from positional, list, dict or keyword
        arguments."""
        names = self._input_names
        by_name = None
        if kwargs:
            if args:
                raise TypeError(
                    f"Model {self.name!r}: give the inputs either by position or by name, not both"
                )
            by_name = kwargs
        elif len(args) == 1 and isinstance(args[0], Mapping):
            by_name = args[0]
        elif len(args) == 1 and len(names) > 1 and isinstance(args[0], list | tuple):
            args = tuple(args[0])
        if by_name is not None:
            missing = [n for n in names if n not in by_name]
            unknown = [k for k in by_name if k not in names]
            if missing or unknown:
                raise KeyError(
                    f"Model {self.name!r} takes the inputs {names}; "
                    + (f"missing {missing}" if missing else "")
                    + ("; " if missing and unknown else "")
                    + (f"unknown {unknown}" if unknown else "")
                )
            return [by_name[n] for n in names]
        if len(args) != len(names):
            raise TypeError(
                f"Model {self.name!r} takes {len(names)} input(s) {names}, got {len(args)}"
            )
        return list(args)

    def forward(self, *args, **kwargs):
        values: dict[SymbolicTensor, Any] = {}
        for s, name, x in zip(
            self._inputs, self._input_names, self._bind(args, kwargs), strict=True
        ):
            if B.of(x) is not None:  # an array of any backend
                x = _wrap(x)
            if isinstance(x, SymbolicTensor):
                raise TypeError(
                    f"model {self.name!r}: to record a call on symbolic tensors, pass them "
                    f"by position, as one list or as one dict (not as keywords)"
                )
            if not isinstance(x, Tensor):
                raise TypeError(
                    f"input {name!r} of model {self.name!r} must be a Tensor or "
                    f"an array, got {type(x).__name__}"
                )
            if len(x.shape) != s.ndim or any(
                d is not None and d != n for d, n in zip(s.shape, x.shape, strict=True)
            ):
                raise ValueError(
                    f"input {name!r} of model {self.name!r} expects shape "
                    f"{s.shape} (None: any size), got {tuple(x.shape)}"
                )
            values[s] = x

        def value(s):
            return values[s] if isinstance(s, SymbolicTensor) else s

        for node, keys, out_key in self._plan:
            if keys is not None:  # the common call: layer(t1, t2, ...) -> one tensor
                out = node.module(*[values[k] for k in keys])
            else:
                out = node.module(*_map(node.args, value), **_map(node.kwargs, value))
            if out_key is not None and isinstance(out, Tensor):
                values[out_key] = out
                continue
            leaves: list = []
            _map(out, leaves.append)
            if len(leaves) != len(node.output_leaves):
                raise ValueError(
                    f"Model {self.name!r}: "
                    f"{_describe(node.module, self._layer_names[node.module])} returned "
                    f"{len(leaves)} tensors, {len(node.output_leaves)} when it was recorded"
                )
            for s, t in zip(node.output_leaves, leaves, strict=True):
                values[s] = t
        outs = [values[s] for s in self._outputs]
        if self._output_kind == "single":
            return outs[0]
        if self._output_kind == "dict":
            return dict(zip(self._output_names, outs, strict=True))
        return tuple(outs)
