"""torch's everyday names that programs reach for, each against torch 2.13: dtype limits,
memory formats, legacy typed constructors, the global generator, window functions,
top-level forms of methods and of nn.functional, in-place shape methods, ``axis=``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import axon as ax
from tests.autograd.parity import helper_test_op
from tests.helpers import assert_close, assert_equal


def parity(shapes, fn, **kwargs):
    """``fn(lib, *tensors)`` run with torch and with axon: values, dtype and gradients.

    On the CPU only: these checks are about names and signatures, and their functions build
    constants as programs do (``lib.tensor(...)`` on the default device); the op suites in
    ``tests/autograd`` and ``tests/nn`` run every op on the strict device too."""
    kwargs.setdefault("devices", ("cpu",))
    helper_test_op(shapes, lambda *t: fn(torch, *t), lambda *t: fn(ax, *t), **kwargs)


def both_raise(fn, exc):
    """``fn(lib)`` raises ``exc`` with torch and with axon; returns axon's message."""
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc) as info:
        fn(ax)
    return str(info.value)


# ------------------------------------------------------------------ 1. dtypes and factories
@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    theirs, ours = torch.finfo(getattr(torch, name)), ax.finfo(getattr(ax, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.dtype == theirs.dtype
    assert ax.finfo().dtype == torch.finfo().dtype == "float32"


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    theirs, ours = torch.iinfo(getattr(torch, name)), ax.iinfo(getattr(ax, name))
    assert (ours.bits, ours.min, ours.max, ours.dtype) == (
        theirs.bits,
        theirs.min,
        theirs.max,
        theirs.dtype,
    )


def test_finfo_iinfo_refuse_the_other_kind():
    both_raise(lambda lib: lib.finfo(lib.int32), TypeError)
    both_raise(lambda lib: lib.iinfo(lib.float32), TypeError)
    both_raise(lambda lib: lib.iinfo(lib.bool), TypeError)


@pytest.mark.parametrize("name", ["uint8", "int8", "int32", "int64", "float32", "bool"])
def test_is_signed(name):
    t, a = torch.zeros(2, dtype=getattr(torch, name)), ax.zeros(2, dtype=getattr(ax, name))
    assert ax.is_signed(a) == torch.is_signed(t) == t.is_signed() == a.is_signed()


def test_memory_formats_are_accepted_and_change_nothing():
    x = ax.randn(2, 3, 4, 5)
    for fmt in (ax.preserve_format, ax.contiguous_format, ax.channels_last):
        assert isinstance(fmt, ax.memory_format)
        assert_close(x.to(memory_format=fmt), x)
        assert_close(x.contiguous(memory_format=fmt), x)
        assert_close(x.clone(memory_format=fmt), x)
        assert_close(ax.clone(x, memory_format=fmt), x)
        z = ax.zeros_like(x, memory_format=fmt)
        assert z.shape == x.shape and not z.array.any()
    assert repr(ax.channels_last_3d) == "axon.channels_last_3d"


def test_legacy_constructors():
    for name in (
        "FloatTensor",
        "DoubleTensor",
        "LongTensor",
        "IntTensor",
        "BoolTensor",
        "ByteTensor",
        "HalfTensor",
        "ShortTensor",
        "CharTensor",
    ):
        theirs, ours = getattr(torch, name), getattr(ax, name)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        sized, t_sized = ours(2, 3), theirs(2, 3)
        assert tuple(sized.shape) == tuple(t_sized.shape)
        assert sized.dtype == t_sized.numpy().dtype
        assert_equal(ours([1, 0, 1]).numpy(), theirs([1, 0, 1]).numpy())
        assert ours([1, 0]).dtype == theirs([1, 0]).numpy().dtype
        assert ours().shape == (0,) == tuple(theirs().shape)
        assert tuple(ours(ax.Size([4])).shape) == tuple(theirs(torch.Size([4])).shape)
    assert isinstance(ax.zeros(2), ax.FloatTensor) and not isinstance(ax.zeros(2), ax.LongTensor)
    assert isinstance(ax.zeros(2, dtype=ax.long), ax.LongTensor)
    assert ax.zeros(2).type(ax.DoubleTensor).dtype == ax.float64
    both_raise(lambda lib: lib.FloatTensor(lib.tensor([1, 2])), TypeError)


def test_byte_char_short_and_new():
    t, a = torch.tensor([1.7, -2.2, 3.0]), ax.tensor([1.7, -2.2, 3.0])
    for m in ("byte", "char", "short"):
        ours, theirs = getattr(a, m)(), getattr(t, m)()
        assert ours.dtype == theirs.numpy().dtype
        assert_equal(ours.numpy(), theirs.numpy())
    assert tuple(a.new(2, 3).shape) == tuple(t.new(2, 3).shape) and a.new(2).dtype == ax.float32
    li, lt = ax.tensor([1, 2]), torch.tensor([1, 2])
    assert_equal(li.new([1.5, 2]).numpy(), lt.new([1.5, 2]).numpy())
    assert li.new([1.5]).dtype == ax.int64


def test_scalar_tensor_asarray_fill_detach_clone():
    for kwargs in ({}, {"dtype": "int64"}):
        ours = ax.scalar_tensor(3, **{k: getattr(ax, v) for k, v in kwargs.items()})
        theirs = torch.scalar_tensor(3, **{k: getattr(torch, v) for k, v in kwargs.items()})
        assert ours.shape == () and ours.dtype == theirs.numpy().dtype and ours.item() == 3
    for data in ([1, 2], [1.0, 2.0], 3.0, [True]):
        ours, theirs = ax.asarray(data), torch.asarray(data)
        assert ours.dtype == theirs.numpy().dtype
        assert_equal(ours.numpy(), theirs.numpy())
    arr = np.array([1.0, 2.0])
    shared, copied = ax.asarray(arr), ax.asarray(arr, copy=True)
    arr[0] = 5.0
    assert shared[0].item() == 5.0 and copied[0].item() == 1.0
    x = ax.randn(3)
    assert ax.asarray(x) is x
    parity([(2, 3)], lambda lib, x: lib.fill(x, 2.5))
    parity([(2, 3)], lambda lib, x: lib.clone(x) * 3)
    x = ax.ones(2, requires_grad=True)
    assert not ax.detach(x).requires_grad and ax.is_same_size(x, ax.zeros(2))
    assert not x.is_same_size(ax.zeros(3))


def test_rng_state_round_trip_and_default_generator():
    assert ax.manual_seed(3) is ax.default_generator
    assert ax.initial_seed() == ax.default_generator.initial_seed() == 3
    state = ax.get_rng_state()
    assert state.dtype == ax.uint8 and state.ndim == 1
    first = ax.rand(4)
    ax.set_rng_state(state)
    assert_close(ax.rand(4), first)
    s = ax.seed()
    assert ax.initial_seed() == s
    ax.manual_seed(0)
    a = ax.randn(3)
    ax.default_generator.manual_seed(0)
    assert_close(ax.randn(3), a)


def test_set_default_tensor_type_and_typename():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ax.set_default_tensor_type(ax.DoubleTensor)
            assert ax.tensor([1.0]).dtype == ax.float64
            ax.set_default_tensor_type("torch.FloatTensor")
            assert ax.tensor([1.0]).dtype == ax.float32
            both_raise(lambda lib: lib.set_default_tensor_type(lib.LongTensor), TypeError)
    finally:
        ax.set_default_dtype(ax.float32)
    assert ax.typename(ax.zeros(2)) == torch.typename(torch.zeros(2)) == "torch.FloatTensor"
    assert ax.typename(3) == torch.typename(3) == "int"
    assert ax.typename(ax.nn.Module) == "axon.nn.module.Module"


def test_range_is_inclusive_and_warns():
    for args in ((0, 1, 0.25), (1, 4), (0, 1, 0.3), (3, 0, -1)):
        with pytest.warns(UserWarning, match="deprecated"):
            ours = ax.range(*args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torch.range(*args)
        assert ours.dtype == theirs.numpy().dtype
        assert_close(ours, theirs)
    both_raise(lambda lib: lib.range(5), TypeError)


@pytest.mark.parametrize(
    "name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
)
def test_windows(name):
    for n in (0, 1, 2, 7, 16):
        for periodic in (True, False):
            ours = getattr(ax, name)(n, periodic, dtype=ax.float64)
            theirs = getattr(torch, name)(n, periodic, dtype=torch.float64)
            assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
            assert tuple(ours.shape) == tuple(theirs.shape)
    assert getattr(ax, name)(5).dtype == ax.float32
    both_raise(lambda lib: getattr(lib, name)(-1), RuntimeError)
    assert "floating" in both_raise(
        lambda lib: getattr(lib, name)(3, dtype=lib.int64), RuntimeError
    )
    assert getattr(ax, name)(4, requires_grad=True).requires_grad


def test_window_parameters():
    assert_close(
        ax.hamming_window(9, False, 0.5, 0.5, dtype=ax.float64),
        torch.hamming_window(9, False, 0.5, 0.5, dtype=torch.float64),
        atol=1e-12,
    )
    assert_close(
        ax.kaiser_window(9, True, 5.0, dtype=ax.float64),
        torch.kaiser_window(9, True, 5.0, dtype=torch.float64),
        atol=1e-12,
    )


# ------------------------------------------------------------------ 2. functional forms
def test_top_level_forms_with_functional_signatures():
    parity([(2, 3, 8), (4, 3, 3), (4,)], lambda lib, x, w, b: lib.conv1d(x, w, b, 1, 1))
    parity([(1, 2, 5, 5), (3, 2, 3, 3)], lambda lib, x, w: lib.conv2d(x, w, None, 2, 1))
    parity([(1, 2, 4, 4), (2, 3, 3, 3)], lambda lib, x, w: lib.conv_transpose2d(x, w))
    parity([(2, 3, 8)], lambda lib, x: lib.max_pool1d(x, 2))
    parity([(2, 3, 6, 6)], lambda lib, x: lib.max_pool2d(x, 3, 2, 1))
    parity([(2, 3, 8)], lambda lib, x: lib.avg_pool1d(x, 3, 2))
    parity([(2, 3, 8)], lambda lib, x: lib.adaptive_avg_pool1d(x, 3))
    parity([(1, 8, 2, 2)], lambda lib, x: lib.pixel_shuffle(x, 2))
    parity([(1, 2, 4, 4)], lambda lib, x: lib.pixel_unshuffle(x, 2))
    parity([(1, 4, 2, 2)], lambda lib, x: lib.channel_shuffle(x, 2), forward_only=True)
    parity([(3, 2), (3, 4), (5, 2, 4), (5,)], lambda lib, a, b, w, c: lib.bilinear(a, b, w, c))
    parity([(2, 5), (5,)], lambda lib, x, w: lib.rms_norm(x, (5,), w, 1e-6))


def test_adaptive_max_pool1d_gives_indices_too():
    parity([(2, 3, 8)], lambda lib, x: lib.adaptive_max_pool1d(x, 3))
    parity([(2, 3, 8)], lambda lib, x: lib.max_pool1d_with_indices(x, 2))


def test_aten_norm_and_embedding_signatures():
    parity(
        [(4, 3, 5), (3,), (3,)],
        lambda lib, x, w, b: lib.batch_norm(
            x,
            w,
            b,
            lib.zeros(3, dtype=lib.float64),
            lib.ones(3, dtype=lib.float64),
            True,
            0.1,
            1e-5,
            False,
        ),
    )
    parity(
        [(4, 3, 5), (3,), (3,)],
        lambda lib, x, w, b: lib.batch_norm(
            x,
            w,
            b,
            lib.full((3,), 0.5, dtype=lib.float64),
            lib.full((3,), 2.0, dtype=lib.float64),
            False,
            0.1,
            1e-5,
            False,
        ),
    )
    parity(
        [(2, 3, 5), (3,), (3,)],
        lambda lib, x, w, b: lib.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
    )
    parity([(2, 3, 5), (5,), (5,)], lambda lib, x, w, b: lib.layer_norm(x, (5,), w, b, 1e-5, False))
    parity([(2, 4, 5), (4,), (4,)], lambda lib, x, w, b: lib.group_norm(x, 2, w, b))
    parity([(6, 3)], lambda lib, w: lib.embedding(w, lib.tensor([[0, 2], [5, 2]])))
    parity([(6, 3)], lambda lib, w: lib.embedding(w, lib.tensor([0, 2, 2]), 2))


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_losses_with_integer_reductions(reduction):
    r = reduction
    parity([(3, 4), (3, 4)], lambda lib, x, y: lib.kl_div(x, y.softmax(-1), r))
    parity(
        [(3, 4), (3, 4)],
        lambda lib, x, y: lib.binary_cross_entropy_with_logits(x, y.sigmoid(), None, None, r),
    )
    parity(
        [(3, 4), (3, 4)],
        lambda lib, a, b: lib.cosine_embedding_loss(
            a, b, lib.tensor([1.0, -1.0, 1.0], dtype=lib.float64), 0.1, r
        ),
    )
    parity(
        [(3, 4)],
        lambda lib, x: lib.hinge_embedding_loss(
            x, lib.tensor([1.0, -1.0, 1.0, -1.0], dtype=lib.float64), 1.0, r
        ),
    )
    parity(
        [(5,), (5,)],
        lambda lib, a, b: lib.margin_ranking_loss(
            a, b, lib.tensor([1.0, -1.0, 1.0, 1.0, -1.0], dtype=lib.float64), 0.2, r
        ),
    )
    parity(
        [(3, 4), (3, 4)], lambda lib, x, y: lib.poisson_nll_loss(x, y.exp(), True, False, 1e-8, r)
    )
    parity(
        [(3, 4), (3, 4), (3, 4)],
        lambda lib, a, p, n: lib.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6, False, r),
    )


def test_ctc_loss_integer_reduction():
    def fn(lib, x):
        targets = lib.tensor([[1, 2], [2, 2]])
        return lib.ctc_loss(x.log_softmax(-1), targets, [5, 4], [2, 2], 0, 1, False)

    parity([(5, 2, 3)], fn)


def test_pad_grid_and_dropout_forms():
    parity([(2, 3)], lambda lib, x: lib.constant_pad_nd(x, [1, 2], 0.5))
    parity([(2, 2, 3)], lambda lib, t: lib.affine_grid_generator(t, [2, 1, 4, 5], False))
    grid = np.random.default_rng(0).uniform(-1, 1, (1, 3, 3, 2))
    for mode in (0, 1):
        for pad in (0, 1, 2):
            parity(
                [(1, 2, 4, 4)],
                lambda lib, x, mode=mode, pad=pad: lib.grid_sampler(
                    x, lib.tensor(grid), mode, pad, False
                ),
            )
    x = ax.ones(100)
    assert_close(ax.dropout(x, 0.3, False), x)
    kept = ax.dropout(x, 0.5, True)
    assert set(np.unique(kept.numpy())) <= {0.0, 2.0} and 0 < kept.numpy().sum() < 200
    y = ax.ones(100)
    assert ax.dropout_(y, 0.5, True) is y and set(np.unique(y.numpy())) <= {0.0, 2.0}
    assert_close(ax.alpha_dropout(x, 0.5, False), x)
    assert_close(ax.feature_alpha_dropout(x, 0.5, False), x)


# ------------------------------------------------------------------ 3. in-place functions
@pytest.mark.parametrize(
    "name",
    [
        "abs_",
        "exp_",
        "sqrt_",
        "sin_",
        "floor_",
        "neg_",
        "reciprocal_",
        "log1p_",
        "sigmoid_",
        "tanh_",
    ],
)
def test_top_level_in_place(name):
    values = np.random.default_rng(1).uniform(0.1, 2.0, (3, 4))
    t, a = torch.tensor(values), ax.tensor(values)
    assert getattr(ax, name)(a) is a
    getattr(torch, name)(t)
    assert_close(a, t, rtol=1e-12)


def test_top_level_in_place_with_arguments():
    values = np.random.default_rng(2).normal(size=(3, 4))
    t, a = torch.tensor(values), ax.tensor(values)
    ax.clamp_(a, min=-0.5, max=0.5)
    torch.clamp_(t, min=-0.5, max=0.5)
    assert_close(a, t)
    a2, t2 = ax.zeros(3), torch.zeros(3)
    ax.fill_(a2, 2.0), torch.fill_(t2, 2.0), ax.zero_(a), torch.zero_(t)
    assert_close(a2, t2)
    assert_close(a, t)


# ------------------------------------------------------------------ 4. Tensor methods
@pytest.mark.parametrize(
    "call",
    [
        "squeeze_()",
        "squeeze_(1)",
        "unsqueeze_(0)",
        "t_()",
        "transpose_(0, 1)",
        "swapaxes_(0, 1)",
        "swapdims_(1, 0)",
    ],
)
def test_in_place_shape_methods(call):
    values = np.arange(3.0).reshape(3, 1) if call == "t_()" else np.arange(6.0).reshape(3, 1, 2)
    t, a = torch.tensor(values), ax.tensor(values)
    assert eval(f"a.{call}") is a
    eval(f"t.{call}")
    assert tuple(a.shape) == tuple(t.shape)
    assert_close(a, t)
    # on a graph: the result is recorded and the gradient flows back to the leaf
    leaf_t = torch.tensor(values, requires_grad=True)
    leaf_a = ax.tensor(values, requires_grad=True)
    mid_t, mid_a = leaf_t * 2, leaf_a * 2
    eval(f"mid_t.{call}")
    eval(f"mid_a.{call}")
    (mid_t * torch.arange(mid_t.numel() * 1.0).reshape(mid_t.shape)).sum().backward()
    (mid_a * ax.arange(mid_a.numel() * 1.0).reshape(mid_a.shape)).sum().backward()
    assert_close(leaf_a.grad, leaf_t.grad)
    shape = tuple(values.shape)
    both_raise(lambda lib: eval(f"lib.zeros({shape}, requires_grad=True).{call}"), RuntimeError)


def test_resize_and_sum_to_size():
    t, a = torch.arange(6.0).reshape(2, 3), ax.arange(6.0).reshape(2, 3)
    assert_close(a.resize_(4), t.resize_(4))
    assert_close(a.resize_(2, 2), t.resize_(2, 2))
    assert a.resize_(3, 3).shape == (3, 3)
    assert_close(a[:1, :1], ax.zeros(1, 1))
    assert a.resize_as_(ax.zeros(1, 2)).shape == (1, 2)
    both_raise(lambda lib: lib.zeros(3, requires_grad=True).resize_(2), RuntimeError)
    parity([(2, 3, 4)], lambda lib, x: x.sum_to_size(3, 1))
    parity([(2, 3, 4)], lambda lib, x: x.sum_to_size((1, 3, 4)))
    parity([(2, 3)], lambda lib, x: x.sum_to_size(2, 3))
    both_raise(lambda lib: lib.ones(2, 3).sum_to_size(2, 2), RuntimeError)


def test_renorm_adjoint_split_with_sizes():
    parity([(3, 4)], lambda lib, x: (x * 1).renorm_(2, 0, 1.0))
    parity([(2, 3, 4)], lambda lib, x: x.mH * 1)
    parity([(3, 4)], lambda lib, x: x.H * 1)
    parity([(2, 3, 4)], lambda lib, x: x.adjoint() * lib.adjoint(x))
    both_raise(lambda lib: lib.zeros(2, 3, 4).H, RuntimeError)
    parity([(5, 2)], lambda lib, x: x.split_with_sizes([2, 3]))
    parity([(2, 5)], lambda lib, x: lib.split_with_sizes(x, [1, 4], 1))
    message = both_raise(lambda lib: lib.zeros(4).split_with_sizes([1, 2]), RuntimeError)
    assert "sum exactly to 4" in message


def test_small_tensor_methods():
    t, a = torch.arange(4.0), ax.arange(4.0)
    assert a.is_cpu and not a.is_shared() and a.share_memory_() is a
    assert_close(a.apply_(lambda v: v * 2 + 1), t.apply_(lambda v: v * 2 + 1))
    assert_close(a.map_(ax.ones(4), lambda u, v: u - v), t.map_(torch.ones(4), lambda u, v: u - v))
    both_raise(lambda lib: lib.zeros(2, requires_grad=True).apply_(abs), RuntimeError)
    parity([(3, 4)], lambda lib, x: x.float().softmax(1, dtype=lib.float64))
    parity([(3, 4)], lambda lib, x: x.float().log_softmax(0, lib.float64))
    t, a = torch.tensor([5.0, -7.0]), ax.tensor([5.0, -7.0])
    for mode in ("floor", "trunc", None):
        assert_close(a.clone().div_(2, rounding_mode=mode), t.clone().div_(2, rounding_mode=mode))
    nan = float("nan")
    assert ax.allclose(ax.tensor([nan, 1.0]), ax.tensor([nan, 1.0]), equal_nan=True)
    assert not ax.allclose(ax.tensor([nan]), ax.tensor([nan]))


def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    seen = {}
    for lib in (torch, ax):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        w.grad = lib.tensor([10.0, 10.0])
        w.register_post_accumulate_grad_hook(
            lambda p, lib=lib: seen.__setitem__(lib.__name__, p.grad.numpy().copy())
        )
        (w * 3).sum().backward()
        assert_equal(w.grad.numpy(), [13.0, 13.0])
    assert_equal(seen["axon"], seen["torch"])


def test_input_keyword_and_axis_alias():
    parity([(3, 4)], lambda lib, x: lib.sum(input=x) + lib.mean(input=x, dim=0).sum())
    parity([(3, 4)], lambda lib, x: lib.clamp(input=x, min=0.0))
    calls = [
        "lib.softmax(x, axis=0)",
        "lib.log_softmax(x, axis=1)",
        "x.softmax(axis=0)",
        "lib.squeeze(x[:1], axis=0)",
        "lib.unsqueeze(x, axis=1)",
        "x.unsqueeze(axis=0)",
        "lib.cat([x, x], axis=1)",
        "lib.stack([x, x], axis=0)",
        "lib.concat([x, x], axis=1)",
        "lib.cumsum(x, axis=0)",
        "lib.sort(x, axis=0).values",
        "x.sort(axis=0).values",
        "lib.topk(x, 2, axis=0).values",
        "x.topk(2, axis=0).values",
        "lib.gather(x, axis=0, index=lib.zeros(1, 4, dtype=lib.long))",
        "lib.unbind(x, axis=1)[0]",
        "lib.chunk(x, 2, axis=1)[0]",
        "lib.index_select(x, axis=1, index=lib.tensor([0, 2]))",
        "lib.narrow(x, axis=1, start=1, length=2)",
        "lib.median(x, axis=0).values",
        "x.kthvalue(2, axis=0).values",
        "x.select(axis=0, index=1)",
        "x.repeat_interleave(2, axis=0)",
    ]
    for call in calls:
        parity([(3, 4)], lambda lib, x, call=call: eval(call))
    assert lib_argsort_axis_ok()
    both_raise(lambda lib: lib.softmax(lib.zeros(2), dim=0, axis=0), TypeError)


def lib_argsort_axis_ok():
    x = np.random.default_rng(3).normal(size=(3, 4))
    return np.array_equal(
        ax.argsort(ax.tensor(x), axis=0).numpy(), torch.argsort(torch.tensor(x), axis=0).numpy()
    )


# ------------------------------------------------------------------ 5. nn names
def _parameter_dicts(data):
    """The same ParameterDict built in torch and in axon from ``data(lib)``."""
    return torch.nn.ParameterDict(data(torch)), ax.nn.ParameterDict(data(ax))


def test_parameter_dict_order_and_state_dict():
    from collections import OrderedDict

    for data in (
        lambda lib: {"b": lib.ones(2), "a": lib.nn.Parameter(lib.zeros(3))},
        lambda lib: OrderedDict([("b", lib.ones(2)), ("a", lib.zeros(3))]),
        lambda lib: [("z", lib.ones(1)), ("y", lib.ones(1))],
    ):
        theirs, ours = _parameter_dicts(data)
        assert list(ours) == list(theirs) and list(ours.keys()) == list(theirs.keys())
        assert all(isinstance(p, ax.nn.Parameter) and p.requires_grad for p in ours.values())
        holder_t, holder_a = torch.nn.Module(), ax.nn.Module()
        holder_t.pd, holder_a.pd = theirs, ours
        assert list(holder_a.state_dict()) == list(holder_t.state_dict())
        assert [n for n, _ in holder_a.named_parameters()] == [
            n for n, _ in holder_t.named_parameters()
        ]
        assert holder_a.to(ax.float64).pd[next(iter(ours))].dtype == ax.float64


def test_parameter_dict_mapping_methods():
    theirs, ours = _parameter_dicts(lambda lib: {"b": lib.ones(2), "a": lib.zeros(3)})
    for pd, lib in ((theirs, torch), (ours, ax)):
        pd.update({"z": lib.ones(1), "y": lib.ones(1)})
        pd["c"] = 5
        pd.setdefault("q", lib.ones(4))
        del pd["a"]
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert ours["c"] == 5 and "c" not in ours.state_dict() and "c" not in theirs.state_dict()
    assert ours.pop("c") == theirs.pop("c") and ours.get("nope", 3) == 3
    assert ours.popitem()[0] == theirs.popitem()[0] and list(ours) == list(theirs)
    copy = ours.copy()
    assert list(copy) == list(ours) and copy["b"] is ours["b"]
    assert list(ours | {"k": ax.ones(1)}) == list(theirs | {"k": torch.ones(1)})
    assert "(b): Parameter containing: [torch.FloatTensor of size 2]" in repr(ours)
    both_raise(lambda lib: lib.nn.ParameterDict()[1], TypeError)
    both_raise(lambda lib: lib.nn.ParameterDict()["missing"], AttributeError)
    ours.clear()
    assert len(ours) == 0 and not list(ours.parameters())


def test_buffer_assignment_registers_a_buffer():
    def build(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.kept = lib.nn.Buffer(lib.ones(2))
                self.scratch = lib.nn.Buffer(lib.zeros(1), persistent=False)

        return M()

    theirs, ours = build(torch), build(ax)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["kept"]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert type(ours.kept) is ax.Tensor and not ours.kept.requires_grad
    assert not list(ours.parameters())


@pytest.mark.parametrize(
    "name",
    [
        "uniform",
        "normal",
        "constant",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "orthogonal",
        "eye",
    ],
)
def test_deprecated_init_aliases(name):
    args = (0.5,) if name == "constant" else ()
    with pytest.warns(FutureWarning, match=f"nn.init.{name}_"):
        getattr(ax.nn.init, name)(ax.zeros(3, 4), *args)
    ax.manual_seed(0)
    with pytest.warns(FutureWarning):
        old = getattr(ax.nn.init, name)(ax.zeros(3, 4), *args)
    ax.manual_seed(0)
    assert_close(old, getattr(ax.nn.init, name + "_")(ax.zeros(3, 4), *args))


def test_module_paths():
    from axon.nn.common_types import _size_2_t  # noqa: F401
    from axon.nn.parameter import Buffer, Parameter, UninitializedParameter

    assert Parameter is ax.nn.Parameter and Buffer is ax.nn.Buffer
    assert UninitializedParameter is ax.nn.UninitializedParameter


# ------------------------------------------------------------------ 6. promotion and bools
@pytest.mark.parametrize(
    "dtypes",
    [
        ("int64", "float32"),
        ("float32", "float64"),
        ("bool", "int8"),
        ("int32", "int64"),
        ("uint8", "int8"),
        ("float16", "int64"),
    ],
)
def test_cat_and_stack_promote_as_torch(dtypes):
    values = np.arange(6).reshape(2, 3) % 2
    t = [torch.tensor(values).to(getattr(torch, d)) for d in dtypes]
    a = [ax.tensor(values).to(getattr(ax, "bool_" if d == "bool" else d)) for d in dtypes]
    for fn in ("cat", "stack"):
        theirs, ours = getattr(torch, fn)(t, 0), getattr(ax, fn)(a, 0)
        assert ours.dtype == theirs.numpy().dtype, (fn, dtypes)
        assert_equal(ours.numpy(), theirs.numpy())


def test_promoted_cat_carries_each_gradient_in_its_dtype():
    def fn(lib, x, y):
        return lib.cat([x.float(), y, lib.tensor([[1, 2, 3]])], 0)

    parity([(2, 3), (1, 3)], fn)
    parity([(2, 3), (2, 3)], lambda lib, x, y: lib.stack([x.float(), y], 1))


def test_bool_negation_and_subtraction_raise_runtime_error():
    assert "bool tensor" in both_raise(lambda lib: -lib.tensor([True, False]), RuntimeError)
    assert "logical_xor" in both_raise(
        lambda lib: lib.tensor([True]) - lib.tensor([False]), RuntimeError
    )
    both_raise(lambda lib: lib.tensor([True]) - 1, RuntimeError)
    both_raise(lambda lib: 1 - lib.tensor([True]), RuntimeError)
    both_raise(lambda lib: lib.neg(lib.tensor([True])), RuntimeError)
    assert_equal((-ax.tensor([1, -2])).numpy(), [-1, 2])
    assert_equal((ax.tensor([3]) - 1).numpy(), [2])


# ------------------------------------------------------------------ more small names
def test_dtype_aliases_and_switches():
    for name in ("short", "uint16", "uint32", "uint64"):
        assert (
            ax.zeros(1, dtype=getattr(ax, name)).dtype
            == torch.zeros(1, dtype=getattr(torch, name)).numpy().dtype
        )
    assert ax.newaxis is torch.newaxis is None and ax.version.cuda is torch.version.cuda
    assert ax.set_flush_denormal(False) == torch.set_flush_denormal(False)
    ax.set_warn_always(True)
    assert ax.is_warn_always_enabled()
    ax.set_warn_always(False)
    assert ax.get_num_interop_threads() >= 1
    both_raise(lambda lib: lib.set_num_interop_threads(0), RuntimeError)
    assert ax.is_anomaly_check_nan_enabled() == torch.is_anomaly_check_nan_enabled()
    ax.set_anomaly_enabled(True)
    assert ax.is_anomaly_enabled()
    ax.set_anomaly_enabled(False)
    assert not ax.is_anomaly_enabled()
    strategies = ax.multiprocessing.get_all_sharing_strategies()
    assert strategies == torch.multiprocessing.get_all_sharing_strategies()
    both_raise(lambda lib: lib.multiprocessing.set_sharing_strategy("nope"), AssertionError)


@pytest.mark.parametrize(
    "pair",
    [
        ("float32", "int32"),
        ("int32", "float32"),
        ("float64", "float32"),
        ("bool", "int8"),
        ("int64", "uint8"),
        ("int8", "bool"),
    ],
)
def test_can_cast(pair):
    src, dst = pair
    tdt = [getattr(torch, n) for n in pair]
    adt = [getattr(ax, "bool_" if n == "bool" else n) for n in (src, dst)]
    assert ax.can_cast(*adt) == torch.can_cast(*tdt)


def test_fork_rng_restores_the_global_stream():
    ax.manual_seed(1)
    expected = ax.rand(3)
    ax.manual_seed(1)
    with ax.random.fork_rng():
        ax.rand(5)
        ax.manual_seed(7)
        ax.randn(2)
    assert_close(ax.rand(3), expected)
    assert ax.random.get_rng_state is ax.get_rng_state


def test_queries_buffers_and_copies():
    t, a = torch.tensor([[0, 1], [3, 0]]), ax.tensor([[0, 1], [3, 0]])
    assert not ax.is_neg(a) and not a.is_neg() and ax.get_device(a) == a.get_device() == -1
    assert ax.is_inference(a) == torch.is_inference(t)
    for size, fill in ((1, -1), (3, -1), (4, 7)):
        assert_equal(
            ax.nonzero_static(a, size=size, fill_value=fill).numpy(),
            torch.nonzero_static(t, size=size, fill_value=fill).numpy(),
        )
    raw = bytearray(np.arange(4, dtype=np.float32).tobytes())
    ours = ax.frombuffer(raw, dtype=ax.float32, count=2, offset=4)
    assert_close(ours, torch.frombuffer(bytearray(raw), dtype=torch.float32, count=2, offset=4))
    ours[0] = 9.0
    assert np.frombuffer(raw, dtype=np.float32)[1] == 9.0
    assert ax.empty_strided((2, 3), (3, 1)).shape == (2, 3)
    x = ax.arange(6.0).reshape(2, 3)
    assert x.dim_order() == torch.zeros(2, 3).dim_order()
    assert x.t().dim_order() == torch.zeros(2, 3).t().dim_order()
    assert x.to_dense() is x and x.output_nr == 0 and x.const_data_ptr() == x.data_ptr()
    parity([(2, 3)], lambda lib, x: lib.transpose_copy(x, 0, 1))
    parity([(2, 3)], lambda lib, x: lib.unbind_copy(x, 1))
    parity([(2, 3)], lambda lib, x: lib.narrow_copy(x, 1, 1, 2))
    parity([(2, 3)], lambda lib, x: lib.unsafe_split(x, 2, 1))
    parity([(4, 3)], lambda lib, x: lib.unsafe_chunk(x, 2))
    copied = ax.view_copy(x, (6,))
    copied[0] = 100.0
    assert x[0, 0].item() == 0.0
    with pytest.warns(UserWarning, match="non-inplace resize"):
        assert x.resize(3, 2).shape == (3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both_raise(lambda lib: lib.zeros(3).resize(2), RuntimeError)


# ------------------------------------------------------------------ linalg's rest
def test_linalg_error_is_a_runtime_error_torch_names():
    assert issubclass(ax.linalg.LinAlgError, RuntimeError)
    for call in (
        lambda lib: lib.linalg.inv(lib.zeros(2, 2)),
        lambda lib: lib.linalg.solve(lib.zeros(2, 2), lib.ones(2)),
        lambda lib: lib.linalg.cholesky(-lib.eye(2)),
    ):
        with pytest.raises(torch.linalg.LinAlgError):
            call(torch)
        with pytest.raises(ax.linalg.LinAlgError):
            call(ax)


def test_vander_and_tensor_solves():
    # torch's vander cannot backward: its gradient is checked by gradcheck
    for args in ((), (2,), (4, True), (3, False), (1,), (1, True)):
        parity([(3,)], lambda lib, x, args=args: lib.vander(x, *args), forward_only=True)
        assert ax.gradcheck(
            lambda x, args=args: ax.vander(x, *args),
            ax.randn(3, dtype=ax.float64, requires_grad=True),
        )
    assert_equal(
        ax.vander(ax.tensor([1, 2, 3])).numpy(), torch.vander(torch.tensor([1, 2, 3])).numpy()
    )
    assert ax.vander(ax.ones(2), 0).shape == (2, 0)
    parity([(2, 3)], lambda lib, x: lib.linalg.vander(x, N=4))
    both_raise(lambda lib: lib.vander(lib.zeros(2, 2)), RuntimeError)
    both_raise(lambda lib: lib.linalg.vander(lib.zeros(3), N=1), RuntimeError)
    parity([()], lambda lib, x: lib.linalg.vander(x, N=3))
    parity(
        [(4, 2, 2)], lambda lib, a: lib.linalg.tensorinv(a + 3 * lib.eye(4).reshape(4, 2, 2), ind=1)
    )
    both_raise(lambda lib: lib.linalg.tensorinv(lib.ones(4, 2, 2)), RuntimeError)
    both_raise(lambda lib: lib.linalg.tensorinv(lib.eye(4).reshape(4, 2, 2), ind=0), RuntimeError)
    parity(
        [(2, 3, 6), (2, 3)],
        lambda lib, a, b: lib.linalg.tensorsolve(a + 4 * lib.eye(6).reshape(2, 3, 6), b),
    )
    parity(
        [(6, 2, 3), (2, 3)],
        lambda lib, a, b: lib.linalg.tensorsolve(a + 4 * lib.eye(6).reshape(6, 2, 3), b, dims=(0,)),
    )
    parity([(3, 3), (3, 2)], lambda lib, a, b: lib.linalg.solve_ex(a + 3 * lib.eye(3), b)[0])
    result, info = ax.linalg.solve_ex(ax.eye(3), ax.ones(3))
    assert info.dtype == ax.int32 and info.shape == ()


# ------------------------------------------------------------------ autograd and devices
def test_gradgradcheck_passes_right_second_derivatives_and_fails_wrong_ones():
    x = ax.randn(3, dtype=ax.float64, requires_grad=True)
    w = ax.randn(3, 2, dtype=ax.float64, requires_grad=True)
    assert ax.autograd.gradgradcheck(lambda x: x.tanh() * x.exp(), x)
    assert ax.autograd.gradgradcheck(lambda x, w: (x @ w).sigmoid(), (x, w))

    def cube(lib):
        class Cube(lib.autograd.Function):  # right first derivative, no second one
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x**3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x.detach() ** 2

        return Cube.apply

    for lib in (torch, ax):
        values = np.random.default_rng(0).normal(size=3)
        t = lib.tensor(values, requires_grad=True)
        assert lib.autograd.gradcheck(cube(lib), (t,))
        assert not lib.autograd.gradgradcheck(cube(lib), (t,), raise_exception=False)


def test_autograd_paths_and_tensor_like():
    assert ax.autograd.variable.Variable is ax.autograd.Variable
    assert ax.autograd.anomaly_mode.detect_anomaly is ax.autograd.detect_anomaly
    for obj in (ax.zeros(1), 3, [1.0]):
        theirs = torch.autograd.is_tensor_like(
            torch.zeros(1) if isinstance(obj, ax.Tensor) else obj
        )
        assert ax.autograd.is_tensor_like(obj) == theirs


def test_device_queries_and_set_():
    a, t = ax.zeros(2), torch.zeros(2)
    for name in ("is_mps", "is_xla", "is_ipu", "is_maia", "is_vulkan"):
        assert getattr(a, name) == getattr(t, name)
    assert ax.is_vulkan_available() == torch.is_vulkan_available()
    assert ax.cpu.is_available() == torch.cpu.is_available()
    assert ax.cpu.device_count() == torch.cpu.device_count()
    assert ax.cpu.current_device() == torch.cpu.current_device()
    ax.cpu.synchronize()
    for lib in (torch, ax):
        x, y = lib.zeros(2), lib.ones(3)
        assert x.set_(y) is x and x.is_set_to(y) and tuple(x.shape) == (3,)
        x[0] = 5.0
        assert y[0].item() == 5.0 and not x.is_set_to(lib.ones(3))
        assert tuple(lib.zeros(2).set_().shape) == (0,)
    hist = ax.tensor([1.0, 1.0, 2.0]).histogram(bins=2)
    theirs = torch.tensor([1.0, 1.0, 2.0]).histogram(bins=2)
    assert_close(hist.hist, theirs.hist)
    assert_close(hist.bin_edges, theirs.bin_edges)

    class Tagged(ax.Tensor):
        pass

    w = ax.ones(2, requires_grad=True)
    tagged = (w * 2).as_subclass(Tagged)
    assert type(tagged) is Tagged
    tagged.sum().backward()
    assert_close(w.grad, ax.full((2,), 2.0))


# ------------------------------------------------------------------ torch.gradient
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_matches_torch(edge_order):
    e = edge_order
    parity([(5,)], lambda lib, f: lib.gradient(f, edge_order=e))
    parity([(4, 5)], lambda lib, f: lib.gradient(f, spacing=2.0, edge_order=e))
    parity([(4, 5)], lambda lib, f: lib.gradient(f, spacing=[0.5, 3.0], edge_order=e))
    parity([(4, 5)], lambda lib, f: lib.gradient(f, dim=1, edge_order=e))
    parity([(3, 4, 5)], lambda lib, f: lib.gradient(f, dim=[0, -1], edge_order=e))
    coords = np.array([0.0, 0.5, 1.7, 2.0, 3.5])
    parity(
        [(3, 5)], lambda lib, f: lib.gradient(f, spacing=(lib.tensor(coords),), dim=1, edge_order=e)
    )
    parity([(3,)], lambda lib, f: lib.gradient(f, edge_order=e))
    ints = [1, 2, 4, 7, 11]
    for lib in (torch, ax):
        assert lib.gradient(lib.tensor(ints))[0].dtype == lib.float32


def test_gradient_refuses_as_torch():
    both_raise(lambda lib: lib.gradient(lib.ones(2), edge_order=2), RuntimeError)
    both_raise(lambda lib: lib.gradient(lib.ones(3), edge_order=3), RuntimeError)
    both_raise(lambda lib: lib.gradient(lib.ones(3), spacing=[1.0, 2.0]), RuntimeError)
    both_raise(lambda lib: lib.gradient(lib.ones(3), dim=1), IndexError)


# ------------------------------------------------------------------ DistributedSampler
@pytest.mark.parametrize(
    "n, replicas, drop_last",
    [(5, 2, False), (5, 2, True), (3, 7, False), (10, 3, True), (10, 5, False)],
)
def test_distributed_sampler_without_shuffle_is_torchs(n, replicas, drop_last):
    from torch.utils.data import DistributedSampler as TorchSampler

    for rank in range(replicas):
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        ours = ax.data.DistributedSampler(
            range(n), replicas, rank, shuffle=False, drop_last=drop_last
        )
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffles_by_seed_and_epoch():
    shares = [ax.data.DistributedSampler(range(11), 3, r, seed=4) for r in range(3)]
    first = [list(s) for s in shares]
    assert set(sum(first, [])) == set(range(11)) and all(len(f) == 4 for f in first)
    assert [list(s) for s in shares] == first
    for s in shares:
        s.set_epoch(1)
    assert [list(s) for s in shares] != first
    both_raise(lambda lib: lib_sampler(lib)(range(4)), ValueError)
    both_raise(lambda lib: lib_sampler(lib)(range(4), num_replicas=2, rank=2), ValueError)


def lib_sampler(lib):
    return ax.data.DistributedSampler if lib is ax else torch.utils.data.DistributedSampler


# ------------------------------------------------------------------ nn.grad and odds
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("groups", [1, 2])
def test_nn_grad_conv_input_and_weight(n, groups):
    """Forward values only: axon's convolutions have no second derivative yet."""
    spatial, kernel, out_size = (6,) * n, (3,) * n, (3,) * n  # stride 2, padding 1

    def fn(lib, x, w, g):
        conv = f"conv{n}d"
        gin = getattr(lib.nn.grad, conv + "_input")(x.shape, w, g, 2, 1, 1, groups)
        gw = getattr(lib.nn.grad, conv + "_weight")(x, w.shape, g, 2, 1, 1, groups)
        return gin, gw

    parity([(2, 4) + spatial, (4, 4 // groups) + kernel, (2, 4) + out_size], fn, forward_only=True)


def test_container_factory_kwargs_binomial():
    with pytest.warns(FutureWarning, match="Container is deprecated"):
        box = ax.nn.Container(fc=ax.nn.Linear(2, 3))
    assert [n for n, _ in box.named_parameters()] == ["fc.weight", "fc.bias"]
    for kwargs in ({"dtype": ax.float64}, {"factory_kwargs": {"device": "cpu"}, "dtype": 1}, None):
        assert ax.nn.factory_kwargs(kwargs) == torch.nn.factory_kwargs(kwargs)
    both_raise(lambda lib: lib.nn.factory_kwargs({"bias": True}), TypeError)
    both_raise(
        lambda lib: lib.nn.factory_kwargs({"dtype": 1, "factory_kwargs": {"dtype": 2}}), TypeError
    )
    ax.manual_seed(0)
    draws = ax.binomial(ax.full((2000,), 10.0), ax.full((2000,), 0.3))
    assert draws.dtype == ax.float32 and 2.8 < draws.mean().item() < 3.2
    assert draws.max().item() <= 10 and draws.min().item() >= 0
    assert_close(ax.binomial(ax.tensor([4.0, 7.0]), ax.tensor([0.0, 1.0])), [0.0, 7.0])
    both_raise(lambda lib: lib.binomial(lib.tensor([10]), lib.tensor([0.5])), ValueError)


# ------------------------------------------------------------------ distributions
def _dist(lib, name, *args, **kwargs):
    return getattr(lib.distributions, name)(*args, **kwargs)


def test_categorical_log_prob_entropy_and_gradients():
    values = np.array([[2, 0], [1, 1]])
    for kind in ("logits", "probs"):

        def fn(lib, p, kind=kind):
            param = p if kind == "logits" else p.softmax(-1) * 3  # unnormalised probs
            d = _dist(lib, "Categorical", **{kind: param})
            v = lib.tensor(values)
            return d.log_prob(v), d.entropy(), d.probs, d.logits

        parity([(2, 3)], fn)
    parity([(4,)], lambda lib, p: _dist(lib, "Categorical", logits=p).log_prob(lib.tensor(3)))


def test_categorical_samples_shapes_and_frequencies():
    ax.manual_seed(0)
    d = ax.distributions.Categorical(probs=ax.tensor([0.2, 0.5, 0.3]))
    draws = d.sample((20000,))
    assert draws.dtype == ax.int64 and draws.shape == (20000,)
    freq = np.bincount(draws.numpy(), minlength=3) / 20000
    assert np.allclose(freq, [0.2, 0.5, 0.3], atol=0.015)
    batch = ax.distributions.Categorical(logits=ax.zeros(4, 5))
    assert batch.sample().shape == (4,) and batch.sample((2, 3)).shape == (2, 3, 4)
    assert tuple(batch.batch_shape) == (4,) and tuple(batch.event_shape) == ()
    assert d.mode.item() == 1


@pytest.mark.parametrize("name, args", [("Normal", ((3,), (3,))), ("Uniform", ((3,), (3,)))])
def test_continuous_log_prob_entropy_moments(name, args):
    def fn(lib, a, b):
        first, second = (a, b.abs() + 0.5) if name == "Normal" else (a, a + b.abs() + 0.5)
        d = _dist(lib, name, first, second)
        value = first + 0.25 * (second - first if name == "Uniform" else second)
        return d.log_prob(value), d.entropy(), d.mean, d.variance, d.stddev, d.cdf(value)

    parity(list(args), fn)
    parity(
        [(3,), (3,)],
        lambda lib, a, b: _dist(lib, "Normal", a, b.abs() + 0.5).icdf(
            lib.tensor([0.1, 0.5, 0.9], dtype=lib.float64)
        ),
    )


def test_rsample_is_differentiable_and_sample_is_not():
    for name, params in (
        ("Normal", (ax.zeros(3, requires_grad=True), ax.ones(3))),
        ("Uniform", (ax.zeros(3, requires_grad=True), ax.ones(3) * 2)),
    ):
        d = _dist(ax, name, *params)
        assert d.rsample((2,)).shape == (2, 3) and d.rsample().requires_grad
        assert not d.sample().requires_grad
        d.rsample((5,)).sum().backward()
        if name == "Normal":  # d(loc + eps * scale) / d loc = 1 for each of the 5 draws
            assert_close(params[0].grad, ax.full((3,), 5.0))
        else:  # d(low + u (high - low)) / d low = 1 - u, each in (0, 1]
            assert ((params[0].grad.numpy() > 0) & (params[0].grad.numpy() <= 5)).all()
    ax.manual_seed(1)
    normal = ax.distributions.Normal(2.0, 3.0).sample((20000,))
    assert abs(normal.mean().item() - 2.0) < 0.1 and abs(normal.std().item() - 3.0) < 0.1


def test_bernoulli_matches_torch():
    for kind in ("probs", "logits"):

        def fn(lib, p, kind=kind):
            d = _dist(lib, "Bernoulli", **{kind: p.sigmoid() if kind == "probs" else p})
            v = lib.tensor([1.0, 0.0, 1.0], dtype=lib.float64)
            return d.log_prob(v), d.entropy(), d.mean, d.variance

        parity([(3,)], fn)
    ax.manual_seed(2)
    draws = ax.distributions.Bernoulli(probs=ax.full((4,), 0.25)).sample((5000,))
    assert draws.shape == (5000, 4) and abs(draws.mean().item() - 0.25) < 0.02


@pytest.mark.parametrize("name", ["Normal", "Categorical", "Bernoulli", "Uniform"])
def test_kl_divergence_matches_torch(name):
    def fn(lib, a, b):
        if name == "Normal":
            p, q = _dist(lib, name, a, b.abs() + 0.5), _dist(lib, name, b, a.abs() + 0.3)
        elif name == "Categorical":
            p, q = _dist(lib, name, logits=a), _dist(lib, name, logits=b)
        elif name == "Bernoulli":
            p, q = _dist(lib, name, logits=a), _dist(lib, name, probs=b.sigmoid())
        else:
            p, q = _dist(lib, name, a, a + 1), _dist(lib, name, a - b.abs(), a + 2)
        return lib.distributions.kl_divergence(p, q)

    parity([(2, 3), (2, 3)], fn)


def test_distributions_validate_as_torch():
    both_raise(lambda lib: lib.distributions.Normal(0.0, -1.0), ValueError)
    both_raise(lambda lib: lib.distributions.Categorical(), ValueError)
    both_raise(lambda lib: lib.distributions.Categorical(probs=lib.tensor([0.5, -0.1])), ValueError)
    both_raise(lambda lib: lib.distributions.Bernoulli(probs=lib.tensor([1.5])), ValueError)
    both_raise(
        lambda lib: lib.distributions.Categorical(logits=lib.zeros(3)).log_prob(lib.tensor(3)),
        ValueError,
    )
    both_raise(
        lambda lib: lib.distributions.Bernoulli(probs=lib.tensor([0.5])).log_prob(
            lib.tensor([0.5])
        ),
        ValueError,
    )
    both_raise(
        lambda lib: lib.distributions.Uniform(0.0, 1.0).log_prob(lib.tensor(2.0)), ValueError
    )
    both_raise(
        lambda lib: lib.distributions.kl_divergence(
            lib.distributions.Categorical(logits=lib.zeros(2)),
            lib.distributions.Bernoulli(probs=lib.tensor(0.5)),
        ),
        NotImplementedError,
    )
    unchecked = ax.distributions.Normal(0.0, -1.0, validate_args=False)
    assert unchecked.scale.item() == -1.0


def test_distribution_module_paths():
    from axon.distributions.bernoulli import Bernoulli
    from axon.distributions.categorical import Categorical
    from axon.distributions.distribution import Distribution
    from axon.distributions.kl import kl_divergence
    from axon.distributions.normal import Normal

    assert issubclass(Categorical, Distribution) and issubclass(Normal, Distribution)
    assert Bernoulli is ax.distributions.Bernoulli
    assert kl_divergence is ax.distributions.kl_divergence


# ------------------------------------------------------------------ ATen forms, norms, dlpack
def test_convolution_and_grid_sampler_forms():
    parity(
        [(1, 2, 6, 6), (3, 2, 3, 3), (3,)],
        lambda lib, x, w, b: lib.convolution(x, w, b, [2, 2], [1, 1], [1, 1], False, [0, 0], 1),
    )
    parity(
        [(1, 2, 4), (2, 3, 3), (3,)],
        lambda lib, x, w, b: lib.convolution(x, w, b, [2], [1], [1], True, [1], 1),
    )
    grid = np.random.default_rng(1).uniform(-1, 1, (1, 3, 3, 2))
    parity([(1, 2, 4, 4)], lambda lib, x: lib.grid_sampler_2d(x, lib.tensor(grid), 0, 0, False))


def test_rnn_cells_match_torch():
    parity(
        [(2, 3), (2, 4), (16, 3), (16, 4), (16,), (16,), (2, 4)],
        lambda lib, x, h, wi, wh, bi, bh, c: lib.lstm_cell(x, (h, c), wi, wh, bi, bh),
    )
    parity(
        [(2, 3), (2, 4), (12, 3), (12, 4), (12,), (12,)],
        lambda lib, x, h, wi, wh, bi, bh: lib.gru_cell(x, h, wi, wh, bi, bh),
    )
    parity(
        [(2, 3), (2, 4), (4, 3), (4, 4)], lambda lib, x, h, wi, wh: lib.rnn_tanh_cell(x, h, wi, wh)
    )
    parity(
        [(2, 3), (2, 4), (4, 3), (4, 4), (4,), (4,)],
        lambda lib, x, h, wi, wh, bi, bh: lib.rnn_relu_cell(x, h, wi, wh, bi, bh),
    )


def test_feature_dropout_and_embedding_renorm():
    x = ax.ones(4, 6, 3, 3)
    assert ax.feature_dropout(x, 0.5, False) is x
    ax.manual_seed(0)
    out = ax.feature_dropout(x, 0.5, True).numpy()
    per_channel = out.reshape(4, 6, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    assert 0 < (per_channel == 0).all(-1).sum() < 24
    values = np.random.default_rng(0).normal(size=(5, 3)) * 3
    ours, theirs = ax.tensor(values), torch.tensor(values)
    ax.embedding_renorm_(ours, ax.tensor([0, 2, 2]), 1.0, 2.0)
    with torch.no_grad():
        torch.embedding_renorm_(theirs, torch.tensor([0, 2, 2]), 1.0, 2.0)
    assert_close(ours, theirs, rtol=1e-12)


def test_deprecated_norms_and_norm_except_dim():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parity([(3, 4)], lambda lib, x: lib.frobenius_norm(x, (0, 1)))
        parity([(2, 3, 4)], lambda lib, x: lib.frobenius_norm(x, (1,), True))
        parity([(3, 4)], lambda lib, x: lib.nuclear_norm(x))
        parity([(2, 3, 4)], lambda lib, x: lib.nuclear_norm(x, (1, 2), True))
    with pytest.warns(UserWarning, match="deprecated"):
        ax.nuclear_norm(ax.eye(2))
    for dim in (0, 1, -1):
        parity([(2, 3)], lambda lib, v, dim=dim: lib.norm_except_dim(v, 2, dim))


def test_dlpack_and_flags():
    theirs = torch.arange(4.0)
    ours = ax.from_dlpack(theirs)
    ours[0] = 7.0
    assert theirs[0].item() == 7.0
    back = torch.from_dlpack(ax.arange(3.0))
    assert_equal(back.numpy(), [0.0, 1.0, 2.0])
    assert_close(ax.from_dlpack(ax.to_dlpack(ax.arange(2.0))), [0.0, 1.0])
    for name in ("has_lapack", "has_openmp", "has_spectral"):
        assert getattr(ax, name) == getattr(torch, name)
    assert ax.legacy_contiguous_format is ax.contiguous_format
    ax.set_deterministic_debug_mode("warn")
    assert ax.get_deterministic_debug_mode() == 1
    ax.set_deterministic_debug_mode(0)
    both_raise(lambda lib: lib.set_deterministic_debug_mode("x"), RuntimeError)
    ax.init_num_threads()


def _spd(lib, a):
    """A symmetric positive-definite matrix from any square ``a``."""
    return a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype)


@pytest.mark.parametrize("form", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_matches_torch(form):
    def fn(lib, loc, a, value):
        matrix = _spd(lib, a)
        if form == "scale_tril":
            matrix = lib.linalg.cholesky(matrix)
        d = lib.distributions.MultivariateNormal(loc, **{form: matrix})
        return (d.log_prob(value), d.entropy(), d.variance, d.covariance_matrix, d.scale_tril)

    parity([(2, 3), (3, 3), (2, 3)], fn)
    parity([(3,), (2, 3, 3), (4, 1, 3)], fn)  # batches broadcast
    d = ax.distributions.MultivariateNormal(ax.zeros(2), scale_tril=ax.eye(2))
    assert d.rsample((5,)).shape == (5, 2) and tuple(d.event_shape) == (2,)
    both_raise(
        lambda lib: lib.distributions.MultivariateNormal(
            lib.zeros(2), covariance_matrix=-lib.eye(2)
        ),
        ValueError,
    )
    both_raise(lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2)), ValueError)


def test_independent_exponential_laplace_match_torch():
    def independent(lib, loc, scale, value):
        d = lib.distributions.Independent(lib.distributions.Normal(loc, scale.abs() + 0.5), 1)
        return d.log_prob(value), d.entropy(), d.mean

    parity([(4, 3), (4, 3), (4, 3)], independent)
    d = ax.distributions.Independent(ax.distributions.Normal(ax.zeros(4, 3), 1.0), 1)
    t = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(4, 3), 1.0), 1)
    assert tuple(d.batch_shape) == tuple(t.batch_shape)
    assert tuple(d.event_shape) == tuple(t.event_shape)

    def exponential(lib, rate, value):
        d = lib.distributions.Exponential(rate.abs() + 0.5)
        v = value.abs()
        return d.log_prob(v), d.entropy(), d.mean, d.variance, d.cdf(v), d.icdf(v.sigmoid())

    parity([(3,), (3,)], exponential)

    def laplace(lib, loc, scale, value):
        d = lib.distributions.Laplace(loc, scale.abs() + 0.5)
        return d.log_prob(value), d.entropy(), d.variance, d.stddev, d.cdf(value)

    parity([(3,), (3,), (3,)], laplace)
    both_raise(
        lambda lib: lib.distributions.Exponential(lib.tensor([1.0])).log_prob(lib.tensor([-1.0])),
        ValueError,
    )

    def kl(lib, a, b):
        D = lib.distributions
        p = D.Independent(D.Normal(a, 1.0), 1)
        q = D.Independent(D.Normal(b, 2.0), 1)
        e = D.kl_divergence(D.Exponential(a.abs() + 0.5), D.Exponential(b.abs() + 0.5))
        return D.kl_divergence(p, q), e

    parity([(2, 3), (2, 3)], kl)
    ax.manual_seed(3)
    assert abs(ax.distributions.Exponential(2.0).sample((20000,)).mean().item() - 0.5) < 0.02
    assert abs(ax.distributions.Laplace(1.0, 2.0).sample((20000,)).mean().item() - 1.0) < 0.1


@pytest.mark.parametrize(
    "upper, transpose, unitriangular",
    [(True, False, False), (False, False, False), (False, True, False), (True, True, True)],
)
def test_triangular_solve(upper, transpose, unitriangular):
    def fn(lib, b, a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = lib.triangular_solve(
                b, a + 3 * lib.eye(3, dtype=a.dtype), upper, transpose, unitriangular
            )
            method = b.triangular_solve(
                a + 3 * lib.eye(3, dtype=a.dtype), upper, transpose, unitriangular
            )
        return out.solution, out.cloned_coefficient, method.solution

    parity([(3, 2), (3, 3)], fn)


# ------------------------------------------------------------------ programs using these names
def _reinforce(torch):
    """A policy-gradient loop as tutorials write it (Categorical, log_prob, entropy)."""
    torch.manual_seed(0)
    policy = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=0.05)
    state = torch.tensor([[1.0, 0.0]])
    rewards = []
    for _ in range(80):
        dist = torch.distributions.Categorical(logits=policy(state).squeeze(0))
        action = dist.sample()
        reward = 1.0 if action.item() == 1 else 0.0
        loss = -dist.log_prob(action) * reward - 0.01 * dist.entropy()
        opt.zero_grad()
        loss.backward()
        opt.step()
        rewards.append(reward)
    return sum(rewards[-20:]) / 20


def test_reinforce_program_learns_with_both():
    assert _reinforce(torch) >= 0.8
    assert _reinforce(ax) >= 0.8


def _signum_program(torch, weights):
    """A hand-written optimizer (state made with zeros_like(memory_format=...), updates
    through p.add_ under no_grad) training a float64 model from given weights."""

    class Signum(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01, beta=0.9):
            super().__init__(params, dict(lr=lr, beta=beta))

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if "m" not in state:
                        state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["m"].mul_(group["beta"]).add_(p.grad, alpha=1 - group["beta"])
                    p.add_(state["m"].sign(), alpha=-group["lr"])

    model = torch.nn.Linear(3, 1).double()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    opt = Signum(model.parameters(), lr=0.05)
    x = torch.from_numpy(np.linspace(-1, 1, 30).reshape(10, 3))
    y = x.sum(-1, keepdim=True) * 2 + 1
    eps = torch.finfo(x.dtype).eps
    losses = []
    for _ in range(20):
        loss = ((model(x) - y) ** 2).mean() + eps
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy() for k, v in model.state_dict().items()}


def test_hand_written_optimizer_program_matches_torch():
    rng = np.random.default_rng(0)
    weights = {"weight": rng.normal(size=(1, 3)), "bias": rng.normal(size=(1,))}
    t_losses, t_state = _signum_program(torch, weights)
    a_losses, a_state = _signum_program(ax, weights)
    assert a_losses[-1] < a_losses[0] / 2
    np.testing.assert_allclose(a_losses, t_losses, rtol=1e-10)
    for key in t_state:
        np.testing.assert_allclose(a_state[key], t_state[key], rtol=1e-10)


def test_types_and_graph_modules():
    from axon.types import Device, Number, _size  # noqa: F401

    assert set(Number.__args__) == set(torch.types.Number.__args__)
    x = ax.ones(3, requires_grad=True)
    with ax.autograd.graph.save_on_cpu(pin_memory=True):
        (x * x).sum().backward()
    with ax.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        assert_close(x.grad, ax.full((3,), 2.0))


def test_utils_paths_and_checkpoint():
    import axon.utils.data.sampler as sampler_module
    from axon.utils.data import DataLoader, TensorDataset

    assert DataLoader is ax.data.DataLoader and TensorDataset is ax.data.TensorDataset
    assert sampler_module.RandomSampler is ax.data.RandomSampler
    assert ax.utils.data.DataLoader is ax.data.DataLoader

    def run(lib):
        from importlib import import_module

        ckpt = import_module(f"{lib.__name__}.utils.checkpoint")
        lib.manual_seed(0)
        w = lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
        x = lib.tensor(np.linspace(0, 1, 6).reshape(3, 2))
        out = ckpt.checkpoint(lambda a, b: (a @ b).tanh(), w, x, use_reentrant=False)
        seq = lib.nn.Sequential(lib.nn.Tanh(), lib.nn.Sigmoid())
        out = ckpt.checkpoint_sequential(seq, 2, out, use_reentrant=False)
        out.sum().backward()
        return out.detach().numpy(), w.grad.numpy()

    (t_out, t_grad), (a_out, a_grad) = run(torch), run(ax)
    np.testing.assert_allclose(a_out, t_out, rtol=1e-12)
    np.testing.assert_allclose(a_grad, t_grad, rtol=1e-12)
    with pytest.warns(UserWarning, match="use_reentrant"):
        ax.utils.checkpoint.checkpoint(lambda a: a, ax.ones(1))


# ------------------------------------------------------------------ LU
def test_lu_factor_lu_and_solve_match_torch():
    parity([(2, 4, 4)], lambda lib, a: lib.linalg.lu_factor(a))
    parity([(3, 3)], lambda lib, a: tuple(lib.linalg.lu(a)))
    parity([(3, 5)], lambda lib, a: tuple(lib.linalg.lu(a)), forward_only=True)
    parity([(5, 3)], lambda lib, a: lib.linalg.lu_factor(a), forward_only=True)
    for kwargs in ({}, {"adjoint": True}, {"left": False}):

        def fn(lib, a, b, kwargs=kwargs):
            LU, pivots = lib.linalg.lu_factor(a)
            return lib.linalg.lu_solve(
                LU, pivots, b if kwargs.get("left", True) else b.mT, **kwargs
            )

        parity([(2, 4, 4), (2, 4, 3)], fn)
    parity([(4, 4)], lambda lib, a: lib.linalg.lu_factor_ex(a))
    singular = ax.linalg.lu_factor_ex(ax.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert (
        singular.info.item()
        == torch.linalg.lu_factor_ex(torch.tensor([[1.0, 2.0], [2.0, 4.0]])).info.item()
        == 2
    )
    assert ax.gradcheck(
        lambda a: ax.linalg.lu_factor(a).LU, ax.randn(2, 3, 3, dtype=ax.float64, requires_grad=True)
    )
    both_raise(lambda lib: lib.linalg.lu_factor(lib.ones(3, 3), pivot=False), RuntimeError)


def test_torch_lu_family():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parity([(3, 3)], lambda lib, a: lib.lu(a))
        parity([(3, 3)], lambda lib, a: lib.lu(a, get_infos=True))
        parity([(3, 3)], lambda lib, a: tuple(lib.lu_unpack(*lib.lu(a))))
        parity([(3, 3), (3, 2)], lambda lib, a, b: lib.lu_solve(b, *lib.lu(a)))


def test_optimizer_in_backward_through_post_accumulate_hooks():
    """The per-parameter optimizer pattern: each hook steps and frees its gradient."""

    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            for p, v in zip(model.parameters(), (np.ones((2, 3)) * 0.1, np.zeros(2)), strict=True):
                p.copy_(lib.tensor(v))
        opts = {p: lib.optim.SGD([p], lr=0.1) for p in model.parameters()}

        def hook(p):
            opts[p].step()
            opts[p].zero_grad(set_to_none=True)

        handles = [p.register_post_accumulate_grad_hook(hook) for p in model.parameters()]
        x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3))
        for _ in range(3):
            model(x).pow(2).sum().backward()
        grads = [p.grad for p in model.parameters()]
        handles[0].remove()
        model(x).pow(2).sum().backward()
        params = [p.detach().numpy().copy() for p in model.parameters()]
        return params, grads, model.weight.grad is not None

    (t_params, t_grads, t_kept), (a_params, a_grads, a_kept) = run(torch), run(ax)
    assert t_grads == [None, None] and a_grads == [None, None]
    assert t_kept and a_kept  # the removed hook no longer frees the weight's gradient
    for a, t in zip(a_params, t_params, strict=True):
        np.testing.assert_allclose(a, t, rtol=1e-12, atol=1e-15)


def test_more_distributions_match_torch():
    def gamma(lib, a, r, v):
        d = lib.distributions.Gamma(a.abs() + 0.5, r.abs() + 0.5)
        return d.log_prob(v.abs() + 0.1), d.entropy(), d.mean, d.variance

    parity([(3,), (3,), (3,)], gamma)

    def beta(lib, a, b, v):
        d = lib.distributions.Beta(a.abs() + 0.5, b.abs() + 0.5)
        return d.log_prob(v.sigmoid()), d.entropy(), d.mean, d.variance

    parity([(3,), (3,), (3,)], beta)

    def lognormal(lib, m, s, v):
        d = lib.distributions.LogNormal(m, s.abs() + 0.5)
        return d.log_prob(v.exp()), d.entropy(), d.mean, d.variance

    parity([(3,), (3,), (3,)], lognormal)

    def poisson(lib, r):
        d = lib.distributions.Poisson(r.abs() + 0.5)
        return d.log_prob(lib.tensor([0.0, 2.0, 5.0], dtype=lib.float64)), d.mean

    parity([(3,)], poisson)

    def one_hot(lib, logits):
        d = lib.distributions.OneHotCategorical(logits=logits)
        v = lib.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=lib.float64)
        return d.log_prob(v), d.entropy(), d.mean

    parity([(2, 3)], one_hot)
    ax.manual_seed(4)
    draws = ax.distributions.OneHotCategorical(probs=ax.tensor([0.1, 0.9])).sample((1000,))
    assert draws.shape == (1000, 2) and (draws.sum(-1).numpy() == 1).all()
    assert abs(draws[:, 1].mean().item() - 0.9) < 0.04
    for name, args, mean in (
        ("Gamma", (2.0, 4.0), 0.5),
        ("Beta", (2.0, 6.0), 0.25),
        ("Poisson", (3.0,), 3.0),
        ("LogNormal", (0.0, 0.5), 1.1331),
    ):
        sample = getattr(ax.distributions, name)(*args).sample((20000,))
        assert abs(sample.mean().item() - mean) < 0.05 * max(mean, 1), name
    both_raise(
        lambda lib: lib.distributions.Poisson(lib.tensor([1.0])).log_prob(lib.tensor([1.5])),
        ValueError,
    )
    both_raise(lambda lib: lib.distributions.Beta(0.5, 0.5).log_prob(lib.tensor(1.5)), ValueError)


def test_functional_grid_codes_and_grad_path():
    import torch.nn.functional as TF

    import axon.nn.functional as AF

    assert AF.GRID_SAMPLE_INTERPOLATION_MODES == TF.GRID_SAMPLE_INTERPOLATION_MODES
    assert AF.GRID_SAMPLE_PADDING_MODES == TF.GRID_SAMPLE_PADDING_MODES
    assert AF.grad.conv2d_weight is ax.nn.grad.conv2d_weight


def test_transformed_distributions_match_torch():
    def squashed(lib, mu, sigma, v):
        D = lib.distributions
        d = D.TransformedDistribution(
            D.Normal(mu, sigma.abs() + 0.5), [D.TanhTransform(cache_size=1)]
        )
        return d.log_prob(v.tanh() * 0.9)

    parity([(4,), (4,), (4,)], squashed)

    def independent_squashed(lib, mu, sigma, v):
        D = lib.distributions
        base = D.Independent(D.Normal(mu, sigma.abs() + 0.5), 1)
        d = D.TransformedDistribution(base, [D.AffineTransform(0.5, 2.0), D.TanhTransform()])
        return d.log_prob(v.tanh() * 0.9)

    parity([(2, 3), (2, 3), (2, 3)], independent_squashed)

    def composed(lib, mu, v):
        D = lib.distributions
        t = D.ComposeTransform([D.AffineTransform(1.0, 3.0), D.SigmoidTransform()])
        d = D.TransformedDistribution(D.Normal(mu, 1.0), t)
        e = D.TransformedDistribution(D.Normal(mu, 1.0), D.ExpTransform())
        return d.log_prob(v.sigmoid()), e.log_prob(v.exp())

    parity([(3,), (3,)], composed)
    d = ax.distributions.TransformedDistribution(
        ax.distributions.Normal(ax.zeros(3, requires_grad=True), 1.0),
        [ax.distributions.TanhTransform(cache_size=1)],
    )
    y = d.rsample((5,))
    assert y.shape == (5, 3) and (y.detach().abs().numpy() < 1).all() and y.requires_grad
    assert d.log_prob(y).shape == (5, 3)


def test_legacy_tensor_attributes():
    for lib in (torch, ax):
        x = lib.ones(2)
        with pytest.warns(UserWarning, match="volatile was removed"):
            assert x.volatile is False
        assert x.name is None and x.grad_dtype == x.dtype
        target, src = lib.zeros(2), lib.full((2,), 3.0)
        loaded = target.module_load(src)
        assert loaded is not target and target[0].item() == 3.0
        assigned = target.module_load(lib.full((2,), 5.0), assign=True)
        assert assigned[0].item() == 5.0 and target[0].item() == 3.0


# ------------------------------------------------------------------ optim.Adafactor
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"lr": 0.1, "weight_decay": 0.1},
        {"maximize": True, "d": 2.0, "eps": (1e-6, 1e-2)},
        {"beta2_decay": -0.5},
    ],
)
def test_adafactor_matches_torch(kwargs):
    def run(lib):
        rng = np.random.default_rng(0)
        w = lib.tensor(rng.normal(size=(4, 3)), requires_grad=True)
        b = lib.tensor(rng.normal(size=(3,)), requires_grad=True)
        k = lib.tensor(rng.normal(size=(2, 3, 3)), requires_grad=True)  # factored per batch
        opt = lib.optim.Adafactor([w, b, k], **kwargs)
        x = lib.tensor(rng.normal(size=(5, 4)))
        for _ in range(6):
            loss = ((x @ w + b) ** 2).sum() + (k @ k).pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [t.detach().numpy() for t in (w, b, k)]

    for ours, theirs in zip(run(ax), run(torch), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_adafactor_refuses_bad_hyperparameters():
    w = [torch.zeros(2, requires_grad=True)]
    a = [ax.zeros(2, requires_grad=True)]
    for kwargs in (
        {"lr": -1.0},
        {"beta2_decay": 0.5},
        {"d": 0.5},
        {"weight_decay": -1.0},
        {"eps": (None, -1.0)},
    ):
        with pytest.raises(ValueError):
            torch.optim.Adafactor(w, **kwargs)
        with pytest.raises(ValueError):
            ax.optim.Adafactor(a, **kwargs)


def test_adafactor_state_dict_round_trip():
    def steps(opt, w, n):
        for _ in range(n):
            opt.zero_grad()
            (w.sin() * 3).sum().backward()
            opt.step()

    w = ax.tensor(np.linspace(-1, 1, 6).reshape(3, 2), requires_grad=True)
    opt = ax.optim.Adafactor([w])
    steps(opt, w, 2)
    saved, start = opt.state_dict(), w.detach().clone()
    steps(opt, w, 2)
    expected = w.detach().clone()
    with ax.no_grad():
        w.copy_(start)
    fresh = ax.optim.Adafactor([w])
    fresh.load_state_dict(saved)
    steps(fresh, w, 2)
    assert_close(w, expected, rtol=1e-12)
    bad = ax.optim.Adafactor([ax.zeros(2, 3, requires_grad=True)])
    with pytest.raises(ValueError, match="row_var"):
        bad.load_state_dict(saved)


def test_tensor_lu_methods():
    parity([(3, 3)], lambda lib, a: a.lu())
    parity([(3, 3), (3, 2)], lambda lib, a, b: b.lu_solve(*a.lu()))


def test_constraints_check_as_torch():
    values = {
        "positive": [1.0, -1.0, 0.0],
        "nonnegative": [1.0, -1.0, 0.0],
        "real": [1.0, float("nan")],
        "unit_interval": [0.5, 1.5, 1.0],
        "boolean": [0.0, 1.0, 0.5],
        "nonnegative_integer": [0.0, 2.0, 1.5, -1.0],
        "positive_integer": [0.0, 2.0, 1.5],
        "simplex": [[0.5, 0.5], [0.2, 0.2]],
        "one_hot": [[0.0, 1.0], [1.0, 1.0]],
        "real_vector": [[1.0, 2.0], [1.0, float("nan")]],
        "lower_cholesky": [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]]],
        "positive_definite": [[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]],
    }
    for name, data in values.items():
        theirs = getattr(torch.distributions.constraints, name)
        ours = getattr(ax.distributions.constraints, name)
        expected = theirs.check(torch.tensor(data)).numpy()
        assert_equal(ours.check(ax.tensor(data)).numpy(), expected, name)
        assert ours.event_dim == theirs.event_dim and ours.is_discrete == theirs.is_discrete
    for make, args in (
        ("interval", (0, 1)),
        ("greater_than", (2.0,)),
        ("integer_interval", (0, 3)),
        ("half_open_interval", (0, 1)),
    ):
        theirs = getattr(torch.distributions.constraints, make)(*args)
        ours = getattr(ax.distributions.constraints, make)(*args)
        data = [0.0, 1.0, 1.5, 3.0, -1.0]
        assert_equal(
            ours.check(ax.tensor(data)).numpy(), theirs.check(torch.tensor(data)).numpy(), make
        )
        assert repr(ours) == repr(theirs)


