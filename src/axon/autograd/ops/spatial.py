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
