"""Linear algebra beyond products: inverse, determinants, solve, the decompositions
(Cholesky, eigh, SVD, QR, LU), the matrix exponential and Euclidean distances, with backward.

Every op is batched over leading dimensions. The products (matmul, Linear, einsum) are in
``product.py``.
"""

from __future__ import annotations

import math

from ... import backend as B
from ..function import Op


class LinAlgError(RuntimeError):
    """A matrix the decomposition or solve cannot handle (singular, not positive-definite):
    ``torch.linalg.LinAlgError``, a RuntimeError as torch's."""


# ------------------------------------------------------------------ decompositions
# Batched over leading dims. ``_mT`` is the transpose of the last two dims.
def _mT(a):
    xp = B.namespace(a)
    return xp.swapaxes(a, -1, -2)


def _sym(a):
    return 0.5 * (a + _mT(a))


class Inv(Op):
    """Y = A^-1;  dA = -Y^T g Y^T."""

    def forward(self, a):
        self.y = self.xp.linalg.inv(a)
        return self.y

    def backward(self, g):
        yt = _mT(self.y)
        return (-(yt @ g @ yt),)


class Det(Op):
    """det(A);  dA = g * (the cofactor matrix), written from the SVD A = U S V^T as
    det(U) det(V) U diag(prod of the other s) V^T, so singular matrices are fine too."""

    def forward(self, a):
        xp = self.xp
        self.a = a
        return xp.asarray(xp.linalg.det(a))

    def backward(self, g):
        xp = self.xp
        u, s, vt = xp.linalg.svd(self.a)
        ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
        before = xp.cumprod(xp.concatenate([ones, s[..., :-1]], -1), -1)  # s_0 .. s_(i-1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([s[..., 1:], ones], -1), -1), -1), -1)
        others = before * after  # the product of every singular value but the i-th
        sign = xp.linalg.det(u) * xp.linalg.det(vt)
        cof = (u * others[..., None, :]) @ vt * sign[..., None, None]
        return (g[..., None, None] * cof,)


class Slogdet(Op):
    """log |det A| (the sign is read separately);  dA = g A^-T."""

    def forward(self, a):
        xp = self.xp
        self.a = a
        sign, logabs = xp.linalg.slogdet(a)
        self.sign = sign
        return xp.asarray(logabs)

    def backward(self, g):
        return (g[..., None, None] * _mT(self.xp.linalg.inv(self.a)),)


class Solve(Op):
    """X = A^-1 B (B a batch of matrices, or of vectors when ``vector``);
    dB = A^-T g,  dA = -dB X^T."""

    def forward(self, a, b, vector):
        xp = self.xp
        self.a, self.vector = a, vector
        b2 = b[..., None] if vector else b
        try:
            x = xp.linalg.solve(a, b2)
        except xp.linalg.LinAlgError:
            raise LinAlgError(
                "torch.linalg.solve: The solver failed because the input matrix is singular."
            ) from None
        self.x = x
        return x[..., 0] if vector else x

    def backward(self, g):
        pa, pb, _ = self.parents
        g2 = g[..., None] if self.vector else g
        gb = self.xp.linalg.solve(_mT(self.a), g2)
        ga = -(gb @ _mT(self.x)) if pa is not None else None
        if self.vector:
            gb = gb[..., 0]
        return ga, gb, None


class Cholesky(Op):
    """A = L L^T (L lower). dA = sym(L^-T Phi(L^T gL) L^-1), where Phi keeps the lower
    triangle and halves the diagonal (Murray, 2016)."""

    def forward(self, a, upper):
        xp = self.xp
        self.upper = upper
        try:
            low = xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed "
                "because the input is not positive-definite."
            ) from None
        self.low = low
        return _mT(low) if upper else low

    def backward(self, g):
        xp = self.xp
        low = self.low
        if self.upper:
            g = _mT(g)
        phi = xp.tril(_mT(low) @ g)
        n = low.shape[-1]
        phi[..., xp.arange(n), xp.arange(n)] *= 0.5
        linv = xp.linalg.inv(low)
        return _sym(_mT(linv) @ phi @ linv), None


