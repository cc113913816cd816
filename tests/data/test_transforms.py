"""Batch transforms: shapes, value ranges, seeding, what each augmentation does to each
image (checked against brute force or np.rot90/torch), per-sample use, and speed."""

import time

import numpy as np
import pytest
import torch

import axon
from axon.autograd.tensor import Tensor
from axon.data import DataLoader, TensorDataset
from axon.data import transforms as T


def _batch(n=16, c=1, h=28, w=28, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


# ---------------------------------------------------------------- ToTensor, Normalize
def test_to_tensor_layouts_and_scale():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (28, 28)).astype(np.uint8)
    out = T.ToTensor()(grey)
    assert isinstance(out, Tensor) and out.shape == (1, 28, 28) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy()[0], grey.astype(np.float32) / 255)
    batch = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    assert T.ToTensor()(batch).shape == (5, 1, 28, 28)
    hwc = rng.integers(0, 256, (6, 7, 3)).astype(np.uint8)
    chw = T.ToTensor()(hwc).numpy()
    np.testing.assert_array_equal(chw, hwc.transpose(2, 0, 1) / np.float32(255))
    nhwc = rng.integers(0, 256, (2, 6, 7, 3)).astype(np.uint8)
    assert T.ToTensor()(nhwc).shape == (2, 3, 6, 7)
    assert T.ToTensor()(np.zeros((2, 3, 6, 7), np.uint8)).shape == (2, 3, 6, 7)
    full = T.ToTensor()(np.array([[0, 255]], np.uint8)).numpy()
    assert full.min() == 0.0 and full.max() == 1.0
    floats = np.full((4, 4), 0.5, np.float64)
    assert T.ToTensor()(floats).dtype == np.float64  # float keeps its dtype, as torchvision
    assert T.ToTensor(dtype=np.float32)(floats).dtype == np.float32
    assert T.ToTensor()(floats).numpy().max() == 0.5
    with pytest.raises(ValueError, match="ToTensor"):
        T.ToTensor()(np.zeros(5, np.uint8))


def test_to_tensor_matches_torch_div():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    ours = T.ToTensor()(x).numpy()
    np.testing.assert_array_equal(ours[0], (torch.from_numpy(x).float() / 255).numpy())


def test_normalize_per_channel():
    x = _batch(4, 3, 5, 5)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    for c in range(3):
        np.testing.assert_allclose(out[:, c], (x[:, c] - mean[c]) / std[c], rtol=1e-6)
    assert out.dtype == np.float32
    single = T.Normalize(0.1307, 0.3081)(axon.tensor(x[0]))
    assert isinstance(single, Tensor)
    np.testing.assert_allclose(single.numpy(), (x[0] - 0.1307) / 0.3081, rtol=1e-5)
    with pytest.raises(TypeError, match="ToTensor first"):
        T.Normalize(0.5, 0.5)(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="zeros"):
        T.Normalize(0.5, 0.0)


# ---------------------------------------------------------------- crop and shift
def _window_offsets(out, padded):
    """For each image, every (top, left) whose window of ``padded`` equals ``out``."""
    h, w = out.shape[-2:]
    found = []
    for n in range(len(out)):
        hits = [
            (i, j)
            for i in range(padded.shape[-2] - h + 1)
            for j in range(padded.shape[-1] - w + 1)
            if np.array_equal(padded[n, :, i : i + h, j : j + w], out[n])
        ]
        found.append(hits)
    return found


def test_random_crop_with_padding_keeps_size_and_takes_windows():
    x = _batch(12, 2, 10, 9)
    out = T.RandomCrop((10, 9), padding=2, generator=0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = _window_offsets(out, padded)
    assert all(len(hits) == 1 for hits in offsets)  # each output is exactly one window
    assert len({hits[0] for hits in offsets}) > 3  # offsets are drawn per image


def test_random_crop_smaller_and_asymmetric_padding():
    x = _batch(6, 1, 12, 12)
    out = T.RandomCrop(8, generator=1)(x)
    assert out.shape == (6, 1, 8, 8)
    assert all(len(h) == 1 for h in _window_offsets(out, x))
    crop = T.RandomCrop(12, padding=(1, 3), fill=-1.0, generator=2)  # left/right 1, top/bottom 3
    out = crop(x)
    padded = np.pad(x, ((0, 0), (0, 0), (3, 3), (1, 1)), constant_values=-1.0)
    assert out.shape == x.shape and all(len(h) >= 1 for h in _window_offsets(out, padded))
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(13)(x)


def test_random_shift_translates_with_zero_fill():
    x = _batch(10, 1, 7, 7) + 1.0  # no zeros inside the image
    out = T.RandomShift(2, generator=3)(x)
    assert out.shape == x.shape
    for n in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(out[n], _shift(x[n], dy, dx))
        ]
        assert len(matches) == 1
    np.testing.assert_array_equal(T.RandomShift(0)(x), x)


