"""The backend seam, proved without a GPU: tensors on the test backend "strict" (arrays that
refuse to be NumPy arrays) give the CPU's results, bit for bit in float64.

Tensors are made on and moved to the device, elementwise ops run forward and backward there,
gradients cross ``.to``, devices never mix silently, factories, ``ax.save`` and
``ax.load(map_location=)`` place arrays, and an SGD step updates a strict parameter. The
op parity suites (``tests/autograd/parity.py``), the layer contract and the training tests
run on this backend too.
"""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file

import axon as ax
from axon.backend.device import DeviceUnavailableError
from tests.backend.strict import STRICT, StrictArray
from tests.helpers import NO_CUDA, assert_equal, without_cuda


def _both(arr, requires_grad: bool = True):
    """The same float64 values as a CPU leaf and a strict leaf."""
    cpu = ax.tensor(arr, dtype=ax.float64, requires_grad=requires_grad)
    strict = ax.tensor(arr, dtype=ax.float64, device="strict", requires_grad=requires_grad)
    return cpu, strict


def _host(t) -> np.ndarray:
    return t.cpu().detach().numpy()


# ------------------------------------------------------------------ arrays and devices
def test_strict_arrays_are_not_numpy_arrays_and_refuse_numpy():
    x = ax.ones(3, device="strict")
    assert isinstance(x.array, StrictArray) and not isinstance(x.array, np.ndarray)
    with pytest.raises(TypeError):
        np.asarray(x.array)
    with pytest.raises(TypeError):
        np.exp(x.array)
    with pytest.raises(TypeError, match="Use Tensor.cpu"):
        x.numpy()


def test_device_names_and_properties():
    assert ax.device("strict") == ax.device("strict", None)
    x = ax.zeros(2, device="strict")
    assert x.device == ax.device("strict", 0) and x.device == "strict:0"
    assert x.device.type == "strict" and x.get_device() == 0 and not x.is_cuda
    assert "device='strict:0'" in repr(x)
    assert ax.backend.for_device("strict") is STRICT and ax.backend.of(x.array) is STRICT
    assert ax.ones(2).device == "cpu" and ax.ones(2).get_device() == -1


def test_to_and_cpu_move_arrays_and_back():
    host = np.array([1.5, -2.0, 3.25])
    x = ax.tensor(host)
    y = x.to("strict")
    assert y.device == "strict:0" and y.to("strict") is y and y.to(ax.device("strict")) is y
    assert x.to("cpu") is x and x.cpu() is x
    back = y.cpu()
    assert back.device == "cpu" and isinstance(back.array, np.ndarray)
    np.testing.assert_array_equal(back.numpy(), host.astype(np.float32))
    z = x.to("strict", ax.float64)
    assert z.dtype == np.float64 and z.device == "strict:0"
    np.testing.assert_array_equal(_host(y.to(ax.float16)), host.astype(np.float16))


@without_cuda
def test_cuda_is_still_refused_naming_it():
    with pytest.raises(DeviceUnavailableError, match=NO_CUDA):
        ax.ones(2, device="strict").cuda()
    with pytest.raises(DeviceUnavailableError, match=NO_CUDA):
        ax.ones(2).to("cuda")


def test_factories_place_their_tensors_on_the_device():
    ax.manual_seed(3)
    cpu = ax.randn(4, 3)
    ax.manual_seed(3)
    strict = ax.randn(4, 3, device="strict")
    assert strict.device == "strict:0"
    np.testing.assert_array_equal(_host(strict), cpu.numpy())  # one seed, one stream
    made = [
        ax.zeros(2, 3, device="strict"),
        ax.ones(2, device="strict"),
        ax.full((2,), 1.5, device="strict"),
        ax.empty(2, device="strict"),
        ax.arange(5, device="strict"),
        ax.eye(3, device="strict"),
        ax.tensor([1.0, 2.0], device="strict"),
        ax.as_tensor([1, 2], device="strict"),
        ax.Tensor([1.0], device="strict"),
        ax.zeros_like(strict),
        ax.ones_like(strict),
        ax.rand_like(strict),
        strict.new_zeros(2),
        strict.new_tensor([1.0]),
    ]
    for t in made:
        assert t.device == "strict:0" and isinstance(t.array, StrictArray)
    assert ax.zeros_like(strict, device="cpu").device == "cpu"
    assert ax.tensor(strict, device="cpu").device == "cpu"
    assert ax.as_tensor(strict) is strict


