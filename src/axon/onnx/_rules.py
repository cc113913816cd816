"""Export rules: one small function per op kind, turning a traced :class:`Call` into ONNX
nodes and returning the name of the value that holds the op's output.

``RULES`` maps an op's class name to its rule. The arguments a rule reads are the op's
``forward`` arguments (see each op in ``axon/autograd/ops``).
Shapes that follow the input's dynamic axes are told apart by the second trace
(``call.alt``): a size that differs there is written so that ONNX computes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._graph import INT64_MAX, INT64_MIN, ExportError, Graph
from ._trace import Call

RULES: dict[str, Callable[[Graph, Call], str]] = {}


def rule(*names: str):
    """Register the decorated function as the rule of the ops called ``names``."""

    def register(fn):
        for name in names:
            RULES[name] = fn
        return fn

    return register


def _shape(x) -> tuple:
    return tuple(getattr(x, "shape", ()))


def _axis_list(axes) -> list[int] | None:
    return None if axes is None else [int(a) for a in axes]


def _dynamic_dims(call: Call) -> list[bool]:
    """For each dimension of the output: does its size follow the dynamic axes?"""
    if call.alt is None:
        return [False] * call.out_array.ndim
    return [a != b for a, b in zip(call.out_array.shape, call.alt.out_array.shape, strict=True)]


def _unary(onnx_op: str, **attrs):
    def export(g: Graph, call: Call) -> str:
        return g.node(onnx_op, [g.value(call.args[0], call, 0)], **attrs)

    return export


for _name, _onnx in {
    "Sigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "Relu": "Relu",
    "Neg": "Neg",
    "Exp": "Exp",
    "Log": "Log",
    "Sqrt": "Sqrt",
    "Abs": "Abs",
    "Sin": "Sin",
    "Cos": "Cos",
    "Erf": "Erf",
    "Tan": "Tan",
    "Asin": "Asin",
    "Acos": "Acos",
    "Atan": "Atan",
    "Sinh": "Sinh",
    "Cosh": "Cosh",
    "Asinh": "Asinh",
    "Acosh": "Acosh",
    "Atanh": "Atanh",
    "Sign": "Sign",
    "Floor": "Floor",
    "Ceil": "Ceil",
    "Clone": "Identity",
    "Hardswish": "HardSwish",
}.items():
    RULES[_name] = _unary(_onnx)
RULES["Hardsigmoid"] = _unary("HardSigmoid", alpha=1.0 / 6.0, beta=0.5)


# ----------------------------------------------------------------------------- elementwise
def _binary(onnx_op: str):
    def export(g: Graph, call: Call) -> str:
        dtype = call.out_array.dtype
        a = g.value(call.args[0], call, 0, dtype=dtype)
        b = g.value(call.args[1], call, 1, dtype=dtype)
        return g.node(onnx_op, [a, b])

    return export


for _name, _onnx in {
    "Add": "Add",
    "Sub": "Sub",
    "Mul": "Mul",
    "Div": "Div",
    "Pow": "Pow",
    "Maximum": "Max",
    "Minimum": "Min",
}.items():
    RULES[_name] = _binary(_onnx)


def _float_pair(g: Graph, call: Call) -> tuple[str, str, object]:
    """Both operands in the output's dtype, and a maker of constants in it; integer
    outputs have no rule here (ONNX's integer division truncates, torch's floors)."""
    dtype = call.out_array.dtype
    if dtype.kind != "f":
        raise ExportError(f"ONNX export: no rule for op {call.name!r} on {dtype} tensors")
    a = g.value(call.args[0], call, 0, dtype=dtype)
    b = g.value(call.args[1], call, 1, dtype=dtype)
    return a, b, lambda v: g.const(np.asarray(v, dtype))


@rule("DivRounded", "FloorDivide")
def _div_rounded(g: Graph, call: Call) -> str:
    """div(a, b, rounding_mode='floor' | 'trunc') on floats."""
    a, b, _ = _float_pair(g, call)
    q = g.node("Div", [a, b])
    mode = "floor" if call.name == "FloorDivide" else call.args[2]
    if mode == "floor":
        return g.node("Floor", [q])
    if mode == "trunc":
        return g.node("Mul", [g.node("Sign", [q]), g.node("Floor", [g.node("Abs", [q])])])
    return q


@rule("Remainder")
def _remainder(g: Graph, call: Call) -> str:
    """a - floor(a / b) b: the sign of b, as Python's %."""
    a, b, _ = _float_pair(g, call)
    return g.node("Sub", [a, g.node("Mul", [g.node("Floor", [g.node("Div", [a, b])]), b])])


@rule("Fmod")
def _fmod(g: Graph, call: Call) -> str:
    a, b, _ = _float_pair(g, call)
    return g.node("Mod", [a, b], fmod=1)


@rule("Hypot")
def _hypot(g: Graph, call: Call) -> str:
    a, b, _ = _float_pair(g, call)
    return g.node("Sqrt", [g.node("Add", [g.node("Mul", [a, a]), g.node("Mul", [b, b])])])


