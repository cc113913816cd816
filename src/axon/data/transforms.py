"""Image transforms and augmentation, named after torchvision's, for single images and batches.

As in torchvision, a dataset's ``transform=Compose([ToTensor(), Normalize(...), ...])``
turns each raw image (a uint8 ``(H, W)`` or ``(H, W, C)`` array, or a PIL image) into a
float ``(C, H, W)`` Tensor. Each other transform takes a batch ``(N, C, H, W)`` or one
image ``(C, H, W)`` (or ``(H, W)``), as a NumPy array or an axon Tensor, and returns the
same kind. Random transforms draw
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
    return a.reshape(a.shape[4 - ndim :])  # drop the dims _as_batch added


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


def _gather_windows(
    padded: np.ndarray, top: np.ndarray, left: np.ndarray, h: int, w: int
) -> np.ndarray:
    """Crop window ``[top[n]:top[n]+h, left[n]:left[n]+w]`` of every image of a batch.

    One strided view of all windows, then one fancy-index picking each image's window.
    """
    n = padded.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
    # windows: (N, C, H'-h+1, W'-w+1, h, w); indexing dims 0, 2, 3 -> (N, C, h, w)
    return windows[np.arange(n), :, top, left]


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _pad(
    batch: np.ndarray, pad: tuple[int, int, int, int], fill, mode: str = "constant"
) -> np.ndarray:
    """Pad (N, C, H, W) by (top, bottom, left, right) pixels of value ``fill``, or by
    NumPy's ``edge``/``reflect``/``symmetric`` rules (torchvision's padding modes)."""
    t, b, l, r = pad
    if not any(pad):
        return batch
    if mode != "constant":
        return np.pad(batch, ((0, 0), (0, 0), (t, b), (l, r)), mode=mode)
    n, c, h, w = batch.shape
    out = np.full((n, c, h + t + b, w + l + r), fill, dtype=batch.dtype)
    out[:, :, t : t + h, l : l + w] = batch
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

    uint8 values are divided by 255 (into the default dtype, or ``dtype``); float input
    keeps its values and, unless ``dtype`` is given, its dtype (as torchvision). Layouts:

    - ``(H, W)``, one grey image -> ``(1, H, W)``;
    - ``(H, W, C)`` with C in {1, 3, 4}, one image channels-last -> ``(C, H, W)``;
    - any other 3-D ``(N, H, W)``, a batch of grey images -> ``(N, 1, H, W)``;
    - ``(N, H, W, C)`` with C in {1, 3, 4} -> ``(N, C, H, W)``; other 4-D is taken as
      already ``(N, C, H, W)``.
    """

    def __init__(self, dtype=None) -> None:
        self.dtype = dtype

    def __call__(self, x) -> Tensor:
        a, _ = _unwrap(x)  # a PIL image becomes its (H, W) or (H, W, C) uint8 array
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
        elif a.dtype.kind == "f" and self.dtype is None:
            out = a.copy()  # keep values and dtype, as torchvision; never the input's storage
        else:
            out = a.astype(dtype)
        return _wrap(np.ascontiguousarray(out))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """Per-channel standardisation: ``out[c] = (x[c] - mean[c]) / std[c]``.

    ``mean`` and ``std`` are numbers or one value per channel (the dim -3). MNIST's are
    ``(0.1307,)`` and ``(0.3081,)``. With ``inplace=True`` the input's own storage is
    overwritten (and returned), as torchvision's.
    """

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        self.inplace = bool(inplace)
        if np.any(self.std == 0):
            raise ValueError(
                f"Normalize: std must not contain zeros (a division by zero), got std={std!r}"
            )

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        if a.dtype.kind != "f":
            raise TypeError(
                f"Input tensor should be a float tensor. Got {a.dtype} (apply ToTensor first)"
            )
        mean, std = self.mean.astype(a.dtype), self.std.astype(a.dtype)
        if mean.size > 1 or std.size > 1:
            mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)  # (C, 1, 1)
        if not self.inplace:
            return _rewrap((a - mean) / std, was_tensor)
        np.subtract(a, mean, out=a)
        np.divide(a, std, out=a)
        return x

    def __repr__(self) -> str:
        return (
            f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()}, inplace={self.inplace})"
        )


