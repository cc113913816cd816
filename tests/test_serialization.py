"""Tests for ``axon/serialization.py``: safetensors save/load, atomic writes, clear errors."""

import os
import pickle

import numpy as np
import pytest

import axon
from axon import serialization
from axon.serialization import load, load_metadata, save
from tests.helpers import assert_close

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def _state():
    rng = np.random.default_rng(0)
    return {
        "f32": axon.from_numpy(rng.standard_normal((3, 4)).astype(np.float32)),
        "f64": rng.standard_normal(5),
        "i64": np.arange(-3, 3, dtype=np.int64).reshape(2, 3),
        "bool": np.array([True, False, True]),
        "u8": np.array([[0, 7], [128, 255]], dtype=np.uint8),
        "f16": np.array([1.5, -2.25], dtype=np.float16),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }


def _values(x):
    return x.array if isinstance(x, axon.Tensor) else x


def test_round_trip_keeps_dtypes_shapes_and_values(tmp_path):
    path = tmp_path / "model.safetensors"
    state = _state()
    save(state, path)
    loaded = load(path)
    assert set(loaded) == set(state)
    for name, value in state.items():
        got, want = loaded[name], _values(value)
        assert isinstance(got, axon.Tensor), name
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert not got.requires_grad
        assert np.array_equal(got.array, want), name  # bit-exact, all dtypes


def test_loaded_arrays_are_writable_and_independent(tmp_path):
    save({"w": np.ones(3, np.float32)}, tmp_path / "a.st")
    w = load(tmp_path / "a.st")["w"]
    w.array += 1  # in-place optimizer steps must work on loaded weights
    assert_close(w, [2.0, 2.0, 2.0])
    assert_close(load(tmp_path / "a.st")["w"], [1.0, 1.0, 1.0])


def test_saves_values_of_views_and_grad_tensors(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = axon.tensor(a, requires_grad=True)
    save({"transposed": a.T, "strided": a[:, ::2], "param": t}, tmp_path / "v.st")
    loaded = load(tmp_path / "v.st")
    assert_close(loaded["transposed"], a.T)
    assert_close(loaded["strided"], a[:, ::2])
    assert_close(loaded["param"], a)


def test_metadata_round_trip(tmp_path):
    save({"w": np.zeros(2)}, tmp_path / "m.st", metadata={"epoch": "3", "arch": "mlp"})
    assert load_metadata(tmp_path / "m.st") == {"epoch": "3", "arch": "mlp"}
    save({"w": np.zeros(2)}, tmp_path / "n.st")
    assert load_metadata(tmp_path / "n.st") == {}
    with pytest.raises(TypeError, match="metadata"):
        save({"w": np.zeros(2)}, tmp_path / "x.st", metadata={"epoch": 3})


def test_rejects_what_it_cannot_store(tmp_path):
    path = tmp_path / "bad.st"
    with pytest.raises(TypeError, match="'opt' is a dict"):
        save({"w": np.zeros(2), "opt": {"lr": 0.1}}, path)
    with pytest.raises(TypeError, match="keys must be strings"):
        save({1: np.zeros(2)}, path)
    with pytest.raises(TypeError, match="dtype object"):
        save({"o": np.array([None, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="a dict of name"):
        save([np.zeros(2)], path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": np.ones(4, np.float32)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save({"w": np.zeros(4, np.float32), "bad": "not an array"}, path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_failure_during_write_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"w": np.ones(4, np.float32)}, path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(serialization.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.zeros(4, np.float32)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert_close(load(path)["w"], np.ones(4))
    assert list(tmp_path.iterdir()) == [path]  # the temporary file was removed


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": np.ones(2, np.float32)}, path)
    save({"v": np.full(3, 2.0, np.float32)}, str(path))
    loaded = load(str(path))
    assert list(loaded) == ["v"]
    assert_close(loaded["v"], [2.0, 2.0, 2.0])


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"w": np.ones(2)}, tmp_path / "nope" / "a.st")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load(tmp_path / "missing.safetensors")


def _assert_rejected(path, *fragments):
    with pytest.raises(ValueError) as info:
        load(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "not a valid safetensors file" in msg
    for fragment in fragments:
        assert fragment in msg


def test_truncated_file(tmp_path):
    path = tmp_path / "t.safetensors"
    save(_state(), path)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    _assert_rejected(path, "truncated")
    path.write_bytes(data[:30])  # cut inside the header
    _assert_rejected(path)
    path.write_bytes(data[:3])
    _assert_rejected(path, "only 3 bytes")
    path.write_bytes(b"")
    _assert_rejected(path, "only 0 bytes")


def test_corrupt_header(tmp_path):
    path = tmp_path / "c.safetensors"
    save({"w": np.ones(4, np.float32)}, path)
    data = bytearray(path.read_bytes())
    data[8:12] = b"\xff\xfe\x00\x01"  # the JSON header is no longer JSON
    path.write_bytes(bytes(data))
    _assert_rejected(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "r.bin"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    _assert_rejected(path)


def test_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Evil()))
    _assert_rejected(path, "pickle")
    assert not marker.exists()


def test_torch_save_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3)}, path)
    _assert_rejected(path, "torch.save")


def test_loads_files_written_by_safetensors_torch(tmp_path):
    path = tmp_path / "torch.safetensors"
    g = torch.Generator().manual_seed(0)
    tensors = {
        "linear.weight": torch.randn(4, 3, generator=g),
        "linear.bias": torch.randn(4, generator=g, dtype=torch.float64),
        "steps": torch.tensor([1, 2, 3], dtype=torch.int64),
        "mask": torch.tensor([True, False]),
        "pixels": torch.tensor([0, 200, 255], dtype=torch.uint8),
    }
    safetensors_torch.save_file(tensors, str(path))
    loaded = load(path)
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.numpy().dtype, name
        assert np.array_equal(loaded[name].array, t.numpy()), name


def test_files_saved_by_axon_load_in_torch(tmp_path):
    path = tmp_path / "axon.safetensors"
    state = _state()
    save(state, path)
    loaded = safetensors_torch.load_file(str(path))
    assert set(loaded) == set(state)
    for name, value in state.items():
        want = _values(value)
        assert loaded[name].numpy().dtype == want.dtype, name
        assert np.array_equal(loaded[name].numpy(), want), name


def test_bfloat16_gives_a_clear_error(tmp_path):
    path = tmp_path / "bf16.safetensors"
    safetensors_torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(ValueError, match="bf16.safetensors.*float32"):
        load(path)


def test_saved_file_has_normal_permissions(tmp_path):
    path = tmp_path / "perm.safetensors"
    save({"w": np.ones(2)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_big_endian_arrays_round_trip(tmp_path):
    a = np.arange(4, dtype=">f4")
    save({"a": a}, tmp_path / "be.st")
    got = load(tmp_path / "be.st")["a"]
    assert got.dtype == np.float32
    assert_close(got, [0.0, 1.0, 2.0, 3.0])
