"""Shape, indexing, sorting, product and random functions, named and argued as in torch.

Layout:
    * each public function here takes the tensor first and is also bound as a Tensor
      method at the end of this file (``ax.roll(x, 1)`` and ``x.roll(1)``), where torch has
      the method;
    * the differentiable work is done by ops: most functions are compositions of existing
      ops (``Reshape``, ``Permute``, ``MatMul``, ``Gather``, ``IndexPut``); the new ones
      are ``Take`` (elements at flat indices: flip, roll, diagonal, unfold, ...),
      ``ScatterAdd`` and ``ScatterReduce`` in ``ops/scatter.py`` and ``Einsum`` in
      ``ops/linalg.py``; ``ops/sort.py`` computes the orders that ``sort``, ``topk``,
      ``median`` and ``mode`` gather their values with;
    * sections: products, shape and movement, sorting and selection, scatter and index
      writes, norms and distances, random sampling. ``axon.linalg`` holds the
      decompositions and ``ax.linalg.*`` norms.

Every ``dim`` goes through ``normalize_dim`` (torch's IndexError); bad shapes raise
torch's exception class with a message naming the shapes at fault.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from .. import backend as B
from ..backend import xp
from . import ops
from .grad_mode import grad_mode
from .ops import sort as _sort
from .ops.linalg import parse_einsum
from .tensor import (
    Tensor,
    _as_tensor,
    _data,
    _shape_arg,
    _wrap,
    bind_methods,
    normalize_dim,
)

_int = builtins.int
_sum = builtins.sum

# torch.return_types: tuples whose fields are also attributes (values, indices = ...)
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])


def _dims_of(dims, ndim: int) -> tuple:
    """An int or a sequence of dims, each through ``normalize_dim``."""
    if isinstance(dims, _int | np.integer):
        dims = (dims,)
    return tuple(normalize_dim(_int(d), ndim) for d in dims)


def _index_array(index, name: str):
    """An index argument (Tensor, list, array) as an int64 array; torch refuses floats."""
    arr = xp.asarray(_data(index))
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {arr.dtype}")
    return arr.astype(xp.int64, copy=False)


def _rearrange(t: Tensor, fn, unique: bool = True) -> Tensor:
    """``t``'s elements placed as ``fn`` places the elements of an array of their flat
    positions (``fn`` is a NumPy rearrangement: flip, roll, diagonal, ...)."""
    idx = fn(xp.arange(t.array.size).reshape(t.array.shape))
    return ops.Take.apply(t, xp.asarray(idx), unique)


def _assign(self: Tensor, out: Tensor) -> Tensor:
    """The in-place form of a functional op: ``self`` takes ``out``'s values.

    Without a graph to record the values are written into ``self``'s array; with one,
    ``self`` is rebound to ``out`` (and a leaf that requires grad refuses, as in torch)."""
    self._check_inplace(out)
    if grad_mode.enabled and (self.requires_grad or out.requires_grad):
        self._rebind(out)
    else:
        self.array[...] = out.array
    return self


def _rng(generator):
    """The NumPy generator to draw from: ``generator``'s own stream, else axon's global."""
    return B.rng() if generator is None else generator.rng


# ====================================================================== products
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


vdot = dot  # the conjugate is the identity on real tensors


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
            f"outer: expected 1-D tensors, got shapes {tuple(input.shape)} and "
            f"{tuple(vec2.shape)}"
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
    if isinstance(dims, _int | np.integer):
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


def _dims_tuple(d) -> tuple:
    return tuple(d) if isinstance(d, list | tuple) else (d,)


# ====================================================================== shape and movement
def _triangle(input: Tensor, diagonal: int, keep_lower: bool, name: str) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    n, m = input.shape[-2:]
    rows = xp.arange(n)[:, None]
    cols = xp.arange(m)[None, :]
    keep = cols - rows <= diagonal if keep_lower else cols - rows >= diagonal
    return ops.Where.apply(keep, input, _wrap(xp.zeros((), dtype=input.dtype)))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements with col - row <= diagonal)."""
    return _triangle(input, diagonal, True, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements with col - row >= diagonal)."""
    return _triangle(input, diagonal, False, "triu")


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements along ``dims`` (the flattened tensor when None), wrapping around."""
    if dims is None:
        return _rearrange(input, lambda i: xp.roll(i, shifts))
    shifts, dims = _dims_tuple(shifts), _dims_of(dims, input.ndim)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims: {len(dims)}")
    return _rearrange(input, lambda i: xp.roll(i, shifts, dims))


