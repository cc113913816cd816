"""Products and einsum (``axon.autograd.product_api``) and shape/movement functions
(``axon.autograd.shape_api``) against torch: forward and gradients in float64 and float32,
float64 gradcheck, the method and function forms, and torch's exception class on bad
input."""

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_equal

# ------------------------------------------------------------------ products
PRODUCTS = [
    ("mm", [(3, 4), (4, 5)], lambda a, b: torch.mm(a, b), lambda a, b: ax.mm(a, b)),
    ("mm method", [(3, 4), (4, 5)], lambda a, b: a.mm(b), None),
    ("matmul method", [(2, 3, 4), (4, 2)], lambda a, b: a.matmul(b), None),
    ("dot", [(5,), (5,)], lambda a, b: torch.dot(a, b), lambda a, b: ax.dot(a, b)),
    ("vdot", [(5,), (5,)], lambda a, b: torch.vdot(a, b), lambda a, b: ax.vdot(a, b)),
    ("mv", [(3, 4), (4,)], lambda a, b: torch.mv(a, b), lambda a, b: ax.mv(a, b)),
    ("outer", [(3,), (4,)], lambda a, b: torch.outer(a, b), lambda a, b: ax.outer(a, b)),
    ("ger", [(3,), (4,)], lambda a, b: a.ger(b), None),
    ("kron 2d", [(2, 3), (3, 2)], lambda a, b: torch.kron(a, b), lambda a, b: ax.kron(a, b)),
    ("kron mixed", [(2,), (3, 2)], lambda a, b: torch.kron(a, b), lambda a, b: ax.kron(a, b)),
    (
        "cross",
        [(4, 3), (4, 3)],
        lambda a, b: torch.cross(a, b, dim=1),
        lambda a, b: ax.cross(a, b, dim=1),
    ),
    ("cross dim0", [(3, 2), (3, 2)], lambda a, b: a.cross(b, dim=0), None),
    (
        "linalg.cross bcast",
        [(4, 3), (1, 3)],
        lambda a, b: torch.linalg.cross(a, b),
        lambda a, b: ax.linalg.cross(a, b),
    ),
    ("bmm", [(2, 3, 4), (2, 4, 5)], lambda a, b: torch.bmm(a, b), lambda a, b: ax.bmm(a, b)),
    (
        "tensordot 2",
        [(2, 3, 4), (3, 4, 5)],
        lambda a, b: torch.tensordot(a, b),
        lambda a, b: ax.tensordot(a, b),
    ),
    (
        "tensordot lists",
        [(2, 3, 4), (4, 2, 5)],
        lambda a, b: torch.tensordot(a, b, dims=([0, 2], [1, 0])),
        lambda a, b: ax.tensordot(a, b, dims=([0, 2], [1, 0])),
    ),
    (
        "tensordot 0",
        [(2, 3), (4,)],
        lambda a, b: torch.tensordot(a, b, dims=0),
        lambda a, b: ax.tensordot(a, b, dims=0),
    ),
]


