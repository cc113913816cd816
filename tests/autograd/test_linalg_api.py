"""Norms, distances and ``axon.linalg`` against torch: values and gradients (float64 and
float32), float64 gradcheck, batches, and torch's exception class on bad input.

Eigen- and singular vectors are defined up to sign, so they are compared through
sign-free functions of them (squares, products of paired columns)."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_equal

INF = float("inf")


def _spd(n, batch=(), seed=0):
    """A symmetric positive-definite matrix (or batch) with well separated eigenvalues."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# ------------------------------------------------------------------ norms
NORMS = [
    ("norm default", lambda x: torch.norm(x), lambda x: ax.norm(x)),
    ("norm p dim", lambda x: x.norm(3, 1), None),
    ("norm fractional", lambda x: x.norm(0.5, dim=0, keepdim=True), None),
    ("norm 1", lambda x: x.norm(1, (0, 1)), None),
    ("norm inf", lambda x: x.norm(INF, 1), None),
    ("norm -inf", lambda x: x.norm(-INF), None),
    ("norm 0", lambda x: x.norm(0, 1), None),
    ("norm fro dims", lambda x: x.norm("fro", (0, 1), keepdim=True), None),
    ("norm nuc", lambda x: x.norm("nuc"), None),
    (
        "vector_norm",
        lambda x: torch.linalg.vector_norm(x, 3, dim=(0, 1)),
        lambda x: ax.linalg.vector_norm(x, 3, dim=(0, 1)),
    ),
    (
        "vector_norm inf",
        lambda x: torch.linalg.vector_norm(x, -INF, 0, True),
        lambda x: ax.linalg.vector_norm(x, -INF, 0, True),
    ),
    ("linalg.norm vec", lambda x: torch.linalg.norm(x[0]), lambda x: ax.linalg.norm(x[0])),
    ("linalg.norm mat ord", lambda x: torch.linalg.norm(x, -1), lambda x: ax.linalg.norm(x, -1)),
    (
        "linalg.norm dim",
        lambda x: torch.linalg.norm(x, 4, dim=1),
        lambda x: ax.linalg.norm(x, 4, dim=1),
    ),
    (
        "linalg.norm flat",
        lambda x: torch.linalg.norm(x, dim=None),
        lambda x: ax.linalg.norm(x, dim=None),
    ),
    ("dist", lambda x: torch.dist(x[0], x[1]), lambda x: ax.dist(x[0], x[1])),
    ("dist p", lambda x: x[0].dist(x[1:], 3), None),
]


@pytest.mark.parametrize("name,t_fn,a_fn", NORMS, ids=[n[0] for n in NORMS])
def test_norms(name, t_fn, a_fn):
    for dtype in (np.float64, np.float32):  # tight, then loose tolerances
        helper_test_op([(3, 4)], t_fn, a_fn, dtype=dtype)


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, INF, -INF])
def test_matrix_norm(ord):
    helper_test_op(
        [(2, 3, 4)],
        lambda x: torch.linalg.matrix_norm(x, ord),
        lambda x: ax.linalg.matrix_norm(x, ord),
    )
    helper_test_op(
        [(3, 2, 4)],
        lambda x: torch.linalg.matrix_norm(x, ord, (0, 2), True),
        lambda x: ax.linalg.matrix_norm(x, ord, (0, 2), True),
    )


def test_norm_of_zero_vector_has_zero_gradient():
    helper_test_op(None, lambda x: x.norm(), arrays=[np.zeros(3)])
    helper_test_op(
        None,
        lambda x: torch.cdist(x, x),
        lambda x: ax.cdist(x, x),
        arrays=[np.array([[0.0, 1.0], [2.0, 0.5]])],
    )


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.0, INF])
def test_cdist(p):
    helper_test_op(
        [(2, 3, 4), (2, 5, 4)], lambda a, b: torch.cdist(a, b, p), lambda a, b: ax.cdist(a, b, p)
    )
    helper_test_op(
        [(3, 4), (5, 4)],
        lambda a, b: torch.cdist(a, b, p),
        lambda a, b: ax.cdist(a, b, p),
        dtype=np.float32,
    )


