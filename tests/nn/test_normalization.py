"""BatchNorm1d/2d, LayerNorm, GroupNorm and their functional forms against PyTorch:
outputs, gradients of input, weight and bias, running statistics, state dicts, errors,
and float64 gradient checks of the fused ops."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
from axon import nn
from axon.nn import functional as F
from tests.helpers import assert_close

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-5)}


@pytest.fixture(autouse=True, scope="module")
def _torch_one_thread():
    """torch's batch_norm on tiny inputs with 2 threads on a busy 2-core machine takes
    ~100 ms a call (threads spinning); with 1 thread, ~0.1 ms."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _pair(a_mod, t_mod, dtype, seed=0):
    """Give both modules the same random weights (so the affine part is really tested)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, tuple(p.shape))))
    t_mod.to(torch.float64 if dtype == np.float64 else torch.float32)
    a_mod.to(dtype)
    a_mod.load_state_dict({k: v.numpy() for k, v in t_mod.state_dict().items()})
    return a_mod, t_mod


def _run_both(a_mod, t_mod, x, g):
    """Forward and backward (upstream gradient g) in both; returns outputs and grads."""
    ax_x = ax.tensor(x, requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    a_y, t_y = a_mod(ax_x), t_mod(t_x)
    a_y.backward(ax.tensor(g))
    t_y.backward(torch.tensor(g))
    return (a_y, ax_x.grad), (t_y, t_x.grad)


def _check_params_and_buffers(a_mod, t_mod, tol, msg=""):
    for name, tp in t_mod.named_parameters():
        ap = a_mod.get_parameter(name)
        assert_close(ap.grad, tp.grad, **tol, msg=f"{msg} grad of {name}")
    a_bufs = dict(a_mod.named_buffers())
    for name, tb in t_mod.named_buffers():
        assert_close(a_bufs[name], tb, **tol, msg=f"{msg} buffer {name}")


def _data(shape, dtype, seed=1, offset=3.0):
    rng = np.random.default_rng(seed)
    # a non-zero mean and a scale != 1 so normalising does something
    return (offset + 2.0 * rng.standard_normal(shape)).astype(dtype)


# ============================================================ batch norm: parity


BN_CASES = [
    (
        "1d (N, C)",
        lambda **k: nn.BatchNorm1d(5, **k),
        lambda **k: torch.nn.BatchNorm1d(5, **k),
        (8, 5),
    ),
    (
        "1d (N, C, L)",
        lambda **k: nn.BatchNorm1d(4, **k),
        lambda **k: torch.nn.BatchNorm1d(4, **k),
        (6, 4, 7),
    ),
    (
        "2d",
        lambda **k: nn.BatchNorm2d(3, **k),
        lambda **k: torch.nn.BatchNorm2d(3, **k),
        (4, 3, 5, 6),
    ),
]
BN_IDS = [c[0] for c in BN_CASES]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,make_a,make_t,shape", BN_CASES, ids=BN_IDS)
def test_batchnorm_training_steps_match_torch(name, make_a, make_t, shape, dtype):
    """Several training steps: outputs, input/weight/bias grads and running statistics;
    then eval outputs and gradients with the running statistics."""
    a_mod, t_mod = _pair(make_a(), make_t(), dtype)
    tol = TOL[dtype]
    for step in range(3):
        x = _data(shape, dtype, seed=step, offset=step - 1.0)
        g = _data(shape, dtype, seed=10 + step, offset=0.0)
        a_mod.zero_grad()
        t_mod.zero_grad()
        (a_y, a_gx), (t_y, t_gx) = _run_both(a_mod, t_mod, x, g)
        assert a_y.dtype == dtype and a_gx.dtype == dtype
        assert_close(a_y, t_y, **tol, msg=f"{name} step {step} output")
        assert_close(a_gx, t_gx, **tol, msg=f"{name} step {step} input grad")
        _check_params_and_buffers(a_mod, t_mod, tol, msg=f"{name} step {step}")
    assert int(a_mod.num_batches_tracked.item()) == 3
    assert a_mod.num_batches_tracked.dtype == np.int64
    assert a_mod.running_mean.dtype == dtype
    a_mod.eval()
    t_mod.eval()
    a_mod.zero_grad()
    t_mod.zero_grad()
    x, g = _data(shape, dtype, seed=7), _data(shape, dtype, seed=8, offset=0.0)
    (a_y, a_gx), (t_y, t_gx) = _run_both(a_mod, t_mod, x, g)
    assert_close(a_y, t_y, **tol, msg=f"{name} eval output")
    assert_close(a_gx, t_gx, **tol, msg=f"{name} eval input grad")
    _check_params_and_buffers(a_mod, t_mod, tol, msg=f"{name} eval")
    assert int(a_mod.num_batches_tracked.item()) == 3  # eval does not count


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(momentum=None),
        dict(momentum=0.5),
        dict(affine=False),
        dict(bias=False),
        dict(track_running_stats=False),
        dict(affine=False, track_running_stats=False),
        dict(eps=1e-2),
    ],
    ids=repr,
)
def test_batchnorm_options_match_torch(kwargs):
    a_mod, t_mod = _pair(nn.BatchNorm2d(3, **kwargs), torch.nn.BatchNorm2d(3, **kwargs), np.float64)
    tol = TOL[np.float64]
    for step in range(4):
        x, g = (
            _data((5, 3, 2, 3), np.float64, seed=step, offset=step),
            _data((5, 3, 2, 3), np.float64, seed=20 + step, offset=0.0),
        )
        a_mod.zero_grad()
        t_mod.zero_grad()
        (a_y, a_gx), (t_y, t_gx) = _run_both(a_mod, t_mod, x, g)
        assert_close(a_y, t_y, **tol)
        assert_close(a_gx, t_gx, **tol)
        _check_params_and_buffers(a_mod, t_mod, tol)
    for mode in ("eval", "train"):
        getattr(a_mod, mode)()
        getattr(t_mod, mode)()
        x = _data((2, 3, 2, 2), np.float64, seed=99)
        assert_close(a_mod(ax.tensor(x)), t_mod(torch.tensor(x)).detach(), **tol, msg=mode)
    assert list(a_mod.state_dict()) == list(t_mod.state_dict())
    if kwargs.get("track_running_stats", True):
        assert int(a_mod.num_batches_tracked.item()) == int(t_mod.num_batches_tracked) == 5


def test_batchnorm_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [_data((4, 2), np.float64, seed=s, offset=s) for s in range(5)]
    bn.double()
    for x in batches:
        bn(ax.tensor(x))
    assert_close(bn.running_mean, np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-12)
    assert_close(bn.running_var, np.mean([b.var(0, ddof=1) for b in batches], axis=0), rtol=1e-12)


def test_batchnorm_running_var_uses_the_unbiased_variance():
    bn = nn.BatchNorm1d(3, momentum=1.0).double()
    x = _data((4, 3), np.float64)
    y = bn(ax.tensor(x))
    assert_close(bn.running_var, x.var(0, ddof=1), rtol=1e-12)
    assert_close(bn.running_mean, x.mean(0), rtol=1e-12)
    # while the output is normalised with the biased one
    assert_close(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)


def test_batchnorm_updates_running_stats_under_no_grad_in_training_mode():
    a, t = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    x = _data((6, 3), np.float32)
    with ax.no_grad():
        a(ax.tensor(x))
    with torch.no_grad():
        t(torch.tensor(x))
    assert_close(a.running_mean, t.running_mean, rtol=1e-5)
    assert_close(a.running_var, t.running_var, rtol=1e-5)


def test_batchnorm_loads_torch_state_dict_and_gives_torch_eval_outputs():
    t = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        t.weight.uniform_(0.5, 2.0)
        t.bias.uniform_(-1.0, 1.0)
    for s in range(3):  # give it non-trivial running statistics
        t(torch.tensor(_data((3, 4, 5, 5), np.float32, seed=s, offset=s)))
    t.eval()
    a = nn.BatchNorm2d(4)
    a.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    a.eval()
    x = _data((2, 4, 5, 5), np.float32, seed=9)
    assert_close(a(ax.tensor(x)), t(torch.tensor(x)).detach(), rtol=1e-5, atol=1e-5)
    assert int(a.num_batches_tracked.item()) == 3


@pytest.mark.parametrize(
    "make_a,make_t",
    [
        (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3)),
        (lambda: nn.BatchNorm2d(3, affine=False), lambda: torch.nn.BatchNorm2d(3, affine=False)),
        (
            lambda: nn.BatchNorm2d(3, track_running_stats=False),
            lambda: torch.nn.BatchNorm2d(3, track_running_stats=False),
        ),
        (lambda: nn.BatchNorm1d(3, bias=False), lambda: torch.nn.BatchNorm1d(3, bias=False)),
        (lambda: nn.LayerNorm((2, 3)), lambda: torch.nn.LayerNorm((2, 3))),
        (
            lambda: nn.LayerNorm(3, elementwise_affine=False),
            lambda: torch.nn.LayerNorm(3, elementwise_affine=False),
        ),
        (lambda: nn.LayerNorm(3, bias=False), lambda: torch.nn.LayerNorm(3, bias=False)),
        (lambda: nn.GroupNorm(2, 4), lambda: torch.nn.GroupNorm(2, 4)),
        (lambda: nn.GroupNorm(2, 4, affine=False), lambda: torch.nn.GroupNorm(2, 4, affine=False)),
    ],
)
def test_state_dict_keys_shapes_dtypes_and_repr_match_torch(make_a, make_t):
    a, t = make_a(), make_t()
    a_sd, t_sd = a.state_dict(), t.state_dict()
    assert list(a_sd) == list(t_sd)
    for k in t_sd:
        assert a_sd[k].shape == tuple(t_sd[k].shape), k
        assert str(a_sd[k].dtype) == str(t_sd[k].dtype).removeprefix("torch."), k
    assert repr(a) == repr(t)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in t.named_parameters()]


def test_batchnorm_reset_running_stats_and_parameters():
    bn = nn.BatchNorm1d(2)
    bn(ax.tensor(_data((4, 2), np.float32)))
    bn.weight.array[...] = 3.0
    bn.reset_parameters()
    assert bn.running_mean.tolist() == [0, 0] and bn.running_var.tolist() == [1, 1]
    assert int(bn.num_batches_tracked.item()) == 0
    assert bn.weight.tolist() == [1, 1] and bn.bias.tolist() == [0, 0]


# ============================================================ batch norm: errors


@pytest.mark.parametrize(
    "mod,shape,want",
    [
        (nn.BatchNorm1d(3), (2, 3, 4, 5), "2D or 3D"),
        (nn.BatchNorm1d(3), (3,), "2D or 3D"),
        (nn.BatchNorm2d(3), (2, 3, 4), "4D"),
    ],
)
def test_batchnorm_wrong_number_of_dims_names_the_shape(mod, shape, want):
    with pytest.raises(ValueError, match=want) as err:
        mod(ax.zeros(*shape))
    assert str(shape) in str(err.value)


def test_batchnorm_wrong_channel_count_and_single_value_per_channel():
    with pytest.raises(RuntimeError, match=r"expected 3 channels.*\(2, 4\)"):
        nn.BatchNorm1d(3)(ax.zeros(2, 4))
    with pytest.raises(RuntimeError, match=r"running_mean of shape \(3,\).*\(2, 4\)"):
        F.batch_norm(ax.zeros(2, 4), ax.zeros(3), ax.ones(3), training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ax.zeros(1, 3))
    bn = nn.BatchNorm1d(3).eval()  # eval with one sample is fine
    assert bn(ax.ones(1, 3)).shape == (1, 3)
    with pytest.raises(RuntimeError, match="evaluation mode"):
        F.batch_norm(ax.zeros(2, 3), None, None, training=False)


# ============================================================ layer norm and group norm


LN_CASES = [
    ((4, 6), lambda **k: nn.LayerNorm(6, **k), lambda **k: torch.nn.LayerNorm(6, **k)),
    ((2, 5, 8), lambda **k: nn.LayerNorm(8, **k), lambda **k: torch.nn.LayerNorm(8, **k)),
    (
        (3, 4, 2, 5),
        lambda **k: nn.LayerNorm((2, 5), **k),
        lambda **k: torch.nn.LayerNorm((2, 5), **k),
    ),
    ((3, 4, 5), lambda **k: nn.GroupNorm(2, 4, **k), lambda **k: torch.nn.GroupNorm(2, 4, **k)),
    ((2, 6, 3, 3), lambda **k: nn.GroupNorm(3, 6, **k), lambda **k: torch.nn.GroupNorm(3, 6, **k)),
    ((2, 6, 3, 3), lambda **k: nn.GroupNorm(1, 6, **k), lambda **k: torch.nn.GroupNorm(1, 6, **k)),
    ((2, 6, 3), lambda **k: nn.GroupNorm(6, 6, **k), lambda **k: torch.nn.GroupNorm(6, 6, **k)),
]


@pytest.mark.parametrize("kwargs", [{}, "no affine", dict(bias=False)], ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "shape,make_a,make_t", LN_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(LN_CASES)]
)
def test_layer_and_group_norm_match_torch(shape, make_a, make_t, dtype, kwargs):
    if kwargs == "no affine":
        kwargs = dict(affine=False) if "Group" in repr(make_t()) else dict(elementwise_affine=False)
    a_mod, t_mod = _pair(make_a(**kwargs), make_t(**kwargs), dtype)
    x, g = _data(shape, dtype), _data(shape, dtype, seed=5, offset=0.0)
    (a_y, a_gx), (t_y, t_gx) = _run_both(a_mod, t_mod, x, g)
    assert a_y.dtype == dtype and a_gx.dtype == dtype
    assert_close(a_y, t_y, **TOL[dtype], msg="output")
    assert_close(a_gx, t_gx, **TOL[dtype], msg="input grad")
    _check_params_and_buffers(a_mod, t_mod, TOL[dtype])
    a_mod.eval()  # no running statistics: eval is the same computation
    assert_close(a_mod(ax.tensor(x)), a_y, rtol=0, atol=0)


def test_layer_norm_bad_shapes():
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[4\].*\[\*, 4\].*\[2, 3\]"):
        nn.LayerNorm(4)(ax.zeros(2, 3))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(ax.zeros(3), (2, 3))
    with pytest.raises(RuntimeError, match="weight"):
        F.layer_norm(ax.zeros(2, 3), (3,), weight=ax.ones(4))


def test_group_norm_bad_shapes():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match=r"divisible by num_groups.*\[2, 6\]"):
        F.group_norm(ax.zeros(2, 6), 4)


# ============================================================ functional forms


def test_functional_batch_norm_matches_torch_and_updates_buffers_in_place():
    x, g = _data((6, 3, 4), np.float64), _data((6, 3, 4), np.float64, seed=3, offset=0)
    w, b = _data((3,), np.float64, seed=4), _data((3,), np.float64, seed=5)
    a_rm, a_rv = ax.zeros(3, dtype=ax.float64), ax.ones(3, dtype=ax.float64)
    t_rm, t_rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    args_a = [ax.tensor(v, requires_grad=True) for v in (x, w, b)]
    args_t = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    for training in (True, False):
        ya = F.batch_norm(args_a[0], a_rm, a_rv, args_a[1], args_a[2], training, 0.3, 1e-3)
        yt = TF.batch_norm(args_t[0], t_rm, t_rv, args_t[1], args_t[2], training, 0.3, 1e-3)
        ya.backward(ax.tensor(g))
        yt.backward(torch.tensor(g))
        assert_close(ya, yt, **TOL[np.float64])
        assert_close(a_rm, t_rm, **TOL[np.float64])
        assert_close(a_rv, t_rv, **TOL[np.float64])
        for a, t in zip(args_a, args_t, strict=True):
            assert_close(a.grad, t.grad, **TOL[np.float64])


def test_functional_layer_and_group_norm_match_torch():
    x = _data((2, 4, 3), np.float64)
    w, b = _data((4, 3), np.float64, seed=2), _data((4, 3), np.float64, seed=3)
    got = F.layer_norm(ax.tensor(x), [4, 3], ax.tensor(w), ax.tensor(b), eps=1e-3)
    want = TF.layer_norm(torch.tensor(x), [4, 3], torch.tensor(w), torch.tensor(b), eps=1e-3)
    assert_close(got, want, **TOL[np.float64])
    assert_close(
        F.layer_norm(ax.tensor(x), 3), TF.layer_norm(torch.tensor(x), [3]), **TOL[np.float64]
    )
    assert_close(
        F.group_norm(ax.tensor(x), 2), TF.group_norm(torch.tensor(x), 2), **TOL[np.float64]
    )


# ============================================================ the fused ops themselves


def _double_inputs(shape, c_shape, seed=0):
    rng = np.random.default_rng(seed)
    return (
        ax.tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True),
        ax.tensor(rng.uniform(0.5, 1.5, c_shape), requires_grad=True),
        ax.tensor(rng.standard_normal(c_shape), requires_grad=True),
    )


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2, 3)])
def test_gradcheck_batch_norm_training(shape):
    x, w, b = _double_inputs(shape, (3,))
    rv = np.ones(3)
    # a fixed weighting of the output, so the loss is not invariant to normalisation
    mix = ax.tensor(np.random.default_rng(1).standard_normal(shape))
    ax.gradcheck(
        lambda x, w, b: (F.batch_norm(x, None, rv.copy(), w, b, True) * mix).sum(), (x, w, b)
    )


def test_gradcheck_batch_norm_eval():
    x, w, b = _double_inputs((4, 3, 2), (3,))
    rm, rv = np.array([0.5, -1.0, 0.0]), np.array([2.0, 0.5, 1.0])
    ax.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, False) ** 2, (x, w, b))


@pytest.mark.parametrize("shape,norm", [((3, 5), (5,)), ((2, 3, 2, 4), (2, 4))])
def test_gradcheck_layer_norm(shape, norm):
    x, w, b = _double_inputs(shape, norm)
    mix = ax.tensor(np.random.default_rng(1).standard_normal(shape))
    ax.gradcheck(lambda x, w, b: F.layer_norm(x, norm, w, b) * mix, (x, w, b))


def test_gradcheck_group_norm():
    x, w, b = _double_inputs((2, 4, 3), (4,))
    mix = ax.tensor(np.random.default_rng(1).standard_normal((2, 4, 3)))
    ax.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b) * mix, (x, w, b))


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.BatchNorm2d(3),
        lambda: nn.BatchNorm2d(3).eval(),
        lambda: nn.LayerNorm(2),
        lambda: nn.GroupNorm(3, 3),
    ],
    ids=["bn-train", "bn-eval", "ln", "gn"],
)
def test_one_graph_node_and_incoming_gradient_untouched(make):
    mod = make().double()
    x = ax.tensor(_data((2, 3, 2, 2), np.float64), requires_grad=True)
    y = mod(x)
    assert (
        y.grad_fn.next_functions
        == (x, mod.weight, mod.bias, None, None, None, None, None)[: len(y.grad_fn.next_functions)]
    )
    g = _data(y.shape, np.float64, seed=3)
    g_before = g.copy()
    y.backward(ax.tensor(g), retain_graph=True)
    first = [x.grad.numpy().copy(), mod.weight.grad.numpy().copy()]
    assert_close(g, g_before, rtol=0, atol=0, msg="incoming gradient modified")
    x.grad = mod.weight.grad = None
    y.backward(ax.tensor(g))  # the saved arrays were not modified either
    assert_close(x.grad, first[0], rtol=0, atol=0)
    assert_close(mod.weight.grad, first[1], rtol=0, atol=0)


def test_only_requested_gradients_are_computed():
    bn = nn.BatchNorm1d(3)
    bn.weight.requires_grad_(False)
    x = ax.tensor(_data((4, 3), np.float32))  # no grad for the input either
    bn(x).sum().backward()
    assert bn.weight.grad is None and x.grad is None
    assert_close(bn.bias.grad, [4.0, 4.0, 4.0])
