"""The losses added for issue 13 against PyTorch: values and gradients of every input for
each reduction and option (float64 tight, float32 loose), module reprs, and torch's
exception classes (with the shapes named) on bad input. Targets are fixed-seed draws."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_close, assert_equal

REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float64, np.float32]
RNG = np.random.default_rng(7)
SIGNS = RNG.choice([-1.0, 1.0], size=(5,))
PROBS = RNG.dirichlet(np.ones(4), size=5)  # rows of a distribution, (5, 4)
COUNTS = RNG.integers(0, 6, size=(5, 4)).astype(np.float64)
BITS = RNG.integers(0, 2, size=(5, 4)).astype(np.float64)


def both(name, consts, **kwargs):
    """(torch fn, axon fn) calling ``name(*inputs, *consts, **kwargs)``; NumPy arrays among
    the constants and keyword values (targets, weights) become a tensor of each library,
    of the inputs' float dtype, on their device."""

    def call(lib, mod):
        def conv(v, like):
            return lib.tensor(v).to(like.device, like.dtype) if isinstance(v, np.ndarray) else v

        def fn(*xs):
            cs = [conv(c, xs[0]) for c in consts]
            kw = {k: conv(v, xs[0]) for k, v in kwargs.items()}
            return getattr(mod, name)(*xs, *cs, **kw)

        return fn

    return call(torch, TF), call(ax, F)


# case -> (function name, input shapes, constants appended after the inputs, kwargs)
CASES = {
    "margin_ranking": ("margin_ranking_loss", [(5,), (5,)], [SIGNS], {}),
    "margin_ranking_0.5": ("margin_ranking_loss", [(5,), (5,)], [SIGNS], {"margin": 0.5}),
    "hinge_embedding": ("hinge_embedding_loss", [(5,)], [SIGNS], {}),
    "hinge_embedding_2": ("hinge_embedding_loss", [(5,)], [SIGNS], {"margin": 2.0}),
    "soft_margin": ("soft_margin_loss", [(5, 4)], [np.sign(COUNTS - 2.5)], {}),
    "multilabel_soft_margin": ("multilabel_soft_margin_loss", [(5, 4)], [BITS], {}),
    "multilabel_soft_margin_w": ("multilabel_soft_margin_loss", [(5, 4)], [BITS], {"weight": "w4"}),
    "cosine_embedding": ("cosine_embedding_loss", [(5, 3), (5, 3)], [SIGNS], {}),
    "cosine_embedding_0.3": ("cosine_embedding_loss", [(5, 3), (5, 3)], [SIGNS], {"margin": 0.3}),
    "triplet": ("triplet_margin_loss", [(5, 3)] * 3, [], {}),
    "triplet_p1_swap": (
        "triplet_margin_loss",
        [(5, 3)] * 3,
        [],
        {"p": 1, "swap": True, "margin": 2.0},
    ),
    "triplet_p3": ("triplet_margin_loss", [(5, 3)] * 3, [], {"p": 3, "eps": 1e-3}),
    "poisson_log": ("poisson_nll_loss", [(5, 4)], [COUNTS], {}),
    "poisson_full": ("poisson_nll_loss", [(5, 4)], [COUNTS], {"full": True}),
    "poisson_rate": ("poisson_nll_loss", [(5, 4)], [COUNTS], {"log_input": False, "full": True}),
    "gaussian": ("gaussian_nll_loss", [(5, 4), (5, 4)], [], {}),
    "gaussian_full": ("gaussian_nll_loss", [(5, 4), (5, 4)], [], {"full": True}),
    "kl_div": ("kl_div", [(5, 4)], [PROBS], {}),
    "kl_div_log_target": ("kl_div", [(5, 4)], [np.log(PROBS)], {"log_target": True}),
}


