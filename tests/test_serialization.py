"""Tests for ``axon/serialization.py``: safetensors save/load, atomic writes, clear errors."""

import io
import os
import pickle
from collections import Counter, OrderedDict

import numpy as np
import pytest

import axon
from axon import serialization
from axon.serialization import load, load_metadata, save
from tests.helpers import assert_close

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")
safetensors_numpy = pytest.importorskip("safetensors.numpy")


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
    assert list(loaded) == list(state)  # insertion order too
    for name, value in state.items():
        got = loaded[name]
        assert type(got) is type(value), name  # a Tensor stays a Tensor, an array an array
        got, want = _values(got), _values(value)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert np.array_equal(got, want), name  # bit-exact, all dtypes
    assert not loaded["f32"].requires_grad


def test_loaded_arrays_are_writable_and_independent(tmp_path):
    save({"w": axon.ones(3)}, tmp_path / "a.st")
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
    with pytest.raises(TypeError, match=r"obj\['opt'\]\['f'\]"):
        save({"w": np.zeros(2), "opt": {"f": lambda: 0}}, path)
    with pytest.raises(TypeError, match=r"key .* at obj\['k'\] is a object"):
        save({"k": {object(): 1}}, path)
    with pytest.raises(TypeError, match=r"obj\['o'\] has dtype object"):
        save({"o": np.array([None, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="dtype complex128"):
        save([np.zeros(2, dtype=complex)], path)
    with pytest.raises(TypeError, match="cannot save a set"):
        save({"s": {1, 2}}, path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": np.ones(4, np.float32)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save({"w": np.zeros(4, np.float32), "bad": object()}, path)
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
    target = tmp_path / "nope" / "a.st"
    with pytest.raises(RuntimeError, match="Parent directory .*nope does not exist") as info:
        save({"w": np.ones(2)}, target)
    with pytest.raises(RuntimeError) as expected:  # torch's error class and message
        torch.save({"w": torch.ones(2)}, target)
    assert str(expected.value) in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


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
    pytest.importorskip("ml_dtypes")  # with it imported, NumPy reads bfloat16: still refused
    with pytest.raises(ValueError, match="bf16.safetensors.*'w' is bfloat16.*float32"):
        load(path)
    with pytest.raises(ValueError, match="BytesIO.*float32"):
        load(io.BytesIO(path.read_bytes()))


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


# ---------------------------------------------------------------- any checkpoint structure
def _assert_same(got, want, where="obj"):
    """Same types all the way down; arrays and tensors bit-identical in dtype and shape."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, axon.Tensor | np.ndarray | np.generic):
        g, w = np.asarray(_values(got)), np.asarray(_values(want))
        assert (g.dtype, g.shape) == (w.dtype, w.shape), where
        assert g.tobytes() == np.ascontiguousarray(w).tobytes(), where  # NaN-safe, bitwise
        if isinstance(want, axon.Tensor):
            assert got.requires_grad == want.requires_grad, where
    elif isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            assert type(next(x for x in got if x == k)) is type(k), f"{where} key {k!r}"
            _assert_same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and np.isnan(want):
        assert np.isnan(got), where
    else:
        assert got == want, where
        if isinstance(want, float):
            assert np.copysign(1.0, got) == np.copysign(1.0, want), where  # -0.0


def _checkpoint():
    """Everything torch.save is used for, nested."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    return {
        "epoch": 3,
        "loss": 0.1,
        "specials": [float("inf"), float("-inf"), float("nan"), -0.0, 2**70, -(2**63)],
        "flags": (True, False, None),
        "name": 'resnet18 \u2713 "quoted"',
        "state": {0: {"step": 7, "exp_avg": a[:2]}, 1: {"step": 7}, -5: "neg"},
        "mixed_keys": {1: "int", "1": "str", 1.5: "float", None: "none", (2, "x"): "tuple"},
        "betas": (0.9, 0.999),
        "groups": [{"lr": 1e-3, "params": [0, 1]}, {"lr": 1e-4, "params": []}],
        "scalar": axon.tensor(2.5),  # 0-d
        "transposed": axon.from_numpy(a.T),  # not contiguous
        "strided": a[::2, 1::3],
        "grad": axon.tensor([1.0, 2.0], requires_grad=True),
        "long": axon.tensor([1, 2, 3]),
        "np_scalars": [np.float32(1.5), np.int64(-4), np.bool_(True), np.float64(0.25)],
        "raw": b"\x00\xffbytes",
        "empty": ({}, [], (), ""),
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "counter": Counter([3, 3, 5]),
    }


@pytest.mark.parametrize("target", ["str", "pathlike", "bytesio", "file"])
def test_any_structure_round_trips_with_exact_types(tmp_path, target):
    obj = _checkpoint()
    if target == "bytesio":
        buffer = io.BytesIO()
        save(obj, buffer)
        buffer.seek(0)
        loaded = load(buffer)
    elif target == "file":
        with open(tmp_path / "ckpt.pt", "wb") as f:
            save(obj, f)
        with open(tmp_path / "ckpt.pt", "rb") as f:
            loaded = load(f)
    else:
        path = tmp_path / "ckpt.pt"
        save(obj, str(path) if target == "str" else path)
        loaded = axon.load(str(path) if target == "str" else path, map_location="cpu")
    _assert_same(loaded, obj)


def test_scalars_and_tensors_at_top_level(tmp_path):
    for obj in [axon.tensor([[1.0, 2.0]]), np.arange(3), 5, "text", None, [1, (2.0,)]]:
        save(obj, tmp_path / "x.pt")
        _assert_same(load(tmp_path / "x.pt"), obj)


def _to_torch(obj):
    """The same structure with torch tensors in place of axon's (the oracle's input)."""
    if isinstance(obj, axon.Tensor):
        return torch.from_numpy(obj.array.copy()).requires_grad_(obj.requires_grad)
    if isinstance(obj, list | tuple):
        return type(obj)(_to_torch(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_torch(v)) for k, v in obj.items())
    return obj


def _from_torch(obj):
    if isinstance(obj, torch.Tensor):
        return axon.from_numpy(obj.detach().numpy()).requires_grad_(obj.requires_grad)
    if isinstance(obj, list | tuple):
        return type(obj)(_from_torch(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _from_torch(v)) for k, v in obj.items())
    return obj


def test_round_trip_matches_torch_save_and_load(tmp_path):
    """torch.save + torch.load(weights_only=True) of the same structure is the oracle."""
    obj = _checkpoint()
    for key in ("np_scalars", "strided", "raw", "counter"):  # weights_only refuses these
        del obj[key]
    obj["state"][0]["exp_avg"] = axon.from_numpy(obj["state"][0]["exp_avg"])
    torch.save(_to_torch(obj), tmp_path / "t.pt")
    expected = _from_torch(torch.load(tmp_path / "t.pt", weights_only=True))
    save(obj, tmp_path / "a.pt")
    _assert_same(load(tmp_path / "a.pt"), expected)


def test_the_same_tensor_twice_is_saved_once_and_stays_shared(tmp_path):
    w = axon.randn(3, 3)
    save({"encoder": {"embed": w}, "decoder": {"proj": w}, "pair": (w, w)}, tmp_path / "t.pt")
    loaded = load(tmp_path / "t.pt")
    assert loaded["encoder"]["embed"] is loaded["decoder"]["proj"] is loaded["pair"][1]
    assert len(safetensors_numpy.load_file(str(tmp_path / "t.pt"))) == 1


def test_a_plain_state_dict_is_a_plain_safetensors_file(tmp_path):
    model = axon.nn.Sequential(axon.nn.Linear(3, 4), axon.nn.ReLU(), axon.nn.Linear(4, 2))
    model.weight_tied = model[0]  # a module reachable by two names: both keys stored
    state = model.state_dict(keep_vars=True)
    save(state, tmp_path / "m.safetensors")
    other = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    assert set(other) == set(state)
    for k, v in state.items():
        assert np.array_equal(other[k], v.array), k
    # the structure entry is metadata that other readers ignore, and parameters come back
    loaded = load(tmp_path / "m.safetensors")
    assert type(loaded["0.weight"]) is axon.nn.Parameter and loaded["0.weight"].requires_grad


def test_a_torch_state_dict_converted_loads_into_the_same_model(tmp_path):
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 3),
    )
    tmodel(torch.randn(5, 1, 8, 8))  # BatchNorm's running statistics move
    tmodel.eval()
    checkpoint = {"epoch": 1, "model": {k: v.numpy() for k, v in tmodel.state_dict().items()}}
    save(checkpoint, tmp_path / "ckpt.pt")
    model = axon.nn.Sequential(
        axon.nn.Conv2d(1, 4, 3),
        axon.nn.BatchNorm2d(4),
        axon.nn.ReLU(),
        axon.nn.Flatten(),
        axon.nn.Linear(4 * 6 * 6, 3),
    )
    model.load_state_dict(load(tmp_path / "ckpt.pt")["model"])
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        want = tmodel(torch.from_numpy(x))
    assert_close(model(axon.from_numpy(x)), want, rtol=1e-5, atol=1e-6)


def _train_steps(model, opt, sched, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = axon.from_numpy(rng.standard_normal((8, 5)).astype(np.float32))
        y = axon.from_numpy(rng.integers(0, 3, 8))
        opt.zero_grad()
        axon.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("opt_name", ["Adam", "SGD"])
def test_resumed_training_steps_bit_for_bit_like_uninterrupted(tmp_path, opt_name):
    def build():
        axon.manual_seed(0)
        model = axon.nn.Sequential(axon.nn.Linear(5, 16), axon.nn.Tanh(), axon.nn.Linear(16, 3))
        if opt_name == "Adam":
            opt = axon.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.95))
        else:
            opt = axon.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        sched = axon.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        return model, opt, sched

    model, opt, sched = build()
    _train_steps(model, opt, sched, 3, seed=1)
    checkpoint = {
        "epoch": 3,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "loss": 0.25,
    }
    save(checkpoint, tmp_path / "ckpt.pt")
    _train_steps(model, opt, sched, 4, seed=2)  # the uninterrupted run

    fresh, fresh_opt, fresh_sched = build()
    ckpt = load(tmp_path / "ckpt.pt")
    assert ckpt["epoch"] == 3 and ckpt["loss"] == 0.25
    fresh.load_state_dict(ckpt["model"])
    fresh_opt.load_state_dict(ckpt["optimizer"])
    fresh_sched.load_state_dict(ckpt["scheduler"])
    _train_steps(fresh, fresh_opt, fresh_sched, 4, seed=2)
    for (name, p), q in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert np.array_equal(p.array, q.array), name
    assert fresh_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_refuses_modules_optimizers_and_objects_naming_state_dict(tmp_path):
    model = axon.nn.Linear(2, 2)
    opt = axon.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"Module \(Linear\) at obj: .*state_dict\(\)"):
        save(model, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"SGD\) at obj\['optimizer'\].*state_dict\(\)"):
        save({"optimizer": opt}, tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"cannot save a Thing at obj\[0\].*state_dict\(\)"):
        save([type("Thing", (), {})()], tmp_path / "m.pt")
    with pytest.raises(TypeError, match="path or a binary file"):
        save({}, 3)
    assert list(tmp_path.iterdir()) == []


