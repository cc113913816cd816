"""Nearest-neighbour ``interpolate`` / ``Upsample`` and channel dropout ``Dropout2d``."""

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

# (input shape, keywords of interpolate)
RESIZES = [
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((2, 3, 4, 5), dict(scale_factor=3)),
    ((2, 3, 4, 5), dict(scale_factor=(2, 1.5))),
    ((2, 3, 5, 7), dict(scale_factor=1.7)),  # index uses 1 / 1.7, not in / out
    ((2, 3, 5, 7), dict(scale_factor=1.7, recompute_scale_factor=True)),
    ((2, 3, 5, 7), dict(size=(8, 11))),
    ((2, 3, 9, 8), dict(size=(4, 3))),  # downsampling: some pixels get no gradient
    ((2, 3, 9, 8), dict(scale_factor=0.5)),
    ((2, 3, 5, 7), dict(size=(8, 11), mode="nearest-exact")),
    ((2, 3, 7), dict(scale_factor=2)),  # 1-D
    ((2, 3, 7), dict(size=12)),
]


@pytest.mark.parametrize("shape, kw", RESIZES, ids=str)
def test_interpolate_nearest_matches_torch(shape, kw):
    helper_test_op([shape], lambda x: TF.interpolate(x, **kw), lambda x: F.interpolate(x, **kw))
    helper_test_op(
        [shape],
        lambda x: TF.interpolate(x, **kw),
        lambda x: F.interpolate(x, **kw),
        dtype=np.float32,
        layout="transposed",
    )


def test_upsample_module_and_gradcheck():
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    for ours, theirs in [
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample(size=(5, 7)), torch.nn.Upsample(size=(5, 7))),
    ]:
        assert_close(ours(ax.tensor(x)), theirs(torch.tensor(x)))
        assert repr(ours) == repr(theirs)
    a = ax.tensor(x.astype(np.float64), requires_grad=True)
    ax.gradcheck(lambda t: F.interpolate(t, size=(5, 3)), [a])
    ax.gradcheck(lambda t: F.interpolate(t, scale_factor=2), [a])


def test_interpolate_errors():
    x = ax.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D"):
        F.interpolate(x[0], scale_factor=2, mode="bilinear")  # (C, H, W): as torch


# ============================================================ Dropout2d


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    x = ax.rand(16, 32, 5, 5) + 1.0  # no zeros of its own
    m = nn.Dropout2d(p=0.25)
    y = m(x).numpy()
    ratio = y / x.numpy()
    per_channel = ratio.reshape(16, 32, -1)
    assert np.allclose(per_channel, per_channel[:, :, :1])  # one value per (n, c)
    scale = per_channel[:, :, 0]
    assert np.all((scale == 0) | np.isclose(scale, 1 / 0.75))
    assert abs((per_channel[:, :, 0] == 0).mean() - 0.25) < 0.06
    m.eval()
    assert m(x) is x  # the identity in eval mode


def test_dropout2d_backward_uses_the_mask():
    x = ax.randn(4, 6, 3, 3, requires_grad=True)
    y = F.dropout2d(x, 0.5)
    y.backward(np.ones(y.shape, np.float32))
    kept = y.detach().numpy() != 0
    assert_close(x.grad, kept * 2.0)
    assert x.grad.dtype == np.float32


def test_dropout2d_seeded_and_edge_probabilities():
    x = ax.randn(3, 8, 4, 4)
    ax.manual_seed(7)
    a = F.dropout2d(x, 0.5).numpy()
    ax.manual_seed(7)
    assert np.array_equal(a, F.dropout2d(x, 0.5).numpy())
    assert not np.array_equal(a, F.dropout2d(x, 0.5).numpy())
    assert F.dropout2d(x, 0.0) is x
    assert not F.dropout2d(x, 1.0).numpy().any()
    assert F.dropout2d(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(x, -0.1)


def test_dropout2d_3d_input_is_read_as_n_c_l_like_torch():
    x = ax.rand(4, 8, 10) + 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = F.dropout2d(x, 0.5).numpy()
    assert any("3D input to dropout2d" in str(w.message) for w in caught)
    ratio = y / x.numpy()
    assert np.allclose(ratio, ratio[:, :, :1])  # one draw per (n, c), shared along L
    with pytest.warns(UserWarning, match="3D input"):
        TF.dropout2d(torch.rand(4, 8, 10), 0.5)