def _run(case, reduction, dtype):
    name, shapes, consts, kw = CASES[case]
    kw = {k: (np.linspace(0.5, 2, 4) if v == "w4" else v) for k, v in kw.items()}
    t_fn, a_fn = both(name, consts, reduction=reduction, **kw)
    if name == "gaussian_nll_loss":  # inputs: mean, target, and a positive var
        arrays = [
            RNG.normal(size=(5, 4)),
            RNG.normal(size=(5, 4)),
            RNG.uniform(0.1, 2.0, size=(5, 4)),
        ]
        helper_test_op(None, t_fn, a_fn, arrays=arrays, dtype=dtype)
        return
    low, high = (0.2, 3.0) if case == "poisson_rate" else (-2.0, 2.0)  # a rate: positive
    helper_test_op(shapes, t_fn, a_fn, dtype=dtype, low=low, high=high)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES)
def test_loss_matches_torch(case, reduction, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's 'mean' warning, both sides
        _run(case, reduction, dtype)


def test_kl_div_batchmean_and_mean_warning_like_torch():
    helper_test_op(
        [(5, 4)],
        lambda x: TF.kl_div(x, torch.tensor(PROBS), reduction="batchmean"),
        lambda x: F.kl_div(x, ax.tensor(PROBS, device=x.device), reduction="batchmean"),
    )
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(ax.tensor(np.log(PROBS)), ax.tensor(PROBS))
    with pytest.raises(ValueError, match="bogus"):
        F.kl_div(ax.tensor(PROBS), ax.tensor(PROBS), reduction="bogus")


def test_kl_div_target_gradient_matches_torch():
    helper_test_op(
        None,
        lambda x, t: TF.kl_div(x, t, reduction="sum"),
        lambda x, t: F.kl_div(x, t, reduction="sum"),
        arrays=[np.log(PROBS[::-1]), PROBS],
    )


def test_gaussian_nll_var_broadcasting_like_torch():
    mean, target = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 4))
    for var in [
        RNG.uniform(0.5, 2, size=(5,)),
        RNG.uniform(0.5, 2, size=(5, 1)),
        RNG.uniform(0.5, 2, size=(1, 4)),
    ]:
        helper_test_op(None, TF.gaussian_nll_loss, F.gaussian_nll_loss, arrays=[mean, target, var])
    # a float var, and a var below eps: clamped in value, its gradient passes through
    helper_test_op(
        None,
        lambda m, t: TF.gaussian_nll_loss(m, t, 0.7),
        lambda m, t: F.gaussian_nll_loss(m, t, 0.7),
        arrays=[mean, target],
    )
    tiny = np.full((5, 4), 1e-9)
    helper_test_op(
        None, TF.gaussian_nll_loss, F.gaussian_nll_loss, arrays=[mean, target, tiny], rtol=1e-6
    )


def test_gaussian_nll_bad_var_raises_like_torch():
    helper_test_exception(
        None,
        TF.gaussian_nll_loss,
        F.gaussian_nll_loss,
        exact=ValueError,
        arrays=[np.ones((5, 4)), np.ones((5, 4)), np.ones(3)],
        match=["(3,)", "(5, 4)"],
    )
    helper_test_exception(
        None,
        TF.gaussian_nll_loss,
        F.gaussian_nll_loss,
        exact=ValueError,
        arrays=[np.ones((2, 2)), np.ones((2, 2)), -np.ones((2, 2))],
        match=["negative"],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(reduction, dtype):
    # targets listed first, ended by -1; a row with no target; a 1-D input
    target = np.array([[3, 0, -1, 1], [1, -1, 2, 2], [-1, 1, 1, 1], [0, 1, 2, 3]])
    t_fn, a_fn = both("multilabel_margin_loss", [], reduction=reduction)
    helper_test_op(None, t_fn, a_fn, arrays=[RNG.normal(size=(4, 4)), target], dtype=dtype)
    helper_test_op(
        None,
        TF.multilabel_margin_loss,
        F.multilabel_margin_loss,
        arrays=[RNG.normal(size=(4,)), np.array([2, 0, -1, 3])],
    )
    helper_test_exception(
        None,
        TF.multilabel_margin_loss,
        F.multilabel_margin_loss,
        arrays=[np.ones((2, 3)), np.zeros((2, 4), dtype=np.int64)],
        match=["[2, 4]", "[2, 3]"],
    )


def test_kinks_of_margin_losses_match_torch():
    # margin - x = 0 exactly, 1 - (x1 - x2) = 0 exactly, margin + d_pos - d_neg = 0
    helper_test_op(
        None,
        lambda x, y: TF.hinge_embedding_loss(x, y, margin=1.0),
        lambda x, y: F.hinge_embedding_loss(x, y, margin=1.0),
        arrays=[np.array([1.0, 1.0, 0.5]), np.array([-1.0, 1.0, -1.0])],
    )
    helper_test_op(
        None,
        lambda a, b, y: TF.margin_ranking_loss(a, b, y, margin=1.0),
        lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=1.0),
        arrays=[np.array([2.0, 0.0]), np.array([1.0, 0.0]), np.array([1.0, -1.0])],
    )
    x = np.array([[0.5, 0.5, 1.5, -1.0]])
    helper_test_op(
        None,
        lambda x, t: TF.multilabel_margin_loss(x, t),
        lambda x, t: F.multilabel_margin_loss(x, t),
        arrays=[x, np.array([[2, -1, 0, 0]])],
    )


