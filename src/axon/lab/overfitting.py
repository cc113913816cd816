"""Overfitting and its remedies, each against the same unregularised baseline.

``axon run overfitting`` trains a network much larger than its training set warrants
(a ReLU MLP with two hidden layers of 256 on 500 MNIST images from the data directory
when it is there, else on 100 of the 8x8 digits that ship with axon) until it fits the
training images perfectly, and then the same network, from the same initial weights
and for the same epochs, with one remedy at a time:

    L2              weight_decay: each step adds lam2 w to the gradient of every weight
                    matrix, the gradient of the penalty (lam2 / 2) sum w^2
    weight elim.    the penalty lam sum w^2 / (beta^2 + w^2) added to the loss
                    (:func:`axon.nn.regularizers.weight_elimination`): small weights are
                    pulled to zero, large ones left alone
    dropout         each hidden unit zeroed with probability 0.5 while training
    early stopping  stop when the validation loss has not improved for a while, and keep
                    the weights of its best epoch
    augmentation    each training image altered at random, afresh in every epoch:
                    shifted by up to 2 pixels each way (MNIST), or given Gaussian pixel
                    noise (8x8 digits, where a shift of one pixel is an eighth of the image)

Three disjoint sets: the small training set, a validation set (watched every epoch, and
the one early stopping chooses by), and a test set scored once at the end. After every
epoch the training and validation accuracy and cross-entropy (CE) are measured in eval
mode on the unaltered images (no dropout, no shifts, no penalty), so every curve means
the same thing. Two gaps are reported at the end of training (for early stopping: at
the epoch it kept): training minus validation accuracy, and validation minus training
cross-entropy.

The claim, per remedy: it narrows the cross-entropy gap or raises the best validation
accuracy of any epoch, against the baseline. The cross-entropy gap is the one that moves:
a network that fits its training images perfectly keeps growing its weights, so its
training CE goes to 0 while its validation CE climbs (overconfident mistakes), long
after both accuracies have stopped changing. Weight elimination also does what its name
says: it leaves more weights near zero than the baseline or L2 (asserted too).

What was seen (seed 0 on MNIST; seeds 0 to 4 on the 8x8 digits): on MNIST every remedy
helps, augmentation most (best validation accuracy 92.7% against 85.5%, CE gap 0.31
against 0.70) and dropout next (87.5%); L2, weight elimination and early stopping
shrink the CE gap (to 0.44-0.49) and move accuracy by under a point; weight elimination
leaves 17.6% of the weights below 1e-3, against 2.4% (baseline) and 5.1% (L2). The 8x8
digits barely overfit (the baseline reaches about 90% on validation): there early
stopping and augmentation held on all five seeds, while L2, weight elimination and
dropout held on four of five each (their effect, a few hundredths of CE or a few
images, is the size of the seed-to-seed noise).

The strengths (lam2, lam, beta, the dropout rate, the patience) were set in a short pilot
on MNIST's training split, never on the test set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import axon as ax
from axon import nn, optim
from axon.data import DataLoader, TensorDataset
from axon.data.transforms import BatchTransformLoader, GaussianNoise, RandomShift
from axon.nn.regularizers import weight_elimination
from axon.train.base import Callback
from axon.train.callbacks import EarlyStopping

from .. import plot
from .registry import register
from .shared.base import Config, Result, backup, heading, table
from .shared.digits import digit_images
from .shared.vision_common import Images

HIDDEN = 256
LR = 0.01  # SGD with momentum 0.9
L2 = 5e-3  # weight_decay
WE_LAMBDA, WE_BETA = 3e-4, 0.2  # weight elimination
DROPOUT = 0.5
PATIENCE = 10
SMALL = 1e-3  # a weight below this in size counts as eliminated
REMEDIES = ("none", "L2", "weight elimination", "dropout", "early stopping", "augmentation")


@dataclass
class Setup:
    """How many images each set gets, the batch, the epochs, and the augmentation.

    ``augment`` is ``"shift"`` (each image moved by up to 2 pixels each way: MNIST's
    classic augmentation) or ``"noise"`` (Gaussian noise of std 0.5 added to every
    standardised pixel: on 8x8 images a one-pixel shift moves an eighth of the image and
    hurts more than it helps).
    """

    train: int
    val: int
    test: int
    epochs: int
    batch: int
    augment: str

    def augmentation(self, images: Images):
        """The batch transform of the augmented run."""
        if self.augment == "shift":
            return RandomShift(2, fill=images.background)
        return GaussianNoise(0.5)

    def describe(self) -> str:
        return (
            "random shifts of up to 2 pixels"
            if self.augment == "shift"
            else "Gaussian pixel noise, std 0.5"
        )


def setup(data_name: str, config: Config) -> Setup:
    """MNIST: 500 / 2,000 / 10,000 images, batch 32, 100 epochs, shifts; the 8x8 digits:
    100 / 700 / 360 images, batch 10, 60 epochs (quick: 40), pixel noise.
    ``config.epochs`` overrides the epochs."""
    if data_name == "MNIST":
        s = Setup(500, 2000, 10000, 100, 32, "shift")
    else:
        s = Setup(100, 700, 360, 40 if config.quick else 60, 10, "noise")
    if config.epochs is not None:
        s.epochs = config.epochs
    return s


def split(train: Images, test: Images, s: Setup, seed: int) -> tuple[Images, Images, Images]:
    """Disjoint training and validation sets drawn at random (seeded) from ``train``, and
    ``s.test`` images of ``test``."""
    order = np.random.default_rng(seed).permutation(len(train))
    if s.train + s.val > len(order):
        raise ValueError(
            f"{s.train} training + {s.val} validation images asked for, but "
            f"only {len(order)} are available"
        )

    def take(idx: np.ndarray) -> Images:
        idx = np.sort(idx)
        return Images(train.x[idx], train.y[idx], train.mean, train.std, train.classes)

    return (
        take(order[: s.train]),
        take(order[s.train : s.train + s.val]),
        test.subset(s.test, seed + 1),
    )


def network(n_in: int, dropout: float = 0.0) -> nn.Sequential:
    """Flatten -> n_in-256-256-10 ReLU MLP, with Dropout(``dropout``) after each hidden
    ReLU when ``dropout`` > 0. Takes images (N, 1, H, W)."""
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in ((n_in, HIDDEN), (HIDDEN, HIDDEN)):
        layers += [nn.Linear(a, b), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(HIDDEN, 10))
    return nn.Sequential(*layers)


def weights_and_biases(model: nn.Module) -> tuple[list, list]:
    """The weight matrices (penalised) and the biases (never penalised)."""
    params = list(model.parameters())
    return [p for p in params if p.ndim >= 2], [p for p in params if p.ndim < 2]


class CleanScores(Callback):
    """After every epoch: cross-entropy and accuracy on the training and validation sets,
    in eval mode, on the images as they are (no dropout, no augmentation, no penalty).
    The validation scores also go into the epoch's logs as ``val_loss`` and
    ``val_accuracy``, for the callbacks after this one (early stopping)."""

    def __init__(self, train: Images, val: Images) -> None:
        self.sets = {"train": (train.x, train.y), "val": (val.x, val.y)}
        self.scores: dict[str, list[float]] = {
            f"{s}_{k}": [] for s in self.sets for k in ("loss", "accuracy")
        }

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        for name, data in self.sets.items():
            out = ax.evaluate(
                self.model, data, loss=nn.CrossEntropyLoss(), metrics=["accuracy"], batch_size=1000
            )
            self.scores[f"{name}_loss"].append(float(out["loss"]))
            self.scores[f"{name}_accuracy"].append(float(out["accuracy"]))
        if logs is not None:
            logs["val_loss"] = self.scores["val_loss"][-1]
            logs["val_accuracy"] = self.scores["val_accuracy"][-1]

    def state_dict(self) -> dict:
        """The scores so far (for ``--resume``)."""
        return {k: list(v) for k, v in self.scores.items()}

    def load_state_dict(self, state: dict) -> None:
        self.scores = {k: [float(x) for x in state[k]] for k in self.scores}


@dataclass
class Trained:
    """One remedy's run: the per-epoch clean scores, the epoch whose weights were kept,
    and the final test accuracy."""

    remedy: str
    scores: dict[str, list[float]]
    kept: int  # 0-based epoch of the final weights
    test_accuracy: float
    seconds: float
    small_weights: float  # the share of weight-matrix entries with |w| < SMALL at the end
    notes: list[str] = field(default_factory=list)

    def at(self, key: str) -> float:
        """A score at the kept epoch."""
        return self.scores[key][self.kept]

    @property
    def gap(self) -> float:
        """Training minus validation accuracy at the kept epoch."""
        return self.at("train_accuracy") - self.at("val_accuracy")

    @property
    def loss_gap(self) -> float:
        """Validation minus training cross-entropy at the kept epoch."""
        return self.at("val_loss") - self.at("train_loss")

    @property
    def best_val(self) -> float:
        """The highest validation accuracy of any epoch."""
        return max(self.scores["val_accuracy"])


def train_with(
    remedy: str,
    train: Images,
    val: Images,
    test: Images,
    s: Setup,
    seed: int,
    config: Config | None = None,
) -> Trained:
    """Train the network from seed ``seed``'s initial weights with one remedy (``"none"``
    for the baseline), SGD with momentum 0.9, for ``s.epochs`` epochs of batches of
    ``s.batch``; backed up (``--resume``) and trained on ``config.device`` when
    ``config`` is given."""
    if remedy not in REMEDIES:
        raise ValueError(f"unknown remedy {remedy!r}; known: {', '.join(REMEDIES)}")
    n_in = int(np.prod(train.x.shape[1:]))
    ax.manual_seed(seed)
    model = network(n_in, DROPOUT if remedy == "dropout" else 0.0)
    model.to(config.device if config is not None else "cpu")
    weights, biases = weights_and_biases(model)
    decay = L2 if remedy == "L2" else 0.0
    opt = optim.SGD(
        [{"params": weights, "weight_decay": decay}, {"params": biases}], lr=LR, momentum=0.9
    )
    ce = nn.CrossEntropyLoss()
    if remedy == "weight elimination":

        def loss(out, y):
            return ce(out, y) + weight_elimination(weights, WE_LAMBDA, WE_BETA)
    else:
        loss = ce
    loader = DataLoader(TensorDataset(train.x, train.y), batch_size=s.batch, shuffle=True)
    if remedy == "augmentation":
        loader = BatchTransformLoader(loader, s.augmentation(train))
    scores = CleanScores(train, val)
    tag = "overfitting-" + remedy.replace(" ", "-")
    callbacks: list[Callback] = [*backup(config, tag), scores]
    stopper = None
    if remedy == "early stopping":
        stopper = EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
        callbacks.append(stopper)
    start = time.perf_counter()
    ax.fit(model, loader, loss=loss, optimizer=opt, epochs=s.epochs, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    done = len(scores.scores["val_loss"])
    kept = done - 1 if stopper is None else stopper.best_epoch
    test_acc = ax.evaluate(model, (test.x, test.y), metrics=["accuracy"], batch_size=1000)[
        "accuracy"
    ]
    notes = []
    if stopper is not None:
        notes.append(f"stopped after epoch {done}, kept epoch {kept + 1}")
    w = np.concatenate([p.detach().cpu().numpy().ravel() for p in weights])
    small = float((np.abs(w) < SMALL).mean())
    return Trained(remedy, scores.scores, kept, float(test_acc), seconds, small, notes)


def _lowest_after_first(scores: dict[str, list[float]]) -> float:
    """The lowest training or validation accuracy, the first epoch left out when there
    are more than two (the accuracy panels zoom on the gap, not on the first epoch)."""
    first = 1 if len(scores["val_accuracy"]) > 2 else 0
    return min(min(scores["train_accuracy"][first:]), min(scores["val_accuracy"][first:]))


@plot.style()
def _plot(runs: dict[str, Trained], data_name: str, n_train: int, path) -> Path:
    """One block per run, three to a row: accuracy per epoch above cross-entropy (log
    scale); the baseline repeated in grey behind each remedy; a dotted line at the kept
    epoch."""
    from matplotlib.ticker import MaxNLocator

    per_row = 3
    block_rows = -(-len(runs) // per_row)
    fig, axes = plot.figure(
        ncols=per_row,
        nrows=2 * block_rows,
        size=(3.6, 2.6),
        title=f"Overfitting {n_train} {data_name} images, and each remedy "
        "(solid: training, dashed: validation; grey: the baseline)",
    )
    base = runs["none"]
    for i, (name, r) in enumerate(runs.items()):
        block, col = divmod(i, per_row)
        for row, key in enumerate(("accuracy", "loss")):
            panel = axes[(2 * block + row) * per_row + col]
            shown = [r] if name == "none" else [base, r]
            for run in shown:
                grey = run is base and name != "none"
                x = np.arange(1, len(run.scores[f"train_{key}"]) + 1)
                few = {"marker": "o", "ms": 3} if len(x) <= plot.FEW_POINTS else {}
                panel.plot(
                    x,
                    run.scores[f"train_{key}"],
                    lw=0.8 if grey else 1.2,
                    color="0.65" if grey else "tab:blue",
                    label=None if grey else "training",
                    **few,
                )
                panel.plot(
                    x,
                    run.scores[f"val_{key}"],
                    lw=0.8 if grey else 1.2,
                    ls="--",
                    color="0.65" if grey else "tab:red",
                    label=None if grey else "validation",
                    **few,
                )
            panel.axvline(r.kept + 1, color="k", lw=0.6, ls=":")
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.grid(alpha=0.3)
            if key == "accuracy":
                title = "no remedy" if name == "none" else name
                panel.set_title(f"{title}\nacc gap {r.gap:.1%}, best val {r.best_val:.1%}")
                low = min(_lowest_after_first(run.scores) for run in shown)
                panel.set_ylim(max(low - 0.02, 0.0), 1.005)
            else:
                panel.set_yscale("log")
                panel.set_xlabel("epoch")
                panel.set_title(f"cross-entropy gap {r.loss_gap:.3f}", fontsize=plot.SMALL)
            if col == 0:
                panel.set_ylabel("accuracy" if key == "accuracy" else "cross-entropy")
    axes[0].legend()  # where it hides the fewest points
    return plot.save(fig, path)


@register(
    "overfitting",
    "A network that overfits a small training set, and L2, weight "
    "elimination, dropout, early stopping and augmentation against it",
)
def run(config: Config) -> Result:
    result = Result("overfitting")
    heading("The data")
    data_name, train_all, test_all = digit_images(config)
    s = setup(data_name, config)
    train, val, test = split(train_all, test_all, s, config.seed)
    _describe(data_name, s, train, val, test)
    runs: dict[str, Trained] = {}
    for remedy in REMEDIES:
        runs[remedy] = train_with(remedy, train, val, test, s, config.seed, config)
        r = runs[remedy]
        extra = f"; {'; '.join(r.notes)}" if r.notes else ""
        print(f"  {remedy:18s} {r.seconds:5.1f} s{extra}")
    heading("At the end of training (early stopping: the epoch it kept)")
    _show_table(runs)
    _check(runs, result)
    path = config.out / "overfitting_curves.png"
    result.figures.append(_plot(runs, data_name, len(train), path))
    return result


def _describe(data_name: str, s: Setup, train: Images, val: Images, test: Images) -> None:
    """The sizes of the three parts, the network (built once to count its parameters)
    and the settings of each remedy."""
    n_in = int(np.prod(train.x.shape[1:]))
    print(
        f"  {len(train)} training, {len(val):,} validation and {len(test):,} test images "
        f"({data_name}); {s.epochs} epochs, batch {s.batch}, SGD lr {LR} momentum 0.9"
    )
    model = network(n_in)
    print(
        f"  the network: {n_in}-{HIDDEN}-{HIDDEN}-10 ReLU, {model.num_parameters():,} "
        f"parameters for {len(train)} images"
    )
    print(
        f"  remedies: L2 weight_decay {L2:g}; weight elimination lam {WE_LAMBDA:g}, beta "
        f"{WE_BETA:g}; dropout {DROPOUT}; early stopping on val_loss, patience "
        f"{PATIENCE}; {s.describe()}"
    )


def _show_table(runs: dict[str, Trained]) -> None:
    """Each remedy's accuracies, cross-entropies, gaps and small weights at the end of
    training (early stopping: at the epoch it kept)."""
    table(
        [
            "remedy",
            "train acc",
            "val acc",
            "acc gap",
            "best val acc",
            "train CE",
            "val CE",
            "CE gap",
            f"|w| < {SMALL:g}",
            "test acc",
        ],
        [
            [
                name,
                f"{r.at('train_accuracy'):.2%}",
                f"{r.at('val_accuracy'):.2%}",
                f"{r.gap:.2%}",
                f"{r.best_val:.2%}",
                f"{r.at('train_loss'):.4f}",
                f"{r.at('val_loss'):.4f}",
                f"{r.loss_gap:.4f}",
                f"{r.small_weights:.1%}",
                f"{r.test_accuracy:.2%}",
            ]
            for name, r in runs.items()
        ],
    )
    print(
        "  acc gap: training minus validation accuracy; CE gap: validation minus training "
        "cross-entropy;"
    )
    print(f"  |w| < {SMALL:g}: the share of the weight-matrix entries that small")


def _check(runs: dict[str, Trained], result: Result) -> None:
    """The claims (each remedy's gaps kept as metrics): the baseline overfits, every
    remedy narrows its gap or raises its best validation accuracy, and weight elimination
    leaves the most weights near zero."""
    base = runs["none"]
    result.check(
        f"the baseline overfits: {base.at('train_accuracy'):.1%} on its training "
        f"images, {base.at('val_accuracy'):.1%} on validation",
        base.at("train_accuracy") >= 0.99 and base.gap >= 0.05,
    )
    for name, r in runs.items():
        key = name.replace(" ", "_")
        result.metrics.update(
            {
                f"{key}_gap": r.gap,
                f"{key}_loss_gap": r.loss_gap,
                f"{key}_best_val": r.best_val,
                f"{key}_test": r.test_accuracy,
            }
        )
        if name == "none":
            continue
        result.check(
            f"{name} narrows the cross-entropy gap ({r.loss_gap:.3f} vs "
            f"{base.loss_gap:.3f}) or raises the best validation accuracy "
            f"({r.best_val:.1%} vs {base.best_val:.1%})",
            r.loss_gap < base.loss_gap or r.best_val > base.best_val,
        )
    we, l2 = runs["weight elimination"], runs["L2"]
    result.check(
        f"weight elimination leaves more weights near zero (|w| < {SMALL:g}) than "
        f"the baseline and L2 ({we.small_weights:.1%} vs {base.small_weights:.1%} "
        f"and {l2.small_weights:.1%})",
        we.small_weights > max(base.small_weights, l2.small_weights),
    )
