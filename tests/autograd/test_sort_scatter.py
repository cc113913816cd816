"""Sorting, selection, scatter and index writes (``axon.autograd.select_api``) against
torch: values, indices and gradients (float64 and float32), ties and NaN, duplicate
indices, float64 gradcheck, in-place forms, and torch's exception class on bad input."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_equal

RNG = np.random.default_rng(0)
DISTINCT = RNG.permutation(24).reshape(4, 6).astype(np.float64) / 3  # no ties: one order
TIES = np.array([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [0.0, 0.0, 5.0, 5.0, -1.0, 5.0]])
WITH_NAN = np.array([[1.0, np.nan, 3.0, 0.0], [2.0, 1.0, np.nan, np.nan]])

# ------------------------------------------------------------------ sorting and selection
SELECT = [
    ("sort", lambda x: torch.sort(x), lambda x: ax.sort(x)),
    ("sort dim0 desc", lambda x: x.sort(0, descending=True), None),
    (
        "sort stable",
        lambda x: torch.sort(x, dim=1, stable=True),
        lambda x: ax.sort(x, dim=1, stable=True),
    ),
    (
        "argsort",
        lambda x: torch.argsort(x, 1, descending=True),
        lambda x: ax.argsort(x, 1, descending=True),
    ),
    ("msort", lambda x: torch.msort(x), lambda x: ax.msort(x)),
    ("topk", lambda x: torch.topk(x, 3), lambda x: ax.topk(x, 3)),
    ("topk smallest dim0", lambda x: x.topk(2, dim=0, largest=False), None),
    ("kthvalue", lambda x: torch.kthvalue(x, 2), lambda x: ax.kthvalue(x, 2)),
    ("kthvalue keepdim", lambda x: x.kthvalue(4, 0, keepdim=True), None),
    ("median all", lambda x: torch.median(x), lambda x: ax.median(x)),
    ("median dim", lambda x: x.median(1), None),
    ("median dim0 keepdim", lambda x: x.median(0, keepdim=True), None),
    ("nanmedian dim", lambda x: x.nanmedian(1), None),
    ("mode", lambda x: torch.mode(x), lambda x: ax.mode(x)),
    (
        "masked_select",
        lambda x: torch.masked_select(x, x > 2),
        lambda x: ax.masked_select(x, x > 2),
    ),
    (
        "masked_select bcast",
        lambda x: x.masked_select(torch.tensor([True, False] * 3)),
        lambda x: x.masked_select(ax.tensor([True, False] * 3)),
    ),
]


@pytest.mark.parametrize("name,t_fn,a_fn", SELECT, ids=[s[0] for s in SELECT])
def test_selection(name, t_fn, a_fn):
    for dtype in (np.float64, np.float32):  # tight, then loose tolerances
        helper_test_op(None, t_fn, a_fn, arrays=[DISTINCT], dtype=dtype)


@pytest.mark.parametrize(
    "name,t_fn,a_fn",
    [
        ("sort stable", lambda x: x.sort(stable=True), None),
        ("sort stable desc", lambda x: x.sort(dim=1, descending=True, stable=True), None),
        ("argsort stable", lambda x: x.argsort(stable=True), None),
        ("median", lambda x: x.median(1), None),
        ("median all", lambda x: x.median(), None),
        ("mode", lambda x: x.mode(1), None),
        ("mode dim0", lambda x: x.mode(0), None),
        ("kthvalue", lambda x: x.kthvalue(3, 1), None),
    ],
)
def test_selection_with_ties(name, t_fn, a_fn):
    """Ties: stable sorts keep the original order; median and mode pick torch's element."""
    helper_test_op(None, t_fn, a_fn, arrays=[TIES])


