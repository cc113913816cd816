"""``axon.onnx.export``: a model as an ONNX file, as ``torch.onnx.export`` writes one. Its parts:
``_trace`` records a forward pass, ``_rules`` turns each op into nodes of ``_graph.Graph``.

    ax.onnx.export(model, (x,), "model.onnx", input_names=["x"], output_names=["logits"],
                   dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})

The exporter traces ONE forward pass (eval mode): every op the pass runs is recorded
(see ``_trace``) and turned into ONNX nodes by its rule (``_rules``: one small function
per op kind). Parameters and buffers become initializers named by their ``state_dict``
keys.

A second trace, on another input (the values rolled by one along every axis, and the
``dynamic_axes`` one larger), checks the first: every size that changes follows a dynamic
axis and is written so that ONNX computes it (a Reshape's 0 or -1, a Slice counted from
the end); a constant that changes was computed from the input outside axon's ops (in
NumPy, say a padding mask from a comparison of the ids), which a trace cannot follow, so
it is an ``ExportError`` instead of a silently frozen value; and a pass that runs other
ops (Python control flow on the input) is one too. An op with no rule raises
``NotImplementedError`` naming it.

The ``onnx`` package is optional: ``pip install axon[onnx]``.
"""

from __future__ import annotations

import inspect
import os
import warnings
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor, _wrap
from ._graph import ExportError, Graph
from ._rules import RULES
from ._trace import flatten_outputs, run_traced

__all__ = ["ExportError", "export"]

SUPPORTED_OPSETS = range(17, 22)


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "axon.onnx.export needs the 'onnx' package: pip install axon[onnx] "
            "(or pip install onnx)"
        ) from None
    return onnx


def export(
    model,
    args=(),
    f=None,
    *,
    kwargs: dict | None = None,
    export_params: bool = True,
    verbose: bool | None = None,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    opset_version: int | None = 17,
    do_constant_folding: bool = True,
    dynamic_axes: dict[str, dict[int, str] | list[int]] | None = None,
    keep_initializers_as_inputs: bool = False,
    training=None,
    dynamo: bool = False,
    external_data: bool = False,
    optimize: bool = True,
):
    """Trace ``model(*args)`` and write it to ``f`` (a path or a binary file) as ONNX.

    Args:
        model: a Module (run in eval mode; its mode is restored after) or any callable.
        args: the example input: a Tensor, or a tuple of arguments (Tensors, arrays, or
            other values passed as they are); a dict as the tuple's last item gives
            keyword arguments, as in torch.
        f: where to write the model; None writes nothing (the model is returned).
        kwargs: keyword arguments of the forward pass.
        export_params: parameters as initializers (True) or as extra graph inputs.
        verbose: print the graph.
        input_names, output_names: names of the graph's inputs (the Tensor arguments, in
            order) and outputs (the Tensors of the output, flattened in order); default
            the forward's argument names and ``output`` / ``output_0``, ``output_1``, ...
        opset_version: the ONNX opset, 17 to 21.
        dynamic_axes: ``{name: {axis: "label"}}`` or ``{name: [axes]}``: axes of inputs and
            outputs whose size may differ from the example's (the batch, usually).
        keep_initializers_as_inputs: also list the parameters' initializers as graph inputs
            (so a runtime may be fed other weights).
        training: only eval-mode export exists (``None`` or torch's ``TrainingMode.EVAL``).
        do_constant_folding, dynamo, external_data, optimize: accepted for torch's
            signature; runtimes fold the constant subgraphs (gate reorders, transposed
            weights) themselves, and the weights are always stored in the file.

    Returns:
        The ``onnx.ModelProto`` (written to ``f`` when given).

    Raises:
        ImportError: the ``onnx`` package is not installed.
        NotImplementedError: the forward pass ran an op with no export rule (named).
        ExportError: what was traced cannot be expressed (named), e.g. a constant computed
            from the input outside axon's ops.
    """
    onnx = _import_onnx()
    opset = 17 if opset_version is None else int(opset_version)
    if opset not in SUPPORTED_OPSETS:
        raise ValueError(f"ONNX export: opset_version {opset} is not supported (17 to 21)")
    if training is not None and not str(training).endswith("EVAL"):
        raise NotImplementedError(f"ONNX export: only eval mode is exported, got {training}")
    del do_constant_folding, dynamo, external_data, optimize  # see the docstring
    args, more = _split_args(args)
    kwargs = {**more, **(kwargs or {})}
    inputs = _graph_inputs(model, args, kwargs, input_names)
    axes = _axes_by_name(dynamic_axes or {})
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    try:
        calls, out = run_traced(model, args, kwargs)
        alt_out = _second_trace(model, args, kwargs, calls, inputs, axes)
    finally:
        if was_training:
            model.train()
    proto = _build(
        onnx,
        model,
        inputs,
        calls,
        (out, alt_out),
        opset,
        export_params,
        output_names,
        axes,
        keep_initializers_as_inputs,
    )
    known = {v.name for v in (*proto.graph.input, *proto.graph.output)}
    for name in axes:
        if name not in known:
            warnings.warn(
                f"ONNX export: dynamic_axes names {name!r}, which is not an input "
                f"or output name ({', '.join(sorted(known))})",
                stacklevel=2,
            )
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is not None:
        data = proto.SerializeToString()
        if hasattr(f, "write"):
            f.write(data)
        else:
            with open(os.fspath(f), "wb") as file:
                file.write(data)
    return proto