def flip(input: Tensor, *dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in torch)."""
    if len(dims) == 1 and isinstance(dims[0], list | tuple):
        dims = dims[0]
    dims = _dims_of(dims, input.ndim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"flip: dims {dims} has a dim appearing multiple times")
    if input.ndim == 0:
        return ops.Clone.apply(input)
    return _rearrange(input, lambda i: xp.flip(i, dims))


def fliplr(input: Tensor) -> Tensor:
    """Flip left-right: reverse dim 1 (needs at least 2 dims)."""
    if input.ndim < 2:
        raise RuntimeError(f"Input must be >= 2-d, got shape {tuple(input.shape)}")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Flip up-down: reverse dim 0 (needs at least 1 dim)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times, from the first of ``dims`` towards the second."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    d0, d1 = _dims_of(dims, input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    return _rearrange(input, lambda i: xp.rot90(i, k, (d0, d1)))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, shifted by ``offset``; it becomes the last
    dimension of the result."""
    d1, d2 = normalize_dim(dim1, input.ndim), normalize_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _rearrange(input, lambda i: xp.diagonal(i, offset, d1, d2))


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2`` of the result) whose ``offset`` diagonal holds
    the last dimension of ``input``; zero elsewhere."""
    ndim = input.ndim + 1
    d1, d2 = normalize_dim(dim1, ndim), normalize_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1]
    m = n + abs(offset)
    # positions of the result as flat indices into [input.flatten(), 0]: the last is the 0
    idx = xp.full(tuple(input.shape[:-1]) + (m, m), input.array.size, dtype=xp.int64)
    rows = xp.arange(n) + max(-offset, 0)
    idx[..., rows, rows + offset] = xp.arange(input.array.size).reshape(input.shape)
    idx = xp.moveaxis(idx, (-2, -1), (d1, d2)) if (d1, d2) != (ndim - 2, ndim - 1) else idx
    padded = ops.Cat.apply(0, input.reshape(-1), _wrap(xp.zeros(1, dtype=input.dtype)))
    return ops.Take.apply(padded, xp.ascontiguousarray(idx), False)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor to the square matrix with it on the ``diagonal``; a 2-D tensor to its
    ``diagonal`` as a vector."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of ``size`` elements along ``dimension``, ``step`` apart: that dim
    counts the windows and a new last dim holds each window (``Tensor.unfold``)."""
    d = normalize_dim(dimension, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")

    def windows(i):
        if i.ndim == 0:
            return i.reshape(1)
        w = xp.lib.stride_tricks.sliding_window_view(i, size, axis=d)
        return w[(slice(None),) * d + (slice(None, None, step),)]

    return _rearrange(input, windows, unique=step >= size)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along
    ``dim`` (the flattened tensor when None). ``repeat_interleave(counts)`` alone repeats
    ``arange(len(counts))``."""
    if repeats is None:  # torch.repeat_interleave(repeats)
        counts = _index_array(input, "repeat_interleave")
        return _wrap(xp.repeat(xp.arange(len(counts), dtype=xp.int64), counts))
    if isinstance(repeats, Tensor | list | tuple | np.ndarray):
        reps = _index_array(repeats, "repeat_interleave")
        if reps.ndim == 0:
            reps = _int(reps)
    else:
        reps = _int(repeats)
    if dim is None:
        input, d = input.reshape(-1), 0
    else:
        d = normalize_dim(dim, input.ndim)
    if not isinstance(reps, _int) and reps.shape[0] not in (1, input.shape[d]):
        raise RuntimeError(
            f"repeats must have the same size as input along dim, but got repeats.size(0) = "
            f"{reps.shape[0]} and input.size({d}) = {input.shape[d]}"
        )
    if not isinstance(reps, _int) and (reps < 0).any() or isinstance(reps, _int) and reps < 0:
        raise RuntimeError("repeats can not be negative")
    return _rearrange(input, lambda i: xp.repeat(i, reps, axis=d), unique=False)


def tile(input: Tensor, dims) -> Tensor:
    """Repeat the whole tensor ``dims[i]`` times along each dim; fewer reps than dims
    count from the last dim (unlike ``repeat``)."""
    dims = _shape_arg((dims,)) if not isinstance(dims, _int) else (dims,)
    dims = (1,) * (input.ndim - len(dims)) + tuple(dims)
    return ops.Repeat.apply(input, dims)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors: ``indexing="ij"`` (torch's default) gives
    result[k] varying along dim k; ``"xy"`` swaps the first two, as NumPy does."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got shape {tuple(t.shape)}")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    grids = []
    for k, t in enumerate(flat):
        view = [1] * len(flat)
        view[k] = shape[k]
        grids.append(ops.Expand.apply(t.reshape(view), shape))
    if swap:  # the grids of the swapped inputs, swapped back: (len(y), len(x), ...)
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order."""
    src, dst = _dims_of(source, input.ndim), _dims_of(destination, input.ndim)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in source {list(src)} or destination "
                           f"{list(dst)}")
    order = [d for d in range(input.ndim) if d not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return ops.Permute.apply(input, tuple(order))


moveaxis = movedim


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Swap two dims (``transpose``)."""
    d0, d1 = normalize_dim(axis0, input.ndim), normalize_dim(axis1, input.ndim)
    return input.transpose(d0, d1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (``transpose``)."""
    return swapaxes(input, dim0, dim1)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The ``length`` elements from ``start`` along ``dim`` (a view, as in torch)."""
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d]
    start = _int(_data(start))
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but "
                         f"got {start})")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    idx = [slice(None)] * input.ndim
    idx[d] = slice(start, start + length)
    return input[tuple(idx)]


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the
    listed sizes (which must sum to the dim's size)."""
    d = normalize_dim(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, _int | np.integer):
        size = _int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if size else [0]
    else:
        sizes = [_int(s) for s in split_size_or_sections]
        if _sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """``sections`` nearly equal pieces (the first ``n % sections`` one longer), or the
    pieces between the listed indices, along ``dim``."""
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d]
    ios = _data(indices_or_sections)
    if isinstance(ios, np.ndarray) and ios.ndim == 0:
        ios = _int(ios)
    if isinstance(ios, _int | np.integer):
        k = _int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        bounds = [i * q + min(i, r) for i in range(k + 1)]
    else:
        bounds = [0] + [min(max(_int(i) % (n + 1) if i < 0 else _int(i), 0), n)
                        for i in ios] + [n]
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        pieces.append(narrow(input, d, min(lo, n), max(hi - lo, 0)))
    return tuple(pieces)