def _with_structure(path, structure, arrays=None):
    safetensors_numpy.save_file(
        arrays or {"w": np.zeros(2)}, str(path), metadata={serialization.STRUCTURE_KEY: structure}
    )


@pytest.mark.parametrize(
    ("structure", "reason"),
    [
        ("{not json", "Expecting property name"),
        ('{"tensor": "missing"}', "'missing' that the file does not hold"),
        ('{"pickle": "x"}', "unknown entry kind 'pickle'"),
        ('{"dict": [["a"]]}', "malformed"),
        ('{"tuple": 3}', "malformed"),
    ],
)
def test_malformed_structure_names_the_file(tmp_path, structure, reason):
    path = tmp_path / "broken.pt"
    _with_structure(path, structure)
    with pytest.raises(ValueError, match="broken.pt") as info:
        load(path)
    assert reason in str(info.value)


def test_load_errors_name_file_objects_and_binary_mode(tmp_path):
    with pytest.raises(ValueError, match="BytesIO.*not a valid safetensors file"):
        load(io.BytesIO(b"\x80\x04garbage"))
    (tmp_path / "a.pt").write_bytes(b"x")
    with open(tmp_path / "a.pt") as f, pytest.raises(TypeError, match="binary mode"):
        load(f)
    with pytest.raises(TypeError, match="path or a binary file"):
        load(3.5)


def test_metadata_key_is_reserved_and_hidden(tmp_path):
    with pytest.raises(ValueError, match="axon's own"):
        save({}, tmp_path / "x.pt", metadata={serialization.STRUCTURE_KEY: "{}"})
    buffer = io.BytesIO()
    save({"w": np.ones(1)}, buffer, metadata={"note": "hi"})
    assert load_metadata(io.BytesIO(buffer.getvalue())) == {"note": "hi"}
