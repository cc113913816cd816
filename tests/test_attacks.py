"""axon.attacks: FGSM, PGD and the patch attack on a small LeNet-5 trained for a few steps
on synthetic digits; the input gradient and FGSM against torch with the same weights."""

import numpy as np
import pytest
import torch

import axon as ax
from axon import attacks, models, nn, optim
from tests.helpers import assert_close, assert_differs
from tests.models import torch_reference as ref

MEAN, STD = 0.2, 0.35


def bars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 float32 pixel images (N, 1, 28, 28) in [0, 1]: class k (of 10) is a
    bright 10x4 bar at its own place, on dim noise."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10)
    x = rng.uniform(0, 0.25, (n, 1, 28, 28)).astype(np.float32)
    for k in range(10):
        r, c = 3 + 13 * (k // 5), 2 + 5 * (k % 5)
        x[y == k, :, r : r + 10, c : c + 4] = 0.9
    return x, y.astype(np.int64)


@pytest.fixture(scope="module")
def trained():
    """A LeNet-5 on pixels, trained for 20 Adam steps on 320 synthetic images: it gets most
    test images right with logit margins of about 2 (trained much longer, its softmax
    saturates and the input gradients fall to the level of rounding errors)."""
    ax.manual_seed(0)
    model = attacks.Normalized(models.lenet5(), MEAN, STD)
    x, y = bars(320, 0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for step in range(20):
        i = slice(64 * (step % 5), 64 * (step % 5 + 1))
        opt.zero_grad()
        nn.functional.cross_entropy(model(ax.tensor(x[i])), ax.tensor(y[i])).backward()
        opt.step()
    model.eval()
    return model


@pytest.fixture(scope="module")
def test_images():
    return bars(60, 1)


def torch_twin(model: attacks.Normalized, dtype=torch.float64) -> torch.nn.Module:
    twin = ref.LeNet5()
    twin.load_state_dict(
        {k: torch.tensor(v.detach().numpy()) for k, v in model.model.state_dict().items()}
    )
    return twin.to(dtype).eval()


def torch_gradient(twin, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xt = torch.tensor(x, requires_grad=True)
    logits = twin((xt - MEAN) / STD)
    torch.nn.functional.cross_entropy(logits, torch.tensor(y), reduction="sum").backward()
    return xt.grad.numpy()


def loss(model, x, y) -> float:
    with ax.no_grad():
        return nn.functional.cross_entropy(model(ax.tensor(x)), ax.tensor(y)).item()


# ----------------------------------------------------------------------------- against torch
def test_input_gradient_matches_torch(trained, test_images):
    x, y = test_images
    model = attacks.Normalized(models.lenet5(), MEAN, STD)
    model.load_state_dict(trained.state_dict())
    model.double()
    x64 = x.astype(np.float64)
    g, logits = attacks.input_gradient(model, x64, y)
    twin = torch_twin(trained)
    assert_close(g, torch_gradient(twin, x64, y), rtol=1e-9, atol=1e-12)
    assert_close(logits, twin((torch.tensor(x64) - MEAN) / STD), rtol=1e-9, atol=1e-12)
    assert np.abs(g).max() > 0


def test_fgsm_is_eps_times_sign_of_torch_gradient(trained, test_images):
    x, y = test_images
    model = attacks.Normalized(models.lenet5(), MEAN, STD)
    model.load_state_dict(trained.state_dict())
    model.double()
    x64 = x.astype(np.float64)
    g = torch_gradient(torch_twin(trained), x64, y)
    assert (g != 0).mean() > 0.5  # the sign is defined almost everywhere
    for eps in (0.05, 0.3):
        expected = np.clip(x64 + eps * np.sign(g), 0, 1)
        got = attacks.fgsm(model, x64, y, eps).numpy()
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)


def test_fgsm_float32_agrees_with_torch(trained, test_images):
    x, y = test_images
    g = torch_gradient(torch_twin(trained, torch.float32), x, y)
    got = attacks.fgsm(trained, x, y, 0.1).numpy()
    expected = np.clip(x + np.float32(0.1) * np.sign(g), 0, 1)
    assert got.dtype == np.float32
    # float32 gradients from two engines may differ in sign only where they are ~0
    assert (got != expected).mean() < 1e-3


# ----------------------------------------------------------------------------- bounds
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3])
def test_fgsm_and_pgd_stay_in_the_ball_and_the_pixel_range(trained, test_images, eps):
    x, y = test_images
    for x_adv in (
        attacks.fgsm(trained, x, y, eps),
        attacks.pgd(trained, x, y, eps, alpha=eps / 4, steps=5, rng=0),
        attacks.pgd(trained, x, y, eps, alpha=eps, steps=3, random_start=False),
    ):
        a = x_adv.numpy()
        assert a.shape == x.shape and a.dtype == np.float32 and not x_adv.requires_grad
        assert np.isfinite(a).all()
        assert np.abs(a - x).max() <= eps + 1e-6
        assert a.min() >= 0 and a.max() <= 1
    if eps == 0:
        np.testing.assert_array_equal(attacks.fgsm(trained, x, y, 0.0).numpy(), x)