@pytest.mark.parametrize("name,shapes,t_fn,a_fn", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products(name, shapes, t_fn, a_fn):
    for dtype in (np.float64, np.float32):  # tight, then loose tolerances
        helper_test_op(shapes, t_fn, a_fn, dtype=dtype)


ADD_PRODUCTS = [
    ("addmm", [(3, 5), (3, 4), (4, 5)], torch.addmm, ax.addmm),
    ("addmm bcast", [(5,), (3, 4), (4, 5)], torch.addmm, ax.addmm),
    ("addmv", [(3,), (3, 4), (4,)], torch.addmv, ax.addmv),
    ("baddbmm", [(2, 3, 5), (2, 3, 4), (2, 4, 5)], torch.baddbmm, ax.baddbmm),
    ("addbmm", [(3, 5), (2, 3, 4), (2, 4, 5)], torch.addbmm, ax.addbmm),
]


@pytest.mark.parametrize("name,shapes,t_fn,a_fn", ADD_PRODUCTS, ids=[p[0] for p in ADD_PRODUCTS])
def test_scaled_products(name, shapes, t_fn, a_fn):
    helper_test_op(
        shapes, lambda *x: t_fn(*x, beta=0.5, alpha=-2.0), lambda *x: a_fn(*x, beta=0.5, alpha=-2.0)
    )
    helper_test_op(shapes, t_fn, a_fn)
    method = name.split()[0]
    helper_test_op(
        shapes, lambda x, *r: getattr(x, method)(*r), lambda x, *r: getattr(x, method)(*r)
    )


def test_addmm_beta_zero_ignores_nan():
    helper_test_op(
        None,
        lambda c, a, b: torch.addmm(c, a, b, beta=0),
        lambda c, a, b: ax.addmm(c, a, b, beta=0),
        arrays=[np.full((2, 2), np.nan), np.ones((2, 3)), np.ones((3, 2))],
        requires_grad=[False, True, True],
    )


@pytest.mark.parametrize(
    "shapes,t_fn,a_fn,match",
    [
        ([(3, 4), (3, 4)], torch.mm, ax.mm, ["3x4", "3x4"]),
        ([(4,), (4, 5)], torch.mm, ax.mm, ["matrix"]),
        ([(3, 4), (3, 4)], torch.dot, ax.dot, ["2D"]),
        ([(3,), (4,)], torch.dot, ax.dot, ["[3]", "[4]"]),
        ([(3, 4), (3,)], torch.mv, ax.mv, ["(3, 4)", "(3,)"]),
        ([(3, 4), (4, 3)], torch.bmm, ax.bmm, ["3D"]),
        (
            [(2, 4), (2, 4)],
            lambda a, b: torch.cross(a, b, dim=1),
            lambda a, b: ax.cross(a, b, dim=1),
            ["length 3", "4"],
        ),
        (
            [(2, 3), (2, 4)],
            lambda a, b: torch.tensordot(a, b, dims=1),
            lambda a, b: ax.tensordot(a, b, dims=1),
            ["size 3", "size 2"],
        ),
    ],
)
def test_product_errors(shapes, t_fn, a_fn, match):
    helper_test_exception(shapes, t_fn, a_fn, match=match)


# ------------------------------------------------------------------ einsum
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),  # implicit output: letters seen once, sorted
    ("ba,ac", [(4, 3), (3, 5)]),  # implicit output sorted: "bc"
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ii->i", [(4, 4)]),  # a diagonal: a repeated letter in one operand
    ("ii", [(4, 4)]),  # the trace
    ("iij->j", [(3, 3, 2)]),
    ("ij->", [(3, 4)]),  # summed away
    ("ij,k->ik", [(3, 4), (5,)]),  # j only in the first operand
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),  # ellipsis broadcast, different ranks
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),  # size-1 batch dim broadcast
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("i...->...", [(3, 2, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    (" ij , jk -> ik ", [(2, 3), (3, 2)]),  # spaces are ignored
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum(eq, shapes):
    for dtype in (np.float64, np.float32):  # tight, then loose tolerances
        helper_test_op(
            shapes, lambda *x: torch.einsum(eq, *x), lambda *x: ax.einsum(eq, *x), dtype=dtype
        )


def test_einsum_list_operands_and_same_tensor_twice():
    helper_test_op(
        [(3, 4)],
        lambda a: torch.einsum("ij,ij->i", [a, a]),
        lambda a: ax.einsum("ij,ij->i", [a, a]),
    )


@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 2)]),
        ("ii->i", [(3, 3)]),
        ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
        ("ij->", [(2, 3)]),
    ],
)
def test_einsum_gradcheck(eq, shapes):
    rng = np.random.default_rng(0)
    xs = [ax.tensor(rng.normal(size=s), dtype=ax.float64, requires_grad=True) for s in shapes]
    assert ax.gradcheck(lambda *x: ax.einsum(eq, *x), xs)


