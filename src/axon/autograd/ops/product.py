"""Products: the batched, broadcasting ``matmul``, the fused ``Linear`` node and ``einsum``,
each beside its backward (itself products); the decompositions are in ``linalg.py``.
"""

from __future__ import annotations

import math

from ..function import Op


class MatMul(Op):
    """Batched, broadcasting a @ b.  dA = g @ B^T,  dB = A^T @ g (1-D operands promoted).

    Every product goes through ``self.backend.matmul``: the CPU's (``backend.numpy.threads``) gives
    2-D products bits that depend on the shapes alone, whatever the thread count; batched
    ones are NumPy's, whose bits follow OpenBLAS's thread count."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(
                f"matmul: both arguments need at least 1 dimension, got shapes {a.shape} "
                f"and {b.shape}"
            )
        try:
            return self.backend.matmul(a, b)
        except ValueError:
            k_a = a.shape[-1]
            k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
            if k_a != k_b:
                raise RuntimeError(
                    f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                    f"({k_a} columns against {k_b} rows)"
                ) from None
            raise RuntimeError(
                f"matmul: batch dimensions of {a.shape} and {b.shape} cannot be broadcast"
            ) from None

    def backward(self, g):
        xp, matmul = self.xp, self.backend.matmul
        a, b = self.a, self.b
        pa, pb = self.parents
        a2 = a[None, :] if a.ndim == 1 else a  # (k,) -> (1, k)
        b2 = b[:, None] if b.ndim == 1 else b  # (k,) -> (k, 1)
        g2 = g[..., None] if b.ndim == 1 else g  # (..., m) -> (..., m, 1)
        if a.ndim == 1:
            g2 = g2[..., None, :]  # (..., n) -> (..., 1, n); a 0-d g becomes (1, 1)
        ga = gb = None
        if pa is not None:
            bt = xp.swapaxes(b2, -1, -2)
            ga = matmul(g2, bt)
            if a.ndim == 1:
                ga = ga.reshape(-1, a.shape[0]).sum(axis=0) if ga.ndim > 2 else ga[0]
        if pb is not None:
            at = xp.swapaxes(a2, -1, -2)
            gb = matmul(at, g2)
            if b.ndim == 1:
                gb = gb.reshape(-1, b.shape[0]).sum(axis=0) if gb.ndim > 2 else gb[:, 0]
        return ga, gb


class Linear(Op):
    """y = x W^T + b for x of shape (..., in), W (out, in), b (out,): one fused node.

    dx = g W,  dW = g^T x,  db = sum of g over the leading dimensions.

    Inputs with more than two dimensions run as one 2-D product on the flattened rows:
    NumPy's matmul of a (B, T, in) stack by a 2-D matrix loops over the B matrices, several
    times slower than one (B T, in) product.
    """

    def forward(self, x, w, b):
        self.x, self.w = x, w
        if x.shape[-1] != w.shape[1]:
            raise RuntimeError(
                f"linear: input of shape {x.shape} has {x.shape[-1]} features, but the "
                f"weight of shape {w.shape} expects {w.shape[1]}"
            )
        # one 2-D product over the flattened rows (the backend's matmul and thread policy)
        out = self.backend.matmul(x.reshape(math.prod(x.shape[:-1]), x.shape[-1]), w.T)
        if b is not None:
            out += b
        return out.reshape(*x.shape[:-1], w.shape[0])

    def backward(self, g):
        px, pw, pb = self.parents
        x, w, matmul = self.x, self.w, self.backend.matmul
        g2 = g.reshape(math.prod(g.shape[:-1]), g.shape[-1])  # (rows, out)
        gx = None
        if px is not None:
            gx = matmul(g2, w).reshape(x.shape)
        gw = gb = None
        if pw is not None or pb is not None:
            if pw is not None:
                gw = matmul(g2.T, x.reshape(g2.shape[0], x.shape[-1]))
            if pb is not None:
                gb = g2.sum(axis=0)
        return gx, gw, gb


# ------------------------------------------------------------------ einsum
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def parse_einsum(equation: str, shapes: list) -> tuple[list[str], str]:
    """Rewrite an einsum equation with explicit letters only: one string of subscripts per
    operand and the output's, with ``...`` replaced by fresh letters (right-aligned, so
    the dimensions it covers broadcast) and the implicit output made explicit (the
    ellipsis dimensions, then the letters seen once, in alphabetical order)."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        many = "more" if len(shapes) > len(terms) else "fewer"
        raise RuntimeError(
            f"einsum(): {many} operands were provided ({len(shapes)}) than specified in the "
            f"equation {equation!r} ({len(terms)})"
        )
    for k, c in enumerate(eq):
        if not (c in _LETTERS or c in ",.->"):
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {k} in the "
                f"equation string {equation!r}, subscripts must be in [a-zA-Z]"
            )
    if any(t.count("...") > 1 or t.replace("...", "").count(".") for t in terms + [out]):
        raise RuntimeError(
            f"einsum(): found more than one '...' or a lone '.' in a term of {equation!r}"
        )
    unused = [c for c in _LETTERS if c not in eq]
    n_ell = 0
    for i, (t, shape) in enumerate(zip(terms, shapes, strict=True)):
        named = len(t.replace("...", ""))
        if "..." not in t and named != len(shape) or named > len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) does not "
                f"match the number of dimensions ({len(shape)}) for operand {i}"
                + ("" if "..." in t else " and no ellipsis was given")
            )
        if "..." in t:
            n_ell = max(n_ell, len(shape) - named)
    ell = "".join(unused[:n_ell])
    terms = [
        t.replace("...", ell[n_ell - (len(s) - len(t) + 3) :] if n_ell else "") if "..." in t else t
        for t, s in zip(terms, shapes, strict=True)
    ]
    if arrow:
        out = out.replace("...", ell)
    else:
        seen = "".join(terms)
        out = ell + "".join(sorted(c for c in set(seen) if seen.count(c) == 1 and c not in ell))
    for c in out:
        if out.count(c) > 1:
            raise RuntimeError(
                f"einsum(): output subscript {c} appears more than once in the "
                f"output of {equation!r}"
            )
        if not any(c in t for t in terms):
            raise RuntimeError(
                f"einsum(): output subscript {c} of {equation!r} does not "
                f"appear in the equation for any input operand"
            )
    return terms, out