def test_cdist_matrix_product_path():
    """More than 25 rows: torch and axon both take d^2 = |x|^2 + |y|^2 - 2 x.y."""
    helper_test_op([(2, 30, 4), (7, 4)], torch.cdist, ax.cdist)
    helper_test_op(
        [(3, 4), (6, 4)],
        lambda a, b: torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
        lambda a, b: ax.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
    )
    x = ax.tensor(np.random.default_rng(3).normal(size=(27, 3)), requires_grad=True)
    assert ax.gradcheck(lambda a: ax.cdist(a, a[:5] * 1.5), [x])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.norm(3, 1),
        lambda x: x.norm(0.5),
        lambda x: x.norm("nuc"),
        lambda x: ax.linalg.matrix_norm(x, 2),
        lambda x: ax.linalg.matrix_norm(x, -INF),
        lambda x: ax.cdist(x, x[:2] * 2),
        lambda x: ax.linalg.vector_norm(x, INF, 0),
    ],
)
def test_norm_gradcheck(fn):
    x = ax.tensor(np.random.default_rng(2).normal(size=(3, 4)), requires_grad=True)
    assert ax.gradcheck(fn, [x])


# ------------------------------------------------------------------ inverses and solves
def test_inv_det_slogdet():
    a = _spd(3, (2,)) - 2 * np.eye(3)  # a batch, not symmetric after the shift? still square
    a[0, 0, 1] += 0.7
    for dtype in (np.float64, np.float32):
        tol = {} if dtype == np.float64 else {"rtol": 1e-3, "atol": 1e-4}
        helper_test_op(None, torch.linalg.inv, ax.linalg.inv, arrays=[a], dtype=dtype, **tol)
        helper_test_op(None, torch.linalg.det, ax.linalg.det, arrays=[a], dtype=dtype, **tol)
        helper_test_op(
            None,
            lambda x: torch.linalg.slogdet(x),
            lambda x: ax.linalg.slogdet(x),
            arrays=[a - 4 * np.eye(3)],
            dtype=dtype,
            **tol,
        )
        helper_test_op(None, lambda x: x.inverse().logdet(), arrays=[a], dtype=dtype, **tol)
    helper_test_op(None, lambda x: x.det(), arrays=[a])
    helper_test_op(
        None,
        lambda x: torch.det(x) + torch.inverse(x).sum(),
        lambda x: ax.det(x) + ax.inverse(x).sum(),
        arrays=[a],
    )


def test_det_gradient_of_singular_matrix():
    """The cofactor matrix, which finite differences confirm (torch 2.13 returns zeros for
    this rank-2 matrix, so it is not the oracle here)."""
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])
    helper_test_op(
        None, torch.linalg.det, ax.linalg.det, arrays=[singular], forward_only=True, atol=1e-12
    )
    x = ax.tensor(singular, requires_grad=True)
    assert ax.gradcheck(ax.linalg.det, [x])
    ax.linalg.det(x).backward()
    minors = [
        [np.linalg.det(np.delete(np.delete(singular, i, 0), j, 1)) for j in range(3)]
        for i in range(3)
    ]
    cofactors = np.array(minors) * np.array([[1, -1, 1], [-1, 1, -1], [1, -1, 1]])
    np.testing.assert_allclose(x.grad.numpy(), cofactors, atol=1e-12)


@pytest.mark.parametrize(
    "b_shape,left",
    [((3, 2), True), ((3,), True), ((2, 3, 4), True), ((2, 3), True), ((4, 3), False)],
)
def test_solve(b_shape, left):
    a = _spd(3, (2,), seed=1)
    a[..., 0, 2] += 1.0
    b = np.random.default_rng(0).normal(size=b_shape)
    helper_test_op(
        None,
        lambda x, y: torch.linalg.solve(x, y, left=left),
        lambda x, y: ax.linalg.solve(x, y, left=left),
        arrays=[a, b],
    )


@pytest.mark.parametrize("n", [0, 1, 2, 5, -1, -3])
def test_matrix_power(n):
    a = _spd(3) / 4
    helper_test_op(
        None,
        lambda x: torch.linalg.matrix_power(x, n),
        lambda x: ax.linalg.matrix_power(x, n),
        arrays=[a],
        forward_only=n == 0,
    )
    helper_test_op(None, lambda x: x.matrix_power(n), arrays=[a], forward_only=n == 0)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
