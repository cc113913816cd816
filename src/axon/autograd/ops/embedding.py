"""The embedding lookup (Embedding) and embedding_bag's weighted bag sums (BagSum) as fused
ops, with the row scatter-add their backward needs; ``axon.nn.functional`` calls them.

Forward is a row gather, ``out[...] = W[idx[...]]``. Backward sends each output row's
gradient back to the weight row it came from; a row picked k times gets the sum of k
gradients:

    dL/dW[v] = sum over positions p with idx[p] == v of dL/dout[p]

That sum is a scatter-add of N = idx.size gradient rows of width D into a (V, D) table.
Which way of computing it is fastest depends on V, N and D (see :func:`scatter_add_rows`).
"""

from __future__ import annotations

from ... import backend as B
from ..function import Op

# A table of at most this many rows takes the one-hot matrix product (see below), as long
# as the (V, N) one-hot matrix stays under _ONE_HOT_MAX_ELEMENTS (32 MB in float32).
_ONE_HOT_MAX_ROWS = 128
_ONE_HOT_MAX_ELEMENTS = 1 << 23
# Elements per add.at call of the scatter (its flat index array: 512 KB of int64).
_SCATTER_CHUNK = 1 << 16


def scatter_add_rows(index, src, num_rows: int, backend=None):
    """``out[index[i]] += src[i]`` for a 1-D integer ``index`` of length N and ``src`` of
    shape (N, D); ``out`` has shape (num_rows, D) and starts at zero. ``backend``: the
    arrays' backend (None: found from ``src``), whose ``matmul`` and ``scatter_add`` it uses.

    Two ways, picked by the table size V = ``num_rows`` (measured against the row form of
    ``add.at``, sorting plus ``add.reduceat``, ``bincount`` on flat positions and the
    one-hot product at every V):

    - a small table (V <= ``_ONE_HOT_MAX_ROWS``, characters): one matrix product
      ``onehot(index) @ src`` with the (V, N) one-hot matrix. It does V*N*D multiply-adds,
      but at BLAS speed, which beats every scatter for small V and wide rows; for a few
      hundred rows and more the scatters win. A non-finite gradient row falls back to the
      scatter, so that it stays in its own row (0 * inf would put NaN in every row).
    - otherwise a scatter-add (``add.at``) on the flattened table at flat positions
      ``index * D + column``: NumPy's ``add.at`` has a fast path for a 1-D target with one
      1-D index (NumPy >= 1.25) that the row form does not take, and needs no sort. Done in
      chunks of ``_SCATTER_CHUNK`` elements so the index array stays small. For a large V
      the cost is mostly the zero (V, D) table itself.
    """
    b = B.of(src) if backend is None else backend
    xp = b.xp
    n, d = src.shape
    if n == 0:
        return xp.zeros((num_rows, d), dtype=src.dtype)
    if num_rows <= _ONE_HOT_MAX_ROWS and num_rows * n <= _ONE_HOT_MAX_ELEMENTS:
        one_hot = xp.zeros((num_rows, n), dtype=src.dtype)  # (V, N)
        one_hot[index, xp.arange(n)] = 1
        with xp.errstate(invalid="ignore", over="ignore"):
            out = b.matmul(one_hot, src)  # (V, N) @ (N, D) -> (V, D)
        if xp.isfinite(out).all():
            return out
        # 0 * inf = NaN would spread a non-finite gradient row to every row: scatter instead
    out = xp.zeros((num_rows, d), dtype=src.dtype)  # returned as is: it owns its memory,
    table = out.reshape(-1)  # (V, D) -> (V * D,), a view: so the engine need not copy it
    columns = xp.arange(d)
    index = index.astype(xp.intp, copy=False)
    step = max(1, _SCATTER_CHUNK // d)  # rows per add.at: a bounded index array
    for start in range(0, n, step):
        rows = slice(start, start + step)
        flat = (index[rows, None] * d + columns).ravel()  # (rows, D) -> (rows * D,) positions
        b.scatter_add(table, flat, src[rows].ravel())
    return out


def check_indices(indices, num_embeddings: int) -> None:
    """Raise a clear error for non-integer or out-of-range indices (before any lookup)."""
    if indices.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: expected integer indices (int64 or int32), got dtype {indices.dtype}"
        )
    if indices.size == 0:
        return
    lo, hi = int(indices.min()), int(indices.max())
    if lo < 0 or hi >= num_embeddings:
        bad = lo if lo < 0 else hi
        raise IndexError(
            f"embedding: index {bad} is out of range for an embedding table of size "
            f"{num_embeddings} (valid indices are 0..{num_embeddings - 1})"
        )


class Embedding(Op):
    """out = weight[indices] (rows of the (V, D) table); backward scatter-adds the output
    gradient rows into a (V, D) gradient, leaving the ``padding_idx`` row at zero.

    ``indices`` is a plain integer array (no gradient), of any shape; the output has shape
    ``indices.shape + (D,)``. With ``scale_grad_by_freq`` each row's gradient is divided
    by how often that index occurs in the batch.
    """

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        check_indices(indices, weight.shape[0])
        self.num_rows = weight.shape[0]
        self.indices = indices
        self.padding_idx = padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq
        return weight.take(indices, axis=0)  # indices.shape + (D,)

    def backward(self, g):
        d = g.shape[-1]
        index = self.indices.reshape(-1)  # (N,)
        rows = g.reshape(-1, d)  # indices.shape + (D,) -> (N, D)
        if self.padding_idx is not None:
            keep = index != self.padding_idx
            if not keep.all():
                index, rows = index[keep], rows[keep]
        gw = scatter_add_rows(index, rows, self.num_rows, self.backend)
        if self.scale_grad_by_freq and index.size:
            xp = self.xp
            counts = xp.bincount(index, minlength=self.num_rows)  # (V,)
            gw /= xp.maximum(counts, 1).astype(gw.dtype)[:, None]
        return gw, None, None, None


class BagSum(Op):
    """out[b] = sum over the t with bag[t] == b of coef[t] rows[t], for rows (T, D) and
    coef[t] = scale[t] (times ``weights[t]`` when given): embedding_bag's 'sum' and
    'mean' (scale 1 / bag size) without a (bags, T) matrix; scale 0 leaves a row out.

    Backward: d rows[t] = coef[t] g[bag[t]], d weights[t] = scale[t] <g[bag[t]], rows[t]>.
    """

    def forward(self, rows, weights, bag, scale, num_bags: int):
        coef = scale if weights is None else scale * weights
        self.rows = rows if weights is not None else None
        self.bag, self.scale, self.coef = bag, scale, coef
        return scatter_add_rows(bag, rows * coef[:, None], num_bags, self.backend)

    def backward(self, g):
        picked = g[self.bag]  # (T, D): each row's bag gradient
        drows = picked * self.coef[:, None]
        dweights = None
        if self.rows is not None:
            dweights = (picked * self.rows).sum(axis=1) * self.scale
        return drows, dweights, None, None, None
