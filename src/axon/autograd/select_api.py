"""Sorting, selection, scatter and index writes, named and argued as in torch (the layout
of the torch-API modules is described in ``shape_api``).

Selections (``sort``, ``topk``, ``kthvalue``, ``median``, ``mode``) compute their indices
with ``ops/sort.py`` and read the values with ``Gather``, so the gradient reaches exactly
the elements picked. Writes (``scatter``, ``index_add``, ``index_put``, ...) build a tuple
of position arrays and run ``IndexPut`` (replace), ``ScatterAdd`` (add, repeats adding
up) or ``ScatterReduce``; each has its in-place form ``x.f_(...)``.
"""

from __future__ import annotations

from collections import namedtuple

from .. import backend as B
from . import ops
from .ops import sort as _sort
from .ops.index import open_grid
from .shape_api import (
    _as_tensor,
    _check_bounds,
    _index_array,
    _inplace,
    _int,
    broadcast_shapes,
)
from .tensor import Tensor, _data, _wrap, bind_methods, normalize_dim

# torch.return_types: tuples whose fields are also attributes (values, indices = ...)
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
NanmedianResult = namedtuple("nanmedian", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])


# ------------------------------------------------------------------ sorting and selection
def _gather_at(input: Tensor, idx, d: int, keepdim: bool, result):
    """(values, indices) of ``input`` at ``idx`` along ``d``: values through ``Gather``, so
    the gradient flows back to exactly the elements picked."""
    xp = B.namespace(_data(input))
    if input.ndim == 0:
        return result(ops.Clone.apply(input), _wrap(xp.zeros((), dtype=xp.int64)))
    values = ops.Gather.apply(input, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return result(values, _wrap(idx.astype(xp.int64, copy=False)))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along ``dim``; equal values keep their order; NaN counts as
    the largest value."""
    d = normalize_dim(dim, input.ndim)
    idx = _sort.argsort(input.array, d, descending, stable)
    return _gather_at(input, idx, d, True, SortResult)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """The indices that sort ``input`` along ``dim``."""
    xp = B.namespace(_data(input))
    d = normalize_dim(dim, input.ndim)
    return _wrap(_sort.argsort(input.array, d, descending, stable).astype(xp.int64))


def msort(input: Tensor) -> Tensor:
    """The values sorted along dim 0."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``, in
    sorted order."""
    xp = B.namespace(_data(input))
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: k = {k} for dimension {d} of size {n}")
    if input.ndim == 0:
        idx = xp.zeros((), dtype=xp.int64)
    else:
        idx = _sort.topk_indices(input.array, k, d, largest)
    return _gather_at(input, idx, d, True, TopkResult)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the ``k``-th smallest element (counting from 1) along ``dim``."""
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {d}: k = {k}, size {n}"
        )
    if input.ndim == 0:
        return _gather_at(input, None, 0, keepdim, KthvalueResult)
    return _gather_at(input, _sort.kth_indices(input.array, k - 1, d), d, keepdim, KthvalueResult)


def _median(input: Tensor, dim, keepdim: bool, ignore_nan: bool, result):
    if input.array.size == 0 and dim is None:
        raise RuntimeError("median() input tensor cannot be empty")
    if dim is None:  # the value only, over all elements
        flat = input.reshape(-1)
        idx = _sort.median_indices(flat.array, 0, ignore_nan)
        value = ops.Gather.apply(flat, 0, idx).reshape(())
        return _spread_evenly(flat, value) if flat.requires_grad else value
    d = normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        return _gather_at(input, None, 0, keepdim, result)
    return _gather_at(input, _sort.median_indices(input.array, d, ignore_nan), d, keepdim, result)


