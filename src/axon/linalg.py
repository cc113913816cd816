"""``axon.linalg``: norms, inverses, solves and decompositions, as ``torch.linalg``; also
the norms and distances torch has at its top level (``torch.norm`` as ``torch_norm``,
bound as ``Tensor.norm``; ``dist``, ``cdist``, ``pdist``), exported by ``axon``.

Every function works on a matrix or a batch of matrices (the last two dims) and is
differentiable, through the ops of ``autograd/ops/linalg.py`` (``Inv``, ``Det``,
``Slogdet``, ``Solve``, ``Cholesky``, ``Eigh``, ``Svd``) or as a composition of them;
``qr`` and ``matrix_rank`` are forward only (``qr``'s backward raises). A decomposition
with several outputs runs as one op whose output packs them all; the outputs are slices
of it, so each one's gradient reaches the op.

The gradients of ``eigh`` and ``svd`` are undefined where eigen- or singular values
repeat, as in torch.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple

import numpy as np

from . import backend as _backend
from .autograd import ops
from .autograd import product_api as _products
from .autograd import shape_api as _api
from .autograd.ops.linalg import LinAlgError
from .autograd.shape_api import _dims_of
from .autograd.tensor import Tensor, _data, _wrap, bind_methods, normalize_dim

__all__ = [
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "LinAlgError",
    "solve_ex",
    "tensorinv",
    "tensorsolve",
    "vander",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
    "cholesky_ex",
    "inv_ex",
    "lstsq",
    "matrix_exp",
    "solve_triangular",
]

SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])
EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
SvdResult = namedtuple("svd", ["U", "S", "Vh"])
QrResult = namedtuple("qr", ["Q", "R"])
CholeskyExResult = namedtuple("cholesky_ex", ["L", "info"])
InvExResult = namedtuple("inv_ex", ["inverse", "info"])
LstsqResult = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


def _square(name: str, A: Tensor) -> None:
    _floating(name, A)
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they "
            f"are {' by '.join(map(str, A.shape[-2:]))} matrices "
            f"(shape {tuple(A.shape)})"
        )


def _floating(name: str, A: Tensor) -> None:
    if A.ndim < 2:
        raise RuntimeError(
            f"linalg.{name}: The input tensor A must have at least 2 "
            f"dimensions, got shape {tuple(A.shape)}"
        )
    if A.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.{name}: Expected a floating point or complex tensor as input. Got {A.dtype}"
        )


# ------------------------------------------------------------------ norms
def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements when None); ord inf is max |x|,
    -inf min |x|, 0 the count of non-zeros. Ties of inf/-inf share the gradient."""
    if dtype is not None:
        x = x.type(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor "
            f"as input. Got {x.dtype}"
        )
    dims = None if dim is None else _dims_of(dim, x.ndim)
    if ord in (math.inf, "inf"):
        return x.abs().amax(dims, keepdim)
    if ord in (-math.inf, "-inf"):
        return x.abs().amin(dims, keepdim)
    if ord == 0:  # a count: in the graph, as in torch, with a zero gradient
        return (x * 0).sum(dims, keepdim) + (x != 0).type(x.dtype).sum(dims, keepdim)
    if ord == 1:
        return x.abs().sum(dims, keepdim)
    return ops.Norm.apply(x, float(ord), dims, keepdim)