def test_bad_shapes_raise_like_torch():
    helper_test_exception(
        [(5, 2), (5,), (5,)],
        TF.margin_ranking_loss,
        F.margin_ranking_loss,
        match=["(5, 2)", "(5,)"],
    )
    helper_test_exception(
        [(5, 3), (5, 3), (5, 3)],
        TF.cosine_embedding_loss,
        F.cosine_embedding_loss,
        match=["(5, 3)"],
    )
    helper_test_exception(
        [(5, 3), (5,), (5, 3)],
        TF.triplet_margin_loss,
        F.triplet_margin_loss,
        match=["anchor 2D", "positive 1D"],
    )


# ------------------------------------------------------------------ modules

MODULES = [
    (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"), "kl"),
    (
        nn.KLDivLoss(reduction="sum", log_target=True),
        torch.nn.KLDivLoss(reduction="sum", log_target=True),
        "kl_log",
    ),
    (nn.PoissonNLLLoss(), torch.nn.PoissonNLLLoss(), "counts"),
    (
        nn.PoissonNLLLoss(full=True, reduction="sum"),
        torch.nn.PoissonNLLLoss(full=True, reduction="sum"),
        "counts",
    ),
    (nn.SoftMarginLoss(), torch.nn.SoftMarginLoss(), "signs"),
    (nn.MultiLabelSoftMarginLoss(), torch.nn.MultiLabelSoftMarginLoss(), "bits"),
    (
        nn.MultiLabelSoftMarginLoss(weight=ax.tensor([1.0, 2.0, 0.5, 1.0], dtype=ax.float64)),
        torch.nn.MultiLabelSoftMarginLoss(
            weight=torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64)
        ),
        "bits",
    ),
    (nn.HingeEmbeddingLoss(margin=0.5), torch.nn.HingeEmbeddingLoss(margin=0.5), "signs"),
]
TARGETS = {
    "kl": PROBS,
    "kl_log": np.log(PROBS),
    "counts": COUNTS,
    "signs": np.sign(COUNTS - 2.5),
    "bits": BITS,
}


@pytest.mark.parametrize("a_mod,t_mod,kind", MODULES, ids=[repr(m[1]) for m in MODULES])
def test_two_input_module_matches_torch(a_mod, t_mod, kind):
    assert repr(a_mod) == repr(t_mod)
    target = TARGETS[kind]
    helper_test_op(
        [(5, 4)],
        lambda x: t_mod(x, torch.tensor(target)),
        lambda x: a_mod.to(x.device)(x, ax.tensor(target, device=x.device)),
    )


