"""``conv_transpose1d/2d``, ``ConvTranspose1d/2d``, ``unfold`` / ``fold`` and
``Unfold`` / ``Fold`` against PyTorch: values and gradients over a grid of geometries
(float64 tight, float32 loose), finite differences, modules with torch's weights, reprs,
state dicts, ``output_size=`` and the errors torch raises."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_close

# (N, C_in, H, W, C_out, kh, kw, stride, padding, output_padding, groups, dilation)
GRID_2D = [
    (2, 3, 5, 4, 4, 3, 3, 1, 0, 0, 1, 1),
    (2, 4, 4, 5, 6, 3, 2, 2, 1, 1, 2, 1),
    (1, 2, 3, 3, 3, 2, 3, (2, 3), (0, 1), (1, 2), 1, 1),
    (2, 4, 4, 3, 2, 3, 3, 1, 2, 0, 2, (2, 1)),
    (3, 6, 2, 2, 9, 1, 1, 3, 0, 2, 3, 1),
    (2, 2, 4, 4, 2, 4, 4, 2, 1, 1, 1, 2),
]


@pytest.mark.parametrize("geometry", GRID_2D)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose2d_matches_torch(geometry, dtype):
    N, C, H, W, O, kh, kw, s, p, op, g, d = geometry
    kw_ = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    helper_test_op(
        [(N, C, H, W), (C, O // g, kh, kw), (O,)],
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw_),
        lambda x, w, b: F.conv_transpose2d(x, w, b, **kw_),
        dtype=dtype,
    )


@pytest.mark.parametrize(
    "geometry",
    [
        (2, 3, 7, 4, 3, 1, 0, 0, 1, 1),
        (2, 4, 5, 6, 4, 3, 1, 2, 2, 1),
        (1, 2, 4, 2, 2, 2, 0, 1, 1, 3),
    ],
)
def test_conv_transpose1d_matches_torch(geometry):
    N, C, L, O, k, s, p, op, g, d = geometry
    kw_ = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    helper_test_op(
        [(N, C, L), (C, O // g, k), (O,)],
        lambda x, w, b: TF.conv_transpose1d(x, w, b, **kw_),
        lambda x, w, b: F.conv_transpose1d(x, w, b, **kw_),
    )


def test_conv_transpose_unbatched_and_without_bias():
    helper_test_op(
        [(3, 4, 5), (3, 2, 2, 3)],
        lambda x, w: TF.conv_transpose2d(x, w, stride=2),
        lambda x, w: F.conv_transpose2d(x, w, stride=2),
    )
    helper_test_op(
        [(3, 6), (3, 2, 3)],
        lambda x, w: TF.conv_transpose1d(x, w, padding=1),
        lambda x, w: F.conv_transpose1d(x, w, padding=1),
    )


def test_conv_transpose_gradcheck():
    rng = np.random.default_rng(0)

    def t(*shape):
        return ax.tensor(rng.standard_normal(shape), requires_grad=True)

    ax.gradcheck(
        lambda x, w, b: F.conv_transpose2d(
            x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2)
        ),
        [t(1, 4, 3, 3), t(4, 1, 2, 3), t(2)],
    )
    ax.gradcheck(
        lambda x, w: F.conv_transpose1d(x, w, stride=3, dilation=2), [t(2, 2, 3), t(2, 3, 2)]
    )


def test_conv_transpose_errors():
    helper_test_exception(
        [(2, 3, 5, 5), (4, 2, 3, 3)],
        TF.conv_transpose2d,
        F.conv_transpose2d,
        match=["(2, 3, 5, 5)", "(4, 2, 3, 3)"],
    )
    helper_test_exception(
        [(2, 3, 5, 5), (3, 2, 3, 3)],
        lambda x, w: TF.conv_transpose2d(x, w, output_padding=1),
        lambda x, w: F.conv_transpose2d(x, w, output_padding=1),
        match=["output padding", "stride"],
    )
    helper_test_exception(
        [(2, 3, 5, 5), (3, 2, 3, 3)],
        lambda x, w: TF.conv_transpose2d(x, w, groups=2),
        lambda x, w: F.conv_transpose2d(x, w, groups=2),
        match=["groups=2", "(3, 2, 3, 3)"],
    )
    helper_test_exception(
        [(2, 3, 5), (3, 2, 3, 3)], TF.conv_transpose2d, F.conv_transpose2d, match=["(2, 3, 5)"]
    )


@pytest.mark.parametrize(
    "args",
    [
        (3, 4, 3),
        (4, 6, (3, 2), 2, 1, 1, 2, False, (1, 2)),
        (2, 3, 3, 2, 1, 1, 1, True, 1, "zeros"),
    ],
)
def test_conv_transpose2d_module_with_torch_weights(args):
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(*args).double()
    ours = nn.ConvTranspose2d(*args, dtype=ax.float64)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, args[0], 4, 5))
    tx = torch.tensor(x, requires_grad=True)
    ax_x = ax.tensor(x, requires_grad=True)
    ty, ay = theirs(tx), ours(ax_x)
    assert_close(ay, ty.detach(), rtol=1e-10, atol=1e-12)
    ty.square().sum().backward()
    ay.square().sum().backward()
    assert_close(ax_x.grad, tx.grad, rtol=1e-10, atol=1e-12)
    assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-10, atol=1e-12)
    if theirs.bias is not None:
        assert_close(ours.bias.grad, theirs.bias.grad, rtol=1e-10, atol=1e-12)
    # and back: axon's weights load into torch
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


def test_conv_transpose1d_module_float32():
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1)
    ours = nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 3, 6)).astype(np.float32)
    assert_close(ours(ax.tensor(x)), theirs(torch.tensor(x)).detach(), rtol=1e-5, atol=1e-5)


def test_output_size_picks_output_padding():
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1).double()
    ours = nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1, dtype=ax.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((1, 2, 4, 4))
    for size in [(10, 10), (11, 12), [1, 3, 12, 10]]:
        y = ours(ax.tensor(x), output_size=size)
        assert_close(y, theirs(torch.tensor(x), output_size=size).detach(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="valid sizes range from"):
        theirs(torch.tensor(x), output_size=(13, 10))
    with pytest.raises(ValueError, match=r"\(13, 10\).*\[10, 10\] to \[12, 12\]"):
        ours(ax.tensor(x), output_size=(13, 10))


def test_conv_transpose_constructor_errors():
    for kwargs in [dict(padding_mode="reflect"), dict(padding="same")]:
        with pytest.raises(ValueError):
            nn.ConvTranspose2d(2, 3, 3, **kwargs)
    with pytest.raises(ValueError, match='Only "zeros"'):
        torch.nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x, w), y> == <x, conv_transpose(y, w)>: the defining property."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    y = rng.standard_normal((2, 4, 4, 4))
    lhs = (F.conv2d(ax.tensor(x), ax.tensor(w), stride=2, padding=1).numpy() * y).sum()
    rhs = (x * F.conv_transpose2d(ax.tensor(y), ax.tensor(w), stride=2, padding=1).numpy()).sum()
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


# ============================================================ unfold / fold

BLOCK_GRID = [
    dict(kernel_size=2),
    dict(kernel_size=(2, 3), dilation=2, padding=1, stride=(1, 2)),
    dict(kernel_size=3, padding=(0, 1), stride=2),
]


@pytest.mark.parametrize("kwargs", BLOCK_GRID)
def test_unfold_matches_torch(kwargs):
    helper_test_op(
        [(2, 3, 5, 6)], lambda x: TF.unfold(x, **kwargs), lambda x: F.unfold(x, **kwargs)
    )
    helper_test_op(
        [(3, 5, 6)],
        lambda x: TF.unfold(x, **kwargs),
        lambda x: F.unfold(x, **kwargs),
        dtype=np.float32,
    )


@pytest.mark.parametrize("kwargs", BLOCK_GRID)
def test_fold_matches_torch(kwargs):
    cols = TF.unfold(torch.zeros(2, 3, 5, 6), **kwargs).shape
    helper_test_op(
        [tuple(cols)], lambda x: TF.fold(x, (5, 6), **kwargs), lambda x: F.fold(x, (5, 6), **kwargs)
    )
    helper_test_op(
        [tuple(cols[1:])],
        lambda x: TF.fold(x, (5, 6), **kwargs),
        lambda x: F.fold(x, (5, 6), **kwargs),
    )


def test_unfold_fold_gradcheck_and_modules():
    x = ax.tensor(np.random.default_rng(4).standard_normal((1, 2, 4, 5)), requires_grad=True)
    ax.gradcheck(lambda t: F.unfold(t, 2, padding=1, stride=2), [x])
    cols = ax.tensor(np.random.default_rng(5).standard_normal((1, 8, 12)), requires_grad=True)
    ax.gradcheck(lambda t: F.fold(t, (4, 5), 2, stride=(2, 1), padding=(0, 1)), [cols])
    unfold, fold = nn.Unfold(2, padding=1), nn.Fold((4, 5), 2, padding=1)
    assert repr(unfold) == repr(torch.nn.Unfold(2, padding=1))
    assert repr(fold) == repr(torch.nn.Fold((4, 5), 2, padding=1))
    t = torch.tensor(x.detach().numpy())
    assert_close(
        fold(unfold(x)),
        torch.nn.Fold((4, 5), 2, padding=1)(torch.nn.Unfold(2, padding=1)(t)),
        rtol=1e-12,
        atol=1e-12,
    )


def test_unfold_fold_errors():
    helper_test_exception(
        [(1, 2, 5, 5, 5)],
        lambda x: TF.unfold(x, 2),
        lambda x: F.unfold(x, 2),
        match=["(1, 2, 5, 5, 5)"],
    )
    helper_test_exception(
        [(2, 5, 5)], lambda x: TF.unfold(x, 6), lambda x: F.unfold(x, 6), match=["(5, 5)", "(6, 6)"]
    )
    helper_test_exception(
        [(2, 5, 16)],
        lambda x: TF.fold(x, (5, 5), 2),
        lambda x: F.fold(x, (5, 5), 2),
        match=["(2, 5, 16)", "(2, 2)"],
    )
    helper_test_exception(
        [(2, 12, 15)],
        lambda x: TF.fold(x, (5, 5), 2),
        lambda x: F.fold(x, (5, 5), 2),
        match=["4 * 4 = 16", "(2, 12, 15)"],
    )


def test_dcgan_style_training_steps_match_torch():
    """A small DCGAN generator (ConvTranspose2d, BatchNorm2d, ReLU, Tanh) and a
    discriminator (Conv2d, LeakyReLU, InstanceNorm2d, Flatten, Linear), written once against
    the shared API and built from each library: with the same weights, three SGD steps
    give the same losses and the same weights (float64)."""

    def build(lib):
        g = lib.nn.Sequential(
            lib.nn.ConvTranspose2d(4, 8, 3, stride=1, padding=0, bias=False),  # 1 -> 3
            lib.nn.BatchNorm2d(8),
            lib.nn.ReLU(),
            lib.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, bias=False),  # 3 -> 6
            lib.nn.BatchNorm2d(4),
            lib.nn.ReLU(),
            lib.nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1),  # 6 -> 12
            lib.nn.Tanh(),
        )
        d = lib.nn.Sequential(
            lib.nn.Conv2d(1, 4, 4, stride=2, padding=1),
            lib.nn.LeakyReLU(0.2),
            lib.nn.Conv2d(4, 8, 4, stride=2, padding=1),
            lib.nn.InstanceNorm2d(8, affine=True),
            lib.nn.LeakyReLU(0.2),
            lib.nn.Flatten(),
            lib.nn.Linear(8 * 3 * 3, 1),
        )
        return g, d

    torch.manual_seed(0)
    tg, td = (m.double() for m in build(torch))
    ag, ad = build(ax)
    for a, t in ((ag, tg), (ad, td)):
        a.to(ax.float64)
        a.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    params = lambda g, d: list(g.parameters()) + list(d.parameters())  # noqa: E731
    t_opt = torch.optim.SGD(params(tg, td), lr=0.05)
    a_opt = ax.optim.SGD(params(ag, ad), lr=0.05)
    rng = np.random.default_rng(0)
    for _ in range(3):
        z = rng.standard_normal((4, 4, 1, 1))
        t_loss = TF.softplus(-td(tg(torch.tensor(z)))).mean()
        a_loss = F.softplus(-ad(ag(ax.tensor(z)))).mean()
        assert abs(float(a_loss) - float(t_loss)) < 1e-10
        t_opt.zero_grad()
        a_opt.zero_grad()
        t_loss.backward()
        a_loss.backward()
        t_opt.step()
        a_opt.step()
    for a, t in zip(params(ag, ad), params(tg, td), strict=True):
        assert_close(a.detach(), t.detach(), 1e-9, 1e-11)
