"""axon on a real NVIDIA GPU (skipped, with the reason, where CuPy or a GPU is missing).

Each test compares the GPU with an oracle: axon on the CPU (the same code through NumPy),
torch on CUDA, and for the fused kernels the generic NumPy-style path on the GPU itself.
float64 comparisons are tight; float32 ones are loose, since a GPU sums in another order.
``benchmarks/gpu_check.sh`` runs this file, and the parity suites with
``AXON_PARITY_DEVICES=cuda``, on a GPU machine.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import axon as ax
import axon.nn.functional as F
from axon.backend.device import _why_not
from tests.helpers import assert_close, assert_equal

pytestmark = pytest.mark.skipif(
    not ax.cuda.is_available(),
    reason=f"no CUDA here: {_why_not.get('cuda', 'CuPy or a GPU is missing')}",
)

F64 = {"rtol": 1e-10, "atol": 1e-12}
F32 = {"rtol": 2e-4, "atol": 2e-5}


def _host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    return torch


@contextlib.contextmanager
def _generic_kernels():
    """The GPU without its fused kernels: the ops' NumPy-style chains through CuPy."""
    from axon.backend.cupy import cuda

    before, cuda.fused = cuda.fused, False
    try:
        yield
    finally:
        cuda.fused = before


def test_arrays_are_cupy_arrays_on_the_gpu():
    import cupy

    x = ax.arange(6.0).reshape(2, 3).cuda()
    assert isinstance(x.array, cupy.ndarray) and x.device == "cuda:0" and x.is_cuda
    y = (x * 2).sum(dim=1)
    assert isinstance(y.array, cupy.ndarray)
    assert_equal(y.cpu().numpy(), [6.0, 24.0])
    assert ax.cuda.get_device_name()
    ax.cuda.synchronize()


