"""Hardened weights files: what ``axon.load`` refuses to open, how ``axon.save`` writes
(temp files, permissions, symlinks, read-only targets, disk full), and the checksum.

Oracles: the file's bytes and mode before and after, torch.save's refusals (run as an
unprivileged user in a child process, since root may write anything), safetensors'
own reader, and straight round trips.
"""

import errno
import io
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import axon
from axon import serialization
from axon.serialization import CHECKSUM_KEY, load, load_metadata, save
from tests.helpers import assert_equal

safetensors_numpy = pytest.importorskip("safetensors.numpy")
safetensors_torch = pytest.importorskip("safetensors.torch")


def _state():
    rng = np.random.default_rng(3)
    return {
        "a": rng.standard_normal((3, 4)).astype(np.float32),
        "b": rng.standard_normal((3, 4)).astype(np.float32),
        "n": np.arange(6, dtype=np.int64),
        "s": np.array(1.5),
    }


def _header(data: bytes) -> dict:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n])


def _with_header(data: bytes, header: dict) -> bytes:
    """``data`` with its header replaced by ``header`` (re-padded), payload unchanged."""
    (n,) = struct.unpack("<Q", data[:8])
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + n :]


def _assert_same_state(got, want):
    assert list(got) == list(want)
    for k in want:
        g = got[k].array if isinstance(got[k], axon.Tensor) else got[k]
        assert g.dtype == want[k].dtype and g.shape == want[k].shape, k
        assert g.tobytes() == want[k].tobytes(), k


# ----------------------------------------------------------------------------- load: paths
def _load_in_thread(path, timeout=30.0):
    """``load(path)``'s exception (or None), failing the test if it blocks."""
    outcome = {}

    def run():
        try:
            load(path)
            outcome["error"] = None
        except BaseException as e:  # noqa: BLE001 - reported below
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)  # a blocked one dies with pytest
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"load({path!r}) blocked"
    return outcome["error"]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "weights.pipe"
    os.mkfifo(fifo)
    error = _load_in_thread(fifo)
    assert isinstance(error, ValueError)
    assert str(fifo) in str(error) and "FIFO" in str(error) and "not a regular file" in str(error)
    error = _load_in_thread(str(fifo).encode())
    assert isinstance(error, TypeError)  # bytes paths are refused before anything else


def test_devices_directories_and_sockets_are_refused_naming_the_path_and_kind(tmp_path):
    error = _load_in_thread("/dev/null")
    assert isinstance(error, ValueError)
    assert "'/dev/null' is a character device, not a regular file" in str(error)
    error = _load_in_thread(tmp_path)
    assert isinstance(error, IsADirectoryError) and str(tmp_path) in str(error)
    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        error = _load_in_thread(sock_path)
    assert isinstance(error, ValueError) and f"{str(sock_path)!r} is a socket" in str(error)


def test_symlink_loops_dangling_links_and_missing_files_name_the_path_and_cause(tmp_path):
    a, b = tmp_path / "a.st", tmp_path / "b.st"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError, match=r"a\.st'.*symlink loop") as info:
        load(a)
    assert info.value.errno == errno.ELOOP
    dangling = tmp_path / "link.st"
    dangling.symlink_to(tmp_path / "gone.st")
    with pytest.raises(FileNotFoundError, match=r"link\.st' is a symbolic link to .*gone\.st"):
        load(dangling)
    with pytest.raises(FileNotFoundError, match=r"no such file: .*missing\.st"):
        load(tmp_path / "missing.st")
    (tmp_path / "plain").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match=r"plain/w\.st'.*not a directory"):
        load(tmp_path / "plain" / "w.st")


def test_bytes_paths_are_refused_with_what_to_pass(tmp_path):
    path = tmp_path / "w.st"
    save(_state(), path)
    with pytest.raises(TypeError, match=r"bytes object.*os\.fsdecode.*io\.BytesIO"):
        load(os.fsencode(path))
    with pytest.raises(TypeError, match=r"bytes object.*os\.fsdecode"):
        save(_state(), os.fsencode(tmp_path / "x.st"))
    assert not (tmp_path / "x.st").exists()
    _assert_same_state(load(os.fsdecode(os.fsencode(path))), _state())