@rule("LogAddExp")
def _logaddexp(g: Graph, call: Call) -> str:
    """max(a, b) + log(1 + e^-|a - b|), stable for large arguments."""
    a, b, c = _float_pair(g, call)
    gap = g.node("Neg", [g.node("Abs", [g.node("Sub", [a, b])])])
    tail = g.node("Log", [g.node("Add", [c(1.0), g.node("Exp", [gap])])])
    return g.node("Add", [g.node("Max", [a, b]), tail])


@rule("Xlogy")
def _xlogy(g: Graph, call: Call) -> str:
    """x log y, 0 where x == 0 (even where log y is -inf or nan, as in torch)."""
    x, y, c = _float_pair(g, call)
    product = g.node("Mul", [x, g.node("Log", [y])])
    return g.node("Where", [g.node("Equal", [x, c(0.0)]), c(0.0), product])


@rule("Lerp")
def _lerp(g: Graph, call: Call) -> str:
    """start + weight (end - start)."""
    start, end, c = _float_pair(g, call)
    weight = g.value(call.args[2], call, 2, dtype=call.out_array.dtype)
    return g.node("Add", [start, g.node("Mul", [weight, g.node("Sub", [end, start])])])


@rule("Round")
def _round(g: Graph, call: Call) -> str:
    """Half to even, as NumPy and torch; with ``decimals``, scaled by 10^decimals."""
    a, decimals = call.args[0], (call.args[1] if len(call.args) > 1 else 0)
    x = g.value(a, call, 0)
    if not decimals:
        return g.node("Round", [x])
    scale = g.const(np.asarray(10.0**decimals, call.out_array.dtype))
    return g.node("Div", [g.node("Round", [g.node("Mul", [x, scale])]), scale])


@rule("Where")
def _where(g: Graph, call: Call) -> str:
    cond = g.value(call.args[0], call, 0, dtype=bool)
    dtype = call.out_array.dtype
    a, b = (g.value(call.args[i], call, i, dtype=dtype) for i in (1, 2))
    return g.node("Where", [cond, a, b])


@rule("Clamp")
def _clamp(g: Graph, call: Call) -> str:
    a, lo, hi = call.args
    dtype = call.out_array.dtype
    bounds = ["" if v is None else g.value(v, call, i, dtype=dtype) for i, v in ((1, lo), (2, hi))]
    return g.node("Clip", [g.value(a, call, 0), *bounds])


@rule("Cast")
def _cast(g: Graph, call: Call) -> str:
    return g.value(call.args[0], call, 0, dtype=call.out_array.dtype)


@rule("CopyInto")
def _copy_into(g: Graph, call: Call) -> str:
    """``dst.copy_(src)``: src cast to dst's dtype, broadcast to dst's shape (taken from
    dst at run time, so a dynamic batch stays dynamic)."""
    dst, src = call.args
    value = g.value(src, call, 1, dtype=call.out_array.dtype)
    if _shape(src) == call.out_array.shape:
        return value
    return g.node("Expand", [value, g.node("Shape", [g.value(dst, call, 0)])])


# ----------------------------------------------------------------------------- activations
@rule("LeakyRelu")
def _leaky_relu(g: Graph, call: Call) -> str:
    return g.node("LeakyRelu", [g.value(call.args[0], call, 0)], alpha=float(call.args[1]))


@rule("Elu")
def _elu(g: Graph, call: Call) -> str:
    return g.node("Elu", [g.value(call.args[0], call, 0)], alpha=float(call.args[1]))


@rule("Softplus")
def _softplus(g: Graph, call: Call) -> str:
    """softplus(beta x) / beta; torch's linear region above ``threshold`` differs from
    ln(1 + e^x) by less than float32 resolution there."""
    x, beta, _threshold = call.args
    if beta == 1:
        return g.node("Softplus", [g.value(x, call, 0)])
    dtype = call.out_array.dtype
    scaled = g.node("Mul", [g.value(x, call, 0), g.const(np.asarray(beta, dtype))])
    return g.node("Div", [g.node("Softplus", [scaled]), g.const(np.asarray(beta, dtype))])