def _even_split(name: str, input: Tensor, sections, dim: int) -> tuple:
    if isinstance(sections, _int) and input.shape[dim] % sections:
        raise RuntimeError(
            f"torch.{name} attempted to split along dimension {dim}, but the size of the "
            f"dimension {input.shape[dim]} is not divisible by the split_size {sections}!"
        )
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dim 1 (dim 0 for a 1-D tensor); an int must divide the size."""
    if input.ndim < 1:
        raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension")
    return _even_split("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dim 0 (needs at least 2 dims); an int must divide the size."""
    if input.ndim < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but "
                           f"got a tensor with {input.ndim} dimensions!")
    return _even_split("vsplit", input, indices_or_sections, 0)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dim 2 (needs at least 3 dims); an int must divide the size."""
    if input.ndim < 3:
        raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but "
                           f"got a tensor with {input.ndim} dimensions!")
    return _even_split("dsplit", input, indices_or_sections, 2)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, each without that dim."""
    d = normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return tuple(select(input, d, i) for i in range(input.shape[d]))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, without that dim."""
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d]
    index = _int(_data(index))
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{tuple(input.shape)} at dimension {d}")
    idx = [slice(None)] * input.ndim
    idx[d] = index
    return input[tuple(idx)]


def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The slices at the listed indices along ``dim`` (a copy)."""
    d = normalize_dim(dim, input.ndim)
    idx_arr = _index_array(index, "index_select")
    if idx_arr.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    _check_bounds(idx_arr, input.shape[d] if input.ndim else 1, d)
    idx = [slice(None)] * input.ndim
    idx[d] = idx_arr.reshape(-1)
    return input[tuple(idx)] if input.ndim else input.reshape(1)[idx_arr.reshape(-1)]


def _check_bounds(index, n: int, dim: int) -> None:
    if index.size and (index.max() >= n or index.min() < -n):
        bad = index.max() if index.max() >= n else index.min()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {n}")