# ----------------------------------------------------------------------------- arguments
def _split_args(args) -> tuple[tuple, dict]:
    if not isinstance(args, tuple):
        args = (args,)
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _leaves(obj, name: str) -> list[tuple[str, Any]]:
    """The Tensors and arrays in an argument (nested tuples and lists flattened, as torch
    does), each with a default input name."""
    if isinstance(obj, Tensor | np.ndarray):
        return [(name, obj)]
    if isinstance(obj, tuple | list):
        return [leaf for i, o in enumerate(obj) for leaf in _leaves(o, f"{name}_{i}")]
    return []


def _graph_inputs(
    model, args: tuple, kwargs: dict, given: list[str] | None
) -> list[tuple[str, Any]]:
    """(name, Tensor or array) of each graph input: the Tensors of the positional, then the
    keyword arguments; named by ``input_names``, else by the forward's parameters."""
    try:
        params = [p for p in inspect.signature(getattr(model, "forward", model)).parameters]
    except (TypeError, ValueError):
        params = []
    leaves = []
    for i, a in enumerate(args):
        default = params[i] if i < len(params) and not params[i].startswith("*") else f"input_{i}"
        leaves += _leaves(a, default)
    for key, a in kwargs.items():
        leaves += _leaves(a, key)
    if given is not None:
        if len(given) > len(leaves):
            raise ValueError(
                f"ONNX export: {len(given)} input_names given for {len(leaves)} tensor inputs"
            )
        leaves = [(n, t) for n, (_, t) in zip(given, leaves, strict=False)] + leaves[len(given) :]
    return leaves


def _array_of(x) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else x


def _replaced(obj, made: dict[int, Any]):
    """``obj`` with each Tensor or array leaf swapped for ``made[id(leaf)]``."""
    if isinstance(obj, Tensor | np.ndarray):
        return made.get(id(obj), obj)
    if isinstance(obj, tuple | list):
        return type(obj)(_replaced(o, made) for o in obj)
    return obj