# ----------------------------------------------------------------------------- saves
def test_a_failing_write_names_the_target_and_cause_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save(_state(), path)
    before = path.read_bytes()
    calls = []
    real_write = os.write

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) > 1:  # the header went through, the payload does not
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(serialization.os, "write", full_disk)
    with pytest.raises(OSError) as info:
        save({k: v + 1 for k, v in _state().items()}, path)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    msg = str(info.value)
    assert str(path) in msg and "No space left on device" in msg and ".tmp" not in msg
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors"]


def test_an_interrupt_midway_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(_state(), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_stale_temp_files_of_the_same_target_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    old = time.time() - 120
    names = {
        "stale": ".ckpt.safetensors.0123456789ab.tmp",  # a killed save's, 2 minutes old
        "fresh": ".ckpt.safetensors.ba9876543210.tmp",  # maybe a save running now
        "other": ".other.safetensors.0123456789ab.tmp",  # another target's
        "notes": ".ckpt.safetensors.notes.tmp",  # not our pattern
        "prefix": ".ckpt.safetensors.x.0123456789ab.tmp",  # the target 'ckpt.safetensors.x'
    }
    for key, name in names.items():
        (tmp_path / name).write_bytes(b"partial")
        if key != "fresh":
            os.utime(tmp_path / name, (old, old))
    save(_state(), path)
    left = set(os.listdir(tmp_path))
    assert left == {"ckpt.safetensors"} | set(names.values()) - {names["stale"]}
    _assert_same_state(load(path), _state())


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_saving_over_a_file_keeps_its_permission_bits(tmp_path, mode):
    path = tmp_path / "secret.safetensors"
    save(_state(), path)
    os.chmod(path, mode)
    save({"other": np.ones(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert_equal(load(path)["other"], np.ones(2))


def test_a_symlinked_target_is_written_through_and_stays_a_link(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    real = real_dir / "weights.safetensors"
    save({"old": np.zeros(2)}, real)
    os.chmod(real, 0o600)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(os.path.join("store", "weights.safetensors"))  # relative
    chain = tmp_path / "current"
    chain.symlink_to(link)  # a link to the link
    save(_state(), chain)
    assert chain.is_symlink() and link.is_symlink()
    assert os.readlink(link) == os.path.join("store", "weights.safetensors")
    _assert_same_state(load(real), _state())
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert sorted(os.listdir(real_dir)) == ["weights.safetensors"]  # no temp left there
    assert sorted(os.listdir(tmp_path)) == ["current", "latest.safetensors", "store"]
    # a dangling link: the file it names is created, as open() would
    dangling = tmp_path / "next"
    dangling.symlink_to(real_dir / "new.safetensors")
    save(_state(), dangling)
    assert dangling.is_symlink()
    _assert_same_state(load(real_dir / "new.safetensors"), _state())


def test_save_refuses_symlink_loops_directories_and_special_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError, match=r"'.*a'.*symlink loop") as info:
        save(_state(), a)
    assert info.value.errno == errno.ELOOP
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        save(_state(), tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"pipe' is a FIFO \(named pipe\), not a regular file"):
        save(_state(), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO, not replaced
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "pipe"]


_UNPRIVILEGED = textwrap.dedent("""
    import io, json, os, sys
    import numpy as np
    import axon
    from axon.serialization import SavePermissionError
    with_torch = sys.argv[2] == "torch"
    if with_torch:
        import torch, torch.utils.serialization
        torch.save({"w": torch.ones(1)}, io.BytesIO())  # lazy imports, while readable
    buffer = io.BytesIO()
    axon.save({"w": np.ones(1)}, buffer)
    axon.load(io.BytesIO(buffer.getvalue()))
    os.chdir(sys.argv[1])  # the test's directory: nobody could not reach it through /tmp
    if os.getuid() == 0:
        os.setgid(65534)
        os.setuid(65534)  # nobody: permissions apply from here on
    out = {}
    def attempt(name, fn):
        try:
            fn()
            out[name] = None
        except BaseException as e:
            out[name] = [type(e).__name__, str(e), getattr(e, "errno", None),
                         isinstance(e, PermissionError), isinstance(e, RuntimeError)]
    attempt("axon_ro_file", lambda: axon.save({"w": np.zeros(2)}, "ro.st"))
    attempt("axon_ro_dir", lambda: axon.save({"w": np.zeros(2)}, "rodir/new.st"))
    attempt("axon_unreadable", lambda: axon.load("secret.st"))
    if with_torch:
        attempt("torch_ro_file", lambda: torch.save({"w": torch.zeros(2)}, "ro.st"))
        attempt("torch_ro_dir", lambda: torch.save({"w": torch.zeros(2)}, "rodir/new.st"))
    out["listing"] = sorted(os.listdir(".")) + sorted(os.listdir("rodir"))
    print(json.dumps(out))
""")


def _as_unprivileged_user(tmp_path, oracle: str) -> dict:
    """Run :data:`_UNPRIVILEGED` on a read-only file, a read-only directory and an
    unreadable file in ``tmp_path`` (as nobody when we are root: root may write anything)."""
    if os.getuid() != 0 and os.access("/", os.W_OK):
        pytest.skip("this user may write anything")
    save({"w": np.ones(2)}, tmp_path / "ro.st")
    save({"w": np.ones(2)}, tmp_path / "secret.st")
    (tmp_path / "rodir").mkdir()
    if os.getuid() == 0:  # the child becomes nobody: our directory must let it in
        os.chmod(tmp_path, 0o777)
    os.chmod(tmp_path / "ro.st", 0o444)
    os.chmod(tmp_path / "secret.st", 0o000)
    os.chmod(tmp_path / "rodir", 0o555)
    script = tmp_path / "child.py"
    script.write_text(_UNPRIVILEGED)
    os.chmod(script, 0o644)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), oracle],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not hasattr(os, "setuid"), reason="POSIX permissions")
def test_read_only_targets_and_directories_are_refused(tmp_path):
    out = _as_unprivileged_user(tmp_path, "axon")
    before = load(tmp_path / "ro.st")
    for case, name in [("ro_file", "ro.st"), ("ro_dir", "new.st")]:
        kind, msg, code, is_permission, is_runtime = out[f"axon_{case}"]
        # a PermissionError as open() raises, a RuntimeError as torch.save raises
        assert kind == "SavePermissionError" and is_permission and is_runtime, out
        assert code == errno.EACCES and f"'{name}'" in msg.replace("rodir/", ""), out
    assert "read-only" in out["axon_ro_file"][1]
    assert "'rodir'" in out["axon_ro_dir"][1] and "directory" in out["axon_ro_dir"][1]
    kind, msg, code, is_permission, _ = out["axon_unreadable"]
    assert is_permission and code == errno.EACCES and "'secret.st'" in msg, out
    # nothing was replaced and no temporary file was left
    assert_equal(before["w"], np.ones(2))
    assert out["listing"] == ["child.py", "ro.st", "rodir", "secret.st"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "setuid"), reason="POSIX permissions")