def test_pinv_and_rank(shape):
    x = np.random.default_rng(4).normal(size=shape)
    helper_test_op(None, torch.linalg.pinv, ax.linalg.pinv, arrays=[x])
    helper_test_op(None, torch.pinverse, ax.pinverse, arrays=[x[..., :3, :3]])
    low_rank = x @ np.swapaxes(x, -1, -2)
    low_rank[..., 0, :] = low_rank[..., 1, :]
    assert_equal(
        ax.linalg.matrix_rank(ax.tensor(low_rank)).numpy(),
        torch.linalg.matrix_rank(torch.tensor(low_rank)).numpy(),
    )


def test_multi_dot_vecdot_cond():
    helper_test_op(
        [(3,), (3, 4), (4, 2), (2,)],
        lambda *x: torch.linalg.multi_dot(x),
        lambda *x: ax.linalg.multi_dot(x),
    )
    helper_test_op(
        [(2, 3), (3,)], lambda a, b: torch.linalg.vecdot(a, b), lambda a, b: ax.linalg.vecdot(a, b)
    )
    helper_test_op(None, torch.linalg.cond, ax.linalg.cond, arrays=[_spd(3) + np.eye(3)])
    # torch 2.13's backward of cond(x, 1) fails (an in-place write it then needs): values
    helper_test_op(
        None,
        lambda x: torch.linalg.cond(x, 1),
        lambda x: ax.linalg.cond(x, 1),
        arrays=[_spd(3)],
        forward_only=True,
    )
    assert ax.gradcheck(lambda x: ax.linalg.cond(x, 1), [ax.tensor(_spd(3), requires_grad=True)])


# ------------------------------------------------------------------ decompositions
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(upper):
    for dtype in (np.float64, np.float32):
        tol = {} if dtype == np.float64 else {"rtol": 1e-3, "atol": 1e-4}
        helper_test_op(
            None,
            lambda x: torch.linalg.cholesky(x, upper=upper),
            lambda x: ax.linalg.cholesky(x, upper=upper),
            arrays=[_spd(4, (2,))],
            dtype=dtype,
            **tol,
        )


def test_eigh():
    def fn(linalg):
        def run(x):
            w, v = linalg.eigh(x)
            return w, v * v, v[..., :, :1] * v[..., :, 1:2]  # sign-free functions of V

        return run

    helper_test_op(None, fn(torch.linalg), fn(ax.linalg), arrays=[_spd(4, (2,))])
    helper_test_op(
        None,
        torch.linalg.eigvalsh,
        ax.linalg.eigvalsh,
        arrays=[_spd(3)],
        dtype=np.float32,
        rtol=1e-3,
        atol=1e-4,
    )
    helper_test_op(
        None,
        lambda x: torch.linalg.eigh(x, "U")[0],
        lambda x: ax.linalg.eigh(x, "U")[0],
        arrays=[np.triu(_spd(3))],
    )


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
def test_svd(shape):
    x = np.random.default_rng(5).normal(size=shape)

    def fn(linalg):
        def run(a):
            u, s, vh = linalg.svd(a, full_matrices=False)
            paired = u[..., :, :1] * vh[..., :1, :]  # sign-free: u_0 v_0^T
            return s, u * u, vh * vh, paired

        return run

    helper_test_op(None, fn(torch.linalg), fn(ax.linalg), arrays=[x])
    helper_test_op(None, torch.linalg.svdvals, ax.linalg.svdvals, arrays=[x])


def test_svd_full_matrices_and_qr():
    x = np.random.default_rng(6).normal(size=(5, 3))
    for shape_x in (x, x.T):
        u, s, vh = ax.linalg.svd(ax.tensor(shape_x))
        tu, ts, tvh = torch.linalg.svd(torch.tensor(shape_x))
        assert u.shape == tuple(tu.shape) and vh.shape == tuple(tvh.shape)
        np.testing.assert_allclose((u.numpy().T @ u.numpy()), np.eye(u.shape[0]), atol=1e-12)
        np.testing.assert_allclose(s.numpy(), ts.numpy())
        for mode in ("reduced", "complete", "r"):
            q, r = ax.linalg.qr(ax.tensor(shape_x), mode=mode)
            tq, tr = torch.linalg.qr(torch.tensor(shape_x), mode=mode)
            assert q.shape == tuple(tq.shape) and r.shape == tuple(tr.shape)
            np.testing.assert_allclose(np.abs(r.numpy()), np.abs(tr.numpy()), atol=1e-12)
            if mode != "r":
                np.testing.assert_allclose(q.numpy() @ r.numpy(), shape_x, atol=1e-12)
    with pytest.raises(RuntimeError, match="qr"):
        q, r = ax.linalg.qr(ax.tensor(x, requires_grad=True))
        r.sum().backward()