def _axes_by_name(dynamic_axes: dict) -> dict[str, dict[int, str]]:
    out = {}
    for name, axes in dynamic_axes.items():
        if isinstance(axes, dict):
            out[name] = {int(a): str(label) for a, label in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{j + 1}" for j, a in enumerate(axes)}
    return out


def _variant(array: np.ndarray, axes) -> np.ndarray:
    """Another input for the second trace: one larger along each dynamic axis (its first
    slice repeated there) and rolled by one along every axis (other values at each place,
    from the same set, so integer ids stay valid)."""
    for axis in axes:
        n = array.shape[axis]
        array = np.take(array, list(range(n)) + [0], axis=axis)
    return np.roll(array, 1, axis=tuple(range(array.ndim))) if array.ndim else array


def _second_trace(model, args, kwargs, calls, inputs, axes_by_name) -> Any:
    """Trace again on other inputs (see :func:`_variant`) and pair up the calls
    (``call.alt``): sizes that change follow the dynamic axes, and a constant that changes
    was computed from the input outside axon's ops. Returns the second output."""
    made: dict[int, Any] = {}  # one variant per object: MHA(x, x, x) stays self-attention
    for name, leaf in inputs:
        if id(leaf) not in made:
            changed = _variant(_array_of(leaf), sorted(axes_by_name.get(name, {})))
            made[id(leaf)] = _wrap(changed) if isinstance(leaf, Tensor) else changed
    other = _replaced(args, made)
    other_kwargs = {k: _replaced(v, made) for k, v in kwargs.items()}
    try:
        alt_calls, alt_out = run_traced(model, tuple(other), other_kwargs)
    except Exception as e:
        raise ExportError(
            f"ONNX export: the model fails on a second example input (other values, and "
            f"the dynamic axes one larger) made to check the trace "
            f"({type(e).__name__}: {e})"
        ) from e
    if [c.name for c in alt_calls] != [c.name for c in calls]:
        raise ExportError(
            "ONNX export: the forward pass runs other ops for other input values or sizes "
            "(Python control flow on them, or a loop over a dynamic axis); a trace cannot "
            "express that"
        )
    for c, alt in zip(calls, alt_calls, strict=True):
        c.alt = alt
    return alt_out


# ----------------------------------------------------------------------------- building
def _params_of(model) -> dict[int, tuple[str, np.ndarray]]:
    """id(array) -> (state_dict key, array) of every parameter and buffer (first key wins)."""
    params: dict[int, tuple[str, np.ndarray]] = {}
    state_dict = getattr(model, "state_dict", None)
    if state_dict is None:
        return params
    for key, t in state_dict(keep_vars=True).items():
        params.setdefault(id(t.array), (key, t.array))
    return params


def _value_info(onnx, name: str, arr: np.ndarray, dynamic: dict[int, str]):
    dims = [dynamic.get(i, n) for i, n in enumerate(arr.shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(arr.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _build(
    onnx,
    model,
    inputs,
    calls,
    outs,
    opset,
    export_params,
    output_names,
    axes,
    keep_initializers_as_inputs,
) -> Any:
    """The checked ModelProto; ``outs`` is (the output, the second trace's or None)."""
    graph = Graph(onnx, opset, _params_of(model), export_params)
    infos = []
    for name, leaf in inputs:
        if graph.known(leaf) is None:  # a Tensor passed twice is read from its first input
            graph.bind(_array_of(leaf), name)
        infos.append(_value_info(onnx, name, _array_of(leaf), axes.get(name, {})))
    for call in calls:
        export_rule = RULES.get(call.name)
        if export_rule is None:
            raise NotImplementedError(f"ONNX export: no rule for op {call.name!r}")
        graph.bind(call.out_array, export_rule(graph, call))
    outputs = _outputs(onnx, graph, *outs, output_names, axes)
    if keep_initializers_as_inputs:
        infos += [
            onnx.helper.make_tensor_value_info(i.name, i.data_type, i.dims)
            for i in graph.param_initializers
        ]
    graph_proto = onnx.helper.make_graph(
        graph.nodes,
        type(model).__name__,
        infos + graph.param_inputs,
        outputs,
        initializer=graph.initializers,
    )
    proto = onnx.helper.make_model(
        graph_proto,
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="axon",
    )
    proto.ir_version = min(proto.ir_version, 10)  # what current runtimes read
    onnx.checker.check_model(proto)
    return proto


def _outputs(onnx, graph: Graph, out, alt_out, output_names, axes) -> list:
    """Graph outputs (Identity nodes naming them); sizes that follow the dynamic axes
    (declared, or seen to change in the second trace) get symbolic dimensions."""
    flat = flatten_outputs(out)
    alt_flat = flatten_outputs(alt_out) if alt_out is not None else None
    if output_names is None:
        output_names = ["output"] if len(flat) == 1 else [f"output_{i}" for i in range(len(flat))]
    if len(output_names) != len(flat):
        raise ValueError(
            f"ONNX export: {len(output_names)} output_names given for {len(flat)} output tensors"
        )
    infos = []
    for j, ((where, t), name) in enumerate(zip(flat, output_names, strict=True)):
        value = graph.known(t)
        if value is None:
            raise ExportError(
                f"ONNX export: the model's {where} was not computed by axon's "
                f"ops from the inputs (a constant, or computed in NumPy)"
            )
        dynamic = dict(axes.get(name, {}))
        if alt_flat is not None:  # sizes that changed in the second trace are dynamic too
            for i, (a, b) in enumerate(zip(t.shape, alt_flat[j][1].shape, strict=True)):
                if a != b:
                    dynamic.setdefault(i, f"{name}_dim_{i}")
        graph.nodes.append(onnx.helper.make_node("Identity", [value], [name]))
        infos.append(_value_info(onnx, name, t.array, dynamic))
    return infos
