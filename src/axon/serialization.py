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

Every file axon writes carries a SHA-256 in its metadata (``"__axon_sha256__"``) of the
tensor table (names, dtypes, shapes, byte ranges), the other metadata entries (the
structure among them) and the payload: a flipped bit, a relabelled dtype or swapped
offsets is refused on load with a ``ValueError`` naming the file, instead of loading
wrong weights. Files without it (written by other programs) load as before. The reader is
axon's own and checks everything safetensors checks, so any bytes either load exactly as
saved or raise a ``ValueError``; only regular files are opened (a FIFO or a device is
refused before it is touched).

A path is written to a temporary file beside the target (``.NAME.<hex>.tmp``), flushed
and fsynced, then renamed over the target with ``os.replace``: a crash or an error midway
leaves the previous file whole, and the temporary files that killed saves leave behind
are removed by the next save of the same target once a minute old. A symlinked target is
written through (the link stays); an existing file keeps its permission bits; a read-only
one is refused, as ``torch.save`` refuses it.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import hmac
import json
import math
import mmap
import os
import re
import stat
import struct
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .autograd.tensor import Tensor, _host, _placed, _wrap
from .backend.base import for_device, of

PathLike = str | os.PathLike

# the metadata entry holding the saved object's structure as JSON
STRUCTURE_KEY = "__axon_structure__"
# the metadata entry holding the SHA-256 of everything else in the file (see _digest)
CHECKSUM_KEY = "__axon_sha256__"

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
        if of(obj) is not None:  # another backend's array: written from host memory
            return {"ndarray": self._store(obj, _host(obj), path)}
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
        out = {"tensor": self._store(t, _host(t.array), path)}  # host memory, any device
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
        if array.dtype.newbyteorder("=") not in _CODES:  # bool, ints, floats (see _CODES)
            raise TypeError(
                f"save: {_where(path)} has dtype {array.dtype}, which safetensors cannot store"
            )
        name = ".".join(str(p) for p in path) or "tensor"
        base, n = name, 1
        while name in self.arrays or name == "__metadata__":  # the header's own key
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

    def __init__(self, arrays: Mapping[str, np.ndarray], device=None) -> None:
        self.arrays = arrays
        self.device = device  # where tensors go (None: host memory)
        self.made: dict[tuple, Any] = {}  # (kind, name) -> the object, so sharing survives

    def decode(self, data: Any, depth: int = 0) -> Any:
        if data is None or isinstance(data, str | bool | int | float):
            return data
        if depth > _MAX_DEPTH:
            raise ValueError(f"it is nested more than {_MAX_DEPTH} levels deep")
        depth += 1
        if isinstance(data, list):
            return [self.decode(v, depth) for v in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise ValueError(f"unexpected entry {data!r:.80}")
        if "tensor" in data:
            return self._shared(
                "tensor", data["tensor"], lambda a: self._tensor(_placed(a, self.device), data)
            )
        if "ndarray" in data:
            return self._shared("ndarray", data["ndarray"], lambda a: a)
        if "scalar" in data:
            return self._shared("scalar", data["scalar"], lambda a: a[()])
        ((kind, value),) = data.items()
        if kind == "tuple":
            return tuple(self.decode(v, depth) for v in value)
        if kind == "float":
            return float(value)
        if kind == "bytes":
            return base64.b64decode(value)
        if kind in _DICT_TYPES:
            out = _DICT_TYPES[kind]()  # filled by item: Counter(pairs) would count the pairs
            for k, v in value:
                out[self.decode(k, depth)] = self.decode(v, depth)
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


# ----------------------------------------------------------------------------- the file format
# safetensors' dtype codes for the dtypes axon stores (little-endian on disk)
_CODES = {
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.uint8): "U8",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint16): "U16",
    np.dtype(np.int16): "I16",
    np.dtype(np.float16): "F16",
    np.dtype(np.uint32): "U32",
    np.dtype(np.int32): "I32",
    np.dtype(np.float32): "F32",
    np.dtype(np.uint64): "U64",
    np.dtype(np.int64): "I64",
    np.dtype(np.float64): "F64",
}
_DTYPES = {code: dt.newbyteorder("<") for dt, code in _CODES.items()}
# codes safetensors knows that NumPy (or axon) cannot compute with
_FOREIGN = {
    "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "F8_E8M0": "float8_e8m0fnu",
    "F6_E2M3": "float6_e2m3fn",
    "F6_E3M2": "float6_e3m2fn",
    "F4": "float4_e2m1fn_x2",
    "C64": "complex64",
}
# safetensors' own bound on the header (a larger one is refused before it is read)
_MAX_HEADER = 100_000_000
# a decoded structure nested deeper than this is refused (no checkpoint comes near it,
# and it stays well inside Python's recursion limit)
_MAX_DEPTH = 200


