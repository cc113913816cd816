"""Image transforms and augmentation, named after torchvision's, applied to whole batches.

Each transform takes a batch ``(N, C, H, W)`` or one image ``(C, H, W)`` (or ``(H, W)``),
as a NumPy array or an axon Tensor, and returns the same kind. Random transforms draw
one set of parameters per image (which items to flip, each one's crop offset or angle)
and then move the pixels of the whole batch with one vectorised NumPy gather, with no
Python loop over images, so augmenting a batch costs a fraction of a training step.

Randomness comes from axon's global generator (``axon.manual_seed`` fixes it), looked up
at each call, unless a transform is given its own ``generator`` (an int seed or a
``numpy.random.Generator``).

To augment batches from a DataLoader, wrap it::

    train = BatchTransformLoader(DataLoader(ds, 128, shuffle=True),
                                 Compose([RandomCrop(28, padding=2), RandomRotation(10)]))
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.tensor import Tensor, _wrap
from .dataset import GeneratorLike, as_generator


# ---------------------------------------------------------------------------- helpers
def _unwrap(x) -> tuple[np.ndarray, bool]:
    """The array inside ``x`` and whether ``x`` was a Tensor."""
    if isinstance(x, Tensor):
        return x.array, True
    return np.asarray(x), False


def _rewrap(a: np.ndarray, was_tensor: bool):
    return _wrap(a) if was_tensor else a


def _as_batch(a: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """View an image or batch as (N, C, H, W); also return the original ndim to undo it."""
    if a.ndim == 4:
        return a, 4
    if a.ndim == 3:
        return a[None], 3  # (C, H, W) -> (1, C, H, W)
    if a.ndim == 2:
        return a[None, None], 2  # (H, W) -> (1, 1, H, W)
    raise ValueError(
        f"{name}: expected a batch (N, C, H, W) or an image (C, H, W) or (H, W), got shape "
        f"{a.shape}"
    )


def _from_batch(a: np.ndarray, ndim: int) -> np.ndarray:
    return a.reshape(a.shape[4 - ndim:])  # drop the dims _as_batch added


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    if isinstance(value, Sequence) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


class _Random:
    """Mixin: a transform that draws from axon's generator or its own."""

    def _init_generator(self, generator: GeneratorLike) -> None:
        self._generator = None if generator is None else as_generator(generator)

    def _gen(self) -> np.random.Generator:
        # the global generator is looked up per call: manual_seed replaces it
        return self._generator if self._generator is not None else B.rng()


def _gather_windows(padded: np.ndarray, top: np.ndarray, left: np.ndarray,
                    h: int, w: int) -> np.ndarray:
    """Crop window ``[top[n]:top[n]+h, left[n]:left[n]+w]`` of every image of a batch.

    One strided view of all windows, then one fancy-index picking each image's window.
    """
    n = padded.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
    # windows: (N, C, H'-h+1, W'-w+1, h, w); indexing dims 0, 2, 3 -> (N, C, h, w)
    return windows[np.arange(n), :, top, left]


def _pad(batch: np.ndarray, pad: tuple[int, int, int, int], fill) -> np.ndarray:
    """Pad (N, C, H, W) by (top, bottom, left, right) pixels of value ``fill``."""
    t, b, l, r = pad
    if not any(pad):
        return batch
    n, c, h, w = batch.shape
    out = np.full((n, c, h + t + b, w + l + r), fill, dtype=batch.dtype)
    out[:, :, t:t + h, l:l + w] = batch
    return out


