"""``axon.nn.init``: weight initialisation, with PyTorch's names and formulas.

Every function fills ``tensor.array`` in place (no graph is recorded) and returns the
tensor. Random ones draw from ``axon.backend.rng()``, so ``axon.manual_seed`` makes them
reproducible, or from the ``generator=`` given (an ``axon.Generator``), as in torch. Draws
are made on the host; a tensor on another device gets them through its backend's
``from_host``, so one seed gives every device the same values.
Fans follow PyTorch: for a weight of shape (out, in, *kernel),
fan_in = in * prod(kernel) and fan_out = out * prod(kernel).

Draws are made in the tensor's own dtype, straight into its memory: a float32 weight
gets float32 draws (NumPy's ``Generator.random`` / ``standard_normal`` with ``out=``),
then is scaled and shifted in place, so initialising a 400 MB layer allocates nothing
beside it (a float64 draw would be a temporary twice the layer's size). Other dtypes
(float16, a non-contiguous view) draw into a float32 (or float64) scratch of the
tensor's shape first. A tensor of 4M elements or more is drawn in fixed blocks, each
from its own stream seeded from the generator, on two threads when it can: the same
seed gives the same values whatever the thread count (:func:`_in_blocks`).

A builder that re-initialises parameters itself (torchvision's VGG and ResNet, and
``nn.Transformer``, which draw again what their layers just drew) builds its layers inside
:func:`_deferred`, so that those parameters are drawn once, by the builder.
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings

from .. import backend as B
from ..autograd.ops import erf
from ..autograd.tensor import Tensor
from ..backend import cpu

_host = cpu.xp
"""The host's array namespace (NumPy): the seeded generators draw there."""

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``:
    1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope 0.01 by default), 3/4 for selu."""
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, int | float):
            raise ValueError(f"negative_slope {param} not a valid number")
        else:
            slope = param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) = (in * receptive field, out * receptive field)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _put(arr, values) -> None:
    """``arr[...] = values``; a host array of values goes to ``arr``'s device first."""
    b = B.of(arr)
    if b is not cpu and isinstance(values, _host.ndarray):
        values = b.from_host(values)
    arr[...] = values


def _fill(tensor: Tensor, values) -> Tensor:
    _put(tensor.array, values)
    return tensor


def _rng(generator):
    """The NumPy generator to draw from: ``generator``'s stream, else the global one."""
    return B.rng() if generator is None else generator.rng


class _Deferral(threading.local):
    predicate = None  # (module, tensor) -> True: that layer's default draw is skipped


_deferral = _Deferral()


@contextlib.contextmanager
def _deferred(predicate):
    """Within the block (in this thread), a layer built or reset skips its default draw
    of each parameter ``t`` of module ``m`` with ``predicate(m, t)`` true, leaving it
    uninitialised: for a builder that initialises exactly those parameters itself right
    after, so that each is drawn once (torchvision's VGG re-draws every Conv2d and
    Linear, ResNet every Conv2d weight, ``nn.Transformer`` every parameter of more than
    one dimension). ``predicate=None`` defers nothing. Calls to the functions of this
    module are never skipped: only the layers' ``reset_parameters`` ask
    (:func:`_defers`)."""
    previous = _deferral.predicate
    _deferral.predicate = predicate
    try:
        yield
    finally:
        _deferral.predicate = previous


def _defers(module, tensor) -> bool:
    """Whether ``module``'s default initialisation should skip ``tensor`` now (inside
    :func:`_deferred`)."""
    predicate = _deferral.predicate
    return predicate is not None and bool(predicate(module, tensor))


_DRAWN = (B.float32, B.float64)  # what NumPy draws in directly


def _target(arr):
    """The host array to draw into: ``arr`` itself when it is a host array NumPy can draw
    in its dtype straight into, else a float32 (float64 for wider types) host scratch of
    its shape (always for an array on another device)."""
    if (
        isinstance(arr, _host.ndarray)
        and arr.dtype in _DRAWN
        and arr.flags.c_contiguous
        and arr.flags.writeable
    ):
        return arr
    return _host.empty(arr.shape, B.float64 if arr.dtype.itemsize > 4 else B.float32)


def _draw(tensor: Tensor, fill) -> Tensor:
    """``fill(target)`` draws into :func:`_target` of the tensor, copied in (and moved to
    the tensor's device) if scratch."""
    arr = tensor.array
    target = _target(arr)
    fill(target)
    if target is not arr:
        _put(arr, target)
    return tensor


_BLOCKS_FROM = 1 << 22
"""Elements from which uniform_ and normal_ draw in blocks on two threads (see
:func:`_in_blocks`)."""

_DRAW_BLOCK = 1 << 20
"""Elements of each block of a drawn-in-blocks tensor (fixed: the values depend on the
seed alone, not on the number of threads)."""