def _spread_evenly(flat: Tensor, value: Tensor) -> Tensor:
    """``value`` (one of ``flat``'s elements) with torch's gradient for a reduction over all
    elements: shared evenly among every element equal to it (NaN counting as equal to a
    NaN value), not given to one of them."""
    xp = B.namespace(_data(flat))
    v = value.detach()
    ties = (flat.array == v.array) | (xp.isnan(flat.array) & xp.isnan(v.array))
    tied = flat[_wrap(xp.flatnonzero(ties))]
    if not xp.isfinite(v.array):
        return tied.mean()  # NaN or an infinity: the mean of equal values is that value
    return v + (tied - v).mean()  # exactly value (every difference is 0), 1/k gradients


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (the smaller of the two middle values for an even count); with
    ``dim``, (values, indices) along it. NaN anywhere makes the median NaN."""
    return _median(input, dim, keepdim, False, MedianResult)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where every value is NaN)."""
    return _median(input, dim, keepdim, True, NanmedianResult)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the most frequent value along ``dim``; ties go to the smallest
    value, and the index is its last occurrence."""
    d = normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        return _gather_at(input, None, 0, keepdim, ModeResult)
    return _gather_at(input, _sort.mode_indices(input.array, d), d, keepdim, ModeResult)


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
):
    """The distinct values (sorted), or distinct slices along ``dim``; optionally where each
    element went (``inverse``) and how often each value occurs (``counts``)."""
    xp = B.namespace(_data(input))
    axis = None if dim is None else normalize_dim(dim, input.ndim)
    values, inverse, counts = xp.unique(
        input.array, return_inverse=True, return_counts=True, axis=axis
    )
    out = [_wrap(values)]
    if return_inverse:
        shape = input.shape if axis is None else (input.shape[axis],)
        out.append(_wrap(inverse.reshape(shape).astype(xp.int64)))
    if return_counts:
        out.append(_wrap(counts.astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(
    input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
):
    """Collapse runs of equal consecutive values (or slices along ``dim``) to one."""
    xp = B.namespace(_data(input))
    a = input.array
    if dim is None:
        a = a.reshape(-1)
        axis = 0
    else:
        axis = normalize_dim(dim, input.ndim)
    moved = xp.moveaxis(a, axis, 0).reshape(a.shape[axis], -1) if a.ndim else a.reshape(1, 1)
    new_run = xp.ones(moved.shape[0], dtype=bool)
    new_run[1:] = (moved[1:] != moved[:-1]).any(axis=1)
    starts = xp.flatnonzero(new_run)
    out = [_wrap(xp.take(a, starts, axis=axis))]
    if return_inverse:
        inv = xp.cumsum(new_run) - 1
        out.append(_wrap(inv.reshape(input.shape if dim is None else (-1,)).astype(xp.int64)))
    if return_counts:
        out.append(_wrap(xp.diff(xp.append(starts, moved.shape[0])).astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an (n, ndim) tensor, or one 1-D tensor per
    dim with ``as_tuple=True``."""
    xp = B.namespace(_data(input))
    a = input.array
    if as_tuple:
        where = xp.nonzero(a) if a.ndim else xp.nonzero(a.reshape(1))
        return tuple(_wrap(w.astype(xp.int64)) for w in where)
    return _wrap(xp.argwhere(a).astype(xp.int64))