THREE_INPUT = [
    (nn.MarginRankingLoss(0.2), torch.nn.MarginRankingLoss(0.2), [(5,), (5,)], SIGNS),
    (nn.CosineEmbeddingLoss(0.1), torch.nn.CosineEmbeddingLoss(0.1), [(5, 3), (5, 3)], SIGNS),
    (
        nn.TripletMarginLoss(p=1.0, swap=True),
        torch.nn.TripletMarginLoss(p=1.0, swap=True),
        [(5, 3)] * 3,
        None,
    ),
    (
        nn.GaussianNLLLoss(full=True),
        torch.nn.GaussianNLLLoss(full=True),
        [(5, 4)] * 2,
        np.full((5, 4), 0.8),
    ),
]


@pytest.mark.parametrize(
    "a_mod,t_mod,shapes,extra", THREE_INPUT, ids=[repr(m[1]) for m in THREE_INPUT]
)
def test_three_input_module_matches_torch(a_mod, t_mod, shapes, extra):
    assert repr(a_mod) == repr(t_mod)
    if extra is None:
        helper_test_op(shapes, t_mod, a_mod)
    else:  # the target (or the variance) as a constant last argument
        helper_test_op(
            shapes,
            lambda *xs: t_mod(*xs, torch.tensor(extra)),
            lambda *xs: a_mod(*xs, ax.tensor(extra, device=xs[0].device)),
        )


def test_module_reprs_and_argument_checks():
    assert repr(nn.MultiLabelMarginLoss()) == repr(torch.nn.MultiLabelMarginLoss())
    with pytest.raises(ValueError, match="margin"):
        torch.nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="margin"):
        nn.TripletMarginLoss(margin=0.0)


# ------------------------------------------------------------------ CTC

T_, N_, C_ = 12, 4, 5
CTC_TARGETS = np.array([[1, 2, 2, 3], [4, 4, 1, 0], [3, 1, 0, 0], [0, 0, 0, 0]])  # repeats
CTC_IN_LEN = np.array([12, 10, 8, 12])
CTC_TGT_LEN = np.array([4, 3, 2, 0])  # and an empty target


def _ctc(lib, mod, concatenated=False, **kw):
    """ctc_loss of log_softmax(x) (the way it is used), targets padded or concatenated."""

    def fn(x):
        if concatenated:
            tg = np.concatenate([row[:n] for row, n in zip(CTC_TARGETS, CTC_TGT_LEN, strict=True)])
        else:
            tg = CTC_TARGETS
        return mod.ctc_loss(
            x.log_softmax(2), lib.tensor(tg), lib.tensor(CTC_IN_LEN), lib.tensor(CTC_TGT_LEN), **kw
        )

    return fn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("concatenated", [False, True])
def test_ctc_loss_matches_torch(reduction, concatenated, dtype):
    helper_test_op(
        [(T_, N_, C_)],
        _ctc(torch, TF, concatenated, reduction=reduction),
        _ctc(ax, F, concatenated, reduction=reduction),
        dtype=dtype,
    )


def test_ctc_gradient_with_respect_to_log_probs_is_torchs():
    # torch's backward w.r.t. log_probs is exp(lp) - occupancy (the gradient through the
    # log_softmax that made lp): compared directly on log-probabilities, with a blank of 2
    lp = np.log(np.random.default_rng(5).dirichlet(np.ones(C_), size=(T_, N_)))
    targets = np.where(CTC_TARGETS == 2, 0, CTC_TARGETS)
    helper_test_op(
        None,
        lambda x: TF.ctc_loss(
            x,
            torch.tensor(targets),
            torch.tensor(CTC_IN_LEN),
            torch.tensor(CTC_TGT_LEN),
            blank=2,
            reduction="sum",
        ),
        lambda x: F.ctc_loss(
            x,
            ax.tensor(targets),
            ax.tensor(CTC_IN_LEN),
            ax.tensor(CTC_TGT_LEN),
            blank=2,
            reduction="sum",
        ),
        arrays=[lp],
    )


def test_ctc_gradcheck_through_log_softmax():
    x = ax.tensor(np.random.default_rng(6).normal(size=(6, 2, 4)), requires_grad=True)
    assert ax.gradcheck(
        lambda t: F.ctc_loss(
            t.log_softmax(2), ax.tensor([[1, 1, 2], [3, 0, 0]]), [6, 5], [3, 1], reduction="sum"
        ),
        [x],
    )


