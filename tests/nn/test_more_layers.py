"""The layers added so that PyTorch programs run unchanged, against PyTorch: pixel and
channel shuffling, instance and local response normalisation, LP and adaptive max
pooling, max unpooling, padding layers, ``EmbeddingBag`` and ``Bilinear``. Functional
forms: values and gradients in float64 (tight) and float32 (loose); layers: torch's
reprs, state-dict keys, weights loaded from torch, running statistics, errors. (Each new
layer's contract case is in ``tests/nn/test_layer_contract.py``.)"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import axon as ax
import axon.nn.functional as F
from axon import nn
from tests.autograd.parity import helper_test_exception, helper_test_op
from tests.helpers import assert_close, assert_differs, assert_equal
from tests.nn.contract import on_input_device

# name: (input shapes, function of torch tensors, of axon tensors (None: the same call))
FUNCTIONAL = {
    "pixel_shuffle": (
        [(2, 8, 3, 4)],
        lambda t: TF.pixel_shuffle(t, 2),
        lambda a: F.pixel_shuffle(a, 2),
    ),
    "pixel_shuffle-unbatched": (
        [(9, 2, 3)],
        lambda t: TF.pixel_shuffle(t, 3),
        lambda a: F.pixel_shuffle(a, 3),
    ),
    "pixel_unshuffle": (
        [(2, 3, 4, 6)],
        lambda t: TF.pixel_unshuffle(t, 2),
        lambda a: F.pixel_unshuffle(a, 2),
    ),
    "channel_shuffle": (
        [(2, 6, 3, 4)],
        lambda t: torch.nn.ChannelShuffle(3)(t),
        lambda a: F.channel_shuffle(a, 3),
    ),
    "instance_norm-affine": (
        [(2, 3, 5, 4), (3,), (3,)],
        lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
        lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
    ),
    "instance_norm-1d": ([(2, 3, 6)], TF.instance_norm, F.instance_norm),
    "local_response_norm": (
        [(2, 6, 3, 4)],
        lambda t: TF.local_response_norm(t, 3),
        lambda a: F.local_response_norm(a, 3),
    ),
    "local_response_norm-3d": (
        [(2, 6, 5)],
        lambda t: TF.local_response_norm(t, 4, 0.1, 0.6, 2.0),
        lambda a: F.local_response_norm(a, 4, 0.1, 0.6, 2.0),
    ),
    "lp_pool2d": (
        [(2, 3, 5, 6)],
        lambda t: TF.lp_pool2d(t, 2, (2, 3), stride=1),
        lambda a: F.lp_pool2d(a, 2, (2, 3), stride=1),
    ),
    "lp_pool1d-ceil": (
        [(2, 3, 5)],
        lambda t: TF.lp_pool1d(t.abs() + 0.1, 1.5, 2, ceil_mode=True),
        lambda a: F.lp_pool1d(a.abs() + 0.1, 1.5, 2, ceil_mode=True),
    ),
    "adaptive_max_pool2d": (
        [(2, 3, 7, 5)],
        lambda t: TF.adaptive_max_pool2d(t, (3, 2), True),
        lambda a: F.adaptive_max_pool2d(a, (3, 2), True),
    ),
    "adaptive_max_pool2d-none": (
        [(3, 6, 5)],
        lambda t: TF.adaptive_max_pool2d(t, (4, None)),
        lambda a: F.adaptive_max_pool2d(a, (4, None)),
    ),
    "adaptive_max_pool1d": (
        [(2, 3, 7)],
        lambda t: TF.adaptive_max_pool1d(t, 4, True),
        lambda a: F.adaptive_max_pool1d(a, 4, True),
    ),
    "rms_norm": (
        [(2, 3, 4, 5), (4, 5)],
        lambda x, w: TF.rms_norm(x, (4, 5), w),
        lambda x, w: F.rms_norm(x, (4, 5), w),
    ),
    "rms_norm-eps": (
        [(3, 6)],
        lambda x: TF.rms_norm(x, [6], eps=0.1),
        lambda x: F.rms_norm(x, [6], eps=0.1),
    ),
    "bilinear": ([(4, 3), (4, 5), (2, 3, 5), (2,)], TF.bilinear, F.bilinear),
    "bilinear-batch-dims": ([(2, 3, 3), (2, 3, 5), (4, 3, 5)], TF.bilinear, F.bilinear),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_functional_matches_torch(name, dtype):
    shapes, torch_fn, axon_fn = FUNCTIONAL[name]
    helper_test_op(shapes, torch_fn, axon_fn, dtype=dtype)


def test_gradcheck():
    rng = np.random.default_rng(0)

    def t(*shape):
        return ax.tensor(rng.standard_normal(shape), requires_grad=True)

    ax.gradcheck(lambda x: F.local_response_norm(x, 3, alpha=0.5), [t(1, 4, 2, 3)])
    ax.gradcheck(lambda x: F.lp_pool2d(x.abs() + 0.5, 3, 2), [t(1, 2, 4, 4)])
    ax.gradcheck(lambda x: F.adaptive_max_pool2d(x, (2, 3)), [t(1, 2, 5, 5)])
    ax.gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [t(2, 2, 5), t(2), t(2)])
    ax.gradcheck(F.bilinear, [t(3, 2), t(3, 4), t(2, 2, 4), t(2)])


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_max_unpool_inverts_max_pool_with_torch_indices(dims):
    rng = np.random.default_rng(1)
    shape, kw = {
        2: ((2, 3, 7, 5), dict(kernel_size=2)),
        1: ((2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
        3: ((2, 2, 4, 5, 5), dict(kernel_size=2, stride=(2, 2, 1))),
    }[dims]
    x = rng.standard_normal(shape)
    pool_t = getattr(TF, f"max_pool{dims}d")
    pool_a = getattr(F, f"max_pool{dims}d")
    y, idx = pool_t(torch.tensor(x), **kw, return_indices=True)
    ay, aidx = pool_a(ax.tensor(x), **kw, return_indices=True)
    assert_equal(aidx.numpy(), idx.numpy())
    unpool = getattr(torch.nn, f"MaxUnpool{dims}d")(**kw)
    ours = getattr(nn, f"MaxUnpool{dims}d")(**kw)
    assert repr(ours) == repr(unpool)
    size = shape[-dims:]
    helper_test_op(
        [tuple(y.shape)],
        lambda v: unpool(v, idx, output_size=size),
        lambda v: ours(v, aidx.to(v.device), output_size=size),
    )
    helper_test_op(
        [tuple(y.shape)],
        lambda v: unpool(v, idx),
        lambda v: ours(v, aidx.to(v.device)),
        forward_only=True,
    ) if dims == 1 else None


def test_instance_norm_running_stats_like_torch():
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    for cls in ("InstanceNorm1d", "InstanceNorm2d"):
        shape = (4, 3, 6) if cls.endswith("1d") else (4, 3, 5, 4)
        theirs = getattr(torch.nn, cls)(3, affine=True, track_running_stats=True).double()
        ours = getattr(nn, cls)(3, affine=True, track_running_stats=True, dtype=ax.float64)
        assert repr(ours) == repr(theirs)
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-1, 1)
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        for _ in range(2):
            x = rng.standard_normal(shape) * 2 + 1
            assert_close(ours(ax.tensor(x)), theirs(torch.tensor(x)).detach(), 1e-10, 1e-12)
        for key, value in theirs.state_dict().items():
            assert_close(ours.state_dict()[key], value, 1e-10, 1e-12, msg=key)
        ours.eval()
        theirs.eval()
        x = rng.standard_normal(shape[1:])  # unbatched, with the running statistics
        assert_close(ours(ax.tensor(x)), theirs(torch.tensor(x)).detach(), 1e-10, 1e-12)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="num_features"):
        nn.InstanceNorm1d(4, affine=True)(ax.randn(2, 3, 5))
    with pytest.warns(UserWarning, match="num_features"):
        nn.InstanceNorm1d(4)(ax.randn(2, 3, 5))
    with pytest.raises(ValueError, match="4D"):
        nn.InstanceNorm1d(3)(ax.randn(2, 3, 5, 5))
    helper_test_exception(
        [(2, 3, 1)], TF.instance_norm, F.instance_norm, exact=ValueError, match=["(2, 3, 1)"]
    )


def test_shuffle_and_pool_errors():
    helper_test_exception(
        [(2, 5, 3, 3)],
        lambda t: TF.pixel_shuffle(t, 2),
        lambda a: F.pixel_shuffle(a, 2),
        match=["(2, 5, 3, 3)"],
    )
    helper_test_exception(
        [(2, 3, 0, 3)],
        lambda t: TF.adaptive_max_pool2d(t, 2),
        lambda a: F.adaptive_max_pool2d(a, 2),
        match=["(2, 3, 0, 3)"],
    )
    helper_test_exception(
        [(2, 3)],
        lambda t: TF.local_response_norm(t, 2),
        lambda a: F.local_response_norm(a, 2),
        exact=ValueError,
        match=["(2, 3)"],
    )
    idx = np.zeros((2, 3, 2), dtype=np.int64)
    helper_test_exception(
        [(2, 3, 3)],
        lambda t: TF.max_unpool2d(t, torch.tensor(idx), 2),
        lambda a: F.max_unpool2d(a, ax.tensor(idx), 2),
        match=["(2, 3, 3)", "(2, 3, 2)"],
    )
    big = np.full((1, 1, 2, 2), 99, dtype=np.int64)
    helper_test_exception(
        [(1, 1, 2, 2)],
        lambda t: TF.max_unpool2d(t, torch.tensor(big), 2),
        lambda a: F.max_unpool2d(a, ax.tensor(big), 2),
        match=["99", "4x4"],
    )


REPRS = [
    ("ZeroPad2d", (1,)),
    ("ZeroPad1d", ((1, 2),)),
    ("ConstantPad2d", (2, 3.5)),
    ("ConstantPad1d", (1, 0.0)),
    ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), -1.0)),
    ("ReflectionPad1d", (2,)),
    ("ReflectionPad2d", ((1, 2, 0, 1),)),
    ("ReplicationPad1d", (3,)),
    ("ReplicationPad2d", ((1, 2, 3, 1),)),
    ("CircularPad1d", (1,)),
    ("CircularPad2d", ((1, 0, 2, 1),)),
    ("PixelShuffle", (2,)),
    ("PixelUnshuffle", (3,)),
    ("ChannelShuffle", (2,)),
    ("LocalResponseNorm", (5,)),
    ("LPPool2d", (2, 3)),
    ("LPPool1d", (1.5, 2, 1)),
    ("AdaptiveMaxPool2d", ((3, None),)),
    ("AdaptiveMaxPool1d", (3, True)),
    ("InstanceNorm2d", (3,)),
    ("InstanceNorm3d", (6,)),
    ("BatchNorm3d", (6,)),
    ("RMSNorm", ((5, 6),)),
    ("RMSNorm", (6, 1e-3, False)),
    ("SyncBatchNorm", (6,)),
    ("ZeroPad3d", (1,)),
    ("ReflectionPad3d", ((1, 0, 2, 1, 0, 1),)),
    ("ReplicationPad3d", (1,)),
    ("CircularPad3d", ((1, 2, 0, 1, 1, 0),)),
    ("LPPool3d", (2, 2)),
]


@pytest.mark.parametrize("name,args", REPRS, ids=[r[0] for r in REPRS])
def test_layer_matches_torch(name, args):
    """Same repr; on a random input the same output and input gradient (float64)."""
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    ours.to(ax.float64)
    theirs.double()
    shape = {
        "ZeroPad1d": (2, 3, 5),
        "ConstantPad1d": (2, 3, 5),
        "ReflectionPad1d": (2, 3, 5),
        "ReplicationPad1d": (2, 3, 5),
        "CircularPad1d": (2, 3, 5),
        "LPPool1d": (2, 3, 5),
        "AdaptiveMaxPool1d": (2, 3, 7),
        "ConstantPad3d": (2, 2, 3, 4, 5),
        "PixelShuffle": (2, 8, 3, 3),
        "PixelUnshuffle": (2, 2, 6, 6),
        "ChannelShuffle": (2, 4, 3, 3),
        "InstanceNorm3d": (2, 6, 2, 3, 4),
        "BatchNorm3d": (2, 6, 2, 3, 4),
        "SyncBatchNorm": (4, 6, 3),
        "ZeroPad3d": (2, 3, 3, 4, 5),
        "ReflectionPad3d": (2, 3, 3, 4, 5),
        "ReplicationPad3d": (2, 3, 3, 4, 5),
        "CircularPad3d": (2, 3, 3, 4, 5),
        "LPPool3d": (2, 3, 4, 4, 5),
    }.get(name, (2, 6, 5, 6))
    helper_test_op(
        [shape], theirs, on_input_device(ours), low=0.1 if name.startswith("LP") else -2.0
    )


def test_bilinear_module_with_torch_weights():
    torch.manual_seed(0)
    theirs = torch.nn.Bilinear(3, 4, 5).double()
    ours = nn.Bilinear(3, 4, 5, dtype=ax.float64)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    helper_test_op([(2, 6, 3), (2, 6, 4)], theirs, on_input_device(ours))
    ours.cpu()
    assert_close(ours.weight.grad, theirs.weight.grad, 1e-10, 1e-12)
    assert_close(ours.bias.grad, theirs.bias.grad, 1e-10, 1e-12)
    helper_test_exception([(4, 3), (3, 4)], theirs, ours, match=["(4, 3)", "(3, 4)"])


# ============================================================ EmbeddingBag

IDX = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 7])
BAGS = [  # (input, offsets, keyword arguments)
    (IDX, np.array([0, 4]), {}),
    (IDX, np.array([0, 2, 2, 5]), dict(mode="max")),
    (IDX, np.array([0, 2, 2, 5]), dict(mode="sum", padding_idx=2)),
    (IDX, np.array([0, 3, 3, 7]), dict(mode="mean", padding_idx=-6)),
    (IDX, np.array([0, 2, 5, 10]), dict(mode="sum", include_last_offset=True)),
    (IDX, np.array([0, 2, 5, 10]), dict(mode="max", include_last_offset=True, padding_idx=3)),
    (IDX.reshape(2, 5), None, dict(mode="max")),
    (IDX.reshape(5, 2), None, dict(mode="mean", padding_idx=4)),
]


@pytest.mark.parametrize("case", range(len(BAGS)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_embedding_bag_matches_torch(case, dtype):
    idx, offsets, kwargs = BAGS[case]
    args = [idx] + ([] if offsets is None else [offsets])
    helper_test_op(
        None,
        lambda i, *o_w: TF.embedding_bag(i, o_w[-1], *o_w[:-1], **kwargs),
        lambda i, *o_w: F.embedding_bag(i, o_w[-1], *o_w[:-1], **kwargs),
        arrays=args + [np.random.default_rng(case).standard_normal((10, 3))],
        dtype=dtype,
    )


def test_embedding_bag_per_sample_weights():
    """Mode 'sum' with a weight per index: gradients for the table and the weights."""
    weights = np.random.default_rng(3).standard_normal(len(IDX))
    table = np.random.default_rng(4).standard_normal((10, 3))
    helper_test_op(
        None,
        lambda i, o, w, p: TF.embedding_bag(
            i, w, o, mode="sum", per_sample_weights=p, padding_idx=4
        ),
        lambda i, o, w, p: F.embedding_bag(
            i, w, o, mode="sum", per_sample_weights=p, padding_idx=4
        ),
        arrays=[IDX, np.array([0, 3, 3, 8]), table, weights],
    )


def test_embedding_bag_module_with_torch_weights():
    torch.manual_seed(0)
    theirs = torch.nn.EmbeddingBag(10, 3, mode="max", padding_idx=2)
    ours = nn.EmbeddingBag(10, 3, mode="max", padding_idx=2)
    assert repr(ours) == repr(theirs)
    assert (ours.weight.detach().numpy()[2] == 0).all()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    offsets = np.array([0, 4, 4])
    assert_close(
        ours(ax.tensor(IDX), ax.tensor(offsets)),
        theirs(torch.tensor(IDX), torch.tensor(offsets)).detach(),
        1e-6,
        1e-6,
    )
    frozen = nn.EmbeddingBag.from_pretrained(ax.tensor(theirs.weight.detach().numpy()), mode="sum")
    assert not frozen.weight.requires_grad
    assert_close(
        frozen(ax.tensor(IDX.reshape(2, 5))),
        torch.nn.EmbeddingBag.from_pretrained(theirs.weight, mode="sum")(
            torch.tensor(IDX.reshape(2, 5))
        ).detach(),
        1e-6,
        1e-6,
    )


def test_embedding_bag_errors():
    table = np.zeros((10, 3))
    bad = [  # (input, offsets, keyword arguments, exception class, words of the message)
        (IDX, None, {}, ValueError, ["None", "(10,)"]),
        (IDX.reshape(2, 5), np.array([0]), {}, ValueError, ["2D", "(2, 5)"]),
        (IDX, np.array([1, 2]), {}, RuntimeError, ["offsets[0]", "1"]),
        (IDX, np.array([0, 12]), {}, RuntimeError, ["12", "10"]),
        (
            IDX,
            np.array([0]),
            dict(per_sample_weights=np.ones(10)),
            NotImplementedError,
            ["mode='mean'"],
        ),
        (
            IDX,
            np.array([0]),
            dict(mode="sum", per_sample_weights=np.ones(3)),
            ValueError,
            ["(3,)", "(10,)"],
        ),
        (IDX * 2, np.array([0]), {}, RuntimeError, ["18", "(10, 3)"]),
    ]
    for idx, offsets, kwargs, error, words in bad:
        t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        a_kw = {k: ax.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        t_off = None if offsets is None else torch.tensor(offsets)
        a_off = None if offsets is None else ax.tensor(offsets)
        with pytest.raises(error):
            TF.embedding_bag(torch.tensor(idx), torch.tensor(table), t_off, **t_kw)
        with pytest.raises(error) as info:
            F.embedding_bag(ax.tensor(idx), ax.tensor(table), a_off, **a_kw)
        for word in words:
            assert word in str(info.value), (word, str(info.value))


# ============================================================ AvgPool1d, MaxPool indices


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
        dict(kernel_size=2, ceil_mode=True),
        dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False),
    ],
)
def test_avg_pool1d_matches_torch(kwargs):
    ours, theirs = nn.AvgPool1d(**kwargs), torch.nn.AvgPool1d(**kwargs)
    assert repr(ours) == repr(theirs)
    helper_test_op([(2, 3, 7)], theirs, ours)
    helper_test_op([(3, 8)], theirs, ours, dtype=np.float32)


def test_max_pool_return_indices_match_torch():
    for kwargs in [
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
        dict(kernel_size=(2, 3), stride=(1, 2), padding=1, dilation=(2, 1)),
    ]:
        helper_test_op(
            [(2, 3, 7, 6)],
            torch.nn.MaxPool2d(**kwargs, return_indices=True),
            nn.MaxPool2d(**kwargs, return_indices=True),
        )


# ============================================================ nn.init


def test_init_signatures_match_torch():
    import inspect

    for name in [
        "uniform_",
        "normal_",
        "trunc_normal_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "orthogonal_",
        "sparse_",
        "dirac_",
        "eye_",
        "constant_",
        "ones_",
        "zeros_",
        "calculate_gain",
    ]:
        ours, theirs = getattr(nn.init, name), getattr(torch.nn.init, name)
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(theirs).parameters
        ), name


def test_init_generator_gives_its_own_reproducible_stream():
    draws = []
    for _ in range(2):
        g = ax.Generator().manual_seed(7)
        w = nn.Linear(20, 30).weight
        ax.manual_seed(0)
        nn.init.kaiming_uniform_(w, generator=g)
        draws.append(w.detach().numpy().copy())
        nn.init.trunc_normal_(w, std=0.02, generator=g)
        nn.init.orthogonal_(w, generator=g)
        draws.append(w.detach().numpy().copy())
    assert_equal(draws[0], draws[2])
    assert_equal(draws[1], draws[3])
    ax.manual_seed(0)
    w = nn.Linear(20, 30).weight
    nn.init.kaiming_uniform_(w)  # the global stream: different numbers
    assert_differs(w.detach().numpy(), draws[0], rtol=0, atol=0)


@pytest.mark.parametrize(
    "shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 5, 3, 2), 1), ((4, 2, 3, 3, 3), 1)]
)
def test_dirac_matches_torch(shape, groups):
    ours, theirs = ax.zeros(shape), torch.zeros(shape)
    nn.init.dirac_(ours, groups)
    torch.nn.init.dirac_(theirs, groups)
    assert_equal(ours.numpy(), theirs.numpy())


def test_sparse_zeroes_the_same_count_per_column():
    ours, theirs = ax.zeros(10, 6), torch.zeros(10, 6)
    nn.init.sparse_(ours, 0.35, std=1.0)
    torch.nn.init.sparse_(theirs, 0.35, std=1.0)
    assert_equal((ours.numpy() == 0).sum(0), (theirs.numpy() == 0).sum(0))
    with pytest.raises(ValueError):
        nn.init.sparse_(ax.zeros(2, 3, 4), 0.1)


# ============================================================ dropout variants


@pytest.mark.parametrize(
    "name,shape",
    [
        ("Dropout1d", (40, 50, 3)),
        ("Dropout1d", (50, 3)),
        ("Dropout3d", (40, 50, 2, 1, 2)),
        ("Dropout3d", (50, 2, 1, 2)),
    ],
)
def test_channel_dropout_drops_whole_channels(name, shape):
    ax.manual_seed(0)
    layer = getattr(nn, name)(0.3)
    assert repr(layer) == repr(getattr(torch.nn, name)(0.3))
    x = ax.ones(*shape)
    y = layer(x).numpy()
    channels = y.reshape(-1, int(np.prod(shape[-1 - (1 if "1d" in name else 3) :][1:])))
    assert np.isclose(channels, 0).sum() + np.isclose(channels, 1 / 0.7).sum() == channels.size
    assert (channels.min(1) == channels.max(1)).all()  # a channel is kept or dropped whole
    assert abs((channels[:, 0] == 0).mean() - 0.3) < 0.1
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("name", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropout_keeps_mean_and_variance(name):
    ax.manual_seed(0)
    layer = getattr(nn, name)(0.2)
    assert repr(layer) == repr(getattr(torch.nn, name)(0.2))
    x = ax.randn(400, 100, 5)
    y = layer(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    # the dropped units all take one value: a * alpha' + b (torch's constants)
    t = (
        getattr(TF, "alpha_dropout" if name == "AlphaDropout" else "feature_alpha_dropout")(
            torch.zeros(2000), 0.2, True
        )
        if name == "AlphaDropout"
        else None
    )
    values = np.unique(layer(ax.zeros(2000, 1)).numpy().round(6))
    if t is not None:
        assert set(values) == set(np.unique(t.numpy().round(6)))
    layer.eval()
    assert layer(x) is x


def test_dropout_variant_errors():
    helper_test_exception([(2, 3, 4, 5)], TF.dropout1d, F.dropout1d, match=["(2, 3, 4, 5)"])
    with pytest.raises(ValueError):
        nn.AlphaDropout(1.5)
    with pytest.raises(ValueError):
        F.dropout1d(ax.ones(2, 3, 4), -0.1)


# ============================================================ volumetric (3-D) layers

VOLUMETRIC = {
    "conv3d": (
        [(2, 4, 4, 5, 6), (6, 2, 2, 3, 2), (6,)],
        lambda x, w, b: TF.conv3d(x, w, b, (1, 2, 1), 1, (1, 1, 2), 2),
        lambda x, w, b: F.conv3d(x, w, b, (1, 2, 1), 1, (1, 1, 2), 2),
    ),
    "conv3d-same-unbatched": (
        [(3, 4, 5, 6), (2, 3, 2, 3, 2)],
        lambda x, w: TF.conv3d(x, w, padding="same"),
        lambda x, w: F.conv3d(x, w, padding="same"),
    ),
    "conv_transpose3d": (
        [(2, 4, 3, 4, 3), (4, 3, 3, 2, 3), (6,)],
        lambda x, w, b: TF.conv_transpose3d(x, w, b, 2, 1, (1, 0, 1), 2),
        lambda x, w, b: F.conv_transpose3d(x, w, b, 2, 1, (1, 0, 1), 2),
    ),
    "max_pool3d": (
        [(2, 3, 5, 6, 7)],
        lambda x: TF.max_pool3d(x, 3, 2, 1, return_indices=True),
        lambda x: F.max_pool3d(x, 3, 2, 1, return_indices=True),
    ),
    "max_pool3d-ceil-dilated": (
        [(3, 5, 6, 7)],
        lambda x: TF.max_pool3d(x, (2, 3, 2), (2, 2, 1), 0, (1, 1, 2), True, True),
        lambda x: F.max_pool3d(x, (2, 3, 2), (2, 2, 1), 0, (1, 1, 2), True, True),
    ),
    "avg_pool3d": (
        [(2, 3, 5, 6, 7)],
        lambda x: TF.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda x: F.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    ),
    "avg_pool3d-divisor": (
        [(2, 3, 4, 4, 5)],
        lambda x: TF.avg_pool3d(x, 2, divisor_override=3),
        lambda x: F.avg_pool3d(x, 2, divisor_override=3),
    ),
    "adaptive_avg_pool3d": (
        [(2, 3, 5, 6, 7)],
        lambda x: TF.adaptive_avg_pool3d(x, (2, 3, None)),
        lambda x: F.adaptive_avg_pool3d(x, (2, 3, None)),
    ),
    "adaptive_max_pool3d": (
        [(3, 5, 6, 7)],
        lambda x: TF.adaptive_max_pool3d(x, (2, 3, 4), True),
        lambda x: F.adaptive_max_pool3d(x, (2, 3, 4), True),
    ),
}


@pytest.mark.parametrize("name", list(VOLUMETRIC))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_volumetric_matches_torch(name, dtype):
    shapes, torch_fn, axon_fn = VOLUMETRIC[name]
    helper_test_op(shapes, torch_fn, axon_fn, dtype=dtype)


def test_volumetric_gradcheck_and_errors():
    rng = np.random.default_rng(5)

    def t(*shape):
        return ax.tensor(rng.standard_normal(shape), requires_grad=True)

    ax.gradcheck(
        lambda x, w, b: F.conv3d(x, w, b, stride=2, padding=1),
        [t(1, 2, 3, 3, 4), t(2, 2, 2, 2, 2), t(2)],
    )
    ax.gradcheck(
        lambda x, w: F.conv_transpose3d(x, w, stride=2, output_padding=1),
        [t(1, 2, 2, 2, 2), t(2, 1, 2, 2, 2)],
    )
    helper_test_exception(
        [(2, 3, 4, 4, 4), (2, 4, 3, 3, 3)],
        TF.conv3d,
        F.conv3d,
        match=["(2, 3, 4, 4, 4)", "(2, 4, 3, 3, 3)"],
    )
    helper_test_exception(
        [(2, 3, 4, 4)],
        lambda x: TF.max_pool3d(x, 5),
        lambda x: F.max_pool3d(x, 5),
        match=["(2, 3, 4, 4)"],
    )


@pytest.mark.parametrize(
    "name,args",
    [
        ("Conv3d", (4, 6, (1, 2, 3), 2, 1, 1, 2, False, "reflect")),
        ("Conv3d", (4, 2, (2, 3, 2), 1, "same", 1, 1, True, "circular")),
        ("ConvTranspose3d", (4, 3, 3, 2, 1, 1)),
    ],
)
def test_conv3d_modules_with_torch_weights(name, args):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args).double()
    ours = getattr(nn, name)(*args, dtype=ax.float64)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    helper_test_op([(2, 4, 4, 5, 6)], theirs, on_input_device(ours))


def test_convert_sync_batchnorm_keeps_the_weights():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3),
        torch.nn.BatchNorm2d(3),
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.BatchNorm1d(12)),
    )
    ours = nn.Sequential(
        nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Sequential(nn.Flatten(), nn.BatchNorm1d(12))
    )
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs).double().eval()
    ours = nn.SyncBatchNorm.convert_sync_batchnorm(ours).to(ax.float64).eval()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    helper_test_op([(2, 2, 4, 4)], theirs, on_input_device(ours))


# ============================================================ AdaptiveLogSoftmaxWithLoss


def test_adaptive_log_softmax_matches_torch():
    torch.manual_seed(0)
    args = (16, 20, [4, 10, 15])
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(*args, div_value=2.0, head_bias=True).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(*args, div_value=2.0, head_bias=True, dtype=ax.float64)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    target = np.array([0, 3, 4, 9, 12, 19, 15, 4])  # the head and every cluster
    helper_test_op(
        None,
        lambda x, y: tuple(theirs(x, y)),
        lambda x, y: tuple(on_input_device(ours)(x, y)),
        arrays=[np.random.default_rng(0).standard_normal((8, 16)), target],
    )
    ours.cpu()
    for (name, a), t in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert_close(a.grad, t.grad, 1e-10, 1e-12, msg=name)
    x = np.random.default_rng(1).standard_normal((5, 16))
    helper_test_op(None, theirs.log_prob, lambda v: ours.to(v.device).log_prob(v), arrays=[x])
    ours.cpu()
    assert_equal(ours.predict(ax.tensor(x)).numpy(), theirs.predict(torch.tensor(x)).numpy())
    one = ours(ax.tensor(x[0]), ax.tensor(np.array(12)))  # an unbatched row
    assert one.output.shape == ()
    assert abs(float(one.loss) - float(theirs(torch.tensor(x[0]), torch.tensor(12)).loss)) < 1e-12


def test_adaptive_log_softmax_errors():
    for cutoffs in ([], [4, 4], [10, 4], [0, 5], [5, 20]):
        with pytest.raises(ValueError):
            torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        with pytest.raises(ValueError):
            nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
    layer = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5])
    with pytest.raises(RuntimeError, match=r"\[0, 19\].*\[2, 20\]"):
        layer(ax.randn(2, 8), ax.tensor(np.array([2, 20])))
    with pytest.raises(RuntimeError, match=r"\(3, 8\)"):
        layer(ax.randn(3, 8), ax.tensor(np.array([2, 3])))


# ============================================================ functional attention, aliases


def _mha_call(lib_f, q, k, v, w_in, b_in, w_out, b_out, **kwargs):
    return tuple(
        lib_f.multi_head_attention_forward(
            q, k, v, 8, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out, **kwargs
        )
    )


@pytest.mark.parametrize("self_attention", [True, False])
def test_multi_head_attention_forward_matches_torch(self_attention):
    """Values and gradients of inputs and weights (CLIP's attention pooling calls it)."""
    mask = np.triu(np.ones((5, 5 if self_attention else 4), bool), 1)
    shapes = [(5, 3, 8), (4, 3, 8), (4, 3, 8), (24, 8), (24,), (8, 8), (8,)]
    if self_attention:
        shapes = [(5, 3, 8)] + shapes[3:]

        def t_fn(x, *w):
            return _mha_call(TF, x, x, x, *w, attn_mask=torch.tensor(mask))

        def a_fn(x, *w):
            return _mha_call(F, x, x, x, *w, attn_mask=ax.tensor(mask, device=x.device))
    else:

        def t_fn(q, k, v, *w):
            return _mha_call(
                TF, q, k, v, *w, attn_mask=torch.tensor(mask), average_attn_weights=False
            )

        def a_fn(q, k, v, *w):
            m = ax.tensor(mask, device=q.device)
            return _mha_call(F, q, k, v, *w, attn_mask=m, average_attn_weights=False)

    helper_test_op(shapes, t_fn, a_fn)


def test_with_indices_aliases():
    x = np.random.default_rng(6).standard_normal((2, 3, 6, 5))
    for name, args in [
        ("max_pool2d_with_indices", (2,)),
        ("adaptive_max_pool2d_with_indices", ((3, 2),)),
    ]:
        out, idx = getattr(F, name)(ax.tensor(x), *args)
        t_out, t_idx = getattr(TF, name)(torch.tensor(x), *args)
        assert_equal(idx.numpy(), t_idx.numpy())
        assert_close(out, t_out, 0, 0)
    assert_close(
        F.native_channel_shuffle(ax.tensor(x), 3),
        TF.native_channel_shuffle(torch.tensor(x), 3),
        0,
        0,
    )


@pytest.mark.parametrize("args", [(3, 0.5, 0.6, 2.0), (4,), (1, 1.0), (5, 2.0, 1.0, 0.5)])
def test_cross_map_lrn2d_matches_torch_forward(args):
    """Torch's legacy window, edges included; its hand-written backward fails torch's own
    gradcheck, so the gradient is checked by finite differences instead."""
    ours, theirs = nn.CrossMapLRN2d(*args), torch.nn.CrossMapLRN2d(*args)
    assert repr(ours) == repr(theirs)
    helper_test_op([(2, 6, 3, 4)], theirs, ours, forward_only=True)
    x = ax.tensor(np.random.default_rng(7).standard_normal((1, 5, 2, 2)), requires_grad=True)
    ax.gradcheck(ours, [x])
    with pytest.raises(ValueError, match=r"\(2, 3, 4\)"):
        ours(ax.randn(2, 3, 4))


# ============================================================ fractional max pooling


@pytest.mark.parametrize(
    "nd,shape,kwargs",
    [
        (2, (2, 3, 11, 9), dict(kernel_size=2, output_size=(5, 4))),
        (2, (3, 10, 12), dict(kernel_size=(3, 2), output_ratio=(0.6, 0.5))),
        (2, (2, 3, 7, 7), dict(kernel_size=3, output_size=5)),
        (3, (2, 2, 9, 11, 10), dict(kernel_size=2, output_size=(4, 5, 3))),
        (3, (2, 9, 11, 10), dict(kernel_size=(2, 3, 2), output_ratio=0.5)),
    ],
)
def test_fractional_max_pool_matches_torch_given_the_samples(nd, shape, kwargs):
    """With the same ``_random_samples`` the windows, values, indices and gradients are
    torch's (2-D and 3-D)."""
    planes = (1 if len(shape) == nd + 1 else shape[0], shape[-nd - 1], nd)
    samples = np.random.default_rng(8).random(planes)
    name = f"fractional_max_pool{nd}d"
    helper_test_op(
        [shape],
        lambda x: getattr(TF, name)(
            x, return_indices=True, _random_samples=torch.tensor(samples), **kwargs
        ),
        lambda x: getattr(F, name)(
            x, return_indices=True, _random_samples=ax.tensor(samples), **kwargs
        ),
    )


def test_fractional_max_pool2d_module():
    ax.manual_seed(0)
    layer = nn.FractionalMaxPool2d(2, output_ratio=0.5)
    assert repr(layer) == repr(torch.nn.FractionalMaxPool2d(2, output_ratio=0.5))
    x = ax.randn(2, 3, 11, 11)  # 11 -> 5: steps of 2.25, so the draws matter
    first, second = layer(x), layer(x)
    assert first.shape == (2, 3, 5, 5)
    assert_differs(first.numpy(), second.numpy(), rtol=0, atol=0)  # new windows every call
    for kwargs in (dict(), dict(output_size=3, output_ratio=0.5), dict(output_ratio=1.5)):
        with pytest.raises(ValueError):
            torch.nn.FractionalMaxPool2d(2, **kwargs)
        with pytest.raises(ValueError):
            nn.FractionalMaxPool2d(2, **kwargs)
    helper_test_exception(
        [(1, 1, 4, 4)],
        lambda t: TF.fractional_max_pool2d(t, 3, 3),
        lambda a: F.fractional_max_pool2d(a, 3, 3),
        match=["(1, 1, 4, 4)"],
    )


# ============================================================ LSTM with projections


@pytest.mark.parametrize(
    "kwargs", [dict(), dict(num_layers=2, bidirectional=True), dict(bias=False, batch_first=True)]
)
def test_lstm_proj_size_matches_torch(kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 5, proj_size=2, **kwargs).double()
    ours = nn.LSTM(3, 5, proj_size=2, dtype=ax.float64, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    states = 2 * kwargs.get("num_layers", 1) if kwargs.get("bidirectional") else 1
    shapes = [
        (4, 6, 3),
        (states, 4 if kwargs.get("batch_first") else 6, 2),
        (states, 4 if kwargs.get("batch_first") else 6, 5),
    ]
    helper_test_op(
        shapes,
        lambda x, h, c: (lambda y: (y[0], *y[1]))(theirs(x, (h, c))),
        lambda x, h, c: (lambda y: (y[0], *y[1]))(on_input_device(ours)(x, (h, c))),
    )
    ours.cpu()
    for (name, a), t in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert_close(a.grad, t.grad, 1e-10, 1e-12, msg=name)


def test_lstm_proj_size_packed_and_unbatched():
    from torch.nn.utils.rnn import pack_padded_sequence as t_pack
    from torch.nn.utils.rnn import pad_packed_sequence as t_pad

    from axon.nn.utils.rnn import pack_padded_sequence as a_pack
    from axon.nn.utils.rnn import pad_packed_sequence as a_pad

    torch.manual_seed(1)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2).double()
    ours = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, dtype=ax.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    lengths = [3, 5, 2, 4]

    def run(lib_pack, lib_pad, model):
        return lambda x: (lambda y: (lib_pad(y[0])[0], *y[1]))(
            model(lib_pack(x, lengths, enforce_sorted=False))
        )

    helper_test_op(
        [(5, 4, 3)], run(t_pack, t_pad, theirs), lambda x: run(a_pack, a_pad, ours.to(x.device))(x)
    )
    helper_test_op([(5, 3)], lambda x: theirs(x)[0], lambda x: on_input_device(ours)(x)[0])


def test_lstm_proj_size_errors():
    for kwargs in (dict(proj_size=5), dict(proj_size=-1)):
        with pytest.raises(ValueError):
            torch.nn.LSTM(3, 5, **kwargs)
        with pytest.raises(ValueError):
            nn.LSTM(3, 5, **kwargs)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNNBase("GRU", 3, 5, proj_size=2)
    lstm = nn.LSTM(3, 5, proj_size=2)
    with pytest.raises(RuntimeError, match=r"\(1, 4, 2\)"):
        lstm(ax.randn(6, 4, 3), (ax.randn(1, 4, 5), ax.randn(1, 4, 5)))


# ============================================================ nn.modules paths


def test_nn_modules_paths_as_torch():
    """Code imports layers from torch.nn.modules.<file>: every name axon offers there
    exists at the same path in torch, and the base classes answer isinstance as torch's."""
    import importlib
    import pkgutil

    import axon.nn.modules as ours

    for info in pkgutil.iter_modules(ours.__path__):
        mine = importlib.import_module(f"axon.nn.modules.{info.name}")
        theirs = importlib.import_module(f"torch.nn.modules.{info.name}")
        names = [
            n
            for n in vars(mine)
            if not n.startswith("__")
            and n != "annotations"
            and not isinstance(vars(mine)[n], type(importlib))
        ]
        missing = [n for n in names if not hasattr(theirs, n)]
        assert missing == [], (info.name, missing)
    checks = [
        (nn.BatchNorm2d(3), "batchnorm", "_BatchNorm"),
        (nn.InstanceNorm2d(3), "batchnorm", "_BatchNorm"),
        (nn.SyncBatchNorm(3), "batchnorm", "_BatchNorm"),
        (nn.InstanceNorm1d(3), "instancenorm", "_InstanceNorm"),
        (nn.ConvTranspose2d(2, 3, 3), "conv", "_ConvNd"),
        (nn.Dropout1d(), "dropout", "_DropoutNd"),
    ]
    for layer, path, base in checks:
        theirs_layer = getattr(torch.nn, type(layer).__name__)(
            *((3,) if "Norm" in base or "Batch" in base else (2, 3, 3) if "Conv" in base else ())
        )
        mine = isinstance(layer, getattr(getattr(nn.modules, path), base))
        assert mine == isinstance(theirs_layer, getattr(getattr(torch.nn.modules, path), base))
    from torch.nn.modules.utils import _pair as t_pair

    from axon.nn.modules.utils import _pair, _quadruple, _single, _triple

    assert _pair(3) == t_pair(3) and _pair([1, 2]) == t_pair([1, 2])
    assert (_single(2), _triple(1), _quadruple(0)) == ((2,), (1, 1, 1), (0, 0, 0, 0))


def test_data_parallel_on_a_machine_without_gpus_as_torch():
    torch.manual_seed(0)
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2).double(), device_ids=[0, 1])
    ours = nn.DataParallel(nn.Linear(3, 2, dtype=ax.float64), device_ids=[0, 1])
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    assert ours.device_ids == theirs.device_ids == []
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    helper_test_op([(4, 3)], theirs, on_input_device(ours))