# ---------------------------------------------------------------------------- transforms
class Compose:
    """Apply ``transforms`` one after another: ``Compose([a, b])(x) == b(a(x))``."""

    def __init__(self, transforms: Iterable[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor:
    """Raw images to a float Tensor in [0, 1] with a channel dimension (N, C, H, W).

    uint8 values are divided by 255; float input keeps its values. Layouts:

    - ``(H, W)``, one grey image -> ``(1, H, W)``;
    - ``(H, W, C)`` with C in {1, 3, 4}, one image channels-last -> ``(C, H, W)``;
    - any other 3-D ``(N, H, W)``, a batch of grey images -> ``(N, 1, H, W)``;
    - ``(N, H, W, C)`` with C in {1, 3, 4} -> ``(N, C, H, W)``; other 4-D is taken as
      already ``(N, C, H, W)``.
    """

    def __init__(self, dtype=None) -> None:
        self.dtype = dtype

    def __call__(self, x) -> Tensor:
        a, _ = _unwrap(x)
        dtype = B.get_default_dtype() if self.dtype is None else np.dtype(self.dtype)
        if a.ndim == 2:
            a = a[None]  # (H, W) -> (1, H, W)
        elif a.ndim == 3:
            # (H, W, C) -> (C, H, W), else (N, H, W) -> (N, 1, H, W)
            a = a.transpose(2, 0, 1) if a.shape[-1] in (1, 3, 4) else a[:, None]
        elif a.ndim == 4:
            if a.shape[-1] in (1, 3, 4) and a.shape[1] not in (1, 3, 4):
                a = a.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        else:
            raise ValueError(f"ToTensor: expected 2-D, 3-D or 4-D images, got shape {a.shape}")
        if a.dtype == np.uint8:
            out = np.divide(a, dtype.type(255), dtype=dtype)  # as torch's div(255)
        else:
            out = a.astype(dtype)
        return _wrap(np.ascontiguousarray(out))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """Per-channel standardisation: ``out[c] = (x[c] - mean[c]) / std[c]``.

    ``mean`` and ``std`` are numbers or one value per channel (the dim -3). MNIST's are
    ``(0.1307,)`` and ``(0.3081,)``.
    """

    def __init__(self, mean, std) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must not contain zeros, got {std!r}")

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        if a.dtype.kind != "f":
            raise TypeError(f"Normalize: expected float images, got {a.dtype} "
                            f"(apply ToTensor first)")
        mean, std = self.mean.astype(a.dtype), self.std.astype(a.dtype)
        if mean.size > 1 or std.size > 1:
            mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)  # (C, 1, 1)
        return _rewrap((a - mean) / std, was_tensor)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop(_Random):
    """Crop a random ``size`` window from each image, after padding it by ``padding``.

    With ``padding=p`` and ``size`` equal to the image size this is a random shift of up
    to ``p`` pixels each way, the classic MNIST/CIFAR augmentation.

    Args:
        size: output (h, w), or an int for a square.
        padding: pixels added on each side: an int, (left/right, top/bottom) or
            (left, top, right, bottom), as torchvision.
        fill: the value of padded pixels.
        generator: None (axon's global generator), an int seed or a NumPy Generator.
    """

    def __init__(self, size, padding=0, fill=0, generator: GeneratorLike = None) -> None:
        self.size = _pair(size, "RandomCrop size")
        if isinstance(padding, numbers.Integral):
            padding = (padding,) * 4
        padding = tuple(int(p) for p in padding)
        if len(padding) == 2:
            padding = padding * 2
        if len(padding) != 4 or min(padding) < 0:
            raise ValueError(f"RandomCrop padding must be 1, 2 or 4 non-negative ints, "
                             f"got {padding!r}")
        left, top, right, bottom = padding
        self.padding = (top, bottom, left, right)
        self.fill = fill
        self._init_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, "RandomCrop")
        padded = _pad(batch, self.padding, self.fill)
        h, w = self.size
        n, _, ph, pw = padded.shape
        if h > ph or w > pw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the padded "
                             f"image {(ph, pw)}")
        gen = self._gen()
        top = gen.integers(0, ph - h + 1, size=n)
        left = gen.integers(0, pw - w + 1, size=n)
        out = _gather_windows(padded, top, left, h, w)
        return _rewrap(_from_batch(out, ndim), was_tensor)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomShift(_Random):
    """Translate each image by a random whole number of pixels in
    ``[-max_pixels, max_pixels]`` along each axis, filling the uncovered border with
    ``fill``; the size is kept. (Same as ``RandomCrop(image size, padding=max_pixels)``.)"""

    def __init__(self, max_pixels: int, fill=0, generator: GeneratorLike = None) -> None:
        if max_pixels < 0:
            raise ValueError(f"RandomShift: max_pixels must be >= 0, got {max_pixels}")
        self.max_pixels = int(max_pixels)
        self.fill = fill
        self._init_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, "RandomShift")
        m = self.max_pixels
        n, _, h, w = batch.shape
        padded = _pad(batch, (m, m, m, m), self.fill)
        gen = self._gen()
        # window offset m + d for a shift of -d: every offset in [0, 2m] is equally likely
        top = gen.integers(0, 2 * m + 1, size=n)
        left = gen.integers(0, 2 * m + 1, size=n)
        out = _gather_windows(padded, top, left, h, w)
        return _rewrap(_from_batch(out, ndim), was_tensor)

    def __repr__(self) -> str:
        return f"RandomShift(max_pixels={self.max_pixels})"


