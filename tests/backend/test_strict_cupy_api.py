"""The strict backend offers only CuPy's names (``cupy_api.json``), and the ops' stand-ins
for what CuPy lacks (``ufunc_at``, ``accumulate``, ``open_grid``) give NumPy's results on it.
"""

from __future__ import annotations

import numpy as np
import pytest

from axon.autograd.ops.cumulative import accumulate
from axon.autograd.ops.index import open_grid
from axon.autograd.ops.scatter import ufunc_at
from tests.backend.strict import CUPY, StrictArray, strict_xp

xp = strict_xp


def _strict(a) -> StrictArray:
    return StrictArray(np.asarray(a))


def test_names_and_keywords_cupy_lacks_are_refused_naming_them():
    a = _strict(np.arange(6.0).reshape(2, 3))
    with pytest.raises(AttributeError, match=f"{CUPY} has no cupy.frompyfunc"):
        _ = xp.frompyfunc
    with pytest.raises(AttributeError, match=f"{CUPY} has no cupy.linalg.multi_dot"):
        _ = xp.linalg.multi_dot
    with pytest.raises(TypeError, match=f"{CUPY} has no keyword argument 'initial' for ndarray"):
        a.max(initial=0)
    with pytest.raises(TypeError, match="'sparse' for cupy.indices"):
        xp.indices((2, 3), sparse=True)
    with pytest.raises(TypeError, match="'where' for cupy.add"):
        xp.add(a, a, where=True)
    with pytest.raises(NotImplementedError, match="cupy.maximum.accumulate"):
        xp.maximum.accumulate(a, axis=0)
    with pytest.raises(TypeError, match="cupy.add.at for int64"):
        xp.add.at(_strict(np.zeros(3, np.int64)), _strict([0, 0]), 1)
    assert not hasattr(a, "result")  # the engine's probe for a pending CPU gradient


def test_what_cupy_has_runs_as_numpy_does():
    a = _strict(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(a.max(axis=0, keepdims=True)._a, [[3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(xp.add.accumulate(a, axis=1)._a, np.cumsum(a._a, axis=1))
    with xp.errstate(divide="ignore"):  # axon's CUDA namespace adds a do-nothing errstate
        np.testing.assert_array_equal((xp.log(a)[0, :1])._a, [-np.inf])
    rows, cols = xp.ogrid[:2, :3]
    assert isinstance(rows, StrictArray) and cols.shape == (1, 3)
    with pytest.raises(TypeError):
        np.asarray(a)  # NumPy's probes (__array_interface__, ...) still find nothing


@pytest.mark.parametrize("shape", [(2, 3, 4), (5,), (), (0, 3)])
def test_open_grid_is_numpys_sparse_indices(shape):
    for ours, numpys in zip(open_grid(np, shape), np.indices(shape, sparse=True), strict=True):
        assert ours.dtype == numpys.dtype
        np.testing.assert_array_equal(ours, numpys)


@pytest.mark.parametrize("name", ["maximum", "minimum", "logaddexp"])
def test_accumulate_by_doubling_matches_numpys(name):
    a = np.random.default_rng(0).standard_normal((4, 11))
    a[1, 3] = np.nan
    for axis in (0, 1, -1):
        ours = accumulate(getattr(xp, name), _strict(a), axis)._a
        numpys = getattr(np, name).accumulate(a, axis=axis)
        np.testing.assert_allclose(ours, numpys, rtol=1e-14, atol=0)
        if name != "logaddexp":  # max and min are exact; logaddexp groups the sums anew
            np.testing.assert_array_equal(ours, numpys)


@pytest.mark.parametrize(
    ("name", "dtype"),
    [("multiply", np.float64), ("maximum", np.int64), ("minimum", np.float16)],
)
def test_ufunc_at_in_rounds_matches_numpys(name, dtype):
    rng = np.random.default_rng(1)
    target = rng.integers(-5, 5, (4, 3, 2)).astype(dtype)
    rows, cols = rng.integers(0, 4, (7, 1)), rng.integers(-3, 3, (1, 5))  # repeats, negatives
    values = rng.integers(-5, 5, (7, 5, 2)).astype(dtype)
    expected = target.copy()
    getattr(np, name).at(expected, (rows, cols), values)
    got = _strict(target.copy())
    ufunc_at(xp, name, got, (_strict(rows), _strict(cols)), _strict(values))  # CuPy lacks these
    np.testing.assert_array_equal(got._a, expected)
    transposed = _strict(np.asfortranarray(target))  # not C-contiguous: written back
    ufunc_at(xp, name, transposed, (_strict(rows), _strict(cols)), _strict(values))
    np.testing.assert_array_equal(transposed._a, expected)
