"""Image datasets: MNIST, Fashion-MNIST and the 8x8 digits, named as in torchvision.

``MNIST`` and ``FashionMNIST`` read the upstream gzip IDX files from the data directory
(see :mod:`axon.data.datadir`: ``root=``, ``AXON_DATA_DIR``, or the per-user cache),
downloading them from public mirrors when missing and checking their SHA-256. As in
torchvision, ``ds.data`` is a uint8 Tensor of the images (N, 28, 28) and ``ds.targets``
an int64 Tensor of the labels (N,); ``ds[i]`` is ``(image, label)`` with an int label and
the raw image as a uint8 (28, 28) NumPy array (where torchvision gives a PIL image) unless
a ``transform`` is given (``transforms.ToTensor()`` gives a float (1, 28, 28) Tensor in
[0, 1]). For fast training, skip the per-sample path: ``ds.tensor_dataset()`` gives a
:class:`TensorDataset` of float images in [0, 1] and labels, batched by the DataLoader
with one fancy-index per batch; ``ds.arrays()`` gives the NumPy arrays.

``load_digits()`` returns scikit-learn's 8x8 digits (1,797 images, pixel values 0-16). A
copy ships inside axon (``_digits.npz``, 45 KB), so it needs neither a download nor
scikit-learn. Those digits are the test set of the UCI "Optical Recognition of Handwritten
Digits" data set (E. Alpaydin, C. Kaynak, 1998; UCI Machine Learning Repository,
https://doi.org/10.24432/C50P49), licensed CC BY 4.0, as bundled by scikit-learn
(``sklearn/datasets/data/digits.csv.gz``). The copy was made with
``np.savez_compressed(path, images=d.images.astype(np.uint8),
labels=d.target.astype(np.uint8))`` from ``sklearn.datasets.load_digits()`` (1.9.1), and
a test checks it against scikit-learn's whenever scikit-learn is installed.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import backend as B
from ..autograd.tensor import _wrap
from .datadir import ensure_file
from .dataset import Dataset, TensorDataset
from .idx import read_idx


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28, 0-9.

    Args:
        root: a data directory holding ``mnist/`` (searched before ``AXON_DATA_DIR`` and
            the cache; downloads go here). None: ``AXON_DATA_DIR``, else the cache.
        train: the training split (60,000) or the test split (10,000).
        download: download missing files from the mirrors.
        transform: applied to each image in ``ds[i]`` (e.g. ``transforms.ToTensor()``).
        target_transform: applied to each label in ``ds[i]``.
        verify: check the files' sizes and SHA-256 against the published ones; turn off to
            read your own files in the same format.

    Attributes:
        data: uint8 images, a Tensor of shape (N, 28, 28).
        targets: int64 labels, a Tensor of shape (N,).
        classes: the class names, indexed by label.
    """

    subdir: ClassVar[str] = "mnist"
    mirrors: ClassVar[list[str]] = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    # file name -> (sha256, size in bytes), as published in /work/shared/data/README.md;
    # the MD5s of the same files match the ones LeCun's page and torchvision give
    files: ClassVar[dict[str, tuple[str, int]]] = {
        "train-images-idx3-ubyte.gz": (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            9912422,
        ),
        "train-labels-idx1-ubyte.gz": (
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            28881,
        ),
        "t10k-images-idx3-ubyte.gz": (
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            1648877,
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            4542,
        ),
    }
    classes: ClassVar[list[str]] = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        verify: bool = True,
    ) -> None:
        self.root = root
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if self.train else "t10k"
        paths = [
            self._file(f"{prefix}-{kind}.gz", download, verify)
            for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
        ]
        self.image_file, self.label_file = paths
        images, labels = _read_image_label_pair(*paths)
        self.data, self.targets = _wrap(images), _wrap(labels)  # Tensors, as torchvision

    def _file(self, name: str, download: bool, verify: bool) -> Path:
        sha256, size = self.files[name]
        return ensure_file(
            name,
            self.subdir,
            [m + name for m in self.mirrors],
            sha256,
            size=size,
            root=self.root,
            download=download,
            verify=verify,
        )

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, label = self.data.array[index], int(self.targets.array[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The NumPy arrays of ``(data, targets)``: uint8 images (N, 28, 28) and int64
        labels (N,), shared with the Tensors, not copied."""
        return self.data.array, self.targets.array

    def tensor_dataset(self, flatten: bool = False, dtype=None) -> TensorDataset:
        """The whole split as a :class:`TensorDataset` of ``(images, labels)``.

        Images are scaled to [0, 1] in ``dtype`` (default float32), shaped (N, 1, 28, 28),
        or (N, 784) with ``flatten=True``; labels are int64. The per-sample ``transform``
        is not applied (use :class:`axon.data.transforms.BatchTransformLoader` for
        augmentation per batch).
        """
        dtype = B.get_default_dtype() if dtype is None else np.dtype(dtype)
        images, labels = self.arrays()
        x = images.astype(dtype) / dtype.type(255)
        x = x.reshape(len(x), -1) if flatten else x[:, None]  # (N, 784) or (N, 1, 28, 28)
        return TensorDataset(x, labels)

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return (
            f"{type(self).__name__}(split={split!r}, n={len(self)}, "
            f"files={str(self.image_file.parent)!r})"
        )


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing, in MNIST's
    format and sizes (60,000 train, 10,000 test). Arguments as :class:`MNIST`."""

    subdir: ClassVar[str] = "fashion-mnist"
    mirrors: ClassVar[list[str]] = [
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ]
    files: ClassVar[dict[str, tuple[str, int]]] = {
        "train-images-idx3-ubyte.gz": (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            26421880,
        ),
        "train-labels-idx1-ubyte.gz": (
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            29515,
        ),
        "t10k-images-idx3-ubyte.gz": (
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            4422102,
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            5148,
        ),
    }
    classes: ClassVar[list[str]] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]


def _read_image_label_pair(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read and cross-check an MNIST-style images file (N, H, W) and labels file (N,)."""
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{image_path}: expected uint8 images of shape (N, H, W), got {images.dtype} "
            f"of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(
            f"{label_path}: expected uint8 labels of shape (N,), got {labels.dtype} of "
            f"shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels"
        )
    return images, labels.astype(np.int64)


_DIGITS_FILE = Path(__file__).with_name("_digits.npz")


def load_digits(return_tensors: bool = False):
    """The 8x8 handwritten digits of scikit-learn: 1,797 images, values 0-16, labels 0-9.

    Reads the copy shipped with axon; if that file is missing (a stripped install), reads
    scikit-learn's bundled ``digits.csv.gz`` instead, without importing scikit-learn.

    Returns:
        ``(images, labels)``: float32 images of shape (1797, 8, 8) with values in [0, 16]
        and int64 labels of shape (1797,); as axon Tensors with ``return_tensors=True``.
    """
    if _DIGITS_FILE.is_file():
        with np.load(_DIGITS_FILE) as f:
            images, labels = f["images"], f["labels"]
    else:
        images, labels = _read_sklearn_digits()
    images = images.astype(np.float32)  # (1797, 8, 8)
    labels = labels.astype(np.int64)  # (1797,)
    if return_tensors:
        return _wrap(images), _wrap(labels)
    return images, labels


def _sklearn_digits_path() -> Path | None:
    """Where scikit-learn keeps ``digits.csv.gz``, found without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def _read_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits file: 1,797 rows of 64 pixel values then the label."""
    path = _sklearn_digits_path()
    if path is None:
        raise FileNotFoundError(
            f"load_digits: axon's copy {_DIGITS_FILE} is missing and scikit-learn, whose "
            f"copy it reads instead, is not installed; reinstall axon or "
            f"`pip install scikit-learn`"
        )
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)  # (1797, 65)
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1]  # (1797, 8, 8), (1797,)
