"""Scans and reductions named and argued as in torch: cumsum, cumprod, cummax/cummin,
logcumsumexp, diff, the trapezoid rule; sum, mean, prod, nansum/nanmean, std_mean/var_mean,
aminmax, count_nonzero, all/any; cov and corrcoef.

Layout: the ops are in ``ops/cumulative.py`` (Cumsum, Cumprod, LogCumSumExp, Prod, and the
indices of cummax/cummin, whose values are a ``Gather``) and ``ops/reduce.py`` (Sum, Mean,
Var, Amax, ...); the functions here take the tensor first and are bound as Tensor methods
at the end (``ax.cumsum(x, 0)`` and ``x.cumsum(0)``). The elementwise math they build on
is in ``math_api.py``.

dtype rules follow torch: sums, products and scans of integers and bools give int64, and
``dtype=`` casts the input first; ``mean`` refuses integers. Every ``dim`` goes through
``normalize_dim`` (torch's IndexError), repeated dims raise torch's RuntimeError; NumPy's
``axis``/``keepdims`` are accepted for ``dim``/``keepdim``, as torch accepts them.
"""

from __future__ import annotations

import functools
from collections import namedtuple

from .. import backend as B
from . import ops
from .math_api import (
    _dims_of,
    _float_tensor,
    _inplace_form,
    _one_dim,
    logical_xor,
)
from .ops.cumulative import running_extreme_indices
from .ops.pointwise import not_implemented, torch_type_name
from .tensor import Tensor, _as_tensor, _data, _wrap, bind_methods, normalize_dim

# torch.return_types: tuples whose fields are also attributes
CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])