@pytest.mark.parametrize(
    "eq,shapes,match",
    [
        ("ij,jk->ik", [(3, 4), (5, 2)], ["j", "4", "5"]),
        ("ij", [(3, 4), (4, 2)], ["more operands"]),
        ("ijk", [(3, 4)], ["3", "2", "operand 0"]),
        ("i1,ij", [(3, 4), (3, 4)], ["index 1"]),
        ("i..j...", [(3, 4)], ["'...'"]),
    ],
)
def test_einsum_errors(eq, shapes, match):
    helper_test_exception(
        shapes, lambda *x: torch.einsum(eq, *x), lambda *x: ax.einsum(eq, *x), match=match
    )


# ------------------------------------------------------------------ shape and movement
MOVEMENT = [
    ("tril", [(4, 5)], lambda x: torch.tril(x), lambda x: ax.tril(x)),
    ("tril diag", [(2, 4, 5)], lambda x: x.tril(1), None),
    ("triu diag", [(4, 5)], lambda x: x.triu(-1), None),
    ("triu", [(3, 3)], lambda x: torch.triu(x, diagonal=2), lambda x: ax.triu(x, diagonal=2)),
    ("roll flat", [(3, 4)], lambda x: torch.roll(x, 5), lambda x: ax.roll(x, 5)),
    ("roll dims", [(3, 4)], lambda x: x.roll((1, -2), (0, 1)), None),
    ("roll neg dim", [(3, 4)], lambda x: x.roll(1, -1), None),
    ("flip", [(2, 3, 4)], lambda x: torch.flip(x, [0, 2]), lambda x: ax.flip(x, [0, 2])),
    ("flip varargs", [(2, 3, 4)], lambda x: x.flip(-1, 0), None),
    (
        "flip keyword",
        [(2, 3, 4)],
        lambda x: torch.flip(x, dims=(1,)),
        lambda x: ax.flip(x, dims=(1,)),
    ),
    ("fliplr", [(3, 4)], lambda x: torch.fliplr(x), lambda x: ax.fliplr(x)),
    ("flipud", [(3, 4)], lambda x: x.flipud(), None),
    ("rot90", [(3, 4)], lambda x: torch.rot90(x), lambda x: ax.rot90(x)),
    ("rot90 k dims", [(2, 3, 4)], lambda x: x.rot90(-3, [2, 0]), None),
    ("diag 1-d", [(4,)], lambda x: torch.diag(x), lambda x: ax.diag(x)),
    ("diag 1-d offset", [(3,)], lambda x: torch.diag(x, -2), lambda x: ax.diag(x, -2)),
    ("diag 2-d", [(3, 4)], lambda x: x.diag(1), None),
    ("diagonal", [(3, 4)], lambda x: torch.diagonal(x), lambda x: ax.diagonal(x)),
    ("diagonal dims", [(2, 3, 4)], lambda x: x.diagonal(-1, 2, 0), None),
    ("diag_embed", [(2, 3)], lambda x: torch.diag_embed(x), lambda x: ax.diag_embed(x)),
    ("diag_embed dims", [(2, 3)], lambda x: x.diag_embed(1, 0, 2), None),
    ("trace", [(3, 4)], lambda x: torch.trace(x), lambda x: ax.trace(x)),
    ("unfold", [(2, 7)], lambda x: x.unfold(1, 3, 2), None),
    ("unfold overlap", [(6, 2)], lambda x: x.unfold(0, 4, 1), None),
    ("unfold gaps", [(2, 3, 8)], lambda x: x.unfold(-1, 2, 3).unfold(1, 2, 1), None),
    ("repeat_interleave", [(2, 3)], lambda x: x.repeat_interleave(2), None),
    (
        "repeat_interleave dim",
        [(2, 3)],
        lambda x: torch.repeat_interleave(x, torch.tensor([1, 0, 3]), dim=1),
        lambda x: ax.repeat_interleave(x, ax.tensor([1, 0, 3]), dim=1),
    ),
    ("tile", [(2, 3)], lambda x: torch.tile(x, (2,)), lambda x: ax.tile(x, (2,))),
    ("tile more", [(2, 3)], lambda x: x.tile((2, 1, 2)), None),
    ("movedim", [(2, 3, 4)], lambda x: torch.movedim(x, 0, -1), lambda x: ax.movedim(x, 0, -1)),
    ("movedim multi", [(2, 3, 4, 5)], lambda x: x.movedim((0, 1), (3, 0)), None),
    ("moveaxis", [(2, 3, 4)], lambda x: x.moveaxis(2, 0), None),
    ("swapaxes", [(2, 3, 4)], lambda x: torch.swapaxes(x, 0, -1), lambda x: ax.swapaxes(x, 0, -1)),
    ("swapdims", [(2, 3, 4)], lambda x: x.swapdims(1, 2), None),
    ("narrow", [(4, 5)], lambda x: torch.narrow(x, 1, 1, 3), lambda x: ax.narrow(x, 1, 1, 3)),
    ("narrow neg start", [(4, 5)], lambda x: x.narrow(-1, -2, 2), None),
    ("ravel", [(2, 3)], lambda x: torch.ravel(x), lambda x: ax.ravel(x)),
    ("squeeze tuple", [(1, 3, 1, 2)], lambda x: x.squeeze((0, 2)), None),
    (
        "broadcast_to",
        [(3, 1)],
        lambda x: torch.broadcast_to(x, (2, 3, 4)),
        lambda x: ax.broadcast_to(x, (2, 3, 4)),
    ),
    ("select", [(3, 4)], lambda x: torch.select(x, 1, -1), lambda x: ax.select(x, 1, -1)),
    (
        "index_select",
        [(3, 4)],
        lambda x: x.index_select(1, torch.tensor([3, 0, 3])),
        lambda x: x.index_select(1, ax.tensor([3, 0, 3])),
    ),
]