def _stack_inputs(tensors) -> list:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("expected a non-empty list of Tensors")
    return [_as_tensor(t) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors (a list, tuple or any iterable) along an existing dimension."""
    tensors = _stack_inputs(tensors)
    d = normalize_dim(dim, max(t.ndim for t in tensors))
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    return ops.Cat.apply(d, *kept)  # torch skips legacy empty (0,) tensors


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dimension ``dim``."""
    tensors = _stack_inputs(tensors)
    d = normalize_dim(dim, tensors[0].ndim + 1)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                           f"{[tuple(t.shape) for t in tensors]}")
    return ops.Stack.apply(d, *tensors)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a 0-d tensor becomes shape (1,))."""
    return _atleast(tensors, lambda t: t.reshape(1) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions: (n,) becomes (1, n)."""
    return _atleast(tensors, lambda t: t.reshape((1,) * (2 - t.ndim) + tuple(t.shape))
                    if t.ndim < 2 else t)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions: (n,) becomes (1, n, 1), (n, m) becomes
    (n, m, 1), as NumPy."""
    def up(t):
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        if t.ndim == 2:
            return t.unsqueeze(-1)
        return t
    return _atleast(tensors, up)


def _atleast(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        return tuple(fn(_as_tensor(t)) for t in tensors[0])
    if len(tensors) == 1:
        return fn(_as_tensor(tensors[0]))
    return tuple(fn(_as_tensor(t)) for t in tensors)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [atleast_1d(t) for t in _stack_inputs(tensors)]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, 1-D tensors becoming rows."""
    return cat([atleast_2d(t) for t in _stack_inputs(tensors)], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Join along dim 2, after making each tensor at least 3-D."""
    return cat([atleast_3d(t) for t in _stack_inputs(tensors)], 2)


def column_stack(tensors) -> Tensor:
    """Join along dim 1, 0-d and 1-D tensors becoming columns."""
    tensors = [t.reshape(-1, 1) if t.ndim < 2 else t for t in _stack_inputs(tensors)]
    return cat(tensors, 1)


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor."""
    return input.reshape(-1)


def broadcast_shapes(*shapes) -> tuple:
    """The shape the given shapes broadcast to; RuntimeError naming them when they can't."""
    try:
        return tuple(np.broadcast_shapes(*[(s,) if isinstance(s, _int) else tuple(s)
                                           for s in shapes]))
    except ValueError:
        raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single shape: "
                           f"{[tuple(s) if not isinstance(s, _int) else (s,) for s in shapes]}"
                           ) from None


def broadcast_to(input: Tensor, size) -> Tensor:
    """``input`` expanded to ``size`` (-1 keeps a dim), as ``Tensor.expand``."""
    return input.expand(*_shape_arg((size,)))


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t if tuple(t.shape) == shape else ops.Expand.apply(t, shape)
                 for t in tensors)


# ====================================================================== sorting and selection
def _gather_at(input: Tensor, idx, d: int, keepdim: bool, result):
    """(values, indices) of ``input`` at ``idx`` along ``d``: values through ``Gather``, so
    the gradient flows back to exactly the elements picked."""
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
    d = normalize_dim(dim, input.ndim)
    return _wrap(_sort.argsort(input.array, d, descending, stable).astype(xp.int64))


def msort(input: Tensor) -> Tensor:
    """The values sorted along dim 0."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``, in
    sorted order."""
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: k = {k} for dimension {d} of "
                           f"size {n}")
    idx = _sort.argsort(input.array, d, descending=largest)
    idx = xp.take(idx, xp.arange(k), axis=d) if input.ndim else idx
    return _gather_at(input, idx, d, True, TopkResult)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the ``k``-th smallest element (counting from 1) along ``dim``."""
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}: "
                           f"k = {k}, size {n}")
    if input.ndim == 0:
        return _gather_at(input, None, 0, keepdim, KthvalueResult)
    return _gather_at(input, _sort.kth_indices(input.array, k - 1, d), d, keepdim,
                      KthvalueResult)


def _median(input: Tensor, dim, keepdim: bool, ignore_nan: bool, result):
    if input.array.size == 0 and dim is None:
        raise RuntimeError("median() input tensor cannot be empty")
    if dim is None:  # the value only, over all elements
        flat = input.reshape(-1)
        idx = _sort.median_indices(flat.array, 0, ignore_nan)
        return ops.Gather.apply(flat, 0, idx).reshape(())
    d = normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        return _gather_at(input, None, 0, keepdim, result)
    return _gather_at(input, _sort.median_indices(input.array, d, ignore_nan), d, keepdim,
                      result)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (the smaller of the two middle values for an even count); with
    ``dim``, (values, indices) along it. NaN anywhere makes the median NaN."""
    return _median(input, dim, keepdim, False, MedianResult)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where every value is NaN)."""
    return _median(input, dim, keepdim, True,
                   namedtuple("nanmedian", ["values", "indices"]))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the most frequent value along ``dim``; ties go to the smallest
    value, and the index is its last occurrence."""
    d = normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        return _gather_at(input, None, 0, keepdim, ModeResult)
    return _gather_at(input, _sort.mode_indices(input.array, d), d, keepdim, ModeResult)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct values (sorted), or distinct slices along ``dim``; optionally where each
    element went (``inverse``) and how often each value occurs (``counts``)."""
    axis = None if dim is None else normalize_dim(dim, input.ndim)
    values, inverse, counts = xp.unique(input.array, return_inverse=True, return_counts=True,
                                        axis=axis)
    out = [_wrap(values)]
    if return_inverse:
        shape = input.shape if axis is None else (input.shape[axis],)
        out.append(_wrap(inverse.reshape(shape).astype(xp.int64)))
    if return_counts:
        out.append(_wrap(counts.astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Collapse runs of equal consecutive values (or slices along ``dim``) to one."""
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
    m = xp.asarray(_data(mask))
    if m.dtype != bool:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {m.dtype}")
    shape = broadcast_shapes(input.shape, m.shape)
    full = input if tuple(input.shape) == shape else ops.Expand.apply(input, shape)
    return ops.Index.apply(full, xp.broadcast_to(m, shape))