def _in_blocks(rng, out, draw) -> bool:
    """Fill a large flat ``out`` a block of :data:`_DRAW_BLOCK` elements at a time, each
    block by ``draw(generator, block)`` from its own PCG64 stream seeded by one draw of
    ``rng`` per block, the two halves of the blocks at once on two threads when they can
    (NumPy releases the GIL while it draws). Which thread fills a block changes nothing:
    the same seed gives the same tensor at 1 or 2 threads, under any load. VGG-16's
    classifier (120M draws) takes half the time. False for a tensor under
    :data:`_BLOCKS_FROM` elements (drawn straight from ``rng``)."""
    if out.size < _BLOCKS_FROM:
        return False
    from ..backend.numpy import threads

    flat = out.reshape(-1)
    blocks = -(-flat.size // _DRAW_BLOCK)
    seeds = rng.integers(0, 1 << 63, size=blocks, dtype=B.int64)

    def body(part):
        for i in range(part.start, part.stop):
            block = flat[i * _DRAW_BLOCK : (i + 1) * _DRAW_BLOCK]
            draw(_host.random.Generator(_host.random.PCG64(int(seeds[i]))), block)

    if not threads.run_halves(body, blocks):
        body(slice(0, blocks))
    return True


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from U(a, b): a + (b - a) u, u uniform in [0, 1) drawn in the
    tensor's dtype."""
    rng = _rng(generator)

    def draw(g, out):
        g.random(dtype=out.dtype, out=out)
        out *= b - a
        out += a

    def fill(out):
        if not _in_blocks(rng, out, draw):
            draw(rng, out)

    return _draw(tensor, fill)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from N(mean, std^2): mean + std z, z standard normal drawn in the
    tensor's dtype."""
    rng = _rng(generator)

    def draw(g, out):
        g.standard_normal(dtype=out.dtype, out=out)
        if std != 1:
            out *= std
        if mean != 0:
            out += mean

    def fill(out):
        if not _in_blocks(rng, out, draw):
            draw(rng, out)

    return _draw(tensor, fill)


def _erfinv(y):
    """Inverse error function on (-1, 1): Winitzki's approximation, then Newton steps."""
    a = 0.147
    ln = _host.log1p(-y * y)
    u = 2 / (math.pi * a) + ln / 2
    x = _host.sign(y) * _host.sqrt(_host.sqrt(u * u - ln / a) - u)
    for _ in range(3):
        x = x - (erf(x) - y) / (2 / math.sqrt(math.pi) * _host.exp(-x * x))
    return x


_BLOCK = 1 << 12
"""Elements trunc_normal_ maps at a time: its float64 work (erf and Newton steps) stays
under 1 MB whatever the tensor's size."""


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator=None,
) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds, as in PyTorch), by
    inverting the normal CDF on uniform draws between CDF(a) and CDF(b)."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution "
            "of values may be incorrect.",
            stacklevel=2,
        )
    lo = math.erf((a - mean) / (std * math.sqrt(2.0)))  # 2 CDF - 1 at the bounds
    hi = math.erf((b - mean) / (std * math.sqrt(2.0)))
    rng = _rng(generator)

    def fill(out):
        rng.random(dtype=out.dtype, out=out)  # u in [0, 1), in the tensor's dtype
        flat = out.reshape(-1)
        for start in range(0, flat.size, _BLOCK):  # mapped in float64, a block at a time
            u = lo + (hi - lo) * flat[start : start + _BLOCK].astype(B.float64)
            _host.clip(u, -1 + 1e-15, 1 - 1e-15, out=u)
            flat[start : start + _BLOCK] = _host.clip(
                _erfinv(u) * (std * math.sqrt(2.0)) + mean, a, b
            )

    return _draw(tensor, fill)


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (ones on the diagonal of a 2-D tensor, zeros elsewhere)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    tensor.array[...] = 0
    B.namespace(tensor.array).fill_diagonal(tensor.array, 1)
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He: U(-bound, bound) with bound = gain sqrt(3 / fan) (``a``: the leaky slope)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He: N(0, std^2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain``: Q of the QR decomposition of a Gaussian
    matrix (signs fixed by diag(R)), with the trailing dimensions flattened."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.array.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.array.size // rows
    dt = tensor.array.dtype if tensor.array.dtype in _DRAWN else B.float32
    flat = _rng(generator).standard_normal((rows, cols), dtype=dt)
    if rows < cols:
        flat = flat.T
    q, r = _host.linalg.qr(flat)
    q *= _host.sign(_host.diag(r))
    if rows < cols:
        q = q.T
    if gain != 1:
        q *= gain
    return _fill(tensor, q.reshape(tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The identity of a convolution: a 3-, 4- or 5-D weight (out, in, *kernel) of zeros
    with a one at the kernel's centre for out channel i and in channel i (per group), so
    the layer passes as many input channels through unchanged as it can."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError(
            f"Only tensors with 3, 4, or 5 dimensions are supported, got a "
            f"tensor of shape {tuple(tensor.shape)}"
        )
    out_per_group = tensor.shape[0] // groups
    if tensor.shape[0] % groups:
        raise ValueError(
            f"dim 0 of the tensor of shape {tuple(tensor.shape)} must be "
            f"divisible by groups={groups}"
        )
    tensor.array[...] = 0
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            tensor.array[(g * out_per_group + d, d, *centre)] = 1
    return tensor


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """A sparse 2-D matrix: N(0, std^2) draws with ceil(sparsity * rows) of each column
    set to zero, at random rows (Martens, 2010)."""
    if tensor.ndim != 2:
        raise ValueError(
            f"Only tensors with 2 dimensions are supported, got a tensor of "
            f"shape {tuple(tensor.shape)}"
        )
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    rng = _rng(generator)

    def fill(out):
        rng.standard_normal(dtype=out.dtype, out=out)
        out *= std
        for c in range(cols):
            out[rng.permutation(rows)[:zeros], c] = 0

    return _draw(tensor, fill)


# torch's deprecated spellings without the trailing underscore (``nn.init.xavier_uniform``):
# the same function, with torch's FutureWarning naming the new one
def _deprecated(new):
    old = new.__name__[:-1]

    def fn(*args, **kwargs):
        warnings.warn(
            f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = old
    fn.__doc__ = f"Deprecated: ``{new.__name__}``."
    return fn


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