class _Entry(NamedTuple):
    """One tensor of the file's table: its name, dtype code, shape and byte range."""

    name: str
    code: str
    shape: tuple[int, ...]
    begin: int
    end: int


def _digest(entries: list[_Entry], metadata: Mapping[str, str], payload) -> str:
    """The SHA-256 stored under :data:`CHECKSUM_KEY`: of the tensor table (every name,
    dtype, shape and byte range, sorted by name), of every other metadata entry (the
    structure JSON among them) and of the payload's bytes (a buffer or a list of them).

    The table and the metadata are hashed in a canonical JSON form, so the checksum does
    not depend on how a header's JSON is spaced or ordered, only on what it says."""
    table = json.dumps(
        [
            sorted([e.name, e.code, list(e.shape), [e.begin, e.end]] for e in entries),
            sorted([k, v] for k, v in metadata.items() if k != CHECKSUM_KEY),
        ],
        ensure_ascii=True,
        separators=(",", ":"),
    ).encode("ascii")
    h = hashlib.sha256(len(table).to_bytes(8, "little"))
    h.update(table)
    for chunk in payload if isinstance(payload, list) else [payload]:
        h.update(chunk)
    return h.hexdigest()


def _layout(arrays: Mapping[str, np.ndarray], notes: dict[str, str]) -> tuple[bytes, list]:
    """A safetensors file for ``arrays``: ``(head, chunks)``, the 8-byte length and the
    header, then the payload as a list of byte views of the arrays (nothing is copied
    but big-endian arrays, which are stored little-endian).

    Tensors are laid out by decreasing item size, then name, as safetensors lays them
    out, so every one starts aligned; the header is padded with spaces to a multiple of
    8 bytes. The header's metadata gets the checksum (:func:`_digest`)."""
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    entries, chunks, offset = [], [], 0
    for name in order:
        a = arrays[name]
        little = a.dtype.newbyteorder("<")
        if a.dtype != little:
            a = a.astype(little)
        chunk = a.reshape(-1).view(np.uint8)
        entries.append(
            _Entry(name, _CODES[a.dtype.newbyteorder("=")], a.shape, offset, offset + chunk.size)
        )
        chunks.append(chunk)
        offset += chunk.size
    notes = {**notes, CHECKSUM_KEY: _digest(entries, notes, chunks)}
    header = {"__metadata__": notes}
    for e in entries:
        header[e.name] = {"dtype": e.code, "shape": list(e.shape), "data_offsets": [e.begin, e.end]}
    text = json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text, chunks


class _Invalid(ValueError):
    """The bytes are not a valid safetensors file; the message says why (without a name)."""


def _pairs_without_duplicates(pairs: list) -> dict:
    """A JSON object of the header, refused (as safetensors refuses it) where a key
    appears twice or a string holds a lone surrogate (an escape such as \\ud800 that
    no UTF-8 text can hold)."""
    for k, v in pairs:
        for text in (k, v) if isinstance(v, str) else (k,):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise _Invalid(
                    f"its header holds a string that is not valid Unicode ({text!r:.40})"
                ) from None
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise _Invalid(f"its header names {dup!r} twice")
    return dict(pairs)