class Eigh(Op):
    """Eigenvalues w (ascending) and eigenvectors V of a symmetric matrix, packed as one
    array (..., n + 1, n): the first row holds w. dA = V (diag(gw) + skew(V^T gV) / 2E) V^T
    with E_ij = w_j - w_i (undefined for repeated eigenvalues, as in torch)."""

    def forward(self, a, upper):
        xp = self.xp
        w, v = xp.linalg.eigh(a, UPLO="U" if upper else "L")
        self.w, self.v = w, v
        return xp.concatenate([w[..., None, :], v], axis=-2)

    def backward(self, g):
        xp = self.xp
        w, v = self.w, self.v
        gw, gv = g[..., 0, :], g[..., 1:, :]
        e = w[..., None, :] - w[..., :, None]
        n = w.shape[-1]
        e[..., xp.arange(n), xp.arange(n)] = xp.inf
        x = _mT(v) @ gv
        inner = 0.5 * (x - _mT(x)) / e
        inner[..., xp.arange(n), xp.arange(n)] = gw
        return v @ inner @ _mT(v), None


class Svd(Op):
    """The reduced SVD A = U diag(S) Vh, packed as one array (..., k + 1 + k, max(m, n))
    (rows: U^T, then S, then Vh) so one node carries all three gradients.

    With S2 = S^2 and E_jk = S2_k - S2_j: dA = U (diag(gS) + (skew(U^T gU) S + S
    skew(V^T gV)) / E) Vh, plus the parts of gU, gV outside the spans of U, V for a
    non-square A. Undefined for repeated singular values, as in torch."""

    def forward(self, a):
        xp = self.xp
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        self.u, self.s, self.vh = u, s, vh
        m, n = a.shape[-2:]
        k = s.shape[-1]
        pack = xp.zeros(a.shape[:-2] + (k + 1 + k, max(m, n)), dtype=a.dtype)
        pack[..., :k, :m] = _mT(u)
        pack[..., k, :k] = s
        pack[..., k + 1 :, :n] = vh
        self.m, self.n = m, n
        return pack

    def backward(self, g):
        xp = self.xp
        u, s, vh, m, n = self.u, self.s, self.vh, self.m, self.n
        k = s.shape[-1]
        gu, gs, gvh = _mT(g[..., :k, :m]), g[..., k, :k], g[..., k + 1 :, :n]
        v, gv = _mT(vh), _mT(gvh)
        uhgu, vhgv = _mT(u) @ gu, _mT(v) @ gv
        s2 = s * s
        e = s2[..., None, :] - s2[..., :, None]
        e[..., xp.arange(k), xp.arange(k)] = 1
        inner = (uhgu - _mT(uhgu)) * s[..., None, :] + s[..., :, None] * (vhgv - _mT(vhgv))
        inner = inner / e
        inner[..., xp.arange(k), xp.arange(k)] = gs
        ga = u @ inner @ vh
        if m > k:
            ga = ga + ((gu - u @ uhgu) / s[..., None, :]) @ vh
        if n > k:
            ga = ga + u @ _mT((gv - v @ vhgv) / s[..., None, :])
        return (ga,)


class Qr(Op):
    """A = Q R, packed as (..., k + k', max(m, n)) rows: Q^T then R. Forward only:
    its backward raises."""

    def forward(self, a, mode):
        xp = self.xp
        q, r = xp.linalg.qr(a, mode=mode)
        self.k = q.shape[-1]
        width = max(a.shape[-1], q.shape[-2])
        pack = xp.zeros(a.shape[:-2] + (q.shape[-1] + r.shape[-2], width), dtype=a.dtype)
        pack[..., : q.shape[-1], : q.shape[-2]] = _mT(q)
        pack[..., q.shape[-1] :, : r.shape[-1]] = r
        return pack

    def backward(self, g):
        raise RuntimeError(
            "axon: the gradient of linalg.qr is not implemented; use "
            "linalg.cholesky or linalg.svd where a gradient is needed"
        )