@pytest.mark.parametrize("name,shapes,t_fn,a_fn", MOVEMENT, ids=[m[0] for m in MOVEMENT])
def test_movement(name, shapes, t_fn, a_fn):
    for dtype in (np.float64, np.float32):  # tight, then loose tolerances
        helper_test_op(shapes, t_fn, a_fn, dtype=dtype)


def test_movement_non_contiguous_and_integer():
    helper_test_op([(3, 4)], lambda x: x.flip(0).roll(1, 1).diagonal(), layout="transposed")
    x = np.arange(12).reshape(3, 4)
    for fn in (
        lambda t: t.tril(),
        lambda t: t.flip(1),
        lambda t: t.roll(2),
        lambda t: t.unfold(1, 2, 1),
        lambda t: t.repeat_interleave(2, dim=0),
    ):
        assert_equal(fn(ax.tensor(x)).numpy(), fn(torch.tensor(x)).numpy())


def test_flip_is_a_copy():
    x = ax.arange(4.0)
    y = x.flip(0)
    y += 1  # in-place on the result must not write into x (torch's flip copies)
    assert_equal(x.numpy(), np.arange(4.0))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.roll(2, 1).flip(0),
        lambda x: x.rot90(1, (0, 1)),
        lambda x: x.diagonal(1),
        lambda x: ax.diag_embed(x, -1),
        lambda x: x.unfold(1, 2, 1),
        lambda x: x.repeat_interleave(ax.tensor([2, 1, 3]), dim=0),
        lambda x: x.tril(-1) + x.triu(2),
        lambda x: ax.kron(x, x[:2, :2]),
        lambda x: ax.cross(x[:, :3], x[:, 1:], dim=1),
    ],
)
def test_movement_gradcheck(fn):
    x = ax.tensor(np.random.default_rng(1).normal(size=(3, 4)), requires_grad=True)
    assert ax.gradcheck(fn, [x])