@rule("Gelu")
def _gelu(g: Graph, call: Call) -> str:
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh form (``approximate='tanh'``)."""
    x, approximate = g.value(call.args[0], call, 0), call.args[1]
    dtype = call.out_array.dtype

    def c(v):
        return g.const(np.asarray(v, dtype))

    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Pow", [x, c(3.0)]), c(0.044715)])
        inner = g.node("Mul", [g.node("Add", [x, cube]), c(math.sqrt(2.0 / math.pi))])
        gate = g.node("Tanh", [inner])
    else:
        gate = g.node("Erf", [g.node("Div", [x, c(math.sqrt(2.0))])])
    return g.node("Mul", [g.node("Mul", [x, c(0.5)]), g.node("Add", [gate, c(1.0)])])


@rule("Silu")
def _silu(g: Graph, call: Call) -> str:
    x = g.value(call.args[0], call, 0)
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@rule("Mish")
def _mish(g: Graph, call: Call) -> str:
    x = g.value(call.args[0], call, 0)
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


@rule("LogSigmoid")
def _log_sigmoid(g: Graph, call: Call) -> str:
    """log sigmoid(x) = -softplus(-x), stable for large |x|."""
    x = g.value(call.args[0], call, 0)
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x])])])


@rule("ScaledElu")
def _scaled_elu(g: Graph, call: Call) -> str:
    """scale * (x if x > 0 else alpha (e^(input_scale x) - 1)): SELU and CELU."""
    a, alpha, scale, input_scale = call.args
    x = g.value(a, call, 0)
    if input_scale == 1:
        out = g.node("Elu", [x], alpha=float(alpha))
    else:  # CELU: alpha elu(x / alpha) = elu with the input scaled, the negative side scaled
        dtype = call.out_array.dtype
        inner = g.node(
            "Elu", [g.node("Mul", [x, g.const(np.asarray(input_scale, dtype))])], alpha=1.0
        )
        neg = g.node("Mul", [inner, g.const(np.asarray(alpha, dtype))])
        positive = g.node("Greater", [x, g.const(np.asarray(0, dtype))])
        out = g.node("Where", [positive, x, neg])
    if scale == 1:
        return out
    return g.node("Mul", [out, g.const(np.asarray(scale, call.out_array.dtype))])


@rule("Threshold")
def _threshold(g: Graph, call: Call) -> str:
    """x where x > threshold, else value."""
    a, threshold, value = call.args
    x, dtype = g.value(a, call, 0), call.out_array.dtype
    above = g.node("Greater", [x, g.const(np.asarray(threshold, dtype))])
    return g.node("Where", [above, x, g.const(np.asarray(value, dtype))])


@rule("Shrink")
def _shrink(g: Graph, call: Call) -> str:
    a, lambd, soft = call.args
    return g.node(
        "Shrink", [g.value(a, call, 0)], lambd=float(lambd), bias=float(lambd) if soft else 0.0
    )


def _composite(build):
    """A rule from ``build(g, x, c)``: ``x`` the input's name, ``c(v)`` a constant."""

    def export(g: Graph, call: Call) -> str:
        dtype = call.out_array.dtype
        return build(g, g.value(call.args[0], call, 0), lambda v: g.const(np.asarray(v, dtype)))

    return export


RULES.update(
    {
        "Log1p": _composite(lambda g, x, c: g.node("Log", [g.node("Add", [x, c(1.0)])])),
        "Expm1": _composite(lambda g, x, c: g.node("Sub", [g.node("Exp", [x]), c(1.0)])),
        "Log2": _composite(lambda g, x, c: g.node("Div", [g.node("Log", [x]), c(math.log(2))])),
        "Log10": _composite(lambda g, x, c: g.node("Div", [g.node("Log", [x]), c(math.log(10))])),
        "Exp2": _composite(lambda g, x, c: g.node("Pow", [c(2.0), x])),
        "Erfc": _composite(lambda g, x, c: g.node("Sub", [c(1.0), g.node("Erf", [x])])),
        "Trunc": _composite(
            lambda g, x, c: g.node(
                "Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])]
            )
        ),
    }
)


@rule("Hardtanh")
def _hardtanh(g: Graph, call: Call) -> str:
    x, lo, hi = call.args
    dtype = call.out_array.dtype
    return g.node(
        "Clip",
        [g.value(x, call, 0), g.const(np.asarray(lo, dtype)), g.const(np.asarray(hi, dtype))],
    )


@rule("Softmax", "LogSoftmax")
def _softmax(g: Graph, call: Call) -> str:
    return g.node(call.name, [g.value(call.args[0], call, 0)], axis=int(call.args[1]))


@rule("MaskedSoftmax")
def _masked_softmax(g: Graph, call: Call) -> str:
    """softmax over the last axis with the entries where ``pad`` is True left out."""
    s, pad = call.args
    scores = g.value(s, call, 0)
    if pad is not None:
        minus_inf = g.const(np.asarray(-np.inf, call.out_array.dtype))
        scores = g.node("Where", [g.value(pad, call, 1, dtype=bool), minus_inf, scores])
    return g.node("Softmax", [scores], axis=-1)


# ----------------------------------------------------------------------------- linear algebra
@rule("MatMul")
def _matmul(g: Graph, call: Call) -> str:
    return g.node("MatMul", [g.value(call.args[0], call, 0), g.value(call.args[1], call, 1)])


@rule("Linear")
def _linear(g: Graph, call: Call) -> str:
    """x W^T + b: one Gemm for a matrix, MatMul and Add for more dimensions."""
    x, w, b = call.args
    xs, ws = g.value(x, call, 0), g.value(w, call, 1)
    if len(_shape(x)) == 2:
        inputs = [xs, ws] + ([] if b is None else [g.value(b, call, 2)])
        return g.node("Gemm", inputs, transB=1)
    out = g.node("MatMul", [xs, g.node("Transpose", [ws], perm=[1, 0])])
    return out if b is None else g.node("Add", [out, g.value(b, call, 2)])


# ----------------------------------------------------------------------------- reductions
def _reduction(onnx_op: str):
    def export(g: Graph, call: Call) -> str:
        a, axes, keepdim = call.args[:3]
        return g.reduce(onnx_op, g.value(a, call, 0), axes, keepdim)

    return export


