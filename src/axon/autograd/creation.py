"""Making tensors (``tensor``, ``zeros``, ``randn``, ...) and the free-function forms of
ops (``cat``, ``stack``, ``matmul``, ...), named as in PyTorch."""

from __future__ import annotations

from collections.abc import Sequence

from .. import backend as B
from ..backend import xp
from . import ops
from .tensor import (
    Tensor,
    _as_tensor,
    _check_grad_dtype,
    _shape_arg,
    _to_array,
    _wrap,
    normalize_dim,
)

__all__ = [
    "abs",
    "allclose",
    "amax",
    "amin",
    "arange",
    "argmax",
    "argmin",
    "as_tensor",
    "bmm",
    "cat",
    "chunk",
    "clamp",
    "clip",
    "concat",
    "concatenate",
    "cos",
    "empty",
    "equal",
    "exp",
    "eye",
    "flatten",
    "flip",
    "from_numpy",
    "full",
    "full_like",
    "gather",
    "is_tensor",
    "isfinite",
    "isnan",
    "linspace",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "norm",
    "numel",
    "ones",
    "ones_like",
    "permute",
    "pow",
    "promote_types",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "relu",
    "reshape",
    "result_type",
    "sigmoid",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "tensor",
    "transpose",
    "unbind",
    "unsqueeze",
    "var",
    "zeros",
    "zeros_like",
]


def _make(arr, dtype, requires_grad: bool) -> Tensor:
    if dtype is not None:
        arr = arr.astype(B.to_dtype(dtype), copy=False)
    if requires_grad:
        _check_grad_dtype(arr)
    return _wrap(arr, bool(requires_grad), None)


def _float(dtype):
    return B.to_dtype(dtype) or B.get_default_dtype()


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (float32 for Python floats)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(data, dtype=None) -> Tensor:
    """A tensor sharing ``data``'s memory when it is already an array of that dtype."""
    if isinstance(data, Tensor) and (dtype is None or B.to_dtype(dtype) == data.dtype):
        return data
    return _wrap(_to_array(data, B.to_dtype(dtype), copy=False))


def from_numpy(array) -> Tensor:
    """A tensor sharing the memory of a NumPy array (its dtype is kept)."""
    return _wrap(xp.asarray(array))


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.zeros(_shape_arg(size), dtype=_float(dtype)), None, requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.ones(_shape_arg(size), dtype=_float(dtype)), None, requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.empty(_shape_arg(size), dtype=_float(dtype)), None, requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = B.get_default_dtype() if isinstance(fill_value, float) else None
    return _make(xp.full(_shape_arg((size,)), fill_value, dtype=dtype), None, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.eye(n, m, dtype=_float(dtype)), None, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    arr = xp.arange(start, end, step)
    if dtype is None and arr.dtype.kind == "f":
        dtype = B.get_default_dtype()
    return _make(arr, dtype, requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.linspace(start, end, steps, dtype=_float(dtype)), None, requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.zeros_like(t.array, dtype=B.to_dtype(dtype)), None, requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.ones_like(t.array, dtype=B.to_dtype(dtype)), None, requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(xp.full_like(t.array, fill_value, dtype=B.to_dtype(dtype)), None, requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from axon's seeded generator."""
    arr = B.rng().random(_shape_arg(size)).astype(_float(dtype))
    return _make(arr, None, requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from axon's seeded generator."""
    arr = B.rng().standard_normal(_shape_arg(size)).astype(_float(dtype))
    return _make(arr, None, requires_grad)


def randint(low: int, high: int | None = None, size=(1,), dtype=None) -> Tensor:
    if high is None:
        low, high = 0, low
    arr = B.rng().integers(low, high, size=_shape_arg((size,)))
    return _make(arr.astype(B.to_dtype(dtype) or B.int64), None, False)


def randperm(n: int, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype``), drawn from ``generator``
    (an ``axon.Generator``) or axon's global stream."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    rng = B.rng() if generator is None else generator.rng
    return _make(rng.permutation(n), dtype or B.int64, requires_grad)


def rand_like(t: Tensor, dtype=None) -> Tensor:
    return rand(*t.shape, dtype=dtype or t.dtype)


def randn_like(t: Tensor, dtype=None) -> Tensor:
    return randn(*t.shape, dtype=dtype or t.dtype)


# ------------------------------------------------------------------ free functions of ops
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    if not tensors:
        raise RuntimeError("cat expects a non-empty list of tensors")
    return ops.Cat.apply(normalize_dim(dim, tensors[0].ndim), *tensors)


concat = cat
concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dimension."""
    if not tensors:
        raise RuntimeError("stack expects a non-empty list of tensors")
    return ops.Stack.apply(normalize_dim(dim, tensors[0].ndim + 1), *tensors)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return ops.MatMul.apply(_as_tensor(a), _as_tensor(b))


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"bmm expects 3-D tensors, got shapes {a.shape} and {b.shape}")
    return ops.MatMul.apply(a, b)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Maximum.apply(_as_tensor(a), _as_tensor(b, a))


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Minimum.apply(_as_tensor(a), _as_tensor(b, a))


def clamp(t: Tensor, min=None, max=None) -> Tensor:
    return t.clamp(min, max)


clip = clamp


def _unary(method: str):
    def fn(t: Tensor, *args, **kwargs) -> Tensor:
        return getattr(t, method)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = method
    fn.__doc__ = f"Function form of ``Tensor.{method}``."
    return fn


exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
abs = _unary("abs")  # noqa: A001
sin = _unary("sin")
cos = _unary("cos")
sigmoid = _unary("sigmoid")
tanh = _unary("tanh")
relu = _unary("relu")
softmax = _unary("softmax")
log_softmax = _unary("log_softmax")
sum = _unary("sum")  # noqa: A001
mean = _unary("mean")
var = _unary("var")
std = _unary("std")
logsumexp = _unary("logsumexp")
max = _unary("max")  # noqa: A001
min = _unary("min")  # noqa: A001
amax = _unary("amax")
amin = _unary("amin")
argmax = _unary("argmax")
argmin = _unary("argmin")
reshape = _unary("reshape")
transpose = _unary("transpose")
permute = _unary("permute")
squeeze = _unary("squeeze")
unsqueeze = _unary("unsqueeze")
flatten = _unary("flatten")
split = _unary("split")
chunk = _unary("chunk")
unbind = _unary("unbind")
gather = _unary("gather")
flip = _unary("flip")
norm = _unary("norm")
pow = _unary("pow")  # noqa: A001
isnan = _unary("isnan")
isfinite = _unary("isfinite")


def result_type(tensor, other) -> B.np.dtype:
    """The dtype ``tensor op other`` has (torch.result_type): Tensors with dimensions beat
    0-d ones, which beat Python numbers, unless the weaker is of a higher category."""
    return B.result_type(*(x.array if isinstance(x, Tensor) else x for x in (tensor, other)))


def promote_types(type1, type2) -> B.np.dtype:
    """The smallest dtype both convert to without changing category (torch.promote_types)."""
    return B.promote_types(type1, type2)


def numel(t: Tensor) -> int:
    return t.numel()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def allclose(a, b, rtol=1e-5, atol=1e-8) -> bool:
    return _as_tensor(a).allclose(b, rtol=rtol, atol=atol)


def equal(a, b) -> bool:
    return _as_tensor(a).equal(b)