SPLITS = [
    ("split int", lambda x: torch.split(x, 2, 1), lambda x: ax.split(x, 2, 1)),
    ("split list", lambda x: x.split([1, 4], -1), None),
    (
        "tensor_split int",
        lambda x: torch.tensor_split(x, 3, dim=1),
        lambda x: ax.tensor_split(x, 3, dim=1),
    ),
    ("tensor_split indices", lambda x: x.tensor_split([1, 3, 9], dim=1), None),
    (
        "tensor_split tensor",
        lambda x: torch.tensor_split(x, torch.tensor([2])),
        lambda x: ax.tensor_split(x, ax.tensor([2])),
    ),
    ("hsplit", lambda x: torch.hsplit(x[:, :4], 2), lambda x: ax.hsplit(x[:, :4], 2)),
    ("vsplit", lambda x: x.vsplit([1]), None),
    ("unbind", lambda x: torch.unbind(x, 1), lambda x: ax.unbind(x, 1)),
    ("chunk", lambda x: x.chunk(2, 1), None),
]


@pytest.mark.parametrize("name,t_fn,a_fn", SPLITS, ids=[s[0] for s in SPLITS])
def test_splits(name, t_fn, a_fn):
    helper_test_op([(3, 5)], t_fn, a_fn)


STACKS = [
    ("hstack", [(2, 3), (2, 1)], lambda *x: torch.hstack(x), lambda *x: ax.hstack(x)),
    ("hstack 1-d", [(2,), (3,)], lambda *x: torch.hstack(x), lambda *x: ax.hstack(x)),
    ("vstack", [(3,), (2, 3)], lambda *x: torch.vstack(x), lambda *x: ax.vstack(x)),
    ("row_stack", [(3,), (3,)], lambda *x: torch.row_stack(x), lambda *x: ax.row_stack(x)),
    ("dstack", [(2, 3), (2, 3, 2)], lambda *x: torch.dstack(x), lambda *x: ax.dstack(x)),
    (
        "column_stack",
        [(3,), (3, 2)],
        lambda *x: torch.column_stack(x),
        lambda *x: ax.column_stack(x),
    ),
    ("cat tuple", [(2, 3), (1, 3)], lambda *x: torch.cat(x), lambda *x: ax.cat(x)),
    (
        "cat generator",
        [(2, 3), (2, 1)],
        lambda *x: torch.cat(list(t for t in x), dim=-1),
        lambda *x: ax.cat((t for t in x), dim=-1),
    ),
    ("stack", [(2, 3), (2, 3)], lambda *x: torch.stack(x, -1), lambda *x: ax.stack(x, -1)),
    (
        "stack generator",
        [(2, 3), (2, 3)],
        lambda *x: torch.stack(list(x), 1),
        lambda *x: ax.stack((t for t in x), 1),
    ),
    (
        "broadcast_tensors",
        [(3, 1), (4,)],
        lambda *x: torch.broadcast_tensors(*x),
        lambda *x: ax.broadcast_tensors(*x),
    ),
    (
        "meshgrid ij",
        [(3,), (4,)],
        lambda a, b: torch.meshgrid(a, b, indexing="ij"),
        lambda a, b: ax.meshgrid(a, b, indexing="ij"),
    ),
    (
        "meshgrid xy",
        [(3,), (4,), (2,)],
        lambda *x: torch.meshgrid(*x, indexing="xy"),
        lambda *x: ax.meshgrid(*x, indexing="xy"),
    ),
    (
        "meshgrid list",
        [(3,), (4,)],
        lambda *x: torch.meshgrid(list(x), indexing="ij"),
        lambda *x: ax.meshgrid(list(x)),
    ),
    ("atleast_2d", [(3,), ()], lambda *x: torch.atleast_2d(*x), lambda *x: ax.atleast_2d(*x)),
    ("atleast_3d", [(3,)], torch.atleast_3d, ax.atleast_3d),
    ("atleast_3d 2-d", [(2, 3)], torch.atleast_3d, ax.atleast_3d),
    ("atleast_1d", [()], torch.atleast_1d, ax.atleast_1d),
]