def test_torch_save_refuses_the_same_read_only_targets(tmp_path):
    pytest.importorskip("torch")
    out = _as_unprivileged_user(tmp_path, "torch")
    for case in ("ro_file", "ro_dir"):
        theirs = out[f"torch_{case}"]
        assert theirs is not None and "Permission denied" in theirs[1], out  # torch refuses
        assert theirs[4] and out[f"axon_{case}"][4]  # both RuntimeErrors
    assert out["listing"] == ["child.py", "ro.st", "rodir", "secret.st"]


# ----------------------------------------------------------------------------- checksum
def test_every_saved_file_carries_a_sha256_hidden_from_metadata(tmp_path):
    buffer = io.BytesIO()
    save(_state(), buffer, metadata={"epoch": "3"})
    meta = _header(buffer.getvalue())["__metadata__"]
    assert len(meta[CHECKSUM_KEY]) == 64 and int(meta[CHECKSUM_KEY], 16) >= 0
    assert load_metadata(io.BytesIO(buffer.getvalue())) == {"epoch": "3"}
    with pytest.raises(ValueError, match="axon's own"):
        save(_state(), tmp_path / "x.st", metadata={CHECKSUM_KEY: "0" * 64})


def _corrupt(data: bytes, how: str) -> bytes:
    header = _header(data)
    if how == "payload bit":
        out = bytearray(data)
        out[-20] ^= 0x10
        return bytes(out)
    if how == "swapped offsets":  # a and b have the same size
        header["a"]["data_offsets"], header["b"]["data_offsets"] = (
            header["b"]["data_offsets"],
            header["a"]["data_offsets"],
        )
    elif how == "relabelled dtype":
        header["a"]["dtype"] = "I32"
    elif how == "reshaped":
        header["a"]["shape"] = [4, 3]
    elif how == "structure":
        meta = header["__metadata__"]
        meta[serialization.STRUCTURE_KEY] = meta[serialization.STRUCTURE_KEY].replace(
            '"a"', '"x"', 1
        )
    elif how == "metadata":
        header["__metadata__"]["epoch"] = "4"
    return _with_header(data, header)