@pytest.mark.parametrize(
    "fn,make",
    [
        (ax.linalg.inv, lambda: _spd(3) - np.eye(3)),
        (ax.linalg.det, lambda: _spd(3, (2,)) - 3 * np.eye(3)),
        (lambda x: ax.linalg.slogdet(x).logabsdet, lambda: _spd(3) - 5 * np.eye(3)),
        (lambda x: ax.linalg.solve(x, x[..., :2] * 2), lambda: _spd(3) - np.eye(3)),
        (lambda x: ax.linalg.cholesky(x @ x.mT), lambda: _spd(3)),
        (lambda x: ax.linalg.eigh(x + x.mT)[1] ** 2, lambda: _spd(3)),
        (lambda x: ax.linalg.eigh(x + x.mT)[0], lambda: _spd(3)),
        (
            lambda x: ax.linalg.svd(x, False)[0][..., :1] * ax.linalg.svd(x, False)[2][..., :1, :],
            lambda: np.random.default_rng(1).normal(size=(4, 3)),
        ),
        (
            lambda x: ax.linalg.svd(x, False)[1],
            lambda: np.random.default_rng(1).normal(size=(3, 4)),
        ),
        (ax.linalg.pinv, lambda: np.random.default_rng(1).normal(size=(4, 3))),
    ],
)
def test_linalg_gradcheck(fn, make):
    x = ax.tensor(make(), requires_grad=True)
    assert ax.gradcheck(fn, [x])


@pytest.mark.parametrize(
    "t_fn,a_fn,shapes,match",
    [
        (torch.linalg.inv, ax.linalg.inv, [(2, 3)], ["2 by 3"]),
        (torch.linalg.det, ax.linalg.det, [(3,)], ["dimensions"]),
        (torch.linalg.cholesky, ax.linalg.cholesky, [(3, 4)], ["3 by 4"]),
        (
            lambda a, b: torch.linalg.solve(a, b),
            lambda a, b: ax.linalg.solve(a, b),
            [(3, 3), (4, 2)],
            ["(4, 2)"],
        ),
        (
            lambda x: torch.linalg.matrix_norm(x, 3),
            lambda x: ax.linalg.matrix_norm(x, 3),
            [(3, 3)],
            ["3"],
        ),
        (lambda x: torch.linalg.norm(x, 2), lambda x: ax.linalg.norm(x, 2), [(2, 2, 2)], ["3D"]),
        (lambda a, b: torch.cdist(a, b), lambda a, b: ax.cdist(a, b), [(3, 4), (3, 5)], ["4", "5"]),
    ],
)
def test_linalg_errors(t_fn, a_fn, shapes, match):
    helper_test_exception(shapes, t_fn, a_fn, match=match)


def test_not_positive_definite_and_singular():
    bad = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(RuntimeError, match="positive-definite"):
        ax.linalg.cholesky(ax.tensor(bad))
    with pytest.raises(RuntimeError):
        torch.linalg.cholesky(torch.tensor(bad))
    with pytest.raises(RuntimeError, match="singular"):
        ax.linalg.inv(ax.tensor(np.ones((2, 2))))
    with pytest.raises(RuntimeError):
        torch.linalg.inv(torch.ones(2, 2))


