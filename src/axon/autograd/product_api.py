"""Products named and argued as in torch: ``mm``, ``bmm``, ``matmul``, ``dot``, ``mv``,
``outer``, ``kron``, ``cross``, the scaled sums ``addmm``/``addmv``/``baddbmm``/``addbmm``/
``addr`` (and their in-place forms), ``einsum``, ``tensordot``, ``inner``,
``chain_matmul`` (the layout of the torch-API modules is described in ``shape_api``).

Every product is a ``MatMul`` (batched, broadcasting) or an ``Einsum`` (whose gradient is
an einsum of the output's gradient with the other operands), or a composition of them
with elementwise ops.
"""

from __future__ import annotations

from ..backend import host
from . import ops
from .ops.product import parse_einsum
from .shape_api import _dims_tuple, _inplace, _int, unbind
from .tensor import Tensor, _as_tensor, bind_methods, normalize_dim


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The matrix product of two 2-D tensors (no broadcasting, unlike ``matmul``)."""
    if input.ndim != 2:
        raise RuntimeError(f"mm: self must be a matrix, got shape {tuple(input.shape)}")
    if mat2.ndim != 2:
        raise RuntimeError(f"mm: mat2 must be a matrix, got shape {tuple(mat2.shape)}")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} "
            f"and {mat2.shape[0]}x{mat2.shape[1]})"
        )
    return ops.MatMul.apply(input, mat2)


def matmul(input: Tensor, other) -> Tensor:
    """The broadcasting matrix product ``input @ other``."""
    return ops.MatMul.apply(input, _as_tensor(other, input))


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """The inner product of two 1-D tensors of equal length."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors "
            f"(shapes {tuple(input.shape)} and {tuple(tensor.shape)})"
        )
    if input.shape != tensor.shape:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
            f"[{tensor.shape[0]}] to have the same number of elements"
        )
    return ops.MatMul.apply(input, tensor)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with the first vector conjugated: the same on real tensors."""
    return dot(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The product of a matrix (n, m) and a vector (m,)."""
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise RuntimeError(
            f"mv: expected a matrix and a vector of matching size, got shapes "
            f"{tuple(input.shape)} and {tuple(vec.shape)}"
        )
    return ops.MatMul.apply(input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two vectors: out[i, j] = input[i] * vec2[j]."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(
            f"outer: expected 1-D tensors, got shapes {tuple(input.shape)} and {tuple(vec2.shape)}"
        )
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: blocks ``input[i, j] * other`` laid out in a grid."""
    n = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (n - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
    # interleave the axes: a's (i, j) and b's (k, l) as (i, k, j, l), then merge pairs
    a_shape = [s for d in a.shape for s in (d, 1)]
    b_shape = [s for d in b.shape for s in (1, d)]
    out = a.reshape(a_shape) * b.reshape(b_shape)
    return out.reshape([x * y for x, y in zip(a.shape, b.shape, strict=True)])


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    if dim is None:
        dim = next((d for d, n in enumerate(input.shape) if n == 3), -1)
    d = normalize_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[normalize_dim(dim, other.ndim)] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got "
            f"{input.shape[d]} and {other.shape[normalize_dim(dim, other.ndim)]}"
        )
    a0, a1, a2 = unbind(input, d)
    b0, b1, b2 = unbind(other, normalize_dim(dim, other.ndim))
    return ops.Stack.apply(d, a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2); input is ignored when beta is 0 (as torch)."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"bmm: {name} must be a 3D tensor, got shape {tuple(t.shape)}")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"bmm: batches of shapes {tuple(input.shape)} and {tuple(mat2.shape)} do not match"
        )
    return ops.MatMul.apply(input, mat2)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2)."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (the sum over the batch of batch1[i] @ batch2[i])."""
    return _scaled_sum(input, bmm(batch1, batch2).sum(0), beta, alpha)


def _scaled_sum(input, product, beta, alpha) -> Tensor:
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return product + (input if beta == 1 else input * beta)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, ``einsum("bij,bjk->bik", a, b)``; ``...`` stands for the
    broadcast dimensions; without ``->`` the output holds the letters seen once, sorted.

    The operands may also be given as one list. The gradient of each operand is an einsum
    of the output gradient with the other operands (see ``ops.Einsum``).
    """
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    tensors = [_as_tensor(o) for o in operands]
    terms, out = parse_einsum(equation, [t.shape for t in tensors])
    return ops.Einsum.apply(terms, out, *tensors)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b``, or the dims listed
    in ``dims = (dims_a, dims_b)``."""
    if isinstance(dims, _int | host.integer):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a = list(range(a.ndim - dims, a.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = (list(_dims_tuple(d)) for d in dims)
    dims_a = [normalize_dim(d, a.ndim) for d in dims_a]
    dims_b = [normalize_dim(d, b.ndim) for d in dims_b]
    if len(dims_a) != len(dims_b):
        raise RuntimeError(
            f"both dimension lists should have same length, got {dims_a} and {dims_b}"
        )
    for da, db in zip(dims_a, dims_b, strict=True):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in "
                f"dim {da} and second has size {b.shape[db]} in dim {db}"
            )
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    ta = [next(letters) for _ in range(a.ndim)]
    tb = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b, strict=True):
        tb[db] = ta[da]
    out = [c for i, c in enumerate(ta) if i not in dims_a]
    out += [c for i, c in enumerate(tb) if i not in dims_b]
    return ops.Einsum.apply(["".join(ta), "".join(tb)], "".join(out), a, b)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dim of both (a product for 0-d operands): shape
    input.shape[:-1] + other.shape[:-1]."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, dims=([-1], [-1]))


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2)."""
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


def chain_matmul(*matrices) -> Tensor:
    """The product of the matrices from the left (``linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], list | tuple):
        matrices = tuple(matrices[0])
    out = matrices[0]
    for m in matrices[1:]:
        out = mm(out, m)
    return out


# ====================================================================== Tensor methods
addmm_ = _inplace(addmm)
addmv_ = _inplace(addmv)
baddbmm_ = _inplace(baddbmm)
addbmm_ = _inplace(addbmm)
addr_ = _inplace(addr)

bind_methods(
    **{
        fn.__name__: fn
        for fn in [
            mm,
            matmul,
            dot,
            vdot,
            mv,
            outer,
            kron,
            cross,
            addmm,
            addmv,
            bmm,
            baddbmm,
            addbmm,
            addr,
            inner,
            addmm_,
            addmv_,
            baddbmm_,
            addbmm_,
            addr_,
        ]
    }
)
bind_methods(ger=ger)  # an alias: its __name__ is outer

__all__ = [
    "addbmm",
    "addmm",
    "addmv",
    "addr",
    "baddbmm",
    "bmm",
    "chain_matmul",
    "cross",
    "dot",
    "einsum",
    "ger",
    "inner",
    "kron",
    "matmul",
    "mm",
    "mv",
    "outer",
    "tensordot",
    "vdot",
]
