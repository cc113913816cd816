"""Orders and selections on arrays: which element goes where, as torch picks them.

These functions return integer index arrays only. The public ``sort``, ``topk``,
``kthvalue``, ``median`` and ``mode`` read their values with ``Gather`` at those indices,
so the gradient of a selection flows back to exactly the elements selected (torch's rule)
without an op of their own. NaN sorts as the largest value, as in torch.
"""

from __future__ import annotations

from ... import backend as B


def argsort(a, axis: int, descending: bool = False, stable: bool = False):
    """Indices that sort ``a`` along ``axis``; equal values keep their order (stable).

    Descending order sorts the reversed array ascending and reverses back: equal values
    still come in their original order and NaN comes first, as torch does."""
    xp = B.namespace(a)
    if a.ndim == 0:
        return xp.zeros((), dtype=xp.int64)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return xp.flip(n - 1 - rev, axis)


def topk_indices(a, k: int, axis: int, largest: bool):
    """Indices of the ``k`` largest (or smallest) values along ``axis``, in sorted order.

    A partial partition first (O(n)), then a sort of the ``k`` chosen: a sampling loop's
    top-k over a 50,000-word vocabulary does not sort the whole row."""
    xp = B.namespace(a)
    n = a.shape[axis]
    if k == 0 or 4 * k >= n:  # a full sort is as cheap
        return xp.take(argsort(a, axis, descending=largest), xp.arange(k), axis=axis)
    if largest:  # NaN partitions as the largest value, as torch treats it
        part = xp.take(xp.argpartition(a, n - k, axis=axis), xp.arange(n - k, n), axis=axis)
    else:
        part = xp.take(xp.argpartition(a, k - 1, axis=axis), xp.arange(k), axis=axis)
    order = argsort(xp.take_along_axis(a, part, axis=axis), axis, descending=largest)
    return xp.take_along_axis(part, order, axis=axis)


def kth_indices(a, k: int, axis: int):
    """Indices of the k-th smallest value (0-based ``k``) along ``axis``, kept as a size-1
    axis."""
    xp = B.namespace(a)
    order = argsort(a, axis)
    return xp.take(order, [k], axis=axis)


def median_indices(a, axis: int, ignore_nan: bool):
    """Indices of torch's lower median along ``axis`` (kept as a size-1 axis).

    With NaN present: ``median`` picks the first NaN (the result is NaN), ``nanmedian``
    the lower median of the other values (index 0 when a row is all NaN)."""
    xp = B.namespace(a)
    order = argsort(a, axis)
    n = a.shape[axis]
    if a.dtype.kind != "f" or n == 0:
        return xp.take(order, [(n - 1) // 2], axis=axis)
    nan_count = xp.isnan(a).sum(axis=axis, keepdims=True)
    valid = n - nan_count  # NaNs sort last, so the first NaN sits at position ``valid``
    if ignore_nan:
        pos = xp.maximum(valid - 1, 0) // 2
    else:
        pos = xp.where(nan_count > 0, valid, (n - 1) // 2)
    return xp.take_along_axis(order, pos, axis=axis)


def mode_indices(a, axis: int):
    """Indices of the most frequent value along ``axis`` (kept as a size-1 axis).

    Ties go to the smallest value and the index is that value's last occurrence, as torch:
    after a stable sort, equal values form runs (in increasing order of value, each in
    increasing order of position); the first longest run wins and its last element is the
    answer. All rows at once, no Python loop."""
    xp = B.namespace(a)
    moved = xp.moveaxis(a, axis, -1)
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    r = rows.shape[0]
    order = xp.argsort(rows, axis=1, kind="stable")
    ordered = xp.take_along_axis(rows, order, axis=1)
    starts = xp.ones((r, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    run = xp.cumsum(starts, axis=1) - 1  # each position's run, numbered from 0 in its row
    lengths = xp.bincount((xp.arange(r)[:, None] * n + run).ravel(), minlength=r * n)
    best = xp.argmax(lengths.reshape(r, n), axis=1)  # the first longest: the smallest value
    last = n - 1 - xp.argmax((run == best[:, None])[:, ::-1], axis=1)
    out = order[xp.arange(r), last]
    return xp.moveaxis(out.reshape(moved.shape[:-1] + (1,)), -1, axis)
