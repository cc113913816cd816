"""Writing a file atomically, for everything axon writes besides its weights files (those
have their own, stricter path in :mod:`axon.serialization`): figures, run records, the
report's pages, LivePlot's PNG.

:func:`atomic_write` lets ``write`` fill a fresh file beside the target and renames it
over the target (``os.replace``), so a reader never sees half a file and a crash midway
leaves the old one whole. The fresh file is created with the umask's usual permissions
(``tempfile.mkstemp`` would make it private, 0600, which a figure or a web page must not
be)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Run ``write(tmp)`` on a new file beside ``path`` (creating its folder), then rename
    it over ``path``; on any failure the new file is removed and ``path`` is untouched.
    Returns ``path`` as a Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