def _shift(img, dy, dx):
    """img moved down by dy and right by dx, zeros where nothing moved in."""
    out = np.zeros_like(img)
    h, w = img.shape[-2:]
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = img[
        ..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


# ---------------------------------------------------------------- flips
def test_horizontal_flip_flips_the_chosen_items():
    x = _batch(64, 3, 5, 6)
    out = T.RandomHorizontalFlip(0.5, generator=4)(x)
    flipped = [np.array_equal(out[n], x[n, :, :, ::-1]) for n in range(64)]
    kept = [np.array_equal(out[n], x[n]) for n in range(64)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True))  # each one or the other
    assert 16 < sum(flipped) < 48
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x), x[..., ::-1, :])
    with pytest.raises(ValueError, match="p must be"):
        T.RandomHorizontalFlip(1.5)


# ---------------------------------------------------------------- rotation
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_rotation_by_zero_is_identity(interpolation):
    x = _batch(5, 2, 9, 12)
    out = T.RandomRotation((0, 0), interpolation)(x)
    np.testing.assert_array_equal(out, x)
    u8 = (x * 255).astype(np.uint8)
    np.testing.assert_array_equal(T.RandomRotation(0, interpolation)(u8), u8)


@pytest.mark.parametrize("k", [1, 2, 3, -1])
def test_rotation_by_multiples_of_90_equals_rot90(k):
    x = (_batch(4, 3, 11, 11) * 255).astype(np.uint8)
    out = T.RandomRotation((90 * k, 90 * k))(x)  # counter-clockwise, as np.rot90
    np.testing.assert_array_equal(out, np.rot90(x, k=k, axes=(-2, -1)))
    even = _batch(4, 1, 8, 8)  # even size: the centre falls between pixels
    np.testing.assert_array_equal(T.rotate(even, [90 * k] * 4), np.rot90(even, k, (-2, -1)))


def test_rotation_bilinear_matches_torch_grid_sample():
    x = _batch(6, 2, 13, 13, seed=5)
    angles = np.array([-40.0, -7.5, 3.0, 17.0, 33.3, 120.0])
    ours = T.rotate(x, angles, "bilinear")
    theta = np.deg2rad(angles)
    # affine_grid maps each output pixel to its source, here R(-theta) about the centre
    mats = np.stack([[[np.cos(t), -np.sin(t), 0.0], [np.sin(t), np.cos(t), 0.0]] for t in theta])
    grid = torch.nn.functional.affine_grid(torch.tensor(mats), list(x.shape), align_corners=False)
    ref = torch.nn.functional.grid_sample(
        torch.from_numpy(x).double(), grid, "bilinear", "zeros", align_corners=False
    )
    np.testing.assert_allclose(ours, ref.numpy(), atol=2e-5)


def test_rotation_nearest_takes_input_pixels_and_fills_corners():
    x = _batch(8, 1, 16, 16) + 1.0  # strictly positive
    out = T.RandomRotation(45, fill=0.0, generator=6)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    for n in range(8):  # every output pixel is an input pixel of that image, or the fill
        assert np.isin(out[n], np.append(x[n], 0.0)).all()
    assert (out == 0).any()  # some rotated far enough to uncover a corner
    big = T.RandomRotation((45, 45))(np.ones((1, 1, 9, 9), np.float32))
    assert big[0, 0, 0, 0] == 0 and big[0, 0, 4, 4] == 1


def test_rotation_keeps_dtype_and_range():
    x = (_batch(4, 1, 10, 10) * 255).astype(np.uint8)
    out = T.RandomRotation(30, "bilinear", generator=7)(x)
    assert out.dtype == np.uint8 and out.shape == x.shape
    with pytest.raises(ValueError, match="interpolation"):
        T.RandomRotation(10, "bicubic")


# ---------------------------------------------------------------- noise, compose
def test_gaussian_noise():
    x = np.zeros((64, 1, 28, 28), np.float32)
    out = T.GaussianNoise(0.1, generator=8)(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert abs(out.std() - 0.1) < 0.005 and abs(out.mean()) < 0.005
    clipped = T.GaussianNoise(0.5, clip=(0.0, 1.0))(x + 0.5)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    with pytest.raises(TypeError, match="ToTensor first"):
        T.GaussianNoise(0.1)(x.astype(np.uint8))


def test_compose_applies_in_order():
    x = np.arange(16, dtype=np.uint8).reshape(4, 4)
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2), T.Normalize(0.5, 0.5)])
    out = pipeline(x)
    np.testing.assert_allclose(out.numpy()[0], (x / 255 * 2 - 0.5) / 0.5, rtol=1e-6)
    assert "ToTensor" in repr(pipeline) and "Normalize" in repr(pipeline)