def test_ctc_zero_infinity_and_impossible_alignments_like_torch():
    # sample 0 needs 5 frames (1, 1, blank, 1 ...) but has 3: an infinite loss
    x = np.random.default_rng(8).normal(size=(4, 2, 3))
    targets, in_len, tgt_len = np.array([[1, 1, 1], [2, 1, 0]]), [3, 4], [3, 2]

    def t_fn(x, **kw):
        return TF.ctc_loss(x.log_softmax(2), torch.tensor(targets), in_len, tgt_len, **kw)

    def a_fn(x, **kw):
        return F.ctc_loss(x.log_softmax(2), ax.tensor(targets), in_len, tgt_len, **kw)

    none = a_fn(ax.tensor(x), reduction="none")
    assert np.isinf(none.numpy()[0]) and np.isfinite(none.numpy()[1])
    assert np.isinf(t_fn(torch.tensor(x), reduction="none").numpy()[0])
    # without zero_infinity the impossible sample's gradient is NaN in both (where torch's is)
    xa, xt = ax.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a_fn(xa, reduction="sum").backward()
    t_fn(xt, reduction="sum").backward()
    assert_equal(np.isnan(xa.grad.numpy()), np.isnan(xt.grad.numpy()))
    assert np.isnan(xt.grad.numpy()).any()
    for reduction in REDUCTIONS:
        helper_test_op(
            [(4, 2, 3)],
            lambda x, r=reduction: t_fn(x, reduction=r, zero_infinity=True),
            lambda x, r=reduction: a_fn(x, reduction=r, zero_infinity=True),
            arrays=[x],
        )


def test_ctc_unbatched_and_module_match_torch():
    tg = np.array([1, 3, 3])
    helper_test_op(
        [(7, 4)],
        lambda x: TF.ctc_loss(
            x.log_softmax(1), torch.tensor(tg), torch.tensor(7), torch.tensor(3), reduction="none"
        ),
        lambda x: F.ctc_loss(
            x.log_softmax(1), ax.tensor(tg), ax.tensor(7), ax.tensor(3), reduction="none"
        ),
    )
    a_mod, t_mod = (
        nn.CTCLoss(blank=4, zero_infinity=True),
        torch.nn.CTCLoss(blank=4, zero_infinity=True),
    )
    assert repr(a_mod) == repr(t_mod)
    helper_test_op(
        [(T_, N_, C_)],
        lambda x: t_mod(
            x.log_softmax(2),
            torch.tensor(CTC_TARGETS),
            torch.tensor(CTC_IN_LEN),
            torch.tensor(CTC_TGT_LEN),
        ),
        lambda x: a_mod(
            x.log_softmax(2), ax.tensor(CTC_TARGETS), ax.tensor(CTC_IN_LEN), ax.tensor(CTC_TGT_LEN)
        ),
        dtype=np.float32,
    )


@pytest.mark.parametrize(
    "targets,in_len,tgt_len,blank,match",
    [
        (CTC_TARGETS, [13, 10, 8, 12], CTC_TGT_LEN, 0, "at most 12"),
        (CTC_TARGETS, CTC_IN_LEN, [5, 3, 2, 0], 0, "at least 5"),
        (CTC_TARGETS, [12, 10], CTC_TGT_LEN, 0, "input_lengths must be of size"),
        (CTC_TARGETS, CTC_IN_LEN, [4, 3], 0, "target_lengths must be of size"),
        (CTC_TARGETS, CTC_IN_LEN, CTC_TGT_LEN, 5, "blank"),
        (np.array([1, 2, 3]), CTC_IN_LEN, CTC_TGT_LEN, 0, "size 9"),
    ],
)
def test_ctc_bad_arguments_raise_like_torch(targets, in_len, tgt_len, blank, match):
    def call(lib, mod):
        return lambda x: mod.ctc_loss(
            x, lib.tensor(targets), lib.tensor(in_len), lib.tensor(tgt_len), blank=blank
        )

    helper_test_exception([(T_, N_, C_)], call(torch, TF), call(ax, F), match=[match])