@pytest.mark.parametrize(
    "name,t_fn",
    [
        ("sort", lambda x: x.sort(1)),
        ("sort desc", lambda x: x.sort(dim=1, descending=True, stable=True)),
        ("median", lambda x: x.median(1)),
        ("nanmedian", lambda x: x.nanmedian(1)),
        ("nanmedian all", lambda x: x.nanmedian()),
        ("topk", lambda x: x.topk(2, 1)),
    ],
)
def test_selection_with_nan(name, t_fn):
    """NaN sorts as the largest value; median returns it, nanmedian skips it."""
    t_out = t_fn(torch.tensor(WITH_NAN))
    a_out = t_fn(ax.tensor(WITH_NAN))
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    a_out = a_out if isinstance(a_out, tuple) else (a_out,)
    for a, t in zip(a_out, t_out, strict=True):
        np.testing.assert_array_equal(a.numpy(), t.numpy())


def test_mode_of_many_random_rows():
    """Many ties, several rows at once (the runs of a stable sort), along either dim."""
    x = np.random.default_rng(11).integers(0, 4, size=(6, 9)).astype(np.float64)
    for dim in (0, 1):
        a, t = ax.tensor(x).mode(dim), torch.tensor(x).mode(dim)
        assert_equal(a.values.numpy(), t.values.numpy())
        assert_equal(a.indices.numpy(), t.indices.numpy())


def test_nanmedian_all_nan_row():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    t, a = torch.tensor(x).nanmedian(1), ax.tensor(x).nanmedian(1)
    np.testing.assert_array_equal(a.values.numpy(), t.values.numpy())
    np.testing.assert_array_equal(a.indices.numpy(), t.indices.numpy())


def test_return_types_have_fields():
    x = ax.tensor(DISTINCT)
    for out in (x.sort(), x.topk(2), x.kthvalue(1), x.median(0), x.mode(0)):
        values, indices = out
        assert values is out.values and indices is out.indices
        assert indices.dtype == np.int64


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sort(1).values,
        lambda x: x.topk(2, 0).values,
        lambda x: x.kthvalue(2, 1).values,
        lambda x: x.median(1).values,
        lambda x: x.median(),
        lambda x: x.mode(0).values,
    ],
)
def test_selection_gradcheck(fn):
    x = ax.tensor(DISTINCT, requires_grad=True)
    assert ax.gradcheck(fn, [x])


def test_sort_integer_and_0d():
    x = np.array([[3, 1, 2], [0, 5, 4]])
    for a, t in zip(
        ax.tensor(x).sort(1, descending=True), torch.tensor(x).sort(1, descending=True), strict=True
    ):
        assert_equal(a.numpy(), t.numpy())
    v, i = ax.tensor(2.5).sort()
    assert v.item() == 2.5 and i.item() == 0


UNIQUE = [
    ("unique", lambda x: torch.unique(x), lambda x: ax.unique(x)),
    (
        "unique inverse counts",
        lambda x: torch.unique(x, return_inverse=True, return_counts=True),
        lambda x: ax.unique(x, return_inverse=True, return_counts=True),
    ),
    ("unique dim", lambda x: x.unique(dim=0, return_counts=True), None),
    (
        "unique_consecutive",
        lambda x: torch.unique_consecutive(x, return_inverse=True, return_counts=True),
        lambda x: ax.unique_consecutive(x, return_inverse=True, return_counts=True),
    ),
    ("unique_consecutive dim", lambda x: x.unique_consecutive(dim=1), None),
    ("nonzero", lambda x: torch.nonzero(x), lambda x: ax.nonzero(x)),
    ("nonzero tuple", lambda x: x.nonzero(as_tuple=True), None),
    ("argwhere", lambda x: torch.argwhere(x), lambda x: ax.argwhere(x)),
    ("bincount", lambda x: torch.bincount(x.flatten()), lambda x: ax.bincount(x.flatten())),
    ("bincount minlength", lambda x: x.flatten().bincount(minlength=9), None),
]


