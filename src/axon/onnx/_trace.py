"""Tracing: run one forward pass and record every op it runs, in order.

While tracing, ``axon.autograd.function.trace_hook`` is set: every ``Op.apply`` hands
its class and arguments to :func:`run_traced`'s recorder, which runs the op and keeps
the op (its context, holding whatever forward stored), its arguments exactly as passed
(Tensors, arrays, Python values) and its output. The exporter turns each record into
ONNX nodes.

Values are matched by their array: a Tensor re-wrapped around the same array (``.data``,
a custom ``Function``'s output, an in-place op's target) is the same value. Each record
keeps its arrays alive, so an ``id`` is never reused during the trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd import function
from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor, _wrap


@dataclass
class Call:
    """One op run by the traced forward pass.

    ``alt`` is the same op in the second trace (made with the dynamic axes one larger),
    or None: the rules compare the two to tell which sizes follow the input's.
    """

    op: Any  # the op's context (an ``Op`` instance after its forward)
    args: tuple  # as passed, each Tensor replaced by its array
    out: Tensor
    out_array: np.ndarray  # kept: an in-place op may later give ``out`` another array
    alt: Call | None = None

    @property
    def name(self) -> str:
        return type(self.op).__name__


def _run_op(cls, arrays: tuple) -> tuple[Any, Tensor]:
    """Run one op (its arguments with Tensors as arrays) as ``Op.apply`` would without
    recording: ``(context, output)``.

    The output looks recorded (``requires_grad`` for floats, the context as its node), so
    that in-place methods (``relu_``, ``+=``, ``copy_``) take their op path, which the
    trace sees, instead of writing into the array behind its back. Nothing ever runs
    backward through these nodes (``parents`` is None: forward keeps only what inference
    needs).
    """
    ctx = object.__new__(cls)
    ctx.parents = None
    out = ctx.forward(*arrays)
    if not isinstance(out, np.ndarray):
        out = np.asarray(out)
    return ctx, _wrap(out, out.dtype.kind in "fc", ctx)


def run_traced(model, args: tuple, kwargs: dict) -> tuple[list[Call], Any]:
    """Run ``model(*args, **kwargs)`` once, recording every op it runs."""
    calls: list[Call] = []

    def record(cls, op_args):
        # each Tensor's array as it is now: an in-place op may rebind the Tensor later
        arrays = tuple(a.array if isinstance(a, Tensor) else a for a in op_args)
        ctx, out = _run_op(cls, arrays)
        calls.append(Call(ctx, arrays, out, out.array))
        return out

    if function.trace_hook is not None:
        raise RuntimeError("ONNX export: a trace is already running (export is not reentrant)")
    function.trace_hook = record
    try:
        with enable_grad():
            out = model(*args, **kwargs)
    finally:
        function.trace_hook = None
    return calls, out


def flatten_outputs(out: Any, where: str = "output") -> list[tuple[str, Tensor]]:
    """The Tensors of a (nested) tuple / list / dict output, in order, with where each is."""
    if isinstance(out, Tensor):
        return [(where, out)]
    if isinstance(out, list | tuple):
        return [t for i, o in enumerate(out) for t in flatten_outputs(o, f"{where}[{i}]")]
    if isinstance(out, dict):
        return [t for k, o in out.items() for t in flatten_outputs(o, f"{where}[{k!r}]")]
    raise TypeError(
        f"ONNX export: the model's {where} is a {type(out).__name__}; only Tensors (in "
        f"tuples, lists or dicts) can be exported"
    )
