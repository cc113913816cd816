"""The vision experiments (mnist-mlp, lenet, fashion, digits) in quick mode, on tiny fake
MNIST-format files written here (each class a bright bar in its own place, on noise), read
through --data-dir; plus the shared helpers they use."""

import numpy as np
import pytest

import axon as ax
from axon import nn, optim
from axon.cli import main
from axon.data import MNIST, FashionMNIST
from axon.data.datadir import sha256sum
from axon.data.idx import write_idx
from axon.lab import Config
from axon.lab import digits as digits_lab
from axon.lab import fashion as fashion_lab
from axon.lab import mnist as mnist_lab
from axon.lab.shared.vision_common import (
    Images,
    Splits,
    carve_validation,
    confusion_matrix,
    feature_maps,
    standardise,
    stratified_split,
    train,
)

PNG = b"\x89PNG\r\n\x1a\n"
SIZES = {"train": 800, "t10k": 200}


def fake_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 28x28 uint8 images; class k is a bright 10x4 bar at its own place."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
    for k in range(10):
        r, c = 3 + 13 * (k // 5), 2 + 5 * (k % 5)
        images[labels == k, r : r + 10, c : c + 4] = 255
    return images, labels


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """A data directory with fake ``mnist/`` and ``fashion-mnist/`` IDX files, and the
    checksum tables that match them (the real ones would reject these files)."""
    root = tmp_path_factory.mktemp("data")
    tables = {}
    for cls, seed in ((MNIST, 0), (FashionMNIST, 10)):
        folder = root / cls.subdir
        folder.mkdir()
        table = {}
        for prefix, n in SIZES.items():
            images, labels = fake_images(n, seed + n)
            for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
                path = write_idx(folder / f"{prefix}-{kind}.gz", array)
                table[path.name] = (sha256sum(path), path.stat().st_size)
        tables[cls] = table
    return root, tables


@pytest.fixture
def fake_data(data_root, monkeypatch):
    root, tables = data_root
    for cls, table in tables.items():
        monkeypatch.setattr(cls, "files", table)
        monkeypatch.setattr(cls, "mirrors", [])  # never reach for the network
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    return root


def assert_outputs(result, out, stems):
    for stem in stems:
        assert (out / f"{stem}.safetensors").stat().st_size > 0
        for figure in ("curves", "confusion", "misclassified"):
            png = out / f"{stem}_{figure}.png"
            assert png in result.figures and png.read_bytes()[:8] == PNG


def assert_quick_claims(result):
    assert result.passed, result.claims
    texts = [text for text, _ in result.claims]
    assert any("training loss fell" in t for t in texts)
    assert any("beats chance" in t for t in texts)


def test_mnist_mlp_quick(fake_data, tmp_path, capsys):
    result = mnist_lab.run_mlp(Config(out=tmp_path, quick=True, data_dir=fake_data))
    assert_quick_claims(result)
    assert result.metrics["parameters"] == 13_002
    assert any("13,002" in t for t, _ in result.claims)
    assert_outputs(result, tmp_path, ["mnist_mlp"])
    out = capsys.readouterr().out
    assert "720 training, 80 validation (carved from the training data) and 200 test" in out
    assert result.metrics["val_accuracy"] > 0.35 and result.metrics["test_accuracy"] > 0.35
    assert result.splits == {"train": 720, "val": 80, "test": 200}  # for the run record
    assert "val accuracy" in out and "test accuracy" in out


def test_lenet_quick_with_feature_maps(fake_data, tmp_path):
    result = mnist_lab.run_lenet(Config(out=tmp_path, quick=True, data_dir=fake_data))
    assert_quick_claims(result)
    assert result.metrics["epochs"] == 2
    assert_outputs(result, tmp_path, ["lenet"])
    assert (tmp_path / "lenet_feature_maps.png").read_bytes()[:8] == PNG


def test_fashion_quick_through_the_cli(fake_data, tmp_path, capsys):
    status = main(
        [
            "run",
            "fashion",
            "--quick",
            "--epochs",
            "3",
            "--data-dir",
            str(fake_data),
            "--out",
            str(tmp_path),
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "FashionMNIST from" in out and "3 epochs" in out and "all claims hold" in out
    assert (tmp_path / "fashion_cnn.safetensors").exists()
    assert (tmp_path / "fashion_feature_maps.png").exists()


def test_digits_quick_prints_both_models_side_by_side(tmp_path, capsys):
    result = digits_lab.run(Config(out=tmp_path, quick=True, epochs=3))
    assert result.passed, result.claims
    for key in ("mlp", "cnn"):
        assert 0.35 < result.metrics[f"{key}_test_accuracy"] <= 1.0
        assert 0.35 < result.metrics[f"{key}_val_accuracy"] <= 1.0
    out = capsys.readouterr().out
    side = out[out.index("Side by side") :]
    assert "MLP 64-64-10" in side.splitlines()[4] and "CNN" in side.splitlines()[5]
    assert_outputs(result, tmp_path, ["digits_mlp", "digits_cnn"])


def test_fashion_cnn_has_batchnorm_and_dropout_and_ten_outputs():
    model = fashion_lab.fashion_cnn()
    kinds = {type(m) for m in model.modules()}
    assert {nn.BatchNorm2d, nn.BatchNorm1d, nn.Dropout} <= kinds
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    model.eval()
    with ax.no_grad():
        first, second = model(ax.from_numpy(x)).numpy(), model(ax.from_numpy(x)).numpy()
    assert first.shape == (3, 10)
    np.testing.assert_array_equal(first, second)  # eval mode: no dropout, running stats


def test_missing_data_gives_the_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MNIST, "mirrors", [])
    (tmp_path / "empty").mkdir()  # a data folder that exists but lacks MNIST
    monkeypatch.setenv("AXON_DATA_DIR", str(tmp_path / "elsewhere"))
    status = main(
        [
            "run",
            "lenet",
            "--quick",
            "--data-dir",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "mnist/train-images-idx3-ubyte.gz was not found" in err
    assert str(tmp_path / "empty" / "mnist") in err and "AXON_DATA_DIR" in err


def test_cli_rejects_zero_epochs(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "digits", "--epochs", "0"])
    assert exc.value.code == 2
    assert "at least 1" in capsys.readouterr().err


# ----------------------------------------------------------------------------- helpers
def test_standardise_uses_the_given_statistics():
    images = np.array([[[0, 255], [255, 0]]], dtype=np.uint8)  # (1, 2, 2)
    x, mean, std = standardise(images)
    assert x.shape == (1, 1, 2, 2) and x.dtype == np.float32
    assert mean == pytest.approx(0.5) and std == pytest.approx(0.5)
    np.testing.assert_allclose(x[0, 0], [[-1, 1], [1, -1]])
    y, _, _ = standardise(images, mean=0.25, std=0.5)
    np.testing.assert_allclose(y[0, 0], [[-0.5, 1.5], [1.5, -0.5]])


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    m = confusion_matrix(np.array([0, 1, 1, 2, 2]), np.array([0, 1, 2, 2, 2]), 3)
    np.testing.assert_array_equal(m, [[1, 0, 0], [0, 1, 0], [0, 1, 2]])


def test_feature_maps_are_the_first_convolution_of_the_image():
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 16, 2))
    image = np.random.default_rng(0).standard_normal((1, 6, 6)).astype(np.float32)
    filters, maps = feature_maps(model, image)
    w = model[0].weight.detach().numpy()
    b = model[0].bias.detach().numpy()
    assert filters.shape == (3, 3, 3) and maps.shape == (3, 4, 4)
    expected = np.array(
        [
            [
                [np.sum(image[0, i : i + 3, j : j + 3] * w[o, 0]) + b[o] for j in range(4)]
                for i in range(4)
            ]
            for o in range(3)
        ]
    )
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)