def test_pgd_one_step_of_eps_without_random_start_is_fgsm(trained, test_images):
    x, y = test_images
    for eps in (0.1, 0.3):
        np.testing.assert_array_equal(
            attacks.pgd(trained, x, y, eps, alpha=eps, steps=1, random_start=False).numpy(),
            attacks.fgsm(trained, x, y, eps).numpy(),
        )


def test_attacks_raise_the_loss_and_pgd_more_than_fgsm(trained, test_images):
    x, y = test_images
    eps = 0.1
    clean = loss(trained, x, y)
    fgsm = loss(trained, attacks.fgsm(trained, x, y, eps).numpy(), y)
    pgd = loss(trained, attacks.pgd(trained, x, y, eps, 2.5 * eps / 10, 10, rng=0).numpy(), y)
    assert clean < fgsm < pgd


def test_pgd_random_start_is_seeded(trained, test_images):
    x, y = test_images
    a = attacks.pgd(trained, x, y, 0.1, 0.02, 2, rng=3).numpy()
    b = attacks.pgd(trained, x, y, 0.1, 0.02, 2, rng=np.random.default_rng(3)).numpy()
    c = attacks.pgd(trained, x, y, 0.1, 0.02, 2, rng=4).numpy()
    assert_close(a, b, rtol=0, atol=0)
    assert_differs(a, c)


def test_fgsm_at_0_3_fools_most_of_the_tiny_models_correct_predictions(trained, test_images):
    x, y = test_images
    rate, n = attacks.success_rate(trained, x, y, attacks.fgsm(trained, x, y, 0.3))
    assert n >= 45  # the model learned the bars: most of the 60 are classified correctly
    assert rate > 0.5  # 62% to 88% over ten seeds of the weights and the images


# ----------------------------------------------------------------------------- patches
def test_patch_mask():
    m = attacks.patch_mask((2, 1, 5, 6), 2, [[0, 0], [3, 4]])
    assert m.shape == (2, 1, 5, 6) and m.dtype == bool
    assert m.sum() == 8
    assert m[0, 0, :2, :2].all() and m[1, 0, 3:5, 4:6].all()
    np.testing.assert_array_equal(
        attacks.patch_mask((3, 4, 4), 4, (0, 0)), np.ones((3, 4, 4), bool)
    )


@pytest.mark.parametrize("corners", [None, (10, 12), "per-image"])
def test_patch_changes_only_its_square(trained, test_images, corners):
    x, y = test_images
    size = 6
    if corners == "per-image":
        corners = attacks.random_corners(len(x), x.shape, size, rng=5)
    a = attacks.patch_attack(trained, x, y, size, steps=5, rng=1, corners=corners).numpy()
    assert a.shape == x.shape and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    changed = (a != x).any(axis=1)  # (N, H, W)
    for i in range(len(x)):
        rows, cols = np.nonzero(changed[i])
        assert len(rows) > 0
        assert rows.max() - rows.min() < size and cols.max() - cols.min() < size
    if corners is not None:
        mask = attacks.patch_mask(x.shape, size, corners)
        np.testing.assert_array_equal(a[~mask], x[~mask])


