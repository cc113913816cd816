"""Where datasets live on disk, and how a missing file is downloaded and checked.

The data directory is resolved in this order (:func:`data_roots`):

1. the explicit argument, e.g. the CLI's ``--data-dir`` or a dataset's ``root=``;
2. the environment variable ``AXON_DATA_DIR``: one folder, or several separated by
   ``os.pathsep`` (``:`` on Unix, ``;`` on Windows), searched in order;
3. the per-user cache, ``$XDG_CACHE_HOME/axon`` or else ``~/.cache/axon``.

A file is taken from the first of these that holds it; a download goes into the first one
(:func:`data_dir`). Each dataset has its own subfolder under a root (``mnist/``,
``fashion-mnist/``) holding the files under their upstream names, e.g.
``<root>/mnist/train-images-idx3-ubyte.gz``.

On this project's machines, which have no internet, the datasets are staged beside the
checkout: run from the repository root with ``AXON_DATA_DIR=../shared/data`` (relative
paths are taken from the current directory) to read those shared copies.

Files are checked before use: their size always, their SHA-256 once, after which a marker
in the per-user cache (``<cache>/verified/``) remembers the result; the data folders
themselves are never written to except by a download. Downloads are streamed to a temporary file
in the target folder, checked, and only then renamed into place, so a failed or
interrupted download never leaves a half-written file under the real name.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ENV_VAR = "AXON_DATA_DIR"
"""The environment variable naming the data directory (or a list of them)."""

_CHUNK = 1 << 20  # bytes per read while hashing or downloading
_USER_AGENT = "axon-datasets/0.1 (Python urllib)"
_verified_in_process: set[tuple[str, int, int, str]] = set()


class ChecksumError(ValueError):
    """A file's SHA-256 (or size) is not the one expected."""


def cache_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/axon``, or ``~/.cache/axon``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "axon"