def argwhere(input: Tensor) -> Tensor:
    """The (n, ndim) indices of the non-zero elements."""
    return nonzero(input)


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements where ``mask`` (broadcast with ``input``) is true, as a 1-D tensor."""
    xp = B.namespace(_data(input))
    m = xp.asarray(_data(mask))
    if m.dtype != bool:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {m.dtype}")
    shape = broadcast_shapes(input.shape, m.shape)
    full = input if tuple(input.shape) == shape else ops.Expand.apply(input, shape)
    return ops.Index.apply(full, xp.broadcast_to(m, shape))


def searchsorted(
    sorted_sequence,
    values,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter=None,
) -> Tensor:
    """For each value, the index where it would be inserted to keep each row of
    ``sorted_sequence`` sorted: before equal values (``right=False``) or after them."""
    xp = B.namespace(_data(sorted_sequence))
    seq = xp.asarray(_data(sorted_sequence))
    vals = xp.asarray(_data(values))
    if side is not None:
        right = side == "right"
    if sorter is not None:
        seq = xp.take_along_axis(seq, xp.asarray(_data(sorter)), axis=-1)
    how = "right" if right else "left"
    if seq.ndim == 1:
        out = xp.searchsorted(seq, vals, side=how)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(
                f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first "
                f"N-1 dimensions of boundaries tensor and input value tensor must match, but "
                f"we got boundaries tensor {list(seq.shape)} and input value tensor "
                f"{list(vals.shape)}"
            )
        rows = seq.reshape(-1, seq.shape[-1])
        v_rows = vals.reshape(-1, vals.shape[-1])
        out = xp.stack([xp.searchsorted(r, v, side=how) for r, v in zip(rows, v_rows, strict=True)])
        out = out.reshape(vals.shape)
    return _wrap(xp.asarray(out, dtype=xp.int32 if out_int32 else xp.int64))


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value among 1-D ``boundaries``: i with boundaries[i-1] < x <=
    boundaries[i] (``right=False``), or boundaries[i-1] <= x < boundaries[i]."""
    xp = B.namespace(_data(input))
    b = xp.asarray(_data(boundaries))
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are
    0); values outside are ignored."""
    xp = B.namespace(_data(input))
    a = input.array
    if a.dtype.kind != "f":
        raise RuntimeError(
            f"torch.histogram: input tensor and bins tensors should have the "
            f"same dtype, got {a.dtype}"
        )
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
    counts, _ = xp.histogram(a, bins=bins, range=(lo, hi))
    return _wrap(counts.astype(a.dtype))


def bincount(input: Tensor, weights=None, minlength: int = 0) -> Tensor:
    """How often each non-negative integer occurs in a 1-D tensor (weighted: the sum of
    the weights), with at least ``minlength`` bins."""
    xp = B.namespace(_data(input))
    a = xp.asarray(_data(input))
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise RuntimeError(
            f"bincount only supports 1-d non-negative integral inputs, got "
            f"shape {a.shape} of {a.dtype}"
        )
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _wrap(xp.bincount(a, minlength=minlength).astype(xp.int64))
    w = xp.asarray(_data(weights))
    out = xp.bincount(a, weights=w, minlength=minlength)
    return _wrap(out.astype(w.dtype if w.dtype.kind == "f" else xp.float64))


# ------------------------------------------------------------------ scatter and index writes
def _scatter_where(name: str, input: Tensor, dim: int, index, src_shape=None):
    """(d, index array, position tuple) for writing along ``dim`` at ``index``, after
    torch's checks: int64 index with input's number of dims, no larger than ``src`` and
    no larger than ``input`` off ``dim``, every index within the dim."""
    xp = B.namespace(_data(input))
    d = normalize_dim(dim, input.ndim)
    idx = _index_array(index, name)
    if idx.ndim != max(input.ndim, 1) and idx.size:
        raise RuntimeError(
            f"{name}(): Index tensor must have the same number of dimensions as self tensor "
            f"(index shape {idx.shape}, self shape {tuple(input.shape)})"
        )
    shape = input.shape or (1,)
    too_big = any(i > s for k, (i, s) in enumerate(zip(idx.shape, shape, strict=True)) if k != d)
    if src_shape is not None and src_shape:
        too_big |= any(i > s for i, s in zip(idx.shape, src_shape, strict=True))
    if too_big:
        raise RuntimeError(
            f"{name}(): Expected index {list(idx.shape)} to be smaller than self "
            f"{list(shape)} apart from dimension {d}"
            + (f" and to be smaller size than src {list(src_shape)}" if src_shape else "")
        )
    _check_bounds(idx, shape[d], d)
    where = open_grid(xp, idx.shape)
    where[d] = idx % shape[d]
    return d, idx, tuple(where)


def _src_for(src, idx_shape, like: Tensor) -> Tensor:
    """``src`` cut to the index's shape (torch reads only that corner), or a scalar value
    as a 0-d tensor of ``like``'s dtype."""
    xp = B.namespace(like.array)
    if not isinstance(src, Tensor):
        return _wrap(xp.asarray(src, dtype=like.dtype))
    if src.ndim == 0:
        return src
    if tuple(src.shape) != tuple(idx_shape):
        return src[tuple(slice(0, n) for n in idx_shape)]
    return src