# ------------------------------------------------------------------ elementwise parity
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a.abs() ** b,
    "maximum": ax.maximum,
    "minimum": ax.minimum,
    "where": lambda a, b: ax.where(a > b, a, b),
    "clamp_tensors": lambda a, b: a.clamp(b - 0.5, b + 0.5),
    "scalars": lambda a, b: 2.0 * a - b / 3 + 1,
}
UNARY = {
    "neg": lambda a: -a,
    "exp": lambda a: a.exp(),
    "log": lambda a: a.abs().log(),
    "sqrt": lambda a: a.abs().sqrt(),
    "abs": lambda a: a.abs(),
    "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(),
    "clamp": lambda a: a.clamp(-0.5, 0.5),
    "square": lambda a: a**2,
    "cast": lambda a: a.float().double(),
    "clone": lambda a: a.clone(),
    "reshape": lambda a: a.reshape(-1) * 2,
    "transpose": lambda a: a.T,
}


def _check_parity(fn, arrays):
    cpu, strict = zip(*(_both(a) for a in arrays), strict=True)
    out_cpu, out_strict = fn(*cpu), fn(*strict)
    assert out_strict.device == "strict:0"
    np.testing.assert_array_equal(_host(out_strict), out_cpu.detach().numpy())
    seed = np.linspace(-1.0, 2.0, out_cpu.numel()).reshape(out_cpu.shape)
    out_cpu.backward(ax.tensor(seed, dtype=ax.float64))
    out_strict.backward(ax.tensor(seed, dtype=ax.float64, device="strict"))
    for c, s in zip(cpu, strict, strict=True):
        assert s.grad.device == "strict:0"
        np.testing.assert_array_equal(_host(s.grad), c.grad.numpy())


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_match_the_cpu_bit_for_bit(name):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4,))  # broadcast: the walk reduces b's gradient
    b[0] = a[0, 0]  # a tie for maximum/minimum
    _check_parity(BINARY[name], [a, b])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_the_cpu_bit_for_bit(name):
    a = np.random.default_rng(1).standard_normal((2, 5))
    a[0, 0] = 0.0  # abs's kink
    _check_parity(UNARY[name], [a])


def test_comparisons_and_checks_stay_on_the_device():
    x = ax.tensor([1.0, float("nan"), 3.0], device="strict")
    for t in (x > 1, x == 3, x != 1, x.isnan(), x.isfinite()):
        assert t.device == "strict:0" and t.dtype == np.bool_
    np.testing.assert_array_equal(_host(x >= 1), [True, False, True])


# ------------------------------------------------------------------ gradients across .to
def test_the_gradient_flows_back_through_to():
    x = ax.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x.to("strict") * 3).exp().to("cpu").sum()
    y.backward()
    assert x.grad.device == "cpu"
    expected = 3 * np.exp(3 * np.array([1.0, -2.0, 3.0], dtype=np.float32))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    w = ax.tensor([0.5, 2.0], device="strict", requires_grad=True)
    (w.cpu() * ax.tensor([4.0, 5.0])).sum().backward()
    assert w.grad.device == "strict:0"
    np.testing.assert_array_equal(_host(w.grad), [4.0, 5.0])


def test_mixing_devices_raises_naming_both_and_the_op():
    cpu, strict = ax.ones(2), ax.ones(2, device="strict")
    with pytest.raises(RuntimeError, match=r"at least two devices, cpu and strict:0.*MulBackward"):
        cpu * strict
    with pytest.raises(RuntimeError, match=r"strict:0 and cpu.*AddBackward"):
        strict + cpu
    assert (strict * 2).device == "strict:0"  # numbers mix with any device


# ------------------------------------------------------------------ modules, save, load
def test_module_to_moves_parameters_keeping_them():
    m = ax.nn.Linear(3, 2)
    w = m.weight
    m.weight.grad = ax.ones(2, 3)
    assert m.to("strict") is m and m.weight is w
    assert all(p.device == "strict:0" for p in m.parameters())
    assert m.weight.grad.device == "strict:0"
    m.cpu()
    assert all(p.device == "cpu" for p in m.parameters()) and m.weight.grad.device == "cpu"


