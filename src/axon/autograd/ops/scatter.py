"""Picking and scattering by index: ``Take`` (read elements at flat indices), ``ScatterAdd``
(add values at positions) and ``ScatterReduce`` (combine values at positions).

``Take`` is the op behind every rearrangement whose result is "some elements of the input,
in some order": diagonal, repeat_interleave, as_strided, take. The public function
computes the flat indices once (on an ``arange`` shaped like the input); the gradient adds
``g`` back at those indices, so repeated indices add up. Two common cases have ops without
index arrays: a bijection with a known inverse (flip, roll, rot90) is ``Rearrange``, and
sliding windows (``Tensor.unfold``) are ``Unfold``.

A position list ``where`` is a tuple of integer arrays, one per input dimension, that
broadcast to the shape of the values written (as ``Gather`` builds it).
"""

from __future__ import annotations

from ..function import Op, _reduce_to
from .cumulative import accumulate
from .index import open_grid


def _add_at_flat(backend, size: int, flat_idx, g):
    """A flat array of ``size`` zeros with ``g`` added at ``flat_idx`` (repeats add up), on
    ``backend`` (the op's)."""
    xp = backend.xp
    if g.dtype.kind == "f":  # bincount beats a scatter-add; it sums in float64
        out = xp.bincount(flat_idx.reshape(-1), weights=g.reshape(-1), minlength=size)
        return out.astype(g.dtype, copy=False)
    out = xp.zeros(size, dtype=g.dtype)
    backend.scatter_add(out, flat_idx.reshape(-1), g.reshape(-1))
    return out


class Take(Op):
    """out = a.flat[flat_idx] (a copy, shaped like ``flat_idx``); d/da adds g back at the
    indices. ``unique`` says no index repeats, so the gradient is a plain write."""

    def forward(self, a, flat_idx, unique=False):
        self.shape, self.idx, self.unique = a.shape, flat_idx, unique
        return a.reshape(-1)[flat_idx]

    def backward(self, g):
        size = 1
        for s in self.shape:
            size *= s
        if self.unique:
            full = self.xp.zeros(size, dtype=g.dtype)
            full[self.idx] = g
        else:
            full = _add_at_flat(self.backend, size, self.idx, g)
        return full.reshape(self.shape), None, None


class Rearrange(Op):
    """out = fn(a) for a rearrangement that moves every element exactly once (flip, roll,
    rot90); d/da = inverse(g). No index arrays, so faster than ``Take`` for these."""

    def forward(self, a, fn, inverse):
        self.inverse = inverse
        return self.xp.ascontiguousarray(fn(a))

    def backward(self, g):
        return self.xp.ascontiguousarray(self.inverse(g)), None, None


class Unfold(Op):
    """Windows of ``size`` elements ``step`` apart along ``dim`` (``Tensor.unfold``): a
    copy of the backend's sliding-window view; d/da adds each window position's gradient back
    with one strided add per position in the window (``size`` adds, no index arrays)."""

    def forward(self, a, dim, size, step):
        self.shape, self.dim, self.size, self.step = a.shape, dim, size, step
        windows = self.backend.sliding_windows(a, size, dim)
        return self.xp.ascontiguousarray(windows[(slice(None),) * dim + (slice(None, None, step),)])

    def backward(self, g):
        full = self.xp.zeros(self.shape, dtype=g.dtype)
        count = g.shape[self.dim]
        where = [slice(None)] * len(self.shape)
        for j in range(self.size):
            where[self.dim] = slice(j, j + self.step * (count - 1) + 1, self.step)
            full[tuple(where)] += g[..., j]
        return full, None, None, None


class ScatterAdd(Op):
    """out = a, then out[where] += alpha * src (repeated positions add up).

    d/da = g;  d/dsrc = alpha * g[where]. Serves ``scatter_add``, ``index_add`` and
    ``index_put(accumulate=True)``."""

    def forward(self, a, where, src, alpha=1):
        self.where, self.alpha, self.src_shape = where, alpha, src.shape
        out = a.copy()
        self.backend.scatter_add(out, where, src * alpha if alpha != 1 else src)
        return out

    def backward(self, g):
        gs = None
        if self.parents[2] is not None:
            gs = g[self.where]
            if gs.shape != self.src_shape:  # a src broadcast over the positions
                gs = _reduce_to(gs, self.src_shape)
            if self.alpha != 1:
                gs = gs * self.alpha
        return g, None, gs, None


