"""Test helpers shared by every test module.

``assert_close`` is the one comparison the tests use: NaN or Inf in either side never
passes (``np.testing.assert_allclose`` treats NaN == NaN as equal by default).
"""

from __future__ import annotations

import numpy as np


def to_numpy(x) -> np.ndarray:
    """Array from an axon Tensor, a torch tensor, or anything array-like."""
    if (
        hasattr(x, "detach")
        and hasattr(x, "cpu")
        and hasattr(x, "numpy")
        and not hasattr(x, "_ctx")
    ):  # torch.Tensor
        return x.detach().cpu().numpy()
    if hasattr(x, "_ctx"):  # axon.Tensor
        return np.asarray(x.array)
    return np.asarray(x)


def assert_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-6, msg: str = "") -> None:
    """Assert same shape and ``|a - e| <= atol + rtol |e|`` elementwise; NaN/Inf fail."""
    a = to_numpy(actual).astype(np.float64)
    e = to_numpy(expected).astype(np.float64)
    assert a.shape == e.shape, f"{msg} shape mismatch: {a.shape} vs {e.shape}"
    assert np.isfinite(a).all(), f"{msg} actual has non-finite values: {a}"
    assert np.isfinite(e).all(), f"{msg} expected has non-finite values: {e}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=False, err_msg=msg)


def assert_differs(a, b, rtol: float = 1e-5, atol: float = 1e-8, msg: str = "") -> None:
    """Assert two finite arrays of the same shape are not all close: the check that
    something changed (dropout in training, different weights) and cannot pass on NaN."""
    x, y = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    assert x.shape == y.shape, f"{msg} shape mismatch: {x.shape} vs {y.shape}"
    assert np.isfinite(x).all() and np.isfinite(y).all(), f"{msg} non-finite values"
    assert not np.allclose(x, y, rtol=rtol, atol=atol), f"{msg} the arrays are all close"


def assert_equal(actual, expected, msg: str = "") -> None:
    """Assert the same shape and exactly the same values, all finite: the equality check that
    cannot pass on NaN (``np.testing.assert_array_equal`` counts NaN == NaN). Where NaN or
    inf positions are themselves the point, compare them with ``np.isnan``/``np.isinf``."""
    assert_close(actual, expected, rtol=0, atol=0, msg=msg)


NO_CUDA = "CuPy|no usable GPU|no NVIDIA GPU"
"""What the refusal of ``"cuda"`` says on a machine without CuPy or a GPU (``backend/cupy``)."""


def without_cuda(test):
    """Skip ``test`` (which checks how CUDA is refused) on a machine where CUDA runs."""
    import pytest

    import axon

    return pytest.mark.skipif(
        axon.cuda.is_available(), reason="CUDA is available here, so it is not refused"
    )(test)