def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter=None) -> Tensor:
    """For each value, the index where it would be inserted to keep each row of
    ``sorted_sequence`` sorted: before equal values (``right=False``) or after them."""
    seq = xp.asarray(_data(sorted_sequence))
    vals = xp.asarray(_data(input))
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
        out = xp.stack([xp.searchsorted(r, v, side=how) for r, v in zip(rows, v_rows,
                                                                         strict=True)])
        out = out.reshape(vals.shape)
    return _wrap(xp.asarray(out, dtype=xp.int32 if out_int32 else xp.int64))


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value among 1-D ``boundaries``: i with boundaries[i-1] < x <=
    boundaries[i] (``right=False``), or boundaries[i-1] <= x < boundaries[i]."""
    b = xp.asarray(_data(boundaries))
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are
    0); values outside are ignored."""
    a = input.array
    if a.dtype.kind != "f":
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the "
                           f"same dtype, got {a.dtype}")
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
    a = xp.asarray(_data(input))
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got "
                           f"shape {a.shape} of {a.dtype}")
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _wrap(xp.bincount(a, minlength=minlength).astype(xp.int64))
    w = xp.asarray(_data(weights))
    out = xp.bincount(a, weights=w, minlength=minlength)
    return _wrap(out.astype(w.dtype if w.dtype.kind == "f" else xp.float64))


# ====================================================================== scatter and index writes
def _scatter_where(name: str, input: Tensor, dim: int, index, src_shape=None):
    """(d, index array, position tuple) for writing along ``dim`` at ``index``, after
    torch's checks: int64 index with input's number of dims, no larger than ``src`` and
    no larger than ``input`` off ``dim``, every index within the dim."""
    d = normalize_dim(dim, input.ndim)
    idx = _index_array(index, name)
    if idx.ndim != max(input.ndim, 1) and idx.size:
        raise RuntimeError(
            f"{name}(): Index tensor must have the same number of dimensions as self tensor "
            f"(index shape {idx.shape}, self shape {tuple(input.shape)})"
        )
    shape = input.shape or (1,)
    too_big = any(i > s for k, (i, s) in enumerate(zip(idx.shape, shape, strict=True))
                  if k != d)
    if src_shape is not None and src_shape:
        too_big |= any(i > s for i, s in zip(idx.shape, src_shape, strict=True))
    if too_big:
        raise RuntimeError(
            f"{name}(): Expected index {list(idx.shape)} to be smaller than self "
            f"{list(shape)} apart from dimension {d}"
            + (f" and to be smaller size than src {list(src_shape)}" if src_shape else "")
        )
    _check_bounds(idx, shape[d], d)
    where = list(xp.indices(idx.shape, sparse=True))
    where[d] = idx % shape[d]
    return d, idx, tuple(where)