def _refuse_constant(name: str):
    raise _Invalid(f"its header holds {name}, which JSON does not allow")


def _parse_header(text: bytes, payload_size: int) -> tuple[list[_Entry], dict[str, str]]:
    """The entries and metadata of a header, checked as safetensors checks them: valid
    UTF-8 JSON object, known dtypes, non-negative int shapes, byte ranges that match the
    shapes and cover the payload exactly, in order, without gaps or overlaps."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("its header is not UTF-8 text") from None
    if not decoded.startswith("{"):
        raise _Invalid("its header does not start with '{'")
    try:
        header = json.loads(
            decoded, object_pairs_hook=_pairs_without_duplicates, parse_constant=_refuse_constant
        )
    except _Invalid:
        raise
    except (ValueError, RecursionError) as e:
        raise _Invalid(f"its header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise _Invalid("its header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is None:  # safetensors' Option: null or absent
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _Invalid("its header's __metadata__ is not a map of strings to strings")
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise _Invalid(f"the entry for {name!r} is not an object")
        code, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(code, str) or (code not in _DTYPES and code not in _FOREIGN):
            raise _Invalid(f"{name!r} has an unknown dtype {code!r:.40}")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise _Invalid(f"{name!r} has a malformed shape {shape!r:.80}")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(n) is int for n in offsets)
            and 0 <= offsets[0] <= offsets[1]
        ):
            raise _Invalid(f"{name!r} has malformed data_offsets {offsets!r:.80}")
        entries.append(_Entry(name, code, tuple(shape), offsets[0], offsets[1]))
    end = 0
    for e in sorted(entries, key=lambda e: (e.begin, e.end)):
        if e.begin != end:
            raise _Invalid(f"the byte ranges of its tensors overlap or leave a gap at {e.name!r}")
        if e.code in _DTYPES and math.prod(e.shape) * _DTYPES[e.code].itemsize != e.end - e.begin:
            raise _Invalid(
                f"{e.name!r} has shape {list(e.shape)} of {e.code}, which does not "
                f"fill its byte range {[e.begin, e.end]}"
            )
        end = e.end
    if end != payload_size:
        raise _Invalid("its size does not match its header: truncated, or with bytes appended")
    return entries, metadata


def _tensors(entries: list[_Entry], payload: np.ndarray, name: str) -> dict[str, np.ndarray]:
    """The arrays of a checked table, as writable views of ``payload`` (which the reader
    owns; a tensor not aligned for its dtype is copied)."""
    arrays = {}
    for e in sorted(entries, key=lambda e: e.name):
        if e.code in _FOREIGN:
            raise ValueError(
                f"{name!r} holds a tensor NumPy cannot represent ({e.name!r} is "
                f"{_FOREIGN[e.code]}); convert it, e.g. to float32, before saving"
            )
        try:
            a = payload[e.begin : e.end].view(_DTYPES[e.code]).reshape(e.shape)
        except (ValueError, TypeError, OverflowError) as err:  # e.g. more than 64 dims
            raise ValueError(
                f"{name!r} is not a valid safetensors file ({e.name!r} has shape "
                f"{list(e.shape)!r:.80}, which NumPy cannot make: {err})"
            ) from None
        arrays[e.name] = a if a.flags.aligned else a.copy()
    return arrays


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


def _invalid(name: str, reason: str, head: bytes) -> ValueError:
    return ValueError(
        f"{name!r} is not a valid safetensors file ({reason}){_what_it_looks_like(head)}"
    )


def _header_length(head: bytes, size: int) -> int:
    """The header length the first 8 bytes give, checked against the file's size."""
    if len(head) < 8:
        raise _Invalid("it is too short to hold a header")
    (length,) = struct.unpack("<Q", head)
    if length > _MAX_HEADER:
        raise _Invalid("its first 8 bytes do not give a plausible header length")
    if 8 + length > size:
        raise _Invalid("it ends before its header does")
    return length