def test_images_subset_and_pictures_undo_the_standardisation():
    raw = np.arange(10 * 4, dtype=np.uint8).reshape(10, 2, 2) * 6
    x, mean, std = standardise(raw)
    images = Images(x, np.arange(10), mean, std, [str(i) for i in range(10)])
    sub = images.subset(4, seed=0)
    assert len(sub) == 4 and len(set(sub.y.tolist())) == 4
    np.testing.assert_allclose(images.pictures([3]), raw[3:4] / 255, atol=1e-6)
    assert images.subset(20, seed=0) is images
    assert images.flat().shape == (10, 4)


def test_stratified_split_holds_out_a_tenth_of_each_class_seeded():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    kept, held = stratified_split(labels, 0.1, seed=4)
    assert np.bincount(labels[held]).tolist() == [5, 3, 2]
    assert sorted([*kept, *held]) == list(range(100)) and not set(kept) & set(held)
    again, _ = stratified_split(labels, 0.1, seed=4)
    other, _ = stratified_split(labels, 0.1, seed=5)
    np.testing.assert_array_equal(kept, again)
    assert not np.array_equal(kept, other)


def test_carve_validation_standardises_with_the_training_split_alone():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (200, 3, 3), dtype=np.uint8)
    raw[:20] = 255  # bright images: the statistics change when they leave the training part
    labels = np.arange(200) % 10
    x, mean, std = standardise(raw)
    every = Images(x, labels, mean, std, [str(i) for i in range(10)])
    test = Images(standardise(raw[:7], mean, std)[0], labels[:7], mean, std, every.classes)
    splits = carve_validation(every, test, seed=1)
    assert splits.sizes() == {"train": 180, "val": 20, "test": 7}
    kept, held = stratified_split(labels, 0.1, seed=1)
    pixels = raw[kept] / 255
    assert splits.train.mean == pytest.approx(pixels.mean(), rel=1e-6)
    assert splits.train.std == pytest.approx(pixels.std(), rel=1e-6)
    for part, idx in ((splits.train, kept), (splits.val, held), (splits.test, np.arange(7))):
        assert part.mean == splits.train.mean and part.x.dtype == np.float32
        np.testing.assert_allclose(part.pictures(np.arange(len(idx))), raw[idx] / 255, atol=2e-6)
        np.testing.assert_array_equal(part.y, labels[idx])


def test_train_draws_its_curves_on_the_validation_split_and_scores_the_test_split_once():
    """A validation split the model can learn and a test split whose labels are shifted by
    one class: the curves (val_accuracy) must follow the first, the test score the second."""
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    x = (np.eye(3)[y] * 4 + rng.normal(0, 0.3, (300, 3))).astype(np.float32)[:, None, :, None]
    shifted = (y + 1) % 3
    splits = Splits(
        Images(x[:200], y[:200], 0.0, 1.0, ["a", "b", "c"]),
        Images(x[200:250], y[200:250], 0.0, 1.0, ["a", "b", "c"]),
        Images(x[250:], shifted[250:], 0.0, 1.0, ["a", "b", "c"]),
    )
    ax.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3, 3))
    run = train(
        model, splits, optimizer=optim.Adam(model.parameters(), lr=0.1), epochs=3, verbose=0
    )
    assert run.val_accuracy == 1.0 and run.test_accuracy == 0.0
    assert run.history["val_accuracy"][-1] == run.val_accuracy
    assert run.predictions.shape == (50,)
