"""``axon.special`` vs ``torch.special``: values and gradients in float64 and float32,
float64 gradcheck of the compositions."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_equal

# name -> input range
UNARY = {
    "expit": (-4.0, 4.0),
    "gammaln": (0.1, 6.0),
    "psi": (0.1, 6.0),
    "digamma": (0.1, 6.0),
    "entr": (0.05, 3.0),
    "ndtr": (-6.0, 6.0),
    "log_ndtr": (-20.0, 5.0),
    "ndtri": (0.02, 0.98),
    "erf": (-2.0, 2.0),
    "erfc": (-2.0, 4.0),
    "erfinv": (-0.9, 0.9),
    "exp2": (-2.0, 2.0),
    "expm1": (-1.0, 1.0),
    "log1p": (-0.5, 2.0),
    "logit": (0.05, 0.95),
    "sinc": (-2.0, 2.0),
    "round": (-3.0, 3.0),
    "i0": (-6.0, 6.0),
    "i0e": (-30.0, 30.0),
    "i1": (-6.0, 6.0),
    "i1e": (-30.0, 30.0),
    "erfcx": (-3.0, 30.0),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, dtype):
    low, high = UNARY[name]
    # torch's trigamma (psi's derivative) is itself about 1e-9 off in float64
    grad_rtol = 1e-8 if name in ("psi", "digamma") and dtype == np.float64 else None
    helper_test_op(
        [(3, 4)],
        getattr(torch.special, name),
        getattr(ax.special, name),
        dtype=dtype,
        low=low,
        high=high,
        grad_rtol=grad_rtol,
    )


@pytest.mark.parametrize("name", ["entr", "ndtr", "log_ndtr", "ndtri", "xlog1py", "multigammaln"])
def test_gradcheck(name):
    rng = np.random.default_rng(5)
    x = ax.from_numpy(rng.uniform(0.2, 0.8, (2, 3)) + (2 if name == "multigammaln" else 0))
    fn = {
        "xlog1py": lambda t: ax.special.xlog1py(t, t * 2),
        "multigammaln": lambda t: ax.special.multigammaln(t, 3),
    }.get(name, getattr(ax.special, name))
    assert ax.gradcheck(fn, [x.requires_grad_()])


def test_erfcx_and_erfc_far_out():
    x = [[-26.0, -5.0, -0.5, -0.2, 0.0, 0.3], [0.5, 0.51, 4.0, 4.1, 30.0, 1e5]]
    helper_test_op(None, torch.special.erfcx, ax.special.erfcx, arrays=[x], rtol=1e-13)
    helper_test_op(None, torch.erfc, ax.erfc, arrays=[[row[:4] for row in x]], rtol=1e-13)
    t = ax.tensor([[-2.0, 0.1, 3.0], [7.0, -0.6, 0.45]], dtype=ax.float64, requires_grad=True)
    assert ax.gradcheck(ax.special.erfcx, [t])


def test_log_ndtr_far_into_both_tails():
    x = [[-100.0, -40.0, -10.0, -1.5, -1.0], [-0.3, 0.0, 2.0, 8.0, 30.0]]
    helper_test_op(None, torch.special.log_ndtr, ax.special.log_ndtr, arrays=[x], rtol=1e-12)
    # float32 away from the far tail: there torch's float32 gradient is off by ~1e-4 (it
    # exponentiates a log_ndtr of -5000 rounded to float32; axon works in float64)
    helper_test_op(
        None,
        torch.special.log_ndtr,
        ax.special.log_ndtr,
        arrays=[[row[2:] for row in x]],
        dtype=np.float32,
    )


def test_bessel_across_both_series_and_at_zero():
    x = [[0.0, 1e-3, -0.5, 3.0, 19.9, 20.1], [-35.0, 80.0, 300.0, 7.5, -1.0, 650.0]]
    for name in ("i0e", "i1e"):
        helper_test_op(
            None, getattr(torch.special, name), getattr(ax.special, name), arrays=[x], rtol=1e-13
        )
    for name in ("i0", "i1"):
        helper_test_op(
            None,
            getattr(torch.special, name),
            getattr(ax.special, name),
            arrays=[[row[:5] for row in x]],
            rtol=1e-13,
        )
    helper_test_op(
        [(2, 3)],
        lambda t: (torch.i0(t), t.i0(), (t * 1.0).i0_()),
        lambda t: (ax.i0(t), t.i0(), (t * 1.0).i0_()),
    )
    for name in ("i0", "i0e", "i1", "i1e"):
        t = ax.tensor([[-3.0, 0.4, 25.0], [0.0, 1.5, -22.0]], dtype=ax.float64, requires_grad=True)
        assert ax.gradcheck(getattr(ax.special, name), [t])


def test_entr_at_zero_and_below():
    x = [-1.0, 0.0, 0.5]
    got, want = ax.special.entr(ax.tensor(x)).numpy(), torch.special.entr(torch.tensor(x))
    np.testing.assert_array_equal(got, want.numpy())  # -inf, 0, value


def test_polygamma():
    helper_test_op(
        [(3, 4)],
        lambda t: torch.special.polygamma(3, t),
        lambda t: ax.special.polygamma(3, t),
        low=0.2,
        high=5.0,
    )


def test_binary_and_reductions():
    helper_test_op(
        None,
        torch.special.xlog1py,
        ax.special.xlog1py,
        arrays=[[[0.0, 1.5, -2.0], [3.0, 0.0, 0.5]], [[2.0, 0.5, 1.0], [-0.5, -1.0, 4.0]]],
        requires_grad=[True, False],
    )
    helper_test_op(
        [(3, 4)],
        lambda t: (
            torch.special.logsumexp(t, 1),
            torch.special.softmax(t, 0),
            torch.special.log_softmax(t, -1, dtype=torch.float64),
            torch.special.multigammaln(t + 3, 2),
        ),
        lambda t: (
            ax.special.logsumexp(t, 1),
            ax.special.softmax(t, 0),
            ax.special.log_softmax(t, -1, dtype=ax.float64),
            ax.special.multigammaln(t + 3, 2),
        ),
        dtype=np.float32,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_incomplete_gamma(dtype):
    a = [[0.5, 1.0, 3.0, 10.0], [0.01, 2.5, 200.0, 7.0]]
    x = [[0.2, 1.0, 5.0, 8.0], [30.0, 0.3, 180.0, 6.5]]
    for name in ("gammainc", "gammaincc"):
        helper_test_op(
            None,
            getattr(torch.special, name),
            getattr(ax.special, name),
            arrays=[a, x],
            requires_grad=[False, True],
            dtype=dtype,
        )
    helper_test_op(
        None,
        lambda p, q: (torch.igamma(p, q), p.igammac(q)),
        lambda p, q: (ax.igamma(p, q), p.igammac(q)),
        arrays=[a, x],
        requires_grad=[False, True],
        dtype=dtype,
    )
    t = ax.tensor(x, dtype=ax.float64, requires_grad=True)
    assert ax.gradcheck(lambda u: ax.special.gammaincc(ax.tensor(a, dtype=ax.float64), u), [t])


def test_incomplete_gamma_edges_and_errors():
    a = [0.0, 2.0, -1.0, 3.0, 1.5]
    x = [1.0, 0.0, 1.0, -0.5, np.inf]
    for name in ("gammainc", "gammaincc"):
        got = getattr(ax.special, name)(ax.tensor(a), ax.tensor(x)).numpy()
        want = getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)).numpy()
        np.testing.assert_array_equal(got, want)  # 1/0 at the ends, NaN outside the domain
    p = ax.tensor([1.0, 2.0], requires_grad=True)
    y = ax.igamma(p, ax.tensor([1.0, 1.0]))
    with pytest.raises(NotImplementedError, match="igamma: input"):
        y.sum().backward()
    helper_test_exception(
        None,
        torch.igamma,
        ax.igamma,
        arrays=[np.array([1, 2]), np.array([1, 2])],
        exact=NotImplementedError,
        match=["igamma", "Long"],
    )


def test_zero_dimensional_inputs():
    for name in ("gammaln", "digamma", "i0", "i1e", "erfinv", "erfc", "ndtri", "entr"):
        got = getattr(ax.special, name)(ax.tensor(0.3, dtype=ax.float64))
        want = getattr(torch.special, name)(torch.tensor(0.3, dtype=torch.float64))
        assert got.shape == () and abs(got.item() - want.item()) < 1e-12, name
    got = ax.polygamma(2, ax.tensor(0.3, dtype=ax.float64)).item()
    assert abs(got - torch.polygamma(2, torch.tensor(0.3, dtype=torch.float64)).item()) < 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zeta(dtype):
    s = [[2.0, 2.5, 3.3, 4.0], [6.0, 1.5, 2.0, 12.0]]
    q = [[1.0, 2.3, 0.01, 0.7], [15.0, 3.0, 1e4, 2.0]]
    helper_test_op(
        None,
        torch.special.zeta,
        ax.special.zeta,
        arrays=[s, q],
        requires_grad=[False, True],
        dtype=dtype,
    )
    t = ax.tensor(q, dtype=ax.float64, requires_grad=True)
    assert ax.gradcheck(lambda u: ax.special.zeta(ax.tensor(s, dtype=ax.float64), u), [t])


def test_zeta_edges_and_polygamma_of_negative_x():
    s = [2.0, 1.0, 0.5, 3.0, 2.0, 4.0, 3.3, 2.0]
    q = [1.0, 1.0, 1.0, 0.0, -1.5, -2.0, -2.5, -30.5]
    got = ax.special.zeta(ax.tensor(s, dtype=ax.float64), ax.tensor(q, dtype=ax.float64))
    want = torch.special.zeta(
        torch.tensor(s, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)
    )
    nan = np.isnan(want.numpy())
    assert_equal(np.isnan(got.numpy()), nan)  # NaN exactly where torch's
    np.testing.assert_allclose(got.numpy()[~nan], want.numpy()[~nan], rtol=1e-12)  # and inf
    x = [-0.5, -1.5, -2.3, -25.3]
    helper_test_op(
        None, lambda t: torch.polygamma(3, t), lambda t: ax.polygamma(3, t), arrays=[x], rtol=1e-12
    )
    with pytest.raises(NotImplementedError, match="zeta"):
        ax.special.zeta(ax.tensor([2.0], requires_grad=True), ax.tensor([1.0])).sum().backward()
