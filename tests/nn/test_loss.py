"""Losses (functional and modules) against PyTorch: values and gradients for every
reduction and option, float64 tight and float32 loose; ``gradcheck`` of the fused ops;
one graph node per loss; clear errors on bad shapes."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from tests.autograd.parity import helper_test_op
from tests.helpers import assert_close

REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float64, np.float32]


def pair(name: str, **kwargs):
    """(torch fn, axon fn) calling ``name`` with ``kwargs``; NumPy values in ``kwargs``
    (weights) become tensors of each library, on the device of the first input."""

    def call(lib, mod):
        def fn(*xs):
            kw = {
                k: lib.tensor(v, device=xs[0].device) if isinstance(v, np.ndarray) else v
                for k, v in kwargs.items()
            }
            return getattr(mod, name)(*xs, **kw)

        return fn

    return call(torch, TF), call(ax, F)


def rng():
    return np.random.default_rng(1)


def class_targets(shape, C, ignore=None, dtype=np.int64):
    t = rng().integers(0, C, size=shape)
    if ignore is not None and t.size > 1:
        t.flat[::3] = ignore
    return t.astype(dtype)


# ================================================================ regression losses


REGRESSION = {
    "mse_loss": {},
    "l1_loss": {},
    "huber_loss": {},
    "huber_loss_0.5": {"delta": 0.5},
    "smooth_l1_loss": {},
    "smooth_l1_loss_0.3": {"beta": 0.3},
    "smooth_l1_loss_0": {"beta": 0.0},
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", REGRESSION)
def test_regression_loss_matches_torch(case, dtype):
    for reduction in REDUCTIONS:
        name = case.rsplit("_", 1)[0] if case[-1].isdigit() else case
        t_fn, a_fn = pair(name, reduction=reduction, **REGRESSION[case])
        helper_test_op([(4, 5), (4, 5)], t_fn, a_fn, dtype=dtype)
        # differences exactly 0 and exactly at the huber / smooth-l1 switch points
        x = np.array([[0.0, 0.3, 0.5, 1.0, -1.0, 2.0, -0.5, 0.0]])
        y = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7]])
        helper_test_op(None, t_fn, a_fn, arrays=[x, y], dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_loss_matches_torch(name, reduction):
    w = rng().uniform(0.1, 2.0, size=(3, 4))
    helper_test_op([(3, 4), (3, 4)], *pair(name, reduction=reduction, weight=w))


def test_regression_loss_broadcasts_with_torchs_warning():
    t_fn, a_fn = pair("mse_loss")
    with pytest.warns(UserWarning, match="target size"):
        out = a_fn(ax.ones(3, 1), ax.zeros(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(out, t_fn(torch.ones(3, 1), torch.zeros(2)))
        helper_test_op([(3, 1), (4,)], t_fn, a_fn)


def test_regression_loss_errors():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        F.mse_loss(ax.ones(3), ax.ones(2))
    with pytest.raises(ValueError, match="weight"):
        F.l1_loss(ax.ones(3), ax.ones(3), weight=ax.ones(2))
    with pytest.raises(RuntimeError, match="delta"):
        F.huber_loss(ax.ones(3), ax.ones(3), delta=0.0)
    with pytest.raises(RuntimeError, match="beta"):
        F.smooth_l1_loss(ax.ones(3), ax.ones(3), beta=-1.0)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(ax.ones(3), ax.ones(3), reduction="foo")


def test_legacy_size_average_and_reduce():
    x, y = np.arange(4.0), np.zeros(4)
    for sa, red in [(False, None), (None, False), (True, True)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = TF.mse_loss(torch.tensor(x), torch.tensor(y), sa, red)
        with pytest.warns(UserWarning, match="deprecated"):
            out = F.mse_loss(ax.tensor(x), ax.tensor(y), sa, red)
        assert_close(out, expected)


# ================================================================ binary cross-entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(weighted, dtype):
    for reduction in REDUCTIONS:
        kw = {"weight": rng().uniform(0.5, 2, size=(5,)).astype(dtype)} if weighted else {}
        p = rng().uniform(0.02, 0.98, size=(4, 5))
        t = rng().uniform(0, 1, size=(4, 5))
        helper_test_op(
            None,
            *pair("binary_cross_entropy", reduction=reduction, **kw),
            arrays=[p, t],
            dtype=dtype,
        )


def test_bce_clamps_log_at_probabilities_0_and_1():
    p = np.array([0.0, 1.0, 1.0, 0.0, 1e-30])
    t = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    for dtype in DTYPES:
        for reduction in REDUCTIONS:
            helper_test_op(
                None,
                *pair("binary_cross_entropy", reduction=reduction),
                arrays=[p, t],
                dtype=dtype,
                requires_grad=[True, False],
            )
    out = F.binary_cross_entropy(ax.tensor(p), ax.tensor(t), reduction="none")
    assert_close(out[:4], [0.0, 0.0, 100.0, 100.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch(weights, dtype):
    for reduction in REDUCTIONS:
        kw = {}
        if weights in ("weight", "both"):
            kw["weight"] = rng().uniform(0.5, 2, size=(4, 1)).astype(dtype)
        if weights in ("pos_weight", "both"):
            kw["pos_weight"] = rng().uniform(0.5, 3, size=(5,)).astype(dtype)
        t_fn, a_fn = pair("binary_cross_entropy_with_logits", reduction=reduction, **kw)
        x = rng().uniform(-4, 4, size=(4, 5))
        t = rng().uniform(0, 1, size=(4, 5))
        helper_test_op(None, t_fn, a_fn, arrays=[x, t], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_is_stable_at_extreme_logits(dtype):
    x = np.array([100.0, -100.0, 100.0, -100.0, 30.0, -30.0, 0.0])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.0])
    for kw in ({}, {"pos_weight": np.array([2.5], dtype=dtype)}):
        for reduction in REDUCTIONS:
            t_fn, a_fn = pair("binary_cross_entropy_with_logits", reduction=reduction, **kw)
            helper_test_op(None, t_fn, a_fn, arrays=[x, t], dtype=dtype)
    loss = F.binary_cross_entropy_with_logits(
        ax.tensor(x, dtype=dtype), ax.tensor(t, dtype=dtype), reduction="none"
    )
    assert np.isfinite(loss.array).all()
    assert_close(loss[:4], [100.0, 100.0, 0.0, 0.0])


def test_bce_shape_and_range_errors():
    with pytest.raises(ValueError, match=r"\(1,\).*\(2,\)"):
        F.binary_cross_entropy(ax.tensor([0.5, 0.2]), ax.tensor([1.0]))
    with pytest.raises(ValueError, match=r"\(1,\).*\(2,\)"):
        F.binary_cross_entropy_with_logits(ax.tensor([0.5, 0.2]), ax.tensor([1.0]))
    with pytest.raises(ValueError, match=r"weight of shape \(3,\).*\(2, 2\)"):
        F.binary_cross_entropy(ax.full((2, 2), 0.5), ax.ones(2, 2), weight=ax.ones(3))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\).*\(2, 2\)"):
        F.binary_cross_entropy_with_logits(ax.ones(2, 2), ax.ones(2, 2), pos_weight=ax.ones(3))
    with pytest.raises(RuntimeError, match="input should be between 0 and 1"):
        F.binary_cross_entropy(ax.tensor([1.5]), ax.tensor([1.0]))
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        F.binary_cross_entropy(ax.tensor([0.5]), ax.tensor([1.5]))


# ================================================================ cross-entropy and NLL

CE_SHAPES = {
    "NC": ((6, 4), (6,)),
    "NCd": ((3, 4, 5), (3, 5)),
    "NCdd": ((2, 3, 2, 3), (2, 2, 3)),
    "C": ((5,), ()),
}


def ce_case(shape_key, weighted, ignore, smoothing, reduction, dtype):
    (xs, ts) = CE_SHAPES[shape_key]
    C = xs[1] if len(xs) > 1 else xs[0]
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if weighted:
        kw["weight"] = rng().uniform(0.2, 2.0, size=(C,)).astype(dtype)
    if ignore is not None:
        kw["ignore_index"] = ignore
    target = class_targets(ts, C, ignore=ignore if ignore is not None else None)
    x = rng().normal(0, 2, size=xs)
    helper_test_op(None, *pair("cross_entropy", **kw), arrays=[x, target], dtype=dtype)


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("ignore", [None, -100, 1])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", CE_SHAPES)
def test_cross_entropy_class_indices_match_torch(shape, weighted, ignore, smoothing):
    for reduction in REDUCTIONS:
        ce_case(shape, weighted, ignore, smoothing, reduction, np.float64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", ["NC", "NCd"])
def test_cross_entropy_class_indices_float32(shape, reduction):
    ce_case(shape, True, 1, 0.1, reduction, np.float32)
    ce_case(shape, False, None, 0.0, reduction, np.float32)


def test_cross_entropy_large_logits_and_all_ignored():
    x = np.array([[1000.0, -1000.0, 0.0], [-50.0, 50.0, 50.0]])
    helper_test_op(None, *pair("cross_entropy"), arrays=[x, np.array([1, 2])])
    helper_test_op(
        None,
        *pair("cross_entropy", label_smoothing=0.2),
        arrays=[x, np.array([1, 2])],
        dtype=np.float32,
    )
    # every target ignored: sum is 0, mean is 0/0 = nan, as in torch
    t = ax.tensor([-100, -100])
    assert F.cross_entropy(ax.tensor(x), t, reduction="sum").item() == 0.0
    assert np.isnan(F.cross_entropy(ax.tensor(x), t).item())


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3), (4,)])
def test_cross_entropy_probabilities_match_torch(shape, weighted, smoothing):
    for reduction in REDUCTIONS:
        C = shape[1] if len(shape) > 1 else shape[0]
        kw = {"reduction": reduction, "label_smoothing": smoothing}
        if weighted:
            kw["weight"] = rng().uniform(0.2, 2.0, size=(C,))
        x = rng().normal(0, 2, size=shape)
        q = rng().uniform(0, 1, size=shape)
        q /= q.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
        for dtype in DTYPES:
            if weighted:
                kw["weight"] = kw["weight"].astype(dtype)
            helper_test_op(None, *pair("cross_entropy", **kw), arrays=[x, q], dtype=dtype)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, 3])
@pytest.mark.parametrize("shape", ["NC", "NCd", "C"])
def test_nll_loss_matches_torch(shape, ignore, weighted):
    for reduction in REDUCTIONS:
        xs, ts = CE_SHAPES[shape]
        C = xs[1] if len(xs) > 1 else xs[0]
        kw = {"reduction": reduction}
        if weighted:
            kw["weight"] = rng().uniform(0.2, 2.0, size=(C,))
        if ignore is not None:
            kw["ignore_index"] = ignore
        x = np.log(rng().dirichlet(np.ones(C), size=xs[:1] + xs[2:] if len(xs) > 1 else None))
        x = np.moveaxis(x, -1, 1) if len(xs) > 1 else x
        t = class_targets(ts, C, ignore)
        for dtype in DTYPES:
            if weighted:
                kw["weight"] = kw["weight"].astype(dtype)
            helper_test_op(None, *pair("nll_loss", **kw), arrays=[x, t], dtype=dtype)


def test_cross_entropy_equals_log_softmax_then_nll():
    x = ax.randn(5, 4, requires_grad=True)
    t = ax.tensor([0, 3, 1, 1, 2])
    assert_close(F.cross_entropy(x, t), F.nll_loss(F.log_softmax(x, dim=1), t))


def test_cross_entropy_errors_name_both_shapes():
    x = ax.randn(4, 3)
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(5,\)"):
        F.cross_entropy(x, ax.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match=r"\(4, 3, 5\).*\(4, 6\)"):
        F.cross_entropy(ax.randn(4, 3, 5), ax.zeros(4, 6, dtype=ax.int64))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4,\)"):
        F.nll_loss(x, ax.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="float32"):
        F.cross_entropy(x, ax.zeros(4))  # floats of another shape than the input
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(x, ax.tensor([0, 1, 2, 5]))
    with pytest.raises(IndexError, match="Target -5 is out of bounds"):
        F.nll_loss(x, ax.tensor([0, 1, 2, -5]))
    with pytest.raises(RuntimeError, match="all 3 classes"):
        F.cross_entropy(x, ax.tensor([0, 1, 2, 0]), weight=ax.ones(2))
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(x, ax.rand(4, 3), ignore_index=1)
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(x, ax.tensor([0, 1, 2, 0]), label_smoothing=1.5)


# ================================================================ multi-margin (hinge)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.5, True), (2, 2.0, True)]
)
def test_multi_margin_loss_matches_torch(p, margin, weighted, dtype):
    for reduction in REDUCTIONS:
        kw = {"p": p, "margin": margin, "reduction": reduction}
        if weighted:
            kw["weight"] = rng().uniform(0.2, 2.0, size=(5,)).astype(dtype)
        x = rng().normal(0, 1, size=(6, 5))
        helper_test_op(
            None, *pair("multi_margin_loss", **kw), arrays=[x, class_targets(6, 5)], dtype=dtype
        )
        helper_test_op(
            None, *pair("multi_margin_loss", **kw), arrays=[x[0], np.array(3)], dtype=dtype
        )


def test_multi_margin_loss_errors():
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        F.multi_margin_loss(ax.randn(2, 3), ax.tensor([0, 1]), p=3)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        F.multi_margin_loss(ax.randn(2, 3), ax.tensor([0, 1, 1]))
    with pytest.raises(RuntimeError, match="out of range"):
        F.multi_margin_loss(ax.randn(2, 3), ax.tensor([0, 3]))


# ================================================================ fused ops


def _gradcheck_cases():
    r = rng()
    x = ax.tensor(r.normal(size=(4, 3, 2)), dtype=ax.float64, requires_grad=True)
    x2 = ax.tensor(r.normal(size=(5, 3)), dtype=ax.float64, requires_grad=True)
    t = ax.tensor([[0, 2], [1, -100], [2, 2], [0, 1]])
    w = ax.tensor([0.5, 2.0, 1.5], dtype=ax.float64)
    q = ax.tensor(r.dirichlet(np.ones(3), size=5), dtype=ax.float64, requires_grad=True)
    y = ax.tensor(r.normal(size=(5, 3)), dtype=ax.float64, requires_grad=True)
    p = ax.tensor(r.uniform(0.1, 0.9, size=(5, 3)), dtype=ax.float64, requires_grad=True)
    pt = ax.tensor(r.uniform(0.1, 0.9, size=(5, 3)), dtype=ax.float64, requires_grad=True)
    mt = ax.tensor([0, 2, 1, 1, 0])
    c = ax.tensor(r.uniform(0.5, 1.5, size=(4, 2)), dtype=ax.float64)
    return {
        "ce_indices": (lambda a: F.cross_entropy(a, t, weight=w, label_smoothing=0.1), [x]),
        # 'none' reduction seen through a weighted sum: a random upstream gradient
        "ce_indices_none": (
            lambda a: (F.cross_entropy(a, t, reduction="none", label_smoothing=0.1) * c).sum(),
            [x],
        ),
        "nll": (lambda a: F.nll_loss(a, t, weight=w, reduction="sum"), [x]),
        "ce_probabilities": (
            lambda a, b: F.cross_entropy(a, b, weight=w, label_smoothing=0.2),
            [x2, q],
        ),
        "bce_logits": (
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=w * 2),
            [x2, pt],
        ),
        "bce": (lambda a, b: F.binary_cross_entropy(a, b, weight=w), [p, pt]),
        "mse": (lambda a, b: F.mse_loss(a, b, reduction="sum"), [x2, y]),
        "l1": (lambda a, b: F.l1_loss(a, b), [x2, y]),
        "huber": (lambda a, b: F.huber_loss(a, b, delta=0.7), [x2, y]),
        "smooth_l1": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.6), [x2, y]),
        "multi_margin": (lambda a: F.multi_margin_loss(a, mt, p=2, weight=w), [x2]),
    }


@pytest.mark.parametrize("case", list(_gradcheck_cases()))
def test_fused_loss_gradcheck(case):
    fn, inputs = _gradcheck_cases()[case]
    assert ax.gradcheck(fn, inputs)


@pytest.mark.parametrize("case", list(_gradcheck_cases()))
def test_loss_is_one_node_and_backward_can_run_twice(case):
    fn, inputs = _gradcheck_cases()[case]
    out = fn(*inputs)
    node = out.grad_fn
    while type(node).__module__ != "axon.autograd.ops.loss":  # past the sum of 'ce_indices_none'
        node = node.next_functions[0]
    assert all(p is None or isinstance(p, ax.Tensor) for p in node.next_functions), (
        f"{case}: the loss is not one fused node: {node.next_functions}"
    )
    g = np.full(node.out_shape, 0.5)
    g_before = g.copy()
    first = node.backward(g)
    second = node.backward(g)  # the same node again: nothing it saved was overwritten
    assert np.array_equal(g, g_before), "backward modified the incoming gradient"
    for a, b in zip(first, second, strict=True):
        if a is not None:
            assert np.array_equal(a, b)


@pytest.mark.parametrize("case", list(_gradcheck_cases()))
def test_float32_stays_float32_forward_and_backward(case):
    # a float64 temporary (a NumPy float64 scalar, bool * Python float) would slow every
    # step; the engine would hide it by casting the gradient back, so check the node itself
    fn, inputs = _gradcheck_cases()[case]
    inputs = [ax.tensor(x.array.astype(np.float32), requires_grad=True) for x in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(*inputs)  # the constants in fn are float64: the losses cast them
    node = out.grad_fn
    while type(node).__module__ != "axon.autograd.ops.loss":
        node = node.next_functions[0]
    grads = node.backward(np.full(node.out_shape, 0.5, dtype=np.float32))
    assert out.dtype == np.float32 or case == "ce_indices_none"  # that one times float64
    assert all(g.dtype == np.float32 for g in grads if g is not None), case


def test_fused_cross_entropy_is_fast_enough():
    # a (1024, 1000) batch: one node, no Python loop; forward + backward well under 1 s
    import time

    x = ax.randn(1024, 1000, requires_grad=True)
    t = ax.randint(0, 1000, (1024,))
    start = time.perf_counter()
    F.cross_entropy(x, t, label_smoothing=0.1).backward()
    assert time.perf_counter() - start < 1.0
    assert x.grad.dtype == np.float32


# ================================================================ loss modules

MODULES = [
    (nn.MSELoss, torch.nn.MSELoss, {}),
    (nn.L1Loss, torch.nn.L1Loss, {}),
    (nn.HuberLoss, torch.nn.HuberLoss, {"delta": 0.5}),
    (nn.SmoothL1Loss, torch.nn.SmoothL1Loss, {"beta": 0.5}),
    (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, {"pos_weight": np.array([1.0, 2, 3])}),
    (nn.BCELoss, torch.nn.BCELoss, {"weight": np.array([1.0, 2, 3])}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("a_cls,t_cls,kw", MODULES)
def test_elementwise_loss_modules_match_torch(a_cls, t_cls, kw, reduction):
    a_mod = a_cls(
        reduction=reduction,
        **{k: ax.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()},
    )
    t_mod = t_cls(
        reduction=reduction,
        **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()},
    )
    r = rng()
    x = r.uniform(0.05, 0.95, size=(4, 3))
    y = r.uniform(0, 1, size=(4, 3))
    helper_test_op(None, t_mod, lambda *xs: a_mod.to(xs[0].device)(*xs), arrays=[x, y])
    assert repr(a_mod) == repr(t_mod)
    assert sorted(a_mod.state_dict()) == sorted(t_mod.state_dict())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_loss_modules_match_torch(reduction):
    w = np.array([0.5, 1.0, 2.0, 1.5])
    x = rng().normal(size=(6, 4))
    t = class_targets(6, 4, ignore=2)
    cases = [
        (
            nn.CrossEntropyLoss(
                ax.tensor(w), ignore_index=2, reduction=reduction, label_smoothing=0.1
            ),
            torch.nn.CrossEntropyLoss(
                torch.tensor(w), ignore_index=2, reduction=reduction, label_smoothing=0.1
            ),
        ),
        (
            nn.NLLLoss(ax.tensor(w), ignore_index=2, reduction=reduction),
            torch.nn.NLLLoss(torch.tensor(w), ignore_index=2, reduction=reduction),
        ),
        (
            nn.MultiMarginLoss(p=2, margin=0.5, weight=ax.tensor(w), reduction=reduction),
            torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(w), reduction=reduction),
        ),
    ]
    for a_mod, t_mod in cases:
        tt = np.where(t == 2, 0, t) if isinstance(a_mod, nn.MultiMarginLoss) else t
        helper_test_op(None, t_mod, lambda *xs, m=a_mod: m.to(xs[0].device)(*xs), arrays=[x, tt])
        assert repr(a_mod) == repr(t_mod)
        assert list(a_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert nn.CrossEntropyLoss().state_dict() == {}


def test_loss_module_rejects_bad_arguments():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
