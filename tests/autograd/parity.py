"""Parity with PyTorch: run one function on axon and on torch, compare values and gradients.

The idea is tinygrad's ``helper_test_op``, written for axon: build the same inputs in both
libraries (random in ``[low, high)`` from a fixed seed, or given arrays, optionally as
non-contiguous NumPy views), run forward, compare every output (values and dtype),
back-propagate the same random upstream gradient (or 1 for scalars) and compare the
gradient of every input. ``helper_test_exception`` checks that both libraries refuse the
same bad input, and that axon's message says what went wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch

import axon as ax
from tests.helpers import assert_close

# (rtol, atol) for values and gradients, per dtype; each test may override them
TOLERANCES = {
    np.float64: (1e-7, 1e-9),
    np.float32: (1e-4, 1e-5),
}


def _layout(arr: np.ndarray, layout: str) -> np.ndarray:
    """The same values, laid out as asked: a C array, a strided view or a transposed view."""
    if layout == "contiguous" or arr.ndim == 0:
        return arr
    if layout == "strided" or arr.ndim == 1:  # every other element of a twice-as-long last axis
        base = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), dtype=arr.dtype)
        base[..., ::2] = arr
        view = base[..., ::2]
    elif layout == "transposed":  # stored in reversed axis order
        view = np.ascontiguousarray(arr.T).T
    else:
        raise ValueError(f"unknown layout {layout!r}")
    assert not view.flags.c_contiguous or 1 in arr.shape  # size-1 axes: any layout is C
    return view


def make_inputs(shapes=None, arrays=None, dtype=np.float64, seed=0, low=-2.0, high=2.0):
    """NumPy inputs: given ``arrays`` (cast to floating ``dtype``) or random ones of ``shapes``."""
    if arrays is not None:
        arrays = [np.asarray(a) for a in arrays]
        return [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=s).astype(dtype) for s in shapes]


def _as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, tuple | list) else (out,)


def helper_test_op(
    shapes: Sequence[tuple] | None,
    torch_fn: Callable,
    axon_fn: Callable | None = None,
    *,
    arrays: Sequence | None = None,
    dtype=np.float64,
    seed: int = 0,
    low: float = -2.0,
    high: float = 2.0,
    layout: str = "contiguous",
    requires_grad: Sequence[bool] | None = None,
    upstream: str = "random",
    forward_only: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    grad_rtol: float | None = None,
    grad_atol: float | None = None,
    devices: Sequence[str] | None = None,
) -> None:
    """Check ``axon_fn`` (default: ``torch_fn``) against ``torch_fn`` on the same inputs.

    Args:
        shapes: one shape per input (random uniform in ``[low, high)`` from ``seed``).
        torch_fn: a function of torch tensors; also used for axon when the API is the same.
        axon_fn: the axon version, when its spelling differs.
        arrays: explicit inputs instead of ``shapes`` (for kinks, ties, large values);
            integer arrays are passed as integer tensors that do not require grad.
        dtype: float64 (tight tolerances) or float32 (loose ones).
        layout: "contiguous", or feed axon non-contiguous views ("strided", "transposed").
        requires_grad: per input; default every floating input.
        upstream: "random" (a random gradient of each output's shape) or "ones".
        forward_only: compare outputs only (ops without a gradient).
        rtol, atol, grad_rtol, grad_atol: override the dtype's tolerances.
        devices: the devices axon may run on for this check (default: every one of
            :func:`parity_devices`); ``("cpu",)`` for a function that only the CPU runs.
    """
    axon_fn = axon_fn or torch_fn
    dtype = np.dtype(dtype).type
    base_rtol, base_atol = TOLERANCES[dtype]
    rtol, atol = rtol or base_rtol, atol or base_atol
    grad_rtol, grad_atol = grad_rtol or rtol, grad_atol or atol

    np_inputs = make_inputs(shapes, arrays, dtype, seed, low, high)
    if requires_grad is None:
        requires_grad = [a.dtype.kind == "f" and not forward_only for a in np_inputs]
    t_in = [
        torch.tensor(a).requires_grad_(rg) for a, rg in zip(np_inputs, requires_grad, strict=True)
    ]
    t_out = _as_tuple(torch_fn(*t_in))
    rng = np.random.default_rng(seed + 1)
    upstreams = [
        None
        if not t.requires_grad or forward_only
        else rng.uniform(-1.0, 1.0, size=t.shape).astype(t.detach().numpy().dtype)
        if upstream == "random"
        else np.ones(t.shape, dtype=t.detach().numpy().dtype)
        for t in t_out
    ]
    if not forward_only:
        for t, g in zip(t_out, upstreams, strict=True):
            if g is not None:
                t.backward(torch.tensor(g), retain_graph=True)
    for device in parity_devices(devices):
        _check_axon(
            device,
            axon_fn,
            np_inputs,
            requires_grad,
            layout,
            t_in,
            t_out,
            upstreams,
            forward_only,
            (rtol, atol, grad_rtol, grad_atol),
        )


def parity_devices(devices: Sequence[str] | None = None) -> list[str]:
    """The devices axon's side of a parity check runs on: the CPU, the tests' strict
    backend (arrays that refuse NumPy and every name CuPy lacks, proving every op goes
    through its backend) and a GPU where CUDA is available; or those ``AXON_PARITY_DEVICES``
    names (``cpu`` alone for a quick run, ``cuda`` alone on a GPU); ``devices`` limits them."""
    default = "cpu,strict,cuda" if ax.cuda.is_available() else "cpu,strict"
    wanted = os.environ.get("AXON_PARITY_DEVICES", default).split(",")
    if "strict" in wanted:
        import tests.backend.strict  # noqa: F401  (registers the strict backend)
    return [d for d in wanted if devices is None or d in devices]


def _host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _check_axon(
    device, axon_fn, np_inputs, requires_grad, layout, t_in, t_out, upstreams, forward_only, tols
) -> None:
    """Run ``axon_fn`` on ``device`` and compare its outputs and gradients with torch's."""
    rtol, atol, grad_rtol, grad_atol = tols
    where = "" if device == "cpu" else f" on {device}"
    # from_numpy keeps the view: axon really sees non-contiguous memory
    a_in = []
    for a, rg in zip(np_inputs, requires_grad, strict=True):
        x = ax.from_numpy(_layout(a.copy(), layout))
        a_in.append((x if device == "cpu" else x.to(device)).requires_grad_(rg))
    a_out = _as_tuple(axon_fn(*a_in))
    assert len(a_out) == len(t_out), f"axon gave {len(a_out)} outputs, torch {len(t_out)}"
    for k, (a, t) in enumerate(zip(a_out, t_out, strict=True)):
        t_np = t.detach().numpy()
        assert isinstance(a, ax.Tensor), f"output {k} is a {type(a).__name__}, not a Tensor"
        assert a.device.type == device, f"output {k} is on {a.device}, not {device}"
        assert a.dtype == t_np.dtype, f"output {k}: dtype {a.dtype}, torch {t_np.dtype}"
        assert a.requires_grad == t.requires_grad, (
            f"output {k}: requires_grad {a.requires_grad}, torch {t.requires_grad}"
        )
        if t_np.dtype.kind in "biu":
            np.testing.assert_array_equal(_host(a), t_np, err_msg=f"output {k}{where}")
        else:
            assert_close(_host(a), t_np, rtol=rtol, atol=atol, msg=f"forward output {k}{where}:")
    if forward_only:
        return

    for a, g in zip(a_out, upstreams, strict=True):
        if g is not None:
            a.backward(g if device == "cpu" else ax.tensor(g).to(device), retain_graph=True)

    for i, (a, t) in enumerate(zip(a_in, t_in, strict=True)):
        if not t.requires_grad:
            continue
        if t.grad is None:
            assert a.grad is None or not np.any(_host(a.grad)), f"input {i}: torch has no grad"
            continue
        assert a.grad is not None, f"input {i}: axon has no gradient, torch does{where}"
        assert a.grad.dtype == a.dtype, f"input {i}: grad dtype {a.grad.dtype} != {a.dtype}"
        assert a.grad.shape == a.shape, f"input {i}: grad shape {a.grad.shape} != {a.shape}"
        assert a.grad.device == a.device, f"input {i}: grad on {a.grad.device}, not {a.device}"
        assert_close(
            _host(a.grad), t.grad, rtol=grad_rtol, atol=grad_atol, msg=f"grad of input {i}{where}:"
        )


def helper_test_exception(
    shapes: Sequence[tuple] | None,
    torch_fn: Callable,
    axon_fn: Callable | None = None,
    *,
    arrays: Sequence | None = None,
    exact: type[BaseException] = RuntimeError,
    match: Sequence[str] = (),
) -> str:
    """Both libraries must raise ``exact`` on the same input; axon's message must contain
    every string of ``match`` (the op's name, the shapes). Returns axon's message."""
    axon_fn = axon_fn or torch_fn
    np_inputs = make_inputs(shapes, arrays)
    with pytest.raises(exact):
        torch_fn(*[torch.tensor(a) for a in np_inputs])
    with pytest.raises(exact) as info:
        axon_fn(*[ax.tensor(a) for a in np_inputs])
    message = str(info.value)
    for part in match:
        assert part in message, f"axon's message {message!r} does not mention {part!r}"
    return message
