"""``axon.nn.init``: gains and fans equal PyTorch's; shapes, bounds and statistics on large
tensors; orthogonality; reproducibility with ``axon.manual_seed``."""

import math

import numpy as np
import pytest
import torch

import axon as ax
from axon import nn
from axon.nn import init


def t(*shape, dtype=None):
    return ax.empty(*shape, dtype=dtype)


@pytest.mark.parametrize(
    "name,param",
    [
        ("linear", None),
        ("conv1d", None),
        ("conv2d", None),
        ("conv3d", None),
        ("conv_transpose2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 1),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-15
    )


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(3, 4), (16, 8, 3, 3), (5, 2, 7), (4, 6, 2, 3, 3)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(
        t(*shape)
    ) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(t(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(t(3, 4), mode="fan_avg")


def test_fills_modify_in_place_and_return_the_tensor():
    w = t(3, 4)
    data = w.array
    for fn, args in [
        (init.zeros_, ()),
        (init.ones_, ()),
        (init.constant_, (2.5,)),
        (init.uniform_, ()),
        (init.normal_, ()),
        (init.eye_, ()),
        (init.xavier_uniform_, ()),
        (init.xavier_normal_, ()),
        (init.kaiming_uniform_, ()),
        (init.kaiming_normal_, ()),
        (init.orthogonal_, ()),
        (init.trunc_normal_, ()),
    ]:
        assert fn(w, *args) is w
        assert w.array is data and w.dtype == np.float32 and w.shape == (3, 4)
    assert init.zeros_(w).array.tolist() == [[0.0] * 4] * 3
    assert np.all(init.ones_(w).array == 1)
    assert np.all(init.constant_(w, 2.5).array == 2.5)
    np.testing.assert_array_equal(init.eye_(w).array, np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(t(2, 2, 2))


def test_fills_do_not_record_a_graph():
    p = nn.Parameter(np.zeros((3, 3), dtype=np.float32))
    init.normal_(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_uniform_and_normal_statistics():
    w = t(400, 500)
    init.uniform_(w, -0.5, 1.5)
    assert w.array.min() >= -0.5 and w.array.max() < 1.5
    assert abs(w.array.mean() - 0.5) < 0.01
    init.normal_(w, mean=2.0, std=0.5)
    assert abs(w.array.mean() - 2.0) < 0.01 and abs(w.array.std() - 0.5) < 0.01


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier_bounds_and_std(shape):
    w = t(*shape)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(w)
    std = 0.7 * math.sqrt(2.0 / (fan_in + fan_out))
    init.xavier_uniform_(w, gain=0.7)
    bound = math.sqrt(3.0) * std
    assert np.abs(w.array).max() <= bound and np.abs(w.array).max() > 0.99 * bound
    assert abs(w.array.std() / std - 1) < 0.02
    init.xavier_normal_(w, gain=0.7)
    assert abs(w.array.std() / std - 1) < 0.02 and abs(w.array.mean()) < 0.01 * std * 10


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize(
    "nonlinearity,a", [("leaky_relu", 0), ("relu", 0), ("leaky_relu", math.sqrt(5)), ("tanh", 0)]
)
def test_kaiming_bounds_and_std(mode, nonlinearity, a):
    w = t(128, 64, 3, 3)
    fan = 64 * 9 if mode == "fan_in" else 128 * 9
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    bound = math.sqrt(3.0) * std
    assert np.abs(w.array).max() <= bound * (1 + 1e-6)
    assert np.abs(w.array).max() > 0.99 * bound
    assert abs(w.array.std() / std - 1) < 0.02
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    assert abs(w.array.std() / std - 1) < 0.02


def test_kaiming_on_an_empty_tensor_warns_and_does_nothing():
    w = t(0, 3)
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(w) is w


@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (30, 30), (8, 4, 3, 3)])
def test_orthogonal(shape):
    w = t(*shape, dtype=ax.float64)
    init.orthogonal_(w, gain=2.0)
    m = w.array.reshape(shape[0], -1) / 2.0
    if m.shape[0] <= m.shape[1]:
        np.testing.assert_allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-10)
    else:
        np.testing.assert_allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-10)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(t(4))


@pytest.mark.parametrize(
    "mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (1.0, 0.02, 0.98, 1.04), (0.0, 1.0, 3.0, 4.0)]
)
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    w = t(300, 400, dtype=ax.float64)
    if a - 2 * std <= mean <= b + 2 * std:
        init.trunc_normal_(w, mean=mean, std=std, a=a, b=b)
    else:  # far in the tail: torch warns too, but the inverse-CDF draw stays exact
        with pytest.warns(UserWarning, match="more than 2 std"):
            init.trunc_normal_(w, mean=mean, std=std, a=a, b=b)
    assert w.array.min() >= a and w.array.max() <= b
    # moments of the truncated normal, from its closed form
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    Z = cdf(beta) - cdf(alpha)
    mu = mean + std * (pdf(alpha) - pdf(beta)) / Z
    var = std**2 * (
        1 + (alpha * pdf(alpha) - beta * pdf(beta)) / Z - ((pdf(alpha) - pdf(beta)) / Z) ** 2
    )
    assert abs(w.array.mean() - mu) < 0.01 * math.sqrt(var) * 10
    assert abs(w.array.std() / math.sqrt(var) - 1) < 0.01


def test_init_is_reproducible_with_the_seed():
    fns = [
        init.uniform_,
        init.normal_,
        init.xavier_uniform_,
        init.kaiming_normal_,
        init.orthogonal_,
        init.trunc_normal_,
    ]
    for fn in fns:
        ax.manual_seed(7)
        a = fn(t(6, 5)).array.copy()
        b = fn(t(6, 5)).array.copy()
        ax.manual_seed(7)
        np.testing.assert_array_equal(fn(t(6, 5)).array, a)
        assert not np.array_equal(a, b)


def test_linear_reset_parameters_uses_kaiming_uniform_like_torch():
    layer = nn.Linear(300, 400)
    bound = 1 / math.sqrt(300)  # kaiming_uniform_(a=sqrt(5)) and torch's bias rule
    tl = torch.nn.Linear(300, 400)
    for ours, theirs in [(layer.weight, tl.weight), (layer.bias, tl.bias)]:
        assert np.abs(ours.array).max() <= bound
        assert np.abs(ours.array).max() == pytest.approx(theirs.abs().max().item(), rel=0.02)
    assert abs(layer.weight.array.std() - tl.weight.std().item()) < 0.02 * bound
    # the same draws as calling the init functions by hand
    ax.manual_seed(3)
    layer = nn.Linear(5, 4)
    ax.manual_seed(3)
    w, b = t(4, 5), t(4)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    init.uniform_(b, -1 / math.sqrt(5), 1 / math.sqrt(5))
    np.testing.assert_array_equal(layer.weight.array, w.array)
    np.testing.assert_array_equal(layer.bias.array, b.array)


_ON_A_DEVICE = {
    "uniform_": lambda x: init.uniform_(x, -0.5, 2.0),
    "normal_": lambda x: init.normal_(x, 1.0, 3.0),
    "trunc_normal_": lambda x: init.trunc_normal_(x, std=0.5),
    "xavier_uniform_": init.xavier_uniform_,
    "kaiming_normal_": lambda x: init.kaiming_normal_(x, nonlinearity="relu"),
    "orthogonal_": init.orthogonal_,
    "sparse_": lambda x: init.sparse_(x, 0.5),
    "eye_": init.eye_,
    "constant_": lambda x: init.constant_(x, 0.25),
    "dirac_": init.dirac_,
}
_SHAPE = {"dirac_": (6, 4, 3)}


@pytest.mark.parametrize("name", sorted(_ON_A_DEVICE))
@pytest.mark.parametrize("dtype", [ax.float32, ax.float16])
def test_init_of_a_tensor_on_another_device_gives_the_cpus_values(name, dtype):
    """Draws are made on the host from the seeded generator and moved: a tensor on the
    strict test backend (arrays that refuse NumPy) gets the CPU tensor's values, in place."""
    from tests.backend.strict import StrictArray

    fill = _ON_A_DEVICE[name]
    ax.manual_seed(5)
    shape = _SHAPE.get(name, (6, 4))
    cpu = fill(ax.zeros(shape, dtype=dtype))
    ax.manual_seed(5)
    strict = ax.zeros(shape, dtype=dtype, device="strict")
    assert fill(strict) is strict
    assert isinstance(strict.array, StrictArray) and strict.dtype == dtype
    np.testing.assert_array_equal(strict.cpu().numpy(), cpu.numpy())