def _decode_file(read, size: int, name: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``(arrays, metadata)`` of a safetensors file of ``size`` bytes, read through
    ``read(offset, n) -> buffer`` (into fresh memory for the payload). The header is read
    and checked first, so a large file that is not safetensors is refused before its
    payload is read. A checksum, where the file has one, is verified."""
    head = bytes(read(0, min(8, size)))
    try:
        length = _header_length(head, size)
        entries, metadata = _parse_header(bytes(read(8, length)), size - 8 - length)
    except _Invalid as e:
        raise _invalid(name, str(e), head) from None
    payload = read(8 + length, size - 8 - length)
    if len(payload) != size - 8 - length:
        raise _invalid(name, "it was cut short while being read", head)
    if CHECKSUM_KEY in metadata:
        saved = metadata[CHECKSUM_KEY]
        if not hmac.compare_digest(saved.encode(), _digest(entries, metadata, payload).encode()):
            raise ValueError(
                f"{name!r}: checksum mismatch: the file is corrupt or was changed after it "
                f"was saved (its {CHECKSUM_KEY} does not match its contents)"
            )
    return _tensors(entries, payload, name), metadata


# ----------------------------------------------------------------------------- paths
def _path_arg(f: Any, verb: str) -> str:
    """``f`` as a str path; bytes are refused with what to pass instead."""
    if isinstance(f, bytes | bytearray):
        raise TypeError(
            f"{verb}: got a bytes object ({len(f)} bytes, {bytes(f[:16])!r}...): pass a path "
            f"as str or os.PathLike (os.fsdecode(path) turns a bytes path into one), or the "
            f"contents of a file wrapped in io.BytesIO"
        )
    if not isinstance(f, str | os.PathLike):
        raise TypeError(f"{verb}: f must be a path or a binary file object, got {type(f).__name__}")
    path = os.fspath(f)
    if isinstance(path, bytes):  # a PathLike whose __fspath__ gives bytes
        return _path_arg(path, verb)
    if "\0" in path:
        raise ValueError(f"{verb}: {path!r} holds a NUL character, which no file name can")
    return path


def _kind(mode: int) -> str:
    """What a file that is not regular is, in words."""
    for test, kind in [
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ]:
        if test(mode):
            return kind
    return "special file"


def _os_error(e: OSError, message: str) -> OSError:
    """``e`` again, of its own class and errno, with ``message`` (which names the path)."""
    try:
        return type(e)(e.errno, message) if e.errno is not None else type(e)(message)
    except Exception:  # noqa: BLE001 - an OSError subclass with another signature
        return OSError(e.errno, message)


def _open_error(e: OSError, path: str, verb: str) -> OSError:
    """Why ``path`` cannot be opened or reached, naming it and the real cause."""
    if e.errno == errno.ELOOP:
        return _os_error(e, f"{verb}: {path!r}: too many levels of symbolic links (a symlink loop)")
    if e.errno == errno.ENOENT:
        if os.path.lexists(path):
            return _os_error(
                e,
                f"{verb}: {path!r} is a symbolic link to {_readlink(path)!r}, which does not exist",
            )
        return _os_error(e, f"{verb}: no such file: {path!r}")
    if e.errno == errno.ENOTDIR:
        return _os_error(e, f"{verb}: {path!r}: a part of the path is not a directory")
    if e.errno in (errno.EACCES, errno.EPERM):
        return _os_error(
            e,
            f"{verb}: permission denied: {path!r} (or a directory on its "
            f"path) may not be read by this user",
        )
    return _os_error(e, f"{verb}: cannot open {path!r}: {e.strerror or e}")


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _open_regular(path: str) -> tuple[int, int]:
    """``(fd, size)`` of ``path`` opened for reading, refusing anything that is not a
    regular file (FIFO, device, directory, socket) before opening it, so that nothing
    blocks and no device is touched. The open itself does not block either (a FIFO
    swapped in between is refused after ``fstat``)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise _open_error(e, path, "load") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{path!r} is a directory, not a safetensors file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"load: {path!r} is a {_kind(st.st_mode)}, not a regular file; "
            f"axon reads weights only from regular files"
        )
    try:
        fd = os.open(
            path,
            os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0),
        )
    except OSError as e:
        raise _open_error(e, path, "load") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(
            f"load: {path!r} is a {_kind(st.st_mode)}, not a regular file; "
            f"axon reads weights only from regular files"
        )
    return fd, st.st_size


