"""Transfer learning: LeNet-5 pretrained on the digits 0-4, reused for the digits 5-9.

The source task is telling 0, 1, 2, 3 and 4 apart (MNIST's training images of those
digits); the target task is telling 5, 6, 7, 8 and 9 apart, with only 100, 1,000 or all
of its labelled training images. The network is a convolutional base (``features``: two
convolutions with pooling, 16 x 5 x 5 = 400 features of an image) and a fully connected
head (``classifier``: 400 -> 120 -> 84 -> 5). Three ways to learn the target, each with a
freshly initialised head:

- from scratch: a new LeNet-5, every weight trained (Adam, lr 2e-3);
- feature extraction: the pretrained base, frozen (``model.requires_grad_(False)``, then
  the new head's ``requires_grad_(True)``, as in PyTorch), and an optimizer that receives
  only the head's parameters. The base then records no graph at all, so an update costs
  its forward pass and the head's backward;
- fine tuning: the pretrained network, every weight trained, the base at a tenth of the
  head's learning rate (two parameter groups), so the features are adjusted, not erased.

Strokes, loops and corners are shared by all digits, so the convolutional features
learned on 0-4 should help most when the target has few labels: the run measures the
gain in test accuracy (the digits 5-9 of MNIST's test split) at each size. With 100
labels each result is the mean over three random draws (20 images per digit each).
Every run trains for at least 300 updates of 64 images and 2 epochs (with all 29,404
labels: 2 epochs, 920 updates), and at most for 45 s: the table says if that budget
ended a run early.

Measured (full run, 2 busy cores, about 4 minutes): with 100 labels scratch reaches
90.2%, feature extraction 94.6%, fine tuning 94.5% (+4.4 points); with 1,000 labels
97.1%, 98.4%, 98.3%; with all of them 98.3%, 98.9%, 98.9%. Feature extraction trains
in about 40% of the time of the other two.

Without MNIST in the data directory the run falls back on the 8x8 digits bundled with
axon (1,797 images, upscaled to 28x28), with the digits 5-9 split 2:1 into labelled
training images and test images. Those are easy enough that with 100 labels scratch
already reaches about 96% and transfer only ties with it (measured).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

import axon as ax
from axon import models, nn, optim
from axon.data import MNIST, DataLoader, TensorDataset, load_digits

from .. import plot
from .registry import register
from .shared.base import Config, Result, backup, heading, table
from .shared.text_common import TimeBudget
from .shared.vision_common import Images, load_idx_dataset, standardise

SOURCE = (0, 1, 2, 3, 4)
TARGET = (5, 6, 7, 8, 9)
METHODS = ("scratch", "feature extraction", "fine tuning")
HEAD = "classifier"  # LeNet-5's fully connected layers, new ones for the target task

FULL = dict(
    pretrain_epochs=2,
    sizes=(100, 1000, None),
    draws=3,
    lr=2e-3,
    ft_factor=0.1,
    min_steps=300,
    min_epochs=2,
    batch=64,
    budget=45.0,
    source_claim=0.98,
)
QUICK = dict(
    pretrain_epochs=6,
    sizes=(100, None),
    draws=3,
    lr=2e-3,
    ft_factor=0.1,
    min_steps=40,
    min_epochs=1,
    batch=64,
    budget=None,
    source_claim=None,
    source_images=3000,
    pool_images=300,
    test_images=1000,
)


# ----------------------------------------------------------------------------- data
@dataclass
class Tasks:
    """The source task's training and test images and the target task's labelled pool
    and test images, each relabelled 0..4; ``what`` says where they came from."""

    source: Images
    source_test: Images
    pool: Images
    test: Images
    what: str


def select(images: Images, digits: tuple[int, ...]) -> Images:
    """The images of ``digits``, relabelled 0..len(digits)-1 in that order."""
    pick = np.isin(images.y, digits)
    relabel = np.full(10, -1, dtype=np.int64)
    relabel[list(digits)] = np.arange(len(digits))
    return Images(
        images.x[pick], relabel[images.y[pick]], images.mean, images.std, [str(d) for d in digits]
    )


def draw(images: Images, n: int | None, seed: int) -> Images:
    """``n`` images, the same number of each class, at random (all of them for None or an
    ``n`` as large as the set)."""
    if n is None or n >= len(images):
        return images
    k = len(images.classes)
    rng = np.random.default_rng(seed)
    idx = np.concatenate(
        [rng.permutation(np.flatnonzero(images.y == c))[: n // k] for c in range(k)]
    )
    idx = np.sort(idx)
    return Images(images.x[idx], images.y[idx], images.mean, images.std, images.classes)


def upscale(images: np.ndarray) -> np.ndarray:
    """8x8 images to 28x28: each pixel repeated 3x3 (24x24), then 2 pixels of zero
    padding around, so LeNet-5 reads them like MNIST digits."""
    big = images.repeat(3, axis=1).repeat(3, axis=2)  # (N, 8, 8) -> (N, 24, 24)
    return np.pad(big, ((0, 0), (2, 2), (2, 2)))  # (N, 28, 28)


def mnist_tasks(config: Config) -> Tasks:
    train, test = load_idx_dataset(MNIST, config)
    return Tasks(
        select(train, SOURCE),
        select(test, SOURCE),
        select(train, TARGET),
        select(test, TARGET),
        "MNIST",
    )


def digits_tasks(seed: int) -> Tasks:
    """The bundled 8x8 digits, upscaled: all of 0-4 for the source, 5-9 split 2:1 into
    a labelled pool and test images (seeded)."""
    images, labels = load_digits()  # (1797, 8, 8) in [0, 16]
    x, mean, std = standardise(upscale(images), scale=16.0)
    every = Images(x, labels, mean, std, [str(d) for d in range(10)])
    source, target = select(every, SOURCE), select(every, TARGET)
    order = np.random.default_rng(seed).permutation(len(target))
    cut = len(target) // 3
    test = Images(target.x[order[:cut]], target.y[order[:cut]], mean, std, target.classes)
    pool = Images(target.x[order[cut:]], target.y[order[cut:]], mean, std, target.classes)
    return Tasks(source, source, pool, test, "the bundled 8x8 digits")


def load_tasks(config: Config) -> Tasks:
    """MNIST from the data directory, else the bundled 8x8 digits; quick mode takes
    random subsets."""
    try:
        tasks = mnist_tasks(config)
    except FileNotFoundError as e:
        first = str(e).splitlines()[0]
        print(f"  MNIST is not available ({first})")
        print(
            "  falling back on the 8x8 digits bundled with axon, upscaled to 28x28; the "
            "source task is also scored on its own training images"
        )
        tasks = digits_tasks(config.seed)
    if config.quick:
        hp = QUICK
        tasks.source = tasks.source.subset(hp["source_images"], config.seed)
        tasks.source_test = tasks.source_test.subset(hp["test_images"], config.seed + 1)
        tasks.pool = tasks.pool.subset(hp["pool_images"], config.seed + 2)
        tasks.test = tasks.test.subset(hp["test_images"], config.seed + 3)
    return tasks


# ----------------------------------------------------------------------------- the three methods
def head_parameters(model: nn.Module, head: str = HEAD) -> list:
    """The head's parameters."""
    return list(model.get_submodule(head).parameters())