def test_patch_attack_raises_the_loss_and_bigger_fools_more(trained, test_images):
    x, y = test_images
    corners = np.array([10, 10])
    small = attacks.patch_attack(trained, x, y, 3, steps=10, corners=corners, rng=0).numpy()
    big = attacks.patch_attack(trained, x, y, 12, steps=10, corners=corners - 4, rng=0).numpy()
    assert loss(trained, x, y) < loss(trained, small, y) < loss(trained, big, y)
    assert (
        attacks.success_rate(trained, x, y, big)[0] > attacks.success_rate(trained, x, y, small)[0]
    )


def test_patch_without_steps_or_noise_is_the_image(trained, test_images):
    x, y = test_images
    np.testing.assert_array_equal(
        attacks.patch_attack(trained, x, y, 5, steps=0, random_init=False).numpy(), x
    )


# ----------------------------------------------------------------------------- the rest
def test_attacks_leave_the_model_as_they_found_it(trained, test_images):
    x, y = test_images
    model = attacks.Normalized(models.lenet5(), MEAN, STD)
    model.load_state_dict(trained.state_dict())
    model.train()
    model.model.classifier.eval()
    attacks.pgd(model, x[:8], y[:8], 0.1, 0.05, 2, rng=0)
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    assert model.training and model.model.features.training
    assert not model.model.classifier.training


def test_success_rate_counts_flips_among_correct_predictions(trained, test_images):
    x, y = test_images
    pred = attacks.predict(trained, x)
    x_adv = attacks.fgsm(trained, x, y, 0.2).numpy()
    adv = attacks.predict(trained, x_adv)
    rate, n = attacks.success_rate(trained, x, y, x_adv)
    right = pred == y
    assert n == right.sum()
    assert rate == pytest.approx((adv[right] != y[right]).mean())
    assert attacks.success_rate(trained, x, y, x) == (0.0, n)


def test_normalized_standardises_inside_the_model():
    ax.manual_seed(0)
    inner = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    model = attacks.Normalized(inner, [0.1, 0.2, 0.3], [0.5, 0.25, 2.0])
    x = np.random.default_rng(0).uniform(0, 1, (4, 3, 2, 2)).astype(np.float32)
    z = (x - np.array([0.1, 0.2, 0.3]).reshape(3, 1, 1)) / np.array([0.5, 0.25, 2.0]).reshape(
        3, 1, 1
    )
    assert_close(model(ax.tensor(x)), inner(ax.tensor(z.astype(np.float32))))
    assert set(model.state_dict()) == {"model.1.weight", "model.1.bias"}
    with pytest.raises(ValueError, match="std > 0"):
        attacks.Normalized(inner, 0.0, 0.0)


def test_bad_input_says_what_is_wrong(trained, test_images):
    x, y = test_images
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\].*Normalized"):
        attacks.fgsm(trained, (x - MEAN) / STD, y, 0.1)
    with pytest.raises(ValueError, match=r"\(60, 1, 28, 28\).*\(59,\)"):
        attacks.fgsm(trained, x, y[:-1], 0.1)
    with pytest.raises(ValueError, match="eps"):
        attacks.pgd(trained, x, y, -0.1, 0.01, 1)
    with pytest.raises(ValueError, match="steps"):
        attacks.pgd(trained, x, y, 0.1, 0.01, 0)
    with pytest.raises(ValueError, match="from 1 to 28"):
        attacks.patch_attack(trained, x, y, 29)
    with pytest.raises(ValueError, match="leaves the 28x28 image"):
        attacks.patch_attack(trained, x, y, 8, corners=(21, 0))
    with pytest.raises(ValueError, match=r"\(N, 2\) with N = 60"):
        attacks.patch_attack(trained, x, y, 8, corners=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"logits \(N, C\)"):
        attacks.fgsm(nn.Flatten(0), x, y, 0.1)
