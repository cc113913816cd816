"""The CUDA backend's own code on two fake GPUs (``fakecupy``): runs where CI runs.

What it proves: ``"cuda"`` loads the backend on first use and refuses it saying whether
CuPy or a GPU is missing; devices and ordinals as torch's; moves between the host and
either GPU, gradients moving back; ops launching on their inputs' GPU; ``axon.cuda``'s
functions; dropout's masks drawn on the device, fixed by the seeds and by a restored RNG
state; ``save``/``load(map_location=)``; a model trained with ``fit`` on a GPU giving the
CPU's numbers (float64, fused kernels off). CuPy's arithmetic and the CUDA kernels
themselves are only tested on a real GPU (``test_gpu.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import axon as ax
from axon.backend.device import DeviceUnavailableError
from tests.cuda import fakecupy
from tests.helpers import assert_close, assert_equal

pytestmark = pytest.mark.skipif(
    ax.cuda.is_available(), reason="a real GPU is here: test_gpu.py tests the backend on it"
)


@pytest.fixture
def cuda():
    with fakecupy.gpus(2) as backend:
        yield backend


def _host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


# ------------------------------------------------------------------ loading and refusing
def test_without_cupy_cuda_is_refused_saying_to_install_it():
    fakecupy.uninstall()
    assert ax.cuda.is_available() is False and ax.cuda.device_count() == 0
    with pytest.raises(DeviceUnavailableError, match=r"CuPy.*axon\[cuda12\]"):
        ax.ones(2).cuda()
    with pytest.raises(DeviceUnavailableError, match="CuPy"):
        ax.cuda.synchronize()


@pytest.mark.parametrize(
    "count, error, message",
    [
        (1, "cudaErrorInsufficientDriver: CUDA driver version is insufficient", "no usable GPU"),
        (0, None, "has no NVIDIA GPU"),
    ],
)
def test_cupy_without_a_gpu_is_refused_saying_so(count, error, message):
    fakecupy.install(count, error)
    try:
        assert ax.cuda.is_available() is False and ax.cuda.device_count() == 0
        with pytest.raises(DeviceUnavailableError, match=message) as info:
            ax.zeros(3, device="cuda")
        assert error is None or "InsufficientDriver" in str(info.value)
        assert isinstance(info.value, AssertionError)  # as torch built without CUDA
        ax.cuda.manual_seed(0)  # still accepted, as torch accepts it without CUDA
    finally:
        fakecupy.uninstall()


# ------------------------------------------------------------------ devices and moves
def test_devices_and_ordinals_as_torch(cuda):
    assert ax.cuda.is_available() and ax.cuda.device_count() == 2
    x = ax.ones(3).cuda()
    assert x.device == ax.device("cuda", 0) and x.device == "cuda:0"
    assert x.is_cuda and x.get_device() == 0 and not ax.ones(1).is_cuda
    y = ax.ones(3).to("cuda:1")
    assert y.device == "cuda:1" and y.get_device() == 1 and y.array.gpu == 1
    assert ax.device(1) == ax.device("cuda:1")  # torch's bare ordinal
    assert ax.ones(2).to(0).device == "cuda:0"
    with pytest.raises(RuntimeError, match=r"invalid device ordinal: cuda:2 .* has 2 GPUs"):
        ax.ones(2).to("cuda:2")
    ax.cuda.set_device(1)
    try:
        assert ax.cuda.current_device() == 1 and ax.ones(2).cuda().device == "cuda:1"
    finally:
        ax.cuda.set_device(0)


def test_moves_copy_and_gradients_move_back(cuda):
    host = np.array([1.5, -2.0, 3.25])
    x = ax.tensor(host, dtype=ax.float64, requires_grad=True)
    y = x.to("cuda:1")
    assert y.to("cuda:1") is y and y.cuda(1) is y
    y.array[0] = 7.0  # a copy: the host array is not the device's
    assert x.detach().numpy()[0] == 1.5
    z = y.to("cuda:0")
    assert z.device == "cuda:0" and z.array.gpu == 0
    (z * z).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.array([7.0, -2.0, 3.25]))
    with pytest.raises(TypeError, match="cpu"):
        ax.ones(2).cuda().numpy()


def test_ops_launch_on_their_inputs_gpu_and_devices_never_mix(cuda):
    a = ax.ones(3).to("cuda:1")
    assert fakecupy._current[0] == 0
    out = a * 2 + 1
    assert fakecupy._current[0] == 1 and out.device == "cuda:1"  # CuPy's current GPU
    assert ax.cuda.current_device() == 0 and ax.ones(1).cuda().device == "cuda:0"  # torch's
    with pytest.raises(RuntimeError, match="same device.*cuda:1 and cuda:0"):
        a + ax.ones(3).cuda()
    with pytest.raises(RuntimeError, match="same device"):
        a + ax.ones(3)


def test_the_cuda_functions(cuda):
    p = ax.cuda.get_device_properties(1)
    assert p.name == "Fake GPU 1" and p.total_memory == 80 * 2**30 and (p.major, p.minor) == (9, 0)
    assert ax.cuda.get_device_name() == "Fake GPU 0"
    fakecupy.SYNCS.clear()
    ax.cuda.synchronize("cuda:1")
    ax.cuda.synchronize()
    assert fakecupy.SYNCS[0] == 1 and fakecupy.SYNCS[-1] == 0
    assert ax.cuda.memory_allocated() == 0
    ax.cuda.empty_cache()
    assert ax.ones(2).cuda().pin_memory().device == "cuda:0"


# ------------------------------------------------------------------ random draws
def _mask(p=0.5, shape=(64,)):
    x = ax.ones(*shape).cuda()
    return _host(ax.nn.functional.dropout(x, p, training=True)) != 0


def test_dropout_draws_on_the_device_and_seeds_fix_the_draws(cuda):
    ax.manual_seed(0)
    first = _mask()
    ax.manual_seed(0)
    again = _mask()
    np.testing.assert_array_equal(first, again)
    assert 10 < first.sum() < 54
    ax.manual_seed(0)
    ax.cuda.manual_seed(5)  # changes the GPU's draws only
    other = _mask()
    assert not np.array_equal(first, other)
    ax.manual_seed(0)  # seeds every device again, as torch's manual_seed
    np.testing.assert_array_equal(_mask(), first)


def test_a_restored_rng_state_restores_the_device_draws(cuda):
    ax.manual_seed(1)
    _mask()
    state = ax.get_rng_state()
    after = [_mask() for _ in range(3)]
    ax.set_rng_state(state)
    for expected in after:
        np.testing.assert_array_equal(_mask(), expected)


def test_the_gpu_draws_other_masks_than_the_cpu(cuda):
    ax.manual_seed(0)
    gpu = _mask(shape=(256,))
    ax.manual_seed(0)
    cpu = ax.nn.functional.dropout(ax.ones(256), 0.5, training=True).numpy() != 0
    assert not np.array_equal(gpu, cpu)


# ------------------------------------------------------------------ files and training
def test_save_writes_host_arrays_and_load_places_them(cuda, tmp_path):
    ax.manual_seed(0)
    model = ax.nn.Linear(3, 2).to("cuda:1")
    path = tmp_path / "m.pt"
    ax.save(model.state_dict(), path)
    on_host = ax.load(path)
    assert on_host["weight"].device == "cpu"
    assert_equal(on_host["weight"].numpy(), _host(model.weight))
    for where, expected in (("cuda", "cuda:0"), ("cuda:1", "cuda:1")):
        loaded = ax.load(path, map_location=where)
        assert loaded["weight"].device == expected
    loaded = ax.load(path, map_location={"cpu": "cuda:1"})
    assert loaded["bias"].device == "cuda:1"


def _train(device: str) -> tuple[list, np.ndarray]:
    ax.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = ax.nn.Sequential(ax.nn.Linear(5, 8), ax.nn.Tanh(), ax.nn.Linear(8, 2)).double()
    model.to(device)
    history = ax.fit(
        model,
        (x, y),
        loss="cross_entropy",
        optimizer=ax.optim.Adam(model.parameters(), lr=0.05),
        epochs=3,
        batch_size=16,
        verbose=0,
    )
    assert next(model.parameters()).device.type == device
    return history.history["loss"], _host(model[0].weight)


def test_fit_on_a_gpu_gives_the_cpu_numbers(cuda):
    cpu_loss, cpu_weight = _train("cpu")
    gpu_loss, gpu_weight = _train("cuda")
    assert_close(gpu_loss, cpu_loss, rtol=1e-12, atol=0)
    assert_close(gpu_weight, cpu_weight, rtol=1e-12, atol=0)
    assert not np.isnan(gpu_loss).any()


def test_torch_s_other_cuda_spellings(cuda):
    g = ax.Generator(device="cuda").manual_seed(3)
    assert g.device == "cuda" and g.initial_seed() == 3
    scaler = ax.amp.GradScaler(enabled=False)  # accepted: axon computes in float32 there
    loss = (ax.ones(2).cuda() * 2).sum()
    assert scaler.scale(loss) is loss


def test_without_a_gpu_a_cuda_generator_is_refused():
    fakecupy.uninstall()
    with pytest.raises(RuntimeError, match="no backend here"):
        ax.Generator(device="cuda")


@pytest.mark.parametrize("dtype", ["int64", "float16", "bool", "int16", "float32"])
def test_index_add_on_the_gpu_takes_every_dtype_cuda_s_atomics_do_not(cuda, dtype):
    index = ax.tensor([0, 2, 2, 4, 0])
    source = ax.tensor([1, 2, 3, 4, 5]).to(getattr(ax, dtype))
    if dtype == "int64":
        source = ax.tensor([2**40, -3, 2**62, 7, -(2**41)])
    expected = ax.zeros(5, dtype=source.dtype).index_add_(0, index, source)
    got = ax.zeros(5, dtype=source.dtype).cuda().index_add_(0, index.cuda(), source.cuda())
    np.testing.assert_array_equal(got.cpu().numpy(), expected.numpy())


def test_without_curand_dropout_draws_on_the_host(cuda, monkeypatch):
    import sys

    class NoCurand:
        def __init__(self, cuda_ns):
            self.__dict__.update(vars(cuda_ns))

        @property
        def curand(self):
            raise ImportError('Failure finding "libcurand.so.10"')

    cupy = sys.modules["cupy"]
    monkeypatch.setattr(cupy, "cuda", NoCurand(cupy.cuda))
    ax.manual_seed(0)
    with pytest.warns(RuntimeWarning, match="libcurand.*drawn on the host"):
        gpu = _mask(shape=(256,))
    ax.manual_seed(0)
    cpu = ax.nn.functional.dropout(ax.ones(256), 0.5, training=True).numpy() != 0
    np.testing.assert_array_equal(gpu, cpu)  # the host's masks, moved
