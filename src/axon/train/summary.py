"""``summary``: Keras' layer table (output shape and parameter count of each layer).

One forward on zeros of ``input_shape`` (or on ``input_data``) in eval mode without a
graph records each module's output shape through ``register_module_forward_hook``; rows
appear in the order the modules first ran. Each parameter is counted once, in the row of
the deepest shown module that holds it, so the rows add up to the total.

A functional ``nn.Model`` is listed as Keras lists it: its inputs, then each layer in graph
order with the output shape recorded in the graph (``None`` for the batch) and a
"Connected to" column naming the tensors each call of the layer took (one line per call
for a shared layer; ``name[i][j]`` is output ``j`` of call ``i`` of a layer called more
than once or returning several tensors). It needs no input.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, _wrap
from ..nn.functional_api import Model as FunctionalModel
from ..nn.module import register_module_forward_hook
from .batches import batch_device, to_array, to_device


@dataclass
class SummaryRow:
    """One layer: its dotted name (``"0"``, ``"encoder.fc"``), type, output shape
    (a tuple, a list of them for several outputs, None if it did not run) and the
    parameters counted in this row."""

    name: str
    type: str
    output_shape: tuple | list | None
    params: int
    trainable_params: int
    depth: int
    connected_to: list[str] | None = None  # functional models: one entry per call

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type})" if self.name else self.type


@dataclass
class ModelSummary:
    """What :func:`summary` found; ``str()`` gives the plain-text table."""

    model_name: str
    rows: list[SummaryRow]
    total_params: int
    trainable_params: int
    param_bytes: int

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def params_mb(self) -> float:
        return self.param_bytes / 2**20

    @property
    def _connections(self) -> bool:
        return any(r.connected_to is not None for r in self.rows)

    def _head(self) -> tuple[str, ...]:
        head = ("Layer (type)", "Output Shape", "Param #")
        return (*head, "Connected to") if self._connections else head

    def _cells(self, indent: bool) -> list[tuple[str, ...]]:
        """One tuple of cells per row; a cell may hold several lines."""
        pad = min((r.depth for r in self.rows), default=0)
        cells = []
        for r in self.rows:
            row = (
                "  " * max(r.depth - pad, 0) * indent + r.label,
                _fmt_shape(r.output_shape),
                f"{r.params:,}",
            )
            if self._connections:
                row = (*row, "\n".join(r.connected_to or ["-"]))
            cells.append(row)
        return cells

    def _totals(self) -> list[str]:
        return [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Params size (MB): {self.params_mb:.2f}",
        ]

    def __str__(self) -> str:
        head = self._head()
        # a cell of several lines (a shared layer's calls) spans as many text lines
        lines = []
        for row in self._cells(indent=True):
            parts = [c.split("\n") for c in row]
            depth = max(len(p) for p in parts)
            lines += [tuple(p[k] if k < len(p) else "" for p in parts) for k in range(depth)]
        w = [max(len(row[i]) for row in [head, *lines]) + 2 for i in range(len(head))]
        line = "-" * sum(w)

        def fmt(row):
            text = f"{row[0]:<{w[0]}}{row[1]:<{w[1]}}{row[2]:>{w[2]}}"
            if len(row) > 3:
                text += f"  {row[3]}"
            return text.rstrip()

        out = [f'Model: "{self.model_name}"', line, fmt(head), "=" * sum(w)]
        out += [fmt(r) for r in lines]
        out += ["=" * sum(w), *self._totals(), line]
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def print_rich(self) -> None:
        """Print the table with rich (box drawing, colours where the terminal has them)."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f'Model: "{self.model_name}"', title_justify="left")
        table.add_column("Layer (type)")
        table.add_column("Output Shape")
        table.add_column("Param #", justify="right")
        if self._connections:
            table.add_column("Connected to")
        for cells in self._cells(indent=True):
            table.add_row(*cells)
        console = Console(file=sys.stdout)
        console.print(table, markup=False, highlight=False)
        console.print("\n".join(self._totals()), markup=False, highlight=False)


def _fmt_shape(shape) -> str:
    if shape is None:
        return "--"
    if isinstance(shape, str):
        return shape
    if isinstance(shape, tuple):
        return str(shape)
    return "[" + ", ".join(_fmt_shape(s) for s in shape) + "]"


def _shape_of(out):
    if isinstance(out, Tensor) or B.of(out) is not None:
        return tuple(out.shape)
    if isinstance(out, tuple | list):
        return [_shape_of(o) for o in out]
    return None


def _make_inputs(input_shape, dtypes) -> list[Tensor]:
    """Zeros (on the host) for one shape ``(1, 784)`` or several ``[(1, 10), (1, 5)]``."""
    shapes = [input_shape] if all(isinstance(s, int) for s in input_shape) else input_shape
    shapes = [tuple(builtins.int(d) for d in s) for s in shapes]
    if dtypes is None:
        dtypes = [B.get_default_dtype()] * len(shapes)
    elif not isinstance(dtypes, list | tuple):
        dtypes = [dtypes] * len(shapes)
    if len(dtypes) != len(shapes):
        raise ValueError(f"summary: {len(shapes)} input shapes but {len(dtypes)} dtypes")
    return [_wrap(B.xp.zeros(s, dtype=B.to_dtype(d))) for s, d in zip(shapes, dtypes, strict=True)]