class _RandomFlip(_Random):
    axis = -1

    def __init__(self, p: float = 0.5, generator: GeneratorLike = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = float(p)
        self._init_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, type(self).__name__)
        flip = self._gen().random(batch.shape[0]) < self.p  # (N,) which images to flip
        flipped = np.flip(batch, axis=self.axis)
        out = np.where(flip[:, None, None, None], flipped, batch)
        return _rewrap(_from_batch(out, ndim), was_tensor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror each image left-right with probability ``p``."""

    axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Mirror each image top-bottom with probability ``p``."""

    axis = -2


class RandomRotation(_Random):
    """Rotate each image about its centre by a random angle, counter-clockwise in degrees.

    Angles are drawn uniformly from ``(-degrees, degrees)`` (or ``(lo, hi)`` for a pair).
    Each output pixel ``p`` takes the input at ``R(-theta) (p - c) + c``, where ``c`` is
    the centre ``((H-1)/2, (W-1)/2)``: with ``y`` down the rows and ``x`` along the columns,

        x_in = cos(theta) (x - cx) - sin(theta) (y - cy) + cx
        y_in = sin(theta) (x - cx) + cos(theta) (y - cy) + cy

    The source coordinates of the whole batch are computed at once, (N, H, W), and read
    with one gather: ``"nearest"`` rounds them, ``"bilinear"`` blends the four neighbours.
    Pixels whose source lies outside the image get ``fill``. A 90-degree rotation with
    nearest sampling equals ``np.rot90``.
    """

    def __init__(self, degrees, interpolation: str = "nearest", fill=0,
                 generator: GeneratorLike = None) -> None:
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"RandomRotation: degrees must be >= 0, got {degrees}")
            degrees = (-float(degrees), float(degrees))
        self.degrees = (float(degrees[0]), float(degrees[1]))
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"RandomRotation: interpolation must be 'nearest' or "
                             f"'bilinear', got {interpolation!r}")
        self.interpolation = interpolation
        self.fill = fill
        self._init_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, "RandomRotation")
        lo, hi = self.degrees
        angles = self._gen().uniform(lo, hi, size=batch.shape[0])
        out = rotate(batch, angles, self.interpolation, self.fill)
        return _rewrap(_from_batch(out, ndim), was_tensor)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation!r})"


