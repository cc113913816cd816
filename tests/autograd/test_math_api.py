"""The elementwise math of ``axon.autograd.math_api`` vs torch: every function in its
``ax.f(x)`` and ``x.f()`` forms, forward and gradient in float64 and float32, float64
gradcheck, integer inputs, in-place forms, bitwise and logical ops, and torch's errors."""

import math

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_close, assert_equal

# name -> input range inside the function's domain (away from poles and branch points)
UNARY = {
    "log1p": (-0.9, 2.0),
    "expm1": (-2.0, 2.0),
    "log2": (0.1, 3.0),
    "log10": (0.1, 3.0),
    "exp2": (-2.0, 2.0),
    "sinh": (-2.0, 2.0),
    "cosh": (-2.0, 2.0),
    "tan": (-1.2, 1.2),
    "asin": (-0.95, 0.95),
    "acos": (-0.95, 0.95),
    "atan": (-3.0, 3.0),
    "arcsin": (-0.95, 0.95),
    "arctan": (-3.0, 3.0),
    "asinh": (-3.0, 3.0),
    "acosh": (1.1, 3.0),
    "atanh": (-0.9, 0.9),
    "erf": (-3.0, 3.0),
    "erfc": (-3.0, 3.0),
    "erfinv": (-0.99, 0.99),
    "rsqrt": (0.2, 3.0),
    "reciprocal": (0.2, 2.0),
    "square": (-2.0, 2.0),
    "neg": (-2.0, 2.0),
    "negative": (-2.0, 2.0),
    "frac": (-3.0, 3.0),
    "deg2rad": (-200.0, 200.0),
    "rad2deg": (-3.0, 3.0),
    "logit": (0.05, 0.95),
    "sigmoid": (-3.0, 3.0),
}
# piecewise-constant: values as torch, gradient 0 everywhere
STEPS = ["sign", "sgn", "floor", "ceil", "trunc", "fix", "round"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY)
def test_unary_function_and_method(name, dtype):
    low, high = UNARY[name]
    helper_test_op(
        [(3, 4)], getattr(torch, name), getattr(ax, name), dtype=dtype, low=low, high=high
    )
    helper_test_op(
        [(5,)], lambda x: getattr(x, name)(), dtype=dtype, low=low, high=high, layout="strided"
    )


@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("neg", "negative", "square")])
def test_unary_gradcheck(name):
    low, high = UNARY[name]
    x = ax.from_numpy(np.random.default_rng(1).uniform(low, high, (2, 3)))
    assert ax.gradcheck(getattr(ax, name), [x.requires_grad_()])


@pytest.mark.parametrize(
    "name",
    [
        "log1p",
        "exp2",
        "sinh",
        "atan",
        "erf",
        "erfc",
        "rsqrt",
        "reciprocal",
        "deg2rad",
        "sigmoid",
        "asinh",
        "log2",
    ],
)
def test_integer_input_gives_float32(name):
    ints = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    helper_test_op(
        None,
        getattr(torch, name),
        getattr(ax, name),
        arrays=[ints],
        forward_only=True,
        dtype=np.float32,
    )


@pytest.mark.parametrize("name", STEPS)
def test_step_functions_have_zero_gradient(name):
    x = [[-2.5, -1.5, -0.5, 0.0, 0.5], [1.5, 2.5, -0.7, 0.3, 3.9]]
    # torch.sgn's gradient is a ZeroTensor that cannot become NumPy: sign is its real twin
    torch_fn = torch.sign if name == "sgn" else getattr(torch, name)
    helper_test_op(None, torch_fn, getattr(ax, name), arrays=[x])
    helper_test_op(
        None,
        lambda t: getattr(t, "sign" if name == "sgn" else name)(),
        lambda t: getattr(t, name)(),
        arrays=[x],
        dtype=np.float32,
    )


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "trunc", "round", "square", "neg"])
def test_integer_input_keeps_its_dtype(name):
    ints = np.array([-3, 0, 2, 7], dtype=np.int64)
    helper_test_op(None, getattr(torch, name), getattr(ax, name), arrays=[ints], forward_only=True)


def test_sign_of_nan_is_zero():
    helper_test_op(
        None, torch.sign, ax.sign, arrays=[[math.nan, -0.0, -3.0, 2.0]], forward_only=True
    )


@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
def test_round_decimals(decimals):
    helper_test_op(
        [(4, 5)],
        lambda x: torch.round(x, decimals=decimals),
        lambda x: ax.round(x, decimals=decimals),
        low=-300.0,
        high=300.0,
    )


