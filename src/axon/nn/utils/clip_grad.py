"""Gradient clipping: rescale all gradients together, or clamp each element.

Both replace ``p.grad.array`` with a new array rather than writing into the old one, which
another tensor may share, computed with the namespace of the gradients' backend.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import reduce

from ...autograd import Tensor
from ...autograd.tensor import _wrap
from ...backend import namespace, promote_types


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _vector_norm(x, norm_type: float, xp):
    """The ``norm_type``-norm of all elements of ``x``, in ``x``'s dtype (``xp``: its
    namespace)."""
    x = x.ravel()
    if norm_type == 2.0:
        return xp.sqrt(xp.dot(x, x)) if x.dtype.kind == "f" else xp.linalg.norm(x)
    if norm_type in (math.inf, -math.inf):
        if x.size == 0:  # the max of nothing is 0, the min inf (CuPy's max has no initial=)
            return xp.asarray(0 if norm_type > 0 else math.inf, dtype=x.dtype)
        return xp.abs(x).max() if norm_type > 0 else xp.abs(x).min()
    if norm_type == 0:
        return xp.asarray(xp.count_nonzero(x), dtype=x.dtype)
    if norm_type == 1.0:
        return xp.abs(x).sum()
    return (xp.abs(x) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""Rescale the gradients so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one vector:
    :math:`\|g\| = (\sum_p \|g_p\|^q)^{1/q}` (for ``norm_type`` :math:`q`; ``inf`` gives
    the largest magnitude). When it exceeds ``max_norm`` every gradient is multiplied by
    ``max_norm / (norm + 1e-6)``, which keeps their direction.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed norm.
        norm_type: the :math:`q` of the norm; ``float('inf')`` for the max norm.
        error_if_nonfinite: raise if the total norm is NaN or infinite.
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        The total norm of the gradients before clipping, as a 0-d Tensor.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor(0.0)
    xp = namespace(grads[0].array)
    norms = [_vector_norm(g.array, norm_type, xp) for g in grads]
    dtype = reduce(promote_types, [g.array.dtype for g in grads])
    total = _vector_norm(xp.asarray(norms, dtype=dtype), norm_type, xp)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            f"non-finite ({total}), so it cannot be clipped. To disable this error and scale "
            f"the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = max_norm / (float(total) + 1e-6)
    if coef < 1.0 or math.isnan(coef):  # a NaN norm makes the gradients NaN, as in torch
        for g in grads:
            g.array = g.array * coef
    return _wrap(xp.asarray(total, dtype=dtype))


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped.
        clip_value: the largest allowed magnitude.
        foreach: accepted for PyTorch compatibility; ignored.
    """
    clip_value = float(clip_value)
    for g in _grads(parameters):
        g.array = namespace(g.array).clip(g.array, -clip_value, clip_value)