def test_triplet_margin_with_distance_loss_matches_torch():
    def cos_dist(lib_f):
        return lambda a, b: 1 - lib_f.cosine_similarity(a, b)

    for reduction in REDUCTIONS:
        for t_d, a_d, swap in [(None, None, False), (cos_dist(TF), cos_dist(F), True)]:
            helper_test_op(
                [(5, 3)] * 3,
                lambda *xs, d=t_d, s=swap, r=reduction: TF.triplet_margin_with_distance_loss(
                    *xs, distance_function=d, swap=s, reduction=r, margin=0.7
                ),
                lambda *xs, d=a_d, s=swap, r=reduction: F.triplet_margin_with_distance_loss(
                    *xs, distance_function=d, swap=s, reduction=r, margin=0.7
                ),
            )
    a_mod, t_mod = nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss()
    assert repr(a_mod) == repr(t_mod)
    helper_test_op([(5, 3)] * 3, t_mod, a_mod)
    with pytest.raises(ValueError, match="margin"):
        F.triplet_margin_with_distance_loss(ax.ones(2, 3), ax.ones(2, 3), ax.ones(2, 3), margin=0.0)


def test_nllloss2d_is_a_deprecated_nllloss_like_torch():
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        t_mod = torch.nn.NLLLoss2d(ignore_index=1)
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        a_mod = nn.NLLLoss2d(ignore_index=1)
    assert repr(a_mod) == repr(t_mod)
    target = np.random.default_rng(17).integers(0, 3, size=(2, 4, 5))
    helper_test_op(
        [(2, 3, 4, 5)],
        lambda x: t_mod(x, torch.tensor(target)),
        lambda x: a_mod(x, ax.tensor(target, device=x.device)),
    )


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"bias": True, "label_smoothing": 0.1},
        {"out_features": (3,), "bias": True, "ignore_index": 1},
        {"reduction": "none", "weight": np.linspace(0.5, 2, 5)},
    ],
    ids=str,
)
def test_linear_cross_entropy_loss_module_matches_torch(kw):
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    a_kw = {k: ax.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    torch.manual_seed(0)
    t_mod = torch.nn.LinearCrossEntropyLoss(4, 5, dtype=torch.float64, **t_kw)
    a_mod = nn.LinearCrossEntropyLoss(4, 5, dtype=ax.float64, **a_kw)
    assert repr(a_mod) == repr(t_mod)
    assert list(a_mod.state_dict()) == list(t_mod.state_dict())
    a_mod.load_state_dict({k: v.numpy() for k, v in t_mod.state_dict().items()})
    rng = np.random.default_rng(22)
    shape = (6,) + tuple(kw.get("out_features", ()))
    x, target = rng.normal(size=(6, 4)), rng.integers(0, 5, size=shape)
    xa, xt = ax.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a_out, t_out = a_mod(xa, ax.tensor(target)), t_mod(xt, torch.tensor(target))
    assert_close(a_out, t_out, rtol=1e-10, atol=1e-12)
    a_out.sum().backward()
    t_out.sum().backward()
    assert_close(xa.grad, xt.grad, rtol=1e-10, atol=1e-12)
    assert_close(a_mod.linear.weight.grad, t_mod.linear.weight.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name",
    [
        "soft_margin_loss",
        "multilabel_soft_margin_loss",
        "kl_div",
        "poisson_nll_loss",
        "hinge_embedding_loss",
    ],
)
def test_targets_broadcast_like_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's 'mean' warning
        for target in [np.array([0.2, 1.0, 0.7, 1.0]), np.full((5, 1), 0.5)]:
            t_fn, a_fn = both(name, [target], reduction="none")
            helper_test_op([(5, 4)], t_fn, a_fn)
        t_fn, a_fn = both(name, [np.ones(3)])
        helper_test_exception([(5, 4)], t_fn, a_fn, match=[name, "(3,)", "(5, 4)"])