def torch_norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """torch.norm: ``"fro"`` (the 2-norm of the elements), ``"nuc"`` (the sum of singular
    values, over two dims), or a number: the vector p-norm over ``dim``."""
    if p is None:
        p = "fro"
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if p == "fro":
        if dim is not None and not isinstance(dim, int) and len(dim) > 2:
            raise RuntimeError(f"norm: 'fro' takes at most 2 dims, got {dim}")
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast)."""
    return vector_norm(input - other, p)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """Pairwise p-norm distances between the rows of (..., P, M) and (..., R, M) batches,
    as a (..., P, R) tensor."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(
            f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D"
        )
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    mm = compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode in (None, "use_mm_for_euclid_dist_if_necessary")
        and (x1.shape[-2] > 25 or x2.shape[-2] > 25)
    )
    if p == 2 and mm:  # torch's choice: one matrix product for many rows
        return ops.EuclideanDist.apply(x1, x2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    return vector_norm(diff, p, -1)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` rescaled so its p-norm is at most ``maxnorm`` (scale
    maxnorm / (norm + 1e-7) where the norm is larger, as torch)."""
    xp = _backend.namespace(_data(input))
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    d = normalize_dim(dim, input.ndim)
    others = tuple(k for k in range(input.ndim) if k != d)
    norms = vector_norm(input, p, others, keepdim=True)
    over = norms.array > maxnorm
    scale = ops.Where.apply(over, maxnorm / (norms + 1e-7), _wrap(xp.ones((), input.dtype)))
    return input * scale


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between every pair of rows i < j of an (N, M) tensor, as a
    vector of N (N - 1) / 2 in row-major order of the pairs."""
    xp = _backend.namespace(_data(input))
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    rows, cols = xp.triu_indices(input.shape[0], 1)
    return vector_norm(input[rows] - input[cols], p, -1)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """A matrix norm over the two ``dim``: "fro", "nuc" (sum of singular values), 1 / -1
    (largest / smallest column abs-sum), inf / -inf (rows), 2 / -2 (largest / smallest
    singular value)."""
    if dtype is not None:
        A = A.type(dtype)
    _floating("matrix_norm", A)
    d0, d1 = _dims_of(dim, A.ndim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return out
    if ord in (1, -1, math.inf, -math.inf):
        along, across = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(along, keepdim=True)
        out = sums.amax(across, keepdim=True) if ord > 0 else sums.amin(across, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``vector_norm`` over one dim (or all elements when ``ord`` and ``dim`` are None),
    ``matrix_norm`` over two dims (or of a 2-D input with an ``ord``)."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(
        f"linalg.norm: If dim is not specified but ord is, the input must be "
        f"1D or 2D. Got {A.ndim}D."
    )


def cond(A: Tensor, p=None) -> Tensor:
    """The condition number: largest over smallest singular value (p None or 2), else
    norm(A, p) * norm(A^-1, p)."""
    if p in (None, 2, -2):
        s = svdvals(A)
        return s.amax(-1) / s.amin(-1) if p != -2 else s.amin(-1) / s.amax(-1)
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


# ------------------------------------------------------------------ inverses and solves
def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix; RuntimeError for a singular one."""
    _square("inv", A)
    try:
        return ops.Inv.apply(A)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "linalg.inv: The diagonal element 1 is zero, the inversion could "
            "not be completed because the input matrix is singular."
        ) from None


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix (its gradient is fine for singular ones)."""
    _square("det", A)
    return ops.Det.apply(A)


def slogdet(A: Tensor):
    """(sign, log |det A|): the determinant without overflow."""
    xp = _backend.namespace(_data(A))
    _square("slogdet", A)
    logabs = ops.Slogdet.apply(A)
    sign = _wrap(xp.sign(xp.linalg.det(A.array)).astype(A.dtype))
    if logabs.requires_grad:  # torch's sign is an output of the graph, with zero gradient
        sign = logabs * 0 + sign
    return SlogdetResult(sign, logabs)


def logdet(A: Tensor) -> Tensor:
    """log det A (NaN for a negative determinant, -inf for zero)."""
    xp = _backend.namespace(_data(A))
    sign, logabs = slogdet(A)
    return logabs + _wrap(xp.log(sign.array))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left``) or X A = B; B a matrix, a batch of them, or a vector."""
    _square("solve", A)
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    k = B.shape[-1] if vector else B.shape[-2]
    if k != A.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation "
            f"AX = B ({A.shape[-2]}x{A.shape[-1]} and {tuple(B.shape)})"
        )
    return ops.Solve.apply(A, B, vector)


def solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """X with A X = B (or X A = B) reading only A's upper or lower triangle (its diagonal
    taken as ones when ``unitriangular``); the gradient of A stays in that triangle."""
    xp = _backend.namespace(_data(A))
    _square("solve_triangular", A)
    if B.ndim < 2:
        raise RuntimeError(
            f"linalg.solve_triangular: The input tensor B must have at least 2 "
            f"dimensions, got shape {tuple(B.shape)}"
        )
    T = A.triu() if upper else A.tril()
    if unitriangular:
        T = (A.triu(1) if upper else A.tril(-1)) + _wrap(xp.eye(A.shape[-1], dtype=A.dtype))
    return solve(T, B, left=left)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """(L, info): ``cholesky`` with info 0 (a matrix that is not positive-definite raises,
    whatever ``check_errors``)."""
    xp = _backend.namespace(_data(A))
    L = cholesky(A, upper=upper)
    return CholeskyExResult(L, _wrap(xp.zeros(A.shape[:-2], dtype=xp.int32)))


def inv_ex(A: Tensor, *, check_errors: bool = False):
    """(inverse, info): ``inv`` with info 0 (a singular matrix raises)."""
    xp = _backend.namespace(_data(A))
    return InvExResult(inv(A), _wrap(xp.zeros(A.shape[:-2], dtype=xp.int32)))


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """X with (L L^T) X = B from the Cholesky factor L (U^T U with ``upper``). The product
    L L^T is formed, so L's gradient is dense, as torch's."""
    low = L.mT if upper else L
    return solve(low @ low.mT, B)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """(L L^T)^-1 from the Cholesky factor L (U^T U with ``upper``)."""
    low = L.mT if upper else L
    return inv(low @ low.mT)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse V diag(1/s) U^T, singular values at most
    max(atol, rtol * s_max) treated as zero (rtol defaults to eps * max(m, n))."""
    xp = _backend.namespace(_data(A))
    _floating("pinv", A)
    U, S, Vh = svd(A, full_matrices=False)
    if rtol is None:
        rtol = xp.finfo(A.dtype).eps * max(A.shape[-2:]) if atol is None else 0.0
    smax = S.array.max(axis=-1, keepdims=True) if S.shape[-1] else 0
    cutoff = xp.maximum(atol or 0.0, rtol * smax)
    keep = S.array > cutoff
    s_inv = ops.Where.apply(
        keep,
        1 / ops.Where.apply(keep, S, _wrap(xp.ones((), A.dtype))),
        _wrap(xp.zeros((), A.dtype)),
    )
    return (Vh.mT * s_inv.unsqueeze(-2)) @ U.mT


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver: str | None = None):
    """The least-squares solution X of A X = B, as pinv(A) B (differentiable in A and B),
    in torch's (solution, residuals, rank, singular_values). As torch's default driver
    ("gelsy"), residuals and singular values are empty; "gelsd" and "gelss" fill them
    (residuals only for a tall A of full rank)."""
    xp = _backend.namespace(_data(A))
    _floating("lstsq", A)
    if B.ndim == A.ndim - 1:  # a vector (or a batch of them)
        return _lstsq_vector(A, B, rcond, driver)
    if A.shape[-2] != B.shape[-2]:
        raise RuntimeError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size(-2), "
            f"got shapes {tuple(A.shape)} and {tuple(B.shape)}"
        )
    X = pinv(A, rtol=rcond) @ B
    m, n = A.shape[-2:]
    rank = matrix_rank(A, rtol=rcond)
    residuals = X.reshape(-1)[:0]  # empty, but in the graph like torch's
    values = _wrap(xp.zeros((0,), A.dtype))
    if driver in ("gelsd", "gelss"):
        values = svdvals(A).detach()  # no gradient, as torch
        if m > n and bool((rank.array == n).all()):
            residuals = ((A @ X - B) ** 2).sum(-2)
    return LstsqResult(X, residuals, rank, values)


def _lstsq_vector(A: Tensor, b: Tensor, rcond, driver):
    out = lstsq(A, b.unsqueeze(-1), rcond, driver=driver)
    return out._replace(solution=out.solution.squeeze(-1))


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A multiplied by itself ``n`` times (by squaring); A^0 = I, negative n inverts."""
    xp = _backend.namespace(_data(A))
    _square("matrix_power", A)
    if n == 0:
        eye = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype), A.shape)
        return _wrap(eye.copy())
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential e^A = sum A^k / k! of each square matrix."""
    _square("matrix_exp", A)
    return ops.MatrixExp.apply(A)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values above the tolerance (forward only, int64)."""
    xp = _backend.namespace(_data(A))
    _floating("matrix_rank", A)
    s = xp.linalg.svd(A.array, compute_uv=False)
    if rtol is None:
        rtol = xp.finfo(A.dtype).eps * max(A.shape[-2:]) if atol is None else 0.0
    tol = xp.maximum(atol or 0.0, rtol * s.max(axis=-1, keepdims=True))
    return _wrap((s > tol).sum(axis=-1).astype(xp.int64))


# ------------------------------------------------------------------ decompositions
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L (lower) with A = L L^T for a symmetric positive-definite A (or U = L^T)."""
    _square("cholesky", A)
    return ops.Cholesky.apply(A, upper)


def eigh(A: Tensor, UPLO: str = "L"):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix, read from
    its ``UPLO`` triangle."""
    _square("eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    pack = ops.Eigh.apply(A, UPLO == "U")
    return EighResult(pack[..., 0, :], pack[..., 1:, :])


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of a symmetric matrix."""
    return eigh(A, UPLO).eigenvalues


def svd(A: Tensor, full_matrices: bool = True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending.

    With ``full_matrices`` (torch's default) and a non-square A, U or Vh is completed to
    a square orthogonal matrix by columns that do not depend smoothly on A; gradients flow
    through the reduced part only (torch refuses that backward).
    """
    xp = _backend.namespace(_data(A))
    _floating("svd", A)
    m, n = A.shape[-2:]
    k = min(m, n)
    pack = ops.Svd.apply(A)
    U = pack[..., :k, :m].mT
    S = pack[..., k, :k]
    Vh = pack[..., k + 1 :, :n]
    if full_matrices and m != n:
        u_full, _, vh_full = xp.linalg.svd(A.array, full_matrices=True)
        if m > n:
            U = ops.Cat.apply(U.ndim - 1, U, _wrap(xp.ascontiguousarray(u_full[..., k:])))
        else:
            Vh = ops.Cat.apply(Vh.ndim - 2, Vh, _wrap(xp.ascontiguousarray(vh_full[..., k:, :])))
    return SvdResult(U, S, Vh)


def svdvals(A: Tensor) -> Tensor:
    """The singular values, descending."""
    return svd(A, full_matrices=False).S


def qr(A: Tensor, mode: str = "reduced"):
    """(Q, R) with A = Q R, Q with orthonormal columns, R upper triangular. Forward only."""
    xp = _backend.namespace(_data(A))
    _floating("qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of "
            f"'reduced' (default), 'r', or 'complete'"
        )
    m, n = A.shape[-2:]
    pack = ops.Qr.apply(A, "complete" if mode == "complete" else "reduced")
    kq = m if mode == "complete" else min(m, n)
    Q = pack[..., :kq, :m].mT
    R = pack[..., kq:, :n]
    if mode == "r":
        return QrResult(_wrap(xp.zeros((0,), A.dtype)), R)
    return QrResult(Q, R)


# ------------------------------------------------------------------ products
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """The broadcasting matrix product (``input @ other``)."""
    return input @ other


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices (the first and last may be vectors), from the
    left."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim`` (broadcast)."""
    return (x * y).sum(normalize_dim(dim, max(x.ndim, y.ndim)))


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (default the last)."""
    return _products.cross(input, other, dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The ``offset`` diagonal of each matrix (default: the last two dims)."""
    return _api.diagonal(A, offset, dim1, dim2)


TorchSvdResult = namedtuple("svd", ["U", "S", "V"])


def torch_svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``torch.svd``'s older form: (U, S, V) with V (not V^T); ``some=False`` completes U
    and V to square matrices; ``compute_uv=False`` gives zero U and V."""
    xp = _backend.namespace(_data(input))
    U, S, Vh = svd(input, full_matrices=not some)
    if not compute_uv:
        U, Vh = (_wrap(xp.zeros(t.shape, t.dtype)) for t in (U, Vh))
    return TorchSvdResult(U, S, Vh.mT)


def torch_cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky``'s older form: ``linalg.cholesky`` with ``upper`` positional."""
    return cholesky(input, upper=upper)


def torch_qr(input: Tensor, some: bool = True):
    """``torch.qr``'s older form: reduced (Q, R), or complete with ``some=False``."""
    return qr(input, "reduced" if some else "complete")


# torch's top-level spellings, also Tensor methods
inverse = inv
pinverse = pinv
bind_methods(
    norm=torch_norm,
    dist=dist,
    renorm=renorm,
    svd=torch_svd,
    qr=torch_qr,
    cholesky=torch_cholesky,
    cholesky_solve=cholesky_solve,
    cholesky_inverse=cholesky_inverse,
    matrix_exp=matrix_exp,
)
bind_methods(
    inverse=inv, det=det, logdet=logdet, slogdet=slogdet, pinverse=pinv, matrix_power=matrix_power
)


# ------------------------------------------------------------------ torch.linalg's rest
SolveExResult = namedtuple("solve_ex", ["result", "info"])


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """``solve`` with an ``info`` tensor (zeros: a singular matrix raises LinAlgError
    either way, as the NumPy solver reports no partial result)."""
    xp = _backend.namespace(_data(A))
    out = solve(A, B, left=left)
    return SolveExResult(out, _wrap(xp.zeros(A.shape[:-2], dtype=xp.int32)))


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """The Vandermonde matrix of the last dimension: ``x ** 0, x ** 1, ..., x ** (N-1)``
    along a new last dimension (``N`` defaults to ``x.shape[-1]``)."""
    xp = _backend.namespace(_data(x))
    if x.ndim == 0:  # a number is a vector of one, as torch
        x = x.reshape(1)
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError(f"N must be greater than 1 (linalg.vander got N={n}).")
    powers = _wrap(xp.arange(n).astype(x.dtype if x.dtype.kind in "fc" else xp.int64))
    return x.unsqueeze(-1) ** powers


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of ``A`` seen as a matrix of its first ``ind`` dims by the rest; the
    result has shape ``A.shape[ind:] + A.shape[:ind]``."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = A.shape[:ind], A.shape[ind:]
    if math.prod(rows) != math.prod(cols):
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {math.prod(cols)} != "
            f"{math.prod(rows)}"
        )
    square = A.reshape(math.prod(rows), math.prod(cols))
    return inv(square).reshape(*cols, *rows)


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) == B``: ``A`` is seen as a matrix of ``B``'s dims
    by the rest (``dims``: the dims of ``A`` moved to the end first)."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in dims], *dims)
    rest = A.shape[B.ndim :]
    x = solve(A.reshape(B.numel(), math.prod(rest)), B.reshape(-1))
    return x.reshape(rest)


def torch_vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """``torch.vander``: the Vandermonde matrix of a 1-D ``x``, highest power first unless
    ``increasing`` (``linalg.vander`` is the increasing one, on any batch)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is not None and N < 0:
        raise RuntimeError("N must be non-negative.")
    if N is not None and N <= 1:  # linalg.vander needs two columns; these are easy
        return x.unsqueeze(-1).expand(x.shape[0], N) * 0 + 1
    out = vander(x, N=N)
    return out if increasing else out.flip(-1)


def frobenius_norm(input: Tensor, dim=(-2, -1), keepdim: bool = False) -> Tensor:
    """Deprecated in torch for ``vector_norm(input, 2, dim, keepdim)``; warns as torch."""
    warnings.warn(
        "at::frobenius_norm is deprecated and it is just left for JIT compatibility."
        " Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead",
        UserWarning,
        stacklevel=2,
    )
    return vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input: Tensor, dim=(-2, -1), keepdim: bool = False) -> Tensor:
    """Deprecated in torch for ``matrix_norm(input, "nuc", dim, keepdim)``; warns as torch.
    ``nuclear_norm(input, keepdim)`` (a bool second) is torch's other form."""
    if isinstance(dim, bool):
        dim, keepdim = (-2, -1), dim
    warnings.warn(
        "at::nuclear_norm is deprecated and it is just left for JIT compatibility. "
        "Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead",
        UserWarning,
        stacklevel=2,
    )
    return matrix_norm(input, "nuc", dim, keepdim)


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """The ``pow``-norm over every dim but ``dim``, kept for broadcasting (weight norm's
    ``g``); ``dim=-1`` is the norm of the whole tensor."""
    if dim == -1:
        return vector_norm(v, pow)
    d = normalize_dim(dim, v.ndim)
    return vector_norm(v, pow, tuple(k for k in range(v.ndim) if k != d), keepdim=True)


TriangularSolveResult = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def triangular_solve(
    b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False
):
    """Deprecated in torch for ``linalg.solve_triangular`` (arguments reversed): X with
    A X = b (A^T X = b when ``transpose``), reading one triangle of A; returns
    ``(solution, cloned_coefficient)``."""
    xp = _backend.namespace(_data(b))
    T = A.triu() if upper else A.tril()
    if unitriangular:
        T = (A.triu(1) if upper else A.tril(-1)) + _wrap(xp.eye(A.shape[-1], dtype=A.dtype))
    if transpose:
        T, upper = T.mT, not upper
    return TriangularSolveResult(solve_triangular(T, b, upper=upper), A.clone())


bind_methods(triangular_solve=triangular_solve)  # b.triangular_solve(A): b first, as torch


# ------------------------------------------------------------------ LU factorisation
LUFactorResult = namedtuple("lu_factor", ["LU", "pivots"])
LUFactorExResult = namedtuple("lu_factor_ex", ["LU", "pivots", "info"])
LUResult = namedtuple("lu", ["P", "L", "U"])


def _lu(A: Tensor, pivot: bool):
    from .autograd.ops.linalg import LUFactor, lu_packed

    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    if A.ndim < 2:
        raise RuntimeError(
            f"linalg.lu_factor: The input tensor A must have at least 2 "
            f"dimensions, got shape {tuple(A.shape)}"
        )
    packed, pivots, perm = lu_packed(A.array)
    if A.shape[-1] == A.shape[-2]:
        LU = LUFactor.apply(A, packed, perm)
    else:  # rectangular: values only (torch differentiates these too)
        LU = _wrap(packed)
    return LU, _wrap(pivots), perm


def lu_factor(A: Tensor, *, pivot: bool = True):
    """``(LU, pivots)``: A = P L U with L unit lower-triangular and U upper-triangular
    packed in ``LU``, and the 1-based row swaps ``pivots`` (int32), as LAPACK's getrf.
    Differentiable for square matrices."""
    LU, pivots, _ = _lu(A, pivot)
    return LUFactorResult(LU, pivots)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False):
    """``lu_factor`` with ``info``: 0, or i + 1 where U[i, i] is the first zero (a singular
    matrix); ``check_errors`` raises LinAlgError then."""
    xp = _backend.namespace(_data(A))
    LU, pivots, _ = _lu(A, pivot)
    diag = xp.diagonal(LU.array, 0, -2, -1)
    zero = diag == 0
    info = xp.where(zero.any(-1), zero.argmax(-1) + 1, 0).astype(xp.int32)
    if check_errors and info.any():
        raise LinAlgError("linalg.lu_factor_ex: U is singular (a zero on its diagonal)")
    return LUFactorExResult(LU, pivots, _wrap(info))


def _unpack(LU: Tensor, pivots, unpack_data: bool = True, unpack_pivots: bool = True):
    xp = _backend.namespace(_data(LU))
    m, n = LU.shape[-2:]
    k = min(m, n)
    P = L = U = None
    if unpack_pivots:
        piv = pivots.array if isinstance(pivots, Tensor) else xp.asarray(pivots)
        perm = xp.tile(xp.arange(m), piv.shape[:-1] + (1,))
        flat_perm, flat_piv = perm.reshape(-1, m), piv.reshape(-1, k)
        for row, swaps in zip(flat_perm, flat_piv, strict=True):
            for j, p in enumerate(swaps - 1):
                row[[j, p]] = row[[p, j]]
        eye = xp.eye(m, dtype=LU.dtype)
        P = _wrap(xp.swapaxes(eye[flat_perm.reshape(perm.shape)], -1, -2).copy())
    if unpack_data:
        L = LU[..., :, :k].tril(-1) + _wrap(xp.eye(m, k, dtype=LU.dtype))
        U = LU[..., :k, :].triu()
    return P, L, U


def lu(A: Tensor, *, pivot: bool = True):
    """``(P, L, U)`` with A = P L U (P a permutation matrix)."""
    LU, pivots, _ = _lu(A, pivot)
    return LUResult(*_unpack(LU, pivots))


def lu_solve(
    LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False
) -> Tensor:
    """X with A X = B from ``lu_factor``'s output (``adjoint``: A^T X = B; ``left=False``:
    X A = B). Differentiable in ``LU`` and ``B``."""
    if not left:
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    P, L, U = _unpack(LU, pivots)
    if adjoint:  # A^T = U^T L^T P^T
        y = solve_triangular(L.mT, solve_triangular(U.mT, B, upper=False), upper=True)
        return P @ y
    y = solve_triangular(L, P.mT @ B, upper=False, unitriangular=True)
    return solve_triangular(U, y, upper=True)


def torch_lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """``torch.lu``: ``(LU, pivots)``, with ``infos`` when ``get_infos``."""
    if get_infos:
        return tuple(lu_factor_ex(A, pivot=pivot))
    return tuple(lu_factor(A, pivot=pivot))


def lu_unpack(
    LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True
):
    """``(P, L, U)`` from a packed LU and its pivots (None for a part not unpacked)."""
    return LUResult(*_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots))


def torch_lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """``torch.lu_solve(b, LU_data, LU_pivots)``: ``linalg.lu_solve`` with b first."""
    return lu_solve(LU_data, LU_pivots, b)


__all__ += ["lu", "lu_factor", "lu_factor_ex", "lu_solve"]
bind_methods(lu=torch_lu, lu_solve=torch_lu_solve)  # A.lu(), b.lu_solve(LU, pivots)