def rotate(batch: np.ndarray, angles, interpolation: str = "nearest", fill=0) -> np.ndarray:
    """Rotate every image of ``batch`` (N, C, H, W) counter-clockwise by ``angles[n]``
    degrees about its centre (see :class:`RandomRotation`); keeps shape and dtype."""
    n, c, h, w = batch.shape
    theta = np.deg2rad(np.broadcast_to(np.asarray(angles, dtype=np.float64), (n,)))
    cos = np.cos(theta).astype(np.float32)[:, None, None]  # (N, 1, 1)
    sin = np.sin(theta).astype(np.float32)[:, None, None]  # (N, 1, 1)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    y = np.arange(h, dtype=np.float32)[:, None] - np.float32(cy)  # (H, 1)
    x = np.arange(w, dtype=np.float32)[None, :] - np.float32(cx)  # (1, W)
    # source coordinates, shifted by +1 into a copy padded by one pixel of ``fill`` and
    # clipped to it, so a source outside the image reads the fill border: no masks needed
    src_x = np.clip(cos * x - sin * y + np.float32(cx + 1), 0, w + 1)  # (N, H, W)
    src_y = np.clip(sin * x + cos * y + np.float32(cy + 1), 0, h + 1)  # (N, H, W)
    padded = _pad(batch, (1, 1, 1, 1), fill)  # (N, C, H+2, W+2)
    wp = w + 2
    flat = padded.reshape(-1)  # every pixel of the batch, read with one fancy-index
    itype = np.int32 if padded.size < 2**31 else np.intp  # int32 indices: ~30% faster
    start = (np.arange(n * c, dtype=itype) * ((h + 2) * wp)).reshape(n, c, 1)  # (N, C, 1)

    def flat_index(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
        """Index into ``flat`` of padded pixel (iy, ix), (N, H, W), per channel: (N, C, H*W)."""
        return (iy.astype(itype) * wp + ix.astype(itype)).reshape(n, 1, h * w) + start

    if interpolation == "nearest":
        return flat[flat_index(np.rint(src_y), np.rint(src_x))].reshape(n, c, h, w)
    # bilinear: blend the 4 neighbours by the fractional parts
    work = np.float64 if batch.dtype == np.float64 else np.float32
    y0 = np.minimum(np.floor(src_y), h)  # <= h, so that y0 + 1 stays inside the padding
    x0 = np.minimum(np.floor(src_x), w)
    wy = (src_y - y0).astype(work).reshape(n, 1, h * w)  # weight of the lower row
    wx = (src_x - x0).astype(work).reshape(n, 1, h * w)  # weight of the right column
    i00 = flat_index(y0, x0)  # (N, C, H*W); the other corners are +1, +wp, +wp+1
    top = flat[i00] * (1 - wx) + flat[i00 + 1] * wx
    bottom = flat[i00 + wp] * (1 - wx) + flat[i00 + (wp + 1)] * wx
    out = (top * (1 - wy) + bottom * wy).reshape(n, c, h, w)
    if batch.dtype.kind in "iu":  # round back to the integer type, within its range
        info = np.iinfo(batch.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(batch.dtype)


class GaussianNoise(_Random):
    """Add independent noise ``N(mean, std^2)`` to every pixel (float images only);
    ``clip=(lo, hi)`` clips the result, e.g. ``(0, 1)`` to stay in the image range."""

    def __init__(self, std: float, mean: float = 0.0, clip: tuple[float, float] | None = None,
                 generator: GeneratorLike = None) -> None:
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std, self.mean, self.clip = float(std), float(mean), clip
        self._init_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        if a.dtype.kind != "f":
            raise TypeError(f"GaussianNoise: expected float images, got {a.dtype} "
                            f"(apply ToTensor first)")
        work = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)
        noise = self._gen().standard_normal(a.shape, dtype=work)
        out = a + (noise * work.type(self.std) + work.type(self.mean)).astype(a.dtype)
        if self.clip is not None:
            np.clip(out, self.clip[0], self.clip[1], out=out)
        return _rewrap(out, was_tensor)

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std}, mean={self.mean})"


class Lambda:
    """Wrap any function ``f(x)`` as a transform (torchvision's ``Lambda``)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.fn, '__name__', self.fn)!r})"


# ---------------------------------------------------------------------------- loaders
class BatchTransformLoader:
    """Wrap a loader so each batch's field ``apply_to`` passes through ``transform``.

    ``apply_to`` is an index (or key, for dict batches), a sequence of them, or None to
    transform the whole batch. Everything else (``len``, ``dataset``, ``batch_size``...)
    is the wrapped loader's.

    Example: ``BatchTransformLoader(DataLoader(ds, 64, shuffle=True), RandomShift(2))``
    augments the images (field 0) of every batch and leaves the labels alone.
    """

    def __init__(self, loader: Iterable, transform: Callable, apply_to: Any = 0) -> None:
        self.loader = loader
        self.transform = transform
        self.apply_to = apply_to

    def __iter__(self) -> Iterator[Any]:
        keys = self.apply_to
        if keys is not None and (isinstance(keys, str | int) or not isinstance(keys, Sequence)):
            keys = (keys,)
        for batch in self.loader:
            if keys is None:
                yield self.transform(batch)
            elif isinstance(batch, dict):
                yield {k: self.transform(v) if k in keys else v for k, v in batch.items()}
            elif isinstance(batch, tuple | list):
                n = len(batch)
                wanted = {k % n for k in keys}
                fields = [self.transform(f) if i in wanted else f for i, f in enumerate(batch)]
                yield type(batch)(fields) if not hasattr(batch, "_fields") else type(batch)(*fields)
            else:
                raise TypeError(
                    f"BatchTransformLoader: batches are {type(batch).__name__}, not tuples, "
                    f"lists or dicts; pass apply_to=None to transform the whole batch"
                )

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str):
        if name == "loader":  # not set yet (e.g. while unpickling): avoid recursion
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __repr__(self) -> str:
        return (f"BatchTransformLoader({self.loader!r}, {self.transform!r}, "
                f"apply_to={self.apply_to!r})")


__all__ = [
    "BatchTransformLoader",
    "Compose",
    "GaussianNoise",
    "Lambda",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomShift",
    "RandomVerticalFlip",
    "ToTensor",
    "rotate",
]