@pytest.mark.parametrize("name,shapes,t_fn,a_fn", STACKS, ids=[s[0] for s in STACKS])
def test_stacks(name, shapes, t_fn, a_fn):
    helper_test_op(shapes, t_fn, a_fn)


def test_broadcast_shapes():
    assert ax.broadcast_shapes((3, 1), (4,), (2, 1, 1)) == tuple(
        torch.broadcast_shapes((3, 1), (4,), (2, 1, 1))
    )
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(4,\)"):
        ax.broadcast_shapes((3,), (4,))
    with pytest.raises(RuntimeError):
        torch.broadcast_shapes((3,), (4,))


def test_repeat_interleave_counts_only():
    counts = [2, 0, 3]
    assert_equal(
        ax.repeat_interleave(ax.tensor(counts)).numpy(),
        torch.repeat_interleave(torch.tensor(counts)).numpy(),
    )


@pytest.mark.parametrize(
    "shapes,t_fn,a_fn,exact,match",
    [
        ([(3, 4)], lambda x: x.flip(2), None, IndexError, ["[-2, 1]", "2"]),
        ([(3, 4)], lambda x: x.roll(1, 2), None, IndexError, ["2"]),
        ([(3, 4)], lambda x: x.narrow(1, 2, 3), None, RuntimeError, ["(2)", "(3)", "(4)"]),
        ([(3, 4)], lambda x: x.split([1, 1], 1), None, RuntimeError, ["[1, 1]", "4"]),
        (
            [(3, 5)],
            lambda x: torch.hsplit(x, 2),
            lambda x: ax.hsplit(x, 2),
            RuntimeError,
            ["5", "2"],
        ),
        ([(2, 2, 2)], lambda x: torch.diag(x), lambda x: ax.diag(x), RuntimeError, ["3D"]),
        ([(2, 2, 2)], lambda x: torch.trace(x), lambda x: ax.trace(x), RuntimeError, ["3"]),
        ([(2, 3)], lambda x: x.unfold(1, 4, 1), None, RuntimeError, ["3", "4"]),
        ([(2, 3)], lambda x: x.movedim(0, 2), None, IndexError, ["2"]),
        ([(2, 3)], lambda x: x.diagonal(0, 1, 1), None, RuntimeError, ["1"]),
        (
            [(2, 3)],
            lambda x: x.repeat_interleave(torch.tensor([1, 2]), dim=1),
            lambda x: x.repeat_interleave(ax.tensor([1, 2]), dim=1),
            RuntimeError,
            ["2", "3"],
        ),
        ([(2, 3)], lambda x: x.unbind(2), None, IndexError, ["2"]),
        (
            [(2, 3), (3, 3)],
            lambda a, b: torch.stack([a, b]),
            lambda a, b: ax.stack([a, b]),
            RuntimeError,
            ["(2, 3)", "(3, 3)"],
        ),
        (
            [(2, 3)],
            lambda x: torch.cat([x], dim=2),
            lambda x: ax.cat([x], dim=2),
            IndexError,
            ["2"],
        ),
        ([(2, 3)], lambda x: x.select(1, 3), None, IndexError, ["3"]),
        ([(3,)], lambda x: torch.tril(x), lambda x: ax.tril(x), RuntimeError, ["2"]),
    ],
)
def test_movement_errors(shapes, t_fn, a_fn, exact, match):
    helper_test_exception(shapes, t_fn, a_fn, exact=exact, match=match)