class RandomCrop(_Random):
    """Crop a random ``size`` window from each image, after padding it by ``padding``
    (torchvision's arguments).

    With ``padding=p`` and ``size`` equal to the image size this is a random shift of up
    to ``p`` pixels each way, the classic MNIST/CIFAR augmentation.

    Args:
        size: output (h, w), or an int for a square.
        padding: pixels added on each side: an int, (left/right, top/bottom) or
            (left, top, right, bottom), as torchvision; None for none.
        pad_if_needed: pad an image smaller than ``size`` (after ``padding``) up to it.
        fill: the value of padded pixels (``padding_mode="constant"``).
        padding_mode: ``"constant"``, ``"edge"``, ``"reflect"`` or ``"symmetric"``.
        generator: None (axon's global generator), an :class:`axon.Generator`, an int
            seed or a NumPy Generator.
    """

    def __init__(
        self,
        size,
        padding=None,
        pad_if_needed: bool = False,
        fill=0,
        padding_mode: str = "constant",
        *,
        generator: GeneratorLike = None,
    ) -> None:
        self.size = _pair(size, "RandomCrop size")
        self.padding = _padding(0 if padding is None else padding)
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"Padding mode should be either constant, edge, reflect or "
                f"symmetric, got {padding_mode!r}"
            )
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode
        self._init_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, "RandomCrop")
        padded = _pad(batch, self.padding, self.fill, self.padding_mode)
        h, w = self.size
        if self.pad_if_needed:  # torchvision pads the short side by the missing amount
            dh, dw = max(h - padded.shape[2], 0), max(w - padded.shape[3], 0)
            padded = _pad(padded, (dh, dh, dw, dw), self.fill, self.padding_mode)
        n, _, ph, pw = padded.shape
        if h > ph or w > pw:
            raise ValueError(
                f"Required crop size {self.size} is larger than input image size {(ph, pw)}"
            )
        offsets = self._gen().integers(0, (ph - h + 1, pw - w + 1), size=(n, 2))  # (N, 2)
        if n == 1:  # one image (a dataset's transform): a slice is all it takes
            ((top, left),) = offsets
            out = padded[:, :, top : top + h, left : left + w].copy()
        else:
            out = _gather_windows(padded, offsets[:, 0], offsets[:, 1], h, w)
        return _rewrap(_from_batch(out, ndim), was_tensor)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


def _padding(padding) -> tuple[int, int, int, int]:
    """torchvision's padding (an int, (left/right, top/bottom) or (left, top, right,
    bottom)) as (top, bottom, left, right)."""
    if isinstance(padding, numbers.Integral):
        padding = (padding,) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        padding = padding * 2
    if len(padding) != 4 or min(padding) < 0:
        raise ValueError(f"padding must be 1, 2 or 4 non-negative ints, got {padding!r}")
    left, top, right, bottom = padding
    return top, bottom, left, right


