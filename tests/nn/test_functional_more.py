"""Functional calls of issue 13 against PyTorch: ``interpolate`` in every linear mode
(both ``align_corners``) and ``area``, ``normalize``, ``cosine_similarity``,
``pairwise_distance`` (and their modules), ``one_hot`` and ``pad`` errors, and the torch
keyword arguments of the functions real programs call most."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_close, assert_equal

DTYPES = [np.float64, np.float32]

# (input shape, mode, keyword arguments)
RESIZES = [
    ((2, 3, 5), "linear", {"size": 8}),
    ((2, 3, 5), "linear", {"scale_factor": 0.6}),
    ((1, 2, 4, 5), "bilinear", {"size": (7, 3)}),
    ((1, 2, 4, 5), "bilinear", {"scale_factor": 1.7}),
    ((1, 2, 4, 5), "bilinear", {"scale_factor": (2, 0.5)}),
    ((1, 2, 4, 5), "bilinear", {"scale_factor": 1.5, "recompute_scale_factor": True}),
    ((1, 2, 4, 5), "bicubic", {"size": (9, 4)}),
    ((1, 2, 4, 5), "bicubic", {"scale_factor": 0.8}),
    ((1, 1, 3, 4, 2), "trilinear", {"size": (5, 2, 3)}),
    ((1, 1, 1, 5), "bilinear", {"size": (1, 1)}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape,mode,kw", RESIZES, ids=[f"{m}-{k}" for _, m, k in RESIZES])
def test_interpolate_linear_modes_match_torch(shape, mode, kw, align_corners, dtype):
    helper_test_op(
        [shape],
        lambda x: TF.interpolate(x, mode=mode, align_corners=align_corners, **kw),
        lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **kw),
        dtype=dtype,
    )


@pytest.mark.parametrize(
    "shape,size", [((2, 3, 7), 3), ((1, 2, 6, 5), (4, 2)), ((1, 2, 6, 5), (6, 5))]
)
def test_interpolate_area_matches_torch(shape, size):
    helper_test_op(
        [shape],
        lambda x: TF.interpolate(x, size=size, mode="area"),
        lambda x: F.interpolate(x, size=size, mode="area"),
    )


def test_interpolate_gradcheck_and_upsample_module():
    x = ax.tensor(np.random.default_rng(0).normal(size=(1, 2, 3, 4)), requires_grad=True)
    for mode in ["bilinear", "bicubic"]:
        for ac in [False, True]:
            assert ax.gradcheck(
                lambda t, m=mode, a=ac: F.interpolate(t, size=(5, 3), mode=m, align_corners=a), [x]
            )
    a_mod = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    t_mod = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    assert repr(a_mod) == repr(t_mod)
    helper_test_op([(1, 2, 3, 4)], t_mod, a_mod)


def test_interpolate_mode_and_rank_errors_like_torch():
    for shape, mode in [
        ((1, 2, 4), "bilinear"),
        ((1, 2, 4, 4), "linear"),
        ((1, 2, 4, 4), "trilinear"),
    ]:
        helper_test_exception(
            [shape],
            lambda x, m=mode: TF.interpolate(x, scale_factor=2, mode=m),
            lambda x, m=mode: F.interpolate(x, scale_factor=2, mode=m),
            exact=NotImplementedError,
            match=[f"{len(shape)}D", mode],
        )
    helper_test_exception(
        [(1, 2, 4, 4)],
        lambda x: TF.interpolate(x, size=3, mode="area", align_corners=True),
        lambda x: F.interpolate(x, size=3, mode="area", align_corners=True),
        exact=ValueError,
        match=["align_corners"],
    )


# ------------------------------------------------------------------ distances


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1), (2.0, -1)])
def test_normalize_matches_torch(p, dim, dtype):
    helper_test_op(
        [(4, 3)],
        lambda x: TF.normalize(x, p=p, dim=dim),
        lambda x: F.normalize(x, p=p, dim=dim),
        dtype=dtype,
    )


def test_normalize_zero_vector_and_bad_dim_like_torch():
    helper_test_op(None, TF.normalize, F.normalize, arrays=[np.array([[0.0, 0.0], [3.0, 4.0]])])
    helper_test_exception(
        [(4, 3)],
        lambda x: TF.normalize(x, dim=2),
        lambda x: F.normalize(x, dim=2),
        exact=IndexError,
        match=["[-2, 1]", "2"],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shapes,dim",
    [([(5, 3), (5, 3)], 1), ([(5, 3), (1, 3)], 1), ([(4, 3, 2), (4, 3, 2)], 0), ([(3,), (3,)], 0)],
)
def test_cosine_similarity_matches_torch(shapes, dim, dtype):
    helper_test_op(
        shapes,
        lambda a, b: TF.cosine_similarity(a, b, dim=dim),
        lambda a, b: F.cosine_similarity(a, b, dim=dim),
        dtype=dtype,
    )


def test_cosine_similarity_of_a_zero_vector_and_bad_shapes_like_torch():
    helper_test_op(
        None,
        TF.cosine_similarity,
        F.cosine_similarity,
        arrays=[np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[1.0, 1.0], [3.0, 1.0]])],
    )
    helper_test_exception(
        [(5, 3), (4, 3)], TF.cosine_similarity, F.cosine_similarity, match=["(5, 3)", "(4, 3)"]
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"p": 1.0}, {"p": 3.0, "eps": 1e-3}, {"keepdim": True}])
def test_pairwise_distance_matches_torch(kw, dtype):
    helper_test_op(
        [(5, 3), (5, 3)],
        lambda a, b: TF.pairwise_distance(a, b, **kw),
        lambda a, b: F.pairwise_distance(a, b, **kw),
        dtype=dtype,
    )
    helper_test_op(
        [(3,), (3,)],
        lambda a, b: TF.pairwise_distance(a, b, **kw),
        lambda a, b: F.pairwise_distance(a, b, **kw),
        dtype=dtype,
    )


def test_distance_modules_match_torch():
    for a_mod, t_mod in [
        (nn.CosineSimilarity(), torch.nn.CosineSimilarity()),
        (nn.CosineSimilarity(dim=0, eps=1e-6), torch.nn.CosineSimilarity(dim=0, eps=1e-6)),
        (nn.PairwiseDistance(), torch.nn.PairwiseDistance()),
        (nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True)),
    ]:
        assert repr(a_mod) == repr(t_mod)
        helper_test_op([(4, 3), (4, 3)], t_mod, a_mod)


# ------------------------------------------------------------------ one_hot, pad


def test_one_hot_matches_torch_and_its_errors():
    idx = np.array([[0, 2], [1, 3]])
    for n in [-1, 5]:
        out = F.one_hot(ax.tensor(idx), n)
        assert out.dtype == np.int64
        assert_equal(out.numpy(), TF.one_hot(torch.tensor(idx), n).numpy())
    for bad, n in [(np.array([0, 3]), 3), (np.array([-1, 0]), 3), (np.array([0.0, 1.0]), 2)]:
        helper_test_exception(
            None, lambda t, n=n: TF.one_hot(t, n), lambda t, n=n: F.one_hot(t, n), arrays=[bad]
        )


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_match_torch(mode):
    helper_test_op(
        [(1, 2, 4, 5)],
        lambda x: TF.pad(x, (1, 2, 2, 1), mode=mode),
        lambda x: F.pad(x, (1, 2, 2, 1), mode=mode),
    )
    helper_test_op(
        [(1, 2, 5)], lambda x: TF.pad(x, (2, 3), mode=mode), lambda x: F.pad(x, (2, 3), mode=mode)
    )


# ------------------------------------------------------------------ torch's keywords

KEYWORDS = [
    ("softmax", [(3, 4)], {"dim": 0, "dtype": torch.float64}, {"dim": 0, "dtype": ax.float64}),
    (
        "log_softmax",
        [(3, 4)],
        {"dim": -1, "dtype": torch.float64},
        {"dim": -1, "dtype": ax.float64},
    ),
    ("gelu", [(3, 4)], {"approximate": "tanh"}, None),
    ("silu", [(3, 4)], {}, None),
    ("dropout", [(3, 4)], {"p": 0.3, "training": False}, None),
    ("linear", [(3, 4), (2, 4), (2,)], {}, None),
    ("mse_loss", [(3, 4), (3, 4)], {"reduction": "sum"}, None),
    ("l1_loss", [(3, 4), (3, 4)], {"reduction": "none"}, None),
    ("smooth_l1_loss", [(3, 4), (3, 4)], {"beta": 0.5}, None),
    ("huber_loss", [(3, 4), (3, 4)], {"delta": 0.5}, None),
    ("softplus", [(3, 4)], {"beta": 2.0, "threshold": 1.0}, None),
    ("leaky_relu", [(3, 4)], {"negative_slope": 0.2}, None),
    ("elu", [(3, 4)], {"alpha": 0.5}, None),
]


@pytest.mark.parametrize("name,shapes,t_kw,a_kw", KEYWORDS, ids=[k[0] for k in KEYWORDS])
def test_common_functions_take_torch_keywords(name, shapes, t_kw, a_kw):
    a_kw = t_kw if a_kw is None else a_kw
    helper_test_op(
        shapes,
        lambda *xs: getattr(TF, name)(*xs, **t_kw),
        lambda *xs: getattr(F, name)(*xs, **a_kw),
        dtype=np.float32,
    )


def test_class_losses_take_torch_keywords():
    rng = np.random.default_rng(3)
    logits, target = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    target[::3] = 1
    weight = np.array([0.5, 1.0, 2.0, 1.5])
    for kw in [
        {"weight": weight},
        {"ignore_index": 1},
        {"label_smoothing": 0.2},
        {"weight": weight, "ignore_index": 1, "label_smoothing": 0.1},
    ]:
        helper_test_op(
            None,
            lambda x, t, kw=kw: TF.cross_entropy(
                x,
                t,
                **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()},
            ),
            lambda x, t, kw=kw: F.cross_entropy(
                x,
                t,
                **{
                    k: ax.tensor(v, device=x.device) if isinstance(v, np.ndarray) else v
                    for k, v in kw.items()
                },
            ),
            arrays=[logits, target],
        )
    helper_test_op(
        None,
        lambda x, t: TF.nll_loss(x, t, weight=torch.tensor(weight), ignore_index=1),
        lambda x, t: F.nll_loss(x, t, weight=ax.tensor(weight, device=x.device), ignore_index=1),
        arrays=[logits, target],
    )
    bits = rng.integers(0, 2, size=(6, 4)).astype(np.float64)
    pos = np.array([1.0, 3.0, 0.5, 2.0])
    helper_test_op(
        None,
        lambda x, y: TF.binary_cross_entropy_with_logits(
            x, y, pos_weight=torch.tensor(pos), weight=torch.tensor(weight)
        ),
        lambda x, y: F.binary_cross_entropy_with_logits(
            x,
            y,
            pos_weight=ax.tensor(pos, device=x.device),
            weight=ax.tensor(weight, device=x.device),
        ),
        arrays=[logits, bits],
    )


def test_embedding_matches_torch():
    w = np.random.default_rng(4).normal(size=(6, 3))
    idx = np.array([[0, 5, 2], [2, 1, 0]])
    a_w, t_w = ax.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    a_out = F.embedding(ax.tensor(idx), a_w, padding_idx=2)
    t_out = TF.embedding(torch.tensor(idx), t_w, padding_idx=2)
    assert_close(a_out, t_out, rtol=0, atol=0)
    a_out.sum().backward()
    t_out.sum().backward()
    assert_close(a_w.grad, t_w.grad, rtol=0, atol=0)


def test_upsampling_2d_modules_match_torch():
    for a_mod, t_mod in [
        (nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)),
        (nn.UpsamplingNearest2d(size=(5, 7)), torch.nn.UpsamplingNearest2d(size=(5, 7))),
    ]:
        assert repr(a_mod) == repr(t_mod)
        helper_test_op([(1, 2, 3, 4)], t_mod, a_mod)


# ------------------------------------------------------------------ gumbel_softmax


def test_gumbel_softmax_samples_the_categorical_distribution():
    probs = np.array([0.1, 0.2, 0.7])
    logits = ax.tensor(np.tile(np.log(probs), (4000, 1)), requires_grad=True)
    ax.manual_seed(0)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert_close(soft.sum(1), np.ones(4000), rtol=1e-12, atol=1e-12)  # on the simplex
    ax.manual_seed(0)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    h = hard.detach().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(1) == 1).all()  # one-hot rows
    assert_equal(h.argmax(1), soft.detach().numpy().argmax(1))  # same draw
    freq = h.mean(0)
    assert np.abs(freq - probs).max() < 0.03, freq  # argmax of logits + Gumbel noise ~ probs
    # straight-through: the gradient of the hard sample is the soft sample's
    w = np.random.default_rng(1).normal(size=(4000, 3))
    (hard * ax.tensor(w)).sum().backward()
    g_hard = logits.grad.numpy().copy()
    logits.grad = None
    (soft * ax.tensor(w)).sum().backward()
    assert_close(g_hard, logits.grad, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ affine_grid, grid_sample

GRID = np.random.default_rng(9).uniform(-1.3, 1.3, size=(2, 3, 6, 2))  # some points outside


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_matches_torch(mode, padding_mode, align_corners, dtype):
    x = np.random.default_rng(10).normal(size=(2, 3, 4, 5))
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    helper_test_op(
        None,
        lambda a, g: TF.grid_sample(a, g, **kw),
        lambda a, g: F.grid_sample(a, g, **kw),
        arrays=[x, GRID],
        dtype=dtype,
    )


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_gradcheck(padding_mode):
    x = ax.tensor(np.random.default_rng(11).normal(size=(1, 2, 3, 4)), requires_grad=True)
    g = ax.tensor(
        np.random.default_rng(12).uniform(-1.2, 1.2, size=(1, 2, 3, 2)), requires_grad=True
    )
    assert ax.gradcheck(
        lambda a, b: F.grid_sample(a, b, padding_mode=padding_mode, align_corners=False), [x, g]
    )


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_and_a_spatial_transformer_match_torch(align_corners):
    theta = np.random.default_rng(13).normal(size=(2, 2, 3)) * 0.5 + [[1, 0, 0], [0, 1, 0]]
    helper_test_op(
        None,
        lambda t: TF.affine_grid(t, (2, 3, 4, 5), align_corners=align_corners),
        lambda t: F.affine_grid(t, (2, 3, 4, 5), align_corners=align_corners),
        arrays=[theta],
    )
    x = np.random.default_rng(14).normal(size=(2, 3, 6, 7))

    def stn(lib_f):  # the spatial transformer tutorial's forward: theta -> grid -> sample
        return lambda a, t: lib_f.grid_sample(
            a,
            lib_f.affine_grid(t, (2, 3, 4, 5), align_corners=align_corners),
            align_corners=align_corners,
        )

    helper_test_op(None, stn(TF), stn(F), arrays=[x, theta])
    helper_test_op(None, stn(TF), stn(F), arrays=[x, theta], dtype=np.float32)


def test_grid_sample_and_affine_grid_errors_and_warning_like_torch():
    x, theta = np.ones((2, 3, 4, 5)), np.zeros((2, 2, 3))
    with pytest.warns(UserWarning, match="align_corners=False"):
        grid = F.affine_grid(ax.tensor(theta), (2, 3, 4, 5))
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(ax.tensor(x), grid)
    helper_test_exception(
        None,
        lambda t: TF.affine_grid(t, (2, 3, 4, 5), align_corners=False),
        lambda t: F.affine_grid(t, (2, 3, 4, 5), align_corners=False),
        arrays=[np.zeros((2, 3, 3))],
        exact=ValueError,
        match=["(2, 3, 3)"],
    )
    g = np.zeros((1, 4, 5, 2))
    helper_test_exception(
        None,
        lambda a, b: TF.grid_sample(a, b, align_corners=False),
        lambda a, b: F.grid_sample(a, b, align_corners=False),
        arrays=[x, g],
        match=["[2, 3, 4, 5]", "[1, 4, 5, 2]"],
    )
    for kw in [{"mode": "foo"}, {"padding_mode": "foo"}]:
        helper_test_exception(
            None,
            lambda a, b, kw=kw: TF.grid_sample(a, b, **kw),
            lambda a, b, kw=kw: F.grid_sample(a, b, **kw),
            arrays=[x, np.zeros((2, 4, 5, 2))],
            exact=ValueError,
            match=["foo"],
        )


ANTIALIAS = [
    ((1, 2, 9, 13), {"size": (4, 5)}),
    ((1, 2, 9, 13), {"scale_factor": 0.3}),
    ((1, 2, 5, 4), {"size": (8, 7)}),
    ((1, 2, 6, 6), {"size": (1, 3)}),
]


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape,kw", ANTIALIAS, ids=[str(k) for _, k in ANTIALIAS])
def test_interpolate_antialias_matches_torch(shape, kw, mode, align_corners):
    def call(mod):
        return lambda x: mod.interpolate(
            x, mode=mode, align_corners=align_corners, antialias=True, **kw
        )

    helper_test_op([shape], call(TF), call(F))
    helper_test_op([shape], call(TF), call(F), dtype=np.float32)


def test_interpolate_antialias_only_for_4d_bilinear_and_bicubic_like_torch():
    for shape, mode in [
        ((1, 1, 4, 4), "nearest"),
        ((1, 1, 4), "linear"),
        ((1, 1, 1, 4, 4), "bilinear"),
    ]:
        helper_test_exception(
            [shape],
            lambda x, m=mode: TF.interpolate(x, scale_factor=2, mode=m, antialias=True),
            lambda x, m=mode: F.interpolate(x, scale_factor=2, mode=m, antialias=True),
            exact=ValueError,
            match=[mode],
        )


# ------------------------------------------------------------------ pdist, deprecated aliases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_pdist_matches_torch(p, dtype):
    helper_test_op([(5, 3)], lambda x: TF.pdist(x, p), lambda x: F.pdist(x, p), dtype=dtype)


def test_pdist_errors_like_torch():
    helper_test_exception([(2, 3, 4)], TF.pdist, F.pdist, match=["3D"])
    helper_test_exception(
        [(4, 3)], lambda x: TF.pdist(x, -1.0), lambda x: F.pdist(x, -1.0), match=["non-negative"]
    )


@pytest.mark.parametrize(
    "name,kw",
    [
        ("upsample", {"scale_factor": 2, "mode": "bilinear"}),
        ("upsample_nearest", {"size": (3, 5)}),
        ("upsample_bilinear", {"scale_factor": 2}),
    ],
)
def test_deprecated_upsample_functions_warn_and_match_torch(name, kw):
    x = np.random.default_rng(15).normal(size=(1, 2, 3, 4))
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
        out = getattr(F, name)(ax.tensor(x), **kw)
    with pytest.warns(UserWarning):
        expected = getattr(TF, name)(torch.tensor(x), **kw)
    assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_linear_cross_entropy_matches_torch():
    rng = np.random.default_rng(16)
    x, w, b = rng.normal(size=(6, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5,))
    target = rng.integers(0, 5, size=6)
    for kw in [{}, {"label_smoothing": 0.1, "reduction": "sum"}, {"ignore_index": 2}]:
        helper_test_op(
            None,
            lambda x, w, b, t, kw=kw: TF.linear_cross_entropy(x, w, t, linear_bias=b, **kw),
            lambda x, w, b, t, kw=kw: F.linear_cross_entropy(x, w, t, linear_bias=b, **kw),
            arrays=[x, w, b, target],
        )


@pytest.mark.parametrize(
    "mode,antialias",
    [("bilinear", False), ("bilinear", True), ("bicubic", False), ("bicubic", True)],
)
def test_interpolate_uint8_images_within_one_of_torch(mode, antialias):
    x = np.random.default_rng(18).integers(0, 256, size=(1, 3, 7, 9)).astype(np.uint8)
    for kw in [{"size": (12, 5)}, {"scale_factor": 1.5}]:
        out = F.interpolate(ax.tensor(x), mode=mode, antialias=antialias, **kw)
        expected = TF.interpolate(torch.tensor(x), mode=mode, antialias=antialias, **kw)
        assert out.dtype == np.uint8
        diff = np.abs(out.numpy().astype(int) - expected.numpy().astype(int))
        assert diff.max() <= 1 and diff.mean() < 0.5, (diff.max(), diff.mean())


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area"])
@pytest.mark.parametrize(
    "kw", [{"size": (2, 3, 4)}, {"size": (5, 7, 9)}, {"scale_factor": (1.5, 0.7, 2)}], ids=str
)
def test_interpolate_volumes_match_torch(mode, kw):
    helper_test_op(
        [(1, 2, 3, 4, 5)],
        lambda x: TF.interpolate(x, mode=mode, **kw),
        lambda x: F.interpolate(x, mode=mode, **kw),
    )
    a_mod, t_mod = (
        nn.Upsample(scale_factor=2, mode=mode),
        torch.nn.Upsample(scale_factor=2, mode=mode),
    )
    helper_test_op([(1, 2, 2, 3, 2)], t_mod, a_mod, dtype=np.float32)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"size": 3, "recompute_scale_factor": True}, "recompute_scale_factor"),
        ({"size": [3]}, "output size of [3]"),
        ({"size": (3, 4, 5)}, "output size of [3, 4, 5]"),
        ({"scale_factor": (2,)}, "scale_factor of shape [2.0]"),
    ],
    ids=str,
)
def test_interpolate_size_errors_like_torch(kw, match):
    helper_test_exception(
        [(1, 1, 4, 4)],
        lambda x: TF.interpolate(x, **kw),
        lambda x: F.interpolate(x, **kw),
        exact=ValueError,
        match=[match],
    )


GRID3 = np.random.default_rng(23).uniform(-1.3, 1.3, size=(2, 2, 3, 2, 3))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_volumes_match_torch(mode, padding_mode, align_corners):
    x = np.random.default_rng(24).normal(size=(2, 2, 3, 4, 5))
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    helper_test_op(
        None,
        lambda a, g: TF.grid_sample(a, g, **kw),
        lambda a, g: F.grid_sample(a, g, **kw),
        arrays=[x, GRID3],
    )


def test_volumetric_spatial_transformer_matches_torch_and_gradchecks():
    theta = np.random.default_rng(25).normal(size=(2, 3, 4)) * 0.3 + np.eye(3, 4)
    x = np.random.default_rng(26).normal(size=(2, 2, 3, 4, 5))

    def warp(lib_f):
        return lambda a, t: lib_f.grid_sample(
            a, lib_f.affine_grid(t, (2, 2, 2, 3, 4), align_corners=False), align_corners=False
        )

    helper_test_op(None, warp(TF), warp(F), arrays=[x, theta])
    helper_test_op(None, warp(TF), warp(F), arrays=[x, theta], dtype=np.float32)
    xa = ax.tensor(x[:1, :1], requires_grad=True)
    ga = ax.tensor(GRID3[:1, :1], requires_grad=True)
    assert ax.gradcheck(
        lambda a, g: F.grid_sample(a, g, padding_mode="border", align_corners=True), [xa, ga]
    )


def test_grid_sample_volume_errors_like_torch():
    x, g = np.zeros((2, 3, 4, 5, 6)), np.zeros((2, 2, 3, 4, 3))
    for args in [(x, g[..., :2]), (x[:, :, 0], g), (x, g[:, 0])]:
        helper_test_exception(
            None,
            lambda a, b: TF.grid_sample(a, b, align_corners=False),
            lambda a, b: F.grid_sample(a, b, align_corners=False),
            arrays=list(args),
            match=["grid_sampler()", "sizes"],
        )
    helper_test_exception(
        None,
        lambda t: TF.affine_grid(t, (2, 3, 4, 5, 6), align_corners=False),
        lambda t: F.affine_grid(t, (2, 3, 4, 5, 6), align_corners=False),
        arrays=[np.zeros((2, 2, 3))],
        exact=ValueError,
        match=["Nx3x4"],
    )