def summary(
    model,
    input_shape: Sequence[int] | Sequence[Sequence[int]] | None = None,
    input_data=None,
    dtypes=None,
    *,
    depth: int | None = None,
    print_fn: Callable[[str], None] | None = print,
) -> ModelSummary:
    """Print and return the layer table of ``model``.

    Args:
        input_shape: a shape including the batch dimension, e.g. ``(1, 784)``, or a list
            of shapes for a model with several inputs; zeros of it are run through the
            model. Without it (and without ``input_data``) only parameters are listed.
        input_data: a Tensor/array or a tuple of them to run instead of zeros.
        dtypes: the dtype of the zero inputs (one, or one per input; default float32),
            e.g. ``axon.int64`` for token ids.
        depth: ``None`` lists the leaf modules (and any module holding parameters of its
            own); an int lists every module down to that nesting depth (1 = the model's
            children), each counting the parameters below it.
        print_fn: ``print`` prints a rich table; another function receives the plain
            text; ``None`` prints nothing.

    A functional ``nn.Model`` gets Keras' table with the "Connected to" column, its shapes
    taken from the graph (``input_shape``, ``input_data``, ``dtypes`` and ``depth`` are
    not used).
    """
    if isinstance(model, FunctionalModel):
        return _show(_functional_summary(model), print_fn)
    named = list(model.named_modules())
    order: dict[int, int] = {}
    shapes: dict[int, object] = {}
    if input_shape is not None or input_data is not None:
        if input_data is not None:
            data = input_data if isinstance(input_data, tuple | list) else (input_data,)
            inputs = [d if isinstance(d, Tensor) else _wrap(to_array(d)) for d in data]
        else:
            inputs = _make_inputs(input_shape, dtypes)
        dev = batch_device(model)
        if dev is not None:  # the inputs go where the model is, as fit's batches do
            inputs = to_device(inputs, dev)
        ids = {id(m) for _, m in named}

        def pre(module, args):
            order.setdefault(id(module), len(order))

        def post(module, args, out):
            if id(module) in ids and id(module) not in shapes:
                shapes[id(module)] = _shape_of(out)

        handles = [m.register_forward_pre_hook(pre) for _, m in named]
        handles.append(register_module_forward_hook(post))
        modes = [(m, m.training) for _, m in named]
        try:
            model.eval()
            with no_grad():
                model(*inputs)
        finally:
            for h in handles:
                h.remove()
            for m, training in modes:
                m.__dict__["training"] = training

    def level(name: str) -> int:
        return 0 if not name else name.count(".") + 1

    def is_leaf_or_owner(m) -> bool:
        no_children = not any(True for _ in m.children())
        return no_children or any(p is not None for p in m._parameters.values())

    if depth is None:
        shown = [(n, m) for n, m in named if is_leaf_or_owner(m)]
    else:
        shown = [
            (n, m) for n, m in named if 1 <= level(n) <= depth or (n == "" and is_leaf_or_owner(m))
        ]
    shown_names = {n for n, _ in shown}

    counts = {n: [0, 0] for n in shown_names}
    counts.setdefault("", [0, 0])
    total = trainable = nbytes = 0
    for pname, p in model.named_parameters():
        owner = pname.rpartition(".")[0]
        while owner not in shown_names and owner:
            owner = owner.rpartition(".")[0]
        size = p.array.size
        counts[owner][0] += size
        counts[owner][1] += size if p.requires_grad else 0
        total += size
        trainable += size if p.requires_grad else 0
        nbytes += p.array.nbytes
    if "" not in shown_names and counts[""][0]:
        shown.insert(0, ("", model))  # parameters held by no shown module

    n_named = len(named)
    pos = {id(m): i for i, (_, m) in enumerate(named)}
    shown.sort(key=lambda nm: order.get(id(nm[1]), n_named + pos[id(nm[1])]))
    rows = [
        SummaryRow(n, type(m).__name__, shapes.get(id(m)), counts[n][0], counts[n][1], level(n))
        for n, m in shown
    ]
    return _show(ModelSummary(type(model).__name__, rows, total, trainable, nbytes), print_fn)


def _show(result: ModelSummary, print_fn) -> ModelSummary:
    if print_fn is print:
        try:
            result.print_rich()
        except ImportError:  # pragma: no cover - rich is a dependency
            print(str(result))
    elif print_fn is not None:
        print_fn(str(result))
    return result


def _node_shape(node):
    """The output shape of one call: a tuple, or a list of them for several outputs."""
    leaves = node.output_leaves
    return leaves[0].shape if len(leaves) == 1 else [s.shape for s in leaves]


def _functional_summary(model: FunctionalModel) -> ModelSummary:
    """Keras' rows for a functional model: the inputs, then the layers in graph order."""
    counts: dict[str, list[int]] = {}
    total = trainable = nbytes = 0
    for pname, p in model.named_parameters():
        c = counts.setdefault(pname.split(".")[0], [0, 0])
        size = p.array.size
        c[0] += size
        c[1] += size if p.requires_grad else 0
        total += size
        trainable += size if p.requires_grad else 0
        nbytes += p.array.nbytes
    rows = [
        SummaryRow(name, "Input", s.shape, 0, 0, 0, [])
        for name, s in zip(model.input_names, model.inputs, strict=True)
    ]
    for layer in model.layers:
        name = model.layer_name(layer)
        calls = [n for n in model.nodes if n.module is layer]
        shapes = [_node_shape(n) for n in calls]
        shape = shapes[0] if all(s == shapes[0] for s in shapes) else "multiple"
        links = [", ".join(model.tensor_label(s) for s in n.inputs) for n in calls]
        c = counts.get(name, [0, 0])
        rows.append(SummaryRow(name, type(layer).__name__, shape, c[0], c[1], 0, links))
    return ModelSummary(model.name, rows, total, trainable, nbytes)