def test_further_distributions_match_torch():
    def halfnormal(lib, s, v):
        d = lib.distributions.HalfNormal(s.abs() + 0.5)
        return d.log_prob(v.abs()), d.entropy(), d.mean, d.variance

    parity([(3,), (3,)], halfnormal)

    def cauchy(lib, m, s, v):
        d = lib.distributions.Cauchy(m, s.abs() + 0.5)
        return d.log_prob(v), d.entropy()

    parity([(3,), (3,), (3,)], cauchy)

    def gumbel(lib, m, s, v):
        d = lib.distributions.Gumbel(m, s.abs() + 0.5)
        return d.log_prob(v), d.entropy(), d.mean, d.variance

    parity([(3,), (3,), (3,)], gumbel)

    def geometric(lib, p):
        d = lib.distributions.Geometric(probs=p.sigmoid())
        v = lib.tensor([0.0, 2.0, 5.0], dtype=lib.float64)
        return d.log_prob(v), d.entropy(), d.mean, d.variance

    parity([(3,)], geometric)

    def student(lib, df, m, s, v):
        d = lib.distributions.StudentT(df.abs() + 2.5, m, s.abs() + 0.5)
        return d.log_prob(v), d.entropy(), d.mean, d.variance

    parity([(3,), (3,), (3,), (3,)], student)

    def dirichlet(lib, a, v):
        d = lib.distributions.Dirichlet(a.abs() + 0.5)
        return d.log_prob(v.softmax(-1)), d.entropy(), d.mean, d.variance

    parity([(2, 3), (2, 3)], dirichlet)
    ax.manual_seed(5)
    D = ax.distributions
    assert abs(D.Geometric(probs=ax.tensor(0.25)).sample((20000,)).mean().item() - 3.0) < 0.15
    assert abs(D.Gumbel(0.0, 1.0).sample((20000,)).mean().item() - 0.5772) < 0.05
    assert abs(D.HalfNormal(1.0).sample((20000,)).mean().item() - 0.7979) < 0.03
    draws = D.Dirichlet(ax.tensor([1.0, 2.0, 3.0])).sample((5000,))
    assert draws.shape == (5000, 3) and np.allclose(draws.sum(-1).numpy(), 1.0)
    assert np.allclose(draws.mean(0).numpy(), [1 / 6, 2 / 6, 3 / 6], atol=0.02)
    st = D.StudentT(ax.tensor([0.5, 1.5, 3.0]))
    t = torch.distributions.StudentT(torch.tensor([0.5, 1.5, 3.0]))
    np.testing.assert_array_equal(np.isnan(st.mean.numpy()), np.isnan(t.mean.numpy()))
    np.testing.assert_array_equal(st.variance.numpy(), t.variance.numpy())