def test_save_writes_host_arrays_and_load_maps_to_the_device(tmp_path):
    path = tmp_path / "w.safetensors"
    w = ax.tensor([[1.0, 2.0], [3.0, 4.0]], device="strict", requires_grad=True)
    ax.save({"w": w, "b": ax.tensor([0.5], device="strict")}, path)
    raw = load_file(str(path))  # any safetensors reader sees plain host arrays
    np.testing.assert_array_equal(raw["w"], [[1.0, 2.0], [3.0, 4.0]])
    plain = ax.load(path)
    assert plain["w"].device == "cpu" and plain["w"].requires_grad
    for location in ("strict", ax.device("strict"), {"cpu": "strict"}):
        loaded = ax.load(path, map_location=location)
        assert loaded["w"].device == "strict:0" and loaded["b"].device == "strict:0"
        np.testing.assert_array_equal(_host(loaded["w"]), raw["w"])
    moved = ax.load(path, map_location=lambda t, loc: t.to("strict"))
    assert moved["w"].device == "strict:0"
    nested = tmp_path / "nested.safetensors"
    ax.save({"state": [w, (w,)], "n": 3}, nested)
    back = ax.load(nested, map_location="strict")
    assert back["state"][0] is back["state"][1][0] and back["state"][0].device == "strict:0"
    with pytest.raises(DeviceUnavailableError, match="CUDA"):
        ax.load(path, map_location="cuda")


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_an_sgd_step_on_a_strict_parameter_matches_the_cpu(momentum):
    arr = np.array([[0.5, -1.0], [2.0, 0.25]])
    params = _both(arr)
    for p in params:
        opt = ax.optim.SGD([p], lr=0.1, momentum=momentum, weight_decay=0.01, nesterov=momentum > 0)
        for _ in range(3):
            opt.zero_grad()
            ((p * p).exp() - p).sum().backward()
            opt.step()
    assert params[1].device == "strict:0"
    np.testing.assert_array_equal(_host(params[1]), params[0].detach().numpy())


def test_the_default_device_stays_the_cpu():
    with pytest.raises(NotImplementedError, match="default device is the CPU"):
        ax.set_default_device("strict")
    with pytest.raises(NotImplementedError), ax.device("strict"):
        pass
    assert ax.get_default_device() == "cpu" and ax.zeros(1).device == "cpu"


def test_layers_are_built_on_their_device():
    assert ax.nn.Linear(3, 2, device="strict").weight.device == "strict:0"
    assert ax.nn.Linear(3, 2, device="cpu").weight.device == "cpu"


def test_two_leaves_never_share_a_gradient_array():
    a, b = ax.ones(2, device="strict", requires_grad=True), ax.ones(2, device="strict")
    b.requires_grad_(True)
    (a + b).backward(ax.ones(2, device="strict"))
    a.grad.array[0] = 5.0
    assert _host(b.grad).tolist() == [1.0, 1.0]


def test_in_place_updates_without_a_graph_stay_on_the_device():
    p = ax.tensor([0.5, -1.0, 2.0], device="strict", requires_grad=True)
    (p * p).backward(ax.ones(3, device="strict"))
    with ax.no_grad():
        p.mul_(2).add_(1).clamp_(-1, 3)
    p.data.add_(p.grad, alpha=-0.5)  # torch's hand-written SGD step
    assert p.device == "strict:0"
    np.testing.assert_array_equal(_host(p), np.array([1.5, 0.0, 1.0], dtype=np.float32))


def test_an_optimizer_state_dict_round_trips_on_the_device(tmp_path):
    p = ax.tensor([0.5, -1.0], device="strict", requires_grad=True)
    opt = ax.optim.SGD([p], lr=0.1, momentum=0.9)
    (p * p).backward(ax.ones(2, device="strict"))
    opt.step()
    path = tmp_path / "opt.safetensors"
    ax.save(opt.state_dict(), path)
    opt2 = ax.optim.SGD([p], lr=0.1, momentum=0.9)
    opt2.load_state_dict(ax.load(path))
    buf = opt2.state[p]["momentum_buffer"]
    assert ax.backend.of(buf) is STRICT
    np.testing.assert_array_equal(STRICT.to_host(buf), [1.0, -2.0])


def test_load_state_dict_takes_a_device_s_raw_arrays():
    ax.manual_seed(0)
    dev = ax.nn.Linear(3, 2).to("strict")
    raw = {k: v.array for k, v in dev.state_dict().items()}  # the device's arrays, not Tensors
    for where in ("cpu", "strict"):
        other = ax.nn.Linear(3, 2).to(where)
        other.load_state_dict(raw)
        assert other.weight.device.type == where
        assert_equal(_host(other.weight), _host(dev.weight))