def base_parameters(model: nn.Module, head: str = HEAD) -> list:
    """Every parameter but the head's."""
    return [p for name, p in model.named_parameters() if not name.startswith(head + ".")]


def replace_head(model: nn.Module, num_classes: int, head: str = HEAD) -> nn.Module:
    """Put a freshly initialised copy of submodule ``head`` (for ``num_classes`` outputs)
    in its place in ``model``; returns the new head."""
    fresh = models.lenet5(num_classes=num_classes).get_submodule(head)
    parent, _, child = head.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, fresh)
    return fresh


def prepare(
    method: str,
    pretrained: nn.Module | None,
    num_classes: int,
    lr: float,
    ft_factor: float = 0.1,
    head: str = HEAD,
    device: str = "cpu",
) -> tuple[nn.Module, optim.Optimizer]:
    """A LeNet-5 for the target task and its optimizer (Adam) for ``method``:

    - ``"scratch"``: a new network, all parameters at ``lr``;
    - ``"feature extraction"``: a copy of ``pretrained`` with a new ``head``; every other
      parameter frozen (``requires_grad`` False), the optimizer given the head only;
    - ``"fine tuning"``: a copy of ``pretrained`` with a new ``head``, all trainable: the
      base at ``lr * ft_factor``, the head at ``lr``.

    The network is on ``device`` (``--device``) before its optimizer is made.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "scratch":
        model = models.lenet5(num_classes=num_classes).to(device)
        return model, optim.Adam(model.parameters(), lr=lr)
    if pretrained is None:
        raise ValueError(f"{method!r} needs a pretrained network")
    source_classes = pretrained.classifier[-1].out_features
    model = models.lenet5(num_classes=source_classes)
    model.load_state_dict(pretrained.state_dict())  # copies: the pretrained net is kept
    new = replace_head(model, num_classes, head)
    model.to(device)  # the new head too; its Parameter objects are kept
    if method == "feature extraction":
        model.requires_grad_(False)
        new.requires_grad_(True)
        return model, optim.Adam(new.parameters(), lr=lr)
    groups = [
        {"params": base_parameters(model, head), "lr": lr * ft_factor},
        {"params": list(new.parameters())},
    ]
    return model, optim.Adam(groups, lr=lr)


# ----------------------------------------------------------------------------- training
@dataclass
class Outcome:
    """One training run: test accuracy, epochs done, seconds, and whether the
    time budget ended it."""

    accuracy: float
    epochs: int
    seconds: float
    capped: bool


def epochs_for(n: int, batch: int, min_steps: int, min_epochs: int) -> int:
    """Enough epochs for ``min_steps`` updates, and at least ``min_epochs``."""
    per_epoch = math.ceil(n / batch)
    return max(min_epochs, math.ceil(min_steps / per_epoch))


def accuracy(model: nn.Module, images: Images) -> float:
    logits = ax.predict(model, images.x, batch_size=1000).cpu().numpy()
    return float((logits.argmax(axis=1) == images.y).mean())


def _host_copy(p: nn.Parameter) -> np.ndarray:
    """A parameter's values, copied to a host array (from any device)."""
    return p.detach().cpu().numpy().copy()