RULES["Sum"] = _reduction("ReduceSum")
RULES["Mean"] = _reduction("ReduceMean")
RULES["Amax"] = _reduction("ReduceMax")


@rule("Var", "Std")
def _variance(g: Graph, call: Call) -> str:
    """sum((x - mean)^2) / max(n - correction, 0) over the axes (its square root for Std);
    n, the count per mean, is computed in the graph (Size), so it may follow a dynamic
    axis."""
    a, _, correction, keepdim = call.args
    axes, dtype = _axis_list(call.op.axes), call.out_array.dtype
    x = g.value(a, call, 0)
    mean = g.reduce("ReduceMean", x, axes, True)
    centred = g.node("Sub", [x, mean])
    total = g.reduce("ReduceSum", g.node("Mul", [centred, centred]), axes, keepdim)
    count = g.node("Div", [g.node("Size", [x]), g.node("Size", [mean])])
    denom = g.node(
        "Sub",
        [g.node("Cast", [count], to=_onnx_type(g, dtype)), g.const(np.asarray(correction, dtype))],
    )
    denom = g.node("Max", [denom, g.const(np.asarray(0, dtype))])
    out = g.node("Div", [total, denom])
    return g.node("Sqrt", [out]) if call.name == "Std" else out


def _onnx_type(g: Graph, dtype) -> int:
    return g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


@rule("Norm")
def _norm(g: Graph, call: Call) -> str:
    a, p, _axes, keepdim = call.args
    x, axes = g.value(a, call, 0), _axis_list(call.op.axes)
    if p == 2:
        return g.reduce("ReduceL2", x, axes, keepdim)
    if p == 1:
        return g.reduce("ReduceL1", x, axes, keepdim)
    if not (isinstance(p, int | float) and np.isfinite(p) and p > 0):
        raise ExportError(f"ONNX export: no rule for a norm of order {p}")
    dtype = call.out_array.dtype
    powered = g.node("Pow", [g.node("Abs", [x]), g.const(np.asarray(p, dtype))])
    total = g.reduce("ReduceSum", powered, axes, keepdim)
    return g.node("Pow", [total, g.const(np.asarray(1.0 / p, dtype))])


@rule("LogSumExp")
def _logsumexp(g: Graph, call: Call) -> str:
    a, _axes, keepdim = call.args
    return g.reduce("ReduceLogSumExp", g.value(a, call, 0), _axis_list(call.op.axes), keepdim)


@rule("Prod")
def _prod(g: Graph, call: Call) -> str:
    a, axis, keepdim = call.args
    return g.reduce("ReduceProd", g.value(a, call, 0), axis, keepdim)


@rule("Cumsum")
def _cumsum(g: Graph, call: Call) -> str:
    a, axis = call.args
    return g.node("CumSum", [g.value(a, call, 0), g.const(np.asarray(axis, np.int64))])


@rule("Einsum")
def _einsum(g: Graph, call: Call) -> str:
    terms, out, *arrays = call.args
    inputs = [g.value(a, call, i + 2) for i, a in enumerate(arrays)]
    return g.node("Einsum", inputs, equation=",".join(terms) + "->" + out)


# ----------------------------------------------------------------------------- shapes
@rule("Repeat")
def _repeat(g: Graph, call: Call) -> str:
    """torch's repeat is ONNX's Tile, after new leading axes for extra repeats."""
    a, reps = call.args
    x, lead = g.value(a, call, 0), len(reps) - len(_shape(a))
    if lead:
        x = g.unsqueeze(x, list(range(lead)))
    return g.node("Tile", [x, g.ints(reps, "repeats")])


@rule("Take")
def _take(g: Graph, call: Call) -> str:
    """a.flat[flat_idx] (flip, roll, tril and other rearrangements): a flat Gather."""
    a, flat_idx = call.args[:2]
    flat = g.node("Reshape", [g.value(a, call, 0), g.ints([-1], "shape")])
    return g.node("Gather", [flat, g.value(flat_idx, call, 1, dtype=np.int64)], axis=0)


@rule("Rearrange")
def _rearrange(g: Graph, call: Call) -> str:
    """flip, roll, rot90: the op's function applied to the flat positions gives, for each
    output element, where it comes from: one flat Gather (at the traced size only)."""
    a, fn = call.args[:2]
    if call.alt is not None and _shape(call.alt.args[0]) != _shape(a):
        raise ExportError(
            "ONNX export: flip/roll/rot90 of an input with dynamic axes has "
            "no rule (their index map is fixed at the traced size)"
        )
    source = np.asarray(fn(np.arange(np.size(a), dtype=np.int64).reshape(_shape(a))))
    flat = g.node("Reshape", [g.value(a, call, 0), g.ints([-1], "shape")])
    return g.node("Gather", [flat, g.const(source, "positions")], axis=0)


