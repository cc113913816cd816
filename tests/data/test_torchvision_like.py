"""torchvision-style use of ``axon.data``: per-sample transforms on single images, MNIST's
``data``/``targets`` as Tensors, and a dataset with a transform pipeline behind a
DataLoader with workers. torchvision is not installed, so the oracle is torch itself
(``F.interpolate``, ``F.pad``, tensor arithmetic), which torchvision's tensor transforms
call."""

import signal

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import axon
from axon.data import MNIST, DataLoader
from axon.data import transforms as T
from axon.data.idx import write_idx
from tests.helpers import assert_close


@pytest.fixture(autouse=True)
def watchdog():
    def on_alarm(signum, frame):
        raise TimeoutError("the test ran over 30 s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (28, 28)).astype(np.uint8)
RGB = RNG.integers(0, 256, (20, 30, 3)).astype(np.uint8)


# ------------------------------------------------------------------------ ToTensor
def test_to_tensor_on_single_images():
    out = T.ToTensor()(GREY)
    assert isinstance(out, axon.Tensor) and out.shape == (1, 28, 28) and out.dtype == np.float32
    assert_close(out, torch.from_numpy(GREY)[None].float() / 255, rtol=0, atol=0)
    out = T.ToTensor()(RGB)  # (H, W, C) -> (C, H, W)
    assert_close(out, torch.from_numpy(RGB).permute(2, 0, 1).float() / 255, rtol=0, atol=0)
    floats = RNG.random((5, 6, 3))
    assert_close(T.ToTensor()(floats), floats.transpose(2, 0, 1), rtol=0, atol=0)


def test_to_tensor_reads_pil_images():
    image = pytest.importorskip("PIL.Image")
    out = T.ToTensor()(image.fromarray(RGB))
    assert_close(out, torch.from_numpy(RGB).permute(2, 0, 1).float() / 255, rtol=0, atol=0)


# ------------------------------------------------------------------------ Normalize
def test_normalize_matches_torch_and_inplace_writes_the_input():
    x = RNG.random((3, 8, 8))
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    m, s = torch.tensor(mean, dtype=torch.float64), torch.tensor(std, dtype=torch.float64)
    expected = (torch.tensor(x) - m[:, None, None]) / s[:, None, None]
    t = axon.tensor(x)
    out = T.Normalize(mean, std)(t)
    assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert_close(t, x, rtol=0, atol=0)  # not in place: the input is unchanged
    same = T.Normalize(mean, std, inplace=True)(t)
    assert same is t
    assert_close(t, expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="float"):
        T.Normalize(0.5, 0.5)(axon.tensor(GREY))


# ------------------------------------------------------------------------ Resize
@pytest.mark.parametrize(
    "shape,size",
    [
        ((3, 28, 28), (14, 14)),
        ((1, 28, 28), (32, 40)),
        ((2, 17, 9), (5, 20)),
        ((3, 32, 32), (7, 7)),
    ],
)
@pytest.mark.parametrize("antialias", [False, True])
def test_resize_matches_torch_interpolate(shape, size, antialias):
    x = RNG.random(shape)
    expected = F.interpolate(
        torch.tensor(x)[None], size=size, mode="bilinear", align_corners=False, antialias=antialias
    )[0]
    assert_close(T.Resize(size, antialias=antialias)(x), expected, rtol=1e-10, atol=1e-12)
    x32 = axon.tensor(x.astype(np.float32))
    out = T.Resize(size, antialias=antialias)(x32)
    assert isinstance(out, axon.Tensor) and out.dtype == np.float32
    assert_close(out, expected.float(), rtol=1e-5, atol=1e-5)


def test_resize_nearest_uint8_and_sizes():
    x = RNG.random((1, 13, 21))
    expected = F.interpolate(torch.tensor(x)[None], size=(6, 40), mode="nearest")[0]
    assert_close(T.Resize((6, 40), interpolation="nearest")(x), expected, rtol=0, atol=0)
    out = T.Resize((14, 14), antialias=False)(GREY)  # an (H, W) uint8 array stays one
    assert out.dtype == np.uint8 and out.shape == (14, 14)
    ref = F.interpolate(
        torch.from_numpy(GREY)[None, None].double(),
        size=(14, 14),
        mode="bilinear",
        align_corners=False,
    )[0, 0].round()
    assert_close(out, ref, rtol=0, atol=1)  # torch's uint8 path uses fixed-point weights
    # an int is the smaller edge, the aspect ratio kept (torchvision's rule); max_size caps
    assert T.Resize(14)(np.zeros((1, 28, 56))).shape == (1, 14, 28)
    assert T.Resize([10])(np.zeros((1, 30, 20))).shape == (1, 15, 10)
    assert T.Resize(14, max_size=20)(np.zeros((1, 28, 56))).shape == (1, 10, 20)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize(14, max_size=14)


# ------------------------------------------------------------------------ crops and flips
@pytest.mark.parametrize("size", [(10, 10), (11, 6), (28, 28), (31, 30)])
def test_center_crop_as_torchvision(size):
    x = RNG.random((2, 28, 28))
    h, w = size
    t = torch.tensor(x)
    if h > 28 or w > 28:  # torchvision pads with zeros, the smaller half before
        dh, dw = max(h - 28, 0), max(w - 28, 0)
        t = F.pad(t, (dw // 2, (dw + 1) // 2, dh // 2, (dh + 1) // 2))
    top = int(round((t.shape[1] - h) / 2.0))
    left = int(round((t.shape[2] - w) / 2.0))
    assert_close(T.CenterCrop(size)(x), t[:, top : top + h, left : left + w], rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_is_a_window_of_the_padded_image(mode):
    x = RNG.random((1, 8, 8))
    torch_mode = {"edge": "replicate"}.get(mode, mode)
    if mode == "symmetric":
        padded = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="symmetric")  # no F.pad mode
    else:
        padded = F.pad(torch.tensor(x)[None], (2, 2, 2, 2), mode=torch_mode)[0].numpy()
    crop = T.RandomCrop(8, padding=2, padding_mode=mode, generator=axon.Generator())
    for _ in range(5):
        out = crop(x)
        windows = [padded[:, i : i + 8, j : j + 8] for i in range(5) for j in range(5)]
        assert any(np.array_equal(out, win) for win in windows)
    grown = T.RandomCrop(10, pad_if_needed=True)(x)  # padded up to the crop size
    assert grown.shape == (1, 10, 10)
    with pytest.raises(ValueError, match="larger than input image"):
        T.RandomCrop(10)(x)
    with pytest.raises(ValueError, match="Padding mode"):
        T.RandomCrop(8, padding_mode="wrap")


def test_flip_and_lambda_on_single_images():
    x = axon.tensor(RNG.random((3, 4, 5)))
    assert_close(T.RandomHorizontalFlip(p=1.0)(x), torch.tensor(x.numpy()).flip(-1), rtol=0, atol=0)
    assert_close(T.RandomHorizontalFlip(p=0.0)(x), x, rtol=0, atol=0)
    assert_close(T.Lambda(lambda t: t * 2)(x), x.numpy() * 2, rtol=0, atol=0)


# ------------------------------------------------------------------------ MNIST, end to end
@pytest.fixture
def mnist_root(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "mnist"
    folder.mkdir()
    arrays = {}
    for prefix, n in (("train", 24), ("t10k", 8)):
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[prefix] = images, labels
    return tmp_path, arrays


def test_mnist_data_and_targets_are_tensors_like_torchvision(mnist_root):
    root, arrays = mnist_root
    ds = MNIST(root, download=False, verify=False)
    assert isinstance(ds.data, axon.Tensor) and ds.data.dtype == np.uint8
    assert ds.data.shape == (24, 28, 28)
    assert isinstance(ds.targets, axon.Tensor) and ds.targets.dtype == np.int64
    assert ds.targets.tolist() == arrays["train"][1].tolist()
    images, labels = ds.arrays()  # the fast paths read the same storage
    assert np.shares_memory(images, ds.data.array) and np.shares_memory(labels, ds.targets.array)
    x, y = ds.tensor_dataset()[5]
    assert_close(x[0], arrays["train"][0][5] / 255, rtol=1e-6, atol=1e-7)


def test_mnist_pipeline_in_workers_matches_inline_and_torch(mnist_root):
    root, arrays = mnist_root
    pipeline = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = MNIST(root, download=False, verify=False, transform=pipeline)
    images, labels = arrays["train"]
    for k, (x, y) in enumerate(DataLoader(ds, batch_size=5, num_workers=2)):
        expected = (
            torch.from_numpy(images[5 * k : 5 * k + 5])[:, None].float() / 255 - 0.1307
        ) / 0.3081
        assert_close(x, expected, rtol=1e-5, atol=1e-6)
        assert y.tolist() == labels[5 * k : 5 * k + 5].tolist()
    axon.manual_seed(0)
    inline = [(x.numpy(), y.tolist()) for x, y in DataLoader(ds, batch_size=5, shuffle=True)]
    axon.manual_seed(0)
    loader = DataLoader(ds, batch_size=5, shuffle=True, num_workers=2)
    workers = [(x.numpy(), y.tolist()) for x, y in loader]
    assert len(inline) == len(workers) == 5
    for (xi, yi), (xw, yw) in zip(inline, workers, strict=True):
        assert yi == yw
        assert_close(xw, xi, rtol=0, atol=0)


def test_random_augmentation_per_sample_in_workers_is_reproducible(mnist_root):
    root, _ = mnist_root
    pipeline = T.Compose(
        [
            T.ToTensor(),
            T.RandomCrop(28, padding=2),
            T.RandomHorizontalFlip(),
            T.Resize(32, antialias=False),
        ]
    )
    ds = MNIST(root, download=False, verify=False, transform=pipeline)

    def epoch(seed):
        axon.manual_seed(seed)
        loader = DataLoader(ds, batch_size=8, shuffle=True, num_workers=2)
        return [(x.numpy(), y.tolist()) for x, y in loader]

    a, b, c = epoch(3), epoch(3), epoch(4)
    assert a[0][0].shape == (8, 1, 32, 32)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert ya == yb
        assert_close(xa, xb, rtol=0, atol=0)
    assert not all(np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c, strict=True))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("padding", [1, (2, 1), (1, 2, 3, 0)])
def test_pad_matches_torch(mode, padding):
    x = RNG.random((2, 5, 6))
    p = (padding,) * 4 if isinstance(padding, int) else padding * (2 if len(padding) == 2 else 1)
    left, top, right, bottom = p
    expected = F.pad(
        torch.tensor(x)[None],
        (left, right, top, bottom),
        mode={"edge": "replicate"}.get(mode, mode),
        value=0.0,
    )[0]
    assert_close(T.Pad(padding, padding_mode=mode)(x), expected, rtol=0, atol=0)
    out = T.Pad(2, fill=7)(axon.tensor(x))
    assert isinstance(out, axon.Tensor) and out.shape == (2, 9, 10) and out[0, 0, 0].item() == 7


def test_torchvision_layout_and_signatures():
    from axon.data import datasets

    assert datasets.MNIST is MNIST and datasets.FashionMNIST.subdir == "fashion-mnist"
    rotate = T.RandomRotation(10, "bilinear", False, None, 0.5)  # torchvision's positions
    assert rotate.fill == 0.5 and rotate.interpolation == "bilinear"
    with pytest.raises(NotImplementedError, match="expand"):
        T.RandomRotation(10, expand=True)
    crop = T.RandomCrop(28, 4, True, 0, "edge")  # size, padding, pad_if_needed, fill, mode
    assert crop.pad_if_needed and crop.padding_mode == "edge"


TORCH_PROGRAM = """
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Subset, SequentialSampler


class Squares(Dataset):
    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.x[i] ** 2, "i": i}


data = Subset(Squares(30), list(range(0, 30, 2)))
batches = []
for workers in (0, 2):
    loader = DataLoader(data, batch_size=4, num_workers=workers, drop_last=True)
    batches.append([(b["x"].tolist(), b["y"].tolist(), b["i"].tolist()) for b in loader])
sampler = BatchSampler(SequentialSampler(data), batch_size=6, drop_last=False)
batches.append([b["i"].tolist() for b in DataLoader(data, batch_sampler=sampler)])
lengths = (len(loader), len(sampler))
"""


def test_a_torch_data_program_runs_unchanged_on_axon():
    ours, theirs = {}, {}
    exec(TORCH_PROGRAM, theirs)
    program = TORCH_PROGRAM.replace("import torch\n", "import axon as torch\n")
    exec(program.replace("torch.utils.data", "axon.data"), ours)
    assert ours["batches"] == theirs["batches"] and ours["lengths"] == theirs["lengths"]
    assert ours["batches"][0] == ours["batches"][1]  # workers change nothing