class CenterCrop:
    """Crop the centre ``size`` window of each image (torchvision's rounding of the
    offset); an image smaller than ``size`` is first padded with zeros on all sides."""

    def __init__(self, size) -> None:
        self.size = _pair(size, "CenterCrop size")

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, "CenterCrop")
        ch, cw = self.size
        h, w = batch.shape[2:]
        if ch > h or cw > w:  # as torchvision: pad (floor on the top/left side) then crop
            dh, dw = max(ch - h, 0), max(cw - w, 0)
            batch = _pad(batch, (dh // 2, (dh + 1) // 2, dw // 2, (dw + 1) // 2), 0)
            h, w = batch.shape[2:]
        top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
        out = batch[:, :, top : top + ch, left : left + cw]
        return _rewrap(_from_batch(np.ascontiguousarray(out), ndim), was_tensor)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class Resize:
    """Resize each image to ``size``, as torchvision's ``Resize`` on a tensor.

    ``size`` (h, w) is the output size; an int gives the smaller edge that length and keeps
    the aspect ratio (the longer edge ``int(size * long / short)``, capped at
    ``max_size`` if given). ``interpolation`` is ``"bilinear"`` (with
    ``align_corners=False``) or ``"nearest"``. With ``antialias=True`` (torchvision's
    default) a shrinking image is first low-pass filtered: each output pixel averages the
    input under a triangle as wide as the scale factor, as PIL and
    ``F.interpolate(..., antialias=True)`` do; for enlarging it changes nothing.

    Resizing is separable: ``out = Wh @ image @ Ww^T`` with one weight matrix per axis
    (see :func:`resize_weights`). uint8 images are rounded back to uint8.
    """

    def __init__(
        self,
        size,
        interpolation: str = "bilinear",
        max_size: int | None = None,
        antialias: bool = True,
    ) -> None:
        if isinstance(size, Sequence) and len(size) == 1:
            size = size[0]
        if not isinstance(size, numbers.Integral):
            size = _pair(size, "Resize size")
        elif max_size is not None and max_size <= size:
            raise ValueError(
                f"max_size = {max_size} must be strictly greater than the "
                f"requested size for the smaller edge size = {size}"
            )
        self.size, self.max_size, self.antialias = size, max_size, bool(antialias)
        self.interpolation = str(getattr(interpolation, "value", interpolation)).lower()
        if self.interpolation not in ("bilinear", "nearest"):
            raise ValueError(
                f"Resize: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}"
            )

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """The (h, w) an (h, w) image is resized to."""
        if not isinstance(self.size, numbers.Integral):
            return self.size
        short, long = min(h, w), max(h, w)
        new_short, new_long = self.size, int(self.size * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, "Resize")
        out_h, out_w = self.output_size(*batch.shape[2:])
        work = np.float64 if batch.dtype == np.float64 else np.float32
        wh = resize_weights(batch.shape[2], out_h, self.interpolation, self.antialias)
        ww = resize_weights(batch.shape[3], out_w, self.interpolation, self.antialias)
        out = wh.astype(work) @ batch.astype(work, copy=False) @ ww.T.astype(work)
        if batch.dtype.kind in "iu":  # back to the integer type, rounded, within range
            info = np.iinfo(batch.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        return _rewrap(_from_batch(out.astype(batch.dtype, copy=False), ndim), was_tensor)

    def __repr__(self) -> str:
        return (
            f"Resize(size={self.size}, interpolation={self.interpolation}, "
            f"max_size={self.max_size}, antialias={self.antialias})"
        )


def resize_weights(
    n_in: int, n_out: int, interpolation: str = "bilinear", antialias: bool = False
) -> np.ndarray:
    """The (n_out, n_in) matrix that resizes one axis: row i holds the weights of the
    input pixels that output pixel i blends.

    Output pixel i sits at ``c = (i + 0.5) * scale`` in input coordinates
    (``scale = n_in / n_out``, pixel centres at ``j + 0.5``). ``"nearest"`` takes input
    ``floor(i * scale)``. ``"bilinear"`` weighs input j by the triangle
    ``max(0, 1 - |j + 0.5 - c| / s)``, normalised over the pixels inside the image, with
    ``s = 1``, or ``s = scale`` when antialiasing a shrink: for s = 1 that is the two
    neighbours of ``c`` blended linearly, the image's edge pixel repeated beyond it.
    """
    scale = n_in / n_out
    rows = np.arange(n_out)
    weights = np.zeros((n_out, n_in))
    if interpolation == "nearest":
        weights[rows, np.minimum(np.floor(rows * scale).astype(np.int64), n_in - 1)] = 1.0
        return weights
    width = scale if antialias and scale > 1 else 1.0
    centre = (rows + 0.5) * scale  # (n_out,)
    if width == 1.0:  # clamp to the edge pixels, as align_corners=False bilinear does
        centre = np.clip(centre, 0.5, n_in - 0.5)
    taps = np.arange(n_in) + 0.5  # (n_in,)
    weights = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centre[:, None]) / width)
    return weights / weights.sum(axis=1, keepdims=True)


class Pad:
    """Pad each image on every side, as torchvision's ``Pad``: ``padding`` is an int,
    (left/right, top/bottom) or (left, top, right, bottom); ``padding_mode`` is
    ``"constant"`` (with ``fill``), ``"edge"``, ``"reflect"`` or ``"symmetric"``."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"Padding mode should be either constant, edge, reflect or "
                f"symmetric, got {padding_mode!r}"
            )
        self.padding = _padding(padding)
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        batch, ndim = _as_batch(a, "Pad")
        out = _pad(batch, self.padding, self.fill, self.padding_mode)
        return _rewrap(_from_batch(out, ndim), was_tensor)

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, padding_mode={self.padding_mode!r})"


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
        if len(flip) == 1:  # one image: copy it, flipped or not
            out = (flipped if flip[0] else batch).copy()
        else:
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
    nearest sampling equals ``np.rot90``. The arguments are torchvision's (``expand`` and
    ``center`` only at their defaults).
    """

    def __init__(
        self,
        degrees,
        interpolation: str = "nearest",
        expand: bool = False,
        center=None,
        fill=0,
        *,
        generator: GeneratorLike = None,
    ) -> None:
        if expand or center is not None:
            raise NotImplementedError(
                "RandomRotation: expand and center are not supported; "
                "images turn about their centre and keep their size"
            )
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"RandomRotation: degrees must be >= 0, got {degrees}")
            degrees = (-float(degrees), float(degrees))
        self.degrees = (float(degrees[0]), float(degrees[1]))
        interpolation = str(getattr(interpolation, "value", interpolation)).lower()
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"RandomRotation: interpolation must be 'nearest' or "
                f"'bilinear', got {interpolation!r}"
            )
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
    itype = np.int32 if padded.size < 2**31 else np.intp  # int32 indices: half the bytes to gather
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

    def __init__(
        self,
        std: float,
        mean: float = 0.0,
        clip: tuple[float, float] | None = None,
        generator: GeneratorLike = None,
    ) -> None:
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std, self.mean, self.clip = float(std), float(mean), clip
        self._init_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        if a.dtype.kind != "f":
            raise TypeError(
                f"GaussianNoise: expected float images, got {a.dtype} (apply ToTensor first)"
            )
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
        return (
            f"BatchTransformLoader({self.loader!r}, {self.transform!r}, apply_to={self.apply_to!r})"
        )


__all__ = [
    "BatchTransformLoader",
    "CenterCrop",
    "Compose",
    "GaussianNoise",
    "Lambda",
    "Normalize",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomShift",
    "RandomVerticalFlip",
    "Resize",
    "ToTensor",
    "resize_weights",
    "rotate",
]