@pytest.mark.parametrize("name,t_fn,a_fn", UNIQUE, ids=[u[0] for u in UNIQUE])
def test_unique_and_counts(name, t_fn, a_fn):
    x = np.array([[1, 1, 0, 3], [1, 1, 0, 3], [2, 2, 2, 0]])
    helper_test_op(None, t_fn, a_fn, arrays=[x], forward_only=True)


def test_bincount_weights():
    x = np.array([0, 3, 3, 1])
    for dt in (np.float32, np.float64):
        w = np.array([0.5, 1.0, 2.0, -1.0], dtype=dt)
        a = ax.bincount(ax.tensor(x), ax.tensor(w))
        t = torch.bincount(torch.tensor(x), torch.tensor(w))
        assert a.dtype == t.numpy().dtype
        np.testing.assert_allclose(a.numpy(), t.numpy())


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_and_bucketize(right):
    seq = np.array([1.0, 2.0, 2.0, 4.0])
    rows = np.array([[1.0, 3.0, 5.0], [0.0, 0.5, 0.7]])
    vals = np.array([[2.0, 0.0, 4.5], [0.5, 1.0, 0.6]])
    pairs = [
        (
            torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right),
            ax.searchsorted(ax.tensor(seq), ax.tensor(vals), right=right),
        ),
        (
            torch.searchsorted(torch.tensor(rows), torch.tensor(vals), right=right),
            ax.searchsorted(ax.tensor(rows), ax.tensor(vals), right=right),
        ),
        (
            torch.searchsorted(torch.tensor(seq), torch.tensor(vals), side="right", out_int32=True),
            ax.searchsorted(ax.tensor(seq), ax.tensor(vals), side="right", out_int32=True),
        ),
        (
            torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right),
            ax.bucketize(ax.tensor(vals), ax.tensor(seq), right=right),
        ),
    ]
    for t, a in pairs:
        assert a.dtype == t.numpy().dtype
        assert_equal(a.numpy(), t.numpy())


@pytest.mark.parametrize(
    "kwargs", [{}, {"bins": 4, "min": 0, "max": 3}, {"bins": 5, "min": -1, "max": 1}]
)
def test_histc(kwargs):
    x = np.array([1.0, 2.0, 1.0, 2.5, -0.5, 3.0, 7.0])
    for dt in (np.float32, np.float64):
        a = ax.histc(ax.tensor(x.astype(dt)), **kwargs)
        t = torch.histc(torch.tensor(x.astype(dt)), **kwargs)
        assert a.dtype == t.numpy().dtype
        assert_equal(a.numpy(), t.numpy())


@pytest.mark.parametrize(
    "shapes,t_fn,a_fn,exact,match",
    [
        ([(3, 4)], lambda x: x.topk(5), None, RuntimeError, ["5"]),
        ([(3, 4)], lambda x: x.kthvalue(0), None, RuntimeError, ["k"]),
        ([(3, 4)], lambda x: x.sort(2), None, IndexError, ["2"]),
        ([(3, 4)], lambda x: x.median(-3), None, IndexError, ["-3"]),
        ([(3, 4)], lambda x: x.masked_select(x), None, RuntimeError, ["mask"]),
        ([(3,)], lambda x: torch.bincount(x), lambda x: ax.bincount(x), RuntimeError, ["1-d"]),
    ],
)
def test_selection_errors(shapes, t_fn, a_fn, exact, match):
    helper_test_exception(shapes, t_fn, a_fn, exact=exact, match=match)


# ------------------------------------------------------------------ scatter and index writes
IDX_DUP = np.array([[0, 2, 0, 1], [3, 3, 1, 0]])  # repeated targets in each row
IDX_UNIQUE = np.array([[0, 2, 3, 1], [3, 2, 1, 0]])  # a permutation of each row


def _i(arr):
    return torch.tensor(arr), ax.tensor(arr)