def ufunc_at(xp, name: str, target, where, values) -> None:
    """``target[where] = ufunc(target[where], values)`` for the ufunc ``name`` of ``xp``,
    a position named twice taking each of its values in turn (NumPy's ``ufunc.at``).

    CuPy's ``at`` covers add, subtract, maximum, minimum and the bitwise ufuncs, each for
    the dtypes CUDA's atomic operations take (no int64 or float16 maximum); otherwise it
    raises NotImplementedError or TypeError before writing anything. The values then go in
    rounds: round r applies each position's r-th value (in the order NumPy's would), so no
    round writes a position twice and the results are NumPy's. ``where``: an integer array,
    or a tuple of them, indexing the leading dimensions of ``target``."""
    ufunc = getattr(xp, name)
    try:
        ufunc.at(target, where, values)
        return
    except (NotImplementedError, TypeError):
        pass
    where = xp.broadcast_arrays(*(where if isinstance(where, tuple) else (where,)))
    picked, rest = where[0].shape, target.shape[len(where) :]  # target[where]: picked + rest
    where = [w.reshape(picked + (1,) * len(rest)) for w in where]
    where += [g.reshape((1,) * len(picked) + g.shape) for g in open_grid(xp, rest)]
    values = xp.asarray(values).astype(target.dtype, casting="same_kind")  # NumPy's rule
    *where, values = xp.broadcast_arrays(*where, values)
    flat_pos = 0
    for w, n in zip(where, target.shape, strict=True):
        flat_pos = flat_pos * n + xp.where(w < 0, w + n, w)  # the index in target.reshape(-1)
    flat_pos, values = flat_pos.reshape(-1), values.reshape(-1)
    if flat_pos.size == 0:
        return
    order = xp.argsort(flat_pos, kind="stable")  # each position's values together, in order
    pos = flat_pos[order]
    steps = xp.arange(pos.size)
    new_run = xp.concatenate([xp.ones(1, dtype=bool), pos[1:] != pos[:-1]])
    rank = steps - accumulate(xp.maximum, xp.where(new_run, steps, 0), 0)  # r-th value of its pos
    flat = target.reshape(-1)  # a view of a C-contiguous target, else a copy written back
    for r in range(int(rank.max()) + 1):
        pick = order[rank == r]
        at = flat_pos[pick]
        flat[at] = ufunc(flat[at], values[pick])
    if not target.flags.c_contiguous:
        target[...] = flat.reshape(target.shape)


_REDUCERS = {"prod": "multiply", "amax": "maximum", "amin": "minimum"}  # ufuncs of xp


def _identity(reduce: str, dtype, xp):
    """The value that leaves ``reduce`` unchanged: 0, 1, or the dtype's lowest/highest."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    info = xp.finfo(dtype) if dtype.kind == "f" else xp.iinfo(dtype)
    if dtype.kind == "f":
        return -xp.inf if reduce == "amax" else xp.inf
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Op):
    """out[where] = reduce(out[where], src...) for ``reduce`` in sum, prod, mean, amax, amin
    (torch's ``scatter_reduce``); positions no value lands on keep the input.

    With ``include_self=False`` a position that receives values forgets its own first.
    Gradients as torch: sum passes g through; mean divides it by the count; amax/amin share
    it evenly among every value (input or source) equal to the result; prod gives each
    factor g * (product of the others), computed without dividing by zero.
    """

    def forward(self, a, where, src, reduce, include_self=True):
        xp = self.xp
        self.where, self.reduce, self.include_self = where, reduce, include_self
        self.a, self.src = a, src
        hit = xp.zeros(a.shape, dtype=bool)
        hit[where] = True
        self.hit = hit
        count = xp.zeros(a.shape, dtype=xp.int32)  # int32: CuPy's scatter-add has no int64
        self.backend.scatter_add(count, where, 1)
        base = a.copy()
        if not include_self:
            base[hit] = _identity(reduce, a.dtype, xp)
        else:
            count = count + 1
        self.count = count
        if reduce in _REDUCERS:
            ufunc_at(xp, _REDUCERS[reduce], base, where, src)
        else:
            self.backend.scatter_add(base, where, src)
        if reduce == "mean":
            base = xp.where(hit, base / xp.maximum(count, 1), base)
            if a.dtype.kind in "iu":
                base = xp.floor(base)
            base = base.astype(a.dtype, copy=False)
        self.out = base
        return base

    def backward(self, g):
        xp = self.xp
        pa, _, ps = self.parents[:3]
        where, out, reduce = self.where, self.out, self.reduce
        self_in = self.include_self | ~self.hit  # where the input's own value took part
        if reduce == "sum":
            ga, gs = g * self_in, g[where]
        elif reduce == "mean":
            scaled = g / xp.maximum(self.count, 1)
            ga = xp.where(self.hit, scaled * self_in, g)
            gs = scaled[where]
        elif reduce in ("amax", "amin"):
            a_tie = (self.a == out) & self_in
            s_tie = self.src == out[where]
            ties = a_tie.astype(g.dtype)
            self.backend.scatter_add(ties, where, s_tie)
            share = g / xp.maximum(ties, 1)
            ga, gs = share * a_tie, share[where] * s_tie
        else:
            ga, gs = self._prod_grads(g, self_in)
        return (ga if pa is not None else None), None, (gs if ps is not None else None), None, None

    def _prod_grads(self, g, self_in):
        """Each factor's gradient is g times the product of the other factors at its
        position: out / x where x != 0; with zeros, the product of the non-zero others."""
        xp = self.xp
        a, src, where = self.a, self.src, self.where
        zeros = (self_in & (a == 0)).astype(xp.int32)  # int32, as count in forward
        self.backend.scatter_add(zeros, where, src == 0)
        nonzero_prod = xp.where(self_in & (a != 0), a, 1).astype(g.dtype)
        ufunc_at(xp, "multiply", nonzero_prod, where, xp.where(src != 0, src, 1))

        def grad_of(x, z, p, gg):  # z: zeros at its position, p: non-zero product there
            with xp.errstate(divide="ignore", invalid="ignore"):
                others = xp.where(
                    x != 0, xp.where(z == 0, p / xp.where(x != 0, x, 1), 0), xp.where(z == 1, p, 0)
                )
            return gg * others

        ga = grad_of(a, zeros, nonzero_prod, g) * self_in
        gs = grad_of(src, zeros[where], nonzero_prod[where], g[where])
        return ga, gs
