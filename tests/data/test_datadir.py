"""The data directory, downloads and checksums, all offline: downloads use ``file://``
URLs and "no network" is simulated by making ``urlopen`` fail."""

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from axon.data import datadir
from axon.data.datadir import (
    ChecksumError,
    data_dir,
    data_roots,
    download,
    ensure_file,
    find_file,
    sha256sum,
    verify_file,
)

PAYLOAD = b"axon test payload\n" * 1000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """No real data directory or cache leaks into these tests."""
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(datadir, "_verified_in_process", set())


@pytest.fixture
def no_network(monkeypatch):
    calls = []

    def refuse(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        calls.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


def _source(tmp_path, data=PAYLOAD, name="blob.bin") -> Path:
    src = tmp_path / "upstream" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    return src


# ---------------------------------------------------------------- resolution
def test_resolution_order(tmp_path, monkeypatch):
    assert data_dir() == tmp_path / "xdg" / "axon"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home" / ".cache" / "axon"
    monkeypatch.setenv("AXON_DATA_DIR", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(tmp_path / "cli") == tmp_path / "cli"
    assert data_roots(tmp_path / "cli") == [
        tmp_path / "cli",
        tmp_path / "env",
        tmp_path / "home" / ".cache" / "axon",
    ]


def test_env_var_is_a_path_list_first_hit_wins(tmp_path, monkeypatch):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    monkeypatch.setenv("AXON_DATA_DIR", os.pathsep.join([str(a), "", str(b), str(c)]))
    assert data_dir() == a  # downloads go to the first entry
    for root in (b, c):
        (root / "mnist").mkdir(parents=True)
        (root / "mnist" / "f.gz").write_bytes(root.name.encode())
    assert find_file("f.gz", "mnist") == b / "mnist" / "f.gz"
    assert find_file("missing.gz", "mnist") is None
    assert data_roots() == [a, b, c, tmp_path / "xdg" / "axon"]


def test_relative_and_user_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("AXON_DATA_DIR", "../shared/data")
    assert data_dir() == Path("../shared/data")  # taken from the current directory
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir("~/data") == tmp_path / "data"


# ---------------------------------------------------------------- checksums
def test_sha256sum(tmp_path):
    assert sha256sum(_source(tmp_path)) == PAYLOAD_SHA


def test_verify_file_checks_size_and_sum_and_remembers(tmp_path, monkeypatch):
    path = _source(tmp_path)
    with pytest.raises(ChecksumError, match=r"blob\.bin.*size is 18,000 bytes, expected 5"):
        verify_file(path, PAYLOAD_SHA, size=5)
    with pytest.raises(ChecksumError, match=rf"expected {'0' * 64}, got {PAYLOAD_SHA}"):
        verify_file(path, "0" * 64)
    assert verify_file(path, PAYLOAD_SHA.upper(), size=len(PAYLOAD)) == path
    marker = datadir._marker(path)
    assert marker.parent == tmp_path / "xdg" / "axon" / "verified"  # never beside the data
    assert marker.read_text().split()[0] == PAYLOAD_SHA
    # later checks trust the marker (and the in-process memo): no hashing
    monkeypatch.setattr(datadir, "sha256sum", lambda p: pytest.fail("hashed again"))
    verify_file(path, PAYLOAD_SHA)
    monkeypatch.setattr(datadir, "_verified_in_process", set())
    verify_file(path, PAYLOAD_SHA)


def test_an_edited_file_is_checked_again(tmp_path):
    path = _source(tmp_path)
    verify_file(path, PAYLOAD_SHA)
    path.write_bytes(PAYLOAD[:-1] + b"X")  # same size, new content and mtime
    os.utime(path, ns=(1, 1))
    with pytest.raises(ChecksumError, match="SHA-256 mismatch"):
        verify_file(path, PAYLOAD_SHA)


# ---------------------------------------------------------------- download
def test_download_file_url(tmp_path):
    src = _source(tmp_path)
    dest = tmp_path / "data" / "sub" / "blob.bin"
    out = download(src.as_uri(), dest, PAYLOAD_SHA, quiet=True)
    assert out == dest and dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["blob.bin"]
    assert datadir._marker(dest).read_text().split()[0] == PAYLOAD_SHA


def test_download_checksum_mismatch_leaves_nothing(tmp_path):
    src = _source(tmp_path)
    dest = tmp_path / "data" / "blob.bin"
    wrong = "ab" * 32
    with pytest.raises(ChecksumError) as err:
        download(src.as_uri(), dest, wrong, quiet=True)
    assert wrong in str(err.value) and PAYLOAD_SHA in str(err.value)
    assert list(dest.parent.iterdir()) == []  # no file, no temporary left behind


def test_download_mismatch_keeps_an_existing_file(tmp_path):
    src = _source(tmp_path)
    dest = tmp_path / "data" / "blob.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"old")
    with pytest.raises(ChecksumError):
        download(src.as_uri(), dest, "cd" * 32, quiet=True)
    assert dest.read_bytes() == b"old"


def test_download_failure_raises_and_cleans_up(tmp_path):
    dest = tmp_path / "data" / "blob.bin"
    with pytest.raises(urllib.error.URLError):
        download((tmp_path / "nope.bin").as_uri(), dest, quiet=True)
    assert list(dest.parent.iterdir()) == []


def test_download_prints_a_note(tmp_path, capsys):
    download(_source(tmp_path).as_uri(), tmp_path / "d" / "b", quiet=False)
    assert "downloading" in capsys.readouterr().err


# ---------------------------------------------------------------- ensure_file
def test_ensure_file_uses_a_local_copy_without_network(tmp_path, no_network):
    root = tmp_path / "root"
    (root / "ds").mkdir(parents=True)
    (root / "ds" / "blob.bin").write_bytes(PAYLOAD)
    got = ensure_file(
        "blob.bin",
        "ds",
        ["https://example.invalid/blob.bin"],
        PAYLOAD_SHA,
        size=len(PAYLOAD),
        root=root,
    )
    assert got == root / "ds" / "blob.bin"
    assert no_network == []


def test_ensure_file_rejects_a_bad_local_copy_unless_verify_is_off(tmp_path):
    root = tmp_path / "root"
    (root / "ds").mkdir(parents=True)
    (root / "ds" / "blob.bin").write_bytes(b"something else")
    with pytest.raises(ChecksumError, match="size is 14 bytes"):
        ensure_file("blob.bin", "ds", [], PAYLOAD_SHA, size=len(PAYLOAD), root=root)
    assert (
        ensure_file("blob.bin", "ds", [], PAYLOAD_SHA, size=len(PAYLOAD), root=root, verify=False)
        == root / "ds" / "blob.bin"
    )


def test_ensure_file_downloads_from_the_first_working_mirror(tmp_path, capsys):
    src = _source(tmp_path)
    bad_copy = _source(tmp_path, b"tampered", name="bad.bin")
    urls = [
        (tmp_path / "missing.bin").as_uri(),  # fails: not there
        bad_copy.as_uri(),  # fails: wrong checksum
        src.as_uri(),
    ]
    got = ensure_file("blob.bin", "ds", urls, PAYLOAD_SHA, root=tmp_path / "root")
    assert got == tmp_path / "root" / "ds" / "blob.bin"
    assert got.read_bytes() == PAYLOAD
    assert capsys.readouterr().err.count("downloading") == 3


def test_ensure_file_without_network_says_what_to_put_where(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("AXON_DATA_DIR", str(tmp_path / "env"))
    urls = ["https://mirror.one/blob.bin", "http://mirror.two/blob.bin"]
    with pytest.raises(FileNotFoundError) as err:
        ensure_file("blob.bin", "ds", urls, PAYLOAD_SHA, root=tmp_path / "cli")
    msg = str(err.value)
    assert no_network == urls
    for path in (tmp_path / "cli", tmp_path / "env", tmp_path / "xdg" / "axon"):
        assert str(path / "ds" / "blob.bin") in msg
    assert f"copy blob.bin to {tmp_path / 'cli' / 'ds' / 'blob.bin'}" in msg
    assert "AXON_DATA_DIR" in msg and "--data-dir" in msg
    assert "https://mirror.one/blob.bin: no network in tests" in msg


def test_ensure_file_with_download_off(tmp_path, no_network):
    with pytest.raises(FileNotFoundError, match=r"(?s)turned off.*AXON_DATA_DIR.*--data-dir"):
        ensure_file("blob.bin", "ds", ["https://mirror/blob.bin"], download=False)
    assert no_network == []


def test_unknown_url_scheme_is_a_failed_mirror(tmp_path):
    with pytest.raises(FileNotFoundError, match="unknown url type"):
        ensure_file("blob.bin", "ds", ["nosuchscheme://x/blob.bin"], root=tmp_path / "r")
