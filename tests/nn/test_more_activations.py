"""The activations added for issue 13 against PyTorch: functions, modules, Tensor methods;
values and gradients in float64 (tight) and float32 (loose), the subgradients at every
kink, float64 ``gradcheck`` of the new ops, reprs, PReLU's parameter and RReLU's noise."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_close

# name in F / TF -> keyword arguments (the same in both)
FUNCTIONS = {
    "hardtanh": {},
    "hardtanh:2": {"min_val": -0.5, "max_val": 2.0},
    "relu6": {},
    "hardsigmoid": {},
    "hardswish": {},
    "selu": {},
    "celu": {},
    "celu:0.5": {"alpha": 0.5},
    "silu": {},
    "mish": {},
    "softsign": {},
    "logsigmoid": {},
    "tanhshrink": {},
    "softshrink": {},
    "softshrink:1": {"lambd": 1.0},
    "hardshrink": {},
    "hardshrink:0.2": {"lambd": 0.2},
    "threshold": {"threshold": 0.3, "value": -2.0},
    "softmin": {"dim": 1},
    "glu": {"dim": 1},
    "glu:last": {},
    "rrelu": {"lower": 0.1, "upper": 0.3},
    "elu": {},
    "leaky_relu": {},
}


def _fn(lib, case):
    name = case.split(":")[0]
    kwargs = FUNCTIONS[case]
    return lambda x: getattr(lib, name)(x, **kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", FUNCTIONS)
def test_function_matches_torch(case, dtype):
    helper_test_op([(3, 4, 2)], _fn(TF, case), _fn(F, case), dtype=dtype, low=-5, high=5)


# points where the derivative jumps: PyTorch's subgradient must be reproduced exactly
KINKS = {
    "hardtanh": [-1.0, 1.0, -1.5, 0.0, 1.5],
    "relu6": [0.0, 6.0, -1.0, 3.0, 7.0],
    "hardsigmoid": [-3.0, 3.0, 0.0, -4.0, 4.0],
    "hardswish": [-3.0, 3.0, 0.0, -4.0, 4.0],
    "selu": [0.0, -1.0, 1.0],
    "celu": [0.0, -1.0, 1.0],
    "softshrink": [-0.5, 0.5, 0.0, -1.0, 1.0],
    "hardshrink": [-0.5, 0.5, 0.0, -1.0, 1.0],
    "threshold": [0.3, 0.0, 1.0],
    "softsign": [0.0, -1.0, 2.0],
    "rrelu": [0.0, -1.0, 1.0],
}


@pytest.mark.parametrize("case", KINKS)
def test_subgradient_at_kinks_matches_torch(case):
    helper_test_op(
        None, _fn(TF, case), _fn(F, case), arrays=[np.array(KINKS[case])], upstream="ones"
    )


def test_prelu_function_per_channel_and_shared():
    helper_test_op([(2, 3, 4), (3,)], TF.prelu, F.prelu, low=-2, high=2)
    helper_test_op([(2, 3), (1,)], TF.prelu, F.prelu)
    helper_test_op([(5,), (1,)], TF.prelu, F.prelu, dtype=np.float32)
    helper_test_op(
        None,
        TF.prelu,
        F.prelu,
        arrays=[np.array([[0.0, -1.0, 2.0]]), np.array([0.3])],
        upstream="ones",
    )


def test_prelu_bad_channels_raise_like_torch():
    helper_test_exception([(2, 4), (3,)], TF.prelu, F.prelu, match=["3", "4"])


def test_glu_odd_dimension_raises_like_torch():
    helper_test_exception(
        [(2, 3)], lambda x: TF.glu(x, 1), lambda x: F.glu(x, 1), match=["dimension 1 is size 3"]
    )
    helper_test_exception([(2, 4)], lambda x: TF.glu(x, 2), lambda x: F.glu(x, 2), exact=IndexError)


def test_hardtanh_bounds_and_shrink_lambda_errors_like_torch():
    helper_test_exception(
        [(3,)],
        lambda x: TF.hardtanh(x, 1.0, 0.0),
        lambda x: F.hardtanh(x, 1.0, 0.0),
        exact=ValueError,
    )
    helper_test_exception(
        [(3,)], lambda x: TF.softshrink(x, -1.0), lambda x: F.softshrink(x, -1.0), match=["-1.0"]
    )
    with pytest.raises(AssertionError):
        torch.nn.Hardtanh(1.0, 0.0)
    with pytest.raises(AssertionError, match="greater than"):
        nn.Hardtanh(1.0, 0.0)


GRADCHECK = [
    "hardtanh",
    "relu6",
    "hardsigmoid",
    "hardswish",
    "selu",
    "celu:0.5",
    "silu",
    "mish",
    "logsigmoid",
    "softshrink",
    "hardshrink",
    "threshold",
]


@pytest.mark.parametrize("case", GRADCHECK)
def test_gradcheck_new_ops(case):
    # points away from the kinks: finite differences are only valid there
    x = np.array([-3.7, -2.2, -0.9, -0.2, 0.15, 0.8, 1.4, 2.6, 4.1, 6.8])
    assert ax.gradcheck(_fn(F, case), [ax.tensor(x, requires_grad=True)])


# ------------------------------------------------------------------ modules

MODULES = [
    (nn.Hardtanh(), torch.nn.Hardtanh()),
    (nn.Hardtanh(-2, 3, True), torch.nn.Hardtanh(-2, 3, True)),
    (nn.ReLU6(), torch.nn.ReLU6()),
    (nn.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
    (nn.Hardsigmoid(), torch.nn.Hardsigmoid()),
    (nn.Hardswish(), torch.nn.Hardswish()),
    (nn.SELU(), torch.nn.SELU()),
    (nn.SELU(inplace=True), torch.nn.SELU(inplace=True)),
    (nn.CELU(0.7), torch.nn.CELU(0.7)),
    (nn.SiLU(), torch.nn.SiLU()),
    (nn.Mish(), torch.nn.Mish()),
    (nn.Softsign(), torch.nn.Softsign()),
    (nn.Tanhshrink(), torch.nn.Tanhshrink()),
    (nn.LogSigmoid(), torch.nn.LogSigmoid()),
    (nn.Softmin(dim=1), torch.nn.Softmin(dim=1)),
    (nn.GLU(), torch.nn.GLU()),
    (nn.GLU(dim=1), torch.nn.GLU(dim=1)),
    (nn.Threshold(0.1, 20), torch.nn.Threshold(0.1, 20)),
    (nn.Softshrink(), torch.nn.Softshrink()),
    (nn.Hardshrink(0.3), torch.nn.Hardshrink(0.3)),
    (nn.RReLU(0.1, 0.3).eval(), torch.nn.RReLU(0.1, 0.3).eval()),
]
IDS = [repr(t) for _, t in MODULES]


@pytest.mark.parametrize("a_mod,t_mod", MODULES, ids=IDS)
def test_module_matches_torch(a_mod, t_mod):
    assert repr(a_mod) == repr(t_mod)
    if getattr(t_mod, "inplace", False):  # in place on a leaf: compare forward on a copy
        x = np.random.default_rng(0).uniform(-4, 4, (3, 4, 2))
        assert_close(a_mod(ax.tensor(x)), t_mod(torch.tensor(x)), rtol=1e-12, atol=1e-12)
        return
    helper_test_op([(3, 4, 2)], t_mod, a_mod, low=-4, high=4)


def test_more_reprs_match_torch():
    pairs = [
        (nn.RReLU(), torch.nn.RReLU()),
        (nn.RReLU(0.1, 0.3, True), torch.nn.RReLU(0.1, 0.3, True)),
        (nn.PReLU(), torch.nn.PReLU()),
        (nn.PReLU(3, 0.1), torch.nn.PReLU(3, 0.1)),
        (nn.SiLU(True), torch.nn.SiLU(True)),
        (nn.Softmin(), torch.nn.Softmin()),
    ]
    for a, t in pairs:
        assert repr(a) == repr(t)


def test_prelu_module_parameter_state_dict_and_gradient():
    a_mod, t_mod = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert list(a_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
    assert_close(a_mod.weight, t_mod.weight, rtol=0, atol=0)
    assert a_mod.weight.dtype == np.float32 and a_mod.weight.requires_grad
    x = np.random.default_rng(2).normal(size=(4, 3, 5)).astype(np.float32)
    a_out, t_out = a_mod(ax.tensor(x)), t_mod(torch.tensor(x))
    assert_close(a_out, t_out)
    a_out.sum().backward()
    t_out.sum().backward()
    assert_close(a_mod.weight.grad, t_mod.weight.grad, rtol=1e-5, atol=1e-5)
    t2 = torch.nn.PReLU(3)
    t2.load_state_dict({k: torch.tensor(v.numpy()) for k, v in a_mod.state_dict().items()})
    assert_close(t2.weight, t_mod.weight, rtol=0, atol=0)


def test_rrelu_training_draws_slopes_in_range_reproducibly():
    x = ax.full((2000,), -1.0, requires_grad=True)
    mod = nn.RReLU(0.1, 0.3)
    ax.manual_seed(0)
    y = mod(x)
    slopes = -y.array
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.01 and slopes.std() > 0.05  # spread, not one value
    y.sum().backward()
    assert_close(x.grad, slopes, rtol=0, atol=0)  # the gradient uses the same slopes
    ax.manual_seed(0)
    assert_close(mod(-ax.ones(2000)), y.detach(), rtol=0, atol=0)
    pos = ax.tensor([0.5, 2.0])
    assert_close(mod(pos), pos, rtol=0, atol=0)  # positive inputs pass unchanged


# ------------------------------------------------------------------ in-place and methods


@pytest.mark.parametrize(
    "name", ["relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_", "celu_", "rrelu_"]
)
def test_inplace_functions_modify_their_input(name):
    x_np = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    a, t = ax.tensor(x_np), torch.tensor(x_np)
    out = getattr(F, name)(a)
    getattr(TF, name)(t)
    assert out is a
    assert_close(a, t, rtol=1e-12, atol=1e-12)


def test_threshold_inplace_and_tensor_methods_match_torch():
    x_np = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    a, t = ax.tensor(x_np), torch.tensor(x_np)
    F.threshold_(a, 0.1, 9.0)
    TF.threshold_(t, 0.1, 9.0)
    assert_close(a, t, rtol=0, atol=0)
    for name in ["relu_", "sigmoid_", "tanh_"]:
        a, t = ax.tensor(x_np), torch.tensor(x_np)
        assert getattr(a, name)() is a
        getattr(t, name)()
        assert_close(a, t, rtol=1e-12, atol=1e-12)
    a, t = ax.tensor(x_np), torch.tensor(x_np)
    assert_close(a.hardshrink(0.6), t.hardshrink(0.6), rtol=0, atol=0)
    w = np.array([0.2])
    assert_close(a.prelu(ax.tensor(w)), t.prelu(torch.tensor(w)), rtol=0, atol=0)


def test_inplace_relu_keeps_the_graph():
    x = ax.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.relu_()
    y.sum().backward()
    assert_close(x.grad, np.array([0.0, 2.0, 2.0]), rtol=0, atol=0)


def test_softmin_dtype_and_implicit_dim_warn_like_torch():
    x = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmin(ax.tensor(x))
    assert_close(out, torch.nn.functional.softmin(torch.tensor(x), dim=1))
    out = F.softmin(ax.tensor(x), dim=0, dtype=ax.float64)
    assert out.dtype == np.float64
    assert_close(out, TF.softmin(torch.tensor(x), dim=0, dtype=torch.float64), rtol=1e-7)


def test_softmax2d_matches_torch():
    a_mod, t_mod = nn.Softmax2d(), torch.nn.Softmax2d()
    assert repr(a_mod) == repr(t_mod)
    helper_test_op([(2, 3, 4, 2)], t_mod, a_mod)
    helper_test_op([(3, 4, 2)], t_mod, a_mod, dtype=np.float32)
    helper_test_exception([(3, 4)], t_mod, a_mod, exact=ValueError, match=["2D"])


def test_prelu_takes_device_and_dtype_like_torch():
    p = nn.PReLU(2, 0.3, device="cpu", dtype=ax.float64)
    assert p.weight.dtype == np.float64
    assert_close(p.weight, torch.nn.PReLU(2, 0.3, dtype=torch.float64).weight, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="cuda"):
        nn.PReLU(device="cuda")


def test_hardtanh_deprecated_keywords_warn_like_torch():
    with pytest.warns(FutureWarning, match="deprecated"):
        t_mod = torch.nn.Hardtanh(min_value=-2.0, max_value=0.5)
    with pytest.warns(FutureWarning, match="_value` is deprecated and renamed"):
        a_mod = nn.Hardtanh(min_value=-2.0, max_value=0.5)
    assert repr(a_mod) == repr(t_mod)


def test_prelu_num_parameters_is_torchs_int_and_axons_method():
    a_mod, t_mod = nn.PReLU(3), torch.nn.PReLU(3)
    assert a_mod.num_parameters == t_mod.num_parameters == 3
    assert f"{a_mod.num_parameters}" == "3"
    assert a_mod.num_parameters() == 3  # Module.num_parameters(), the parameter count
    a_mod.weight.requires_grad_(False)
    assert a_mod.num_parameters(trainable_only=True) == 0


@pytest.mark.parametrize(
    "name,args",
    [
        ("selu", ()),
        ("celu", (0.5,)),
        ("hardshrink", (0.6,)),
        ("threshold", (0.1, 5.0)),
        ("relu_", ()),
        ("sigmoid_", ()),
        ("tanh_", ()),
        ("selu_", ()),
        ("celu_", ()),
        ("threshold_", (0.1, 5.0)),
    ],
)
def test_top_level_spellings_match_torch(name, args):
    x = np.array([-2.0, -0.5, 0.0, 0.6, 1.5])
    a, t = ax.tensor(x), torch.tensor(x)
    assert_close(
        getattr(ax, name)(a, *args), getattr(torch, name)(t, *args), rtol=1e-12, atol=1e-12
    )
    if name.endswith("_"):
        assert_close(a, t, rtol=1e-12, atol=1e-12)  # changed in place, as torch's


def test_top_level_prelu_and_distances_match_torch():
    x, w = np.array([[-2.0, 0.5, -1.0]]), np.array([0.2])
    assert_close(
        ax.prelu(ax.tensor(x), ax.tensor(w)), torch.prelu(torch.tensor(x), torch.tensor(w))
    )
    y = np.array([[1.0, -2.0, 0.5]])
    for name in ["cosine_similarity", "pairwise_distance"]:
        assert_close(
            getattr(ax, name)(ax.tensor(x), ax.tensor(y)),
            getattr(torch, name)(torch.tensor(x), torch.tensor(y)),
            rtol=1e-12,
        )
