"""The transfer experiment: freezing really freezes (no change, no gradient, the optimizer
holds only the head), fine tuning's two learning rates, the data helpers, and a quick run
on generated MNIST-format stroke images, where transfer from 0-4 beats scratch on 5-9."""

import numpy as np
import pytest

import axon as ax
from axon import models, nn
from axon.data import MNIST
from axon.data.datadir import sha256sum
from axon.data.idx import write_idx
from axon.lab import Config
from axon.lab import transfer as lab
from axon.lab.shared.vision_common import Images
from tests.helpers import assert_differs

PNG = b"\x89PNG\r\n\x1a\n"


def stroke_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 images of ten classes; class k is three line segments between
    fixed anchor points (the same for every image of k), each end jittered, the whole
    shifted by up to 5 pixels, drawn with a random width on noise. All classes are made
    of the same kind of strokes, so features learned on five of them help with the rest."""
    rng = np.random.default_rng(seed)
    anchors = np.array([(r, c) for r in (5, 11, 17, 23) for c in (5, 11, 17, 23)], float)
    shapes = np.random.default_rng(0)  # the class templates: the same in every split
    templates = np.stack(
        [anchors[shapes.choice(16, (3, 2), replace=False)] for _ in range(10)]
    )  # (10 classes, 3 segments, 2 ends, (r, c))
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    seg = templates[labels] + rng.normal(0, 1.5, (n, 3, 2, 2))
    seg += rng.uniform(-5, 5, (n, 1, 1, 2))
    rows, cols = np.mgrid[0:28, 0:28]
    pr, pc = rows.reshape(1, 1, 784).astype(float), cols.reshape(1, 1, 784).astype(float)
    dist = np.empty((n, 784))  # each pixel's distance to the nearest segment
    # 100 images at a time, row and column apart: arrays of (n, 3, 784, (r, c)) were
    # 30x slower to make (fresh memory) and to reduce over their last axis of 2
    for i in range(0, n, 100):
        part = seg[i : i + 100]
        ar, ac = part[:, :, 0, 0, None], part[:, :, 0, 1, None]  # (m, 3, 1) segment starts
        dr, dc = part[:, :, 1, 0, None] - ar, part[:, :, 1, 1, None] - ac  # start to end
        t = ((pr - ar) * dr + (pc - ac) * dc) / np.maximum(dr * dr + dc * dc, 1e-9)
        t = np.clip(t, 0, 1)  # (m, 3, 784): the nearest point of each segment
        er, ec = pr - (ar + t * dr), pc - (ac + t * dc)  # pixel minus that point
        dist[i : i + 100] = np.sqrt(er * er + ec * ec).min(axis=1)
    ink = np.clip(1.5 - dist / rng.uniform(0.8, 2.0, (n, 1)), 0, 1)
    img = ink * 255 * rng.uniform(0.6, 1.0, (n, 1)) + rng.uniform(0, 60, (n, 784))
    return np.clip(img, 0, 255).astype(np.uint8).reshape(n, 28, 28), labels


@pytest.fixture(scope="module")
def stroke_root(tmp_path_factory):
    """A data directory with stroke images as ``mnist/`` IDX files, and their checksums."""
    root = tmp_path_factory.mktemp("strokes")
    folder = root / "mnist"
    folder.mkdir()
    table = {}
    for prefix, n, seed in (("train", 2000, 1), ("t10k", 600, 2)):
        images, labels = stroke_images(n, seed)
        for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            path = write_idx(folder / f"{prefix}-{kind}.gz", array)
            table[path.name] = (sha256sum(path), path.stat().st_size)
    return root, table


@pytest.fixture
def no_download(monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", [])  # never reach for the network
    monkeypatch.delenv("AXON_DATA_DIR", raising=False)


def pretrained_net() -> nn.Module:
    ax.manual_seed(3)
    return models.lenet5(num_classes=5)


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, 1, 28, 28)).astype(np.float32),
        rng.integers(0, 5, n).astype(np.int64),
    )


def train_steps(model, opt, steps=3):
    x, y = batch()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(ax.tensor(x)), ax.tensor(y)).backward()
        opt.step()


def snapshot(params):
    return [p.array.copy() for p in params]


def test_feature_extraction_freezes_the_base_and_optimizes_only_the_head():
    pretrained = pretrained_net()
    model, opt = lab.prepare("feature extraction", pretrained, 5, lr=1e-2)
    head, base = lab.head_parameters(model), lab.base_parameters(model)
    assert len(head) == 6 and len(base) == 4  # three Linear layers; two Conv2d
    assert all(p.requires_grad for p in head) and not any(p.requires_grad for p in base)
    given = [p for g in opt.param_groups for p in g["params"]]
    assert [id(p) for p in given] == [id(p) for p in head]
    base_before, head_before = snapshot(base), snapshot(head)
    assert all(
        np.array_equal(p.array, q.array)
        for p, q in zip(base, lab.base_parameters(pretrained), strict=True)
    )
    x, _ = batch()
    assert not model.features(ax.tensor(x)).requires_grad  # the base records no graph
    train_steps(model, opt)
    assert all(p.grad is None for p in base)
    assert all(np.array_equal(p.array, b) for p, b in zip(base, base_before, strict=True))
    assert all(p.grad is not None for p in head)
    for p, b in zip(head, head_before, strict=True):
        assert_differs(p.array, b)


def test_fine_tuning_trains_everything_with_a_smaller_rate_for_the_base():
    pretrained = pretrained_net()
    kept = snapshot(pretrained.parameters())
    model, opt = lab.prepare("fine tuning", pretrained, 5, lr=1e-2, ft_factor=0.1)
    base, head = lab.base_parameters(model), lab.head_parameters(model)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-3, 1e-2])
    assert [id(p) for p in opt.param_groups[0]["params"]] == [id(p) for p in base]
    assert [id(p) for p in opt.param_groups[1]["params"]] == [id(p) for p in head]
    before = snapshot(model.parameters())
    train_steps(model, opt)
    for p, b in zip(model.parameters(), before, strict=True):
        assert_differs(p.array, b)
    # the copy was trained, never the pretrained network it came from
    assert all(
        np.array_equal(p.array, k) for p, k in zip(pretrained.parameters(), kept, strict=True)
    )


def test_scratch_and_the_new_head_are_fresh():
    pretrained = pretrained_net()
    model, opt = lab.prepare("scratch", pretrained, 5, lr=1e-3)
    assert len(opt.param_groups[0]["params"]) == 10
    conv = model.features[0].weight.array
    assert_differs(conv, pretrained.features[0].weight.array)
    tuned, _ = lab.prepare("fine tuning", pretrained, 3, lr=1e-3)
    assert tuned.classifier[-1].out_features == 3
    assert np.array_equal(tuned.features[0].weight.array, pretrained.features[0].weight.array)
    assert_differs(tuned.classifier[0].weight.array, pretrained.classifier[0].weight.array)
    with pytest.raises(ValueError, match="method must be one of"):
        lab.prepare("distillation", pretrained, 5, lr=1e-3)
    with pytest.raises(ValueError, match="needs a pretrained network"):
        lab.prepare("fine tuning", None, 5, lr=1e-3)


def test_select_relabels_and_draw_is_balanced():
    y = np.arange(100) % 10
    images = Images(
        np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1),
        y,
        0.0,
        1.0,
        [str(d) for d in range(10)],
    )
    target = lab.select(images, lab.TARGET)
    assert len(target) == 50 and set(target.y.tolist()) == set(range(5))
    assert (target.x[target.y == 0, 0, 0, 0] % 10 == 5).all()  # digit 5 is class 0
    picked = lab.draw(target, 20, seed=0)
    assert np.bincount(picked.y).tolist() == [4] * 5
    assert lab.draw(target, None, seed=0) is target and lab.draw(target, 99, 0) is target


def test_without_mnist_the_bundled_digits_are_upscaled(tmp_path, no_download, capsys):
    tasks = lab.load_tasks(Config(data_dir=tmp_path, quick=False))
    assert "bundled 8x8 digits" in tasks.what and "falling back" in capsys.readouterr().out
    assert tasks.source.x.shape[1:] == (1, 28, 28) and tasks.test.x.shape[1:] == (1, 28, 28)
    assert set(tasks.pool.y.tolist()) == set(range(5))
    assert len(tasks.pool) + len(tasks.test) == int(
        np.isin(__import__("axon").data.load_digits()[1], lab.TARGET).sum()
    )
    assert lab.upscale(np.ones((2, 8, 8))).shape == (2, 28, 28)


@pytest.mark.slow  # 13 LeNet-5 trainings, 6-9 s (20-40 s on a loaded machine); see below
def test_quick_run_transfer_beats_scratch_with_100_labels(
    stroke_root, no_download, monkeypatch, tmp_path, capsys
):
    root, table = stroke_root
    monkeypatch.setattr(MNIST, "files", table)
    result = lab.run(Config(out=tmp_path, quick=True, data_dir=root))
    out = capsys.readouterr().out
    assert result.passed, result.claims
    texts = " ".join(t for t, _ in result.claims)
    assert "with 100 labels feature extraction beats" in texts
    assert "with 100 labels fine tuning beats" in texts
    assert "frozen base unchanged" in texts
    assert result.metrics["feature_extraction_100"] > result.metrics["scratch_100"]
    assert "The gain of transfer" in out and "feature extraction" in out
    png = tmp_path / "transfer_accuracy.png"
    assert png in result.figures and png.read_bytes()[:8] == PNG


def test_a_short_run_learns_all_three_ways_and_keeps_the_frozen_base(
    stroke_root, no_download, monkeypatch, tmp_path, capsys
):
    """The quick run's code with one pretraining epoch, one draw per size and 10 updates
    per target run: each method learns (above chance, 20%), the base stays frozen, the
    figure is drawn; whether transfer wins is the quick run's claim, above."""
    root, table = stroke_root
    monkeypatch.setattr(MNIST, "files", table)
    monkeypatch.setitem(lab.QUICK, "draws", 1)
    monkeypatch.setitem(lab.QUICK, "min_steps", 10)
    result = lab.run(Config(out=tmp_path, quick=True, data_dir=root, epochs=1))
    claims = dict(result.claims)
    assert len(claims) == 4
    assert [ok for text, ok in claims.items() if "frozen base unchanged" in text] == [True]
    for method in lab.METHODS:
        for n in (100, 300):  # 100 labels and the whole pool of 300
            assert 0.2 < result.metrics[f"{method.replace(' ', '_')}_{n}"] <= 1.0
    assert "The gain of transfer" in capsys.readouterr().out
    png = tmp_path / "transfer_accuracy.png"
    assert png in result.figures and png.read_bytes()[:8] == PNG
