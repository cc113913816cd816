"""Math functions named and argued as in torch: elementwise math, comparisons and tests,
bitwise and logical ops, and the in-place forms. Scans and reductions are in
``reduce_api.py``; torch.special's names in ``axon/special.py``.

Layout:
    * the differentiable work is done by ops, each forward beside its derivative:
      ``ops/pointwise.py`` (logs, hyperbolic and inverse trigonometric functions,
      atan2, lerp, ...), ``ops/rounding.py`` (rounding, fmod, remainder, ...),
      ``ops/special.py`` (erf, erfc, erfinv, sinc) and ``ops/gamma.py`` (lgamma, digamma,
      polygamma); the rest are compositions of existing ops (``Where``, ``Mul``, ...);
    * this file holds the public functions, each taking the tensor first (``input``), in
      sections: elementwise, comparisons and tests, bitwise and logical, in-place forms;
    * at the end ``bind_methods`` makes each a Tensor method too, where torch has the
      method (``ax.log1p(x)`` and ``x.log1p()``), with the operators (``//``, ``%``,
      ``&``, ``|``, ``^``, ``~``, ``<<``, ``>>``) and their in-place forms routed here.

dtype rules follow torch: float functions of integer tensors give float32 and the rounding
family keeps integers; bad input raises torch's exception class.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

from .. import backend as B
from ..backend import host
from . import ops
from .grad_mode import grad_mode
from .ops.pointwise import not_implemented, torch_type_name
from .tensor import Tensor, _as_tensor, _data, _requires, _wrap, bind_methods, normalize_dim

_int = builtins.int
_float = builtins.float

# torch.return_types.frexp: a tuple whose fields are also attributes
FrexpResult = namedtuple("frexp", ["mantissa", "exponent"])


def _float_tensor(t: Tensor) -> Tensor:
    """``t`` itself when floating point, else a copy in the default dtype (as torch's float
    functions treat integer tensors)."""
    return t if t.array.dtype.kind in "fc" else _wrap(t.array.astype(B.get_default_dtype()))


def _dims_of(dim, ndim: int):
    """None (every dim), or a tuple of dims each checked by ``normalize_dim``."""
    if dim is None:
        return None
    if not isinstance(dim, tuple | list):  # one dim: nothing can repeat
        return (normalize_dim(dim, ndim),)
    given = tuple(dim)
    dims = tuple(normalize_dim(d, ndim) for d in given)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims {dim}")
    return dims


def _one_dim(dim, ndim: int, fn: str) -> int:
    """A single ``dim`` argument, required (torch's TypeError when it is missing)."""
    if not isinstance(dim, _int | host.integer):
        raise TypeError(f"{fn}(): argument 'dim' must be int, not {type(dim).__name__}")
    return normalize_dim(_int(dim), ndim)


def _elementwise(op, name: str, doc: str):
    """The public function of a one-input op."""

    def fn(input: Tensor) -> Tensor:
        return op.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


# ======================================================================= elementwise
log1p = _elementwise(ops.Log1p, "log1p", "log(1 + x), accurate for small x.")
expm1 = _elementwise(ops.Expm1, "expm1", "e^x - 1, accurate for small x.")
log2 = _elementwise(ops.Log2, "log2", "The base-2 logarithm.")
log10 = _elementwise(ops.Log10, "log10", "The base-10 logarithm.")
exp2 = _elementwise(ops.Exp2, "exp2", "2^x.")
sinh = _elementwise(ops.Sinh, "sinh", "The hyperbolic sine.")
cosh = _elementwise(ops.Cosh, "cosh", "The hyperbolic cosine.")
tan = _elementwise(ops.Tan, "tan", "The tangent.")
asin = _elementwise(ops.Asin, "asin", "The inverse sine, on [-1, 1].")
acos = _elementwise(ops.Acos, "acos", "The inverse cosine, on [-1, 1].")
atan = _elementwise(ops.Atan, "atan", "The inverse tangent.")
asinh = _elementwise(ops.Asinh, "asinh", "The inverse hyperbolic sine.")
acosh = _elementwise(ops.Acosh, "acosh", "The inverse hyperbolic cosine, on [1, inf).")
atanh = _elementwise(ops.Atanh, "atanh", "The inverse hyperbolic tangent, on (-1, 1).")
erf = _elementwise(ops.Erf, "erf", "The error function 2/sqrt(pi) int_0^x e^(-t^2) dt.")
erfc = _elementwise(ops.Erfc, "erfc", "1 - erf(x), accurate for large x.")
erfinv = _elementwise(ops.Erfinv, "erfinv", "The inverse of erf, on (-1, 1).")
lgamma = _elementwise(ops.Lgamma, "lgamma", "log |Gamma(x)|.")
digamma = _elementwise(ops.Digamma, "digamma", "d/dx log Gamma(x), the digamma function.")
i0 = _elementwise(ops.I0, "i0", "I0(x), the modified Bessel function of order 0.")
sinc = _elementwise(ops.Sinc, "sinc", "The normalized sinc, sin(pi x) / (pi x), 1 at 0.")
sign = _elementwise(ops.Sign, "sign", "-1, 0 or 1 (0 for NaN); gradient 0.")
sgn = _elementwise(ops.Sign, "sgn", "sign for real tensors.")
floor = _elementwise(ops.Floor, "floor", "Round down; gradient 0; integers unchanged.")
ceil = _elementwise(ops.Ceil, "ceil", "Round up; gradient 0; integers unchanged.")
trunc = _elementwise(ops.Trunc, "trunc", "Round toward zero; gradient 0.")
fix = trunc
frac = _elementwise(ops.Frac, "frac", "x - trunc(x), the fractional part; gradient 1.")
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, to ``decimals`` places (negative: tens, hundreds); gradient 0."""
    return ops.Round.apply(input, decimals)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma (n = 0 is digamma itself)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return ops.Polygamma.apply(input, _int(n))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``x.polygamma(n)``: the method takes n after the tensor, the function before it."""
    return polygamma(n, self)


def igamma(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function P(input, other) (gradient for
    ``other`` only, as torch)."""
    return ops.Gammainc.apply(input, other, False)


def igammac(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P."""
    return ops.Gammainc.apply(input, other, True)


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    p (p - 1) / 4 log(pi) + sum_{i < p} lgamma(x - i / 2)."""
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1, but got {p}")
    out = lgamma(input)
    for i in range(1, p):
        out = out + lgamma(input - i / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)), the inverse of sigmoid; x is clamped to [eps, 1 - eps] first when
    ``eps`` is given."""
    return ops.Logit.apply(input, eps)


def square(input: Tensor) -> Tensor:
    """x * x (integers stay integers; bool becomes int64, as torch)."""
    if input.array.dtype == bool:
        input = _wrap(input.array.astype(B.int64))
    return ops.Mul.apply(input, input)


def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(x)."""
    return _float_tensor(_as_tensor(input)).rsqrt()


def reciprocal(input: Tensor) -> Tensor:
    """1 / x (float32 for integer tensors)."""
    return _as_tensor(input).reciprocal()


def neg(input: Tensor) -> Tensor:
    """-x."""
    return ops.Neg.apply(input)


negative = neg


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input (subtraction with the operands swapped)."""
    return ops.Sub.apply(other, input if alpha == 1 else ops.Mul.apply(input, alpha))


def absolute(input: Tensor) -> Tensor:
    """|x|, torch's other name for abs."""
    return _as_tensor(input).abs()


def positive(input: Tensor) -> Tensor:
    """x itself, as torch's ``positive`` (``+x``)."""
    return input


def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other."""
    return ops.Add.apply(input, other if alpha == 1 else other * alpha)


def sub(input, other, *, alpha=1) -> Tensor:
    """input - alpha * other."""
    return ops.Sub.apply(input, other if alpha == 1 else other * alpha)


subtract = sub


def mul(input, other) -> Tensor:
    """input * other, elementwise with broadcasting."""
    return ops.Mul.apply(input, other)


multiply = mul


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """input / other; ``rounding_mode`` "trunc" rounds toward zero, "floor" down (integers
    then stay integers, and the gradient is 0)."""
    if rounding_mode is None:
        return ops.Div.apply(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    return ops.DivRounded.apply(input, other, rounding_mode)


divide = div


def true_divide(input, other) -> Tensor:
    """input / other, always a float result."""
    return ops.Div.apply(input, other)


def floor_divide(input, other) -> Tensor:
    """``input // other``, rounded down (torch has no gradient for it)."""
    return ops.FloorDivide.apply(input, other)


def fmax(input, other) -> Tensor:
    """The larger of the two, elementwise, ignoring NaN (NaN only where both are)."""
    return ops.Fmax.apply(input, other)


def fmin(input, other) -> Tensor:
    """The smaller of the two, elementwise, ignoring NaN (NaN only where both are)."""
    return ops.Fmin.apply(input, other)


def nextafter(input: Tensor, other) -> Tensor:
    """The next floating-point value after ``input`` toward ``other``."""
    return ops.NextAfter.apply(input, other)


def frexp(input: Tensor):
    """``(mantissa, exponent)`` with input = mantissa * 2^exponent, 0.5 <= |mantissa| < 1
    (exponent int32)."""
    xp = B.namespace(_data(input))
    if input.array.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    exponent = _wrap(xp.frexp(input.array)[1].astype(B.int32))
    return FrexpResult(ops.Frexp.apply(input), exponent)


def heaviside(input: Tensor, values) -> Tensor:
    """The step function: 0 below 0, ``values`` at 0, 1 above (no derivative, as torch)."""
    return ops.Heaviside.apply(input, values)


def ldexp(input: Tensor, other) -> Tensor:
    """input * 2^other."""
    return ops.Mul.apply(input, exp2(_as_tensor(other)))


def gcd(input: Tensor, other) -> Tensor:
    """The greatest common divisor, elementwise (integer tensors only)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.gcd(*_integer_operands("gcd", input, other))))


def lcm(input: Tensor, other) -> Tensor:
    """The least common multiple, elementwise, non-negative (integer tensors only)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.lcm(*_integer_operands("lcm", input, other))))


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2 (Adam's second moment update, for one)."""
    product = ops.Mul.apply(tensor1, tensor2)
    return ops.Add.apply(input, product if value == 1 else ops.Mul.apply(product, value))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (Adam's step, for one)."""
    ratio = ops.Div.apply(tensor1, tensor2)
    return ops.Add.apply(input, ratio if value == 1 else ops.Mul.apply(ratio, value))


def fmod(input, other) -> Tensor:
    """The C remainder: input - trunc(input / other) * other, with the sign of ``input``."""
    return ops.Fmod.apply(input, other)


def remainder(input, other) -> Tensor:
    """Python's ``%``: input - floor(input / other) * other, with the sign of ``other``."""
    return ops.Remainder.apply(input, other)


def atan2(input, other) -> Tensor:
    """The angle of the point (other, input), in (-pi, pi]."""
    return ops.Atan2.apply(input, other)


arctan2 = atan2


def hypot(input, other) -> Tensor:
    """sqrt(input^2 + other^2) without overflow."""
    return ops.Hypot.apply(input, other)


def logaddexp(input, other) -> Tensor:
    """log(e^input + e^other), stably."""
    return ops.LogAddExp.apply(input, other)


def logaddexp2(input, other) -> Tensor:
    """log2(2^input + 2^other), stably."""
    return ops.LogAddExp2.apply(input, other)


def xlogy(input, other) -> Tensor:
    """input * log(other), and 0 where input is 0 (the convention of entropies)."""
    return ops.Xlogy.apply(input, other)


def copysign(input, other) -> Tensor:
    """|input| with the sign of ``other`` (float)."""
    return ops.Copysign.apply(input, other)


def float_power(input, exponent) -> Tensor:
    """input ** exponent computed in float64 (the result is float64)."""
    base = _as_tensor(input).double()
    return base ** (exponent.double() if isinstance(exponent, Tensor) else _float(exponent))


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians."""
    return _float_tensor(input) * (math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees."""
    return _float_tensor(input) * (180 / math.pi)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input); ``weight`` a number or a tensor (broadcast)."""
    for name, other in (("end", end), ("weight", weight)):
        if isinstance(other, Tensor) and other.dtype != input.dtype:
            raise RuntimeError(
                f"expected dtype {_torch_dtype(input.dtype)} for `{name}` but got dtype "
                f"{_torch_dtype(other.dtype)}"
            )
    if input.dtype.kind not in "fc":
        raise NotImplementedError(
            f"\"lerp_kernel_scalar\" not implemented for '{torch_type_name(input.dtype)}'"
        )
    return ops.Lerp.apply(input, end, weight)


def _torch_dtype(dtype) -> str:
    """A dtype as torch names it in messages ('float', 'double', 'long')."""
    return {
        "float32": "float",
        "float64": "double",
        "int64": "long",
        "int32": "int",
        "float16": "half",
    }.get(B.dtype(dtype).name, str(dtype))


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    """max(input, min)."""
    return ops.Clamp.apply(input, min, None)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """min(input, max)."""
    return ops.Clamp.apply(input, None, max)


def nan_to_num(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and
    the dtype's largest and lowest finite values); the gradient passes where x is finite."""
    xp = B.namespace(_data(input))
    filled = xp.nan_to_num(input.array, nan=nan, posinf=posinf, neginf=neginf)
    if input.array.dtype.kind not in "fc":
        return _wrap(filled.copy())
    return ops.Where.apply(xp.isfinite(input.array), input, _wrap(filled))


# ======================================================================= comparisons, tests
def _comparison(method: str, name: str, doc: str):
    """The function form of a comparison operator (a bool tensor; no gradient)."""

    def fn(input: Tensor, other) -> Tensor:
        return getattr(_as_tensor(input), method)(other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


eq = _comparison("__eq__", "eq", "input == other, elementwise.")
ne = _comparison("__ne__", "ne", "input != other, elementwise.")
lt = _comparison("__lt__", "lt", "input < other, elementwise.")
le = _comparison("__le__", "le", "input <= other, elementwise.")
gt = _comparison("__gt__", "gt", "input > other, elementwise.")
ge = _comparison("__ge__", "ge", "input >= other, elementwise.")
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def isclose(
    input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """|input - other| <= atol + rtol |other|, elementwise (a bool tensor)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.isclose(input.array, _data(other), rtol, atol, equal_nan)))


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (negative numbers, -0.0 and -NaN included)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.signbit(input.array)))


def isinf(input: Tensor) -> Tensor:
    """True where x is +inf or -inf."""
    xp = B.namespace(_data(input))
    return _wrap(xp.isinf(input.array))


def isposinf(input: Tensor) -> Tensor:
    """True where x is +inf."""
    xp = B.namespace(_data(input))
    return _wrap(xp.isposinf(input.array))


def isneginf(input: Tensor) -> Tensor:
    """True where x is -inf."""
    xp = B.namespace(_data(input))
    return _wrap(xp.isneginf(input.array))


def isreal(input: Tensor) -> Tensor:
    """True everywhere for a real tensor (axon has no complex tensors)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.ones(input.shape, dtype=bool))


def is_nonzero(input: Tensor) -> bool:
    """Whether a one-element tensor is not zero."""
    if input.numel() != 1:
        kind = "no values" if input.numel() == 0 else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {kind} is ambiguous")
    return bool(input.array.item())


def _allclose(
    input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """True when ``isclose`` holds everywhere (the Tensor method ``allclose``)."""
    xp = B.namespace(_data(input))
    return bool(xp.allclose(input.array, _data(other), rtol, atol, equal_nan))


# ======================================================================= bitwise, logical
def _integer_operands(kernel: str, *operands):
    """The arrays of ``operands``; torch's NotImplementedError for a floating one."""
    arrays = []
    for x in operands:
        x = _data(x)
        if isinstance(x, _float):
            raise not_implemented(kernel, B.float32)  # a Python float counts as 'Float'
        x = x if isinstance(x, _int | bool) else B.namespace(x).asarray(x)
        if getattr(x, "dtype", B.int64).kind not in "biu":
            raise not_implemented(kernel, x.dtype)
        arrays.append(x)
    return arrays


def _bitwise(kernel: str, ufunc: str, name: str, doc: str):
    """The function ``name`` of two integer or bool tensors, by the namespace's ``ufunc``."""

    def fn(input, other) -> Tensor:
        a, b = _integer_operands(kernel, input, other)
        xp = B.namespace(a if isinstance(input, Tensor) else b)
        return _wrap(xp.asarray(getattr(xp, ufunc)(a, b)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " (integer and bool tensors only)."
    return fn


bitwise_and = _bitwise("bitwise_and", "bitwise_and", "bitwise_and", "input & other")
bitwise_or = _bitwise("bitwise_or", "bitwise_or", "bitwise_or", "input | other")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor", "bitwise_xor", "input ^ other")
bitwise_left_shift = _bitwise("lshift", "left_shift", "bitwise_left_shift", "input << other")
bitwise_right_shift = _bitwise(
    "rshift",
    "right_shift",
    "bitwise_right_shift",
    "input >> other (arithmetic for signed integers)",
)


def bitwise_not(input: Tensor) -> Tensor:
    """~input: every bit flipped, or logical not for bool (integer and bool tensors only)."""
    xp = B.namespace(_data(input))
    (a,) = _integer_operands("bitwise_not", input)
    return _wrap(xp.invert(a))


def _invert(self: Tensor) -> Tensor:
    """``~x``: torch raises TypeError (not NotImplementedError) for a float tensor."""
    if self.array.dtype.kind not in "biu":
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return bitwise_not(self)


def logical_and(input: Tensor, other) -> Tensor:
    """True where both are nonzero (any dtype)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.logical_and(input.array, _data(other))))


def logical_or(input: Tensor, other) -> Tensor:
    """True where either is nonzero (any dtype)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.logical_or(input.array, _data(other))))


def logical_xor(input: Tensor, other) -> Tensor:
    """True where exactly one is nonzero (any dtype)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.logical_xor(input.array, _data(other))))


def logical_not(input: Tensor) -> Tensor:
    """True where x is zero (any dtype)."""
    xp = B.namespace(_data(input))
    return _wrap(xp.asarray(xp.logical_not(input.array)))


# ======================================================================= in-place forms
def _inplace_form(fn, name: str):
    """``x.name_(...)``: ``fn(x, ...)`` written into ``x``. Without a graph to record the
    values are written into x's array (its dtype must hold the result, as torch checks);
    otherwise the result is rebound to ``x``, and a leaf that requires grad refuses."""

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        self._check_inplace(None)
        if grad_mode.enabled and (self.requires_grad or builtins.any(map(_requires, args))):
            self._rebind(fn(self, *args, **kwargs))
            return self
        out = fn(self, *args, **kwargs).array
        if not B.namespace(out).can_cast(out.dtype, self.array.dtype, "same_kind"):
            raise RuntimeError(
                f"result type {torch_type_name(out.dtype)} can't be cast to the desired "
                f"output type {torch_type_name(self.array.dtype)}"
            )
        self.array[...] = out
        return self

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place form of ``{fn.__name__}``."
    return method


def _method(name: str):
    """The Tensor method ``name`` as a function (for the in-place forms of methods that
    live on Tensor itself)."""

    def fn(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    return fn


# relu_, sigmoid_ and tanh_ are bound with the activations in nn/functional.py
_INPLACE = {
    "exp": _method("exp"),
    "log": _method("log"),
    "sqrt": _method("sqrt"),
    "abs": _method("abs"),
    "sin": _method("sin"),
    "cos": _method("cos"),
    "neg": neg,
    "square": square,
    "rsqrt": rsqrt,
    "reciprocal": reciprocal,
    "floor": floor,
    "ceil": ceil,
    "trunc": trunc,
    "fix": trunc,
    "round": round,
    "sign": sign,
    "sgn": sgn,
    "frac": frac,
    "log1p": log1p,
    "expm1": expm1,
    "exp2": exp2,
    "log2": log2,
    "log10": log10,
    "tan": tan,
    "sinh": sinh,
    "cosh": cosh,
    "asin": asin,
    "acos": acos,
    "atan": atan,
    "erf": erf,
    "erfc": erfc,
    "erfinv": erfinv,
    "lgamma": lgamma,
    "i0": i0,
    "igamma": igamma,
    "igammac": igammac,
    "digamma": digamma,
    "polygamma": _polygamma_method,
    "mvlgamma": mvlgamma,
    "sinc": sinc,
    "logit": logit,
    "deg2rad": deg2rad,
    "rad2deg": rad2deg,
    "nan_to_num": nan_to_num,
    "clamp_min": clamp_min,
    "clamp_max": clamp_max,
    "lerp": lerp,
    "fmod": fmod,
    "remainder": remainder,
    "floor_divide": floor_divide,
    "true_divide": true_divide,
    "atan2": atan2,
    "hypot": hypot,
    "xlogy": xlogy,
    "copysign": copysign,
    "ldexp": ldexp,
    "heaviside": heaviside,
    "nextafter": nextafter,
    "addcmul": addcmul,
    "addcdiv": addcdiv,
    "gcd": gcd,
    "lcm": lcm,
    "bitwise_and": bitwise_and,
    "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor,
    "bitwise_not": bitwise_not,
    "logical_not": logical_not,
}


def _float_power_(self: Tensor, exponent) -> Tensor:
    """``x.float_power_(e)``: only a float64 tensor can hold float_power's result."""
    if self.array.dtype != B.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {torch_type_name(self.array.dtype)} "
            "but the operation's result requires dtype Double"
        )
    return _inplace_form(float_power, "float_power_")(self, exponent)


# other names torch gives the same in-place methods
_INPLACE_ALIASES = {
    "absolute": "abs",
    "negative": "neg",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "arctan2": "atan2",
    "multiply": "mul",
    "subtract": "sub",
    "divide": "div",
    "clip": "clamp",
}
_INPLACE.update(
    asinh=asinh,
    acosh=acosh,
    atanh=atanh,
    bitwise_left_shift=bitwise_left_shift,
    bitwise_right_shift=bitwise_right_shift,
    logical_and=logical_and,
    logical_or=logical_or,
    logical_xor=logical_xor,
    eq=eq,
    ne=ne,
    lt=lt,
    le=le,
    gt=gt,
    ge=ge,
    not_equal=ne,
    less=lt,
    less_equal=le,
    greater=gt,
    greater_equal=ge,
)


# ======================================================================= methods
bind_methods(
    log1p=log1p,
    expm1=expm1,
    log2=log2,
    log10=log10,
    exp2=exp2,
    sinh=sinh,
    cosh=cosh,
    tan=tan,
    asin=asin,
    acos=acos,
    atan=atan,
    arcsin=asin,
    arccos=acos,
    arctan=atan,
    asinh=asinh,
    acosh=acosh,
    atanh=atanh,
    arcsinh=asinh,
    arccosh=acosh,
    arctanh=atanh,
    atan2=atan2,
    arctan2=atan2,
    erf=erf,
    erfc=erfc,
    erfinv=erfinv,
    sign=sign,
    sgn=sgn,
    floor=floor,
    ceil=ceil,
    trunc=trunc,
    fix=trunc,
    frac=frac,
    round=round,
    logit=logit,
    negative=neg,
    positive=positive,
    square=square,
    subtract=sub,
    multiply=mul,
    div=div,
    divide=div,
    true_divide=true_divide,
    floor_divide=floor_divide,
    fmod=fmod,
    remainder=remainder,
    hypot=hypot,
    logaddexp=logaddexp,
    logaddexp2=logaddexp2,
    xlogy=xlogy,
    copysign=copysign,
    float_power=float_power,
    deg2rad=deg2rad,
    rad2deg=rad2deg,
    lerp=lerp,
    clamp_min=clamp_min,
    clamp_max=clamp_max,
    nan_to_num=nan_to_num,
    nextafter=nextafter,
    frexp=frexp,
    heaviside=heaviside,
    ldexp=ldexp,
    gcd=gcd,
    lcm=lcm,
    isreal=isreal,
    is_nonzero=is_nonzero,
    i0=i0,
    igamma=igamma,
    igammac=igammac,
    lgamma=lgamma,
    digamma=digamma,
    polygamma=_polygamma_method,
    mvlgamma=mvlgamma,
    sinc=sinc,
    fmax=fmax,
    fmin=fmin,
    addcmul=addcmul,
    addcdiv=addcdiv,
    signbit=signbit,
    isclose=isclose,
    isposinf=isposinf,
    isneginf=isneginf,
    allclose=_allclose,
    bitwise_and=bitwise_and,
    bitwise_or=bitwise_or,
    bitwise_xor=bitwise_xor,
    bitwise_not=bitwise_not,
    bitwise_left_shift=bitwise_left_shift,
    bitwise_right_shift=bitwise_right_shift,
    logical_and=logical_and,
    logical_or=logical_or,
    logical_xor=logical_xor,
    logical_not=logical_not,
    __floordiv__=floor_divide,
    __rfloordiv__=lambda self, other: floor_divide(other, self),
    __mod__=remainder,
    __rmod__=lambda self, other: remainder(other, self),
    __and__=bitwise_and,
    __rand__=lambda self, other: bitwise_and(other, self),
    __or__=bitwise_or,
    __ror__=lambda self, other: bitwise_or(other, self),
    __xor__=bitwise_xor,
    __rxor__=lambda self, other: bitwise_xor(other, self),
    __lshift__=bitwise_left_shift,
    __rlshift__=lambda self, other: bitwise_left_shift(other, self),
    __rshift__=bitwise_right_shift,
    __rrshift__=lambda self, other: bitwise_right_shift(other, self),
    __invert__=_invert,
    float_power_=_float_power_,
    absolute=absolute,
    not_equal=ne,
    less=lt,
    less_equal=le,
    greater=gt,
    greater_equal=ge,
    **{name + "_": _inplace_form(fn, name + "_") for name, fn in _INPLACE.items()},
    **{alias + "_": _method(name + "_") for alias, name in _INPLACE_ALIASES.items()},
    __ifloordiv__=_inplace_form(floor_divide, "__ifloordiv__"),
    __imod__=_inplace_form(remainder, "__imod__"),
    __iand__=_inplace_form(bitwise_and, "__iand__"),
    __ior__=_inplace_form(bitwise_or, "__ior__"),
    __ixor__=_inplace_form(bitwise_xor, "__ixor__"),
    __ilshift__=_inplace_form(bitwise_left_shift, "__ilshift__"),
    __irshift__=_inplace_form(bitwise_right_shift, "__irshift__"),
)