def scatter(input: Tensor, dim: int, index, src=None, value=None, *, reduce=None) -> Tensor:
    """A copy of ``input`` with ``out[index[i][j]][j] = src[i][j]`` (for dim 0), ``src``
    a tensor or a number (``value``). ``reduce="add"``/``"multiply"`` combines instead."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing the src or value argument")
    src_shape = tuple(src.shape) if isinstance(src, Tensor) and src.ndim else None
    d, idx, where = _scatter_where("scatter", input, dim, index, src_shape)
    shape = input.shape
    flat = input.reshape(1) if input.ndim == 0 else input  # a 0-d input as one element
    s = _src_for(src, idx.shape, flat)
    if reduce is not None:
        kinds = {"add": "sum", "multiply": "prod"}
        if reduce not in kinds:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        s = ops.Expand.apply(s, idx.shape) if tuple(s.shape) != idx.shape else s
        out = ops.ScatterReduce.apply(flat, where, s, kinds[reduce], True)
    else:
        out = ops.IndexPut.apply(flat, where, s)
    return out if out.shape == shape else out.reshape(shape)


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add)."""
    d, idx, where = _scatter_where("scatter_add", input, dim, index, tuple(src.shape))
    return ops.ScatterAdd.apply(input, where, _src_for(src, idx.shape, input), 1)


