"""``save`` and ``load``: checkpoints as safetensors files, written atomically, never pickled.

``ax.save(obj, f)`` takes what ``torch.save`` is used for: a model's ``state_dict()``, an
optimizer's or a scheduler's, or a checkpoint dict nesting them with numbers and strings
(``{"epoch": 3, "model": ..., "optimizer": ..., "loss": 0.1}``). ``f`` is a path or an
open binary file (``io.BytesIO`` too).

A safetensors file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw bytes. Reading one runs no code, so a
file from anywhere is safe to open; the same file opens in PyTorch with
``safetensors.torch.load_file``. The tensors of ``obj`` are stored as the file's tensors
(a state dict's under its own names, so any safetensors reader sees a plain state dict);
everything around them (dicts with str or int keys, lists, tuples, numbers, strings) is
written as JSON into the header's text metadata under ``"__axon_structure__"``, where a
tensor is a reference to its name. :func:`load` rebuilds the object with the same types:
a tuple stays a tuple, an int key an int, a NumPy array an array, a Tensor a Tensor with
its dtype, shape and ``requires_grad``. A file without that entry (written by another
program) loads as ``{name: Tensor}``.

A path is written to a temporary file beside the target, flushed and fsynced, then
renamed over the target with ``os.replace``: a crash or an error midway leaves the
previous file whole.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import struct
import uuid
from collections import Counter, OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from .autograd.tensor import Tensor, _wrap

PathLike = str | os.PathLike

# the metadata entry holding the saved object's structure as JSON
STRUCTURE_KEY = "__axon_structure__"

# dtypes safetensors stores (complex128 and object arrays are not among them)
_SAVABLE_KINDS = "biuf"

# dict types rebuilt as themselves (any other Mapping is saved as a plain dict)
_DICT_TYPES = {"dict": dict, "OrderedDict": OrderedDict, "Counter": Counter}


# ----------------------------------------------------------------------------- encoding
class _Encoder:
    """Turns an object into JSON-ready data, collecting its arrays under unique names.

    JSON's own values stand for themselves (strings, finite floats, ints, bools, None, and
    lists); everything else is a one-key object whose key says what it is:
    ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}`` (keys encoded like values, so
    an int key stays an int), ``{"float": "nan"}``, ``{"bytes": base64}``,
    ``{"tensor": name}`` (``"requires_grad"``/``"parameter"`` beside it when set),
    ``{"ndarray": name}`` and ``{"scalar": name}`` (a NumPy scalar, as a 0-d array).
    """

    def __init__(self, share: bool = True) -> None:
        self.share = share  # store an object met twice once (loaded back as one object)
        self.arrays: dict[str, np.ndarray] = {}
        self.names: dict[int, str] = {}  # id of a Tensor/array already stored -> its name
        self.keep: list = []  # the objects behind ``names``, kept alive so ids stay unique

    def encode(self, obj: Any, path: tuple) -> Any:
        if obj is None or isinstance(obj, str | bool):
            return obj
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._store(obj, obj, path)}
        if isinstance(obj, np.generic):  # before float: np.float64 is a float
            return {"scalar": self._store(obj, np.asarray(obj), path)}
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, bytes):
            return {"bytes": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, list):
            return [self.encode(v, (*path, i)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, (*path, i)) for i, v in enumerate(obj)]}
        if isinstance(obj, Mapping):
            return self._mapping(obj, path)
        raise TypeError(_refusal(obj, path))

    def _tensor(self, t: Tensor, path: tuple) -> dict:
        out = {"tensor": self._store(t, t.array, path)}
        if t.requires_grad:
            out["requires_grad"] = True
        from .nn.module import Parameter  # lazily, as _refusal: axon.nn loads much of axon

        if isinstance(t, Parameter):
            out["parameter"] = True
        return out

    def _mapping(self, obj: Mapping, path: tuple) -> dict:
        items = []
        for key, value in obj.items():
            if not isinstance(key, str | int | float | bool | type(None) | tuple):
                raise TypeError(
                    f"save: the key {key!r} at {_where(path)} is a {type(key).__name__}; "
                    f"dict keys must be str, int, float, bool, None or tuples of them"
                )
            items.append([self.encode(key, (*path, "<key>")), self.encode(value, (*path, key))])
        kind = next((k for k, cls in _DICT_TYPES.items() if type(obj) is cls), "dict")
        return {kind: items}

    def _store(self, owner, array: np.ndarray, path: tuple) -> str:
        """Add ``array`` under a fresh name (once per object: shared tensors stay shared)."""
        if self.share and id(owner) in self.names:
            return self.names[id(owner)]
        if array.dtype.kind not in _SAVABLE_KINDS:
            raise TypeError(
                f"save: {_where(path)} has dtype {array.dtype}, which safetensors cannot store"
            )
        name = ".".join(str(p) for p in path) or "tensor"
        base, n = name, 1
        while name in self.arrays:
            n += 1
            name = f"{base}#{n}"
        # safetensors.numpy reads raw memory: a transposed view would be written scrambled.
        # (not np.ascontiguousarray: it turns a 0-d array into shape (1,))
        self.arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
        self.names[id(owner)] = name
        self.keep.append(owner)
        return name


def _where(path: tuple) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


def _refusal(obj: Any, path: tuple) -> str:
    """Why ``obj`` cannot be saved, and what to save instead."""
    from .nn.module import Module
    from .optim.optimizer import Optimizer

    kind = type(obj).__name__
    if isinstance(obj, Module | Optimizer) or hasattr(obj, "state_dict"):
        what = "a Module" if isinstance(obj, Module) else "an object"
        return (
            f"save: cannot save {what} ({kind}) at {_where(path)}: axon never pickles "
            f"objects; save its state_dict() instead, e.g. ax.save(model.state_dict(), f), "
            f"and load it back with load_state_dict(ax.load(f))"
        )
    return (
        f"save: cannot save a {kind} at {_where(path)}: axon saves dicts, lists, tuples, "
        f"str, int, float, bool, None, bytes, Tensors and NumPy arrays (it never pickles); "
        f"save the object's state_dict() or its data instead"
    )


# ----------------------------------------------------------------------------- decoding
class _Decoder:
    """Rebuilds an object from :class:`_Encoder`'s JSON and the file's arrays."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.made: dict[tuple, Any] = {}  # (kind, name) -> the object, so sharing survives

    def decode(self, data: Any) -> Any:
        if data is None or isinstance(data, str | bool | int | float):
            return data
        if isinstance(data, list):
            return [self.decode(v) for v in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise ValueError(f"unexpected entry {data!r:.80}")
        if "tensor" in data:
            return self._shared("tensor", data["tensor"], lambda a: self._tensor(a, data))
        if "ndarray" in data:
            return self._shared("ndarray", data["ndarray"], lambda a: a)
        if "scalar" in data:
            return self._shared("scalar", data["scalar"], lambda a: a[()])
        ((kind, value),) = data.items()
        if kind == "tuple":
            return tuple(self.decode(v) for v in value)
        if kind == "float":
            return float(value)
        if kind == "bytes":
            return base64.b64decode(value)
        if kind in _DICT_TYPES:
            out = _DICT_TYPES[kind]()  # filled by item: Counter(pairs) would count the pairs
            for k, v in value:
                out[self.decode(k)] = self.decode(v)
            return out
        raise ValueError(f"unknown entry kind {kind!r}")

    def _shared(self, kind: str, name: str, make) -> Any:
        if (kind, name) not in self.made:
            if name not in self.arrays:
                raise ValueError(f"it refers to a tensor {name!r} that the file does not hold")
            self.made[kind, name] = make(self.arrays[name])
        return self.made[kind, name]

    @staticmethod
    def _tensor(array: np.ndarray, data: dict) -> Tensor:
        requires_grad = bool(data.get("requires_grad", False))
        if data.get("parameter"):
            from .nn.module import Parameter

            return Parameter(array, requires_grad=requires_grad)
        return _wrap(array, requires_grad)


# ----------------------------------------------------------------------------- saving
def _check_metadata(metadata: Mapping | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError(f"save: metadata must be a dict of str -> str, got {metadata!r:.200}")
    if STRUCTURE_KEY in metadata:
        raise ValueError(f"save: the metadata key {STRUCTURE_KEY!r} is axon's own")
    return dict(metadata)


def _is_state_dict(obj: Any) -> bool:
    """True for a flat ``{str: Tensor | ndarray}`` dict, such as ``model.state_dict()``."""
    return isinstance(obj, Mapping) and all(
        isinstance(k, str) and isinstance(v, Tensor | np.ndarray) for k, v in obj.items()
    )


def _payload(obj: Any, metadata: Mapping[str, str] | None) -> bytes:
    """The whole file's bytes for ``obj``.

    A flat state dict's tensors are named by its keys (each path is one key) and each is
    stored even when two keys hold the same tensor, so that any safetensors reader sees
    the complete state dict.
    """
    notes = _check_metadata(metadata)
    encoder = _Encoder(share=not _is_state_dict(obj))
    structure = encoder.encode(obj, ())
    notes[STRUCTURE_KEY] = json.dumps(structure, allow_nan=False, separators=(",", ":"))
    return safetensors.numpy.save(encoder.arrays, metadata=notes)


def save(obj: Any, f: PathLike | Any, *, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``obj`` (a state dict, or any nesting of dicts, lists, tuples, numbers, strings,
    None and Tensors / NumPy arrays) to ``f``, a path or a binary file object.

    Args:
        obj: what to save; Tensors are saved by value with their ``requires_grad`` (their
            grad and graph are not). A Module, an optimizer or another Python object is
            refused with a ``TypeError``: save its ``state_dict()``.
        f: a path (str or ``os.PathLike``, its directory must exist) or an object with
            ``write`` (an open binary file, ``io.BytesIO``).
        metadata: optional text notes stored in the header (read back by
            :func:`load_metadata`).

    Writing to a path is atomic: the new file appears complete or not at all.
    """
    payload = _payload(obj, metadata)
    if hasattr(f, "write"):
        f.write(payload)
        return
    if not isinstance(f, str | os.PathLike):
        raise TypeError(f"save: f must be a path or a binary file object, got {type(f).__name__}")
    _write_atomically(payload, os.fspath(f))


class MissingDirectoryError(FileNotFoundError, RuntimeError):
    """The directory to save into does not exist: a ``RuntimeError`` as torch.save raises,
    and a ``FileNotFoundError`` as Python's ``open`` would."""


def _write_atomically(payload: bytes, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise MissingDirectoryError(f"Parent directory {directory} does not exist.")
    # O_EXCL with a random name: a fresh file, with the umask's usual permissions
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
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


# ----------------------------------------------------------------------------- loading
def _check_path(path: PathLike) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a safetensors file")
    return path


def _what_it_looks_like(head: bytes) -> str:
    """A hint for a file that is not safetensors: which common format its first bytes match."""
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
def _readable(name: str, head: bytes):
    """Turn safetensors' errors inside the block into ones that name the file."""
    try:
        yield
    except SafetensorError as e:
        reason = str(e).split(": ", 1)[-1]
        reason = _REASONS.get(reason, reason)
        raise ValueError(
            f"{name!r} is not a valid safetensors file ({reason}){_what_it_looks_like(head)}"
        ) from None
    except (TypeError, KeyError) as e:  # a dtype NumPy has no type for, e.g. bfloat16
        raise ValueError(
            f"{name!r} holds a tensor NumPy cannot represent ({e}); convert it, e.g. to "
            f"float32, before saving"
        ) from None


def _read_path(path: PathLike) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """``(name, arrays, metadata)`` of a safetensors file on disk."""
    path = _check_path(path)
    with open(path, "rb") as file:
        head = file.read(8)
    with _readable(path, head), safetensors.safe_open(path, framework="np") as f:
        # get_tensor copies out of the memory map: each array is writable and apart from the file
        return path, {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def _read_bytes(data: bytes, name: str) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """``(name, arrays, metadata)`` of a safetensors file's bytes."""
    with _readable(name, data[:8]):
        arrays = safetensors.numpy.load(data)
    # valid, so the header is JSON of the stated length
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    arrays = {k: a if a.flags.writeable else a.copy() for k, a in arrays.items()}
    return name, arrays, dict(header.get("__metadata__") or {})


def _read(f: PathLike | Any) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    if hasattr(f, "read"):
        name = str(getattr(f, "name", f"<{type(f).__name__}>"))
        data = f.read()
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"load: {name!r} must be opened in binary mode ('rb')")
        name, arrays, metadata = _read_bytes(bytes(data), name)
    elif isinstance(f, str | os.PathLike):
        name, arrays, metadata = _read_path(f)
    else:
        raise TypeError(f"load: f must be a path or a binary file object, got {type(f).__name__}")
    for key, a in arrays.items():
        # NumPy reads bfloat16 only where ml_dtypes is imported (as a 'V' kind axon cannot
        # compute with): refused either way
        if a.dtype.kind not in _SAVABLE_KINDS:
            raise ValueError(
                f"{name!r} holds a tensor NumPy cannot represent ({key!r} is {a.dtype}); "
                f"convert it, e.g. to float32, before saving"
            )
    return name, arrays, metadata


def load(f: PathLike | Any, map_location: Any = None, weights_only: bool = True, *,
         mmap: bool | None = None) -> Any:
    """Read what :func:`save` wrote, from a path or a binary file object.

    Returns the saved object with its types (dicts with their key types and order, lists,
    tuples, numbers, strings, Tensors with their dtype, shape and ``requires_grad``, NumPy
    arrays). A safetensors file written by another program loads as ``{name: Tensor}``.

    ``map_location`` is accepted for PyTorch programs and ignored: axon's tensors live in
    CPU memory. ``weights_only`` and ``mmap`` are accepted too: axon only ever reads data,
    never code, and a file on disk is read through a memory map anyway.

    Raises:
        FileNotFoundError: ``f`` does not exist.
        ValueError: the file is not a complete safetensors file (truncated, corrupt, or
            another format such as a pickle), or its structure entry is malformed; the
            message names the file. Nothing in it is executed.
    """
    del map_location, weights_only, mmap  # see above
    name, arrays, metadata = _read(f)
    if STRUCTURE_KEY not in metadata:
        return {k: _wrap(a) for k, a in arrays.items()}
    try:
        return _Decoder(arrays).decode(json.loads(metadata[STRUCTURE_KEY]))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        raise ValueError(
            f"{name!r} has a malformed {STRUCTURE_KEY!r} entry in its header ({e})"
        ) from None


def load_metadata(f: PathLike | Any) -> dict[str, str]:
    """The text notes stored with :func:`save`'s ``metadata`` (empty if none)."""
    _, _, metadata = _read(f)
    metadata.pop(STRUCTURE_KEY, None)
    return metadata
