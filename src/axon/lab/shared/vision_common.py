"""What the vision experiments share: images held in memory, the three splits, the
training loop, the figures and the weights file.

Data: a split is read once (IDX files through :mod:`axon.data.vision`), scaled to [0, 1]
and standardised with the training split's mean and standard deviation,

    x = (pixel / 255 - mean) / std,

and kept as one float32 array (N, 1, H, W), so the DataLoader's fast path takes each batch
with a single fancy-index. Augmentation, where an experiment uses it, is applied per batch
(:class:`axon.data.transforms.BatchTransformLoader`).

The course's pipeline (:func:`carve_validation`): a validation split is carved from the
training data (a seeded random 10% of each class), the training curves and every choice
are made on it, and the test split is touched once, at the end, for the numbers reported.
The standardisation's mean and std are those of what is left for training.

Training is :func:`axon.fit` with the cross-entropy loss and accuracy, the validation
split monitored after every epoch; the test split is scored once, after training.

Figures: the training curves (``History.plot``), the confusion matrix, a grid of
misclassified test images, and for a CNN the first layer's filters with the feature maps
they produce on one test image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import axon as ax
from axon import nn
from axon.data import DataLoader, TensorDataset
from axon.data.transforms import BatchTransformLoader

from ... import plot
from .base import Config, Result, backup, heading, table

CHANCE = 0.1  # ten balanced classes
QUICK_MARGIN = 0.25  # quick mode: test accuracy must beat chance by this much
VAL_FRACTION = 0.1  # the share of each class of the training data held out for validation


# ----------------------------------------------------------------------------- data
@dataclass
class Images:
    """One split in memory.

    Attributes:
        x: standardised float32 images, (N, 1, H, W).
        y: int64 labels, (N,).
        mean, std: the standardisation used (the training split's), to undo it for display.
        classes: the class names, indexed by label.
    """

    x: np.ndarray
    y: np.ndarray
    mean: float
    std: float
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, n: int, seed: int) -> Images:
        """``n`` images drawn at random without replacement (all of them if fewer)."""
        if n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).permutation(len(self))[:n])
        return Images(self.x[idx], self.y[idx], self.mean, self.std, self.classes)

    def take(self, idx) -> Images:
        """The images ``idx`` (a copy), with the same statistics and classes."""
        return Images(self.x[idx], self.y[idx], self.mean, self.std, self.classes)

    def restandardised(self, mean: float, std: float) -> Images:
        """The same images standardised with another ``mean`` and ``std`` (a copy)."""
        x = self.x * np.float32(self.std / std) + np.float32((self.mean - mean) / std)
        return Images(x.astype(np.float32), self.y, mean, std, self.classes)

    def flat(self) -> np.ndarray:
        """The images as rows, (N, H*W), for a fully connected network (a view)."""
        return self.x.reshape(len(self.x), -1)  # (N, 1, H, W) -> (N, H*W)

    def pictures(self, idx) -> np.ndarray:
        """Images ``idx`` back in [0, 1] for display, (k, H, W)."""
        return self.x[idx, 0] * self.std + self.mean  # (k, 1, H, W) -> (k, H, W)

    @property
    def background(self) -> float:
        """The standardised value of a black pixel (what an image is padded with)."""
        return (0.0 - self.mean) / self.std


def standardise(
    images: np.ndarray, mean: float | None = None, std: float | None = None, scale: float = 255.0
) -> tuple[np.ndarray, float, float]:
    """``(images / scale - mean) / std`` as float32 (N, 1, H, W) from (N, H, W); the mean
    and std are computed from ``images`` when not given. Returns ``(x, mean, std)``."""
    x = images.astype(np.float32)[:, None]  # (N, H, W) -> (N, 1, H, W)
    x *= np.float32(1.0 / scale)
    if mean is None:
        mean = float(x.mean(dtype=np.float64))
    if std is None:
        std = float(x.std(dtype=np.float64))
    x -= np.float32(mean)
    x *= np.float32(1.0 / std)
    return x, mean, std


def load_idx_dataset(
    dataset: type, config: Config, say_statistics: bool = True
) -> tuple[Images, Images]:
    """The train and test splits of ``axon.data.MNIST`` or ``FashionMNIST`` from the data
    directory (``config.data_dir``, else ``AXON_DATA_DIR``, else ``~/.cache/axon``),
    standardised with the training split's statistics (printed if ``say_statistics``).
    A missing file raises ``FileNotFoundError`` saying where to put it."""
    start = time.perf_counter()
    train_set = dataset(config.data_dir, train=True)
    test_set = dataset(config.data_dir, train=False)
    train_images, train_labels = train_set.arrays()  # NumPy (ds.data is a Tensor)
    test_images, test_labels = test_set.arrays()
    x, mean, std = standardise(train_images)
    train = Images(x, train_labels, mean, std, list(dataset.classes))
    x, _, _ = standardise(test_images, mean, std)
    test = Images(x, test_labels, mean, std, list(dataset.classes))
    print(
        f"  {dataset.__name__} from {train_set.image_file.parent}: {len(train):,} training "
        f"and {len(test):,} test images of {train.x.shape[2]}x{train.x.shape[3]}, "
        f"read in {time.perf_counter() - start:.1f} s"
    )
    if say_statistics:
        print(f"  standardised with the training set's mean {mean:.4f} and std {std:.4f}")
    return train, test


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(kept, held)`` of a seeded stratified split: from each class a random
    ``round(fraction * n_class)`` of its examples are held out. Both sorted."""
    rng = np.random.default_rng(seed)
    held = [
        rng.permutation(members)[: int(round(fraction * len(members)))]
        for members in (np.flatnonzero(labels == c) for c in np.unique(labels))
    ]
    held_idx = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    kept_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return kept_idx, held_idx


@dataclass
class Splits:
    """The course's three splits: ``train`` to fit, ``val`` (carved from the training
    data) for the curves and every choice, ``test`` touched once at the end."""

    train: Images
    val: Images
    test: Images

    def sizes(self) -> dict[str, int]:
        """``{"train": n, "val": n, "test": n}``, as a run record keeps them."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def describe(self) -> str:
        """One line: the sizes of the three splits."""
        return (
            f"{len(self.train):,} training, {len(self.val):,} validation (carved from the "
            f"training data) and {len(self.test):,} test images"
        )


def carve_validation(
    train: Images, test: Images, seed: int, fraction: float = VAL_FRACTION
) -> Splits:
    """Hold out a stratified random ``fraction`` of ``train`` (seeded) as the validation
    split, and standardise all three splits with the mean and std of what is left for
    training (so the validation and test images play no part in the preprocessing)."""
    kept, held = stratified_split(train.y, fraction, seed)
    rest = train.x[kept]
    mean = train.mean + train.std * float(rest.mean(dtype=np.float64))  # in pixel / scale
    std = train.std * float(rest.std(dtype=np.float64))
    return Splits(
        train.take(kept).restandardised(mean, std),
        train.take(held).restandardised(mean, std),
        test.restandardised(mean, std),
    )


def load_idx_splits(dataset: type, config: Config, fraction: float = VAL_FRACTION) -> Splits:
    """MNIST's or Fashion-MNIST's three splits (:func:`load_idx_dataset`, then
    :func:`carve_validation` with ``config.seed``), cut down in quick mode
    (:func:`quick_splits`); prints their sizes."""
    train, test = load_idx_dataset(dataset, config, say_statistics=False)
    splits = carve_validation(train, test, config.seed, fraction)
    print(f"  splits: {splits.describe()}")
    print(
        f"  standardised with the training split's mean {splits.train.mean:.4f} and std "
        f"{splits.train.std:.4f}"
    )
    return quick_splits(splits, config)


def quick_splits(
    splits: Splits, config: Config, n_train: int = 2000, n_val: int = 500, n_test: int = 1000
) -> Splits:
    """In quick mode, random subsets of the three splits (saying so); otherwise ``splits``."""
    if not config.quick:
        return splits
    splits = Splits(
        splits.train.subset(n_train, config.seed),
        splits.val.subset(n_val, config.seed + 1),
        splits.test.subset(n_test, config.seed + 2),
    )
    print(f"  quick mode: {splits.describe()}")
    return splits


# ----------------------------------------------------------------------------- training
@dataclass
class Trained:
    """What :func:`train` found: the history (its ``val_`` curves on the validation
    split), the loss before training, the validation accuracy, the test predictions and
    accuracy (scored once, after training), and the wall time."""

    history: ax.History
    loss_before: float
    val_accuracy: float
    predictions: np.ndarray
    test_accuracy: float
    seconds: float
    epochs: int = 0
    loaded: bool = False  # the weights came from --weights: scored, not trained

    @property
    def loss_after(self) -> float:
        """The last epoch's mean training loss (NaN if training stopped before one ended)."""
        losses = self.history.history.get("loss") or [float("nan")]
        return float(losses[-1])


def inputs(images: Images, flatten: bool) -> np.ndarray:
    return images.flat() if flatten else images.x


def score(model: nn.Module, images: Images, flatten: bool = False) -> tuple[np.ndarray, float]:
    """The model's predicted classes on ``images`` and its accuracy there (the logits are
    copied to the host from the model's device)."""
    logits = ax.predict(model, inputs(images, flatten), batch_size=1000).cpu().numpy()
    predictions = logits.argmax(axis=1)
    return predictions, float((predictions == images.y).mean())


def train(
    model: nn.Module,
    splits: Splits,
    *,
    optimizer,
    epochs: int,
    batch_size: int = 64,
    scheduler=None,
    augment: Callable | None = None,
    flatten: bool = False,
    verbose: int = 1,
    config: Config | None = None,
    tag: str | None = None,
    loaded: bool = False,
) -> Trained:
    """Train ``model`` on ``splits.train`` with ``axon.fit`` (cross-entropy, accuracy, the
    validation split monitored each epoch), then score it on the validation split and,
    once, on the test split.

    ``augment`` is a batch transform applied to every training batch; ``flatten`` feeds
    the images as rows (N, H*W) to a fully connected network. With ``config`` and
    ``tag`` the fit is backed up under that tag (:func:`~axon.lab.shared.base.backup`: what
    ``--resume`` continues). ``loaded``: the model's weights were loaded (``--weights``),
    so it is only scored, not trained (the history is empty).
    """
    train_set, val_set = splits.train, splits.val
    x_train, x_val = inputs(train_set, flatten), inputs(val_set, flatten)
    loader = DataLoader(TensorDataset(x_train, train_set.y), batch_size=batch_size, shuffle=True)
    if augment is not None:
        loader = BatchTransformLoader(loader, augment)
    val_loader = DataLoader(TensorDataset(x_val, val_set.y), batch_size=1000)
    loss_fn = nn.CrossEntropyLoss()
    sample = train_set.subset(min(len(train_set), 2000), seed=0)
    loss_before = ax.evaluate(
        model, (inputs(sample, flatten), sample.y), loss=loss_fn, batch_size=1000
    )["loss"]
    start = time.perf_counter()
    if loaded:
        history = ax.History()
    else:
        callbacks = backup(config, tag) if tag else []
        history = ax.fit(
            model,
            loader,
            loss=loss_fn,
            optimizer=optimizer,
            epochs=epochs,
            validation=val_loader,
            metrics=["accuracy"],
            scheduler=scheduler,
            callbacks=callbacks,
            verbose=verbose,
        )
    seconds = time.perf_counter() - start
    _, val_accuracy = score(model, val_set, flatten)
    predictions, test_accuracy = score(model, splits.test, flatten)
    done = len(history.epoch)
    if not loaded:
        print(
            f"  trained {done} epochs in {seconds:.1f} s ({seconds / max(done, 1):.1f} s "
            f"per epoch, validation included)"
        )
    return Trained(
        history,
        float(loss_before),
        val_accuracy,
        predictions,
        test_accuracy,
        seconds,
        done,
        loaded,
    )


def confusion_matrix(predictions: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """``m[i, j]``: how many images of class i were predicted as class j, (k, k)."""
    return np.bincount(targets * k + predictions, minlength=k * k).reshape(k, k)


# ----------------------------------------------------------------------------- claims
def check_learning(
    result: Result,
    run: Trained,
    config: Config,
    claim: float | None,
    what: str = "test accuracy",
    model: str = "",
) -> None:
    """The claims every vision experiment makes. The training loss fell (unless the
    weights were loaded instead of trained). Quick
    mode: the test accuracy beats chance by ``QUICK_MARGIN``; a full run: it reaches
    ``claim`` (when given). Each claim also names the validation accuracy. ``model``
    prefixes the claims when a run trains several."""
    prefix = f"{model}: " if model else ""
    what = prefix + what
    if run.loaded:  # nothing was trained: only the accuracy can be checked
        print(f"  {prefix}weights loaded, not trained: no training-loss claim")
    else:
        result.check(
            f"{prefix}the training loss fell ({run.loss_before:.3f} before "
            f"training, {run.loss_after:.3f} in the last epoch)",
            run.loss_after < run.loss_before,
        )
    val = f" (val accuracy {run.val_accuracy:.2%})"
    if config.quick or claim is None:
        floor = CHANCE + QUICK_MARGIN
        result.check(
            f"{what} {run.test_accuracy:.2%} beats chance ({CHANCE:.0%}) by at least "
            f"{QUICK_MARGIN:.0%}{val}",
            run.test_accuracy >= floor,
        )
    else:
        result.check(
            f"{what} {run.test_accuracy:.2%} >= {claim:.1%}{val}", run.test_accuracy >= claim
        )


def print_per_class(images: Images, predictions: np.ndarray, top: int = 3) -> np.ndarray:
    """Print per-class accuracy and the most frequent confusions; returns the matrix."""
    k = len(images.classes)
    m = confusion_matrix(predictions, images.y, k)
    per_class = np.diag(m) / np.maximum(m.sum(axis=1), 1)
    table(
        ["class", "images", "accuracy"],
        [[images.classes[i], int(m[i].sum()), f"{per_class[i]:.2%}"] for i in range(k)],
    )
    off = m.copy()
    np.fill_diagonal(off, 0)
    pairs = np.dstack(np.unravel_index(np.argsort(off, axis=None)[::-1], off.shape))[0]
    worst = [(int(i), int(j)) for i, j in pairs[:top] if off[i, j] > 0]
    names = short_names(images.classes)
    if worst:
        print(
            "  most frequent confusions: "
            + "; ".join(f"{names[i]} taken for {names[j]} ({off[i, j]}x)" for i, j in worst)
        )
    return m


# ----------------------------------------------------------------------------- outputs
def save_weights(model: nn.Module, path: Path) -> Path:
    """Write the model's state dict as safetensors (creating the folder); print where and
    how big."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ax.save(model.state_dict(), path)
    print(f"  weights: {path} ({path.stat().st_size / 1024:.0f} KB)")
    return path


def short_names(classes: Sequence[str]) -> list[str]:
    """MNIST's ``"7 - seven"`` -> ``"7"``; other names unchanged."""
    return [c.split(" - ")[0] for c in classes]


def save_figures(
    result: Result,
    name: str,
    title: str,
    run: Trained,
    test_set: Images,
    matrix: np.ndarray,
    out: Path,
    n_wrong: int = 32,
) -> None:
    """Training curves (unless the weights were loaded), confusion matrix and
    misclassified grid, added to ``result``."""
    if not run.loaded:
        fig = run.history.plot()
        fig.suptitle(f"{title}: training curves (val = validation split)")
        result.figures.append(plot.save(fig, out / f"{name}_curves.png"))

    names = short_names(test_set.classes)
    fig, (cm,) = plot.figure(
        size=(6.5, 6.0),
        title=f"{title}: confusion matrix (test accuracy {run.test_accuracy:.2%})",
    )
    plot.confusion_matrix(cm, matrix, names)
    result.figures.append(plot.save(fig, out / f"{name}_confusion.png"))

    wrong = np.flatnonzero(run.predictions != test_set.y)
    shown = wrong[:n_wrong]
    titles = [f"{names[test_set.y[i]]} -> {names[run.predictions[i]]}" for i in shown]
    ncols = max(min(8, len(shown)), 5)  # at least 5 wide, so the title fits
    fig, axes = plot.figure(
        ncols=ncols,
        nrows=max(-(-len(shown) // ncols), 1),
        size=(1.3, 1.55),
        title=f"{title}: misclassified test images\n(true -> predicted), {len(wrong)} in all",
    )
    plot.images(axes, list(test_set.pictures(shown)), titles)
    if not len(shown):
        fig.text(0.5, 0.4, "no test image is misclassified", ha="center")
    result.figures.append(plot.save(fig, out / f"{name}_misclassified.png"))


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The model's first ``Conv2d`` (in registration order)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError("the model has no Conv2d layer")


def feature_maps(model: nn.Module, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first convolution's filters (C_out, k, k) (first input channel) and its output
    on one image (C_out, H', W'), read with a forward hook in eval mode."""
    conv = first_conv(model)
    captured: list[np.ndarray] = []

    def hook(module, args, out):
        captured.append(out.cpu().numpy()[0])  # (1, C_out, H', W') -> (C_out, H', W')

    handle = conv.register_forward_hook(hook)
    try:
        ax.predict(model, image[None], batch_size=1)  # (1, C, H, W)
    finally:
        handle.remove()
    return conv.weight.detach().cpu().numpy()[:, 0], captured[0]


def save_feature_maps(
    result: Result,
    model: nn.Module,
    test_set: Images,
    title: str,
    path: Path,
    index: int = 0,
    per_row: int = 8,
) -> None:
    """One figure: the input image (top left), the first layer's filters (upper rows), and
    the feature map each filter makes of the image (lower rows: the convolution's output,
    before any normalisation or activation; red positive, blue negative)."""
    filters, maps = feature_maps(model, test_set.x[index])
    k = len(filters)
    per_row = min(per_row, k)
    rows = -(-k // per_row)
    fig, axes = plot.figure(
        ncols=per_row + 1,
        nrows=2 * rows,
        size=(1.5, 1.6),
        title=f"{title}: first-layer filters and their feature maps on one test image",
    )
    grid = [axes[r * (per_row + 1) : (r + 1) * (per_row + 1)] for r in range(2 * rows)]
    label = short_names(test_set.classes)[test_set.y[index]]
    plot.images([grid[0][0]], [test_set.pictures([index])[0]], [f"input ({label})"])
    plot.images([row[0] for row in grid[1:]], [])  # the rest of the first column: blank
    plot.images(
        [a for row in grid[:rows] for a in row[1:]],
        list(filters),
        [f"filter {i}" for i in range(k)],
        cmap="RdBu_r",
        symmetric=True,
    )
    plot.images(
        [a for row in grid[rows:] for a in row[1:]],
        list(maps),
        [f"map {i}" for i in range(k)],
        cmap="RdBu_r",
        symmetric=True,
    )
    result.figures.append(plot.save(fig, path))


SUMMARY_HEADER = [
    "model",
    "parameters",
    "epochs",
    "train loss",
    "val accuracy",
    "test accuracy",
    "seconds",
]


def summary_line(label: str, run: Trained, params: int) -> list[object]:
    """A row under :data:`SUMMARY_HEADER`."""
    return [
        label,
        f"{params:,}",
        run.epochs,
        f"{run.loss_after:.4f}",
        f"{run.val_accuracy:.2%}",
        f"{run.test_accuracy:.2%}",
        f"{run.seconds:.1f}",
    ]


def report(result: Result, title: str, run: Trained, params: int) -> None:
    heading(f"{title}: result")
    table(SUMMARY_HEADER, [summary_line(title, run, params)])
    result.metrics.update(
        {
            "val_accuracy": run.val_accuracy,
            "test_accuracy": run.test_accuracy,
            "loss_before": run.loss_before,
            "loss_after": run.loss_after,
            "epochs": run.epochs,
            "train_seconds": run.seconds,
            "parameters": params,
        }
    )