class EuclideanDist(Op):
    """d_ij = |x1_i - x2_j| for batches (..., P, M) and (..., R, M), through one matrix
    product: d^2 = |x1_i|^2 + |x2_j|^2 - 2 x1_i . x2_j, clamped at 0 (torch's path for more
    than 25 rows; memory O(P R) where the difference tensor would take O(P R M)).

    With W = g / d (0 where d = 0): dx1 = x1 rowsum(W) - W x2, dx2 = x2 colsum(W) - W^T x1.
    """

    def forward(self, x1, x2):
        xp = self.xp
        n1 = (x1 * x1).sum(axis=-1)[..., :, None]
        n2 = (x2 * x2).sum(axis=-1)[..., None, :]
        d2 = n1 + n2 - 2 * (x1 @ _mT(x2))
        self.x1, self.x2 = x1, x2
        self.d = xp.sqrt(xp.maximum(d2, 0))
        return self.d

    def backward(self, g):
        xp = self.xp
        p1, p2 = self.parents
        with xp.errstate(divide="ignore", invalid="ignore"):
            w = xp.where(self.d > 0, g / self.d, 0).astype(g.dtype, copy=False)
        g1 = self.x1 * w.sum(axis=-1)[..., None] - w @ self.x2 if p1 is not None else None
        g2 = self.x2 * w.sum(axis=-2)[..., None] - _mT(w) @ self.x1 if p2 is not None else None
        return g1, g2


def expm(a):
    """e^A for a (batch of) square matrices: scale A by 2^-s until its 1-norm is at most
    1/2, sum the Taylor series to degree 18 (remainder below 1e-22), square s times."""
    xp = B.namespace(a)
    n = a.shape[-1]
    norm = float(xp.abs(a).sum(axis=-2).max()) if a.size else 0.0
    s = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    scaled = a / (2.0**s)
    eye = xp.broadcast_to(xp.eye(n, dtype=a.dtype), a.shape)
    out, term = eye.copy(), eye
    for k in range(1, 19):
        term = term @ scaled / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


class MatrixExp(Op):
    """e^A; dA is the upper-right block of exp([[A^T, g], [0, A^T]]) (the derivative of
    the exponential along g, read from one exponential of twice the size)."""

    def forward(self, a):
        self.a = a
        return expm(a)

    def backward(self, g):
        n = self.a.shape[-1]
        at = _mT(self.a)
        block = self.xp.zeros(self.a.shape[:-2] + (2 * n, 2 * n), dtype=g.dtype)
        block[..., :n, :n] = at
        block[..., n:, n:] = at
        block[..., :n, n:] = g
        return (expm(block)[..., :n, n:],)


def lu_packed(a):
    """The LU factorisation with partial pivoting of each matrix of ``a`` (m x n), as
    LAPACK's getrf: ``(LU, pivots, perm)`` with L (unit diagonal, below) and U (on and
    above) packed in one array, ``pivots`` the 1-based row swaps (int32), and ``perm`` the
    row order with ``a[perm] = L U``."""
    xp = B.namespace(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    packed = xp.array(a, dtype=a.dtype, copy=True).reshape(-1, m, n)
    pivots = xp.zeros((packed.shape[0], k), dtype=xp.int32)
    perm = xp.tile(xp.arange(m), (packed.shape[0], 1))
    for b, A in enumerate(packed):
        for j in range(k):
            p = j + int(xp.argmax(xp.abs(A[j:, j])))
            pivots[b, j] = p + 1
            if p != j:
                A[[j, p]] = A[[p, j]]
                perm[b, [j, p]] = perm[b, [p, j]]
            if A[j, j] != 0:
                A[j + 1 :, j] /= A[j, j]
                A[j + 1 :, j + 1 :] -= xp.outer(A[j + 1 :, j], A[j, j + 1 :])
    lead = a.shape[:-2]
    return packed.reshape(a.shape), pivots.reshape(lead + (k,)), perm.reshape(lead + (m,))


class LUFactor(Op):
    """The packed LU of square matrices (computed by :func:`lu_packed`, passed in). With
    A = P L U: dA = P L^-T (tril_-1(L^T gL) + triu(gU U^T)) U^-T, where gL and gU are
    the strictly lower and the upper parts of the packed gradient."""

    def forward(self, a, packed, perm):
        xp = self.xp
        n = a.shape[-1]
        self.lower = xp.tril(packed, -1) + xp.eye(n, dtype=a.dtype)
        self.upper = xp.triu(packed)
        self.perm = perm
        return packed

    def backward(self, g):
        xp = self.xp
        low, up = self.lower, self.upper
        phi = xp.tril(_mT(low) @ xp.tril(g, -1), -1) + xp.triu(xp.triu(g) @ _mT(up))
        inner = xp.linalg.solve(_mT(low), phi)  # L^-T phi
        inner = _mT(xp.linalg.solve(up, _mT(inner)))  # ... U^-T
        ga = xp.empty_like(inner)
        xp.put_along_axis(ga, self.perm[..., None], inner, axis=-2)  # ga[perm] = inner
        return ga, None, None
