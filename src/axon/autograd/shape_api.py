"""Shape and movement functions, named and argued as in torch; the shared helpers of the
torch-API modules.

Layout of the torch API:
    * ``shape_api`` (this file): shape and movement (``tril`` ... ``broadcast_tensors``,
      ``block_diag``, the ``*_scatter`` writes of a slice);
    * ``product_api``: products (``mm`` ... ``einsum``, ``tensordot``, ``kron``, ``cross``);
    * ``select_api``: sorting and selection (``sort``, ``topk``, ``median``, ``unique``,
      ...) and scatter and index writes (``scatter``, ``index_add``, ``take``, ...);
    * ``random_api``: sampling (``normal``, ``multinomial``, ``bernoulli``, in-place fills);
    * ``axon.linalg``: norms and distances, inverses, solves and decompositions.
Each public function takes the tensor first and is also bound as a Tensor method at the
end of its module (``ax.roll(x, 1)`` and ``x.roll(1)``), where torch has the method.

The differentiable work is done by ops: most functions are compositions of existing ops
(``Reshape``, ``Permute``, ``MatMul``, ``Gather``, ``IndexPut``); the new ones are, in
``ops/scatter.py``, ``Take`` (elements at flat indices: diagonal, repeat_interleave,
as_strided, take), ``Rearrange`` (flip, roll, rot90), ``Unfold``, ``ScatterAdd`` and
``ScatterReduce``; ``Einsum`` in ``ops/product.py``; ``EuclideanDist`` and the
decompositions in ``ops/linalg.py``; ``ops/sort.py`` computes the orders that ``sort``,
``topk``, ``median`` and ``mode`` gather their values with.

Every ``dim`` goes through ``normalize_dim`` (torch's IndexError); bad shapes raise
torch's exception class with a message naming the shapes at fault.
"""

from __future__ import annotations

import builtins
import functools
import itertools

from .. import backend as B
from ..backend import host
from . import ops
from .grad_mode import grad_mode
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


def _dims_of(dims, ndim: int) -> tuple:
    """An int or a sequence of dims, each through ``normalize_dim``."""
    if isinstance(dims, _int | host.integer):
        dims = (dims,)
    return tuple(normalize_dim(_int(d), ndim) for d in dims)


def _index_array(index, name: str):
    """An index argument (Tensor, list, array) as an int64 array; torch refuses floats."""
    xp = B.namespace(_data(index))
    arr = xp.asarray(_data(index))  # on the index's device
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {arr.dtype}")
    return arr.astype(xp.int64, copy=False)


def _rearrange(t: Tensor, fn, unique: bool = True) -> Tensor:
    """``t``'s elements placed as ``fn`` places the elements of an array of their flat
    positions (``fn`` is a NumPy rearrangement: flip, roll, diagonal, ...)."""
    xp = B.namespace(_data(t))
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


def _inplace(fn):
    """The in-place method ``x.fn_(...)`` of a functional ``fn``: ``x`` takes the result."""

    def method(self, *args, **kwargs):
        return _assign(self, fn(self, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``: this tensor takes the result."
    return method


def _dims_tuple(d) -> tuple:
    return tuple(d) if isinstance(d, list | tuple) else (d,)


# ====================================================================== shape and movement
def _triangle(input: Tensor, diagonal: int, keep_lower: bool, name: str) -> Tensor:
    xp = B.namespace(_data(input))
    if input.ndim < 2:
        raise RuntimeError(
            f"{name}: input tensor must have at least 2 dimensions, got shape {tuple(input.shape)}"
        )
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
    xp = B.namespace(_data(input))
    if dims is None:
        if isinstance(shifts, list | tuple) and len(shifts) != 1:
            raise RuntimeError(
                f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0"
            )
        shift = _int(shifts[0] if isinstance(shifts, list | tuple) else shifts)
        return ops.Rearrange.apply(input, lambda a: xp.roll(a, shift), lambda g: xp.roll(g, -shift))
    shifts, dims = _dims_tuple(shifts), _dims_of(dims, input.ndim)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(dims)}"
        )
    back = tuple(-_int(s) for s in shifts)
    return ops.Rearrange.apply(
        input, lambda a: xp.roll(a, shifts, dims), lambda g: xp.roll(g, back, dims)
    )


