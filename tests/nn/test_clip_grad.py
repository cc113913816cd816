"""Gradient clipping and parameter flattening, against torch.nn.utils."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import axon as ax
from axon.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)
from tests.helpers import assert_close

SHAPES = [(4, 3), (3,), (2, 2, 2), ()]


def _twins(dtype=np.float64, scale=1.0, seed=0):
    """Parameters with gradients set, in axon and torch; also the original grad arrays."""
    rng = np.random.default_rng(seed)
    grads = [rng.normal(0, scale, s).astype(dtype) for s in SHAPES]
    pa, pt = [], []
    for g in grads:
        a = ax.zeros(*g.shape, dtype=dtype, requires_grad=True)
        a.grad = ax.tensor(g)
        t = torch.zeros(
            g.shape,
            dtype=torch.float64 if dtype == np.float64 else torch.float32,
            requires_grad=True,
        )
        t.grad = torch.tensor(g)
        pa.append(a)
        pt.append(t)
    return pa, pt


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])  # clipped, and left alone
def test_clip_grad_norm_matches_torch(dtype, rtol, norm_type, max_norm):
    pa, pt = _twins(dtype)
    old = [p.grad.array for p in pa]
    saved = [g.copy() for g in old]
    total_a = clip_grad_norm_(pa, max_norm, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(pt, max_norm, norm_type=float(norm_type))
    assert isinstance(total_a, ax.Tensor) and total_a.shape == ()
    assert total_a.dtype == dtype
    assert_close(total_a, total_t, rtol=rtol)
    for a, t in zip(pa, pt, strict=True):
        assert a.grad.array.dtype == dtype
        assert_close(a.grad, t.grad, rtol=rtol, atol=1e-12)
    for g, s in zip(old, saved, strict=True):  # the old (maybe shared) arrays are untouched
        np.testing.assert_array_equal(g, s)
    if max_norm < float(total_a):
        new_total = clip_grad_norm_(pa, 1e9, norm_type=norm_type)
        assert float(new_total) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_single_tensor_generator_and_no_grads():
    pa, pt = _twins()
    total = clip_grad_norm_(pa[0], 0.1)
    assert_close(total, torch.nn.utils.clip_grad_norm_(pt[0], 0.1), rtol=1e-12)
    assert_close(pa[0].grad, pt[0].grad, rtol=1e-12)
    total = clip_grad_norm_((p for p in pa[1:]), 0.1)  # a generator is read once
    assert_close(total, torch.nn.utils.clip_grad_norm_((p for p in pt[1:]), 0.1), rtol=1e-12)
    no_grad = ax.ones(3, requires_grad=True)
    assert float(clip_grad_norm_([no_grad], 1.0)) == 0.0
    assert no_grad.grad is None


def test_clip_grad_norm_nonfinite():
    pa, pt = _twins()
    pa[1].grad.array = pa[1].grad.array.copy()
    pa[1].grad.array[0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(pa, 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_(pa, 1.0)
    assert np.isnan(float(total))
    assert all(np.isnan(p.grad.array).all() for p in pa)  # as torch: everything becomes NaN


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_matches_torch(dtype):
    pa, pt = _twins(dtype, scale=2.0)
    old = [p.grad.array for p in pa]
    saved = [g.copy() for g in old]
    assert clip_grad_value_(pa, 1.5) is None
    torch.nn.utils.clip_grad_value_(pt, 1.5)
    for a, t in zip(pa, pt, strict=True):
        assert a.grad.array.dtype == dtype
        assert_close(a.grad, t.grad, rtol=0, atol=0)
    assert any(np.abs(s).max() > 1.5 for s in saved)  # something was actually clipped
    for g, s in zip(old, saved, strict=True):
        np.testing.assert_array_equal(g, s)


def test_parameters_to_vector_and_back():
    pa, pt = _twins()
    start = 0
    for a, t in zip(pa, pt, strict=True):
        data = np.arange(start, start + a.array.size, dtype=np.float64).reshape(a.shape) / 7
        start += a.array.size
        a.array, a.grad = data.copy(), None
        t.data = torch.tensor(data)
    vec = parameters_to_vector(pa)
    assert_close(vec, torch.nn.utils.parameters_to_vector(pt), rtol=0, atol=0)
    (vec * ax.arange(vec.shape[0], dtype=np.float64)).sum().backward()  # differentiable
    assert_close(pa[0].grad, np.arange(12.0).reshape(4, 3), rtol=0, atol=0)

    new = ax.tensor(np.linspace(-1, 1, vec.shape[0]))
    vector_to_parameters(new, pa)
    torch.nn.utils.vector_to_parameters(torch.tensor(new.array), pt)
    for a, t in zip(pa, pt, strict=True):
        assert a.array.shape == tuple(t.shape)
        assert_close(a, t, rtol=0, atol=0)
    with pytest.raises(TypeError, match="expected axon.Tensor"):
        vector_to_parameters(new.array, pa)
    with pytest.raises(ValueError, match="1-D Tensor with 24 elements"):
        vector_to_parameters(ax.zeros(5, dtype=np.float64), pa)
