"""Batches for the training loops: data given to ``fit`` as a loader of batches
(:func:`as_loader`), a batch split into the model's inputs and the target, sizes, and the
move of a batch to the model's device (:func:`to_device`).

A batch is ``(x, y)`` or ``(x1, x2, ..., y)``: the last item is the target, the items before
it the model's inputs; inputs and targets may be dicts by name (several inputs or outputs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import backend as B
from ..autograd.tensor import Tensor, _host, _wrap
from ..backend.device import check_device

__all__ = [
    "as_loader",
    "batch_device",
    "batch_len",
    "inputs_only",
    "is_array",
    "split_batch",
    "to_array",
    "to_device",
    "to_tensor",
]


def is_array(x) -> bool:
    """A Tensor or an array of a backend (a NumPy array, a device's array)."""
    return isinstance(x, Tensor) or B.of(x) is not None


def _as_input_array(x):
    """A float array that is not the default dtype is cast to it (as Keras casts to
    floatx); Tensors are kept as they are."""
    if B.of(x) is not None and x.dtype.kind == "f" and x.dtype != B.get_default_dtype():
        return x.astype(B.get_default_dtype())
    return x


def _leaves(tree) -> list | None:
    """The arrays of a nested tuple/list/dict of arrays, in order; None if anything else."""
    if is_array(tree):
        return [tree]
    items = (
        tree.values()
        if isinstance(tree, dict) and tree
        else tree
        if isinstance(tree, tuple | list) and tree
        else None
    )
    if items is None:
        return None
    out = []
    for item in items:
        sub = _leaves(item)
        if sub is None:
            return None
        out.extend(sub)
    return out


def _rebuild(tree, leaves):
    """``tree`` with its arrays replaced, in order, by the next items of ``leaves``."""
    if is_array(tree):
        return next(leaves)
    if isinstance(tree, dict):
        return {k: _rebuild(v, leaves) for k, v in tree.items()}
    return type(tree)(_rebuild(v, leaves) for v in tree)


class _NestedBatches:
    """Batches of nested arrays: the leaves batched together by a DataLoader (its fast
    path), each batch put back into the structure of ``tree``."""

    def __init__(self, loader, tree) -> None:
        self.loader = loader
        self.tree = tree

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield _rebuild(self.tree, iter(batch))

    def __getattr__(self, name: str):
        """The loader's ``state_dict`` / ``load_state_dict`` (its position), when it has them."""
        if name in ("state_dict", "load_state_dict"):
            return getattr(self.loader, name)
        raise AttributeError(name)


def as_loader(data, batch_size: int = 32, shuffle: bool = False):
    """An iterable of batches from ``data``: a DataLoader-like iterable (returned as is), a
    Dataset, or a tuple of arrays/Tensors ``(x, y)`` batched with ``batch_size`` and
    ``shuffle``. In the tuple, a tuple of inputs is spread (``((x1, x2), y)`` gives
    batches ``(x1, x2, y)``); dicts of arrays (inputs or targets by name) and the target
    keep their structure (``({"a": xa, "b": xb}, (y1, y2))``)."""
    from ..data import DataLoader, Dataset, TensorDataset

    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if is_array(data) or isinstance(data, dict):
        data = (data,)
    if isinstance(data, tuple) and data:
        fields = []
        for i, item in enumerate(data):
            spread = isinstance(item, tuple) and (i < len(data) - 1 or len(data) == 1)
            fields.extend(item if spread else (item,))
        if all(is_array(f) for f in fields):
            arrays = [_as_input_array(f) for f in fields]
            return DataLoader(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle)
        leaves = _leaves(tuple(fields))
        if leaves is not None:
            arrays = [_as_input_array(f) for f in leaves]
            loader = DataLoader(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle)
            return _NestedBatches(loader, tuple(fields))
    if not isinstance(data, Iterable):
        raise TypeError(
            f"data must be a DataLoader (or any iterable of (x, y) batches), a Dataset, or a "
            f"tuple (x, y) of arrays/Tensors; got {type(data).__name__}"
        )
    return data


def split_batch(batch) -> tuple[tuple, Any]:
    """``(x, y)`` -> ``((x,), y)``; ``(x1, x2, y)`` -> ``((x1, x2), y)``."""
    if isinstance(batch, list | tuple) and len(batch) >= 2:
        return tuple(to_tensor(b) for b in batch[:-1]), to_tensor(batch[-1])
    raise TypeError(
        f"each batch must be a tuple (inputs..., target); got {type(batch).__name__}"
        + (f" of length {len(batch)}" if isinstance(batch, list | tuple) else "")
    )


def inputs_only(batch, has_target: bool) -> tuple:
    """The model inputs of a predict batch: a Tensor, a dict by input name, ``(x...)``, or
    ``(x..., y)`` when the batches come from a loader of training data (y dropped)."""
    if isinstance(batch, list | tuple):
        drop = has_target and len(batch) > 1
        return tuple(to_tensor(b) for b in (batch[:-1] if drop else batch))
    return (to_tensor(batch),)


def to_tensor(x):
    """Arrays as Tensors (float arrays in the default dtype), through tuples, lists and
    dicts; Tensors and anything else as they are."""
    if isinstance(x, Tensor):
        return x
    if B.of(x) is not None:
        return _wrap(_as_input_array(x))
    if isinstance(x, dict):
        return {k: to_tensor(v) for k, v in x.items()}
    if isinstance(x, tuple | list) and any(B.of(v) is not None for v in x):
        return type(x)(to_tensor(v) for v in x)
    return x


def batch_device(model, device=None):
    """The device ``fit``, ``evaluate`` and ``predict`` move each batch to: ``device``
    when given, else the model's (its first parameter's); None for the CPU, where batches
    are used as they come."""
    if device is None:
        first = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        device = None if first is None else first.device
    return check_device(device)


def to_device(batch, device):
    """``batch`` with its Tensors and arrays (through tuples, lists and dicts) moved to
    ``device`` as Tensors (``Tensor.to``: those already there are kept); anything else as
    it is."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if B.of(batch) is not None:
        return to_tensor(batch).to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def batch_len(x) -> int:
    """The number of samples in a target: its first dimension, that of the first target
    of a dict or tuple of them, else its length."""
    if isinstance(x, dict) and x:
        return batch_len(next(iter(x.values())))
    if isinstance(x, tuple | list) and x and getattr(x[0], "shape", None):
        return int(x[0].shape[0])
    shape = getattr(x, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(x)
    except TypeError:
        return 1


def to_array(x):
    """The array of a Tensor (on its device), or anything array-like as a host array."""
    return x.array if isinstance(x, Tensor) else _host(x)