def _pair(t_fn, a_fn, idx_arr):
    ti, ai = _i(idx_arr)
    return (lambda *x: t_fn(ti, *x)), (lambda *x: a_fn(ai.to(x[0].device), *x))


SCATTER = [
    ("scatter src", [(2, 5), (2, 4)], lambda i, x, s: x.scatter(1, i, s), IDX_UNIQUE),
    ("scatter value", [(2, 5)], lambda i, x: x.scatter(1, i, 1.5), IDX_DUP),
    (
        "scatter bigger src",
        [(3, 5), (3, 6)],
        lambda i, x, s: (
            torch.scatter(x, 1, i, s) if isinstance(x, torch.Tensor) else ax.scatter(x, 1, i, s)
        ),
        IDX_UNIQUE,
    ),
    ("scatter_add", [(2, 5), (2, 4)], lambda i, x, s: x.scatter_add(1, i, s), IDX_DUP),
    ("scatter_add dim0", [(4, 4), (2, 4)], lambda i, x, s: x.scatter_add(0, i, s), IDX_DUP),
]


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("reduce,idx", [("add", IDX_DUP), ("multiply", IDX_UNIQUE)])
def test_scatter_with_reduce(reduce, idx):
    """torch has no derivative for scatter(reduce=): values only (axon's gradient is
    scatter_reduce's, checked there)."""
    t_fn, a_fn = _pair(
        lambda i, x, s: x.scatter(1, i, s, reduce=reduce),
        lambda i, x, s: x.scatter(1, i, s, reduce=reduce),
        idx,
    )
    helper_test_op([(2, 5), (2, 4)], t_fn, a_fn, forward_only=True)


@pytest.mark.parametrize("name,shapes,fn,idx", SCATTER, ids=[s[0] for s in SCATTER])
def test_scatter(name, shapes, fn, idx):
    for dtype in (np.float64, np.float32):  # tight, then loose tolerances
        t_fn, a_fn = _pair(fn, fn, idx)
        # torch's gradient for a src larger than the index has the wrong shape: input only there
        grads = [True, False] if name == "scatter bigger src" else None
        helper_test_op(shapes, t_fn, a_fn, dtype=dtype, requires_grad=grads)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce(reduce, include_self):
    fn = lambda i, x, s: x.scatter_reduce(1, i, s, reduce, include_self=include_self)  # noqa: E731
    t_fn, a_fn = _pair(fn, fn, IDX_DUP)
    helper_test_op([(2, 5), (2, 4)], t_fn, a_fn)


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin", "mean"])
def test_scatter_reduce_zeros_and_ties(reduce):
    """prod with zero factors (one and two at a position), amax/amin with tied values."""
    x = np.array([[0.0, 2.0, 3.0, 1.0, 5.0], [1.0, 0.0, 2.0, 2.0, 1.0]])
    src = np.array([[2.0, 0.0, 0.0, 3.0], [2.0, 2.0, 0.0, 1.0]])
    fn = lambda i, x, s: x.scatter_reduce(1, i, s, reduce)  # noqa: E731
    t_fn, a_fn = _pair(fn, fn, IDX_DUP)
    helper_test_op(None, t_fn, a_fn, arrays=[x, src])


def test_scatter_reduce_integer():
    x = np.arange(10).reshape(2, 5)
    src = np.array([[7, 1, 4, 2], [3, 9, 1, 8]])
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for inc in (True, False):
            t = torch.tensor(x).scatter_reduce(
                1, torch.tensor(IDX_DUP), torch.tensor(src), reduce, include_self=inc
            )
            a = ax.tensor(x).scatter_reduce(
                1, ax.tensor(IDX_DUP), ax.tensor(src), reduce, include_self=inc
            )
            assert_equal(a.numpy(), t.numpy(), msg=f"{reduce} {inc}")


