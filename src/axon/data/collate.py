"""Collation: turning a list of samples into a batch, as ``torch.utils.data.default_collate``.

``default_collate`` stacks field by field: Tensors and NumPy arrays along a new first
dimension, Python ints into int64, floats into float64 and bools into bool Tensors, strings
into a list; it recurses through dicts (a dict of batches), named tuples (the same named
tuple), tuples (a list, as torch) and lists. ``default_convert`` is what a loader with
``batch_size=None`` applies to each sample: arrays become Tensors, nothing is stacked.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor, _wrap

_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_string_array(a: np.ndarray) -> bool:
    return a.dtype.kind in "SaUO"  # strings and objects, which make no Tensor


def _stack(arrays: list, what: str) -> Tensor:
    """Stack same-shaped arrays along a new first dimension (a copy)."""
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(
            f"default_collate: stack expects each {what} to be equal size, but the batch holds "
            f"shapes {sorted(shapes)}; pad them to one shape or pass a collate_fn"
        )
    return _wrap(np.stack(arrays))


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, field by field (see the module doc).

    The result never requires grad.
    """
    if len(batch) == 0:
        raise IndexError("default_collate: the batch is empty (no sample to collate)")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([x.array for x in batch], "tensor")
    if isinstance(elem, np.ndarray):
        if _is_string_array(elem):
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return _stack(list(batch), "array")
    if isinstance(elem, np.generic):  # NumPy scalars keep their dtype
        if _is_string_array(np.asarray(elem)):
            raise TypeError(_COLLATE_ERROR.format(type(elem)))
        return _wrap(np.asarray(batch))
    if isinstance(elem, bool):
        return _wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return _wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, float):
        return _wrap(np.asarray(batch, dtype=np.float64))  # as torch: float64, not float32
    if isinstance(elem, str | bytes):
        return list(batch)
    if isinstance(elem, Mapping):
        fields = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        if isinstance(elem, MutableMapping):  # keep the mapping's type (OrderedDict...)
            clone = copy.copy(elem)
            clone.update(fields)
            return clone
        return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(f)) for f in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        n = len(elem)
        if any(len(sample) != n for sample in batch):
            raise RuntimeError(
                f"default_collate: each element in list of batch should be of equal size; "
                f"the samples have {sorted({len(s) for s in batch})} fields"
            )
        fields = [default_collate(list(f)) for f in zip(*batch, strict=True)]
        if isinstance(elem, MutableSequence) and not isinstance(elem, list):
            clone = copy.copy(elem)
            for i, f in enumerate(fields):
                clone[i] = f
            return clone
        return fields  # tuples and lists both give a list, as torch
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Each NumPy array (or scalar) inside ``data`` as a Tensor; everything else as is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray | np.generic):
        return data if _is_string_array(np.asarray(data)) else _wrap(np.asarray(data))
    if isinstance(data, Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        if isinstance(data, MutableMapping):
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple | list):
        return [default_convert(d) for d in data]
    return data
