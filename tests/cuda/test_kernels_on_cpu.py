"""The CUDA kernels' bodies, compiled with g++ (``cpu_kernels``), called through the ops'
own call sites and compared, in float64, with the ops' NumPy path: an LSTM and a GRU
(two layers, both directions, packed sequences of three lengths, so steps run on fewer
rows than the batch) forward and backward, and Adam's steps.

The same bodies compile for CUDA with NVRTC in ``gpu_check.sh``'s run; on a GPU,
``test_gpu.py`` compares them once more.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import axon as ax
from tests.cuda import cpu_kernels
from tests.helpers import assert_close, assert_differs

NO_COMPILER = "no g++ here: the kernels' bodies cannot be compiled for the CPU"


@pytest.fixture(autouse=True)
def _compiler():
    """Skipped without g++, except in CI, whose .ci/run installs it: there a skip would
    hide a missing step, so the tests fail."""
    if cpu_kernels.compiler() is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(NO_COMPILER)


TIGHT = {"rtol": 1e-11, "atol": 1e-13}


@pytest.fixture(scope="module")
def kernels():
    return cpu_kernels.load_kernels()


def _with(kernels, monkeypatch, run):
    """``run()`` through the fused kernels on the CPU, then through the NumPy path."""
    with monkeypatch.context() as m:
        m.setattr(ax.backend.cpu, "kernels", lambda: kernels)
        fused = run()
    return fused, run()


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_kernels_give_the_numpy_path_s_numbers(kernels, monkeypatch, cell, bias):
    lengths = [6, 4, 4, 2]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4, 5))

    def run():
        ax.manual_seed(0)
        layer = getattr(ax.nn, cell)(5, 7, num_layers=2, bidirectional=True, bias=bias)
        layer.double()
        xs = ax.tensor(x, requires_grad=True)
        packed = ax.nn.utils.rnn.pack_padded_sequence(xs, lengths)
        out, state = layer(packed)
        padded, _ = ax.nn.utils.rnn.pad_packed_sequence(out)
        h = state[0] if cell == "LSTM" else state
        loss = (padded * padded).sum() + (h * h * 0.5).sum()
        if cell == "LSTM":
            loss = loss + (state[1] ** 3).sum()
        loss.backward()
        return [padded.detach().numpy(), xs.grad.numpy()] + [
            p.grad.numpy() for p in layer.parameters()
        ]

    fused, plain = _with(kernels, monkeypatch, run)
    for k, (a, b) in enumerate(zip(fused, plain, strict=True)):
        assert_close(a, b, **TIGHT, msg=f"array {k} of {cell}")


def test_recurrent_kernels_with_an_initial_state(kernels, monkeypatch):
    rng = np.random.default_rng(1)
    x, h0, c0 = rng.normal(size=(5, 3, 4)), rng.normal(size=(1, 3, 6)), rng.normal(size=(1, 3, 6))

    def run():
        ax.manual_seed(1)
        layer = ax.nn.LSTM(4, 6).double()
        hs, cs = ax.tensor(h0, requires_grad=True), ax.tensor(c0, requires_grad=True)
        out, (h, c) = layer(ax.tensor(x), (hs, cs))
        (out.sum() + (c * c).sum()).backward()
        return [out.detach().numpy(), hs.grad.numpy(), cs.grad.numpy()]

    fused, plain = _with(kernels, monkeypatch, run)
    for a, b in zip(fused, plain, strict=True):
        assert_close(a, b, **TIGHT)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_adam_kernel_gives_the_numpy_path_s_steps(kernels, monkeypatch, dtype):
    def run():
        rng = np.random.default_rng(2)
        params = [
            ax.tensor(rng.normal(size=s).astype(dtype), requires_grad=True)
            for s in [(3, 4), (4,), (40, 70)]
        ]
        opt = ax.optim.AdamW(params, lr=0.01, weight_decay=0.1)
        for step in range(6):
            g = np.random.default_rng(10 + step)
            for p in params:
                p.grad = ax.tensor(g.normal(size=p.shape).astype(dtype))
            opt.step()
        return [p.detach().numpy().copy() for p in params] + [
            opt.state[p]["exp_avg_sq"].copy() for p in params
        ]

    fused, plain = _with(kernels, monkeypatch, run)
    tol = TIGHT if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}  # steps of 0.01
    for a, b in zip(fused, plain, strict=True):
        assert_close(a, b, **tol)
    start = np.random.default_rng(2).normal(size=(3, 4)).astype(dtype)
    assert_differs(fused[0], start)  # the steps moved the weights


def test_the_stand_in_refuses_strided_rows_and_runs_contiguous_ones(kernels):
    c_prev, c, tanh_c, h = (np.full((3, 4), 0.5) for _ in range(4))
    rec = np.zeros((3, 16))
    with pytest.raises(ValueError, match="not C-contiguous"):
        kernels.lstm_forward(np.zeros((3, 32))[:, :16], rec, c_prev, c, tanh_c, h)
    gates = np.full((3, 16), 1.5)  # with rec, every gate at 0: sigma = 1/2, g = 0
    kernels.lstm_forward(gates, rec - 1.5, c_prev, c, tanh_c, h)
    np.testing.assert_allclose(gates[:, :12], 0.5)
    np.testing.assert_allclose(c, 0.25)  # f c_prev + i g = 0.5 * 0.5 + 0
    np.testing.assert_allclose(h, 0.5 * np.tanh(0.25))


def _grads(run_loss, *arrays):
    """The loss and the gradients of ``arrays`` (made leaves here) under ``run_loss``."""
    leaves = [ax.tensor(a, requires_grad=True) for a in arrays]
    loss = run_loss(*leaves)
    loss.backward()
    return [loss.detach().numpy()] + [t.grad.numpy() for t in leaves]


SOFTMAX_CASES = {
    "softmax": lambda x: (ax.softmax(x, dim=-1) ** 2).sum(),
    "log_softmax": lambda x: (ax.log_softmax(x, dim=-1) * ax.arange(9.0).double()).sum(),
    "softmax other dim": lambda x: (ax.softmax(x, dim=0) ** 3).sum(),
    "cross_entropy": lambda x: ax.nn.functional.cross_entropy(
        x.reshape(-1, 9), ax.tensor([1, 8, 0, 3, 3, 2, 7, 5, 4, 6, 0, 1]), ignore_index=3
    ),
    "cross_entropy smoothed, weighted": lambda x: ax.nn.functional.cross_entropy(
        x.reshape(-1, 9),
        ax.tensor([1, 8, 0, 3, 3, 2, 7, 5, 4, 6, 0, 1]),
        weight=ax.linspace(0.5, 2.0, 9).double(),
        label_smoothing=0.2,
    ),
    "cross_entropy (N, C, L), none": lambda x: (
        ax.nn.functional.cross_entropy(
            x.permute(0, 2, 1),
            ax.tensor([[1, 8, 0, 3], [3, 2, 7, 5], [4, 6, 0, 1]]),
            reduction="none",
        )
        * ax.arange(12.0).double().reshape(3, 4)
    ).sum(),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(SOFTMAX_CASES))
def test_softmax_kernels_give_the_numpy_path_s_numbers(kernels, monkeypatch, case):
    x = np.random.default_rng(3).normal(size=(3, 4, 9)) * 3
    fused, plain = _with(kernels, monkeypatch, lambda: _grads(SOFTMAX_CASES[case], x))
    for a, b in zip(fused, plain, strict=True):
        assert_close(a, b, **TIGHT)


@pytest.mark.parametrize("masked_row", [False, True])
def test_attention_kernels_give_the_numpy_path_s_numbers(kernels, monkeypatch, masked_row):
    rng = np.random.default_rng(4)
    q, k, v = (rng.normal(size=(2, 3, 5, 8)) for _ in range(3))
    mask = np.zeros((5, 5))
    mask[np.triu_indices(5, 1)] = -np.inf
    if masked_row:
        mask[2] = -np.inf  # a query that may see nothing: its weights are 0, not NaN

    def loss(q, k, v):
        out = ax.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=ax.tensor(mask))
        return (out * out).sum()

    fused, plain = _with(kernels, monkeypatch, lambda: _grads(loss, q, k, v))
    for a, b in zip(fused, plain, strict=True):
        assert_close(a, b, **TIGHT)