INDEX_OPS = [
    ("index_add", [(5, 3), (4, 3)], lambda i, x, s: x.index_add(0, i, s), [0, 4, 0, 2]),
    (
        "index_add alpha dim1",
        [(3, 5), (3, 4)],
        lambda i, x, s: (
            torch.index_add(x, 1, i, s, alpha=-2.0)
            if isinstance(x, torch.Tensor)
            else ax.index_add(x, 1, i, s, alpha=-2.0)
        ),
        [0, 4, 0, 2],
    ),
    ("index_copy", [(5, 3), (3, 3)], lambda i, x, s: x.index_copy(0, i, s), [4, 0, 2]),
    ("index_fill", [(3, 5)], lambda i, x: x.index_fill(1, i, -1.0), [4, 0, 4]),
    ("index_put", [(4, 3), (2,)], lambda i, x, v: x.index_put((i, i), v), [0, 2]),
    (
        "index_put accumulate",
        [(4, 3), (3,)],
        lambda i, x, v: x.index_put((i, i.clamp(max=2)), v, accumulate=True),
        [0, 3, 0],
    ),
    (
        "take",
        [(3, 4)],
        lambda i, x: torch.take(x, i) if isinstance(x, torch.Tensor) else ax.take(x, i),
        [[0, 11], [5, -1]],
    ),
    ("take_along_dim", [(3, 4)], lambda i, x: x.take_along_dim(i, 1), [[0, 3], [1, 1], [2, 0]]),
    ("take_along_dim none", [(3, 4)], lambda i, x: x.take_along_dim(i), [3, 0, 11]),
    ("take_along_dim bcast", [(3, 4)], lambda i, x: x.take_along_dim(i, 1), [[0, -1]]),
    ("index_fill negative", [(3, 5)], lambda i, x: x.index_fill(1, i, 2.0), [-1, 0]),
    (
        "gather",
        [(3, 4)],
        lambda i, x: torch.gather(x, 1, i) if isinstance(x, torch.Tensor) else ax.gather(x, 1, i),
        [[0, 0], [3, 1], [2, 2]],
    ),
]


@pytest.mark.parametrize("name,shapes,fn,idx", INDEX_OPS, ids=[s[0] for s in INDEX_OPS])
def test_index_ops(name, shapes, fn, idx):
    for dtype in (np.float64, np.float32):  # tight, then loose tolerances
        t_fn, a_fn = _pair(fn, fn, np.array(idx))
        helper_test_op(shapes, t_fn, a_fn, dtype=dtype)


def test_masked_fill_and_scatter():
    mask = np.array([[True, False, True], [False, False, True]])
    tm, am = torch.tensor(mask), ax.tensor(mask)
    helper_test_op([(2, 3)], lambda x: x.masked_fill(tm, 2.0), lambda x: x.masked_fill(am, 2.0))
    helper_test_op(
        [(2, 3)], lambda x: x.masked_fill(tm[0], -1.0), lambda x: x.masked_fill(am[0], -1.0)
    )  # broadcast mask
    helper_test_op(
        [(2, 3), ()], lambda x, v: x.masked_fill(tm, v), lambda x, v: x.masked_fill(am, v)
    )  # a 0-d tensor value gets a gradient
    helper_test_op(
        [(2, 3), (5,)], lambda x, s: x.masked_scatter(tm, s), lambda x, s: x.masked_scatter(am, s)
    )
    helper_test_op(
        [(2, 3), (2, 3)],
        lambda x, s: torch.masked_scatter(x, tm, s),
        lambda x, s: ax.masked_scatter(x, am, s),
    )