@pytest.mark.parametrize(
    "how",
    ["payload bit", "swapped offsets", "relabelled dtype", "reshaped", "structure", "metadata"],
)
def test_the_checksum_catches_each_kind_of_change(tmp_path, how):
    path = tmp_path / "w.safetensors"
    save(_state(), path, metadata={"epoch": "3"})
    data = path.read_bytes()
    changed = _corrupt(data, how)
    assert changed != data
    path.write_bytes(changed)
    with pytest.raises(
        ValueError,
        match=r"w\.safetensors'.*checksum mismatch: the file is "
        r"corrupt or was changed after it was saved",
    ):
        load(path)
    # the same change without the checksum is exactly what it would have let through
    header = _header(changed)
    del header["__metadata__"][CHECKSUM_KEY]
    path.write_bytes(_with_header(changed, header))
    if how in ("payload bit", "swapped offsets", "relabelled dtype", "reshaped"):
        got = load(path)
        assert any(
            (got[k].dtype, got[k].shape, got[k].tobytes()) != (v.dtype, v.shape, v.tobytes())
            for k, v in _state().items()
        )


def test_files_without_a_checksum_still_load(tmp_path):
    path = tmp_path / "w.st"
    save(_state(), path)
    header = _header(path.read_bytes())
    del header["__metadata__"][CHECKSUM_KEY]
    path.write_bytes(_with_header(path.read_bytes(), header))  # padded differently, too
    _assert_same_state(load(path), _state())
    safetensors_numpy.save_file(_state(), str(tmp_path / "other.st"))
    _assert_same_state(load(tmp_path / "other.st"), {k: _state()[k] for k in sorted(_state())})


def test_respaced_header_with_the_same_content_still_verifies(tmp_path):
    buffer = io.BytesIO()
    save(_state(), buffer)
    data = buffer.getvalue()
    (n,) = struct.unpack("<Q", data[:8])
    spaced = json.dumps(json.loads(data[8 : 8 + n]), indent=2).encode()  # same content
    spaced += b" " * (-(8 + len(spaced)) % 8)
    _assert_same_state(
        load(io.BytesIO(struct.pack("<Q", len(spaced)) + spaced + data[8 + n :])), _state()
    )


def test_files_with_a_checksum_open_in_safetensors_and_torch(tmp_path):
    path = tmp_path / "w.safetensors"
    save(_state(), path)
    theirs = safetensors_torch.load_file(str(path))
    for k, v in _state().items():
        assert theirs[k].numpy().tobytes() == v.tobytes(), k
    assert CHECKSUM_KEY in safetensors_numpy.safe_open(str(path), "np").metadata()


def test_a_malformed_checksum_is_refused(tmp_path):
    buffer = io.BytesIO()
    save(_state(), buffer)
    header = _header(buffer.getvalue())
    header["__metadata__"][CHECKSUM_KEY] = "not hex"
    bad = io.BytesIO(_with_header(buffer.getvalue(), header))
    bad.name = "bad.st"
    with pytest.raises(ValueError, match="'bad.st': checksum mismatch"):
        load(bad)


def test_a_tensor_named_like_the_header_metadata_is_stored_apart(tmp_path):
    state = {"__metadata__": np.ones(2), "x": np.zeros(1)}
    save(state, tmp_path / "m.st")
    _assert_same_state(load(tmp_path / "m.st"), state)
    assert sorted(safetensors_numpy.load_file(str(tmp_path / "m.st"))) == ["__metadata__#2", "x"]


def test_impossible_paths_are_named_in_the_error(tmp_path):
    for call in (lambda p: load(p), lambda p: save(_state(), p)):
        with pytest.raises(ValueError, match=r"'a\\x00b' holds a NUL character"):
            call("a\0b")
        with pytest.raises(OSError, match=r"/x{300}'.*File name too long"):  # the path named
            call(str(tmp_path / ("x" * 300)))
    assert os.listdir(tmp_path) == []
