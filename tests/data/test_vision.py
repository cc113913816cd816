"""MNIST, Fashion-MNIST and the 8x8 digits, on tiny IDX files made here (never the real
data, never the network; the one test on the real files is slow and skips without them)."""

import hashlib
import os
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from axon.autograd.tensor import Tensor
from axon.data import (
    MNIST,
    DataLoader,
    FashionMNIST,
    TensorDataset,
    datadir,
    load_digits,
    transforms,
    vision,
)
from axon.data.datadir import ChecksumError
from axon.data.idx import write_idx

N_TRAIN, N_TEST = 10, 4


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(datadir, "_verified_in_process", set())

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _make(folder, n_train=N_TRAIN, n_test=N_TEST, seed=0):
    """Tiny MNIST-format files: images (n, 28, 28) uint8, labels 0-9 uint8."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[prefix] = (images, labels)
    return arrays


def _tiny_checksums(folder) -> dict:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
        for p in folder.glob("*.gz")
    }


@pytest.fixture
def mnist_root(tmp_path):
    root = tmp_path / "data"
    return root, _make(root / "mnist")


def test_reads_both_splits(mnist_root):
    root, arrays = mnist_root
    for train, prefix, n in ((True, "train", N_TRAIN), (False, "t10k", N_TEST)):
        ds = MNIST(root, train=train, download=False, verify=False)
        assert len(ds) == n
        assert isinstance(ds.data, Tensor) and isinstance(ds.targets, Tensor)  # as torchvision
        assert ds.data.dtype == np.uint8 and ds.data.shape == (n, 28, 28)
        assert ds.targets.dtype == np.int64 and ds.targets.shape == (n,)
        np.testing.assert_array_equal(ds.data.numpy(), arrays[prefix][0])
        np.testing.assert_array_equal(ds.targets.numpy(), arrays[prefix][1])
        images, labels = ds.arrays()
        assert images is ds.data.array and labels is ds.targets.array


def test_getitem_and_transforms(mnist_root):
    root, arrays = mnist_root
    ds = MNIST(root, download=False, verify=False)
    image, label = ds[3]
    assert isinstance(image, np.ndarray) and image.shape == (28, 28) and image.dtype == np.uint8
    assert isinstance(label, int) and label == arrays["train"][1][3]
    ds = MNIST(
        root,
        download=False,
        verify=False,
        transform=transforms.ToTensor(),
        target_transform=lambda y: y + 100,
    )
    image, label = ds[3]
    assert isinstance(image, Tensor) and image.shape == (1, 28, 28)
    assert image.dtype == np.float32
    np.testing.assert_allclose(image.numpy()[0], arrays["train"][0][3] / 255, rtol=1e-6)
    assert label == arrays["train"][1][3] + 100


def test_dataloader_over_the_dataset(mnist_root):
    root, arrays = mnist_root
    ds = MNIST(root, download=False, verify=False, transform=transforms.ToTensor())
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), arrays["train"][1][:4])


def test_tensor_dataset(mnist_root):
    root, arrays = mnist_root
    ds = MNIST(root, download=False, verify=False)
    td = ds.tensor_dataset()
    assert isinstance(td, TensorDataset)
    x, y = td.arrays
    assert x.shape == (N_TRAIN, 1, 28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[:, 0] * 255, arrays["train"][0], atol=1e-4)
    assert y.dtype == np.int64
    flat, _ = ds.tensor_dataset(flatten=True, dtype=np.float64).arrays
    assert flat.shape == (N_TRAIN, 784) and flat.dtype == np.float64
    xb, yb = next(iter(DataLoader(td, batch_size=4, shuffle=True)))
    assert xb.shape == (4, 1, 28, 28) and yb.shape == (4,)


def test_fashion_mnist_reads_its_own_folder(tmp_path):
    root = tmp_path / "data"
    _make(root / "mnist", seed=1)
    arrays = _make(root / "fashion-mnist", seed=2)
    ds = FashionMNIST(root, train=False, download=False, verify=False)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["t10k"][0])
    assert ds.classes[0] == "T-shirt/top" and ds.class_to_idx["Ankle boot"] == 9
    assert "fashion-mnist" in repr(ds)
    assert MNIST.classes[7] == "7 - seven"


def test_env_var_finds_the_data(mnist_root, monkeypatch):
    root, arrays = mnist_root
    monkeypatch.setenv("AXON_DATA_DIR", os.pathsep.join(["/nonexistent/axon", str(root)]))
    ds = MNIST(train=False, verify=False)
    np.testing.assert_array_equal(ds.targets.numpy(), arrays["t10k"][1])


def test_published_checksums_reject_other_files(mnist_root):
    root, _ = mnist_root
    with pytest.raises(ChecksumError, match=r"t10k-images-idx3-ubyte\.gz.*expected 1,648,877"):
        MNIST(root, train=False)


def test_checksums_are_verified(mnist_root, tmp_path, monkeypatch):
    from axon.data import datadir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(datadir, "_verified_in_process", set())
    root, _ = mnist_root

    class Tiny(MNIST):
        files = _tiny_checksums(root / "mnist")

    assert len(Tiny(root)) == N_TRAIN
    assert datadir._marker(root / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    assert not list((root / "mnist").glob("*.verified"))  # nothing written beside the data


def test_missing_files_explain_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        MNIST(tmp_path / "empty")
    msg = str(err.value)
    expected = tmp_path / "empty" / "mnist" / "train-images-idx3-ubyte.gz"
    assert f"copy train-images-idx3-ubyte.gz to {expected}" in msg
    assert "AXON_DATA_DIR" in msg and "--data-dir" in msg
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in msg


def test_downloads_into_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.undo()  # file:// URLs need the real urlopen; still no network touched
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)
    upstream = tmp_path / "upstream"
    arrays = _make(upstream)

    class Mirrored(MNIST):
        mirrors = [(tmp_path / "down").as_uri() + "/", upstream.as_uri() + "/"]
        files = _tiny_checksums(upstream)

    ds = Mirrored(train=False)  # no root: goes to the cache
    np.testing.assert_array_equal(ds.data.numpy(), arrays["t10k"][0])
    cached = tmp_path / "xdg" / "axon" / "mnist"
    assert (cached / "t10k-images-idx3-ubyte.gz").is_file()
    assert ds.image_file == cached / "t10k-images-idx3-ubyte.gz"


def test_images_and_labels_must_agree(tmp_path):
    folder = tmp_path / "mnist"
    _make(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(N_TRAIN + 1, np.uint8))
    with pytest.raises(ValueError, match=r"holds 10 images but .*labels.* holds 11 labels"):
        MNIST(tmp_path, download=False, verify=False)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros((N_TRAIN, 2), np.uint8))
    with pytest.raises(ValueError, match=r"train-labels.*expected uint8 labels"):
        MNIST(tmp_path, download=False, verify=False)
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((N_TRAIN, 784), np.uint8))
    with pytest.raises(ValueError, match=r"train-images.*shape \(N, H, W\)"):
        MNIST(tmp_path, download=False, verify=False)


# ---------------------------------------------------------------- digits
def test_load_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 16
    np.testing.assert_array_equal(images, np.round(images))
    np.testing.assert_array_equal(
        np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    )
    x, y = load_digits(return_tensors=True)
    assert isinstance(x, Tensor) and isinstance(y, Tensor) and x.shape == (1797, 8, 8)


def test_load_digits_does_not_import_sklearn():
    had = "sklearn" in sys.modules
    load_digits()
    assert ("sklearn" in sys.modules) == had


def test_shipped_digits_equal_sklearn_file():
    """axon's copy holds the same numbers as scikit-learn's digits.csv.gz."""
    if vision._sklearn_digits_path() is None:
        pytest.skip("scikit-learn is not installed")
    images, labels = load_digits()
    sk_images, sk_labels = vision._read_sklearn_digits()
    np.testing.assert_array_equal(images, sk_images)
    np.testing.assert_array_equal(labels, sk_labels)


@pytest.mark.slow
def test_shipped_digits_equal_sklearn_loader():
    sk = pytest.importorskip("sklearn.datasets")  # importing scikit-learn takes seconds
    d = sk.load_digits()
    images, labels = load_digits()
    np.testing.assert_array_equal(images, d.images)
    np.testing.assert_array_equal(labels, d.target)


def test_digits_fallback_reads_sklearn_csv(monkeypatch, tmp_path):
    if vision._sklearn_digits_path() is None:
        pytest.skip("scikit-learn is not installed")
    shipped = load_digits()
    monkeypatch.setattr(vision, "_DIGITS_FILE", tmp_path / "gone.npz")
    fallback = load_digits()
    np.testing.assert_array_equal(fallback[0], shipped[0])
    np.testing.assert_array_equal(fallback[1], shipped[1])
    assert fallback[0].dtype == np.float32 and fallback[1].dtype == np.int64


def test_digits_without_any_copy_suggests_sklearn(monkeypatch, tmp_path):
    monkeypatch.setattr(vision, "_DIGITS_FILE", tmp_path / "gone.npz")
    monkeypatch.setattr(vision, "_sklearn_digits_path", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install scikit-learn"):
        load_digits()


# ---------------------------------------------------------------- the real files
@pytest.mark.slow
@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_real_files_if_present(cls, monkeypatch):
    """Reads the real data where AXON_DATA_DIR (e.g. ../shared/data) has it."""
    monkeypatch.undo()
    try:
        train, test = cls(download=False), cls(train=False, download=False)
    except FileNotFoundError:
        pytest.skip(f"{cls.__name__} files not present; set AXON_DATA_DIR")
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    images, _ = train.arrays()
    assert np.array_equal(np.bincount(test.arrays()[1], minlength=10) > 0, [True] * 10)
    if cls is MNIST:
        assert abs(images.mean() / 255 - 0.1307) < 1e-4
        assert abs((images / 255).std() - 0.3081) < 1e-4