@rule("UpsampleNearest")
def _upsample_nearest(g: Graph, call: Call) -> str:
    """Nearest-neighbour resizing as Gathers of the source rows and columns the op picked."""
    x, _out_size, _scales, _exact, _name = call.args
    op = call.op
    if call.alt is not None and _shape(call.alt.args[0])[2:] != _shape(x)[2:]:
        raise ExportError("ONNX export: interpolate cannot have dynamic spatial sizes")
    out = g.value(x, call, 0)
    if len(_shape(x)) == 4:
        out = g.node("Gather", [out, g.const(op.ih.astype(np.int64))], axis=2)
    return g.node("Gather", [out, g.const(op.iw.astype(np.int64))], axis=-1)


@rule("Reshape")
def _reshape(g: Graph, call: Call) -> str:
    """Sizes that follow the dynamic axes become 0 (copy the input's size there) or -1."""
    x = call.args[0]
    in_shape, out_shape = _shape(x), call.out_array.shape
    alt_in = _shape(call.alt.args[0]) if call.alt is not None else in_shape
    dims = []
    for i, (n, dynamic) in enumerate(zip(out_shape, _dynamic_dims(call), strict=True)):
        if not dynamic:
            dims.append(n)
        elif i < len(in_shape) and in_shape[i] == n and alt_in[i] == call.alt.out_array.shape[i]:
            dims.append(0)
        else:
            dims.append(-1)
    if dims.count(-1) > 1:
        raise ExportError(
            f"ONNX export: Reshape of {in_shape} to {out_shape} has several sizes that follow "
            f"the dynamic axes; ONNX can infer only one"
        )
    return g.node("Reshape", [g.value(x, call, 0), g.ints(dims, "shape")])


@rule("Permute")
def _permute(g: Graph, call: Call) -> str:
    return g.node(
        "Transpose", [g.value(call.args[0], call, 0)], perm=[int(a) for a in call.args[1]]
    )


@rule("Expand")
def _expand(g: Graph, call: Call) -> str:
    """ONNX's Expand broadcasts both ways: a size the input already has can be given as 1,
    which keeps a dynamic size dynamic."""
    x = call.args[0]
    in_shape, out_shape = _shape(x), call.out_array.shape
    lead = len(out_shape) - len(in_shape)
    dims = []
    for i, (n, dynamic) in enumerate(zip(out_shape, _dynamic_dims(call), strict=True)):
        if dynamic and (i < lead or in_shape[i - lead] != n):
            raise ExportError(
                f"ONNX export: Expand of {in_shape} to {out_shape} creates a "
                f"dimension that follows the dynamic axes"
            )
        dims.append(1 if dynamic else n)
    return g.node("Expand", [g.value(x, call, 0), g.ints(dims, "shape")])


@rule("Cat")
def _cat(g: Graph, call: Call) -> str:
    dim, *arrays = call.args
    inputs = [g.value(a, call, i + 1) for i, a in enumerate(arrays)]
    return g.node("Concat", inputs, axis=int(dim))


@rule("Stack")
def _stack(g: Graph, call: Call) -> str:
    dim, *arrays = call.args
    dim = int(dim) if dim >= 0 else int(dim) + call.out_array.ndim
    inputs = [g.unsqueeze(g.value(a, call, i + 1), [dim]) for i, a in enumerate(arrays)]
    return g.node("Concat", inputs, axis=dim)