def fit(
    model: nn.Module,
    opt: optim.Optimizer,
    train: Images,
    test: Images,
    epochs: int,
    batch: int,
    budget: float | None,
    seed: int,
    config: Config | None = None,
    tag: str = "transfer",
) -> Outcome:
    """Train with cross-entropy for ``epochs`` (or until ``budget`` seconds), then score
    on ``test``. With ``config`` the fit is backed up as ``tag`` (``--resume``)."""
    loader = DataLoader(TensorDataset(train.x, train.y), batch_size=batch, shuffle=True)
    stop = TimeBudget(budget)
    ax.manual_seed(seed)
    start = time.perf_counter()
    history = ax.fit(
        model,
        loader,
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=epochs,
        callbacks=[*backup(config, tag), stop],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    return Outcome(accuracy(model, test), len(history.epoch), seconds, stop.stopped)


# ----------------------------------------------------------------------------- figure
def save_figure(
    result: Result, sizes: list[int], scores: dict, seconds: dict, what: str, path
) -> None:
    fig, (left, right) = plot.figure(
        ncols=2, size=(5.5, 4.2), title=f"Transfer from digits 0-4 to 5-9 ({what})"
    )
    for i, method in enumerate(METHODS):
        means = [np.mean(scores[method][n]) for n in sizes]
        left.plot(sizes, means, marker="o", color=f"C{i}", label=method)
        for n in sizes:
            if len(scores[method][n]) > 1:
                left.scatter(
                    [n] * len(scores[method][n]), scores[method][n], s=10, color=f"C{i}", alpha=0.5
                )
        right.plot(
            sizes,
            [np.mean(seconds[method][n]) for n in sizes],
            marker="o",
            color=f"C{i}",
            label=method,
        )
    for axis, label in (
        (left, "test accuracy on digits 5-9"),
        (right, "seconds of training per run"),
    ):
        axis.set_xscale("log")
        axis.set_xlabel("labelled training images of 5-9")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    left.set_title("accuracy (dots: each random draw)", fontsize=10)
    right.set_title("cost (the frozen base records no graph)", fontsize=10)
    result.figures.append(plot.save(fig, path))


# ----------------------------------------------------------------------------- the experiment
@register(
    "transfer",
    "Transfer learning: LeNet-5 pretrained on digits 0-4, reused for 5-9 "
    "by feature extraction and fine tuning, against scratch with 100, 1,000 and all "
    "labels",
)
def run(config: Config) -> Result:
    result = Result("transfer")
    hp = QUICK if config.quick else FULL

    heading("1. The two tasks")
    tasks = load_tasks(config)
    print(
        f"  source (digits 0-4): {len(tasks.source):,} training images; target (digits "
        f"5-9): a pool of {len(tasks.pool):,} labelled images and {len(tasks.test):,} "
        f"test images"
    )
    heading("2. Pretraining LeNet-5 on the digits 0-4")
    pretrained = _pretrain(config, hp, tasks, result)
    heading("3. Learning the digits 5-9 three ways")
    sizes = _label_sizes(hp, len(tasks.pool))
    runs = _learn_target(config, hp, tasks, pretrained, sizes)
    heading("4. The gain of transfer")
    _show_gains(sizes, runs, hp, result)
    save_figure(
        result, sizes, runs.scores, runs.seconds, tasks.what, config.out / "transfer_accuracy.png"
    )
    _check(sizes, runs, result)
    return result


@dataclass
class Runs:
    """The target-task runs: test accuracy and seconds per method and number of labels
    (one entry per draw), the runs the time budget stopped, and per feature-extraction
    run whether its base stayed frozen."""

    scores: dict[str, dict[int, list[float]]]
    seconds: dict[str, dict[int, list[float]]]
    capped: list[str]
    frozen_ok: list[bool]


def _pretrain(config: Config, hp: dict, tasks: Tasks, result: Result) -> nn.Module:
    """Step 2: LeNet-5 trained on the source digits; checks that it tells them apart."""
    ax.manual_seed(config.seed)
    pretrained = models.lenet5(num_classes=len(SOURCE)).to(config.device)
    epochs = config.epochs or hp["pretrain_epochs"]
    opt = optim.Adam(pretrained.parameters(), lr=hp["lr"])
    pre = fit(
        pretrained,
        opt,
        tasks.source,
        tasks.source_test,
        epochs,
        hp["batch"],
        None,
        config.seed,
        config,
        "transfer-pretrain",
    )
    print(
        f"  Adam lr {hp['lr']:g}, batch {hp['batch']}, {pre.epochs} epochs in "
        f"{pre.seconds:.0f} s: test accuracy on 0-4 {pre.accuracy:.2%}"
    )
    if hp["source_claim"] is not None and tasks.what == "MNIST":
        result.check(
            f"the pretrained network tells 0-4 apart: {pre.accuracy:.2%} >= "
            f"{hp['source_claim']:.0%}",
            pre.accuracy >= hp["source_claim"],
        )
    else:
        result.check(
            f"the pretrained network tells 0-4 apart: {pre.accuracy:.2%} >= 80%",
            pre.accuracy >= 0.8,
        )
    return pretrained


def _label_sizes(hp: dict, pool: int) -> list[int]:
    """The numbers of target labels to try (None or more than the pool: all of it), once
    each."""
    sizes = []
    for n in hp["sizes"]:
        size = pool if n is None or n >= pool else n
        if size not in sizes:
            sizes.append(size)
    return sizes


def _learn_target(
    config: Config, hp: dict, tasks: Tasks, pretrained: nn.Module, sizes: list[int]
) -> Runs:
    """Step 3: for each number of labels (and each draw of the small ones) and each
    method, a model prepared from ``pretrained``, trained and scored on the target task."""
    print(
        f"  scratch: all parameters, Adam lr {hp['lr']:g}; feature extraction: base frozen, "
        f"the optimizer gets the head only (lr {hp['lr']:g}); fine tuning: base at lr "
        f"{hp['lr'] * hp['ft_factor']:g}, head at {hp['lr']:g}"
    )
    print(
        f"  each run: at least {hp['min_steps']} updates of {hp['batch']} and "
        f"{hp['min_epochs']} epoch(s)"
        + (f", at most {hp['budget']:.0f} s of training" if hp["budget"] else "")
    )
    k = len(TARGET)
    runs = Runs(
        {m: {n: [] for n in sizes} for m in METHODS},
        {m: {n: [] for n in sizes} for m in METHODS},
        [],
        [],
    )
    for n in sizes:
        draws = hp["draws"] if n < len(tasks.pool) and n <= 100 else 1
        for d in range(draws):
            train = draw(tasks.pool, n, config.seed + 100 * d + n)
            n_epochs = epochs_for(len(train), hp["batch"], hp["min_steps"], hp["min_epochs"])
            for method in METHODS:
                ax.manual_seed(config.seed + d)
                model, opt = prepare(
                    method, pretrained, k, hp["lr"], hp["ft_factor"], device=config.device
                )
                base_before = [_host_copy(p) for p in base_parameters(model)]
                out = fit(
                    model,
                    opt,
                    train,
                    tasks.test,
                    n_epochs,
                    hp["batch"],
                    hp["budget"],
                    config.seed + d,
                    config,
                    f"transfer-{method.replace(' ', '-')}-{n}-{d}",
                )
                if method == "feature extraction":
                    runs.frozen_ok.append(
                        all(
                            np.array_equal(_host_copy(p), b) and p.grad is None
                            for p, b in zip(base_parameters(model), base_before, strict=True)
                        )
                    )
                runs.scores[method][n].append(out.accuracy)
                runs.seconds[method][n].append(out.seconds)
                if out.capped:
                    runs.capped.append(f"{method}, {n:,} labels: {out.epochs} of {n_epochs} epochs")
                print(
                    f"  {len(train):>6,} labels (draw {d + 1}/{draws}), {method:<18}: "
                    f"{out.accuracy:.2%}  ({out.epochs} epochs, {out.seconds:.1f} s"
                    + (", stopped by the time budget)" if out.capped else ")")
                )
    return runs


def _show_gains(sizes: list[int], runs: Runs, hp: dict, result: Result) -> None:
    """Step 4: mean test accuracy per method and number of labels, and the gain of each
    transfer method over scratch, kept as metrics."""
    rows = []
    for n in sizes:
        mean = {m: float(np.mean(runs.scores[m][n])) for m in METHODS}
        rows.append(
            [
                f"{n:,}",
                f"{mean['scratch']:.2%}",
                f"{mean['feature extraction']:.2%}",
                f"{mean['fine tuning']:.2%}",
                f"{100 * (mean['feature extraction'] - mean['scratch']):+.1f}",
                f"{100 * (mean['fine tuning'] - mean['scratch']):+.1f}",
            ]
        )
        for m in METHODS:
            key = m.replace(" ", "_")
            result.metrics[f"{key}_{n}"] = mean[m]
            result.metrics[f"{key}_{n}_seconds"] = float(np.mean(runs.seconds[m][n]))
    table(
        [
            "labels",
            "scratch",
            "feature extr.",
            "fine tuning",
            "FE gain (points)",
            "FT gain (points)",
        ],
        rows,
        align="rrrrrr",
    )
    if runs.capped:
        print(
            f"  stopped by the time budget of {hp['budget']:.0f} s per run: "
            + "; ".join(runs.capped)
        )
    else:
        print("  no run was stopped by the time budget")


def _check(sizes: list[int], runs: Runs, result: Result) -> None:
    """The claims: with the fewest labels both transfer methods beat scratch; feature
    extraction never touched the frozen base."""
    small = sizes[0]
    mean = {m: float(np.mean(runs.scores[m][small])) for m in METHODS}
    result.check(
        f"with {small} labels feature extraction beats training from scratch "
        f"({mean['feature extraction']:.2%} against {mean['scratch']:.2%})",
        mean["feature extraction"] > mean["scratch"],
    )
    result.check(
        f"with {small} labels fine tuning beats training from scratch "
        f"({mean['fine tuning']:.2%} against {mean['scratch']:.2%})",
        mean["fine tuning"] > mean["scratch"],
    )
    frozen_ok = runs.frozen_ok
    result.check(
        f"feature extraction left the frozen base unchanged and without gradients "
        f"in all {len(frozen_ok)} runs",
        bool(frozen_ok) and all(frozen_ok),
    )
