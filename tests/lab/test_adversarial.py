"""axon run adversarial in quick mode, on tiny fake MNIST-format files written here (each
class a bright bar in its own place, on noise), read through --data-dir."""

from types import SimpleNamespace

import numpy as np
import pytest

import axon as ax
from axon import attacks, models
from axon.data import MNIST
from axon.data.datadir import sha256sum
from axon.data.idx import write_idx
from axon.lab import Config, Result
from axon.lab import adversarial as lab

PNG = b"\x89PNG\r\n\x1a\n"
SIZES = {"train": 600, "t10k": 150}


def fake_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 28x28 uint8 images; class k is a 10x4 bar at its own place."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
    for k in range(10):
        r, c = 3 + 13 * (k // 5), 2 + 5 * (k % 5)
        images[labels == k, r : r + 10, c : c + 4] = 255
    return images, labels


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """A data directory with fake ``mnist/`` IDX files and the checksums that match them."""
    root = tmp_path_factory.mktemp("data")
    folder = root / MNIST.subdir
    folder.mkdir()
    table = {}
    for prefix, n in SIZES.items():
        images, labels = fake_images(n, n)
        for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            path = write_idx(folder / f"{prefix}-{kind}.gz", array)
            table[path.name] = (sha256sum(path), path.stat().st_size)
    return root, table


@pytest.fixture
def fake_data(data_root, monkeypatch):
    root, table = data_root
    monkeypatch.setattr(MNIST, "files", table)
    monkeypatch.setattr(MNIST, "mirrors", [])  # never reach for the network
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    return root


def test_quick_run_checks_its_claims_and_draws_its_figures(fake_data, tmp_path, capsys):
    result = lab.run(Config(out=tmp_path, quick=True, data_dir=fake_data))
    assert result.passed, result.claims
    texts = " | ".join(text for text, _ in result.claims)
    for claim in (
        "lies within eps",
        "only the pixels of its square",
        "FGSM with eps 0.3 fools",
        "at least as many as FGSM",
        "a larger patch fools more",
        "adversarial training raises the accuracy under PGD",
    ):
        assert claim in texts
    m = result.metrics
    assert m["fgsm_fooled_test_set"] >= lab.QUICK_FOOLED
    for e in lab.QUICK.epsilons:
        assert m[f"pgd_success@{e:g}"] >= m[f"fgsm_success@{e:g}"]
    assert m["robust_pgd_accuracy@0.2"] > m["pgd_accuracy@0.2"]
    assert m["patch_success@12"] > m["patch_success@4"]
    assert all(np.isfinite(v) for v in m.values())
    for name in ("success", "patch", "examples"):
        png = tmp_path / f"adversarial_{name}.png"
        assert png in result.figures and png.read_bytes()[:8] == PNG
    for name in ("clean", "robust"):
        state = ax.load(tmp_path / f"adversarial_lenet_{name}.safetensors")
        models.lenet5().load_state_dict(state)  # loadable as a plain LeNet-5
    assert 0.35 < m["clean_val_accuracy"] <= 1 and 0.35 < m["robust_val_accuracy"] <= 1
    assert result.splits == {"train": 540, "val": 60, "test": 150}
    out = capsys.readouterr().out
    assert "Success rate against eps" in out and "Sticker attack" in out
    assert "540 training, 60 validation (carved from the training data) and 150 test" in out


def test_registered():
    from axon import lab as registry

    assert registry.get("adversarial").run is lab.run


def test_the_data_are_pixels_and_the_model_standardises(fake_data):
    splits, mean, std = lab.load_pixels(Config(data_dir=fake_data))
    train, val = splits.train, splits.val
    assert train.x.dtype == np.float32 and train.x.shape == (540, 1, 28, 28)
    assert train.x.min() == 0.0 and train.x.max() == 1.0
    # the validation split: a tenth of each digit of the training file, none in training
    assert np.bincount(val.y, minlength=10).tolist() == [6] * 10
    images, labels = fake_images(SIZES["train"], SIZES["train"])
    pixels = images[:, None].astype(np.float32) / 255
    rows = {p.tobytes() for p in pixels}
    assert {p.tobytes() for p in train.x} | {p.tobytes() for p in val.x} == rows
    assert not {p.tobytes() for p in train.x} & {p.tobytes() for p in val.x}
    # the statistics the model standardises with are the training split's alone
    assert mean == pytest.approx(train.x.mean(), rel=1e-5)
    assert std == pytest.approx(train.x.std(), rel=1e-5)
    assert len(splits.test) == SIZES["t10k"]


def test_adversarial_batches_are_half_clean_half_attacked():
    ax.manual_seed(0)
    model = attacks.Normalized(models.lenet5(), 0.1, 0.3)
    x, y = fake_images(8, 0)
    x = x[:, None].astype(np.float32) / 255
    make = lab.AdversarialBatches(model, 0.3, np.random.default_rng(0))
    xb, yb = make((ax.tensor(x), ax.tensor(y.astype(np.int64))))
    xb, yb = xb.numpy(), yb.numpy()
    assert xb.shape == (16, 1, 28, 28) and yb.tolist() == y.tolist() * 2
    np.testing.assert_array_equal(xb[:8], x)
    delta = np.abs(xb[8:] - x)
    assert delta.max() <= 0.3 + 1e-6 and delta.max() > 0.2
    assert xb.min() >= 0 and xb.max() <= 1


def test_weights_are_loaded_instead_of_trained(fake_data, tmp_path):
    splits, mean, std = lab.load_pixels(Config(data_dir=fake_data))
    ax.manual_seed(3)
    saved = models.lenet5()
    ax.save(saved.state_dict(), tmp_path / "lenet.safetensors")
    config = SimpleNamespace(
        seed=0,
        weights=tmp_path / "lenet.safetensors",
        epochs=None,
        out=tmp_path,
        quick=True,
        device="cpu",
    )
    result = Result("adversarial")
    model = lab.clean_model(config, lab.QUICK, splits, mean, std, result)
    for (k, a), b in zip(
        model.model.state_dict().items(), saved.state_dict().values(), strict=True
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    # an untrained network: the accuracy claim is checked, and fails
    assert len(result.claims) == 1 and not result.passed
    assert "loaded LeNet-5" in result.claims[0][0]