def _src_for(src, idx_shape, like: Tensor) -> Tensor:
    """``src`` cut to the index's shape (torch reads only that corner), or a scalar value
    as a 0-d tensor of ``like``'s dtype."""
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
    if input.ndim == 0:
        input = input.reshape(1)
    s = _src_for(src, idx.shape, input)
    if reduce is not None:
        kinds = {"add": "sum", "multiply": "prod"}
        if reduce not in kinds:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        s = ops.Expand.apply(s, idx.shape) if tuple(s.shape) != idx.shape else s
        return ops.ScatterReduce.apply(input, where, s, kinds[reduce], True)
    return ops.IndexPut.apply(input, where, s)


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add)."""
    d, idx, where = _scatter_where("scatter_add", input, dim, index, tuple(src.shape))
    return ops.ScatterAdd.apply(input, where, _src_for(src, idx.shape, input), 1)


def scatter_reduce(input: Tensor, dim: int, index, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``input`` where each position combines the ``src`` values sent to it by
    ``index`` with ``reduce`` ("sum", "prod", "mean", "amax", "amin"), with its own value
    too when ``include_self``."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                           f"got {reduce}")
    d, idx, where = _scatter_where("scatter_reduce", input, dim, index, tuple(src.shape))
    return ops.ScatterReduce.apply(input, where, _src_for(src, idx.shape, input), reduce,
                                   include_self)


def _index_where(name: str, input: Tensor, dim: int, index, source_shape=None):
    """(d, positions) to write slices of ``input`` along ``dim`` at the 1-D ``index``."""
    d = normalize_dim(dim, input.ndim)
    idx = _index_array(index, name).reshape(-1)
    n = input.shape[d] if input.ndim else 1
    _check_bounds(idx, n, d)
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
    where = list(xp.indices(tuple(input.shape[:d]) + (idx.size,) + tuple(input.shape[d + 1:]),
                            sparse=True)) if input.ndim else [None]
    where[d] = (idx % n).reshape(view)
    return d, tuple(where)


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source[i]`` added to slice ``index[i]`` along
    ``dim`` (repeated indices add up)."""
    d, where = _index_where("index_add", input, dim, index, tuple(source.shape))
    return ops.ScatterAdd.apply(input, where, source, alpha)


def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """A copy of ``input`` with slice ``index[i]`` along ``dim`` replaced by
    ``source[i]``."""
    d, where = _index_where("index_copy", input, dim, index, tuple(source.shape))
    return ops.IndexPut.apply(input, where, source)


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value``."""
    d, where = _index_where("index_fill", input, dim, index)
    v = value if isinstance(value, Tensor) else _wrap(xp.asarray(value, dtype=input.dtype))
    if v.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {v.ndim} dimension(s).")
    return ops.IndexPut.apply(input, where, v)


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``out[indices] = values`` (``indices`` a tuple of index
    tensors); with ``accumulate`` the values are added, repeats adding up."""
    where = tuple(xp.asarray(_data(i)) for i in indices)
    v = _as_tensor(values, input)
    if accumulate:
        return ops.ScatterAdd.apply(input, where, v, 1)
    return ops.IndexPut.apply(input, where, v)


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """A copy of ``input`` with ``value`` where ``mask`` (broadcast) is true."""
    m = xp.asarray(_data(mask))
    if m.dtype != bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                           f"dtype {m.dtype}")
    v = value if isinstance(value, Tensor) else _wrap(xp.asarray(value, dtype=input.dtype))
    if v.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {v.ndim} dimension(s).")
    return ops.Where.apply(m, v, input)


def masked_scatter(input: Tensor, mask, source: Tensor) -> Tensor:
    """A copy of ``input`` whose elements where ``mask`` is true are, in order, the first
    elements of ``source``."""
    m = xp.broadcast_to(xp.asarray(_data(mask)), input.shape)
    count = _int(m.sum())
    if source.array.size < count:
        raise RuntimeError(f"masked_scatter: expected source to have at least {count} "
                           f"elements (the mask's true count), got {source.array.size}")
    return ops.IndexPut.apply(input, m, source.reshape(-1)[:count])


def take(input: Tensor, index) -> Tensor:
    """The elements at ``index`` of the flattened input, shaped like ``index``."""
    idx = _index_array(index, "take")
    n = input.array.size
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    return ops.Take.apply(input, idx % max(n, 1), False)