# ------------------------------------------------------------------ fused kernels
@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_recurrent_kernels_match_the_generic_path_and_torch(cell, dtype):
    torch = _torch_cuda()
    tol = F64 if dtype == "float64" else F32
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 5, 6)).astype(dtype)  # (L, N, I)
    results = []
    for fused in (True, False):
        ax.manual_seed(0)
        layer = getattr(ax.nn, cell)(6, 8, num_layers=2).to(getattr(ax, dtype)).cuda()
        xs = ax.tensor(x).cuda().requires_grad_()
        with contextlib.nullcontext() if fused else _generic_kernels():
            out, _ = layer(xs)
            (out * out).sum().backward()
        grads = [_host(p.grad) for p in layer.parameters()]
        results.append((_host(out), _host(xs.grad), grads, layer))
    (out_f, dx_f, g_f, layer), (out_g, dx_g, g_g, _) = results
    assert_close(out_f, out_g, **tol)
    assert_close(dx_f, dx_g, **tol)
    for a, b in zip(g_f, g_g, strict=True):
        assert_close(a, b, **tol)
    # torch on CUDA, with axon's weights
    t_layer = getattr(torch.nn, cell)(6, 8, num_layers=2).to(getattr(torch, dtype)).cuda()
    with torch.no_grad():
        for tp, ap in zip(t_layer.parameters(), layer.parameters(), strict=True):
            tp.copy_(torch.from_numpy(_host(ap)))
    tx = torch.tensor(x, device="cuda", requires_grad=True)
    t_out, _ = t_layer(tx)
    (t_out * t_out).sum().backward()
    assert_close(out_f, t_out.detach().cpu().numpy(), **tol)
    assert_close(dx_f, tx.grad.cpu().numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_adam_matches_the_generic_path(dtype):
    tol = F64 if dtype == "float64" else F32
    finals = []
    for fused in (True, False):
        rng = np.random.default_rng(1)
        params = [
            ax.tensor(rng.normal(size=s).astype(dtype)).cuda().requires_grad_()
            for s in [(3, 4), (4,), (300, 70)]
        ]
        opt = ax.optim.Adam(params, lr=0.01, weight_decay=0.01)
        with contextlib.nullcontext() if fused else _generic_kernels():
            for step in range(5):
                g = np.random.default_rng(10 + step)
                for p in params:
                    p.grad = ax.tensor(g.normal(size=p.shape).astype(dtype)).cuda()
                opt.step()
        finals.append([_host(p) for p in params])
    for a, b in zip(*finals, strict=True):
        assert_close(a, b, **tol)


# ------------------------------------------------------------------ layers against torch
LAYERS = {
    "conv2d": (lambda L: L.nn.Conv2d(3, 8, 3, padding=1, stride=2), (4, 3, 16, 16)),
    "maxpool": (lambda L: L.nn.MaxPool2d(2), (4, 3, 16, 16)),
    "batchnorm": (lambda L: L.nn.BatchNorm2d(3), (4, 3, 8, 8)),
    "layernorm": (lambda L: L.nn.LayerNorm(16), (4, 5, 16)),
    "linear": (lambda L: L.nn.Linear(16, 7), (4, 5, 16)),
    "attention": (lambda L: L.nn.MultiheadAttention(16, 4, batch_first=True), (4, 5, 16)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_on_the_gpu_match_torch_on_cuda(name):
    torch = _torch_cuda()
    make, shape = LAYERS[name]
    ax.manual_seed(0)
    layer = make(ax).double().cuda()
    t_layer = make(torch).double().cuda()
    t_layer.load_state_dict({k: torch.from_numpy(_host(v)) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(2).normal(size=shape)
    xs = ax.tensor(x).cuda().requires_grad_()
    tx = torch.tensor(x, device="cuda", requires_grad=True)
    args = (xs, xs, xs) if name == "attention" else (xs,)
    t_args = (tx, tx, tx) if name == "attention" else (tx,)
    out, t_out = layer(*args), t_layer(*t_args)
    if name == "attention":
        out, t_out = out[0], t_out[0]
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    assert_close(_host(out), t_out.detach().cpu().numpy(), **F64)
    assert_close(_host(xs.grad), tx.grad.cpu().numpy(), **F64)


def test_losses_and_embedding_scatter_on_the_gpu_match_the_cpu():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 10, size=(6, 4))
    target = rng.integers(0, 5, size=6)
    grads = []
    for device in ("cpu", "cuda"):
        ax.manual_seed(0)
        emb = ax.nn.Embedding(10, 5).double().to(device)
        e = emb(ax.tensor(ids).to(device)).sum(dim=1)
        loss = F.cross_entropy(e, ax.tensor(target).to(device), label_smoothing=0.1)
        loss.backward()
        grads.append((float(loss), _host(emb.weight.grad)))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-12)
    assert_close(grads[1][1], grads[0][1], **F64)


# ------------------------------------------------------------------ training
def _lenet_losses(device: str) -> list[float]:
    from axon.models.lenet import LeNet5

    ax.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=256)
    model = LeNet5().to(device)
    history = ax.fit(
        model,
        (x, y),
        loss="cross_entropy",
        optimizer=ax.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        epochs=3,
        batch_size=64,
        shuffle=False,
        verbose=0,
    )
    return history.history["loss"]


def _lstm_lm_losses(device: str) -> list[float]:
    ax.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, 50, size=(32, 21))

    class LM(ax.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = ax.nn.Embedding(50, 32)
            self.lstm = ax.nn.LSTM(32, 64, batch_first=True)
            self.out = ax.nn.Linear(64, 50)

        def forward(self, x):
            h, _ = self.lstm(self.emb(x))
            return self.out(h).transpose(1, 2)  # (N, C, L) for cross_entropy

    model = LM().to(device)
    history = ax.fit(
        model,
        (tokens[:, :-1], tokens[:, 1:]),
        loss="cross_entropy",
        optimizer=ax.optim.Adam(model.parameters(), lr=0.01),
        epochs=3,
        batch_size=8,
        shuffle=False,
        verbose=0,
    )
    return history.history["loss"]


@pytest.mark.parametrize("train", [_lenet_losses, _lstm_lm_losses], ids=["lenet", "lstm-lm"])
def test_training_on_the_gpu_follows_the_cpu_loss_curve(train):
    cpu, gpu = train("cpu"), train("cuda")
    assert all(np.isfinite(gpu)) and gpu[-1] < gpu[0]
    assert_close(gpu, cpu, rtol=1e-3, atol=0)


def test_dropout_on_the_gpu_is_seeded_and_keeps_its_rate():
    x = ax.ones(200_000).cuda()
    ax.manual_seed(0)
    a = _host(F.dropout(x, 0.3))
    ax.manual_seed(0)
    b = _host(F.dropout(x, 0.3))
    assert_equal(a, b)
    assert abs((a == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(a[a != 0], 1 / 0.7, rtol=1e-6)


def test_save_and_load_with_map_location(tmp_path):
    model = ax.nn.Linear(4, 3).cuda()
    ax.save(model.state_dict(), tmp_path / "w.pt")
    assert ax.load(tmp_path / "w.pt")["weight"].device == "cpu"
    loaded = ax.load(tmp_path / "w.pt", map_location="cuda")
    assert loaded["weight"].device == "cuda:0"
    assert_equal(_host(loaded["weight"]), _host(model.weight))