def scatter_reduce(
    input: Tensor, dim: int, index, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """A copy of ``input`` where each position combines the ``src`` values sent to it by
    ``index`` with ``reduce`` ("sum", "prod", "mean", "amax", "amin"), with its own value
    too when ``include_self``."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    d, idx, where = _scatter_where("scatter_reduce", input, dim, index, tuple(src.shape))
    return ops.ScatterReduce.apply(
        input, where, _src_for(src, idx.shape, input), reduce, include_self
    )


def _index_where(name: str, input: Tensor, dim: int, index, source_shape=None):
    """(d, positions) to write slices of ``input`` along ``dim`` at the 1-D ``index``
    (negative indices count from the end for index_fill only, as in torch)."""
    xp = B.namespace(_data(input))
    d = normalize_dim(dim, input.ndim)
    idx = _index_array(index, name).reshape(-1)
    n = input.shape[d] if input.ndim else 1
    error = IndexError if name == "index_copy" else RuntimeError
    _check_bounds(idx, n, d, negative=name == "index_fill", error=error, name=f"{name}(): ")
    if source_shape is not None:
        want = list(input.shape)
        if want:
            want[d] = idx.size
        if list(source_shape) != want and not (len(source_shape) == 0 and idx.size == 1):
            raise RuntimeError(
                f"{name}(): Number of indices ({idx.size}) should be equal to source.size(dim)"
                f" and source should otherwise match self: source shape "
                f"{list(source_shape)}, self shape {list(input.shape)}, dim {d}"
            )
    view = [1] * max(input.ndim, 1)
    view[d] = idx.size
    where = (
        open_grid(xp, (*input.shape[:d], idx.size, *input.shape[d + 1 :])) if input.ndim else [None]
    )
    where[d] = (idx % n).reshape(view)
    return d, tuple(where)


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source[i]`` added to slice ``index[i]`` along
    ``dim`` (repeated indices add up)."""
    d, where = _index_where("index_add", input, dim, index, tuple(source.shape))
    return ops.ScatterAdd.apply(input, where, source, alpha)


def index_reduce(
    input: Tensor, dim: int, index, source: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """A copy of ``input`` where slice ``index[i]`` along ``dim`` combines with
    ``source[i]`` by ``reduce`` ("prod", "mean", "amax", "amin"), its own value included
    when ``include_self``."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(
            f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
            f"amin but got {reduce}."
        )
    d, where = _index_where("index_reduce", input, dim, index, tuple(source.shape))
    return ops.ScatterReduce.apply(input, where, source, reduce, include_self)


def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """A copy of ``input`` with slice ``index[i]`` along ``dim`` replaced by
    ``source[i]``."""
    d, where = _index_where("index_copy", input, dim, index, tuple(source.shape))
    return ops.IndexPut.apply(input, where, source)


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value``."""
    xp = B.namespace(_data(input))
    d, where = _index_where("index_fill", input, dim, index)
    v = value if isinstance(value, Tensor) else _wrap(xp.asarray(value, dtype=input.dtype))
    if v.ndim:
        raise RuntimeError(
            f"index_fill_ only supports a 0-dimensional value tensor, but got "
            f"tensor with {v.ndim} dimension(s)."
        )
    return ops.IndexPut.apply(input, where, v)


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``out[indices] = values`` (``indices`` a tuple of index
    tensors); with ``accumulate`` the values are added, repeats adding up."""
    xp = B.namespace(_data(input))
    where = tuple(xp.asarray(_data(i)) for i in indices)
    v = _as_tensor(values, input)
    if accumulate:
        return ops.ScatterAdd.apply(input, where, v, 1)
    return ops.IndexPut.apply(input, where, v)


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """A copy of ``input`` with ``value`` where ``mask`` (broadcast) is true."""
    xp = B.namespace(_data(input))
    m = xp.asarray(_data(mask))
    if m.dtype != bool:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype {m.dtype}"
        )
    v = value if isinstance(value, Tensor) else _wrap(xp.asarray(value, dtype=input.dtype))
    if v.ndim:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got "
            f"tensor with {v.ndim} dimension(s)."
        )
    return ops.Where.apply(m, v, input)


def masked_scatter(input: Tensor, mask, source: Tensor) -> Tensor:
    """A copy of ``input`` whose elements where ``mask`` is true are, in order, the first
    elements of ``source``."""
    xp = B.namespace(_data(input))
    m = xp.broadcast_to(xp.asarray(_data(mask)), input.shape)
    count = _int(m.sum())
    if source.array.size < count:
        raise RuntimeError(
            f"masked_scatter: expected source to have at least {count} "
            f"elements (the mask's true count), got {source.array.size}"
        )
    return ops.IndexPut.apply(input, m, source.reshape(-1)[:count])


def take(input: Tensor, index) -> Tensor:
    """The elements at ``index`` of the flattened input, shaped like ``index``."""
    idx = _index_array(index, "take")
    n = input.array.size
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return ops.Take.apply(input, idx % max(n, 1), False)


def take_along_dim(input: Tensor, indices, dim: int | None = None) -> Tensor:
    """Values at ``indices`` along ``dim`` (of the flattened input when None), with input
    and indices broadcast against each other off ``dim``."""
    xp = B.namespace(_data(input))
    idx = _index_array(indices, "take_along_dim")
    if dim is None:
        return take(input, idx.reshape(-1))
    d = normalize_dim(dim, input.ndim)
    if idx.ndim != input.ndim:
        raise RuntimeError(
            f"torch.take_along_dim(): input and indices should have the same "
            f"number of dimensions, but got {input.ndim} dimensions for input, "
            f"and {idx.ndim} dimensions for indices"
        )
    shape = list(
        broadcast_shapes(
            tuple(s if k != d else 1 for k, s in enumerate(input.shape)),
            tuple(s if k != d else 1 for k, s in enumerate(idx.shape)),
        )
    )
    in_shape, idx_shape = list(shape), list(shape)
    in_shape[d], idx_shape[d] = input.shape[d], idx.shape[d]
    full = input if list(input.shape) == in_shape else ops.Expand.apply(input, tuple(in_shape))
    _check_bounds(idx, input.shape[d], d, negative=True)
    return ops.Gather.apply(full, d, xp.broadcast_to(idx, idx_shape) % input.shape[d])


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = input[i][index[i][j]] along ``dim`` (the index may be smaller than the
    input off ``dim``)."""
    d = normalize_dim(dim, input.ndim)
    idx = _index_array(index, "gather")
    if idx.ndim != max(input.ndim, 1):
        raise RuntimeError(
            f"gather(): Index tensor must have the same number of dimensions "
            f"as input tensor (index shape {idx.shape}, input shape "
            f"{tuple(input.shape)})"
        )
    for k, (i, s) in enumerate(zip(idx.shape, input.shape, strict=True)):
        if k != d and i > s:
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index "
                f"{list(idx.shape)} to be smaller than self "
                f"{list(input.shape)} apart from dimension {d}"
            )
    _check_bounds(idx, input.shape[d], d)
    return ops.Gather.apply(input, d, idx % max(input.shape[d], 1))


# ------------------------------------------------------------------ quantiles and membership
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(
    input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool, name: str
) -> Tensor:
    """Quantiles from the sorted values: positions q (n - 1) among the n valid values of
    each row, read with ``Gather`` and interpolated (so the gradient splits between the two
    neighbours as torch's lerp does). NaN: ``quantile`` gives NaN, ``nanquantile`` skips."""
    xp = B.namespace(_data(input))
    if input.dtype.kind != "f":
        raise RuntimeError(
            f"{name}() input tensor must be either float or double dtype, got {input.dtype}"
        )
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{name}() interpolation must be one of linear, lower, higher, "
            f"midpoint or nearest. Got {interpolation}"
        )
    if isinstance(q, Tensor) and q.dtype != input.dtype:
        raise RuntimeError(
            f"{name}() q tensor must be same dtype as the input tensor, got "
            f"{q.dtype} and {input.dtype}"
        )
    qs = xp.asarray(_data(q), dtype=xp.float64)
    if qs.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor, got shape {qs.shape}")
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{name}() q values must be in the range [0, 1], got {qs}")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else normalize_dim(dim, input.ndim)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.shape[d] == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    values = sort(x, d).values  # NaN last
    n = x.shape[d]
    nan_count = xp.isnan(x.array).sum(axis=d, keepdims=True)
    valid = n - nan_count
    outs = []
    for qk in qs.reshape(-1):
        pos = qk * xp.maximum(valid - 1, 0)
        if not ignore_nan:  # a row with NaN reads the first NaN
            pos = xp.where(nan_count > 0, n - nan_count, pos)
        if interpolation == "lower":
            pos = xp.floor(pos)
        elif interpolation == "higher":
            pos = xp.ceil(pos)
        elif interpolation == "nearest":
            pos = xp.round(pos)
        lo = xp.floor(pos).astype(xp.int64)
        hi = xp.minimum(xp.ceil(pos).astype(xp.int64), n - 1)
        frac = pos - lo if interpolation != "midpoint" else xp.where(hi > lo, 0.5, 0.0)
        v_lo, v_hi = ops.Gather.apply(values, d, lo), ops.Gather.apply(values, d, hi)
        out = v_lo + (v_hi - v_lo) * _wrap(frac.astype(x.dtype))
        if ignore_nan:  # an all-NaN row stays NaN
            out = ops.Where.apply(valid == 0, _wrap(xp.asarray(xp.nan, x.dtype)), out)
        if not keepdim:
            out = out.squeeze(d)
        elif dim is None:
            out = out.reshape((1,) * input.ndim)
        outs.append(out)
    return outs[0] if qs.ndim == 0 else ops.Stack.apply(0, *outs)