def take_along_dim(input: Tensor, indices, dim: int | None = None) -> Tensor:
    """Values at ``indices`` along ``dim`` (of the flattened input when None), with input
    and indices broadcast against each other off ``dim``."""
    idx = _index_array(indices, "take_along_dim")
    if dim is None:
        return take(input, idx.reshape(-1))
    d = normalize_dim(dim, input.ndim)
    if idx.ndim != input.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {idx.ndim} dimensions for indices")
    shape = list(broadcast_shapes(tuple(s if k != d else 1 for k, s in enumerate(input.shape)),
                                  tuple(s if k != d else 1 for k, s in enumerate(idx.shape))))
    in_shape, idx_shape = list(shape), list(shape)
    in_shape[d], idx_shape[d] = input.shape[d], idx.shape[d]
    full = input if list(input.shape) == in_shape else ops.Expand.apply(input, tuple(in_shape))
    _check_bounds(idx, input.shape[d], d)
    return ops.Gather.apply(full, d, xp.broadcast_to(idx, idx_shape) % input.shape[d])


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = input[i][index[i][j]] along ``dim`` (the index may be smaller than the
    input off ``dim``)."""
    d = normalize_dim(dim, input.ndim)
    idx = _index_array(index, "gather")
    if idx.ndim != max(input.ndim, 1):
        raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions "
                           f"as input tensor (index shape {idx.shape}, input shape "
                           f"{tuple(input.shape)})")
    for k, (i, s) in enumerate(zip(idx.shape, input.shape, strict=True)):
        if k != d and i > s:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{list(idx.shape)} to be smaller than self "
                               f"{list(input.shape)} apart from dimension {d}")
    _check_bounds(idx, input.shape[d], d)
    return ops.Gather.apply(input, d, idx % max(input.shape[d], 1))


def _inplace(fn):
    """The in-place method ``x.fn_(...)`` of a functional ``fn``: ``x`` takes the result."""
    def method(self, *args, **kwargs):
        return _assign(self, fn(self, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``: this tensor takes the result."
    return method


# ====================================================================== norms and distances
def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements when None); ord inf is max |x|,
    -inf min |x|, 0 the count of non-zeros. Ties of inf/-inf share the gradient."""
    if dtype is not None:
        x = x.type(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {x.dtype}")
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


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """torch.norm: ``"fro"`` (the 2-norm of the elements), ``"nuc"`` (the sum of singular
    values, over two dims), or a number: the vector p-norm over ``dim``."""
    if p is None:
        p = "fro"
    if p == "nuc":
        from .. import linalg

        return linalg.matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim,
                                  dtype=dtype)
    if p == "fro":
        if dim is not None and len(_dims_tuple(dim)) > 2:
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
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, "
                           f"X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    return vector_norm(diff, p, -1)