def numpy_keywords(fn):
    """Accept NumPy's ``axis`` and ``keepdims`` for ``dim`` and ``keepdim``, as torch's
    argument parser does (``x.sum(axis=1, keepdims=True)``, ``x.softmax(axis=-1)``)."""

    @functools.wraps(fn)
    def accepting(*args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                if "dim" in kwargs:
                    raise TypeError(f"{fn.__name__}() got both 'dim' and its alias 'axis'")
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    return accepting


def _accumulating(input: Tensor, dtype) -> Tensor:
    """The tensor a sum or product runs over: cast to ``dtype`` when given (differentiably
    between floats), integers and bools widened to int64 as torch does."""
    if dtype is not None:
        return input.type(B.to_dtype(dtype))
    if input.array.dtype.kind in "biu" and input.array.dtype != B.int64:
        return _wrap(input.array.astype(B.int64))
    return input


# ======================================================================= scans
@numpy_keywords
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sums along ``dim``: out_i = x_0 + ... + x_i."""
    x = _accumulating(input, dtype)
    d = _one_dim(dim, x.ndim, "cumsum")
    return x.clone() if x.ndim == 0 else ops.Cumsum.apply(x, d)


@numpy_keywords
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running products along ``dim``; the gradient is exact where x holds zeros."""
    x = _accumulating(input, dtype)
    d = _one_dim(dim, x.ndim, "cumprod")
    return x.clone() if x.ndim == 0 else ops.Cumprod.apply(x, d)


@numpy_keywords
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(e^x_0 + ... + e^x_i) along ``dim``, stably."""
    if input.array.dtype.kind not in "fc":
        raise not_implemented("logcumsumexp_out", input.array.dtype)
    d = _one_dim(dim, input.ndim, "logcumsumexp")
    return input.clone() if input.ndim == 0 else ops.LogCumSumExp.apply(input, d)


def _cum_extreme(input: Tensor, dim: int, largest: bool, result, name: str):
    xp = B.namespace(_data(input))
    d = _one_dim(dim, input.ndim, name)
    if input.ndim == 0:
        return result(input.clone(), _wrap(xp.zeros((), B.int64)))
    idx = running_extreme_indices(input.array, d, largest).astype(B.int64)
    return result(ops.Gather.apply(input, d, idx), _wrap(idx))


@numpy_keywords
def cummax(input: Tensor, dim: int):
    """Running maximum along ``dim`` and where it was taken: ``(values, indices)``."""
    return _cum_extreme(input, dim, True, CummaxResult, "cummax")


@numpy_keywords
def cummin(input: Tensor, dim: int):
    """Running minimum along ``dim`` and where it was taken: ``(values, indices)``."""
    return _cum_extreme(input, dim, False, CumminResult, "cummin")


@numpy_keywords
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The n-th forward difference along ``dim``: out_i = x_(i+1) - x_i, applied ``n``
    times, after joining ``prepend`` and ``append`` to the ends (xor for bool tensors)."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = normalize_dim(dim, input.ndim)
    parts = []
    for extra in (prepend, input, append):
        if extra is None:
            continue
        extra = _as_tensor(extra, input)
        if extra.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        parts.append(extra)
    x = parts[0] if len(parts) == 1 else ops.Cat.apply(d, *parts)
    for _ in range(n):
        length = x.shape[d] - 1
        if length <= 0:
            return x.narrow(d, 0, 0)
        later, earlier = x.narrow(d, 1, length), x.narrow(d, 0, length)
        x = logical_xor(later, earlier) if x.dtype == bool else ops.Sub.apply(later, earlier)
    return x


def _trapezoids(y: Tensor, x, dx, dim: int, fn: str):
    """The areas (y_i + y_(i+1)) / 2 * (x_(i+1) - x_i) of the trapezoids along ``dim``."""
    if y.ndim == 0:
        raise IndexError(
            f"{fn}: Dimension out of range (expected to be in range of [-1, 0], but got {dim})"
        )
    d = normalize_dim(dim, y.ndim)
    y = _float_tensor(y)
    n = y.shape[d] - 1
    if n <= 0:
        return None, d
    mid = ops.Add.apply(y.narrow(d, 1, n), y.narrow(d, 0, n)) * 0.5
    if x is None:
        return mid * (1.0 if dx is None else dx), d
    x = _as_tensor(x)
    steps = diff(x, dim=-1 if x.ndim == 1 else d)
    if x.ndim == 1:  # spacing along ``dim`` only: shape it to broadcast there
        steps = steps.reshape((n,) + (1,) * (y.ndim - 1 - d))
    return mid * steps, d


@numpy_keywords
def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The integral of ``y`` along ``dim`` by the trapezoid rule, with sample points ``x``
    or a constant spacing ``dx`` (default 1)."""
    areas, d = _trapezoids(y, x, dx, dim, "trapezoid")
    if areas is None:
        return _float_tensor(y).sum(d) * 0.0
    return areas.sum(d)


@numpy_keywords
def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """torch's older name of :func:`trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


@numpy_keywords
def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running integral of ``y`` along ``dim`` by the trapezoid rule (one fewer
    element than ``y`` there)."""
    areas, d = _trapezoids(y, x, dx, dim, "cumulative_trapezoid")
    if areas is None:
        return _float_tensor(y).narrow(d, 0, 0)
    return cumsum(areas, d)


# ======================================================================= reductions
@numpy_keywords
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The product of all elements, or along one ``dim``; the gradient is exact with zeros."""
    x = _accumulating(input, dtype)
    d = None if dim is None else _one_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        return x.clone()
    return ops.Prod.apply(x, d, keepdim and d is not None)


@numpy_keywords
def sum(input: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A001
    """The sum over ``dim`` (an int, a tuple, or None for all); integers and bools sum to
    int64, and ``dtype`` casts the input before summing (a float64 sum of float32 values)."""
    x = _accumulating(input, dtype)
    return ops.Sum.apply(x, _dims_of(dim, x.ndim), keepdim)


@numpy_keywords
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean over ``dim`` (an int, a tuple, or None for all); floats only, or give
    ``dtype`` (the input is cast to it first)."""
    x = input if dtype is None else input.type(B.to_dtype(dtype))
    if x.array.dtype.kind not in "fc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {torch_type_name(x.array.dtype)}"
        )
    return ops.Mean.apply(x, _dims_of(dim, x.ndim), keepdim)


@numpy_keywords
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum treating NaN as 0 (NaN positions get gradient 0)."""
    xp = B.namespace(_data(input))
    x = _accumulating(input, dtype)
    if x.array.dtype.kind in "fc":
        x = ops.Where.apply(xp.isnan(x.array), _wrap(xp.zeros((), x.array.dtype)), x)
    return ops.Sum.apply(x, _dims_of(dim, x.ndim), keepdim)


@numpy_keywords
def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the elements that are not NaN (NaN where all are)."""
    xp = B.namespace(_data(input))
    x = input if dtype is None else input.type(B.to_dtype(dtype))
    if x.array.dtype.kind not in "fc":
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{torch_type_name(x.array.dtype)}"
        )
    dims = _dims_of(dim, x.ndim)
    count = (~xp.isnan(x.array)).sum(axis=dims, keepdims=keepdim).astype(x.array.dtype)
    return nansum(x, dim, keepdim) / _wrap(xp.asarray(count))