def test_inplace_forms():
    """x.f_(...) writes into x (no graph) and records like torch on a non-leaf."""
    idx = np.array([[0, 2], [1, 1]])
    for name, args in [
        ("scatter_", (1, idx, 9.0)),
        ("scatter_add_", (1, idx, np.ones((2, 2)))),
        ("index_add_", (0, np.array([1, 0]), np.ones((2, 3)))),
        ("index_fill_", (1, np.array([2]), 0.0)),
        ("index_copy_", (0, np.array([1]), np.zeros((1, 3)))),
        ("masked_fill_", (np.eye(2, 3, dtype=bool), -3.0)),
        ("tril_", (0,)),
        ("triu_", (1,)),
    ]:
        base = np.arange(6.0).reshape(2, 3)
        t, a = torch.tensor(base), ax.tensor(base)
        a_arr = a.array
        t_args = [torch.tensor(v) if isinstance(v, np.ndarray) else v for v in args]
        a_args = [ax.tensor(v) if isinstance(v, np.ndarray) else v for v in args]
        assert getattr(a, name)(*a_args) is a
        getattr(t, name)(*t_args)
        assert_equal(a.numpy(), t.numpy(), msg=name)
        assert a.array is a_arr, f"{name} replaced the array instead of writing into it"
    # with a graph: the gradient flows through the in-place write
    x_t = torch.tensor(np.ones((2, 3)), requires_grad=True)
    s_t = torch.tensor(np.full((2, 2), 2.0), requires_grad=True)
    y_t = x_t * 3
    y_t.scatter_add_(1, torch.tensor(idx), s_t)
    (y_t * y_t).sum().backward()
    x_a = ax.tensor(np.ones((2, 3)), requires_grad=True)
    s_a = ax.tensor(np.full((2, 2), 2.0), requires_grad=True)
    y_a = x_a * 3
    y_a.scatter_add_(1, ax.tensor(idx), s_a)
    (y_a * y_a).sum().backward()
    np.testing.assert_allclose(x_a.grad.numpy(), x_t.grad.numpy())
    np.testing.assert_allclose(s_a.grad.numpy(), s_t.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        ax.ones(2, 3, requires_grad=True).index_fill_(1, ax.tensor([0]), 1.0)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, s: x.scatter(1, ax.tensor(IDX_UNIQUE), s),
        lambda x, s: x.scatter_add(1, ax.tensor(IDX_DUP), s),
        lambda x, s: x.scatter_reduce(1, ax.tensor(IDX_DUP), s, "prod"),
        lambda x, s: x.scatter_reduce(1, ax.tensor(IDX_DUP), s, "mean", include_self=False),
        lambda x, s: x.scatter_reduce(1, ax.tensor(IDX_UNIQUE), s, "amax"),
        lambda x, s: x.index_add(1, ax.tensor([0, 4, 0, 2]), s, alpha=0.5),
        lambda x, s: x.index_copy(1, ax.tensor([0, 4, 1, 2]), s),
        lambda x, s: x.take(ax.tensor([[0, 0], [9, 3]])) * s[:, :2],
    ],
)
def test_scatter_gradcheck(fn):
    rng = np.random.default_rng(3)
    x = ax.tensor(rng.uniform(0.5, 2, size=(2, 5)), requires_grad=True)
    s = ax.tensor(rng.uniform(0.5, 2, size=(2, 4)), requires_grad=True)
    assert ax.gradcheck(fn, [x, s])


