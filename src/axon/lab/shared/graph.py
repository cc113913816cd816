"""Draw a computation graph with matplotlib, each node with its value and gradient.

No Graphviz needed. :func:`trace` walks the graph back from the output (iteratively,
while the graph is still there: before ``backward``, or after
``backward(retain_graph=True)``); :func:`draw` lays it out in layers and reads each
named tensor's value and ``.grad`` when it draws, so trace first, then call backward,
then draw::

    names = {"w": w, "x": x, "z": z, "L": loss}
    z.retain_grad()                      # intermediates keep .grad only when asked
    graph = trace(loss, names)
    loss.backward()
    draw(graph, "graph.png")

A node is labelled with the name you gave its tensor, or else with its op (``Mul``).
Ops do not keep their outputs, so an unnamed node shows its op only; name the tensors
you want to see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import plot
from ...autograd.tensor import Tensor


@dataclass
class Node:
    """One box of the drawing: a leaf tensor or an op."""

    label: str
    op: str | None  # the op's name; None for a leaf tensor
    tensor: Tensor | None  # the named (or retained) tensor, for its value and grad
    parents: list[int] = field(default_factory=list)  # indices into Graph.nodes
    layer: int = 0
    row: float = 0.0


@dataclass
class Graph:
    """The traced nodes, parents before children; the last one is the output."""

    nodes: list[Node]


def trace(output: Tensor, names: dict[str, Tensor] | None = None) -> Graph:
    """Walk the graph that produced ``output`` back to its leaves.

    ``names`` maps labels to tensors: leaves (parameters, inputs that require grad) and
    intermediates. Inputs that do not require grad are not part of the graph.
    """
    if output.grad_fn is None:
        raise ValueError("the output has no graph: did it come from tensors that require grad?")
    label_of: dict[int, tuple[str, Tensor]] = {}
    for name, t in (names or {}).items():
        key = t.grad_fn if t.grad_fn is not None else t
        label_of[id(key)] = (name, t)

    # Iterative depth-first walk; `order` lists every object after all of its parents.
    index: dict[int, int] = {}
    order: list = []
    entered: set[int] = set()
    stack: list[tuple[object, bool]] = [(output.grad_fn, False)]
    while stack:
        obj, done = stack.pop()
        if done:  # all parents placed: place this one
            index[id(obj)] = len(order)
            order.append(obj)
            continue
        if id(obj) in entered:
            continue
        entered.add(id(obj))
        stack.append((obj, True))
        if not isinstance(obj, Tensor):
            if obj.parents is None:
                raise RuntimeError(
                    "the graph was freed by backward(): trace before backward, or call "
                    "backward(retain_graph=True)"
                )
            for p in reversed(obj.parents):
                if p is not None and id(p) not in entered:
                    stack.append((p, False))

    nodes = []
    for obj in order:
        named = label_of.get(id(obj))
        if isinstance(obj, Tensor):
            label, tensor, op = (named[0] if named else "leaf"), obj, None
        else:
            op = obj.name.removesuffix("Backward")
            retained = obj._retain() if obj._retain is not None else None
            label = named[0] if named else op
            tensor = named[1] if named else retained
        parents = (
            [] if isinstance(obj, Tensor) else [index[id(p)] for p in obj.parents if p is not None]
        )
        nodes.append(Node(label, op, tensor, parents))
    graph = Graph(nodes)
    _layout(graph)
    return graph


def _layout(graph: Graph, sweeps: int = 6) -> None:
    """Layers from the longest path from the leaves (leaves then pulled next to their
    first consumer); rows ordered by the mean row of neighbours (barycentre sweeps)."""
    nodes = graph.nodes
    children: list[list[int]] = [[] for _ in nodes]
    for i, n in enumerate(nodes):
        n.layer = 1 + max((nodes[p].layer for p in n.parents), default=-1)
        for p in n.parents:
            children[p].append(i)
    for i, n in enumerate(nodes):
        if not n.parents and children[i]:
            n.layer = min(nodes[c].layer for c in children[i]) - 1

    depth = max(n.layer for n in nodes) + 1
    layers: list[list[int]] = [[] for _ in range(depth)]
    for i in range(len(nodes)):  # first order: the walk's, inputs in argument order
        layers[nodes[i].layer].append(i)
    for layer in layers:
        _set_rows(nodes, layer)

    def mean_row(i: int, nbrs: list[int]) -> float:
        return float(np.mean([nodes[j].row for j in nbrs])) if nbrs else nodes[i].row

    best = (_crossings(nodes), [list(layer) for layer in layers])
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        for layer in layers if forward else layers[::-1]:
            layer.sort(key=lambda i: -mean_row(i, nodes[i].parents if forward else children[i]))
            _set_rows(nodes, layer)
        if (n := _crossings(nodes)) < best[0]:
            best = (n, [list(layer) for layer in layers])
    for layer in best[1]:
        _set_rows(nodes, layer)


def _crossings(nodes: list[Node]) -> int:
    """How many pairs of arrows cross (between the same two layers)."""
    edges = [(nodes[p].layer, n.layer, nodes[p].row, n.row) for n in nodes for p in n.parents]
    count = 0
    for k, (a0, a1, ar0, ar1) in enumerate(edges):
        for b0, b1, br0, br1 in edges[k + 1 :]:
            if a0 == b0 and a1 == b1 and (ar0 - br0) * (ar1 - br1) < 0:
                count += 1
    return count


def _set_rows(nodes: list[Node], layer: list[int]) -> None:
    top = (len(layer) - 1) / 2
    for k, i in enumerate(layer):
        nodes[i].row = top - k


def _fmt(a) -> str:
    a = np.asarray(a)
    if a.size == 1:
        v = float(a.reshape(())) + 0.0  # + 0.0: no "-0.0000"
        return f"{v:.3e}" if 0 < abs(v) < 1e-3 else f"{v:.4f}"
    if a.size <= 4:
        return np.array2string(a, precision=3, separator=",", suppress_small=True)
    return f"shape {tuple(a.shape)}"


def _text(node: Node) -> str:
    title = node.label if node.op in (None, node.label) else f"{node.label} ({node.op})"
    lines = [title]
    t = node.tensor
    if t is not None:
        lines.append(f"value {_fmt(t.array)}")
        if t.grad is not None:
            lines.append(f"grad {_fmt(t.grad.array)}")
    return "\n".join(lines)


_COLORS = {"leaf": "#cfe2ff", "named": "#d4edda", "op": "#eeeeee", "output": "#ffe0b2"}


@plot.style()
def draw(graph: Graph, path: str | Path, title: str | None = None) -> Path:
    """Draw ``graph`` (from :func:`trace`) as a PNG: leaves on the left, the output on the
    right, an arrow from each input to the op that uses it."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    nodes = graph.nodes
    dx, dy, w, h = 2.3, 1.15, 1.75, 0.9
    depth = max(n.layer for n in nodes) + 1
    height = max(sum(1 for n in nodes if n.layer == k) for k in range(depth))
    fig, (ax,) = plot.figure(size=(1.25 * depth + 0.5, 0.8 * height + 0.8), title=title)
    ax.set_axis_off()
    ax.set_xlim(-w / 2 - 0.2, (depth - 1) * dx + w / 2 + 0.2)
    ax.set_ylim(-(height - 1) / 2 * dy - h / 2 - 0.2, (height - 1) / 2 * dy + h / 2 + 0.2)

    def center(n: Node) -> tuple[float, float]:
        return n.layer * dx, n.row * dy

    for i, n in enumerate(nodes):
        x, y = center(n)
        for p in n.parents:
            px, py = center(nodes[p])
            ax.add_patch(
                FancyArrowPatch(
                    (px + w / 2, py),
                    (x - w / 2, y),
                    arrowstyle="-|>",
                    mutation_scale=10,
                    color="#555555",
                    lw=0.8,
                )
            )
        if i == len(nodes) - 1:
            kind = "output"
        elif n.op is None:
            kind = "leaf"
        else:
            kind = "named" if n.label != n.op else "op"
        ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.12",
                fc=_COLORS[kind],
                ec="#333333",
                lw=0.8,
            )
        )
        # 7 pt: a node's three lines of monospace fit its box (13 px at the saved 130 dpi)
        ax.text(x, y, _text(n), ha="center", va="center", fontsize=7, family="monospace")
    keys = [
        ("leaf", "leaf tensor"),
        ("named", "named result"),
        ("op", "unnamed op"),
        ("output", "output"),
    ]
    fig.legend(
        handles=[Patch(fc=_COLORS[k], ec="#333333", label=t) for k, t in keys],
        loc="outside lower center",
        ncol=4,
        fontsize=plot.SMALL,
        frameon=False,
    )
    return plot.save(fig, path, dpi=130)


def draw_graph(
    output: Tensor, names: dict[str, Tensor], path: str | Path, title: str | None = None
) -> Path:
    """Trace and draw in one call (the values and gradients present now are shown)."""
    return draw(trace(output, names), path, title)