# ----------------------------------------------------------------------------- saving
def _check_metadata(metadata: Mapping | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError(f"save: metadata must be a dict of str -> str, got {metadata!r:.200}")
    for key in (STRUCTURE_KEY, CHECKSUM_KEY):
        if key in metadata:
            raise ValueError(f"save: the metadata key {key!r} is axon's own")
    return dict(metadata)


def _is_state_dict(obj: Any) -> bool:
    """True for a flat ``{str: Tensor | ndarray}`` dict, such as ``model.state_dict()``."""
    return isinstance(obj, Mapping) and all(
        isinstance(k, str) and isinstance(v, Tensor | np.ndarray) for k, v in obj.items()
    )


def _encode_file(obj: Any, metadata: Mapping[str, str] | None) -> tuple[bytes, list]:
    """The file for ``obj`` as ``(head, chunks)`` (see :func:`_layout`).

    A flat state dict's tensors are named by its keys (each path is one key) and each is
    stored even when two keys hold the same tensor, so that any safetensors reader sees
    the complete state dict.
    """
    notes = _check_metadata(metadata)
    encoder = _Encoder(share=not _is_state_dict(obj))
    structure = encoder.encode(obj, ())
    notes[STRUCTURE_KEY] = json.dumps(structure, allow_nan=False, separators=(",", ":"))
    return _layout(encoder.arrays, notes)


def save(obj: Any, f: PathLike | Any, *, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``obj`` (a state dict, or any nesting of dicts, lists, tuples, numbers, strings,
    None and Tensors / NumPy arrays) to ``f``, a path or a binary file object.

    Args:
        obj: what to save; Tensors are saved by value with their ``requires_grad`` (their
            grad and graph are not). A Module, an optimizer or another Python object is
            refused with a ``TypeError``: save its ``state_dict()``.
        f: a path (str or ``os.PathLike``, its directory must exist) or an object with
            ``write`` (an open binary file, ``io.BytesIO``). A bytes object is refused.
        metadata: optional text notes stored in the header (read back by
            :func:`load_metadata`).

    Writing to a path is atomic: the new file appears complete or not at all. A symlink
    is written through (the file it points to is replaced, the link stays); an existing
    file keeps its permission bits; a read-only file or directory is refused as
    ``torch.save`` refuses it (:class:`SavePermissionError`). Errors name ``f`` and the
    cause (no space left on the device, ...).
    """
    head, chunks = _encode_file(obj, metadata)
    if hasattr(f, "write"):
        f.write(head)
        for chunk in chunks:
            f.write(chunk)
        return
    _write_atomically(head, chunks, _path_arg(f, "save"))


class MissingDirectoryError(FileNotFoundError, RuntimeError):
    """The directory to save into does not exist: a ``RuntimeError`` as torch.save raises,
    and a ``FileNotFoundError`` as Python's ``open`` would."""


class SavePermissionError(PermissionError, RuntimeError):
    """The target file or its directory may not be written: a ``RuntimeError`` as
    torch.save raises ("open file failed with strerror: Permission denied"), and a
    ``PermissionError`` as Python's ``open`` would."""


# a temporary file of save(): ``.NAME.<12 hex digits>.tmp`` beside the target
_TEMP_SUFFIX = re.compile(r"\.[0-9a-f]{12}\.tmp\Z")
# a temporary file older than this is a crashed save's (a live save takes far less)
STALE_TEMP_SECONDS = 60.0


def _resolve_link(path: str) -> str:
    """The file a chain of symlinks at ``path`` ends in (``path`` itself if it is not a
    link), so that a save replaces that file and leaves the links as they are."""
    target = path
    for _ in range(40):  # Linux's own limit
        try:
            link = os.readlink(target)
        except OSError:  # not a link, or not there: the target itself
            return target
        target = os.path.join(os.path.dirname(target), link)
    raise OSError(
        errno.ELOOP, f"save: {path!r}: too many levels of symbolic links (a symlink loop)"
    )


def _remove_stale_temps(directory: str, base: str) -> None:
    """Delete the temporary files that earlier saves of the same target left behind
    (killed mid-write) once they are older than :data:`STALE_TEMP_SECONDS`; a younger
    one may be a save running now in another process."""
    prefix = f".{base}"
    cutoff = time.time() - STALE_TEMP_SECONDS
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(prefix) and _TEMP_SUFFIX.fullmatch(entry.name, len(prefix))):
            continue
        with contextlib.suppress(OSError):
            if (
                entry.is_file(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_mtime < cutoff
            ):
                os.unlink(entry.path)


def _write_all(fd: int, data) -> None:
    """Write all of ``data`` (a bytes-like object) to ``fd``, however many calls it takes."""
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view) :]


