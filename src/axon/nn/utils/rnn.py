"""Variable-length batches for the recurrent layers, with PyTorch's names and layouts.

A batch of sequences of different lengths is either *padded* (one (T, B, *) tensor,
shorter sequences filled up with a padding value, plus their lengths) or *packed*
(:class:`PackedSequence`: the real steps only, time-major: all sequences' step 0, then
all step-1s of the sequences that have one, ...; ``batch_sizes[t]`` says how many
sequences are still running at step t, with the batch sorted by decreasing length).

``RNN``, ``LSTM`` and ``GRU`` accept a ``PackedSequence``: internally they unpack it to
the padded tensor and run each step on the first ``batch_sizes[t]`` sequences only, so
a sequence's state freezes after its last real step and padded steps change neither
outputs nor gradients. Everything here is differentiable (gradients flow back through
packing and unpacking to the padded input).

Lengths, ``batch_sizes`` and the orders are host arrays, as torch keeps them on the CPU; the
data, its padding and the masks that index it live on the data's device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ...autograd import ops
from ...autograd.creation import cat, stack
from ...autograd.tensor import Tensor, _host, _placed, _wrap
from ...backend import float32, float64, int64, namespace
from ...backend.numpy import cpu

_hx = cpu.xp  # the host's namespace: lengths, batch sizes and orders are host arrays

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


def _ints(x):
    """An int64 host array from a Tensor, list or array of integers (of any device)."""
    return _host(x.array if isinstance(x, Tensor) else x).astype(int64, copy=False).reshape(-1)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation: ``out[permutation[i]] = i``."""
    if permutation is None:
        return None
    perm = _ints(permutation)
    out = _hx.empty_like(perm)
    out[perm] = _hx.arange(perm.size)
    return _wrap(out)


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """The real steps of a batch of sequences, time-major (PyTorch's layout).

    Fields: ``data`` (sum of lengths, *), ``batch_sizes`` (T,) int64, the number of
    sequences running at each step; ``sorted_indices`` (the order that sorted the batch
    by decreasing length, or ``None``) and ``unsorted_indices`` (its inverse). Made by
    :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.
    """

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            raise ValueError(
                "PackedSequence needs batch_sizes; build one with "
                "pack_padded_sequence or pack_sequence"
            )
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Cast ``data`` (``.to(dtype)``); the index tensors stay as they are."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, *self[1:])

    def float(self) -> PackedSequence:
        return self.to(float32)

    def double(self) -> PackedSequence:
        return self.to(float64)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _step_mask(batch_sizes, total_length: int):
    """(total_length, B) bool host array: True where sequence b has a real step t."""
    B = int(batch_sizes[0])
    mask = _hx.zeros((total_length, B), dtype=bool)
    mask[: len(batch_sizes)] = _hx.arange(B)[None, :] < batch_sizes[:, None]
    return mask


def pack_padded_sequence(
    input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences
    with the given ``lengths``. With ``enforce_sorted`` the lengths must be decreasing;
    otherwise the batch is sorted here and the order is remembered in the result."""
    lengths = _ints(lengths)
    if input.ndim < 2:
        raise ValueError(
            f"pack_padded_sequence: input must have at least 2 dimensions, "
            f"got shape {tuple(input.shape)}"
        )
    x = input.transpose(0, 1) if batch_first else input  # (T, B, *)
    T, B = x.shape[0], x.shape[1]
    if lengths.size != B:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got "
            f"{lengths.size} (batch_size={B})"
        )
    if (lengths <= 0).any():
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an "
            f"element in 'lengths' that is <= 0: {lengths.tolist()}"
        )
    if lengths.max() > T:
        raise RuntimeError(
            f"a length of {int(lengths.max())} exceeds the padded length {T} "
            f"of the input (shape {tuple(input.shape)})"
        )
    sorted_indices = None
    if enforce_sorted:
        if (lengths[1:] > lengths[:-1]).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                f"pack_sequence to sidestep this requirement (got {lengths.tolist()})."
            )
    else:
        order = _hx.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _wrap(order)
        x = x.index_select(1, order)  # (T, B, *) sorted by decreasing length
    steps = _hx.arange(int(lengths[0]))
    batch_sizes = (lengths[None, :] > steps[:, None]).sum(axis=1)  # (T',) running at t
    mask = _placed(_step_mask(batch_sizes, T), x.device)  # (T, B), beside the data
    data = x[mask]  # (sum of lengths, *): time-major, as PyTorch packs
    return PackedSequence(data, _wrap(batch_sizes.astype(int64)), sorted_indices, None)


def _unpack(sequence: PackedSequence, total_length: int, padding_value: float):
    """The padded (total_length, B, *) tensor of a packed batch, still sorted, and the
    (total_length, B) mask of real steps (on the data's device)."""
    batch_sizes = _ints(sequence.batch_sizes)
    data = sequence.data
    mask = _placed(_step_mask(batch_sizes, total_length), data.device)
    base = namespace(data.array).full(
        (total_length, int(batch_sizes[0]), *data.shape[1:]), padding_value, dtype=data.dtype
    )
    return ops.IndexPut.apply(_wrap(base), mask, data), mask


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: returns the padded batch (T, B, *) (or
    (B, T, *)) in the original batch order, and the lengths (B,) int64."""
    T = len(sequence.batch_sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence "
                f"in input, but got total_length={total_length} and max sequence length "
                f"being {T}"
            )
        T = total_length
    padded, _ = _unpack(sequence, T, padding_value)  # (T, B, *), sorted order
    lengths = _step_mask(_ints(sequence.batch_sizes), T).sum(axis=0).astype(int64)
    if sequence.unsorted_indices is not None:
        unsort = _ints(sequence.unsorted_indices)
        padded = padded.index_select(1, unsort)
        lengths = lengths[unsort]
    if batch_first:
        padded = padded.transpose(0, 1)  # (B, T, *)
    return padded, _wrap(lengths)


def pad_sequence(
    sequences: Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shapes (L_i, *) into one (T, B, *) tensor (or (B, T, *) with
    ``batch_first``), T = max L_i, filling with ``padding_value`` on ``padding_side``."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    T = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        short = T - s.shape[0]
        if short:
            xp = namespace(s.array)
            fill = _wrap(xp.full((short, *s.shape[1:]), padding_value, dtype=s.dtype))
            s = cat([s, fill] if padding_side == "right" else [fill, s], 0)
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences (L_i, *)."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)  # (B, T, *)
    return [x[b, : int(n)] for b, n in enumerate(_ints(lengths))]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *): ``pad_sequence`` then ``pack_padded_sequence``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences (L_i, *) in a packed batch, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


# ------------------------------------------------------------ used by the RNN modules


def _from_packed(sequence: PackedSequence) -> tuple:
    """(padded (T, B, *) with zeros, batch_sizes (host), (T, B) mask of real steps (on the
    data's device))."""
    padded, mask = _unpack(sequence, len(sequence.batch_sizes), 0.0)
    return padded, _ints(sequence.batch_sizes), mask


def _to_packed(output: Tensor, mask, like: PackedSequence) -> PackedSequence:
    """Pack a padded (T, B, *) output with the layout and orders of ``like``."""
    return PackedSequence(
        output[mask], like.batch_sizes, like.sorted_indices, like.unsorted_indices
    )
