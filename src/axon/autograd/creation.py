"""Making tensors (``tensor``, ``zeros``, ``randn``, ...) and the free-function forms of
ops (``cat``, ``stack``, ``matmul``, ...), named as in PyTorch."""

from __future__ import annotations

from .. import backend as B
from ..backend import xp
from ..backend.device import check_device
from ..backend.linspace import torch_linspace
from . import ops
from .tensor import (
    Tensor,
    _as_tensor,
    _check_grad_dtype,
    _placed,
    _shape_arg,
    _to_array,
    _wrap,
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
    "empty_like",
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
    "logspace",
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
    "randint_like",
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


def _make(arr, dtype, requires_grad: bool, device=None) -> Tensor:
    """Wrap a freshly made array: cast to ``dtype``, check ``device`` and that only floating
    tensors require grad. The keywords every factory shares are torch's."""
    check_device(device)
    if dtype is not None:
        arr = arr.astype(B.to_dtype(dtype), copy=False)
    if device is not None:
        arr = _placed(arr, device)
    if requires_grad:
        _check_grad_dtype(arr)
    return _wrap(arr, bool(requires_grad), None)


def _size(shape: tuple, size) -> tuple:
    """The dims given as ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``, as torch."""
    if size is not None:
        if shape:
            raise TypeError("the size was given both positionally and as size=")
        return _shape_arg((size,))
    return _shape_arg(shape)


def _float(dtype):
    return B.to_dtype(dtype) or B.get_default_dtype()


def _rng(generator):
    """The NumPy generator to draw from: ``generator``'s (an ``axon.Generator``) or the
    global one ``axon.manual_seed`` seeds."""
    return B.rng() if generator is None else generator.rng


def tensor(
    data, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (float32 for Python floats)."""
    check_device(device)
    return _make(_to_array(data, B.to_dtype(dtype)), None, requires_grad, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """A tensor sharing ``data``'s memory when it is already an array of that dtype."""
    check_device(device)
    if isinstance(data, Tensor) and (dtype is None or B.to_dtype(dtype) == data.dtype):
        arr = _placed(data.array, device)
        return data if arr is data.array else _wrap(arr)
    return _wrap(_placed(_to_array(data, B.to_dtype(dtype), copy=False), device))


def from_numpy(array) -> Tensor:
    """A tensor sharing the memory of a NumPy array (its dtype is kept)."""
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return _wrap(array)


def zeros(
    *shape, size=None, dtype=None, layout=None, device=None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _make(xp.zeros(_size(shape, size), dtype=_float(dtype)), None, requires_grad, device)


def ones(
    *shape, size=None, dtype=None, layout=None, device=None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _make(xp.ones(_size(shape, size), dtype=_float(dtype)), None, requires_grad, device)


def empty(
    *shape,
    size=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    memory_format=None,
) -> Tensor:
    """A tensor whose values are whatever the memory held: ``empty(2, 3)``."""
    return _make(xp.empty(_size(shape, size), dtype=_float(dtype)), None, requires_grad, device)


def full(
    size, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False
) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value's type as in torch
    (a bool gives bool, an int int64, a float the default float)."""
    if dtype is None:
        dtype = (
            B.bool_
            if isinstance(fill_value, bool)
            else B.int64
            if isinstance(fill_value, int)
            else B.get_default_dtype()
            if isinstance(fill_value, float)
            else None
        )
    arr = xp.full(_shape_arg((size,)), fill_value, dtype=dtype)
    return _make(arr, None, requires_grad, device)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """The ``n`` x ``m`` identity (``m`` defaults to ``n``)."""
    return _make(xp.eye(n, m, dtype=_float(dtype)), None, requires_grad, device)


def arange(
    start, end=None, step=1, *, dtype=None, layout=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``start, start + step, ...`` below ``end``: int64 for ints, else the default float."""
    if end is None:
        start, end = 0, start
    arr = xp.arange(_number(start), _number(end), _number(step))
    if dtype is None and arr.dtype.kind == "f":
        dtype = B.get_default_dtype()
    return _make(arr, dtype, requires_grad, device)


def linspace(
    start, end, steps: int, *, dtype=None, layout=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` included (torch's values,
    bit for bit: see :mod:`axon.backend.linspace`)."""
    arr = xp.asarray(torch_linspace(_number(start), _number(end), steps, _float(dtype)))
    return _make(arr, None, requires_grad, device)


def logspace(
    start,
    end,
    steps: int,
    base: float = 10.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    arr = xp.logspace(_number(start), _number(end), steps, base=base).astype(_float(dtype))
    return _make(arr, None, requires_grad, device)


def _number(x):
    """A 0-d Tensor used as a bound (``arange(t.max())``) as its Python value."""
    return x.item() if isinstance(x, Tensor) else x


def _like(t: Tensor, dtype) -> B.dtype:
    return B.to_dtype(dtype) or t.array.dtype


def _like_device(t: Tensor, device):
    """The device of a ``*_like`` factory's result: ``device``, else ``t``'s."""
    return device if device is not None or t.array.__class__ is xp.ndarray else t.device


def zeros_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Zeros of ``input``'s shape and dtype (unless ``dtype``)."""
    return _make(
        xp.zeros(input.shape, _like(input, dtype)), None, requires_grad, _like_device(input, device)
    )


def ones_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Ones of ``input``'s shape and dtype (unless ``dtype``)."""
    return _make(
        xp.ones(input.shape, _like(input, dtype)), None, requires_grad, _like_device(input, device)
    )


def empty_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """An uninitialised tensor of ``input``'s shape and dtype (unless ``dtype``)."""
    return _make(
        xp.empty(input.shape, _like(input, dtype)), None, requires_grad, _like_device(input, device)
    )


def full_like(
    input: Tensor,
    fill_value,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """``fill_value`` in ``input``'s shape and dtype (unless ``dtype``)."""
    arr = xp.full(input.shape, fill_value, _like(input, dtype))
    return _make(arr, None, requires_grad, _like_device(input, device))


def rand(
    *shape,
    size=None,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Uniform samples on [0, 1) from ``generator`` or axon's seeded global generator."""
    arr = _rng(generator).random(_size(shape, size)).astype(_float(dtype), copy=False)
    return _make(arr, None, requires_grad, device)


def randn(
    *shape,
    size=None,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Standard normal samples from ``generator`` or axon's seeded global generator."""
    arr = _rng(generator).standard_normal(_size(shape, size)).astype(_float(dtype), copy=False)
    return _make(arr, None, requires_grad, device)


def randint(
    low: int = 0,
    high: int | None = None,
    size=None,
    *,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniform on [low, high), int64 unless ``dtype``: ``randint(10, (3,))`` or
    ``randint(2, 10, (3,))``, as torch."""
    if size is None:  # randint(high, size)
        if high is None:
            raise TypeError("randint() missing the required argument 'size'")
        low, high, size = 0, low, high
    arr = _rng(generator).integers(low, high, size=_shape_arg((size,)))
    return _make(arr, B.to_dtype(dtype) or B.int64, requires_grad, device)


def rand_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Uniform samples on [0, 1) in ``input``'s shape and dtype (unless ``dtype``)."""
    return rand(
        *input.shape,
        dtype=_like(input, dtype),
        device=_like_device(input, device),
        requires_grad=requires_grad,
    )


def randn_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Standard normal samples in ``input``'s shape and dtype (unless ``dtype``)."""
    return randn(
        *input.shape,
        dtype=_like(input, dtype),
        device=_like_device(input, device),
        requires_grad=requires_grad,
    )


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Integers on [low, high) in ``input``'s shape and dtype (unless ``dtype``);
    ``randint_like(x, 10)`` means high = 10."""
    if high is None:
        low, high = 0, low
    return randint(
        low,
        high,
        input.shape,
        dtype=_like(input, dtype),
        device=_like_device(input, device),
        requires_grad=requires_grad,
    )


def randperm(
    n: int,
    *,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype``), drawn from ``generator``
    (an ``axon.Generator``) or axon's global stream."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    return _make(_rng(generator).permutation(n), dtype or B.int64, requires_grad, device)


# ------------------------------------------------------------------ free functions of ops
# cat, stack (of any iterable of tensors) live in shape_api with the other shape functions,
# the products in product_api; their torch aliases are kept here
from .product_api import bmm, matmul  # noqa: E402
from .shape_api import cat, stack  # noqa: E402

concat = cat
concatenate = cat


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Maximum.apply(_as_tensor(a), _as_tensor(b, a))


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Minimum.apply(_as_tensor(a), _as_tensor(b, a))


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    return input.clamp(min, max)


clip = clamp


def _unary(method: str):
    def fn(input: Tensor, *args, **kwargs) -> Tensor:  # input= by keyword too, as torch
        return getattr(input, method)(*args, **kwargs)

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


def result_type(tensor, other) -> B.dtype:
    """The dtype ``tensor op other`` has (torch.result_type): Tensors with dimensions beat
    0-d ones, which beat Python numbers, unless the weaker is of a higher category."""
    return B.result_type(*(x.array if isinstance(x, Tensor) else x for x in (tensor, other)))


def promote_types(type1, type2) -> B.dtype:
    """The smallest dtype both convert to without changing category (torch.promote_types)."""
    return B.promote_types(type1, type2)


def numel(t: Tensor) -> int:
    return t.numel()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True for tensors of a floating dtype (float16, float32, float64)."""
    return input.is_floating_point()


def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan: bool = False) -> bool:
    return _as_tensor(input).allclose(other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def equal(a, b) -> bool:
    return _as_tensor(a).equal(b)