@rule("Pad")
def _pad(g: Graph, call: Call) -> str:
    """Constant padding; torch's (left, right, top, bottom, ...) from the last dimension."""
    a, pad, value = call.args
    nd = len(_shape(a))
    begins, ends = [0] * nd, [0] * nd
    for i in range(len(pad) // 2):
        begins[nd - 1 - i], ends[nd - 1 - i] = pad[2 * i], pad[2 * i + 1]
    fill = g.const(np.asarray(value, call.out_array.dtype))
    return g.node(
        "Pad", [g.value(a, call, 0), g.ints(begins + ends, "pads"), fill], mode="constant"
    )


def _index_items(index) -> list:
    return list(index) if isinstance(index, tuple) else [index]


def _bound(call: Call, v, alt_v, axis: int, is_stop: bool = False) -> int:
    """A slice bound or int index; one that moves with a dynamic axis is written counted
    from the end (``x[:L]`` of an (L + 2, ...) array: ``x[:-2]``)."""
    if alt_v is None or v == alt_v:
        return int(v)
    dim = _shape(call.args[0])[axis]
    alt_dim = _shape(call.alt.args[0])[axis]
    if v >= 0 and alt_v >= 0 and dim - v == alt_dim - alt_v:
        return INT64_MAX if (is_stop and v == dim) else int(v - dim)
    raise ExportError(
        f"ONNX export: index {v} of axis {axis} in op {call.name!r} follows "
        f"the dynamic axes in a way ONNX cannot express"
    )


@rule("Index")
def _index(g: Graph, call: Call) -> str:
    """a[index] with ints, slices, None, ``...`` and at most one integer array: one Slice,
    then a Gather per int or array (highest axis first), then Unsqueeze for the Nones."""
    a, index = call.args
    items = _index_items(index)
    alt_items = _index_items(call.alt.args[1]) if call.alt is not None else [None] * len(items)
    if len(alt_items) != len(items):
        raise ExportError(
            f"ONNX export: op {call.name!r} indexes differently when the dynamic axes change"
        )
    ndim = len(_shape(a))
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    starts, ends, steps, axes, gathers, news = [], [], [], [], [], []
    axis = out_axis = 0
    for item, alt in zip(items, alt_items, strict=True):
        if item is Ellipsis:
            axis += ndim - used
            out_axis += ndim - used
        elif item is None:
            news.append(out_axis)
            out_axis += 1
        elif isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else int(item.step)
                lo, hi = (0, INT64_MAX) if step > 0 else (INT64_MAX, INT64_MIN)
                alt_start = alt.start if isinstance(alt, slice) else None
                alt_stop = alt.stop if isinstance(alt, slice) else None
                starts.append(
                    lo if item.start is None else _bound(call, item.start, alt_start, axis)
                )
                ends.append(
                    hi
                    if item.stop is None
                    else _bound(call, item.stop, alt_stop, axis, is_stop=True)
                )
                steps.append(step)
                axes.append(axis)
            axis += 1
            out_axis += 1
        elif isinstance(item, int | np.integer):
            alt_int = alt if isinstance(alt, int | np.integer) else None
            gathers.append((axis, _bound(call, int(item), alt_int, axis)))
            axis += 1
        elif hasattr(item, "dtype") and item.dtype.kind in "iu":
            gathers.append((axis, item))
            axis += 1
            out_axis += item.ndim
        else:
            raise ExportError(
                f"ONNX export: no rule for indexing with {item!r:.60} "
                f"(boolean masks and several index arrays are not supported)"
            )
    if sum(1 for _, i in gathers if not isinstance(i, int)) > 1:
        raise ExportError("ONNX export: no rule for indexing with several index arrays")
    out = g.value(a, call, 0)
    if axes:
        out = g.node(
            "Slice",
            [
                out,
                g.ints(starts, "starts"),
                g.ints(ends, "ends"),
                g.ints(axes, "axes"),
                g.ints(steps, "steps"),
            ],
        )
    for ax, item in sorted(gathers, key=lambda p: -p[0]):
        where = (
            g.const(np.asarray(item, np.int64))
            if isinstance(item, int)
            else g.value(item, dtype=np.int64)
        )
        out = g.node("Gather", [out, where], axis=ax)
    return g.unsqueeze(out, news) if news else out


@rule("Gather")
def _gather(g: Graph, call: Call) -> str:
    a, dim, index = call.args
    return g.node(
        "GatherElements",
        [g.value(a, call, 0), g.value(index, call, 2, dtype=np.int64)],
        axis=int(dim),
    )


# ----------------------------------------------------------------------------- layers
@rule("Embedding")
def _embedding(g: Graph, call: Call) -> str:
    weight, indices = call.args[:2]
    return g.node(
        "Gather", [g.value(weight, call, 0), g.value(indices, call, 1, dtype=np.int64)], axis=0
    )


def _spatial(name: str) -> int:
    """The number of spatial dimensions of a convolution or pooling op, from its name."""
    return 1 if name.endswith("1d") else 3 if name.endswith("3d") else 2


def _hw(pair, nd: int) -> list[int]:
    """A per-dimension tuple (1-D ops get 2-D ones, height 1 first) as ONNX wants it for
    ``nd`` spatial dimensions: its last ``nd`` entries."""
    return [int(v) for v in pair][-nd:]


def _pads(padding, nd: int) -> list[int]:
    """((top, bottom), (left, right)) or (top, left) -> ONNX's [begins..., ends...]."""
    pairs = [(p, p) if isinstance(p, int | np.integer) else tuple(p) for p in padding][-nd:]
    return [int(p[0]) for p in pairs] + [int(p[1]) for p in pairs]


@rule("Conv", "Conv3d")
def _conv(g: Graph, call: Call) -> str:
    x, w, b, stride, padding, dilation, groups, name = call.args
    nd = _spatial(name)
    inputs = [g.value(x, call, 0), g.value(w, call, 1)]
    if b is not None:
        inputs.append(g.value(b, call, 2))
    return g.node(
        "Conv",
        inputs,
        kernel_shape=list(_shape(w)[2:]),
        strides=_hw(stride, nd),
        pads=_pads(padding, nd),
        dilations=_hw(dilation, nd),
        group=int(groups),
    )


@rule("ConvTranspose", "ConvTranspose3d")
def _conv_transpose(g: Graph, call: Call) -> str:
    """The weight layouts agree: (in_channels, out_channels / groups, *kernel)."""
    x, w, b, stride, padding, output_padding, dilation, groups, name = call.args
    nd = _spatial(name)
    inputs = [g.value(x, call, 0), g.value(w, call, 1)]
    if b is not None:
        inputs.append(g.value(b, call, 2))
    return g.node(
        "ConvTranspose",
        inputs,
        kernel_shape=list(_shape(w)[2:]),
        strides=_hw(stride, nd),
        pads=_pads(padding, nd),
        output_padding=_hw(output_padding, nd),
        dilations=_hw(dilation, nd),
        group=int(groups),
    )


@rule("MaxPool", "MaxPool3d")
def _max_pool(g: Graph, call: Call) -> str:
    x, kernel, stride, padding, dilation, ceil_mode, name = call.args
    nd = _spatial(name)
    return g.node(
        "MaxPool",
        [g.value(x, call, 0)],
        kernel_shape=_hw(kernel, nd),
        strides=_hw(stride, nd),
        pads=_pads(padding, nd),
        dilations=_hw(dilation, nd),
        ceil_mode=int(ceil_mode),
    )


@rule("AvgPool", "AvgPool3d")
def _avg_pool(g: Graph, call: Call) -> str:
    x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, name = call.args
    if divisor_override:
        raise ExportError("ONNX export: no rule for avg_pool with divisor_override")
    nd = _spatial(name)
    return g.node(
        "AveragePool",
        [g.value(x, call, 0)],
        kernel_shape=_hw(kernel, nd),
        strides=_hw(stride, nd),
        pads=_pads(padding, nd),
        ceil_mode=int(ceil_mode),
        count_include_pad=int(count_include_pad),
    )


@rule("AdaptiveAvgPool")
def _adaptive_avg_pool(g: Graph, call: Call) -> str:
    """GlobalAveragePool for an output of 1; an AveragePool when the sizes divide; else
    the products with the averaging matrices the op itself uses."""
    x, out_size, name = call.args
    nd = _spatial(name)
    spatial = _shape(x)[-nd:]
    out_size = [int(s) for s in out_size][-nd:]
    xs = g.value(x, call, 0)
    if all(s == 1 for s in out_size):
        return g.node("GlobalAveragePool", [xs])
    if any(n % s for n, s in zip(spatial, out_size, strict=True)):
        # windows of different sizes: y = A_h x A_w^T with the op's averaging matrices
        op = call.op
        if call.alt is not None and _shape(call.alt.args[0])[-nd:] != spatial:
            raise ExportError(
                f"ONNX export: {name} from {tuple(spatial)} to "
                f"{tuple(out_size)} cannot have dynamic spatial sizes"
            )
        if op.ah is not None:
            xs = g.node("MatMul", [g.const(op.ah, "adaptive_rows"), xs])
        if op.aw is not None:
            xs = g.node("MatMul", [xs, g.const(np.ascontiguousarray(op.aw.T), "adaptive_cols")])
        return xs
    kernel = [n // s for n, s in zip(spatial, out_size, strict=True)]
    return g.node("AveragePool", [xs], kernel_shape=kernel, strides=kernel)


@rule("BatchNorm")
def _batch_norm(g: Graph, call: Call) -> str:
    x, weight, bias, mean, var, training, _momentum, eps = call.args
    if training or mean is None:
        raise ExportError(
            "ONNX export: BatchNorm with batch statistics (training mode, or "
            "track_running_stats=False) has no rule; export in eval mode"
        )
    channels, dtype = _shape(mean)[0], call.out_array.dtype
    scale = g.value(weight, call, 1) if weight is not None else g.const(np.ones(channels, dtype))
    shift = g.value(bias, call, 2) if bias is not None else g.const(np.zeros(channels, dtype))
    return g.node(
        "BatchNormalization",
        [g.value(x, call, 0), scale, shift, g.value(mean, call, 3), g.value(var, call, 4)],
        epsilon=float(eps),
    )


@rule("LayerNorm")
def _layer_norm(g: Graph, call: Call) -> str:
    x, weight, bias, k, eps = call.args
    shape, dtype = _shape(x)[len(_shape(x)) - k :], call.out_array.dtype
    scale = g.value(weight, call, 1) if weight is not None else g.const(np.ones(shape, dtype))
    inputs = [g.value(x, call, 0), scale] + ([] if bias is None else [g.value(bias, call, 2)])
    return g.node("LayerNormalization", inputs, axis=-int(k), epsilon=float(eps))


@rule("GroupNorm")
def _group_norm(g: Graph, call: Call) -> str:
    """Normalised per (sample, group) over a (N, G, -1) view, then the per-channel affine
    on a (N, C, -1) view, and back to the input's shape."""
    x, weight, bias, groups, eps = call.args
    dtype = call.out_array.dtype
    xs = g.value(x, call, 0)
    rows = g.node("Reshape", [xs, g.ints([0, int(groups), -1], "shape")])
    centred = g.node("Sub", [rows, g.reduce("ReduceMean", rows, [2], True)])
    var = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), [2], True)
    std = g.node("Sqrt", [g.node("Add", [var, g.const(np.asarray(eps, dtype))])])
    y = g.node("Reshape", [g.node("Div", [centred, std]), g.ints([0, _shape(x)[1], -1], "shape")])
    if weight is not None:
        y = g.node("Mul", [y, g.unsqueeze(g.value(weight, call, 1), [1])])
    if bias is not None:
        y = g.node("Add", [y, g.unsqueeze(g.value(bias, call, 2), [1])])
    return g.node("Reshape", [y, g.node("Shape", [xs])])


