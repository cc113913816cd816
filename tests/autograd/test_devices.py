"""Devices and factories' keywords as torch: ``ax.device``, ``Tensor.to``/``cpu``/``cuda``,
``Module.to``, ``ax.cuda``/``ax.backends`` on a machine without CUDA, and every factory
taking ``device=``, ``dtype=``, ``requires_grad=`` (checked against torch on the CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from axon.backend.device import DeviceUnavailableError
from tests.helpers import NO_CUDA, assert_close, without_cuda


def _dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


# ------------------------------------------------------------------ ax.device
@pytest.mark.parametrize(
    "args",
    [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda",), ("cuda:1",), ("cuda", 1), ("mps",), ("meta",)],
)
def test_device_parses_as_torch(args):
    d, t = ax.device(*args), torch.device(*args)
    assert (d.type, d.index) == (t.type, t.index)
    assert str(d) == str(t)
    assert repr(d) == repr(t)
    assert ax.device(d) == d and hash(ax.device(d)) == hash(d)


@pytest.mark.parametrize("bad", ["foo", "gpu", "cpu:x", "cuda:-1"])
def test_unknown_device_strings_raise_runtime_error_as_torch(bad):
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError, match=bad.split(":")[0]):
        ax.device(bad)
    with pytest.raises(RuntimeError, match=bad.split(":")[0]):
        ax.zeros(2, device=bad)


def test_tensor_device_is_cpu_and_compares_equal():
    x = ax.ones(2)
    assert x.device == ax.device("cpu") and x.device == "cpu"
    assert x.device.type == "cpu" and x.device.index is None
    assert str(x.device) == str(torch.ones(2).device)
    assert x.device != ax.device("cuda") and x.device != "cuda"
    assert not x.is_cuda


# ------------------------------------------------------------------ Tensor.to
TO_CALLS = {
    "dtype": lambda L, x: x.to(L.float64),
    "device": lambda L, x: x.to("cpu"),
    "device_obj": lambda L, x: x.to(L.device("cpu")),
    "device_dtype": lambda L, x: x.to("cpu", L.float64),
    "other": lambda L, x: x.to(L.tensor([1], dtype=L.int32)),
    "keywords": lambda L, x: x.to(dtype=L.float64, device="cpu", non_blocking=True),
    "dtype_copy": lambda L, x: x.to(L.float32, copy=True),
    "int": lambda L, x: x.to(L.int64),
}


@pytest.mark.parametrize("name", sorted(TO_CALLS))
def test_to_matches_torch(name):
    call = TO_CALLS[name]
    arr = np.array([1.5, -2.0, 3.0], dtype=np.float32)
    xt, xa = torch.tensor(arr), ax.tensor(arr)
    got, expected = call(ax, xa), call(torch, xt)
    assert str(got.dtype) == _dtype_name(expected)
    assert_close(got, expected, rtol=0, atol=0)
    assert (got is xa) == (expected is xt)


def test_to_records_the_cast_for_backward():
    x = ax.tensor([1.0, 2.0], requires_grad=True)
    (x.to("cpu", ax.float64) * 3).sum().backward()
    assert x.grad.dtype == np.float32
    assert_close(x.grad, np.array([3.0, 3.0]))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.cuda(),
        lambda x: x.to("cuda"),
        lambda x: x.to("cuda:0", ax.float64),
        lambda x: x.to(0),
        lambda x: x.to(device="mps"),
        lambda x: x.to(ax.device("cuda", 1)),
    ],
)
@without_cuda
def test_other_devices_raise_a_clear_error(call):
    with pytest.raises(RuntimeError, match=f"{NO_CUDA}|no MPS backend") as info:
        call(ax.ones(2))
    assert isinstance(info.value, AssertionError)  # torch without CUDA raises AssertionError
    assert isinstance(info.value, DeviceUnavailableError)


def test_cpu_returns_self():
    x = ax.ones(2)
    assert x.cpu() is x


# ------------------------------------------------------------------ ax.cuda, ax.backends
@without_cuda
def test_cuda_and_backends_answer_as_torch_without_cuda():
    assert ax.cuda.is_available() is False and ax.cuda.device_count() == 0
    ax.cuda.manual_seed(0)
    ax.cuda.manual_seed_all(0)
    ax.cuda.empty_cache()
    assert ax.backends.mps.is_available() is False
    for flag in ("deterministic", "benchmark"):
        old = getattr(ax.backends.cudnn, flag)
        setattr(ax.backends.cudnn, flag, not old)
        assert getattr(ax.backends.cudnn, flag) is (not old)
        setattr(ax.backends.cudnn, flag, old)
    with pytest.raises(RuntimeError, match="CUDA"):
        ax.cuda.current_device()


def test_the_usual_device_idiom_runs():
    device = ax.device("cuda" if ax.cuda.is_available() else "cpu")
    model = ax.nn.Linear(3, 2).to(device)
    x = ax.randn(4, 3, device=device)
    assert model(x).device == device


# ------------------------------------------------------------------ Module.to
def test_module_to_casts_floating_parameters_as_torch():
    ax.manual_seed(0)
    m = ax.nn.Linear(3, 2)
    w = m.weight
    assert m.to("cpu") is m and m.cpu() is m
    assert m.to("cpu", ax.float64) is m
    assert m.weight is w and w.dtype == np.float64  # the same Parameter, cast in place
    m.to(ax.float32)
    assert w.dtype == np.float32
    m.to(ax.ones(1, dtype=ax.float64))
    assert w.dtype == np.float64
    m.to(dtype=ax.float32, device=ax.device("cpu"))
    assert w.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        torch.nn.Linear(3, 2).to(torch.int64)
    with pytest.raises(TypeError, match="floating point"):
        m.to(ax.int64)
    assert m.type(ax.float64) is m and w.dtype == np.float64


@pytest.mark.parametrize(
    "call", [lambda m: m.cuda(), lambda m: m.to("cuda"), lambda m: m.to(ax.device("cuda:0"))]
)
@without_cuda
def test_module_cuda_raises(call):
    with pytest.raises(RuntimeError, match=NO_CUDA):
        call(ax.nn.Linear(2, 2))


# ------------------------------------------------------------------ factories' keywords
FACTORIES = {
    "tensor": lambda L, **k: L.tensor([1.0, 2.0], **k),
    "as_tensor": lambda L, **k: L.as_tensor(
        [1.0, 2.0], **{n: v for n, v in k.items() if n != "requires_grad"}
    ),
    "zeros": lambda L, **k: L.zeros(2, 3, **k),
    "zeros_tuple": lambda L, **k: L.zeros((2, 3), **k),
    "ones": lambda L, **k: L.ones([2, 3], **k),
    "zeros_size_keyword": lambda L, **k: L.zeros(size=(2, 3), **k),
    "ones_size_keyword": lambda L, **k: L.ones(size=[4], **k),
    "full": lambda L, **k: L.full((2, 3), 1.5, **k),
    "empty": lambda L, **k: L.empty(2, 3, **k),
    "arange": lambda L, **k: L.arange(0, 6, 2, **k),
    "arange_float": lambda L, **k: L.arange(0.5, 3.0, 0.5, **k),
    "linspace": lambda L, **k: L.linspace(0, 1, 5, **k),
    "logspace": lambda L, **k: L.logspace(0, 2, 3, **k),
    "eye": lambda L, **k: L.eye(3, 2, **k),
    "zeros_like": lambda L, **k: L.zeros_like(L.ones(2, dtype=L.int32), **k),
    "ones_like": lambda L, **k: L.ones_like(L.ones(2, dtype=L.int32), **k),
    "full_like": lambda L, **k: L.full_like(L.ones(2), 7, **k),
    "empty_like": lambda L, **k: L.empty_like(L.ones(2), **k),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"device": "cpu"},
        {"dtype": "float64"},
        {"device": "cpu:0", "dtype": "float64", "requires_grad": True},
    ],
)
def test_factories_take_torch_keywords(name, kwargs):
    make = FACTORIES[name]
    if kwargs.get("requires_grad") and name == "as_tensor":
        kwargs = {k: v for k, v in kwargs.items() if k != "requires_grad"}
    t_kwargs = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
    a_kwargs = {k: getattr(ax, v) if k == "dtype" else v for k, v in kwargs.items()}
    a_kwargs = {k: ax.device(v) if k == "device" else v for k, v in a_kwargs.items()}
    expected, got = make(torch, **t_kwargs), make(ax, **a_kwargs)
    assert str(got.dtype) == _dtype_name(expected)
    assert got.requires_grad == expected.requires_grad
    assert got.shape == tuple(expected.shape)
    if not name.startswith("empty"):  # empty's values are whatever the memory held
        assert_close(got, expected.detach(), rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_refuse_cuda(name):
    with pytest.raises(RuntimeError, match="cuda"):
        FACTORIES[name](ax, device="cuda")


RANDOM = {
    "rand": lambda L, **k: L.rand(2, 3, **k),
    "randn": lambda L, **k: L.randn((2, 3), **k),
    "rand_size_keyword": lambda L, **k: L.rand(size=(2, 3), **k),
    "randn_size_keyword": lambda L, **k: L.randn(size=(4,), **k),
    "rand_like": lambda L, **k: L.rand_like(L.ones(2, 3), **k),
    "randn_like": lambda L, **k: L.randn_like(L.ones(2, 3), **k),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_factories_take_torch_keywords(name):
    make = RANDOM[name]
    for kwargs in ({}, {"device": "cpu", "dtype": "float64", "requires_grad": True}):
        t_kwargs = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
        a_kwargs = {k: getattr(ax, v) if k == "dtype" else v for k, v in kwargs.items()}
        expected, got = make(torch, **t_kwargs), make(ax, **a_kwargs)
        assert got.shape == tuple(expected.shape) and str(got.dtype) == _dtype_name(expected)
        assert got.requires_grad == expected.requires_grad


def test_random_factories_follow_the_seed_and_a_generator():
    ax.manual_seed(3)
    a = ax.randn(4)
    ax.manual_seed(3)
    assert_close(ax.randn(4), a, rtol=0, atol=0)
    g1, g2 = ax.Generator().manual_seed(5), ax.Generator().manual_seed(5)
    assert_close(ax.rand(3, generator=g1), ax.rand(3, generator=g2), rtol=0, atol=0)


@pytest.mark.parametrize("args", [(10, (3,)), (2, 10, (3, 2)), (0, 5, [4])])
def test_randint_signatures_as_torch(args):
    expected = torch.randint(*args)
    got = ax.randint(*args)
    assert got.shape == tuple(expected.shape) and str(got.dtype) == _dtype_name(expected)
    low, high = (0, args[0]) if len(args) == 2 else args[:2]
    assert int(got.min()) >= low and int(got.max()) < high
    assert ax.randint(*args, dtype=ax.int32, device="cpu").dtype == np.int32
    like = ax.randint_like(ax.zeros(2, 2), 5)
    assert like.dtype == np.float32 and like.shape == (2, 2)


@pytest.mark.parametrize("fill", [True, 3, 2.5])
def test_full_dtype_follows_the_fill_value(fill):
    assert str(ax.full((2,), fill).dtype) == _dtype_name(torch.full((2,), fill))


def test_from_numpy_shares_memory():
    arr = np.arange(3.0)
    t = ax.from_numpy(arr)
    arr[0] = 7
    assert t.dtype == np.float64 and float(t[0]) == 7.0
    with pytest.raises(TypeError):
        torch.from_numpy([1, 2])
    with pytest.raises(TypeError):
        ax.from_numpy([1, 2])


# ------------------------------------------------------------------ new_* methods
NEW = {
    "new_zeros": lambda L, x, **k: x.new_zeros(2, 3, **k),
    "new_zeros_tuple": lambda L, x, **k: x.new_zeros((2, 3), **k),
    "new_ones_size_keyword": lambda L, x, **k: x.new_ones(size=(2, 3), **k),
    "new_ones": lambda L, x, **k: x.new_ones((2,), **k),
    "new_full": lambda L, x, **k: x.new_full((2, 2), 4, **k),
    "new_empty": lambda L, x, **k: x.new_empty(2, **k).zero_(),
    "new_tensor": lambda L, x, **k: x.new_tensor([1, 2], **k),
}


@pytest.mark.parametrize("name", sorted(NEW))
@pytest.mark.parametrize("src_dtype", ["float64", "int32"])
def test_new_methods_inherit_dtype_as_torch(name, src_dtype):
    make = NEW[name]
    for kwargs in ({}, {"dtype": "float32", "device": "cpu"}):
        t_kwargs = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
        a_kwargs = {k: getattr(ax, v) if k == "dtype" else v for k, v in kwargs.items()}
        expected = make(torch, torch.ones(1, dtype=getattr(torch, src_dtype)), **t_kwargs)
        got = make(ax, ax.ones(1, dtype=getattr(ax, src_dtype)), **a_kwargs)
        assert str(got.dtype) == _dtype_name(expected)
        assert_close(got, expected, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="cuda"):
        make(ax, ax.ones(1), device="cuda")


def test_default_device_and_device_context_as_torch():
    assert ax.get_default_device() == ax.device("cpu")
    assert str(ax.get_default_device()) == str(torch.get_default_device())
    ax.set_default_device("cpu")
    with ax.device("cpu"):
        assert ax.zeros(1).device == "cpu"
    with pytest.raises(RuntimeError, match="CUDA|CuPy|default device is the CPU"):
        ax.set_default_device("cuda")
    with (
        pytest.raises(RuntimeError, match="CUDA|CuPy|default device is the CPU"),
        ax.device("cuda"),
    ):
        pass


def test_cpu_tensor_queries_as_torch():
    for L in (torch, ax):
        x = L.ones(2)
        assert x.get_device() == -1 and not x.is_pinned()
        assert x.share_memory_() is x
        with pytest.raises(RuntimeError, match="accelerator"):
            x.pin_memory()


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
)
def test_type_names_and_legacy_casts_as_torch(dtype):
    t, a = torch.ones(2, dtype=getattr(torch, dtype)), ax.ones(2, dtype=getattr(ax, dtype))
    assert a.type() == t.type()
    for target in ("torch.DoubleTensor", "torch.LongTensor", "torch.BoolTensor"):
        assert str(a.type(target).dtype) == _dtype_name(t.type(target))
    assert a.type(getattr(ax, dtype)) is a


def test_amp_runs_as_torch_without_cuda():
    """The usual mixed-precision loop runs unchanged; the scaler disables itself."""
    results = []
    for L in (torch, ax):
        L.manual_seed(0)
        model = L.nn.Linear(3, 1)
        with L.no_grad():
            model.weight.copy_(L.tensor([[0.5, -1.0, 2.0]]))
            model.bias.zero_()
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        with pytest.warns(UserWarning, match="Disabling"):
            scaler = L.amp.GradScaler("cuda", enabled=True)
        assert not scaler.is_enabled() and scaler.get_scale() == 1.0
        assert scaler.state_dict() == {}
        for _ in range(3):
            with L.autocast(device_type="cpu", enabled=False):
                assert not L.is_autocast_enabled()
                loss = (model(L.ones(4, 3)) ** 2).mean()
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            scaler.step(opt)
            scaler.update()
        results.append(model.weight.detach())
        assert L.cuda.amp.GradScaler(enabled=False).scale(loss) is loss
    assert_close(results[1], results[0], rtol=1e-6, atol=1e-7)
    with ax.autocast("cuda"):
        assert ax.is_autocast_enabled()
    assert not ax.is_autocast_enabled()


@pytest.mark.parametrize(
    "args", [([1, 2],), (2, 3), (), (3,), ((2, 3),), ([[True]],), ([1.5, 2.5],)]
)
def test_tensor_constructor_as_torch(args):
    expected, got = torch.Tensor(*args), ax.Tensor(*args)
    assert got.shape == tuple(expected.shape) and str(got.dtype) == _dtype_name(expected)
    if expected.numel() and args and not isinstance(args[0], int):
        assert_close(got, expected, rtol=0, atol=0)
    assert ax.Tensor(np.zeros(2, np.float64)).dtype == np.float64  # arrays keep their dtype
    assert ax.tensor([1, 2]).dtype == np.int64


def test_global_switches_as_torch():
    try:
        for L in (torch, ax):
            L.use_deterministic_algorithms(True)
            assert L.are_deterministic_algorithms_enabled()
            L.use_deterministic_algorithms(False)
            assert not L.are_deterministic_algorithms_enabled()
            L.set_float32_matmul_precision("high")
            assert L.get_float32_matmul_precision() == "high"
            with pytest.warns(UserWarning):
                L.set_float32_matmul_precision("fastest")
            assert L.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision("highest")
        ax.set_float32_matmul_precision("highest")
    model = ax.nn.Linear(2, 2)
    assert ax.compile(model) is model
    assert ax.compile(mode="reduce-overhead")(len) is len


def test_printoptions_as_torch():
    data = [1.23456, 2.5]
    try:
        for L in (torch, ax):
            L.set_printoptions(precision=2)
        assert repr(ax.tensor(data)) == repr(torch.tensor(data)).replace(".50", ".5 ")
        assert "1.23" in repr(ax.tensor(data)) and "1.235" not in repr(ax.tensor(data))
        for L in (torch, ax):
            L.set_printoptions(threshold=5, edgeitems=2)
        assert "..." in repr(ax.arange(10)) and "..." in repr(torch.arange(10))
    finally:
        for L in (torch, ax):
            L.set_printoptions(profile="default")
    assert repr(ax.tensor(data)) == "tensor([1.2346, 2.5   ])"


def test_argmax_max_equal_and_in_run_on_the_tensors_backend():
    """The methods that compute on the array themselves (not through an op) use the
    namespace of its backend: on the strict test backend they give the CPU's answers."""
    from tests.backend.strict import StrictArray

    data = [[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]
    cpu, strict = ax.tensor(data), ax.tensor(data, device="strict")
    for fn in (
        lambda t: t.argmax(),
        lambda t: t.argmin(dim=0, keepdim=True),
        lambda t: t.max(dim=1)[1],
        lambda t: t.min(dim=0, keepdim=True)[0],
    ):
        out = fn(strict)
        assert isinstance(out.array, StrictArray)
        assert out.cpu().numpy().tolist() == fn(cpu).numpy().tolist()
    assert strict.equal(strict) and not strict.equal(ax.ones(2, device="strict"))
    assert 7.0 in strict and 4.0 not in strict