# ====================================================================== random sampling
def _float_dtype(*tensors):
    for t in tensors:
        if isinstance(t, Tensor) and t.dtype.kind == "f":
            return t.dtype
    return B.get_default_dtype()


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples: tensor ``mean`` and/or ``std`` give one sample per element
    (broadcast); floats need ``size``. Drawn from ``generator`` or axon's global stream."""
    m, s = _data(mean), _data(std)
    if np.any(np.asarray(s) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {np.min(s)}")
    if size is None:
        if not (isinstance(mean, Tensor) or isinstance(std, Tensor)):
            raise TypeError("normal() received an invalid combination of arguments: give a "
                            "tensor mean or std, or a size")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    else:
        shape = _shape_arg((size,))
    dt = B.to_dtype(dtype) or _float_dtype(mean, std)
    out = (m + s * _rng(generator).standard_normal(shape)).astype(dt)
    return _wrap(out, requires_grad)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Category indices drawn with probability proportional to the (non-negative, not all
    zero) weights of each row of a 1-D or 2-D ``input``.

    With replacement: inverse-CDF sampling; a zero-weight category has an empty interval,
    so it is never drawn. Without: the ``num_samples`` smallest exponential keys E / w
    (the Gumbel top-k trick); zero weights get infinite keys and come last.
    """
    p = xp.asarray(input.array, dtype=xp.float64)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got shape {p.shape}")
    if not xp.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    n = rows.shape[1]
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples, got {num_samples}")
    if not replacement and num_samples > n:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (n_sample {num_samples}, {n} categories)")
    rng = _rng(generator)
    if replacement:
        cdf = xp.cumsum(rows, axis=1)
        u = rng.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        out = xp.stack([xp.searchsorted(c, v, side="right") for c, v in zip(cdf, u,
                                                                             strict=True)])
    else:
        with xp.errstate(divide="ignore"):
            keys = rng.exponential(size=rows.shape) / rows
        out = xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    return _wrap(out.reshape(p.shape[:-1] + (num_samples,)).astype(xp.int64))


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or the number ``p``) per element, else 0; the dtype
    of ``input``."""
    prob = input.array if p is None else xp.full(input.shape, p, dtype=xp.float64)
    if (prob < 0).any() or (prob > 1).any() or xp.isnan(prob).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    draws = _rng(generator).random(input.shape) < prob
    return _wrap(draws.astype(input.dtype))


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 (probability ``p``, a number or a tensor) or 0, in place."""
    prob = _data(p)
    if np.any(np.asarray(prob) < 0) or np.any(np.asarray(prob) > 1):
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    self.array[...] = _rng(generator).random(self.shape) < prob
    return self


def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None) -> Tensor:
    """Fill with integers uniform in [from, to) (``random_(to)`` for [0, to); without
    bounds, [0, 2**mantissa] for floats, the dtype's range for integers), in place."""
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        dt = self.dtype
        to = 2 ** (np.finfo(dt).nmant + 1) + 1 if dt.kind == "f" else np.iinfo(dt).max
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={from_} >= to={to}")
    self.array[...] = _rng(generator).integers(from_, to, size=self.shape)
    return self


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with exponential samples of rate ``lambd`` (mean 1 / lambd), in place."""
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    self.array[...] = _rng(generator).exponential(1.0 / lambd, size=self.shape)
    return self


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    self.array[...] = _rng(generator).geometric(p, size=self.shape)
    return self



# ====================================================================== Tensor methods
tril_ = _inplace(tril)
triu_ = _inplace(triu)
scatter_ = _inplace(scatter)
scatter_add_ = _inplace(scatter_add)
scatter_reduce_ = _inplace(scatter_reduce)
index_add_ = _inplace(index_add)
index_copy_ = _inplace(index_copy)
index_fill_ = _inplace(index_fill)
index_put_ = _inplace(index_put)
masked_fill_ = _inplace(masked_fill)
masked_scatter_ = _inplace(masked_scatter)

_METHODS = [
    mm, matmul, dot, vdot, mv, outer, ger, kron, cross, addmm, addmv, bmm, baddbmm, addbmm,
    tril, triu, roll, flip, fliplr, flipud, rot90, diagonal, diag_embed, diag, trace, unfold,
    repeat_interleave, tile, movedim, moveaxis, swapaxes, swapdims, narrow, split,
    tensor_split, hsplit, vsplit, dsplit, unbind, select, index_select, ravel, broadcast_to,
    sort, argsort, msort, topk, kthvalue, median, nanmedian, mode, unique, unique_consecutive,
    nonzero, argwhere, masked_select, histc, bincount,
    scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill, index_put,
    masked_fill, masked_scatter, take, take_along_dim, gather, norm, dist,
    bernoulli, bernoulli_, random_, exponential_, geometric_, multinomial,
    tril_, triu_, scatter_, scatter_add_, scatter_reduce_, index_add_, index_copy_,
    index_fill_, index_put_, masked_fill_, masked_scatter_,
]
bind_methods(**{fn.__name__: fn for fn in _METHODS})
bind_methods(vdot=vdot, ger=ger, moveaxis=moveaxis)  # aliases: their __name__ is another's

__all__ = [
    "addbmm", "addmm", "addmv", "argsort", "argwhere", "atleast_1d", "atleast_2d",
    "atleast_3d", "baddbmm", "bernoulli", "bincount", "bmm", "broadcast_shapes",
    "broadcast_tensors", "broadcast_to", "bucketize", "cat", "cdist", "column_stack",
    "cross", "diag", "diag_embed", "diagonal", "dist", "dot", "dsplit", "dstack", "einsum",
    "fliplr", "flipud", "ger", "histc", "hsplit", "hstack", "index_add",
    "index_copy", "index_fill", "index_put", "index_select", "kron", "kthvalue",
    "masked_fill", "masked_scatter", "masked_select", "matmul", "median", "meshgrid", "mm",
    "mode", "moveaxis", "movedim", "msort", "multinomial", "mv", "nanmedian", "narrow",
    "nonzero", "normal", "outer", "ravel", "repeat_interleave", "roll",
    "rot90", "row_stack", "scatter", "scatter_add", "scatter_reduce", "searchsorted",
    "select", "sort", "stack", "swapaxes", "swapdims", "take", "take_along_dim",
    "tensor_split", "tensordot", "tile", "topk", "trace", "tril", "triu", "unique",
    "unique_consecutive", "vdot", "vsplit", "vstack",
]
