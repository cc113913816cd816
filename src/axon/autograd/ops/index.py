"""Indexing: ``a[index]`` (basic, integer-array, boolean), its functional write
``IndexPut``, and ``gather``. Backward scatter-adds, so repeated indices add up."""

from __future__ import annotations

from ..function import Op, _reduce_to


def open_grid(xp, shape: tuple) -> list:
    """One index array per axis of ``shape``, each shaped to vary along its own axis only,
    so together they broadcast to every position: NumPy's ``indices(shape, sparse=True)``,
    which CuPy lacks (its ``indices`` has no ``sparse``)."""
    ndim = len(shape)
    return [
        xp.arange(n).reshape((1,) * k + (n,) + (1,) * (ndim - 1 - k)) for k, n in enumerate(shape)
    ]


def _is_basic(index) -> bool:
    """True when indexing can never pick an element twice (ints, slices, None, ...)."""
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if not (i is None or i is Ellipsis or isinstance(i, int | slice)):
            if hasattr(i, "dtype") and i.dtype == bool:
                continue
            return False
    return True


class Index(Op):
    """a[index]: basic and integer-array indexing; backward scatter-adds (repeats add up)."""

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        try:
            out = a[index]
        except IndexError as e:
            raise IndexError(
                f"index {index!r} is invalid for a tensor of shape {a.shape}: {e}"
            ) from None
        return out if isinstance(out, self.backend.array_type) else self.xp.asarray(out)

    def backward(self, g):
        full = self.xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            full[self.index] = g
        else:
            self.backend.scatter_add(full, self.index, g)
        return full, None


class IndexPut(Op):
    """out = a with out[index] = v (the functional form of ``a[index] = v``)."""

    def forward(self, a, index, v):
        self.index, self.v_shape = index, v.shape
        out = a.copy()
        out[index] = v
        return out

    def backward(self, g):
        pa, _, pv = self.parents
        ga = gv = None
        if pa is not None:
            ga = g.copy()
            ga[self.index] = 0
        if pv is not None:
            picked = g[self.index]
            gv = picked if picked.shape == self.v_shape else _reduce_to(picked, self.v_shape)
        return ga, None, gv


class Gather(Op):
    """out[i][j] = a[i][index[i][j]] along ``dim`` (torch.gather); backward scatter-adds.

    ``index`` may be smaller than ``a`` off ``dim``; it is never broadcast."""

    def forward(self, a, dim, index):
        if index.ndim != a.ndim:
            raise RuntimeError(
                f"gather: index of shape {index.shape} needs as many dimensions as the "
                f"input of shape {a.shape}"
            )
        self.shape = a.shape
        where = open_grid(self.xp, index.shape)
        where[dim] = index
        self.where = tuple(where)
        return a[self.where]

    def backward(self, g):
        full = self.xp.zeros(self.shape, dtype=g.dtype)
        self.backend.scatter_add(full, self.where, g)
        return full, None, None