def test_erf_family_in_the_tails():
    x = [-6.0, -4.5, -1.0, -0.3, 0.0, 0.3, 0.7, 3.0, 4.5, 6.0, 10.0, 27.5]
    helper_test_op(None, torch.erf, ax.erf, arrays=[x], rtol=1e-12, atol=1e-300)
    helper_test_op(None, torch.erfc, ax.erfc, arrays=[x[:-2]], rtol=1e-12, atol=1e-300)
    y = [-0.999999, -0.9, -1e-8, 0.0, 0.5, 0.99, 0.9999999]
    helper_test_op(None, torch.erfinv, ax.erfinv, arrays=[y], rtol=1e-11, grad_rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gamma_family_and_sinc(dtype):
    x = [[0.01, 0.5, 1.0, 2.0, 3.7], [10.0, 150.0, -0.3, -2.5, 7.25]]
    helper_test_op(None, torch.lgamma, ax.lgamma, arrays=[x], dtype=dtype)
    # torch's trigamma (digamma's derivative) is itself about 1e-9 off in float64: it gives
    # pi^2/6 + 8e-10 at 1, where ours is within 3e-14
    grad_rtol = 1e-8 if dtype == np.float64 else None
    helper_test_op(None, torch.digamma, ax.digamma, arrays=[x], dtype=dtype, grad_rtol=grad_rtol)
    helper_test_op(
        None, lambda t: (t.lgamma(), t.digamma()), arrays=[x], dtype=dtype, grad_rtol=grad_rtol
    )
    s = [[0.0, 0.25, -0.5, 1.0, 1.5], [-2.0, 2.3, 1e-9, -0.7, 3.0]]
    helper_test_op(None, torch.sinc, ax.sinc, arrays=[s], dtype=dtype)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_polygamma(n):
    x = [[0.05, 0.5, 1.0, 2.0], [3.7, 10.0, 60.0, 7.25]]
    # torch's trigamma is about 1e-9 off in float64 (n = 1 forward, n = 0 gradient)
    rtol = 1e-8 if n in (0, 1) else None
    helper_test_op(
        None, lambda t: torch.polygamma(n, t), lambda t: ax.polygamma(n, t), arrays=[x], rtol=rtol
    )
    helper_test_op(None, lambda t: t.polygamma(n), arrays=[x], dtype=np.float32)
    t = ax.tensor([[0.3, 1.7], [4.2, 9.0]], dtype=ax.float64, requires_grad=True)
    assert ax.gradcheck(lambda u: ax.polygamma(n, u), [t])


def test_polygamma_poles_errors_and_mvlgamma():
    poles = [0.0, -1.0, -2.0]
    for n in (2, 3):
        got = ax.polygamma(n, ax.tensor(poles)).numpy()
        np.testing.assert_array_equal(got, torch.polygamma(n, torch.tensor(poles)).numpy())
    helper_test_exception(
        [(2,)],
        lambda t: torch.polygamma(-1, t),
        lambda t: ax.polygamma(-1, t),
        match=["negative n"],
    )
    helper_test_op(
        [(2, 3)],
        lambda t: (torch.mvlgamma(t, 3), t.mvlgamma(1)),
        lambda t: (ax.mvlgamma(t, 3), t.mvlgamma(1)),
        low=2.0,
        high=5.0,
    )


def test_gamma_family_poles_and_gradcheck():
    x = [0.0, -1.0, -2.0]
    want = torch.lgamma(torch.tensor(x)).numpy(), torch.digamma(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(ax.lgamma(ax.tensor(x)).numpy(), want[0])  # inf
    np.testing.assert_array_equal(ax.digamma(ax.tensor(x)).numpy(), want[1])  # -inf, nan
    for fn in (ax.lgamma, ax.digamma, ax.sinc):
        t = ax.tensor([[0.3, 1.7, 4.2], [-0.4, 2.5, 9.0]], dtype=ax.float64, requires_grad=True)
        assert ax.gradcheck(fn, [t])


def test_erfinv_limits():
    out = ax.erfinv(ax.tensor([1.0, -1.0, 1.5], dtype=ax.float64)).numpy()
    want = torch.erfinv(torch.tensor([1.0, -1.0, 1.5], dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(out, want)  # inf, -inf, nan


def test_logit_eps_clamps_and_stops_the_gradient():
    x = [[0.0, 0.01, 0.3], [0.7, 0.99, 1.0]]
    helper_test_op(
        None, lambda t: torch.logit(t, eps=0.05), lambda t: ax.logit(t, eps=0.05), arrays=[x]
    )


# name -> (torch function, axon function, range of input, range of other)
BINARY = {
    "atan2": (torch.atan2, ax.atan2, (-2, 2), (-2, 2)),
    "arctan2": (torch.arctan2, ax.arctan2, (-2, 2), (-2, 2)),
    "hypot": (torch.hypot, ax.hypot, (-2, 2), (-2, 2)),
    "logaddexp": (torch.logaddexp, ax.logaddexp, (-3, 3), (-3, 3)),
    "logaddexp2": (torch.logaddexp2, ax.logaddexp2, (-3, 3), (-3, 3)),
    "xlogy": (torch.xlogy, ax.xlogy, (-2, 2), (0.1, 3)),
    "fmod": (torch.fmod, ax.fmod, (-5, 5), (0.7, 2)),
    "remainder": (torch.remainder, ax.remainder, (-5, 5), (0.7, 2)),
    "copysign": (torch.copysign, ax.copysign, (-2, 2), (0.1, 2)),
    "float_power": (torch.float_power, ax.float_power, (0.5, 2), (-2, 2)),
    "mul": (torch.mul, ax.mul, (-2, 2), (-2, 2)),
    "multiply": (torch.multiply, ax.multiply, (-2, 2), (-2, 2)),
    "sub": (torch.sub, ax.sub, (-2, 2), (-2, 2)),
    "subtract": (torch.subtract, ax.subtract, (-2, 2), (-2, 2)),
    "add": (torch.add, ax.add, (-2, 2), (-2, 2)),
    "div": (torch.div, ax.div, (-2, 2), (0.5, 2)),
    "divide": (torch.divide, ax.divide, (-2, 2), (0.5, 2)),
    "true_divide": (torch.true_divide, ax.true_divide, (-2, 2), (0.5, 2)),
}


def _two_inputs(shape_a, shape_b, range_a, range_b, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(*range_a, shape_a), rng.uniform(*range_b, shape_b)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", BINARY)
def test_binary_with_broadcasting(name, dtype):
    t_fn, a_fn, range_a, range_b = BINARY[name]
    arrays = _two_inputs((3, 1, 4), (2, 4), range_a, range_b)
    if name == "copysign":  # negative signs too, never 0
        arrays[1] = arrays[1] * np.where(np.arange(8).reshape(2, 4) % 3, 1, -1)
    helper_test_op(None, t_fn, a_fn, arrays=arrays, dtype=dtype)
    helper_test_op(None, lambda a, b: getattr(a, name)(b), arrays=arrays, dtype=dtype)


@pytest.mark.parametrize(
    "name", ["atan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "fmod", "remainder", "copysign"]
)
def test_binary_gradcheck(name):
    _, a_fn, range_a, range_b = BINARY[name]
    a, b = (
        ax.from_numpy(x).requires_grad_()
        for x in _two_inputs((2, 3), (3,), range_a, range_b, seed=2)
    )
    assert ax.gradcheck(a_fn, [a, b])


@pytest.mark.parametrize("name", ["atan2", "fmod", "remainder", "copysign", "xlogy", "true_divide"])
def test_binary_integer_inputs(name):
    t_fn, a_fn, *_ = BINARY[name]
    a = np.array([-7, -3, 0, 4, 9], dtype=np.int64)
    b = np.array([2, 3, -4, 3, 2], dtype=np.int64)
    helper_test_op(None, t_fn, a_fn, arrays=[a, b], forward_only=True)
    if name != "atan2":  # torch's atan2 takes no number
        helper_test_op(
            None, lambda x: t_fn(x, 2.5), lambda x: a_fn(x, 2.5), arrays=[a], forward_only=True
        )


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_ignore_nan(name):
    a = [[1.0, math.nan, 2.0, 3.0], [0.5, -1.0, math.nan, 4.0]]
    b = [[1.0, 1.0, math.nan, 2.0], [0.7, -1.0, 5.0, 9.0]]
    helper_test_op(None, getattr(torch, name), getattr(ax, name), arrays=[a, b])
    helper_test_op(None, lambda x, y: getattr(x, name)(y), arrays=[a, b], dtype=np.float32)


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_gradcheck(name):
    a, b = (
        ax.from_numpy(x).requires_grad_()
        for x in _two_inputs((2, 3), (3,), (-2, 2), (-2, 2), seed=4)
    )
    assert ax.gradcheck(getattr(ax, name), [a, b])


def test_heaviside_ldexp_gcd_lcm():
    x = [[-1.5, 0.0, 2.0], [0.0, -0.0, 3.0]]
    helper_test_op(
        None,
        lambda t: (torch.heaviside(t, torch.tensor(0.5, dtype=t.dtype)), t.heaviside(t * 0 + 0.25)),
        lambda t: (
            ax.heaviside(t, ax.tensor(0.5, dtype=t.dtype, device=t.device)),
            t.heaviside(t * 0 + 0.25),
        ),
        arrays=[x],
        forward_only=True,
    )
    h = ax.heaviside(ax.tensor(x, requires_grad=True), ax.tensor(0.5))
    assert h.requires_grad
    with pytest.raises(RuntimeError, match="heaviside"):
        h.sum().backward()
    # integer exponents >= 0 only: torch's gradient takes 2 ** -1 in integers (0)
    helper_test_op(
        None,
        lambda t, e: (torch.ldexp(t, e), t.ldexp(e)),
        lambda t, e: (ax.ldexp(t, e), t.ldexp(e)),
        arrays=[[1.5, -2.0, 0.25], np.array([2, 0, 3])],
    )
    helper_test_op(
        None,
        torch.ldexp,
        ax.ldexp,
        arrays=[[1.5, -2.0, 0.25], [2.0, -1.0, 0.5]],
        requires_grad=[True, False],
    )
    ints = [np.array([12, -18, 0, 7]), np.array([8, 12, 5, 0])]
    helper_test_op(
        None,
        lambda a, b: (torch.gcd(a, b), a.lcm(b), torch.lcm(a, b)),
        lambda a, b: (ax.gcd(a, b), a.lcm(b), ax.lcm(a, b)),
        arrays=ints,
        forward_only=True,
    )
    helper_test_exception(
        [(2,), (2,)], torch.gcd, ax.gcd, exact=NotImplementedError, match=["gcd", "Double"]
    )


def test_isreal_and_is_nonzero():
    assert ax.isreal(ax.tensor([1.0, 2.0])).tolist() == [True, True]
    assert ax.is_nonzero(ax.tensor([2.0])) and not ax.tensor(0).is_nonzero()
    for shape, what in (((2,), "more than one value"), ((0,), "no values")):
        helper_test_exception([shape], torch.is_nonzero, ax.is_nonzero, match=[what])


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addcmul_addcdiv(name):
    t_fn, a_fn = getattr(torch, name), getattr(ax, name)
    arrays = _two_inputs((3, 4), (4,), (-2, 2), (0.5, 2)) + [
        np.linspace(0.5, 2.0, 12).reshape(3, 4)
    ]
    helper_test_op(None, t_fn, a_fn, arrays=arrays)
    helper_test_op(
        None,
        lambda x, y, z: t_fn(x, y, z, value=-0.3),
        lambda x, y, z: a_fn(x, y, z, value=-0.3),
        arrays=arrays,
        dtype=np.float32,
    )
    helper_test_op(
        None, lambda x, y, z: (x * 1.0).__getattribute__(name + "_")(y, z, value=2), arrays=arrays
    )
    x, t = ax.tensor(arrays[0]), torch.tensor(arrays[0])  # the optimizer's no-grad update
    getattr(x, name + "_")(ax.tensor(arrays[1]), ax.tensor(arrays[2]), value=0.1)
    getattr(t, name + "_")(torch.tensor(arrays[1]), torch.tensor(arrays[2]), value=0.1)
    assert_close(x, t, rtol=1e-12, atol=0.0)


def test_signbit():
    helper_test_op(
        None,
        lambda t: (torch.signbit(t), t.signbit()),
        lambda t: (ax.signbit(t), t.signbit()),
        arrays=[[-0.0, 0.0, -2.0, 3.0, -math.inf, math.nan]],
        forward_only=True,
    )


def test_add_and_sub_alpha():
    helper_test_op(
        [(3, 4), (4,)],
        lambda a, b: torch.add(a, b, alpha=0.5),
        lambda a, b: ax.add(a, b, alpha=0.5),
    )
    helper_test_op(
        [(3, 4), (4,)], lambda a, b: torch.sub(a, b, alpha=-2), lambda a, b: ax.sub(a, b, alpha=-2)
    )


def test_xlogy_zero_times_log_zero_is_zero():
    helper_test_op(
        None,
        torch.xlogy,
        ax.xlogy,
        arrays=[[0.0, 0.0, 2.0], [0.0, 3.0, 0.5]],
        requires_grad=[True, False],
    )
    helper_test_op(None, torch.xlogy, ax.xlogy, arrays=[[0.0, 1.5, -2.0], [-1.0, 3.0, 0.5]])


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_div_rounding_modes(mode, dtype):
    helper_test_op(
        None,
        lambda a, b: torch.div(a, b, rounding_mode=mode),
        lambda a, b: ax.div(a, b, rounding_mode=mode),
        arrays=[[-7.5, -3.0, 0.0, 4.2, 9.0], [2.0, -3.0, -4.0, 1.5, -2.5]],
        dtype=dtype,
    )
    ints = [np.array([-7, -3, 0, 5, 9]), np.array([2, -3, -4, 3, -2])]
    helper_test_op(None, lambda a, b: a.div(b, rounding_mode=mode), arrays=ints, forward_only=True)


def test_floor_divide_and_remainder_operators():
    ints = [np.array([-7, -3, 0, 5, 9]), np.array([2, -3, -4, 3, -2])]
    helper_test_op(
        None,
        lambda a, b: (a // b, a % b, 7 // b, 7 % b, a // 2, a % -3),
        arrays=ints,
        forward_only=True,
    )
    floats = [[-7.5, -3.0, 0.5, 4.2], [2.0, -3.0, -4.0, 1.5]]
    helper_test_op(
        None,
        lambda a, b: (a // b, torch.floor_divide(a, 2.0)),
        lambda a, b: (a // b, ax.floor_divide(a, 2.0)),
        arrays=floats,
        forward_only=True,
    )
    helper_test_op(None, lambda a, b: a % b, arrays=floats)
    helper_test_op(None, lambda a, b: 5.5 % b, arrays=floats, forward_only=True)


def test_floor_divide_has_no_derivative_like_torch():
    x = ax.tensor([3.0, 4.0], requires_grad=True)
    y = x // 2
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="floor_divide"):
        y.sum().backward()


@pytest.mark.parametrize("fn", ["fmod", "remainder", "floor_divide"])
def test_integer_division_by_zero(fn):
    helper_test_exception(
        None,
        lambda a, b: getattr(torch, fn)(a, b),
        lambda a, b: getattr(ax, fn)(a, b),
        arrays=[np.array([1, 2]), np.array([1, 0])],
        match=["Zero"],
    )


def test_div_rejects_an_unknown_rounding_mode():
    helper_test_exception(
        [(2,), (2,)],
        lambda a, b: torch.div(a, b, rounding_mode="round"),
        lambda a, b: ax.div(a, b, rounding_mode="round"),
        match=["'round'", "trunc", "floor"],
    )


@pytest.mark.parametrize("fn", ["hypot", "logaddexp", "logaddexp2"])
def test_float_only_binaries_refuse_integers(fn):
    ints = [np.array([1, 2]), np.array([3, 4])]
    helper_test_exception(
        None,
        getattr(torch, fn),
        getattr(ax, fn),
        arrays=ints,
        exact=NotImplementedError,
        match=[fn, "Long"],
    )


def test_float_only_binaries_promote_first():
    arrays = [np.array([3, 5]), np.array([4.0, 12.0], np.float32)]
    helper_test_op(
        None,
        lambda a, b: (torch.hypot(a, b.float()), torch.logaddexp(a, b.float())),
        lambda a, b: (ax.hypot(a, b.float()), ax.logaddexp(a, b.float())),
        arrays=arrays,
        forward_only=True,
    )


@pytest.mark.parametrize("fn", ["floor", "ceil", "trunc", "round"])
def test_rounding_refuses_bool(fn):
    helper_test_exception(
        None,
        getattr(torch, fn),
        getattr(ax, fn),
        arrays=[np.array([True, False])],
        exact=NotImplementedError,
        match=[f"\"{fn}_vml_cpu\" not implemented for 'Bool'"],
    )


def test_frac_refuses_integers():
    helper_test_exception(
        None,
        torch.frac,
        ax.frac,
        arrays=[np.array([1, 2])],
        exact=NotImplementedError,
        match=["frac", "Long"],
    )


@pytest.mark.parametrize("weight", [0.25, 0.5, 0.8, -0.3, 1.7])
def test_lerp_scalar_weight(weight):
    helper_test_op(
        [(3, 4), (4,)], lambda a, b: torch.lerp(a, b, weight), lambda a, b: ax.lerp(a, b, weight)
    )
    helper_test_op([(3, 4), (3, 4)], lambda a, b: a.lerp(b, weight), dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lerp_tensor_weight(dtype):
    arrays = _two_inputs((2, 3), (3,), (-2, 2), (-2, 2)) + [
        np.array([[0.1, 0.5, 0.9], [-0.5, 0.49, 1.5]])
    ]
    helper_test_op(None, torch.lerp, ax.lerp, arrays=arrays, dtype=dtype)
    start, end, w = (ax.from_numpy(a.astype(np.float64)).requires_grad_() for a in arrays)
    assert ax.gradcheck(ax.lerp, [start, end, w])


def test_lerp_errors():
    helper_test_exception(
        None,
        lambda a, b: torch.lerp(a.float(), b, 0.5),
        lambda a, b: ax.lerp(a.float(), b, 0.5),
        arrays=[np.ones(2, np.float32), np.ones(2, np.float32)],
        match=["end", "double"],
    )
    helper_test_exception(
        None,
        lambda a, b: torch.lerp(a, b, 0.5),
        lambda a, b: ax.lerp(a, b, 0.5),
        arrays=[np.array([1, 2]), np.array([3, 4])],
        exact=NotImplementedError,
        match=["lerp", "Long"],
    )


def test_clamp_min_and_clamp_max():
    helper_test_op(
        [(3, 4)],
        lambda x: (torch.clamp_min(x, -0.5), x.clamp_max(0.7)),
        lambda x: (ax.clamp_min(x, -0.5), x.clamp_max(0.7)),
    )
    helper_test_op(
        [(3, 4), (4,)], lambda x, m: torch.clamp_min(x, m), lambda x, m: ax.clamp_min(x, m)
    )


def test_nan_to_num():
    x = [[math.nan, math.inf, -math.inf, 1.5], [0.0, -2.0, math.nan, 3.0]]
    helper_test_op(None, torch.nan_to_num, ax.nan_to_num, arrays=[x])
    helper_test_op(
        None, lambda t: t.nan_to_num(nan=1.0, posinf=9.0, neginf=-9.0), arrays=[x], dtype=np.float32
    )


def test_predicates():
    x = [[math.nan, math.inf, -math.inf, 1.5], [0.0, -2.0, 1.0 + 1e-9, 3.0]]
    y = [[math.nan, math.inf, math.inf, 1.5], [1e-9, -2.0, 1.0, 3.1]]
    helper_test_op(
        None,
        lambda a, b: (
            torch.isinf(a),
            torch.isposinf(a),
            a.isneginf(),
            torch.isclose(a, b),
            a.isclose(b, equal_nan=True),
            torch.isclose(a, b, rtol=0.1, atol=0.0),
        ),
        lambda a, b: (
            ax.isinf(a),
            ax.isposinf(a),
            a.isneginf(),
            ax.isclose(a, b),
            a.isclose(b, equal_nan=True),
            ax.isclose(a, b, rtol=0.1, atol=0.0),
        ),
        arrays=[x, y],
        forward_only=True,
    )
    a, t = ax.tensor([1.0, math.nan]), torch.tensor([1.0, math.nan])
    assert a.allclose(a, equal_nan=True) and t.allclose(t, equal_nan=True)
    assert not a.allclose(a) and not t.allclose(t)  # NaN is close to nothing by default


def test_positive_returns_the_input():
    x = ax.tensor([1.0, -2.0])
    assert ax.positive(x) is x and x.positive() is x


# ----------------------------------------------------------------- in-place forms
INPLACE = {
    "exp_": (),
    "log_": (),
    "sqrt_": (),
    "abs_": (),
    "neg_": (),
    "sigmoid_": (),
    "tanh_": (),
    "relu_": (),
    "floor_": (),
    "round_": (),
    "clamp_min_": (0.8,),
    "clamp_max_": (1.2,),
    "fmod_": (0.7,),
    "remainder_": (0.7,),
    "square_": (),
    "reciprocal_": (),
    "log1p_": (),
    "trunc_": (),
    "ceil_": (),
    "lgamma_": (),
    "digamma_": (),
    "sinc_": (),
    "tan_": (),
    "log2_": (),
    "expm1_": (),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_on_a_graph_node(name):
    """x * 1 is not a leaf: the in-place op joins the graph, the gradient flows back."""
    args = INPLACE[name]

    def fn(x):
        y = x * 1.0
        out = getattr(y, name)(*args)
        assert out is y
        return y

    helper_test_op([(3, 4)], fn, low=0.5, high=2.0)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_without_a_graph_writes_the_array(name):
    args = INPLACE[name]
    a = ax.tensor(np.linspace(0.5, 2.0, 6), dtype=ax.float64)
    t = torch.tensor(np.linspace(0.5, 2.0, 6))
    array = a.array
    getattr(a, name)(*args)
    getattr(t, name)(*args)
    assert a.array is array
    assert_close(a, t, rtol=1e-12, atol=0.0)


def test_erfinv_inplace_as_trunc_normal_uses_it():
    helper_test_op([(3, 4)], lambda x: (x * 1.0).erfinv_(), low=-0.9, high=0.9)


def test_lerp_inplace_with_tensor_end():
    helper_test_op([(3,), (3,)], lambda a, b: (a * 1.0).lerp_(b, 0.3))


def test_inplace_refusals():
    with pytest.raises(RuntimeError, match="can't be cast"):
        ax.tensor([1, 2]).exp_()
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.tensor([1, 2]).exp_()
    leaf = ax.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.exp_()
    with ax.no_grad():
        leaf.exp_()
    assert_close(leaf.detach(), np.exp([1.0, 2.0]))


def test_float_power_inplace_needs_float64():
    helper_test_exception(
        [(2,)],
        lambda t: t.float().float_power_(2),
        exact=RuntimeError,
        match=["float_power_", "Float", "Double"],
    )
    a, t = ax.tensor([1.5, 2.0], dtype=ax.float64), torch.tensor([1.5, 2.0], dtype=torch.float64)
    a.float_power_(-0.5)
    t.float_power_(-0.5)
    assert_close(a, t, rtol=1e-15, atol=0.0)


def test_integer_inplace_rounding_keeps_dtype():
    a, t = ax.tensor([1, -2, 3]), torch.tensor([1, -2, 3])
    a.floor_()
    t.floor_()
    assert_equal(a.numpy(), t.numpy())
    assert a.dtype == np.int64


# ----------------------------------------------------------------- bitwise and logical
INTS = [np.array([[5, -3, 12], [0, 7, -8]]), np.array([[3, 6, -1], [2, 1, 4]])]


def test_bitwise_ops_on_integers():
    helper_test_op(
        None,
        lambda a, b: (a & b, a | b, a ^ b, ~a, a & 6, 6 | b, 3 ^ a),
        arrays=INTS,
        forward_only=True,
    )
    helper_test_op(
        None,
        lambda a, b: (
            torch.bitwise_and(a, b),
            torch.bitwise_or(a, b),
            torch.bitwise_xor(a, b),
            torch.bitwise_not(a),
        ),
        lambda a, b: (
            ax.bitwise_and(a, b),
            ax.bitwise_or(a, b),
            ax.bitwise_xor(a, b),
            ax.bitwise_not(a),
        ),
        arrays=INTS,
        forward_only=True,
    )


def test_shifts():
    shifts = np.array([[1, 2, 0], [3, 1, 2]])
    helper_test_op(
        None,
        lambda a, s: (a << s, a >> s, a << 1, a >> 2, 1 << s),
        arrays=[INTS[0], shifts],
        forward_only=True,
    )
    helper_test_op(
        None,
        lambda a, s: (torch.bitwise_left_shift(a, s), torch.bitwise_right_shift(a, s)),
        lambda a, s: (ax.bitwise_left_shift(a, s), ax.bitwise_right_shift(a, s)),
        arrays=[INTS[0], shifts],
        forward_only=True,
    )


def test_bitwise_on_bools_and_inplace():
    m = [np.array([True, False, True]), np.array([True, True, False])]
    helper_test_op(None, lambda a, b: (a & b, a | b, a ^ b, ~a), arrays=m, forward_only=True)
    a, t = ax.tensor(m[0]), torch.tensor(m[0])
    a &= ax.tensor(m[1])
    t &= torch.tensor(m[1])
    assert_equal(a.numpy(), t.numpy())


@pytest.mark.parametrize("op", ["and", "or", "xor", "lshift", "rshift", "not"])
def test_bitwise_refuses_floats(op):
    fns = {
        "and": lambda a, b: a & b,
        "or": lambda a, b: a | b,
        "xor": lambda a, b: a ^ b,
        "lshift": lambda a, b: a << b,
        "rshift": lambda a, b: a >> b,
        "not": lambda a, b: a.bitwise_not(),
    }
    helper_test_exception(
        [(2,), (2,)], fns[op], exact=NotImplementedError, match=["not implemented for 'Double'"]
    )


def test_invert_of_a_float_is_a_type_error():
    helper_test_exception([(2,)], lambda a: ~a, exact=TypeError, match=["integer"])


def test_logical_ops_take_any_dtype():
    x = [[0.0, 1.5, -2.0, 0.0], [3.0, 0.0, 0.0, 1.0]]
    helper_test_op(
        None,
        lambda a, b: (
            torch.logical_and(a, b),
            torch.logical_or(a, b),
            a.logical_xor(b),
            torch.logical_not(a),
        ),
        lambda a, b: (
            ax.logical_and(a, b),
            ax.logical_or(a, b),
            a.logical_xor(b),
            ax.logical_not(a),
        ),
        arrays=x,
        forward_only=True,
    )


def test_square_of_bool_is_int64():
    helper_test_op(
        None,
        lambda t: (torch.square(t), t.square()),
        lambda t: (ax.square(t), t.square()),
        arrays=[np.array([True, False])],
        forward_only=True,
    )


COMPARISONS = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
]


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparison_functions_methods_and_inplace(name):
    a = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]
    b = [[1.0, 0.0, 4.0], [0.5, 2.0, -2.0]]
    t_fn, a_fn = getattr(torch, name), getattr(ax, name)
    helper_test_op(
        None,
        lambda x, y: (t_fn(x, y), getattr(x, name)(y), t_fn(x, 1.0)),
        lambda x, y: (a_fn(x, y), getattr(x, name)(y), a_fn(x, 1.0)),
        arrays=[a, b],
        forward_only=True,
    )
    x, t = ax.tensor(a), torch.tensor(a)
    getattr(x, name + "_")(ax.tensor(b))  # writes 1.0 / 0.0 into x, as torch
    getattr(t, name + "_")(torch.tensor(b))
    assert_equal(x.numpy(), t.numpy())


@pytest.mark.parametrize(
    "alias",
    [
        "absolute_",
        "negative_",
        "arcsin_",
        "arctan_",
        "arcsinh_",
        "arctanh_",
        "asinh_",
        "atanh_",
        "acosh_",
    ],
)
def test_inplace_aliases(alias):
    low, high = (1.1, 2.0) if "cosh" in alias else (-0.9, 0.9)
    # torch has no derivative for in-place asinh_/acosh_/atanh_ (axon has)
    helper_test_op(
        [(2, 3)],
        lambda x: getattr(x * 1.0, alias)(),
        low=low,
        high=high,
        forward_only="sinh" in alias or "cosh" in alias or "tanh" in alias,
    )


def test_inplace_binary_aliases():
    helper_test_op(
        [(2, 3), (3,)],
        lambda x, y: (
            (x * 1.0).multiply_(y),
            (x * 1.0).subtract_(y),
            (x * 1.0).divide_(y),
            (x * 1.0).arctan2_(y),
            (x * 1.0).clip_(-0.5, 0.5),
        ),
        low=0.5,
    )
    m = [np.array([True, False, True]), np.array([True, True, False])]
    helper_test_op(
        None,
        lambda a, b: (
            a.clone().logical_and_(b),
            a.clone().logical_or_(b),
            a.clone().logical_xor_(b),
        ),
        arrays=m,
        forward_only=True,
    )
    ints = [np.array([1, -8, 5]), np.array([2, 1, 0])]
    helper_test_op(
        None,
        lambda a, s: (a.clone().bitwise_left_shift_(s), a.clone().bitwise_right_shift_(s)),
        arrays=ints,
        forward_only=True,
    )


def test_rsub_and_absolute():
    helper_test_op(
        [(2, 3), (3,)],
        lambda x, y: (
            torch.rsub(x, y),
            torch.rsub(x, y, alpha=2),
            torch.rsub(x, 1.5),
            torch.absolute(x),
            x.absolute(),
        ),
        lambda x, y: (
            ax.rsub(x, y),
            ax.rsub(x, y, alpha=2),
            ax.rsub(x, 1.5),
            ax.absolute(x),
            x.absolute(),
        ),
    )


def test_inplace_on_a_view_writes_through_to_its_base():
    x, t = ax.tensor([[0.5, -1.0], [2.0, -3.0]]), torch.tensor([[0.5, -1.0], [2.0, -3.0]])
    x[:, 1].clamp_min_(-2.0)
    t[:, 1].clamp_min_(-2.0)
    x[0].exp_()
    t[0].exp_()
    assert_close(x, t, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_frexp_and_nextafter(dtype):
    x = [[8.0, 0.3, -5.0], [1e-3, -0.75, 1e6]]
    helper_test_op(
        None, lambda t: tuple(torch.frexp(t)), lambda t: tuple(ax.frexp(t)), arrays=[x], dtype=dtype
    )
    out = ax.tensor([8.0]).frexp()
    assert out.mantissa.item() == 0.5 and out.exponent.item() == 4
    y = [[9.0, 0.0, 0.0], [1.0, -1.0, 2e6]]
    helper_test_op(
        None,
        lambda a, b: (torch.nextafter(a, b), a.nextafter(b)),
        lambda a, b: (ax.nextafter(a, b), a.nextafter(b)),
        arrays=[x, y],
        dtype=dtype,
        rtol=1e-300 if dtype == np.float64 else None,
        atol=0.0,
    )
    helper_test_exception(
        None, torch.frexp, ax.frexp, arrays=[np.array([1, 2])], match=["floating-point"]
    )
    helper_test_exception(
        None,
        torch.nextafter,
        ax.nextafter,
        arrays=[np.array([1, 2]), np.array([1, 2])],
        exact=NotImplementedError,
        match=["nextafter", "Long"],
    )