@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
def test_pdist_and_torch_svd_qr():
    helper_test_op([(5, 3)], torch.pdist, ax.pdist)
    helper_test_op([(4, 3)], lambda x: torch.pdist(x, 1.0), lambda x: ax.pdist(x, 1.0))
    x = np.random.default_rng(7).normal(size=(5, 3))

    def sign_free(out):
        u, s, v = out
        return s, u[..., :, :1] * v[..., :, :1].mT

    helper_test_op(
        None, lambda a: sign_free(torch.svd(a)), lambda a: sign_free(ax.svd(a)), arrays=[x]
    )
    u, s, v = ax.svd(ax.tensor(x), some=False)
    tu, ts, tv = torch.svd(torch.tensor(x), some=False)
    assert u.shape == tuple(tu.shape) and v.shape == tuple(tv.shape)
    zu, _, zv = ax.tensor(x).svd(compute_uv=False)
    assert not zu.numpy().any() and not zv.numpy().any()
    spd = ax.tensor(_spd(3))
    np.testing.assert_allclose(
        ax.cholesky(spd, True).numpy(), torch.cholesky(torch.tensor(_spd(3)), True).numpy()
    )
    np.testing.assert_allclose(spd.cholesky().numpy(), np.linalg.cholesky(_spd(3)))
    q, r = ax.qr(ax.tensor(x))
    np.testing.assert_allclose(q.numpy() @ r.numpy(), x, atol=1e-12)
    assert ax.tensor(x).qr(some=False)[0].shape == (5, 5)


@pytest.mark.parametrize(
    "upper,left,unit",
    [(False, True, False), (True, True, False), (True, False, True), (False, False, True)],
)
def test_solve_triangular(upper, left, unit):
    a = _spd(3, (2,)) + 1.0  # full matrices: only one triangle may be read
    b = np.random.default_rng(8).normal(size=(2, 3, 4) if left else (2, 4, 3))
    helper_test_op(
        None,
        lambda x, y: torch.linalg.solve_triangular(
            x, y, upper=upper, left=left, unitriangular=unit
        ),
        lambda x, y: ax.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit),
        arrays=[a, b],
    )


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_inverse_and_ex(upper):
    a, b = _spd(3), np.random.default_rng(9).normal(size=(3, 2))
    factor = np.linalg.cholesky(a)
    factor = factor.T if upper else factor
    helper_test_op(
        None,
        lambda y, f: torch.cholesky_solve(y, f, upper),
        lambda y, f: ax.cholesky_solve(y, f, upper),
        arrays=[b, factor],
    )
    helper_test_op(
        None,
        lambda f: torch.cholesky_inverse(f, upper),
        lambda f: ax.cholesky_inverse(f, upper),
        arrays=[factor],
    )
    helper_test_op(
        None,
        lambda x: torch.linalg.cholesky_ex(x, upper=upper),
        lambda x: ax.linalg.cholesky_ex(x, upper=upper),
        arrays=[a],
    )
    helper_test_op(
        None, lambda x: torch.linalg.inv_ex(x), lambda x: ax.linalg.inv_ex(x), arrays=[a]
    )


@pytest.mark.parametrize("driver", [None, "gelsd", "gelss"])
@pytest.mark.parametrize(
    "shapes", [[(5, 3), (5, 2)], [(5, 3), (5,)], [(2, 3, 4), (2, 3, 2)]], ids=str
)
def test_lstsq(shapes, driver):
    helper_test_op(
        shapes,
        lambda a, b: torch.linalg.lstsq(a, b, driver=driver),
        lambda a, b: ax.linalg.lstsq(a, b, driver=driver),
    )


@pytest.mark.parametrize("scale", [0.1, 1.0, 6.0])  # no squaring, some, several
def test_matrix_exp(scale):
    x = np.random.default_rng(10).normal(size=(2, 3, 3)) * scale
    helper_test_op(None, torch.linalg.matrix_exp, ax.linalg.matrix_exp, arrays=[x], rtol=1e-9)
    helper_test_op(None, lambda a: a.matrix_exp(), arrays=[x[0]], rtol=1e-9)
    t = ax.tensor(x[0], requires_grad=True)
    assert ax.gradcheck(ax.matrix_exp, [t])


@pytest.mark.parametrize("p,dim", [(2, 0), (1, 1), (3.0, -1)])
def test_renorm(p, dim):
    x = np.array([[1.0, 2.0, 3.0], [0.1, 0.1, 0.1], [4.0, 4.0, -4.0]])
    helper_test_op(
        None,
        lambda t: torch.renorm(t, p, dim, 2.0),
        lambda t: ax.renorm(t, p, dim, 2.0),
        arrays=[x],
    )
    helper_test_op(None, lambda t: t.renorm(p, dim, 0.5), arrays=[x])