def quantile(
    input: Tensor,
    q,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """The q-th quantiles (q a number or a 1-D tensor, which becomes the first dim) along
    ``dim`` (of all elements when None); NaN in a row makes its quantiles NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(
    input: Tensor,
    q,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """``quantile`` ignoring NaN (NaN only where a row is all NaN)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """A bool tensor shaped like ``elements``: whether each is among ``test_elements``."""
    xp = B.namespace(_data(elements))
    out = xp.isin(
        xp.asarray(_data(elements)),
        xp.asarray(_data(test_elements)),
        assume_unique=assume_unique,
        invert=invert,
    )
    return _wrap(xp.asarray(out))


HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])


def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False):
    """(hist, bin_edges): counts (or weight sums) in ``bins`` equal bins over ``range``
    (the data's range by default) or between the given bin edges."""
    xp = B.namespace(_data(input))
    a = input.array
    edges = _data(bins)
    w = None if weight is None else xp.asarray(_data(weight))
    hist, out_edges = xp.histogram(a, bins=edges, range=range, weights=w, density=density)
    return HistogramResult(_wrap(hist.astype(a.dtype)), _wrap(out_edges.astype(a.dtype)))


def unravel_index(indices, shape) -> tuple:
    """The coordinates, one int64 tensor per dim of ``shape``, of flat ``indices``."""
    xp = B.namespace(_data(indices))
    idx = _index_array(indices, "unravel_index")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(xp.prod(shape))
    if idx.size and (idx.max() >= size or idx.min() < -size):
        raise RuntimeError(f"unravel_index: index out of bounds for shape {shape}")
    coords = xp.unravel_index(idx % max(size, 1), shape)
    return tuple(_wrap(xp.asarray(c, dtype=xp.int64)) for c in coords)