def flip(input: Tensor, *args, dims=None) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in torch): ``flip(x, [0,
    1])``, ``flip(x, dims=(0,))`` or ``x.flip(0, 1)``."""
    xp = B.namespace(_data(input))
    if dims is None:
        dims = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
    dims = _dims_of(dims, input.ndim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"flip: dims {dims} has a dim appearing multiple times")
    if input.ndim == 0:
        return ops.Clone.apply(input)
    return ops.Rearrange.apply(input, lambda a: xp.flip(a, dims), lambda g: xp.flip(g, dims))


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
    xp = B.namespace(_data(input))
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    d0, d1 = _dims_of(dims, input.ndim)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    return ops.Rearrange.apply(
        input, lambda a: xp.rot90(a, k, (d0, d1)), lambda g: xp.rot90(g, -k, (d0, d1))
    )


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, shifted by ``offset``; it becomes the last
    dimension of the result."""
    xp = B.namespace(_data(input))
    d1, d2 = normalize_dim(dim1, input.ndim), normalize_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _rearrange(input, lambda i: xp.diagonal(i, offset, d1, d2))


_diagonal_of = diagonal  # for diag, whose argument named ``diagonal`` hides the function


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2`` of the result) whose ``offset`` diagonal holds
    the last dimension of ``input``; zero elsewhere."""
    xp = B.namespace(_data(input))
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
        return _diagonal_of(input, diagonal)
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

    if input.ndim == 0:
        return input.reshape(1)
    return ops.Unfold.apply(input, d, size, step)


def repeat_interleave(
    input: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along
    ``dim`` (the flattened tensor when None). ``repeat_interleave(counts)`` alone repeats
    ``arange(len(counts))``."""
    xp = B.namespace(_data(input))
    if repeats is None:  # torch.repeat_interleave(repeats)
        counts = _index_array(input, "repeat_interleave")
        return _wrap(xp.repeat(xp.arange(len(counts), dtype=xp.int64), counts))
    if isinstance(repeats, Tensor | list | tuple) or B.of(repeats) is not None:
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
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                f"but got shape {tuple(t.shape)}"
            )
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
        raise RuntimeError(
            f"movedim: repeated dim in source {list(src)} or destination {list(dst)}"
        )
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
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
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
    if isinstance(split_size_or_sections, _int | host.integer):
        size = _int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise RuntimeError(
                f"split expects split_size be non-negative, but got split_size={size}"
            )
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
    if B.of(ios) is not None and ios.ndim == 0:
        ios = _int(ios)
    if isinstance(ios, _int | host.integer):
        k = _int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        bounds = [i * q + min(i, r) for i in range(k + 1)]
    else:
        bounds = [0] + [min(max(_int(i) % (n + 1) if i < 0 else _int(i), 0), n) for i in ios] + [n]
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
        raise RuntimeError(
            f"torch.vsplit requires a tensor with at least 2 dimension, but "
            f"got a tensor with {input.ndim} dimensions!"
        )
    return _even_split("vsplit", input, indices_or_sections, 0)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dim 2 (needs at least 3 dims); an int must divide the size."""
    if input.ndim < 3:
        raise RuntimeError(
            f"torch.dsplit requires a tensor with at least 3 dimension, but "
            f"got a tensor with {input.ndim} dimensions!"
        )
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
        raise IndexError(
            f"select(): index {index} out of range for tensor of size "
            f"{tuple(input.shape)} at dimension {d}"
        )
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


def _check_bounds(
    index, n: int, dim: int, negative: bool = False, error: type = RuntimeError, name: str = ""
) -> None:
    """torch's check that every index lies in [0, n) (in [-n, n) where ``negative``)."""
    low = -n if negative else 0
    if index.size and (index.max() >= n or index.min() < low):
        bad = index.max() if index.max() >= n else index.min()
        raise error(f"{name}index {bad} is out of bounds for dimension {dim} with size {n}")


def _stack_inputs(tensors) -> list:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("expected a non-empty list of Tensors")
    return [_as_tensor(t) for t in tensors]