@pytest.mark.parametrize(
    "t_fn,a_fn,exact,match",
    [
        (
            lambda x: x.scatter(1, torch.tensor([0]), 1.0),
            lambda x: x.scatter(1, ax.tensor([0]), 1.0),
            RuntimeError,
            ["dimensions"],
        ),
        (
            lambda x: x.scatter(1, torch.tensor([[0, 5]]), 1.0),
            lambda x: x.scatter(1, ax.tensor([[0, 5]]), 1.0),
            RuntimeError,
            ["5", "size 3"],
        ),
        (
            lambda x: x.scatter(1, torch.tensor([[0.0]]), 1.0),
            lambda x: x.scatter(1, ax.tensor([[0.0]]), 1.0),
            RuntimeError,
            ["int64"],
        ),
        (
            lambda x: x.scatter(1, torch.tensor([[0, 1, 2, 0]]), torch.ones(2, 3)),
            lambda x: x.scatter(1, ax.tensor([[0, 1, 2, 0]]), ax.ones(2, 3)),
            RuntimeError,
            ["[1, 4]", "[2, 3]"],
        ),
        (
            lambda x: x.scatter(2, torch.tensor([[0]]), 1.0),
            lambda x: x.scatter(2, ax.tensor([[0]]), 1.0),
            IndexError,
            ["2"],
        ),
        (
            lambda x: x.index_add(1, torch.tensor([0, 1]), torch.ones(2, 3)),
            lambda x: x.index_add(1, ax.tensor([0, 1]), ax.ones(2, 3)),
            RuntimeError,
            ["(2)"],
        ),
        (
            lambda x: x.index_add(1, torch.tensor([0, 3]), torch.ones(2, 2)),
            lambda x: x.index_add(1, ax.tensor([0, 3]), ax.ones(2, 2)),
            RuntimeError,
            ["3"],
        ),
        (lambda x: x.take(torch.tensor([6])), lambda x: x.take(ax.tensor([6])), IndexError, ["6"]),
        (
            lambda x: x.gather(1, torch.tensor([[3]])),
            lambda x: x.gather(1, ax.tensor([[3]])),
            RuntimeError,
            ["3"],
        ),
        (
            lambda x: x.scatter_reduce(1, torch.tensor([[0]]), x, "foo"),
            lambda x: x.scatter_reduce(1, ax.tensor([[0]]), x, "foo"),
            RuntimeError,
            ["foo"],
        ),
        (
            lambda x: x.gather(1, torch.tensor([[-1]])),
            lambda x: x.gather(1, ax.tensor([[-1]])),
            RuntimeError,
            ["-1"],
        ),
        (
            lambda x: x.scatter(1, torch.tensor([[-1]]), 5.0),
            lambda x: x.scatter(1, ax.tensor([[-1]]), 5.0),
            RuntimeError,
            ["-1"],
        ),
        (
            lambda x: x.index_add(1, torch.tensor([-1]), torch.ones(2, 1)),
            lambda x: x.index_add(1, ax.tensor([-1]), ax.ones(2, 1)),
            RuntimeError,
            ["-1"],
        ),
        (
            lambda x: x.index_copy(1, torch.tensor([-1]), x[:, :1]),
            lambda x: x.index_copy(1, ax.tensor([-1]), x[:, :1]),
            IndexError,
            ["-1"],
        ),
        (
            lambda x: x.index_select(1, torch.tensor([3])),
            lambda x: x.index_select(1, ax.tensor([3])),
            RuntimeError,
            ["3"],
        ),
        (
            lambda x: x.masked_fill(torch.ones(2, 3), 1.0),
            lambda x: x.masked_fill(ax.ones(2, 3), 1.0),
            RuntimeError,
            ["bool"],
        ),
    ],
)
def test_scatter_errors(t_fn, a_fn, exact, match):
    helper_test_exception([(2, 3)], t_fn, a_fn, exact=exact, match=match)


# ------------------------------------------------------------------ quantiles and membership
@pytest.mark.parametrize(
    "kwargs", [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"keepdim": True}], ids=str
)
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile(interpolation, kwargs):
    q = [0.0, 0.3, 0.5, 1.0]
    helper_test_op(
        None,
        lambda x: torch.quantile(
            x, torch.tensor(q, dtype=x.dtype), interpolation=interpolation, **kwargs
        ),
        lambda x: ax.quantile(
            x, ax.tensor(q, dtype=x.dtype), interpolation=interpolation, **kwargs
        ),
        arrays=[DISTINCT],
    )
    helper_test_op(None, lambda x: x.quantile(0.4, 1, interpolation=interpolation), arrays=[TIES])


