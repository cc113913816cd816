"""``Graph``: the ONNX graph being built, and the lookup from traced arrays to its values.

Every value a rule reads goes through :meth:`Graph.value`: the output of an earlier op,
a graph input, a parameter or buffer (an initializer named by its ``state_dict`` key), or
else a constant (an initializer named ``const_N``). A constant whose shape changes
between the two traces depends on a dynamic axis, which ONNX cannot hold as a constant:
that is an error naming the op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class ExportError(RuntimeError):
    """The traced forward pass cannot be written as ONNX as it is."""


def _array(x) -> np.ndarray | None:
    if isinstance(x, Tensor):
        return x.array
    if isinstance(x, np.ndarray):
        return x
    return None


class Graph:
    """Nodes, initializers and the names of traced values, for one export."""

    def __init__(
        self, onnx, opset: int, params: dict[int, tuple[str, np.ndarray]], export_params: bool
    ) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.param_inputs: list = []  # parameters as graph inputs (export_params=False)
        self.param_initializers: list = []  # parameters as initializers (export_params=True)
        self.names: dict[int, str] = {}  # id(array) -> the ONNX value holding it
        self.params = params  # id(array) -> (state_dict key, array)
        self.export_params = export_params
        self._count = 0

    # ------------------------------------------------------------------ names
    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def bind(self, array: np.ndarray, name: str) -> None:
        """Record that ``array`` (an op's output, a graph input) is the value ``name``."""
        self.names[id(array)] = name

    def known(self, x) -> str | None:
        """The value name of a traced Tensor or array, or None for anything else."""
        arr = _array(x)
        if arr is None:
            return None
        if id(arr) in self.names:
            return self.names[id(arr)]
        if id(arr) in self.params:
            return self._param(*self.params[id(arr)])
        return None

    def _param(self, key: str, arr: np.ndarray) -> str:
        if self.export_params:
            self.initializers.append(self.onnx.numpy_helper.from_array(arr, key))
            self.param_initializers.append(self.initializers[-1])
        else:
            self.param_inputs.append(
                self.helper.make_tensor_value_info(key, _elem_type(self.onnx, arr.dtype), arr.shape)
            )
        self.names[id(arr)] = key
        return key

    # ------------------------------------------------------------------ values
    def value(self, x, call=None, index: int | None = None, dtype=None) -> str:
        """The ONNX name of argument ``x`` (``call.args[index]``), cast to ``dtype`` if given.

        A Python number becomes a constant of ``dtype``; an unknown Tensor or array a
        constant (checked against the second trace when there is one).
        """
        name = self.known(x)
        if name is None:
            arr = _array(x)
            if arr is None:
                if not isinstance(x, int | float | bool | np.generic):
                    raise ExportError(f"ONNX export: cannot make a value of {x!r:.60}")
                arr = np.asarray(x, dtype=dtype)
            self._check_constant(arr, call, index)
            name = self.const(arr)
        else:
            arr = _array(x)
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            name = self.node("Cast", [name], to=_elem_type(self.onnx, np.dtype(dtype)))
        return name

    def _check_constant(self, arr: np.ndarray, call, index) -> None:
        """A constant must be the same in the second trace (other input values, the
        dynamic axes one larger): else it was computed from the input outside axon's ops
        (in NumPy, or from a shape), and the exported graph would freeze it."""
        if call is None or call.alt is None or index is None:
            return
        other = call.alt.args[index]
        other_arr = _array(other)
        if other_arr is None:  # a Python number: compared as given
            other_arr = np.asarray(other, dtype=arr.dtype)
        if other_arr.shape != arr.shape:
            raise ExportError(
                f"ONNX export: input {index} of op {call.name!r} is a constant of shape "
                f"{arr.shape} (computed outside axon's ops, e.g. in NumPy) whose shape "
                f"follows the input's ({other_arr.shape} for an input with the dynamic axes "
                f"one larger); it cannot be exported with these dynamic_axes"
            )
        if not np.array_equal(other_arr, arr, equal_nan=arr.dtype.kind in "fc"):
            raise ExportError(
                f"ONNX export: input {index} of op {call.name!r} is a constant of shape "
                f"{arr.shape} that changes with the input's values: it was computed from "
                f"the input outside axon's ops (in NumPy, e.g. a mask from a comparison), "
                f"which a trace cannot follow"
            )

    def const(self, arr, hint: str = "const") -> str:
        """A new initializer holding ``arr``."""
        name = self.fresh(hint)
        arr = np.asarray(arr)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values, hint: str = "ints") -> str:
        """A 1-D int64 constant (shapes, axes, starts and ends)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    # ------------------------------------------------------------------ nodes
    def node(
        self, op_type: str, inputs: list[str], outputs: int | list[str] = 1, **attrs: Any
    ) -> Any:
        """Add a node; returns its output name (a list when it has several outputs)."""
        names = (
            [self.fresh(op_type) for _ in range(outputs)] if isinstance(outputs, int) else outputs
        )
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(
            self.helper.make_node(
                op_type, inputs, names, name=self.fresh(op_type + "_node"), **attrs
            )
        )
        return names[0] if len(names) == 1 else names

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """ReduceSum/ReduceMean/ReduceMax over ``axes`` (None: all), in this opset's form
        (axes an attribute before opset 18, an input from 18; ReduceSum's from 13)."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.node(op_type, [x], keepdims=keep)
        axes = [int(a) for a in (axes if isinstance(axes, list | tuple) else [axes])]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes, "axes")], keepdims=keep)
        return self.node(op_type, [x], axes=axes, keepdims=keep)

    def unsqueeze(self, x: str, axes) -> str:
        return self.node("Unsqueeze", [x, self.ints(axes, "axes")])

    def squeeze(self, x: str, axes) -> str:
        return self.node("Squeeze", [x, self.ints(axes, "axes")])


def _elem_type(onnx, dtype) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