@rule("Dropout", "FeatureDropout")
def _dropout(g: Graph, call: Call) -> str:
    raise ExportError(f"ONNX export: {call.name} ran in training mode; export in eval mode")


# ----------------------------------------------------------------------------- attention
def _attend(g: Graph, call: Call, q: str, k: str, mask, mask_index: int, ndim: int) -> str:
    """softmax(scale q k^T + mask) over the last axis: the attention weights."""
    dtype = call.out_array.dtype
    perm = list(range(ndim - 2)) + [ndim - 1, ndim - 2]
    scale = call.args[mask_index + 1]
    s = g.node("MatMul", [q, g.node("Transpose", [k], perm=perm)])
    s = g.node("Mul", [s, g.const(np.asarray(scale, dtype))])
    if mask is not None:
        s = g.node("Add", [s, g.value(mask, call, mask_index, dtype=dtype)])
    if call.args[mask_index + 2]:
        raise ExportError(f"ONNX export: {call.name} with dropout; export in eval mode")
    return g.node("Softmax", [s], axis=-1)


@rule("PackedAttention")
def _packed_attention(g: Graph, call: Call) -> str:
    """(3, ..., L, E) stacked q, k, v: three Gathers, then the attention."""
    qkv, mask = call.args[:2]
    packed = g.value(qkv, call, 0)
    q, k, v = (
        g.node("Gather", [packed, g.const(np.asarray(i, np.int64))], axis=0) for i in range(3)
    )
    p = _attend(g, call, q, k, mask, 1, len(_shape(qkv)) - 1)
    return g.node("MatMul", [p, v])