@numpy_keywords
def std_mean(
    input: Tensor,
    dim=None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: int | None = None,
):
    """``(std, mean)`` over ``dim`` in one call; ``correction`` (or ``unbiased``) as std."""
    if isinstance(dim, bool):  # torch.std_mean(x, False): the old ``unbiased`` position
        dim, unbiased = None, dim
    return (input.std(dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


@numpy_keywords
def var_mean(
    input: Tensor,
    dim=None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: int | None = None,
):
    """``(var, mean)`` over ``dim`` in one call; ``correction`` (or ``unbiased``) as var."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return (input.var(dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


@numpy_keywords
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """``(min, max)`` of all elements or along ``dim``; ties share the gradient evenly."""
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation "
                "has no identity."
            )
        dims = None
    else:
        d = _one_dim(dim, input.ndim, "aminmax")
        if input.ndim and input.shape[d] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
        dims = (d,)
    return AminmaxResult(ops.Amin.apply(input, dims, keepdim), ops.Amax.apply(input, dims, keepdim))


@numpy_keywords
def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """How many elements are not zero, over ``dim`` (an int, a tuple, or None), as int64."""
    xp = B.namespace(_data(input))
    dims = _dims_of(dim, input.ndim)
    if input.ndim == 0:
        dims = None if dims is None else ()
    counts = xp.count_nonzero(input.array, axis=dims)
    return _wrap(xp.asarray(counts, dtype=B.int64))


def _logical_reduction(ufunc: str, name: str):
    """``all`` or ``any`` over ``dim``, by the namespace function ``ufunc``."""

    def fn(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
        dims = _dims_of(dim, input.ndim)
        if input.ndim == 0 and dims is not None:
            dims = ()
        xp = B.namespace(input.array)
        out = xp.asarray(getattr(xp, ufunc)(input.array, axis=dims, keepdims=keepdim))
        # torch keeps uint8 for uint8 input; every other dtype gives bool
        return _wrap(out.astype(B.uint8) if input.array.dtype == B.uint8 else out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (
        f"True where {'every' if name == 'all' else 'any'} element over ``dim`` "
        "(an int, a tuple, or None for all) is nonzero."
    )
    return fn


all = numpy_keywords(_logical_reduction("all", "all"))  # noqa: A001
any = numpy_keywords(_logical_reduction("any", "any"))  # noqa: A001


# ======================================================================= statistics
def _check_weights(name: str, w, observations: int, integral: bool) -> Tensor:
    """fweights (integers) or aweights (floats): one per observation, as torch checks."""
    w = _as_tensor(w)
    kind_ok = w.array.dtype.kind in "iu" if integral else w.array.dtype.kind == "f"
    if not kind_ok:
        want = "integral" if integral else "floating point"
        raise RuntimeError(
            f"cov(): expected {name} to have {want} dtype but got {name} "
            f"with {torch_type_name(w.array.dtype)} dtype"
        )
    if w.ndim > 1:
        raise RuntimeError(
            f"cov(): expected {name} to have one or fewer dimensions but got "
            f"{name} with {w.ndim} dimensions"
        )
    if w.numel() != observations:
        raise RuntimeError(
            f"cov(): expected {name} to have the same numel as there are "
            f"observations in the input but got {w.numel()} != {observations}"
        )
    return w


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in the
    columns; a 1-D input is one variable): sum_k w_k (x_ik - m_i)(x_jk - m_j) / norm, with
    w the product of ``fweights`` and ``aweights`` (1 when absent), m the w-weighted means
    and norm = sum w - correction (sum w a / sum w when ``aweights`` are given)."""
    if input.ndim > 2:
        raise RuntimeError(
            "cov(): expected input to have two or fewer dimensions but got an "
            f"input with {input.ndim} dimensions"
        )
    x = _float_tensor(input)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = _check_weights("fweights", fweights, n, True).type(x.dtype)
    if aweights is not None:
        a = _check_weights("aweights", aweights, n, False).type(x.dtype)
        w = a if w is None else w * a
    if w is None:
        w_sum = n
        centered = x - x.mean(1, keepdim=True)
        norm = n - correction
        products = centered @ centered.T
    else:
        w_sum = w.sum()
        centered = x - (x * w).sum(1, keepdim=True) / w_sum
        norm = w_sum - (correction if aweights is None else correction * (w * a).sum() / w_sum)
        products = (centered * w) @ centered.T
    out = products / ops.Clamp.apply(_as_tensor(norm, x), 0, None)
    return out.reshape(()) if out.shape == (1, 1) else out  # one variable: 0-d, as torch


def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients of the variables in the rows of ``input``:
    cov_ij / sqrt(cov_ii cov_jj), clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    return (c / std.reshape(-1, 1) / std.reshape(1, -1)).clamp(-1, 1)


# ======================================================================= methods
bind_methods(
    cumsum=cumsum,
    cumprod=cumprod,
    diff=diff,
    logcumsumexp=logcumsumexp,
    cummax=cummax,
    cummin=cummin,
    prod=prod,
    sum=sum,
    mean=mean,
    nansum=nansum,
    nanmean=nanmean,
    aminmax=aminmax,
    count_nonzero=count_nonzero,
    all=all,
    any=any,
    cov=cov,
    corrcoef=corrcoef,
    cumsum_=_inplace_form(cumsum, "cumsum_"),
    cumprod_=_inplace_form(cumprod, "cumprod_"),
)

# the reductions written on Tensor itself (tensor.py) take NumPy's keywords too:
# ``scores.argmax(axis=1)`` as torch allows
bind_methods(
    **{
        name: numpy_keywords(getattr(Tensor, name))
        for name in ("argmax", "argmin", "amax", "amin", "max", "min", "std", "var", "logsumexp")
    }
)


# ======================================================================= gradient
def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """The derivative of sampled values along each of ``dim`` (all dims by default) by
    finite differences, as torch.gradient: central differences inside, one-sided ones of
    order ``edge_order`` (1 or 2) at the two ends. ``spacing`` is one step for every dim,
    one step per dim, or one 1-D tensor of coordinates per dim (uneven steps).
    Differentiable; an integer input gives the default float."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = (
        list(range(input.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    )
    dims = [normalize_dim(d, input.ndim) for d in dims]
    steps = list(spacing) if isinstance(spacing, list | tuple) else [spacing] * len(dims)
    if len(steps) != len(dims):
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar, or a list of "
            f"length equal to 'self.dim() = {input.ndim}', since dim argument was not "
            f"given, but got a list of length {len(steps)}"
        )
    if input.dtype.kind not in "fc":
        input = input.type(B.get_default_dtype())
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError(
                "torch.gradient expected each dimension size to be at least edge_order+1"
            )
    return tuple(_gradient_along(input, d, h, edge_order) for d, h in zip(dims, steps, strict=True))


def _gradient_along(f: Tensor, d: int, h, edge_order: int) -> Tensor:
    """The finite-difference derivative of ``f`` along ``d`` with step or coordinates ``h``."""
    xp = B.namespace(_data(f))
    n = f.shape[d]

    def at(start: int, length: int = 1) -> Tensor:
        return f.narrow(d, start % n, length)

    if isinstance(h, Tensor) and h.ndim == 1:  # coordinates: uneven steps
        x = h.array.astype(xp.float64)
    else:
        x = xp.arange(n) * float(h.item() if isinstance(h, Tensor) else h)
    step = xp.diff(x)
    shape = [1] * f.ndim

    def coef(values) -> Tensor:
        shape[d] = len(values)
        return _wrap(xp.asarray(values, dtype=f.dtype).reshape(shape))

    hl, hr = step[:-1], step[1:]
    inner = (
        (
            coef(hl**2 / (hl * hr * (hl + hr))) * at(2, n - 2)
            - coef(hr**2 / (hl * hr * (hl + hr))) * at(0, n - 2)
            + coef((hr**2 - hl**2) / (hl * hr * (hl + hr))) * at(1, n - 2)
        )
        if n > 2
        else None
    )
    if edge_order == 1:
        first = (at(1) - at(0)) / float(step[0])
        last = (at(-1) - at(-2)) / float(step[-1])
    else:
        h1, h2 = step[0], step[1]
        first = (
            at(0) * float(-(2 * h1 + h2) / (h1 * (h1 + h2)))
            + at(1) * float((h1 + h2) / (h1 * h2))
            + at(2) * float(-h1 / (h2 * (h1 + h2)))
        )
        h1, h2 = step[-2], step[-1]
        last = (
            at(-3) * float(h2 / (h1 * (h1 + h2)))
            + at(-2) * float(-(h1 + h2) / (h1 * h2))
            + at(-1) * float((2 * h2 + h1) / (h2 * (h1 + h2)))
        )
    from .shape_api import cat

    parts = [first, inner, last] if inner is not None else [first, last]
    return cat(parts, d)
