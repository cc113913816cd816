"""The IDX file format of MNIST and its relatives: a reader and a small writer.

An IDX file is a header followed by a dense big-endian array::

    bytes 0-1   zero
    byte  2     the element type:  0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                   0x0D float32, 0x0E float64
    byte  3     the number of dimensions, d
    then d      big-endian uint32 sizes, then prod(sizes) elements in C order

So MNIST's label files start with the magic number 0x00000801 (uint8, 1-D) and its image
files with 0x00000803 (uint8, 3-D: N x 28 x 28). Files are often gzip-compressed; the
reader recognises that from the first two bytes (1f 8b), not from the file name.
"""

from __future__ import annotations

import gzip as _gzip
import os
import struct
from pathlib import Path

import numpy as np

# type code -> big-endian NumPy dtype, and back
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES: dict[np.dtype, int] = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}

_GZIP_MAGIC = b"\x1f\x8b"


def _open(path: Path):
    """Open ``path`` for binary reading, decompressing when it starts with gzip's magic."""
    with open(path, "rb") as f:
        head = f.read(2)
    return _gzip.open(path, "rb") if head == _GZIP_MAGIC else open(path, "rb")


def _read_exact(f, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError(
            f"{path}: truncated IDX file: the {what} needs {n} bytes, only {len(data)} remain"
        )
    return data


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian NumPy array.

    Returns:
        An array with the file's shape and element type (``uint8`` for MNIST), writable
        and in native byte order.

    Raises:
        ValueError (naming the file): a bad magic number or unknown type code, data that
            ends early, or bytes left over after the array (a wrong size in the header).
    """
    path = Path(path)
    try:
        with _open(path) as f:
            magic = _read_exact(f, 4, path, "header")
            if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
                raise ValueError(
                    f"{path}: not an IDX file: magic number 0x{magic.hex()} (expected "
                    f"0x0000TTDD with type TT in {sorted(f'{c:02X}' for c in IDX_DTYPES)}, "
                    f"e.g. 0x00000803 for uint8 images, 0x00000801 for uint8 labels)"
                )
            dtype, ndim = IDX_DTYPES[magic[2]], magic[3]
            shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "dimensions"))
            out = np.empty(shape, dtype=dtype)
            # read straight into the array: one pass, no intermediate bytes object
            n_read = f.readinto(memoryview(out.reshape(-1).view(np.uint8)))
            if n_read != out.nbytes:
                raise ValueError(
                    f"{path}: truncated IDX file: shape {shape} of {dtype.name} needs "
                    f"{out.nbytes} data bytes, the file holds {n_read}"
                )
            if f.read(1):
                raise ValueError(
                    f"{path}: wrong size: data continues past the {out.nbytes} bytes that "
                    f"the header's shape {shape} of {dtype.name} declares"
                )
    except (EOFError, _gzip.BadGzipFile) as e:  # a damaged or cut gzip stream
        raise ValueError(f"{path}: damaged gzip data: {e}") from e
    if dtype.itemsize > 1:
        out = out.astype(dtype.newbyteorder("="))  # big-endian -> native
    return out


def write_idx(path: str | os.PathLike, array, gzip: bool = True) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed unless ``gzip=False``).

    The element type must be one IDX has: uint8, int8, int16, int32, float32 or float64.
    Compressed files get a fixed gzip timestamp, so the same array gives the same bytes.
    """
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        raise TypeError(
            f"write_idx: IDX cannot hold {array.dtype} elements; use uint8, int8, int16, "
            f"int32, float32 or float64 (e.g. array.astype(np.int32))"
        )
    if array.ndim > 255 or any(s >= 2**32 for s in array.shape):
        raise ValueError(f"write_idx: shape {array.shape} does not fit an IDX header")
    header = bytes([0, 0, _IDX_CODES[native], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    if gzip:
        with open(path, "wb") as raw, _gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(header)
            f.write(payload)
    else:
        path.write_bytes(header + payload)
    return path