# ------------------------------------------------------------------ more products and layouts
MORE = [
    ("inner", [(2, 3), (4, 3)], torch.inner, ax.inner),
    ("inner method 1-d", [(3,), (3,)], lambda a, b: a.inner(b), None),
    (
        "addr",
        [(3, 4), (3,), (4,)],
        lambda *x: torch.addr(*x, beta=2.0, alpha=0.5),
        lambda *x: ax.addr(*x, beta=2.0, alpha=0.5),
    ),
    (
        "chain_matmul",
        [(2, 3), (3, 4), (4, 2)],
        torch.linalg.multi_dot and (lambda *x: torch.linalg.multi_dot(x)),
        lambda *x: ax.chain_matmul(*x),
    ),
    ("cartesian_prod", [(2,), (3,)], torch.cartesian_prod, ax.cartesian_prod),
    ("combinations", [(4,)], lambda x: torch.combinations(x, 3), lambda x: ax.combinations(x, 3)),
    (
        "combinations repl",
        [(3,)],
        lambda x: torch.combinations(x, with_replacement=True),
        lambda x: ax.combinations(x, with_replacement=True),
    ),
    ("block_diag", [(2, 2), (), (3,)], torch.block_diag, ax.block_diag),
    ("diagflat", [(2, 2)], lambda x: torch.diagflat(x, 1), lambda x: ax.diagflat(x, 1)),
    (
        "select_scatter",
        [(3, 4), (4,)],
        lambda x, s: torch.select_scatter(x, s, 0, 1),
        lambda x, s: ax.select_scatter(x, s, 0, 1),
    ),
    ("slice_scatter", [(4, 5), (4, 2)], lambda x, s: x.slice_scatter(s, 1, 1, 5, 2), None),
    (
        "diagonal_scatter",
        [(3, 4), (3,)],
        lambda x, s: torch.diagonal_scatter(x, s, 1),
        lambda x, s: ax.diagonal_scatter(x, s, 1),
    ),
]


@pytest.mark.parametrize("name,shapes,t_fn,a_fn", MORE, ids=[m[0] for m in MORE])
def test_more_products_and_layouts(name, shapes, t_fn, a_fn):
    helper_test_op(shapes, t_fn, a_fn)


def test_index_grids_and_fill_diagonal():
    for args in [(3, 3), (3, 4, 1), (4, 3, -1), (2, 5, 3)]:
        for name in ("tril_indices", "triu_indices"):
            assert_equal(getattr(ax, name)(*args).numpy(), getattr(torch, name)(*args).numpy())
    for shape, wrap in [((3, 4), False), ((7, 3), True), ((7, 3), False), ((3, 3, 3), False)]:
        a, t = ax.zeros(*shape), torch.zeros(*shape)
        assert a.fill_diagonal_(2.5, wrap=wrap) is a
        t.fill_diagonal_(2.5, wrap=wrap)
        assert_equal(a.numpy(), t.numpy())
    helper_test_op([(3, 4)], lambda x: (x * 2).fill_diagonal_(0.5))


@pytest.mark.parametrize(
    "size,stride,offset", [((2, 2), (1, 2), 0), ((3, 2), (2, 1), 1), ((4, 3), (1, 1), 2)], ids=str
)
def test_as_strided_t_unflatten(size, stride, offset):
    """Overlapping windows of a contiguous tensor, as torch's view of its storage."""
    helper_test_op(
        [(12,)],
        lambda x: torch.as_strided(x, size, stride, offset),
        lambda x: ax.as_strided(x, size, stride, offset),
    )
    helper_test_op([(3, 4)], lambda x: x.as_strided(size, stride, offset))
    helper_test_op([(3, 4)], torch.t, ax.t)
    helper_test_op(
        [(3, 4)], lambda x: torch.unflatten(x, 1, (2, -1)), lambda x: ax.unflatten(x, 1, (2, -1))
    )
