"""Shape helpers shared by the convolution, pooling and resampling ops: checking the
rank of an image input, and viewing it batched (and 1-D as 2-D) then back.
"""

from __future__ import annotations


def to_4d(a, nd: int):
    """View an (N, C, *S) or unbatched (C, *S) array with ``len(S) == nd`` (1 or 2) as
    (N, C, H, W); a 1-D signal gets H = 1."""
    if a.ndim == nd + 1:
        a = a[None]  # (C, *S) -> (1, C, *S)
    if nd == 1:
        a = a[:, :, None]  # (N, C, L) -> (N, C, 1, L)
    return a


def check_input_dims(name: str, x, nd: int) -> None:
    """Raise PyTorch's error unless ``x`` is an unbatched or batched ``nd``-D image."""
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
            f"input of shape {x.shape}"
        )


def batched(name: str, x, nd: int):
    """``x`` (N, C, *S) as it is, or an unbatched (C, *S) as a batch of one (``nd`` =
    len(S)); any other rank raises."""
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{name}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D "
            f"(batched) input, got input of shape {x.shape}"
        )
    return x if x.ndim == nd + 2 else x[None]


def unbatch(y, x_shape: tuple, nd: int):
    """The inverse of :func:`batched` for an output ``y``, given the input's shape."""
    return y if len(x_shape) == nd + 2 else y[0]


def channel_major_padded(backend, x, padding: tuple, fill, tag: str, extra: tuple | None = None):
    """``x`` (N, C, *S) as a channel-major (C, N, *padded) array of ``backend`` (its
    :meth:`~axon.backend.base.Backend.padded`), ``padding`` cells of ``fill`` on each side
    of each axis and ``extra`` more at the end (ceil-mode pooling)."""
    extra = extra or (0,) * len(padding)
    size = tuple(s + 2 * p + e for s, p, e in zip(x.shape[2:], padding, extra, strict=True))
    return backend.padded(x.swapaxes(0, 1), tuple(padding), size, fill, tag)


def crop(x_padded, padding: tuple, size: tuple):
    """The (C, N, *size) interior of a padded (C, N, *padded) array, as (N, C, *size)."""
    inner = tuple(slice(p, p + s) for p, s in zip(padding, size, strict=True))
    return x_padded[(slice(None), slice(None), *inner)].swapaxes(0, 1)