def _promoted(tensors: list) -> list:
    """The tensors in their common dtype by torch's promotion (int64 with float32 gives
    float32, where NumPy would give float64); casts to a float record the graph."""
    first = tensors[0].array.dtype
    if builtins.all(t.array.dtype == first for t in tensors):
        return tensors
    dt = functools.reduce(B.promote_types, (t.array.dtype for t in tensors))
    return [t if t.array.dtype == dt else t.type(dt) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors (a list, tuple or any iterable) along an existing dimension, in their
    common dtype (torch's promotion)."""
    tensors = _promoted(_stack_inputs(tensors))
    d = normalize_dim(dim, max(t.ndim for t in tensors))
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    return ops.Cat.apply(d, *kept)  # torch skips legacy empty (0,) tensors


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dimension ``dim``, in their common dtype."""
    tensors = _promoted(_stack_inputs(tensors))
    d = normalize_dim(dim, tensors[0].ndim + 1)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise RuntimeError(
            f"stack expects each tensor to be equal size, but got "
            f"{[tuple(t.shape) for t in tensors]}"
        )
    return ops.Stack.apply(d, *tensors)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a 0-d tensor becomes shape (1,))."""
    return _atleast(tensors, lambda t: t.reshape(1) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions: (n,) becomes (1, n)."""
    return _atleast(
        tensors, lambda t: t.reshape((1,) * (2 - t.ndim) + tuple(t.shape)) if t.ndim < 2 else t
    )


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
        return tuple(
            host.broadcast_shapes(*[(s,) if isinstance(s, _int) else tuple(s) for s in shapes])
        )
    except ValueError:
        raise RuntimeError(
            f"shape mismatch: objects cannot be broadcast to a single shape: "
            f"{[tuple(s) if not isinstance(s, _int) else (s,) for s in shapes]}"
        ) from None


def broadcast_to(input: Tensor, shape) -> Tensor:
    """``input`` expanded to ``shape`` (-1 keeps a dim), as ``Tensor.expand``."""
    return input.expand(*_shape_arg((shape,)))


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t if tuple(t.shape) == shape else ops.Expand.apply(t, shape) for t in tensors)


# ====================================================================== more layouts
def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None
) -> Tensor:
    """The (2, N) coordinates of the lower triangle of a row x col matrix, row by row."""
    xp = B.xp  # made on the CPU
    r, c = xp.tril_indices(row, offset, col)
    return _wrap(xp.stack([r, c]).astype(B.to_dtype(dtype) or xp.int64))


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None
) -> Tensor:
    """The (2, N) coordinates of the upper triangle of a row x col matrix, row by row."""
    xp = B.xp  # made on the CPU
    r, c = xp.triu_indices(row, offset, col)
    return _wrap(xp.stack([r, c]).astype(B.to_dtype(dtype) or xp.int64))


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of one element of each 1-D tensor, as rows (one tensor: itself)."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The r-element combinations of a 1-D tensor's elements, as rows, in the order of
    itertools.combinations (with_replacement for combinations_with_replacement)."""
    xp = B.namespace(_data(input))
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {tuple(input.shape)}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = xp.array(list(pick(range(input.shape[0]), r)), dtype=xp.int64).reshape(-1, r)
    if r == 0:
        return _wrap(xp.zeros((0,), dtype=input.dtype))
    return ops.Take.apply(input, idx, False)


def block_diag(*tensors) -> Tensor:
    """The tensors (0-d, 1-D as a row, or 2-D) placed along the diagonal of one matrix."""
    mats = [_as_tensor(t) for t in tensors]
    xp = B.namespace(mats[0].array) if mats else B.xp
    mats = [
        m.reshape(1, 1) if m.ndim == 0 else m.reshape(1, -1) if m.ndim == 1 else m for m in mats
    ]
    for k, m in enumerate(mats):
        if m.ndim != 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer "
                f"dimensions. Input {k} has {m.ndim} dimensions"
            )
    if not mats:
        return _wrap(xp.zeros((1, 0), dtype=B.get_default_dtype()))
    width = _sum(m.shape[1] for m in mats)
    dtype = xp.result_type(*[m.dtype for m in mats])
    rows, left = [], 0
    for m in mats:
        h, w = m.shape
        parts = [
            _wrap(xp.zeros((h, left), dtype)),
            m.type(dtype),
            _wrap(xp.zeros((h, width - left - w), dtype)),
        ]
        rows.append(cat(parts, 1))
        left += w
    return cat(rows, 0)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input on the ``offset`` diagonal of a square matrix."""
    return diag_embed(input.reshape(-1), offset)


def _scatter_flat(input: Tensor, positions, src) -> Tensor:
    """``input`` with ``src`` written at the flat ``positions`` (an index array shaped like
    the region written); the gradient of ``src`` is the gradient read back there."""
    src = _as_tensor(src, input)
    if tuple(src.shape) != positions.shape:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self: src "
            f"size {list(src.shape)}, slice size {list(positions.shape)}"
        )
    flat = ops.IndexPut.apply(input.reshape(-1), positions.reshape(-1), src.reshape(-1))
    return flat.reshape(input.shape)


def _positions(input: Tensor):
    xp = B.namespace(_data(input))
    return xp.arange(input.array.size).reshape(input.shape)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with the slice ``select(dim, index)`` replaced by ``src``."""
    xp = B.namespace(_data(input))
    d = normalize_dim(dim, input.ndim)
    pos = xp.take(_positions(input), _int(index), axis=d)
    return _scatter_flat(input, pos, src)


def slice_scatter(
    input: Tensor, src: Tensor, dim: int = 0, start=None, end=None, step: int = 1
) -> Tensor:
    """A copy of ``input`` with the slice ``start:end:step`` along ``dim`` replaced by
    ``src``."""
    d = normalize_dim(dim, input.ndim)
    idx = [slice(None)] * input.ndim
    idx[d] = slice(start, end, step)
    return _scatter_flat(input, _positions(input)[tuple(idx)], src)


def diagonal_scatter(
    input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Tensor:
    """A copy of ``input`` with its ``offset`` diagonal (of the dim1, dim2 planes) replaced
    by ``src``."""
    xp = B.namespace(_data(input))
    d1, d2 = normalize_dim(dim1, input.ndim), normalize_dim(dim2, input.ndim)
    return _scatter_flat(input, xp.diagonal(_positions(input), offset, d1, d2), src)


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (all dims of equal size, or a 2-D matrix; a tall
    matrix restarts the diagonal every ``ncols + 1`` rows when ``wrap``), as NumPy."""
    xp = B.namespace(_data(self))
    if self.ndim < 2:
        raise RuntimeError(f"dimensions must larger than 1, got {self.ndim}")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError(
            f"all dimensions of input must be of equal length, got shape {tuple(self.shape)}"
        )
    mask = xp.zeros(self.shape, dtype=bool)
    xp.fill_diagonal(mask, True, wrap=wrap)
    value = (
        fill_value
        if isinstance(fill_value, Tensor)
        else _wrap(xp.asarray(fill_value, dtype=self.dtype))
    )
    return _assign(self, ops.Where.apply(mask, value, self))


def as_strided(input: Tensor, size, stride, storage_offset: int = 0) -> Tensor:
    """The elements at ``storage_offset + sum_k i_k stride[k]`` of the row-major flattened
    input, in the shape ``size`` (torch's view of the storage, for a contiguous input; a
    copy here). Overlapping windows are fine: their gradients add up."""
    xp = B.namespace(_data(input))
    size, stride = _shape_arg((size,)), _shape_arg((stride,))
    if len(size) != len(stride):
        raise RuntimeError(
            f"mismatch in length of strides and shape: {len(size)} sizes, {len(stride)} strides"
        )
    idx = xp.full(size, storage_offset, dtype=xp.int64)
    for k, (n, st) in enumerate(zip(size, stride, strict=True)):
        shape = [1] * len(size)
        shape[k] = n
        idx = idx + (xp.arange(n, dtype=xp.int64) * st).reshape(shape)
    n = input.array.size
    if idx.size and (idx.max() >= n or idx.min() < 0):
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
            f"offset {storage_offset} need {int(idx.max()) + 1} elements, but "
            f"the tensor has {n}"
        )
    return ops.Take.apply(input, idx, False)


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix (a tensor of at most 2 dims is returned as it is)."""
    return input.t()


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Dim ``dim`` split into ``sizes`` (one of them may be -1)."""
    return input.unflatten(dim, sizes)


# ====================================================================== Tensor methods
tril_ = _inplace(tril)
triu_ = _inplace(triu)

bind_methods(
    **{
        fn.__name__: fn
        for fn in [
            tril,
            triu,
            roll,
            flip,
            fliplr,
            flipud,
            rot90,
            diagonal,
            diag_embed,
            diag,
            trace,
            unfold,
            repeat_interleave,
            tile,
            movedim,
            swapaxes,
            swapdims,
            narrow,
            split,
            tensor_split,
            hsplit,
            vsplit,
            dsplit,
            unbind,
            select,
            index_select,
            ravel,
            broadcast_to,
            diagflat,
            select_scatter,
            slice_scatter,
            diagonal_scatter,
            fill_diagonal_,
            tril_,
            triu_,
            as_strided,
        ]
    }
)
bind_methods(moveaxis=moveaxis)  # an alias: its __name__ is movedim

__all__ = [
    "as_strided",
    "t",
    "unflatten",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "block_diag",
    "broadcast_shapes",
    "broadcast_tensors",
    "broadcast_to",
    "cartesian_prod",
    "cat",
    "column_stack",
    "combinations",
    "diag",
    "diag_embed",
    "diagflat",
    "diagonal",
    "diagonal_scatter",
    "dsplit",
    "dstack",
    "fliplr",
    "flipud",
    "hsplit",
    "hstack",
    "index_select",
    "meshgrid",
    "moveaxis",
    "movedim",
    "narrow",
    "ravel",
    "repeat_interleave",
    "roll",
    "rot90",
    "row_stack",
    "select",
    "select_scatter",
    "slice_scatter",
    "stack",
    "swapaxes",
    "swapdims",
    "tensor_split",
    "tile",
    "trace",
    "tril",
    "tril_indices",
    "triu",
    "triu_indices",
    "vsplit",
    "vstack",
]
