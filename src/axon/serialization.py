"""``save`` and ``load``: state dicts as safetensors files, written atomically, never pickled.

A safetensors file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw bytes. Reading one runs no code, so a
file from anywhere is safe to open; the same file opens in PyTorch with
``safetensors.torch.load_file``.

``save`` writes to a temporary file beside the target, flushes and fsyncs it, then renames
it over the target with ``os.replace``: a crash or an error midway leaves the previous file
whole.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Mapping

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from .autograd.tensor import Tensor, _wrap

PathLike = str | os.PathLike

# dtypes safetensors stores (complex128 and object arrays are not among them)
_SAVABLE_KINDS = "biuf"


def _to_arrays(obj: Mapping) -> dict[str, np.ndarray]:
    """Check a flat ``{name: Tensor | ndarray}`` mapping and return contiguous arrays."""
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save expects a dict of name -> Tensor or NumPy array (a state_dict), "
            f"got {type(obj).__name__}"
        )
    arrays = {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r} ({type(name).__name__})")
        if isinstance(value, Tensor):
            value = value.array
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"save: {name!r} is a {type(value).__name__}; only Tensors and NumPy arrays "
                f"can be saved (nested dicts and Python objects are not supported)"
            )
        if value.dtype.kind not in _SAVABLE_KINDS:
            raise TypeError(
                f"save: {name!r} has dtype {value.dtype}, which safetensors cannot store"
            )
        # safetensors.numpy reads raw memory: a transposed view would be written scrambled.
        # (not np.ascontiguousarray: it turns a 0-d array into shape (1,))
        arrays[name] = value if value.flags.c_contiguous else value.copy(order="C")
    return arrays


def _check_metadata(metadata: Mapping | None) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError(f"save: metadata must be a dict of str -> str, got {metadata!r:.200}")
    return dict(metadata)


def save(
    obj: Mapping[str, Tensor | np.ndarray],
    path: PathLike,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write a flat ``{name: Tensor | ndarray}`` dict to ``path`` in safetensors format.

    Args:
        obj: a state dict; Tensors are saved by value (their grad and graph are not).
        path: the file to write; its directory must exist.
        metadata: optional text notes stored in the header (read back by
            :func:`load_metadata`).

    The write is atomic: the new file appears complete or not at all.
    """
    payload = safetensors.numpy.save(_to_arrays(obj), metadata=_check_metadata(metadata))
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save {path!r}: directory {directory!r} does not exist")
    # O_EXCL with a random name: a fresh file, with the umask's usual permissions
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_path(path: PathLike) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a safetensors file")
    return path


def _what_it_looks_like(path: str) -> str:
    """A hint for a file that is not safetensors: which common format its first bytes match."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        return "; it looks like a zip archive, e.g. a torch.save .pt file, which axon does not read"
    if head[:1] == b"\x80":
        return "; it looks like a pickle, and axon never unpickles files"
    if head[:6] == b"\x93NUMPY":
        return "; it looks like a NumPy .npy file"
    if len(head) < 8:
        return f"; the file is only {len(head)} bytes long"
    return ""


_REASONS = {
    "header too large": "its first 8 bytes do not give a plausible header length",
    "header too small": "it is too short to hold a header",
    "invalid header length": "it ends before its header does",
    "incomplete metadata, file not fully covered": (
        "its size does not match its header: truncated, or with bytes appended"
    ),
}


@contextlib.contextmanager
def _open(path: PathLike):
    """``safetensors.safe_open`` with its errors turned into ones that name the file."""
    path = _check_path(path)
    try:
        with safetensors.safe_open(path, framework="np") as f:
            yield f
    except SafetensorError as e:
        reason = str(e).split(": ", 1)[-1]
        reason = _REASONS.get(reason, reason)
        raise ValueError(
            f"{path!r} is not a valid safetensors file ({reason}){_what_it_looks_like(path)}"
        ) from None
    except (TypeError, KeyError) as e:  # a dtype NumPy has no type for, e.g. bfloat16
        raise ValueError(
            f"{path!r} holds a tensor NumPy cannot represent ({e}); convert it, e.g. to "
            f"float32, before saving"
        ) from None


def load(path: PathLike) -> dict[str, Tensor]:
    """Read a safetensors file into ``{name: Tensor}`` (dtypes kept, nothing requires grad).

    Keys come back in sorted order (safetensors does not record insertion order).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a complete safetensors file (truncated, corrupt, or
            another format such as a pickle); nothing in it is executed.
    """
    with _open(path) as f:
        # get_tensor copies out of the memory map: each array is writable and apart from the file
        return {name: _wrap(f.get_tensor(name)) for name in f.keys()}


def load_metadata(path: PathLike) -> dict[str, str]:
    """The text metadata stored in a safetensors file's header (empty if none)."""
    with _open(path) as f:
        return dict(f.metadata() or {})