def test_quantile_nan():
    for fn in (
        lambda x: x.quantile(0.4, 1),
        lambda x: x.nanquantile(0.4, 1),
        lambda x: x.nanquantile(0.9),
        lambda x: x.quantile(0.5),
    ):
        np.testing.assert_array_equal(
            fn(ax.tensor(WITH_NAN)).numpy(), fn(torch.tensor(WITH_NAN)).numpy()
        )
    helper_test_op(
        [(3, 4)],
        lambda x: torch.nanquantile(x, 0.7, dim=0),
        lambda x: ax.nanquantile(x, 0.7, dim=0),
    )
    with pytest.raises(RuntimeError, match="same dtype"):
        ax.quantile(ax.ones(3), ax.tensor([0.5], dtype=ax.float64))
    with pytest.raises(RuntimeError, match="range"):
        ax.quantile(ax.ones(3), 1.5)
    with pytest.raises(RuntimeError):
        torch.quantile(torch.ones(3), 1.5)


def test_isin_histogram_unravel_put():
    e, s = np.array([[1, 2], [3, 5]]), np.array([2, 5, 9])
    for kw in ({}, {"invert": True}):
        assert_equal(
            ax.isin(ax.tensor(e), ax.tensor(s), **kw).numpy(),
            torch.isin(torch.tensor(e), torch.tensor(s), **kw).numpy(),
        )
    x = np.array([1.0, 2.0, 1.0, 2.5, 0.2])
    for kw in ({"bins": 4, "range": (0.0, 3.0)}, {"bins": 3}, {"bins": 3, "density": True}):
        a, t = ax.histogram(ax.tensor(x), **kw), torch.histogram(torch.tensor(x), **kw)
        np.testing.assert_allclose(a.hist.numpy(), t.hist.numpy())
        np.testing.assert_allclose(a.bin_edges.numpy(), t.bin_edges.numpy())
    for a, t in zip(
        ax.unravel_index(ax.tensor([4, 1, 5]), (2, 3)),
        torch.unravel_index(torch.tensor([4, 1, 5]), (2, 3)),
        strict=True,
    ):
        assert_equal(a.numpy(), t.numpy())


@pytest.mark.parametrize("accumulate", [False, True])
def test_put(accumulate):
    ti, ai = _i(np.array([[0, 5], [2, 0]]))
    helper_test_op(
        [(2, 3), (2, 2)],
        lambda x, s: x.put(ti, s, accumulate=accumulate),
        lambda x, s: x.put(ai, s, accumulate=accumulate),
        requires_grad=[True, accumulate],
    )  # torch's duplicate-index put: input only


@pytest.mark.parametrize("largest", [True, False])
def test_topk_of_long_rows(largest):
    """k much smaller than the row (the partial-partition path), with NaN: the values,
    indices and gradients of torch."""
    x = np.random.default_rng(5).normal(size=(3, 400))
    x[0, 17], x[2, 3] = np.nan, np.nan
    a, t = ax.tensor(x).topk(5, 1, largest), torch.tensor(x).topk(5, 1, largest)
    np.testing.assert_array_equal(a.indices.numpy(), t.indices.numpy())
    np.testing.assert_array_equal(a.values.numpy(), t.values.numpy())  # NaN where torch's
    helper_test_op(None, lambda t: t.topk(4, 0, largest), arrays=[np.nan_to_num(x).T])


@pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce(reduce, include_self):
    ti, ai = _i(np.array([0, 4, 0, 2]))
    helper_test_op(
        [(3, 5), (3, 4)],
        lambda x, s: x.index_reduce(1, ti, s, reduce, include_self=include_self),
        lambda x, s: x.index_reduce(1, ai, s, reduce, include_self=include_self),
    )
    helper_test_op(
        [(5, 3), (4, 3)],
        lambda x, s: torch.index_reduce(x, 0, ti, s, reduce),
        lambda x, s: ax.index_reduce(x, 0, ai, s, reduce),
    )
