"""Adversarial examples: images changed a little, in the direction that raises the loss
most, so that a trained classifier gets them wrong.

Every attack here works in pixel space: ``x`` holds images with values in [0, 1] and the
model takes them as they are, so epsilon is measured in pixel units (a model trained on
standardised inputs is wrapped in :class:`Normalized`). Each is computed from the
engine's gradient of the cross-entropy loss with respect to the input, at the true label,

    g = d/dx  sum_i CE(model(x)_i, y_i)        (the same shape as x)

- FGSM, the fast gradient sign method (Goodfellow et al. 2015): one step of size eps along
  the sign of g, the largest rise of the loss's linear approximation within the L-inf
  ball of radius eps:  x_adv = clip(x + eps sign(g), 0, 1).
- PGD, projected gradient descent on the negative loss (Madry et al. 2018): from a random
  point of the ball, ``steps`` steps of size alpha, each projected back onto the ball and
  the pixel range:  x_{t+1} = clip(x_t + alpha sign(g(x_t)), max(x - eps, 0),
  min(x + eps, 1)).  One step of size eps from x itself is FGSM.
- A patch ("sticker") attack: only a size x size square of each image changes, and its
  pixels may take any value in [0, 1]; they are found by sign gradient ascent on the loss
  restricted to the square (cf. Brown et al. 2017, "Adversarial patch").

While an attack runs, the model is in eval mode and its parameters do not require grad
(only the input's gradient is computed, and no parameter's ``.grad`` is touched); both are
restored afterwards. The attacks return new detached tensors of x's dtype.

A model on a device (``model.to("cuda")``) is fed there: each batch of images goes to the
model's device, and the gradients and logits come back to host memory, where the attacks'
steps (signs, clipping, projections) are taken with NumPy; the images and the returned
tensors stay on the host.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from . import nn
from .autograd.grad_mode import enable_grad, no_grad
from .autograd.tensor import Tensor, _placed, _wrap
from .data.dataset import GeneratorLike, as_generator
from .nn import functional as F
from .train.batches import batch_device

__all__ = [
    "Normalized",
    "fgsm",
    "input_gradient",
    "patch_attack",
    "patch_mask",
    "pgd",
    "predict",
    "random_corners",
    "success_rate",
]


class Normalized(nn.Module):
    """A model that takes pixels in [0, 1]: ``model((x - mean) / std)``.

    Wrapping a classifier trained on standardised inputs makes the attacks' epsilon a
    distance in pixel units. ``mean`` and ``std`` are numbers or one value per channel
    (dim 1 of an (N, C, H, W) batch). The state dict is the wrapped model's under
    ``model.``.
    """

    def __init__(
        self, model: nn.Module, mean: float | Sequence[float], std: float | Sequence[float]
    ) -> None:
        super().__init__()
        self.model = model
        m = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        s = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if m.ndim != 1 or s.ndim != 1 or np.any(s <= 0):
            raise ValueError(
                f"Normalized: mean and std must be numbers or 1-D per-channel "
                f"values with std > 0, got mean {mean!r}, std {std!r}"
            )
        self._mean = m.reshape(-1, 1, 1) if m.size > 1 else m.reshape(())  # (C, 1, 1)
        self._std = s.reshape(-1, 1, 1) if s.size > 1 else s.reshape(())

    def forward(self, x: Tensor) -> Tensor:
        dt, dev = x.dtype, x.device  # the mean and std go where x is
        mean, std = _placed(self._mean.astype(dt), dev), _placed(self._std.astype(dt), dev)
        return self.model((x - mean) / std)

    def extra_repr(self) -> str:
        return f"mean={self._mean.ravel().tolist()}, std={self._std.ravel().tolist()}"


# ----------------------------------------------------------------------------- helpers
@contextmanager
def _attacking(model: nn.Module) -> Iterator[None]:
    """Eval mode and frozen parameters for the duration; the previous state after."""
    modes = [(m, m.training) for m in model.modules()]
    params = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in params:
            p.requires_grad_(flag)
        for m, flag in modes:
            m.training = flag


def _array(a) -> np.ndarray:
    return a.detach().numpy() if isinstance(a, Tensor) else np.asarray(a)


def _check(x, y) -> tuple[np.ndarray, np.ndarray]:
    """x as a float array of pixels in [0, 1] (N, ...), y as int64 labels (N,)."""
    x, y = _array(x), _array(y)
    if x.dtype.kind != "f" or x.ndim < 2:
        raise ValueError(
            f"x must be a float batch (N, ...), got dtype {x.dtype} and shape {x.shape}"
        )
    if y.ndim != 1 or y.shape[0] != x.shape[0] or y.dtype.kind not in "iu":
        raise ValueError(
            f"y must hold one integer label per image: x has shape {x.shape}, "
            f"y has shape {y.shape} and dtype {y.dtype}"
        )
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"x must hold pixels in [0, 1] (wrap a model trained on "
            f"standardised inputs in Normalized), got values in "
            f"[{x.min():g}, {x.max():g}]"
        )
    return x, y.astype(np.int64)


def _check_eps(eps: float, name: str = "eps") -> float:
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {eps!r}")
    return float(eps)


def input_gradient(model: nn.Module, x, y) -> tuple[np.ndarray, np.ndarray]:
    """The gradient of the summed cross-entropy ``sum_i CE(model(x)_i, y_i)`` with respect
    to the input ``x`` (the same shape as x), and the logits (N, C) it was computed at.

    The sum (not the mean) makes each image's gradient independent of the batch it is in.
    """
    x, y = _check(x, y)
    dev = batch_device(model)  # None: the CPU (or a model without parameters)
    xt = _wrap(_placed(np.array(x), dev), True)  # a leaf of its own that requires grad
    with enable_grad(), _attacking(model):
        logits = model(xt)
        if logits.ndim != 2 or logits.shape[0] != len(x):
            raise ValueError(
                f"the model must return logits (N, C) for N = {len(x)} "
                f"images, got shape {tuple(logits.shape)}"
            )
        F.cross_entropy(logits, _wrap(_placed(y, dev)), reduction="sum").backward()
    return xt.grad.cpu().numpy(), logits.detach().cpu().numpy()


def predict(model: nn.Module, x, batch_size: int = 1000) -> np.ndarray:
    """The predicted class of each image, (N,), in eval mode without a graph."""
    x = _array(x)
    dev = batch_device(model)
    out = []
    with no_grad(), _attacking(model):
        for i in range(0, len(x), batch_size):
            logits = model(_wrap(_placed(x[i : i + batch_size], dev)))
            out.append(logits.cpu().numpy().argmax(axis=1))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def success_rate(model: nn.Module, x, y, x_adv, batch_size: int = 1000) -> tuple[float, int]:
    """The fraction of the images the model classifies correctly whose adversarial version
    it does not, and how many it classifies correctly (the denominator)."""
    x, y = _check(x, y)
    x_adv = _array(x_adv)
    if x_adv.shape != x.shape:
        raise ValueError(f"x_adv has shape {x_adv.shape}, x has shape {x.shape}")
    correct = predict(model, x, batch_size) == y
    fooled = correct & (predict(model, x_adv, batch_size) != y)
    n = int(correct.sum())
    return (float(fooled.sum()) / n if n else 0.0), n


# ----------------------------------------------------------------------------- L-inf
def fgsm(model: nn.Module, x, y, eps: float) -> Tensor:
    """The fast gradient sign method: ``clip(x + eps * sign(g), 0, 1)`` with g the input
    gradient of the loss at the true labels ``y`` (see :func:`input_gradient`)."""
    eps = _check_eps(eps)
    x, y = _check(x, y)
    g, _ = input_gradient(model, x, y)
    step = x.dtype.type(eps) * np.sign(g)
    return _wrap(np.clip(x + step, 0, 1).astype(x.dtype, copy=False))


def pgd(
    model: nn.Module,
    x,
    y,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool = True,
    rng: GeneratorLike = None,
) -> Tensor:
    """Projected gradient descent within the L-inf ball of radius ``eps`` around ``x``.

    Start at x (or, with ``random_start``, at x plus uniform noise in [-eps, eps], clipped
    to [0, 1]); then ``steps`` times ``x_t <- clip(x_t + alpha * sign(g(x_t)), lo, hi)``
    with ``lo = max(x - eps, 0)`` and ``hi = min(x + eps, 1)`` (the ball and the pixel
    range at once). ``rng`` draws the start (None: axon's global generator, or an int
    seed). With ``steps=1, alpha=eps, random_start=False`` this is :func:`fgsm`.
    """
    eps, alpha = _check_eps(eps), _check_eps(alpha, "alpha")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    x, y = _check(x, y)
    dt = x.dtype.type
    lo, hi = np.maximum(x - dt(eps), 0), np.minimum(x + dt(eps), 1)
    if random_start:
        noise = as_generator(rng).uniform(-eps, eps, size=x.shape).astype(x.dtype)
        x_t = np.clip(x + noise, lo, hi)
    else:
        x_t = x.copy()
    for _ in range(int(steps)):
        g, _ = input_gradient(model, x_t, y)
        x_t = np.clip(x_t + dt(alpha) * np.sign(g), lo, hi)
    return _wrap(x_t.astype(x.dtype, copy=False))


# ----------------------------------------------------------------------------- patches
def random_corners(
    n: int, image_shape: Sequence[int], size: int, rng: GeneratorLike = None
) -> np.ndarray:
    """Top-left corners (n, 2) of ``size`` x ``size`` squares placed uniformly at random
    inside images whose last two dimensions are ``image_shape[-2:]`` (H, W)."""
    h, w = image_shape[-2:]
    _check_size(size, h, w)
    gen = as_generator(rng)
    return np.stack([gen.integers(0, h - size + 1, n), gen.integers(0, w - size + 1, n)], axis=1)


def _check_size(size: int, h: int, w: int) -> None:
    if int(size) != size or not 1 <= size <= min(h, w):
        raise ValueError(
            f"patch size must be an integer from 1 to {min(h, w)} for images "
            f"of {h}x{w}, got {size!r}"
        )


def patch_mask(shape: Sequence[int], size: int, corners) -> np.ndarray:
    """A boolean mask of ``shape`` (N, C, H, W) (or (N, H, W)), True on each image's
    ``size`` x ``size`` square whose top-left corner is ``corners[i]`` = (row, col), over
    every channel."""
    shape = tuple(shape)
    n, h, w = shape[0], shape[-2], shape[-1]
    _check_size(size, h, w)
    corners = np.asarray(corners, dtype=np.int64)
    if corners.shape == (2,):
        corners = np.broadcast_to(corners, (n, 2))
    if corners.shape != (n, 2):
        raise ValueError(
            f"corners must be one (row, col) or one per image (N, 2) with N = "
            f"{n}, got shape {corners.shape}"
        )
    r, c = corners[:, 0], corners[:, 1]
    if (
        r.min(initial=0) < 0
        or c.min(initial=0) < 0
        or (r + size).max(initial=0) > h
        or (c + size).max(initial=0) > w
    ):
        raise ValueError(
            f"a {size}x{size} patch at these corners leaves the {h}x{w} image "
            f"(rows {r.min()}..{r.max()}, cols {c.min()}..{c.max()})"
        )
    rows, cols = np.arange(h), np.arange(w)
    in_rows = (rows >= r[:, None]) & (rows < (r + size)[:, None])  # (N, H)
    in_cols = (cols >= c[:, None]) & (cols < (c + size)[:, None])  # (N, W)
    square = in_rows[:, :, None] & in_cols[:, None, :]  # (N, H, W)
    square = square.reshape((n,) + (1,) * (len(shape) - 3) + (h, w))  # (N, 1.., H, W)
    return np.broadcast_to(square, shape).copy()


def patch_attack(
    model: nn.Module,
    x,
    y,
    size: int,
    steps: int = 20,
    alpha: float = 0.1,
    corners=None,
    random_init: bool = True,
    rng: GeneratorLike = None,
) -> Tensor:
    """A sticker: replace a ``size`` x ``size`` square of each image by the pixel values in
    [0, 1] that raise the loss most, found by ``steps`` steps of sign gradient ascent,

        p <- clip(p + alpha * sign(g restricted to the square), 0, 1),

    so only the square's pixels change. ``corners`` are the squares' top-left (row, col):
    one for every image, one per image (N, 2), or None for a random place per image (see
    :func:`random_corners`). The square starts from uniform noise (``random_init``) or
    from the image's own pixels. ``rng``: None (axon's global generator) or an int seed.
    """
    alpha = _check_eps(alpha, "alpha")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    x, y = _check(x, y)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"the patch attack needs images (N, H, W) or (N, C, H, W), got shape {x.shape}"
        )
    gen = as_generator(rng)
    if corners is None:
        corners = random_corners(len(x), x.shape, size, gen)
    mask = patch_mask(x.shape, size, corners)
    x_t = x.copy()
    if random_init:
        x_t[mask] = gen.uniform(0, 1, size=int(mask.sum())).astype(x.dtype)
    step = x.dtype.type(alpha) * mask
    for _ in range(int(steps)):
        g, _ = input_gradient(model, x_t, y)
        x_t = np.where(mask, np.clip(x_t + step * np.sign(g), 0, 1), x)
    return _wrap(x_t.astype(x.dtype, copy=False))