# ---------------------------------------------------------------- seeding, kinds, samples
RANDOM = [
    lambda g: T.RandomCrop(28, padding=3, generator=g),
    lambda g: T.RandomShift(3, generator=g),
    lambda g: T.RandomHorizontalFlip(generator=g),
    lambda g: T.RandomRotation(20, generator=g),
    lambda g: T.RandomRotation(20, "bilinear", generator=g),
    lambda g: T.GaussianNoise(0.2, generator=g),
]


@pytest.mark.parametrize("make", RANDOM)
def test_seeding(make):
    x = _batch(32)
    np.testing.assert_array_equal(make(123)(x), make(123)(x))  # own seed
    axon.manual_seed(5)
    first = make(None)(x)
    axon.manual_seed(5)
    np.testing.assert_array_equal(make(None)(x), first)  # axon's global generator
    assert not np.array_equal(make(None)(x), first)  # the generator moves on


@pytest.mark.parametrize("make", RANDOM)
def test_tensor_in_tensor_out_and_single_images(make):
    x = _batch(4)
    t = make(0)(axon.tensor(x))
    assert isinstance(t, Tensor) and t.shape == x.shape and not t.requires_grad
    np.testing.assert_array_equal(t.numpy(), make(0)(x))
    single = make(0)(x[0])  # one (C, H, W) image
    assert isinstance(single, np.ndarray) and single.shape == (1, 28, 28)
    assert make(0)(x[0, 0]).shape == (28, 28)  # one (H, W) image
    if not isinstance(make(0), T.GaussianNoise):  # pointwise: any shape will do
        with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
            make(0)(np.zeros(5, np.float32))


def test_input_is_never_modified():
    x = _batch(8)
    before = x.copy()
    for make in RANDOM:
        make(0)(x)
    T.Normalize(0.5, 0.5)(x)
    np.testing.assert_array_equal(x, before)


# ---------------------------------------------------------------- loader wrapper
def test_batch_transform_loader():
    x = np.zeros((10, 1, 4, 4), np.float32)
    y = np.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    wrapped = T.BatchTransformLoader(loader, T.Lambda(lambda b: b + 1))
    batches = list(wrapped)
    assert len(wrapped) == len(loader) == 3 and len(batches) == 3
    assert wrapped.batch_size == 4 and wrapped.dataset is loader.dataset
    assert all(isinstance(b, list) and len(b) == 2 for b in batches)  # lists, as torch
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x + 1)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)
    both = T.BatchTransformLoader(loader, lambda b: b * 0 + 7, apply_to=(0, -1))
    assert all((f.numpy() == 7).all() for b in both for f in b)
    whole = T.BatchTransformLoader(loader, lambda b: len(b), apply_to=None)
    assert list(whole) == [2, 2, 2]
    dicts = T.BatchTransformLoader([{"img": 1, "label": 2}], lambda v: v * 10, apply_to="img")
    assert list(dicts) == [{"img": 10, "label": 2}]
    with pytest.raises(TypeError, match="apply_to=None"):
        list(T.BatchTransformLoader([5], lambda v: v))


def test_augmented_training_batches_flow_through_fit():
    x = _batch(32, 1, 8, 8)
    y = np.arange(32) % 2
    loader = T.BatchTransformLoader(
        DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True),
        T.Compose([T.RandomShift(1), T.RandomHorizontalFlip()]),
    )
    model = axon.nn.Sequential(axon.nn.Flatten(), axon.nn.Linear(64, 2))
    history = axon.fit(
        model,
        loader,
        loss=axon.nn.CrossEntropyLoss(),
        optimizer=axon.optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        verbose=0,
    )
    assert len(history.history["loss"]) == 2


# ---------------------------------------------------------------- speed
def test_speed_of_batch_augmentation():
    x = _batch(256)
    timings = {}
    for name, t in [
        ("crop", T.RandomCrop(28, padding=2)),
        ("flip", T.RandomHorizontalFlip()),
        ("shift", T.RandomShift(2)),
        ("rotate", T.RandomRotation(15)),
    ]:
        t(x)
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            t(x)
            runs.append(time.perf_counter() - start)
        timings[name] = min(runs) * 1e3
    print("ms per (256, 1, 28, 28) batch:", {k: round(v, 2) for k, v in timings.items()})
    assert max(timings["crop"], timings["flip"], timings["shift"]) < 50  # ~0.2 ms measured
    assert timings["rotate"] < 200  # ~3-4 ms measured
