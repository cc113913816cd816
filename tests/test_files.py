"""``axon.files.atomic_write``: the target is replaced whole or not at all, and the new file
has the umask's usual permissions (not mkstemp's private 0600)."""

import os

import pytest

from axon.files import atomic_write


def test_the_file_is_replaced_whole_with_the_usual_permissions(tmp_path):
    target = tmp_path / "sub" / "figure.png"
    assert atomic_write(target, lambda tmp: tmp.write_bytes(b"first")) == target
    atomic_write(target, lambda tmp: tmp.write_bytes(b"second"))
    assert target.read_bytes() == b"second"
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(target.parent) == ["figure.png"]  # no temporary file left


def test_a_failing_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")

    def half(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["results.json"]