def _write_atomically(head: bytes, chunks: list, path: str) -> None:
    target = _resolve_link(path)
    # relative stays relative: a directory we may write but not reach from / still works
    directory = os.path.dirname(target) or os.curdir
    try:
        is_directory = stat.S_ISDIR(os.stat(directory).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        is_directory = False
    except OSError as e:
        raise _open_error(e, path, "save") from None
    if not is_directory:
        raise MissingDirectoryError(
            f"Parent directory {os.path.dirname(os.path.abspath(target))} does not exist."
        )
    mode = None
    try:
        st = os.stat(target)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise _open_error(e, path, "save") from None
    else:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"save: {path!r} is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(
                f"save: {path!r} is a {_kind(st.st_mode)}, not a regular file; "
                f"axon replaces the file it saves to, so it writes only to "
                f"regular files or new paths"
            )
        if not os.access(target, os.W_OK):
            raise SavePermissionError(
                errno.EACCES,
                f"save: permission denied: {path!r} is read-only for this user "
                f"(torch.save refuses it too); make it writable or save elsewhere",
            )
        mode = stat.S_IMODE(st.st_mode)
    base = os.path.basename(target)
    _remove_stale_temps(directory, base)
    # O_EXCL with a random name: a fresh file, with the umask's usual permissions
    tmp = os.path.join(directory, f".{base}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        fd = os.open(
            tmp,
            os.O_WRONLY
            | os.O_CREAT
            | os.O_EXCL
            | getattr(os, "O_BINARY", 0)
            | getattr(os, "O_CLOEXEC", 0),
            0o666,
        )
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise SavePermissionError(
                e.errno,
                f"save: cannot write {path!r}: {e.strerror} (no new file may be "
                f"created in its directory {directory!r}, which the atomic save "
                f"needs)",
            ) from None
        raise _os_error(
            e,
            f"save: cannot write {path!r}: {e.strerror or e} (creating the "
            f"temporary file beside it, in {directory!r})",
        ) from None
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            _write_all(fd, head)
            for chunk in chunks:
                _write_all(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _os_error(e, f"save: cannot write {path!r}: {e.strerror or e}") from e
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
def _read_path(f: PathLike) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """``(name, arrays, metadata)`` of a safetensors file on disk.

    The file is read through a memory map (copying out of the page cache is about four
    times faster than ``read`` into fresh memory); the arrays are copies, apart from it."""
    path = _path_arg(f, "load")
    fd, size = _open_regular(path)
    try:
        if size == 0:
            arrays, metadata = _decode_file(lambda offset, n: b"", 0, path)
        else:
            with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
                whole = np.frombuffer(mapped, dtype=np.uint8)
                try:
                    arrays, metadata = _decode_file(
                        lambda offset, n: whole[offset : offset + n].copy(), size, path
                    )
                finally:
                    del whole  # the map closes only once no array views it
    except OSError as e:  # EIO while reading, or a map refused
        raise _os_error(e, f"load: cannot read {path!r}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    return path, arrays, metadata


def _read_bytes(data: bytes, name: str) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """``(name, arrays, metadata)`` of a safetensors file's bytes."""
    whole = np.frombuffer(data, dtype=np.uint8)

    def read(offset: int, n: int) -> np.ndarray:
        return whole[offset : offset + n].copy()  # the payload's arrays are writable

    arrays, metadata = _decode_file(read, len(data), name)
    return name, arrays, metadata


def _read(f: PathLike | Any) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    if hasattr(f, "read"):
        name = str(getattr(f, "name", f"<{type(f).__name__}>"))
        data = f.read()
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"load: {name!r} must be opened in binary mode ('rb')")
        return _read_bytes(bytes(data), name)
    return _read_path(f)


def load(
    f: PathLike | Any,
    map_location: Any = None,
    weights_only: bool = True,
    *,
    mmap: bool | None = None,
) -> Any:
    """Read what :func:`save` wrote, from a path or a binary file object.

    Returns the saved object with its types (dicts with their key types and order, lists,
    tuples, numbers, strings, Tensors with their dtype, shape and ``requires_grad``, NumPy
    arrays). A safetensors file written by another program loads as ``{name: Tensor}``.

    Tensors load into host memory, or onto ``map_location`` as torch's: a device or its
    name, a dict mapping the saved location (always ``"cpu"``: :func:`save` writes host
    arrays) to a device, or a function ``(tensor, "cpu") -> tensor``. NumPy arrays stay
    NumPy arrays. ``weights_only`` and ``mmap`` are accepted: axon only ever reads data,
    never code.

    Raises:
        FileNotFoundError, PermissionError, IsADirectoryError, OSError: ``f`` cannot be
            opened (missing, a dangling link, a symlink loop, not readable, a directory);
            the message names ``f`` and the cause.
        ValueError: ``f`` is not a regular file (a FIFO, a device, a socket: refused
            before it is opened), not a complete safetensors file (truncated, corrupt, or
            another format such as a pickle), its checksum does not match its contents,
            or its structure entry is malformed; the message names the file. Nothing in
            it is executed.
        TypeError: ``f`` is neither a path nor a binary file object (bytes included).
    """
    del weights_only, mmap  # see above
    if callable(map_location):
        return _map_tensors(load(f), map_location)
    dev = map_location.get("cpu") if isinstance(map_location, Mapping) else map_location
    if dev is not None:
        for_device(dev)  # a device without a backend is refused before reading
    name, arrays, metadata = _read(f)
    if STRUCTURE_KEY not in metadata:
        return {k: _wrap(_placed(a, dev)) for k, a in arrays.items()}
    try:
        return _Decoder(arrays, dev).decode(json.loads(metadata[STRUCTURE_KEY]))
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        OverflowError,
        RuntimeError,
    ) as e:  # RecursionError is a RuntimeError
        raise ValueError(
            f"{name!r} has a malformed {STRUCTURE_KEY!r} entry in its header ({e})"
        ) from None


def _map_tensors(obj: Any, fn) -> Any:
    """``obj`` with every Tensor ``t`` replaced by ``fn(t, "cpu")`` (a callable
    ``map_location``), containers rebuilt with their types."""
    if isinstance(obj, Tensor):
        out = fn(obj, "cpu")
        return obj if out is None else out
    if isinstance(obj, list | tuple):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    if isinstance(obj, dict):
        out = type(obj)()
        for k, v in obj.items():
            out[k] = _map_tensors(v, fn)
        return out
    return obj


def load_metadata(f: PathLike | Any) -> dict[str, str]:
    """The text notes stored with :func:`save`'s ``metadata`` (empty if none)."""
    _, _, metadata = _read(f)
    metadata.pop(STRUCTURE_KEY, None)
    metadata.pop(CHECKSUM_KEY, None)
    return metadata