def _letter_sizes(terms, shapes, equation) -> dict:
    """Each letter's size; size-1 dimensions broadcast, other disagreements raise."""
    sizes: dict = {}
    for t, shape in zip(terms, shapes, strict=True):
        for c, n in zip(t, shape, strict=True):
            m = sizes.get(c, 1)
            if n != m and 1 not in (n, m):
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} in one operand and {m} in another "
                    f"in {equation!r} (shapes {[tuple(s) for s in shapes]})"
                )
            sizes[c] = max(m, n)
    return sizes


def _optimize(arrays) -> bool:
    """Let the namespace plan the contraction (pairwise, through BLAS where it can) for three
    or more operands or large ones; planning costs more than a small product takes, and
    saves several times its cost on an attention-sized batched product."""
    return len(arrays) > 2 or max(a.size for a in arrays) >= 4096


class Einsum(Op):
    """out = einsum(terms -> out, *arrays), with explicit subscripts (see ``parse_einsum``).

    The gradient of operand i is itself an einsum: the output's gradient contracted with
    every other operand onto operand i's subscripts. Three cases need one more operand:
    a letter repeated in operand i (a diagonal) takes an identity matrix joining the copy
    to a fresh letter; a letter only operand i has (summed away) takes a vector of ones;
    a size-1 dimension broadcast against a larger one is summed, then put back.
    """

    def forward(self, terms, out, *arrays):
        xp = self.xp
        self.terms, self.out, self.arrays = terms, out, arrays
        self.sizes = _letter_sizes(terms, [a.shape for a in arrays], ",".join(terms) + "->" + out)
        spec = ",".join(terms) + "->" + out
        return xp.asarray(xp.einsum(spec, *arrays, optimize=_optimize(arrays)))

    def backward(self, g):
        grads = [None, None]
        for i, p in enumerate(self.parents[2:]):
            grads.append(None if p is None else self._grad_of(i, g))
        return tuple(grads)

    def _grad_of(self, i, g):
        xp = self.xp
        arrays, terms, sizes = self.arrays, self.terms, self.sizes
        shape = arrays[i].shape
        specs = [self.out] + [t for j, t in enumerate(terms) if j != i]
        operands = [g] + [a for j, a in enumerate(arrays) if j != i]
        fresh = iter(c for c in _LETTERS if c not in sizes)
        target = ""
        for c, n in zip(terms[i], shape, strict=True):
            if n == 1 and sizes[c] > 1:
                continue  # broadcast: summed over here, the size-1 axis restored below
            if c in target:  # a repeated letter: a diagonal of operand i
                f = next(fresh)
                specs.append(c + f)
                operands.append(xp.eye(n, dtype=g.dtype))
                c = f
            target += c
        for c in set(target):
            if not any(c in s for s in specs):  # summed away in forward: broadcast back
                specs.append(c)
                operands.append(xp.ones(sizes[c], dtype=g.dtype))
        gi = xp.einsum(",".join(specs) + "->" + target, *operands, optimize=_optimize(operands))
        return gi.reshape(shape)