def data_roots(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Every folder searched for data, in order: ``explicit``, the entries of
    ``AXON_DATA_DIR``, then the per-user cache (duplicates dropped)."""
    roots: list[Path] = []
    if explicit is not None and str(explicit) != "":
        roots.append(Path(explicit).expanduser())
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry.strip()).expanduser())
    roots.append(cache_dir())
    unique: list[Path] = []
    for r in roots:
        if r not in unique:
            unique.append(r)
    return unique


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: ``explicit`` if given, else the first entry of
    ``AXON_DATA_DIR``, else the per-user cache. Downloads are saved here."""
    return data_roots(explicit)[0]


def find_file(name: str, subdir: str, explicit: str | os.PathLike | None = None) -> Path | None:
    """The first ``<root>/<subdir>/<name>`` that exists among :func:`data_roots`, or None."""
    for root in data_roots(explicit):
        candidate = root / subdir / name
        if candidate.is_file():
            return candidate
    return None


def sha256sum(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _marker(path: Path) -> Path:
    """Where the verification of ``path`` is remembered: in the per-user cache, never beside
    the data (a shared data folder stays untouched)."""
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return cache_dir() / "verified" / f"{path.name}.{key}"


def _remember(marker: Path, stamp: str) -> None:
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(stamp)
    except OSError:
        pass  # no writable cache: the in-process memo is enough


def verify_file(
    path: str | os.PathLike, sha256: str | None = None, size: int | None = None
) -> Path:
    """Check a local file against its expected size and SHA-256; returns the path.

    The size is checked every time (a ``stat``). The SHA-256 is computed once: a match is
    recorded in a marker under ``<cache>/verified/`` (holding the sum, size and
    modification time, so an edited file is checked again) and for this process.

    Raises:
        ChecksumError: naming the file and the expected and actual size or sum.
    """
    path = Path(path)
    st = path.stat()
    if size is not None and st.st_size != size:
        raise ChecksumError(
            f"{path}: size is {st.st_size:,} bytes, expected {size:,}: the file is damaged, "
            f"cut short or a different file; delete it (it is downloaded again when a mirror "
            f"can be reached) or replace it with the right one"
        )
    if sha256 is None:
        return path
    sha256 = sha256.lower()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, sha256)
    if key in _verified_in_process:
        return path
    stamp = f"{sha256} {st.st_size} {st.st_mtime_ns}\n"
    marker = _marker(path)
    try:
        if marker.read_text() == stamp:
            _verified_in_process.add(key)
            return path
    except OSError:
        pass
    actual = sha256sum(path)
    if actual != sha256:
        raise ChecksumError(
            f"{path}: SHA-256 mismatch: expected {sha256}, got {actual}; delete the file "
            f"(it is downloaded again when a mirror can be reached) or replace it"
        )
    _verified_in_process.add(key)
    _remember(marker, stamp)
    return path


def download(
    url: str,
    path: str | os.PathLike,
    sha256: str | None = None,
    *,
    timeout: float = 30.0,
    quiet: bool = False,
) -> Path:
    """Download ``url`` to ``path``, checking its SHA-256 before it appears there.

    The body is streamed to a temporary file in ``path``'s folder while its SHA-256 is
    computed; a match renames the temporary file to ``path`` (atomically, replacing any
    old file), a mismatch deletes it. ``file://`` URLs work too.

    Args:
        url: where to fetch from (``https://``, ``http://``, ``file://``).
        path: the destination file; its folder is created if needed.
        sha256: the expected SHA-256 in hex, or None to skip the check.
        timeout: seconds to wait for the connection and for each read.
        quiet: do not print the one-line progress note on stderr.

    Raises:
        ChecksumError: the data's SHA-256 is not ``sha256`` (the message gives both).
        urllib.error.URLError, OSError: the download failed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"axon: downloading {url} -> {path}", file=sys.stderr)
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as r:
            while chunk := r.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
        actual = h.hexdigest()
        if sha256 is not None and actual != sha256.lower():
            raise ChecksumError(
                f"download of {url}: SHA-256 mismatch: expected {sha256.lower()}, got "
                f"{actual}; the file was not saved to {path}"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if sha256 is not None:  # we just checked it: record that, so the first use is free
        st = path.stat()
        _verified_in_process.add((str(path.resolve()), st.st_size, st.st_mtime_ns, actual))
        _remember(_marker(path), f"{actual} {st.st_size} {st.st_mtime_ns}\n")
    return path


_download = download  # ensure_file's ``download`` argument shadows the name


def ensure_file(
    name: str,
    subdir: str,
    urls: Sequence[str] = (),
    sha256: str | None = None,
    *,
    size: int | None = None,
    root: str | os.PathLike | None = None,
    download: bool = True,
    verify: bool = True,
    timeout: float = 30.0,
) -> Path:
    """The local path of dataset file ``<subdir>/<name>``, downloading it if missing.

    Looks in every folder of :func:`data_roots` (``root`` first). A file found is checked
    (size, then SHA-256 once) unless ``verify=False``. A missing file is downloaded from the
    ``urls`` in turn (mirrors) into ``data_dir(root)/subdir/``.

    Args:
        name: the file name, e.g. ``"train-images-idx3-ubyte.gz"``.
        subdir: the dataset's folder under a data root, e.g. ``"mnist"``.
        urls: full URLs of the file, tried in order.
        sha256: its expected SHA-256 (hex), or None to skip the check.
        size: its expected size in bytes, or None.
        root: an explicit data directory (``--data-dir``), searched first.
        download: try the mirrors when the file is missing.
        verify: check size and checksum of a file found locally (turn off for your own
            files in the same format).
        timeout: seconds per connection attempt or read while downloading.

    Raises:
        FileNotFoundError: the file is nowhere and could not be downloaded; the message
            says which file to put where, and how to point axon at a data directory.
        ChecksumError: a local file does not match ``size``/``sha256``.
    """
    found = find_file(name, subdir, root)
    if found is not None:
        return verify_file(found, sha256, size) if verify else found
    target = data_dir(root) / subdir / name
    failures: list[str] = []
    if download:
        for url in urls:
            try:
                return _download(url, target, sha256, timeout=timeout)
            except (OSError, urllib.error.URLError, ChecksumError) as e:
                # URLError and timeouts are OSErrors too; a bad mirror: try the next one
                reason = getattr(e, "reason", None) or e
                failures.append(f"  {url}: {reason}")
    searched = "\n".join(f"  {r / subdir / name}" for r in data_roots(root))
    tried = (
        "Downloading failed (no network?):\n" + "\n".join(failures)
        if failures
        else (
            "Downloading is turned off (download=False)."
            if not download
            else "No download URL is known for it."
        )
    )
    raise FileNotFoundError(
        f"Dataset file {subdir}/{name} was not found. Looked for:\n{searched}\n{tried}\n"
        f"To fix: copy {name} to {target}, or point axon at a folder that holds "
        f"{subdir}/{name}: set the environment variable {ENV_VAR}=/path/to/data (several "
        f"folders separated by {os.pathsep!r}) or pass --data-dir /path/to/data (root= in "
        f"Python)."
    )