def put(input: Tensor, index, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added) at the flat ``index``."""
    idx = _index_array(index, "put")
    n = input.array.size
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(
            f"out of range: tried to access index {idx.max()} on a tensor of {n} elements."
        )
    if source.array.size != idx.size:
        raise RuntimeError(
            f"put_(): Expected source and index to have the same number of "
            f"elements, but got source.numel() = {source.array.size}, "
            f"index.numel() = {idx.size}"
        )
    flat, where = input.reshape(-1), ((idx % max(n, 1)).reshape(-1),)
    src = source.reshape(-1)
    out = (
        ops.ScatterAdd.apply(flat, where, src, 1)
        if accumulate
        else ops.IndexPut.apply(flat, where, src)
    )
    return out.reshape(input.shape)


# ====================================================================== Tensor methods
scatter_ = _inplace(scatter)
scatter_add_ = _inplace(scatter_add)
scatter_reduce_ = _inplace(scatter_reduce)
index_add_ = _inplace(index_add)
index_reduce_ = _inplace(index_reduce)
index_copy_ = _inplace(index_copy)
index_fill_ = _inplace(index_fill)
index_put_ = _inplace(index_put)
masked_fill_ = _inplace(masked_fill)
masked_scatter_ = _inplace(masked_scatter)
put_ = _inplace(put)

bind_methods(
    **{
        fn.__name__: fn
        for fn in [
            sort,
            argsort,
            msort,
            topk,
            kthvalue,
            median,
            nanmedian,
            mode,
            unique,
            unique_consecutive,
            nonzero,
            argwhere,
            masked_select,
            histc,
            bincount,
            scatter,
            scatter_add,
            scatter_reduce,
            index_add,
            index_copy,
            index_fill,
            index_put,
            index_reduce,
            index_reduce_,
            masked_fill,
            masked_scatter,
            take,
            take_along_dim,
            gather,
            scatter_,
            scatter_add_,
            scatter_reduce_,
            index_add_,
            index_copy_,
            index_fill_,
            index_put_,
            masked_fill_,
            masked_scatter_,
            put_,
            put,
            quantile,
            nanquantile,
            isin,
        ]
    }
)

__all__ = [
    "histogram",
    "index_reduce",
    "isin",
    "nanquantile",
    "put",
    "quantile",
    "unravel_index",
    "argsort",
    "argwhere",
    "bincount",
    "bucketize",
    "histc",
    "index_add",
    "index_copy",
    "index_fill",
    "index_put",
    "kthvalue",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "median",
    "mode",
    "msort",
    "nanmedian",
    "nonzero",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "searchsorted",
    "sort",
    "take",
    "take_along_dim",
    "topk",
    "unique",
    "unique_consecutive",
]
