"""axon.lab.shared.graph: tracing a graph, its layered layout, and the PNG it draws."""

import matplotlib.image
import pytest

import axon as ax
from axon.lab.shared.graph import _text, draw, draw_graph, trace

PNG = b"\x89PNG\r\n\x1a\n"


def small_graph():
    w = ax.tensor([0.5], requires_grad=True)
    x = ax.tensor([2.0], requires_grad=True)
    b = ax.tensor([-0.25], requires_grad=True)
    z = w * x + b
    y = z.sigmoid()
    loss = (y - 1.0) ** 2
    return {"w": w, "x": x, "b": b, "z": z, "y": y}, loss


def test_trace_names_nodes_and_layers_them_after_their_parents():
    names, loss = small_graph()
    graph = trace(loss, names)
    labels = [n.label for n in graph.nodes]
    assert {"w", "x", "b", "z", "y", "Mul", "Sub", "Pow"} <= set(labels)
    assert len(labels) == 8  # 3 leaves, Mul, z (Add), y (Sigmoid), Sub, Pow
    assert graph.nodes[-1].op == "Pow"  # the output comes last
    z = graph.nodes[labels.index("z")]
    assert z.op == "Add" and z.tensor is names["z"]
    for n in graph.nodes:
        for p in n.parents:
            assert graph.nodes[p].layer < n.layer
    # leaves sit just before their first consumer: b beside the Mul, not at layer 0
    assert graph.nodes[labels.index("b")].layer == graph.nodes[labels.index("Mul")].layer


def test_draw_writes_a_png_with_values_and_grads(tmp_path):
    names, loss = small_graph()
    names["z"].retain_grad()
    graph = trace(loss, names)
    loss.backward()
    z = graph.nodes[[n.label for n in graph.nodes].index("z")]
    text = _text(z)
    assert "z (Add)" in text and "value 0.7500" in text and "grad" in text
    path = draw(graph, tmp_path / "sub" / "graph.png", title="small")
    assert path.read_bytes()[:8] == PNG
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 300


def test_trace_needs_the_graph_before_it_is_freed(tmp_path):
    names, loss = small_graph()
    loss.backward(retain_graph=True)
    assert draw_graph(loss, names, tmp_path / "g.png").exists()  # retained: still there
    loss.backward()  # frees it
    with pytest.raises(RuntimeError, match="freed"):
        trace(loss, names)
    with pytest.raises(ValueError, match="no graph"):
        trace(ax.tensor(1.0), {})