@rule("Attention")
def _attention(g: Graph, call: Call) -> str:
    q, k, v, mask = call.args[:4]
    qs, ks, vs = (g.value(t, call, i) for i, t in enumerate((q, k, v)))
    p = _attend(g, call, qs, ks, mask, 3, len(_shape(q)))
    return g.node("MatMul", [p, vs])


@rule("AttentionWeights")
def _attention_weights(g: Graph, call: Call) -> str:
    q, k, mask = call.args[:3]
    return _attend(g, call, g.value(q, call, 0), g.value(k, call, 1), mask, 2, len(_shape(q)))


# ----------------------------------------------------------------------------- recurrences
# gate blocks reordered from PyTorch's layout into ONNX's
_GATES = {
    "LSTM": [0, 3, 1, 2],  # torch (i, f, g, o) -> ONNX (i, o, f, c)
    "GRU": [1, 0, 2],  # torch (r, z, n) -> ONNX (z, r, h)
    "RNN": [0],
}


def _gate_blocks(g: Graph, call: Call, index: int, kind: str) -> str:
    """A weight or bias in ONNX's gate order, with the direction axis in front."""
    w = g.value(call.args[index], call, index)
    order = _GATES[kind]
    if len(order) > 1:
        size = _shape(call.args[index])[0] // len(order)
        blocks = g.node("Split", [w, g.ints([size] * len(order), "split")], len(order), axis=0)
        w = g.node("Concat", [blocks[i] for i in order], axis=0)
    return g.unsqueeze(w, [0])


def _recurrence(g: Graph, call: Call, kind: str, first_weight: int, states: int, **attrs) -> str:
    """ONNX's LSTM / GRU / RNN for one layer and direction; the output joined as axon's
    op gives it: (L + states, N, H), the outputs then the final states."""
    args = call.args
    x, reverse, batch_sizes = args[0], args[-2], args[-1]
    if batch_sizes is not None:
        raise ExportError(f"ONNX export: no rule for {call.name} on a PackedSequence")
    w_ih, w_hh, b_ih, b_hh = args[first_weight : first_weight + 4]
    hidden = _shape(w_hh)[1]
    inputs = [
        g.value(x, call, 0),
        _gate_blocks(g, call, first_weight, kind),
        _gate_blocks(g, call, first_weight + 1, kind),
    ]
    if b_ih is not None:
        biases = [_gate_blocks(g, call, first_weight + i, kind) for i in (2, 3)]
        inputs.append(g.node("Concat", biases, axis=1))
    else:
        inputs.append("")
    inputs.append("")  # sequence_lens: every sequence is whole
    for i in range(1, 1 + states):  # h0 (and c0); None: zeros, ONNX's default
        inputs.append("" if args[i] is None else g.unsqueeze(g.value(args[i], call, i), [0]))
    while inputs[-1] == "":
        inputs.pop()
    outs = g.node(
        kind,
        inputs,
        1 + states,
        hidden_size=int(hidden),
        direction="reverse" if reverse else "forward",
        **attrs,
    )
    y = g.squeeze(outs[0], [1])  # (L, 1, N, H) -> (L, N, H)
    return g.node("Concat", [y, *outs[1:]], axis=0)


@rule("LSTMSeq")
def _lstm(g: Graph, call: Call) -> str:
    return _recurrence(g, call, "LSTM", 3, 2)


@rule("GRUSeq")
def _gru(g: Graph, call: Call) -> str:
    return _recurrence(g, call, "GRU", 2, 1, linear_before_reset=1)


@rule("RNNSeq")
def _rnn(g: Graph, call: Call) -> str:
    activation = "Relu" if call.args[6] == "relu" else "Tanh"
    return _recurrence(g, call, "RNN", 2, 1, activations=[activation])
