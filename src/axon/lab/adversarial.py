"""Adversarial examples against LeNet-5 on MNIST, and adversarial training as a defence.

``axon run adversarial`` trains LeNet-5 (2 epochs) on MNIST pixels in [0, 1] (the
standardisation sits inside the model, :class:`axon.attacks.Normalized`, so epsilon is in
pixel units), or loads the weights ``axon run lenet`` saved (``config.weights``), and
attacks 1,000 of its test images at their true labels with the engine's input gradients
(:mod:`axon.attacks`). The models train on 54,000 training images; the other 6,000 (a
seeded 10% of each digit) are the validation split their curves are drawn on; the test
images are used only at the end, to score the models and to be attacked:

- FGSM, and PGD (10 steps of 2.5 eps / 10 from a random start), inside the L-inf ball of
  radius eps, for eps from 0.05 to 0.3; FGSM at eps 0.3 also on the whole test set;
- a sticker: a size x size square at a random place of each image whose pixels may take
  any value in [0, 1], found by 10 steps of sign gradient ascent on the loss; sides 2 to
  12 pixels.

The success rate is the fraction of the correctly classified images whose prediction the
attack changes; the accuracy under attack is the fraction of all attacked images still
classified correctly. Every adversarial image is checked to lie within eps of its original
and in [0, 1], and every patched one to differ from its original only inside its square.

The defence (Goodfellow et al. 2015; Wong et al. 2020, "Fast is better than free"): a
second LeNet trained (4 epochs) on batches of half clean images and half adversarial
ones, made on the fly against the model being trained by FGSM from a random start (one
step of 1.25 eps from uniform noise in the ball, eps = 0.3), so the loss is the mean of
the clean and the adversarial cross-entropy. Both models face the same attacks; the
figures show success and accuracy under attack against eps, success against patch size,
and example images with their perturbations.

What a full run shows (seed 0): the clean LeNet-5 reaches 98.8% test accuracy; FGSM at
eps 0.3 fools 89% of the test images it gets right, PGD-10 fools 34% already at 0.1 and
all of them from 0.25 (FGSM: 16% and 78%). The adversarially trained LeNet keeps 98.8%
clean accuracy, and its accuracy under PGD-10 at eps 0.3 is 72% (0% for the clean one).
That is an upper bound on its robustness: FGSM fools only 7% of it at 0.3 against
PGD's 27%, the mark of a loss surface that one gradient step reads badly, and stronger
attacks (more steps, restarts) would find more. The L-inf training barely helps against
the sticker: a 12x12 patch (18% of the image) still fools 83% of it, and 97% of the
clean model. The whole run took 3.2 minutes on an idle machine with one BLAS thread
(training 17 s clean and 117 s adversarially, the attacks 51 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import axon as ax
from axon import attacks, models, nn, optim
from axon.data import MNIST, DataLoader, TensorDataset
from axon.data.transforms import BatchTransformLoader

from .. import plot
from .registry import register
from .shared.base import Config, Result, backup, heading, load_weights, table
from .shared.vision_common import (
    Images,
    Splits,
    Trained,
    check_learning,
    quick_splits,
    save_weights,
    score,
    short_names,
    stratified_split,
    train,
)

CLAIM_EPS = 0.3  # "FGSM with eps 0.3 fools most test images" (more than half) ...
QUICK_FOOLED = 0.25  # ... and at least a quarter in quick mode (a briefly trained model)
TRAIN_EPS = 0.3  # adversarial training's radius
VAL_FRACTION = 0.1  # the share of each digit of the training images held out for validation
CLEAN_CLAIM = 0.98  # the clean LeNet's test accuracy after a short training
ROBUST_CLEAN_CLAIM = 0.97  # the adversarially trained LeNet's clean test accuracy
ROBUST_GAIN = 0.5  # a full run: adversarial training raises the accuracy under PGD this much
PATCH_ALPHA = 0.1  # the patch's step size (its pixels range over [0, 1])
EXAMPLE_EPS, EXAMPLE_PATCH = 0.2, 8  # the example figure
BATCH = 500  # images attacked at once


@dataclass(frozen=True)
class Plan:
    """The sizes of a run: training epochs, how many test images are attacked, the
    attacks' steps, the radii, the patch sizes, how many examples are drawn, and the
    radius at which the defence is judged (in quick mode, where the models train briefly,
    a smaller one than the training radius)."""

    epochs: int
    adversarial_epochs: int
    n_attack: int
    pgd_steps: int
    patch_steps: int
    epsilons: tuple[float, ...]
    patch_sizes: tuple[int, ...]
    examples: int
    defence_eps: float


FULL = Plan(
    epochs=2,
    adversarial_epochs=4,
    n_attack=1000,
    pgd_steps=10,
    patch_steps=10,
    epsilons=(0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    patch_sizes=(2, 4, 6, 8, 10, 12),
    examples=8,
    defence_eps=TRAIN_EPS,
)
QUICK = Plan(
    epochs=2,
    adversarial_epochs=2,
    n_attack=100,
    pgd_steps=5,
    patch_steps=10,
    epsilons=(0.1, 0.2, 0.3),
    patch_sizes=(4, 8, 12),
    examples=4,
    defence_eps=0.2,
)


# ----------------------------------------------------------------------------- data
def load_pixels(config: Config) -> tuple[Splits, float, float]:
    """MNIST as pixels in [0, 1], float32 (N, 1, 28, 28) (held in :class:`Images` with
    mean 0 and std 1, so ``pictures`` shows them as they are): the training split, the
    validation split carved from it (a seeded ``VAL_FRACTION`` of each digit) and the
    test split; and the training split's pixel mean and standard deviation (for
    :class:`attacks.Normalized`)."""
    start = time.perf_counter()
    sets = [MNIST(config.data_dir, train=t) for t in (True, False)]
    read = []
    for ds in sets:
        images, labels = ds.arrays()
        x = images.astype(np.float32)[:, None] / np.float32(255)  # (N, 28, 28) -> (N, 1, ..)
        read.append(Images(x, labels, 0.0, 1.0, list(MNIST.classes)))
    every, test_set = read
    kept, held = stratified_split(every.y, VAL_FRACTION, config.seed)
    splits = Splits(every.take(kept), every.take(held), test_set)
    train_x = splits.train.x
    mean, std = float(train_x.mean(dtype=np.float64)), float(train_x.std(dtype=np.float64))
    print(
        f"  MNIST from {sets[0].image_file.parent} as pixels in [0, 1], read in "
        f"{time.perf_counter() - start:.1f} s"
    )
    print(f"  splits: {splits.describe()}")
    print(
        f"  the model standardises them itself with the training split's mean {mean:.4f} "
        f"and std {std:.4f}, so eps is measured in pixel units"
    )
    return splits, mean, std


# ----------------------------------------------------------------------------- training
class AdversarialBatches:
    """A batch transform for adversarial training: ``(x, y) -> ([x; x_adv], [y; y])``,
    where x_adv is made against the current ``model`` by FGSM from a random start
    (:func:`attacks.pgd` with one step of ``1.25 eps``), so that the mean loss over the
    batch is ``(CE(x, y) + CE(x_adv, y)) / 2``."""

    def __init__(self, model: nn.Module, eps: float, rng: np.random.Generator) -> None:
        self.model, self.eps, self.rng = model, eps, rng

    def state_dict(self) -> dict:
        """The random starts' generator state (what a resumed training needs)."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]

    def __call__(self, batch):
        x, y = batch
        x_adv = attacks.pgd(
            self.model,
            x,
            y,
            self.eps,
            alpha=1.25 * self.eps,
            steps=1,
            random_start=True,
            rng=self.rng,
        )
        return ax.cat([ax.as_tensor(x), x_adv]), ax.cat([ax.as_tensor(y)] * 2)


def train_adversarially(
    model: nn.Module,
    splits: Splits,
    *,
    epochs: int,
    eps: float,
    seed: int,
    lr: float = 2e-3,
    batch_size: int = 64,
    config: Config | None = None,
) -> Trained:
    """Train ``model`` on half clean, half adversarial batches (:class:`AdversarialBatches`)
    with Adam and a cosine decay, the clean validation split monitored; then score it on
    the clean validation and test splits. With ``config`` the fit is backed up
    (``--resume``), as ``adversarial-robust``."""
    train_set, val_set, test_set = splits.train, splits.val, splits.test
    loader = DataLoader(
        TensorDataset(train_set.x, train_set.y), batch_size=batch_size, shuffle=True
    )
    mixed = BatchTransformLoader(
        loader, AdversarialBatches(model, eps, np.random.default_rng(seed)), apply_to=None
    )
    loss_fn = nn.CrossEntropyLoss()
    sample = train_set.subset(min(len(train_set), 2000), seed=0)
    loss_before = ax.evaluate(model, (sample.x, sample.y), loss=loss_fn, batch_size=1000)["loss"]
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    start = time.perf_counter()
    history = ax.fit(
        model,
        mixed,
        loss=loss_fn,
        optimizer=opt,
        epochs=epochs,
        validation=DataLoader(TensorDataset(val_set.x, val_set.y), batch_size=1000),
        metrics=["accuracy"],
        scheduler=sched,
        callbacks=backup(config, "adversarial-robust"),
    )
    seconds = time.perf_counter() - start
    val_accuracy = float((attacks.predict(model, val_set.x) == val_set.y).mean())
    predictions = attacks.predict(model, test_set.x)
    test_accuracy = float((predictions == test_set.y).mean())
    print(
        f"  trained {len(history.epoch)} epochs in {seconds:.1f} s (loss and accuracy "
        f"over the mixed batches; val = the clean validation split)"
    )
    return Trained(
        history,
        float(loss_before),
        val_accuracy,
        predictions,
        test_accuracy,
        seconds,
        len(history.epoch),
    )


# ----------------------------------------------------------------------------- attacks
@dataclass
class Scores:
    """One model under every attack, on the same images.

    ``fgsm``, ``pgd`` (one entry per eps) and ``patch`` (one per size) hold success rates
    (fooled / correctly classified); the ``*_accuracy`` lists the accuracy under attack
    (still correct / attacked). ``excess`` is the largest ``|x_adv - x| - eps`` seen,
    ``low`` and ``high`` the smallest and largest adversarial pixel, ``outside`` how many
    pixels a patch changed outside its square.
    """

    correct: int = 0
    total: int = 0
    fgsm: list[float] = field(default_factory=list)
    pgd: list[float] = field(default_factory=list)
    patch: list[float] = field(default_factory=list)
    fgsm_accuracy: list[float] = field(default_factory=list)
    pgd_accuracy: list[float] = field(default_factory=list)
    excess: float = -np.inf
    low: float = np.inf
    high: float = -np.inf
    outside: int = 0

    @property
    def clean_accuracy(self) -> float:
        return self.correct / max(self.total, 1)

    def bound(self, x: np.ndarray, x_adv: np.ndarray, eps: float) -> None:
        """Record how far ``x_adv`` strays from ``x`` (L-inf, less eps) and the pixel range."""
        if len(x):
            self.excess = max(self.excess, float(np.abs(x_adv - x).max()) - eps)
            self.low, self.high = (
                min(self.low, float(x_adv.min())),
                max(self.high, float(x_adv.max())),
            )


def batched(attack, n: int) -> np.ndarray:
    """``attack(sl)`` for slices ``sl`` of ``BATCH`` images out of ``n``, concatenated:
    the adversarial images (n, ...)."""
    return np.concatenate([attack(slice(i, i + BATCH)).numpy() for i in range(0, n, BATCH)])


def attack_model(model: nn.Module, images: Images, plan: Plan, seed: int) -> Scores:
    """Attack the images ``model`` classifies correctly with FGSM and PGD at every eps and
    with a patch of every size at a random place; the scores, with the bounds checked on
    every adversarial image."""
    right = attacks.predict(model, images.x) == images.y
    x, y = images.x[right], images.y[right]  # only these can be fooled
    s = Scores(correct=len(y), total=len(images))
    rng = np.random.default_rng(seed)

    def score(x_adv: np.ndarray) -> tuple[float, float]:
        fooled = int((attacks.predict(model, x_adv) != y).sum())
        return fooled / max(len(y), 1), (s.correct - fooled) / max(s.total, 1)

    if len(y) == 0:
        raise ValueError("the model classifies none of the attacked images correctly")
    for eps in plan.epsilons:
        x_adv = batched(lambda sl, e=eps: attacks.fgsm(model, x[sl], y[sl], e), len(y))
        s.bound(x, x_adv, eps)
        rate, acc = score(x_adv)
        s.fgsm.append(rate)
        s.fgsm_accuracy.append(acc)
        alpha = 2.5 * eps / plan.pgd_steps
        x_adv = batched(
            lambda sl, e=eps, a=alpha: attacks.pgd(
                model, x[sl], y[sl], e, alpha=a, steps=plan.pgd_steps, rng=rng
            ),
            len(y),
        )
        s.bound(x, x_adv, eps)
        rate, acc = score(x_adv)
        s.pgd.append(rate)
        s.pgd_accuracy.append(acc)
    for size in plan.patch_sizes:
        corners = attacks.random_corners(len(y), x.shape, size, rng)
        x_adv = batched(
            lambda sl, k=size, c=corners: attacks.patch_attack(
                model,
                x[sl],
                y[sl],
                k,
                steps=plan.patch_steps,
                alpha=PATCH_ALPHA,
                corners=c[sl],
                rng=rng,
            ),
            len(y),
        )
        s.outside += int((x_adv != x)[~attacks.patch_mask(x.shape, size, corners)].sum())
        s.bound(x, x_adv, 1.0)
        s.patch.append(score(x_adv)[0])
    return s


# ----------------------------------------------------------------------------- figures
def save_success_figure(
    result: Result, plan: Plan, clean: Scores, robust: Scores, path: Path
) -> None:
    """Success rate and accuracy under attack against eps, FGSM and PGD, both models."""
    fig, (left, right) = plot.figure(
        ncols=2,
        size=(5.2, 4.0),
        title="Adversarial examples against LeNet-5 on MNIST "
        "(L-inf ball of radius eps, pixels in [0, 1])",
    )
    eps = np.array(plan.epsilons)
    for scores, name, color in (
        (clean, "clean-trained", "tab:red"),
        (robust, "adversarially trained", "tab:blue"),
    ):
        left.plot(eps, scores.fgsm, "o--", color=color, label=f"FGSM, {name}")
        left.plot(eps, scores.pgd, "s-", color=color, label=f"PGD-{plan.pgd_steps}, {name}")
        right.plot(
            np.r_[0.0, eps],
            [scores.clean_accuracy, *scores.fgsm_accuracy],
            "o--",
            color=color,
            label=f"FGSM, {name}",
        )
        right.plot(
            np.r_[0.0, eps],
            [scores.clean_accuracy, *scores.pgd_accuracy],
            "s-",
            color=color,
            label=f"PGD-{plan.pgd_steps}, {name}",
        )
    left.set_ylabel("success rate (fooled / correctly classified)")
    right.set_ylabel("accuracy under attack")
    for a in (left, right):
        a.set_xlabel("eps (pixel units)")
        a.set_ylim(-0.02, 1.02)
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    result.figures.append(plot.save(fig, path))


def save_patch_figure(
    result: Result, plan: Plan, clean: Scores, robust: Scores, image_side: int, path: Path
) -> None:
    """Success rate against the patch's side, both models."""
    fig, (a,) = plot.figure(
        size=(5.5, 4.0), title=f"Sticker attack on LeNet-5 ({plan.patch_steps} steps, random place)"
    )
    sizes = np.array(plan.patch_sizes)
    a.plot(sizes, clean.patch, "o-", color="tab:red", label="clean-trained")
    a.plot(sizes, robust.patch, "s-", color="tab:blue", label="adversarially trained (L-inf)")
    a.set_xticks(sizes, [f"{k}\n{k * k / image_side**2:.0%}" for k in sizes])
    a.set_xlabel("patch side in pixels (share of the image)")
    a.set_ylabel("success rate (fooled / correctly classified)")
    a.set_ylim(-0.02, 1.02)
    a.grid(alpha=0.3)
    a.legend()
    result.figures.append(plot.save(fig, path))


def save_examples(
    result: Result, model: nn.Module, images: Images, plan: Plan, seed: int, path: Path
) -> None:
    """A grid: clean images, FGSM and PGD adversarial images with their perturbations
    (red: raised, blue: lowered), and patched images; each titled with the prediction."""
    right = np.flatnonzero(attacks.predict(model, images.x) == images.y)[: plan.examples]
    x, y = images.x[right], images.y[right]
    names = short_names(images.classes)
    eps, steps = EXAMPLE_EPS, plan.pgd_steps
    rng = np.random.default_rng(seed)
    f = attacks.fgsm(model, x, y, eps).numpy()
    p = attacks.pgd(model, x, y, eps, 2.5 * eps / steps, steps, rng=rng).numpy()
    size = min(EXAMPLE_PATCH, x.shape[-1])
    s = attacks.patch_attack(
        model, x, y, size, steps=plan.patch_steps, alpha=PATCH_ALPHA, rng=rng
    ).numpy()
    rows = [
        ("clean", x, "gray"),
        (f"FGSM eps {eps:g}", f, "gray"),
        ("FGSM perturbation", f - x, "RdBu_r"),
        (f"PGD-{steps} eps {eps:g}", p, "gray"),
        ("PGD perturbation", p - x, "RdBu_r"),
        (f"{size}x{size} patch", s, "gray"),
    ]
    n = len(x)
    fig, axes = plot.figure(
        ncols=n,
        nrows=len(rows),
        size=(1.4, 1.55),
        title="LeNet-5 under attack\nabove each image: its prediction (clean row: the truth)",
    )
    for r, (label, pics, cmap) in enumerate(rows):
        row_axes = axes[r * n : (r + 1) * n]
        if cmap == "gray":
            pred = attacks.predict(model, pics)
            titles = [f"{label}: {names[k]}" if i == 0 else names[k] for i, k in enumerate(pred)]
            plot.images(row_axes, [q[0] for q in pics], titles)
            for a in row_axes:
                a.images[0].set_clim(0.0, 1.0)
        else:
            plot.images(
                row_axes, [q[0] for q in pics], [label] + [""] * (n - 1), cmap=cmap, symmetric=True
            )
    result.figures.append(plot.save(fig, path))


# ----------------------------------------------------------------------------- the run
def print_scores(plan: Plan, clean: Scores, robust: Scores) -> None:
    heading(
        f"Success rate against eps (fooled / correctly classified), and accuracy under "
        f"attack (of {clean.total} images)"
    )
    table(
        [
            "eps",
            "FGSM",
            "PGD",
            "FGSM (adv-trained)",
            "PGD (adv-trained)",
            "acc PGD",
            "acc PGD (adv-trained)",
        ],
        [
            [
                f"{e:g}",
                f"{clean.fgsm[i]:.1%}",
                f"{clean.pgd[i]:.1%}",
                f"{robust.fgsm[i]:.1%}",
                f"{robust.pgd[i]:.1%}",
                f"{clean.pgd_accuracy[i]:.1%}",
                f"{robust.pgd_accuracy[i]:.1%}",
            ]
            for i, e in enumerate(plan.epsilons)
        ],
        align="r" * 7,
    )
    print(
        f"  clean accuracy on these images: {clean.clean_accuracy:.1%} (clean-trained), "
        f"{robust.clean_accuracy:.1%} (adversarially trained)"
    )
    heading(
        f"Sticker attack: success rate against the patch's side ({plan.patch_steps} steps "
        f"of {PATCH_ALPHA:g}, random place)"
    )
    table(
        ["side", "pixels", "clean-trained", "adv-trained"],
        [
            [k, k * k, f"{clean.patch[i]:.1%}", f"{robust.patch[i]:.1%}"]
            for i, k in enumerate(plan.patch_sizes)
        ],
        align="rrrr",
    )


def whole_test_set_fgsm(
    model: nn.Module, test_set: Images, eps: float, scores: Scores
) -> tuple[float, int]:
    """FGSM at ``eps`` on every test image ``model`` classifies correctly: the fraction it
    fools and how many were attacked (the bounds are recorded in ``scores``)."""
    right = attacks.predict(model, test_set.x) == test_set.y
    x, y = test_set.x[right], test_set.y[right]
    x_adv = batched(lambda sl: attacks.fgsm(model, x[sl], y[sl], eps), len(y))
    scores.bound(x, x_adv, eps)
    fooled = float((attacks.predict(model, x_adv) != y).mean())
    heading(f"FGSM with eps {eps:g} on the whole test set")
    print(
        f"  fools {fooled:.1%} of the {len(y):,} test images the clean-trained LeNet-5 "
        f"classifies correctly"
    )
    return fooled, len(y)


def clean_model(
    config: Config,
    plan: Plan,
    splits: Splits,
    mean: float,
    std: float,
    result: Result,
) -> attacks.Normalized:
    """LeNet-5 on pixels: loaded from ``config.weights`` (a state dict of
    :func:`models.lenet5`, as ``axon run lenet`` saves) or trained here."""
    ax.manual_seed(config.seed)
    model = attacks.Normalized(models.lenet5(), mean, std).to(config.device)
    if load_weights(config, model.model, "the clean LeNet-5"):
        _, val_accuracy = score(model, splits.val)
        _, accuracy = score(model, splits.test)
        print(f"  val accuracy {val_accuracy:.2%}, test accuracy {accuracy:.2%}")
        result.metrics.update({"clean_val_accuracy": val_accuracy, "clean_test_accuracy": accuracy})
        result.check(
            f"the loaded LeNet-5's test accuracy {accuracy:.2%} >= {CLEAN_CLAIM:.0%} "
            f"(val accuracy {val_accuracy:.2%})",
            accuracy >= CLEAN_CLAIM,
        )
        return model
    epochs = config.epochs or plan.epochs
    lr = 2e-3
    print(f"  Adam lr {lr:g} with a cosine decay to 0, batch 64, {epochs} epochs")
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    run = train(
        model,
        splits,
        optimizer=opt,
        epochs=epochs,
        batch_size=64,
        scheduler=sched,
        config=config,
        tag="adversarial-clean",
    )
    print(f"  val accuracy {run.val_accuracy:.2%}, test accuracy {run.test_accuracy:.2%}")
    result.metrics.update(
        {"clean_val_accuracy": run.val_accuracy, "clean_test_accuracy": run.test_accuracy}
    )
    check_learning(result, run, config, claim=CLEAN_CLAIM, model="clean LeNet-5")
    save_weights(model.model, config.out / "adversarial_lenet_clean.safetensors")
    return model


def check_claims(
    result: Result, config: Config, plan: Plan, c: Scores, r: Scores, fooled: float, n: int
) -> None:
    """The claims of the attacks: the bounds held, FGSM at ``CLAIM_EPS`` fools most of the
    test set, PGD is the stronger attack, a larger patch fools more, and adversarial
    training raises the accuracy under PGD. ``c`` and ``r``: the clean-trained and the
    adversarially trained model's scores; ``fooled`` of ``n``: FGSM on the test set."""
    if config.quick:
        result.check(
            f"FGSM with eps {CLAIM_EPS:g} fools at least {QUICK_FOOLED:.0%} of the "
            f"correctly classified test images: {fooled:.1%} of {n:,}",
            fooled >= QUICK_FOOLED,
        )
    else:
        result.check(
            f"FGSM with eps {CLAIM_EPS:g} fools most of the correctly classified "
            f"test images: {fooled:.1%} of {n:,}",
            fooled > 0.5,
        )
    excess = max(c.excess, r.excess)
    low, high = min(c.low, r.low), max(c.high, r.high)
    result.check(
        f"every FGSM/PGD image lies within eps of its original (largest "
        f"|x_adv - x| - eps: {excess:.1e}) and every adversarial pixel in [0, 1] "
        f"(seen: [{low:g}, {high:g}])",
        excess <= 1e-6 and low >= 0 and high <= 1,
    )
    outside = c.outside + r.outside
    result.check(
        f"the patch attack changed only the pixels of its square ({outside} changed outside)",
        outside == 0,
    )
    result.check(
        f"PGD-{plan.pgd_steps} fools at least as many as FGSM at every eps (clean-trained model)",
        all(p >= f for p, f in zip(c.pgd, c.fgsm, strict=True)),
    )
    small, big = plan.patch_sizes[0], plan.patch_sizes[-1]
    result.check(
        f"a larger patch fools more: {c.patch[-1]:.1%} at {big}x{big}, "
        f"{c.patch[0]:.1%} at {small}x{small}",
        c.patch[-1] > c.patch[0],
    )
    j = plan.epsilons.index(plan.defence_eps)
    gain = 0.0 if config.quick else ROBUST_GAIN
    result.check(
        f"adversarial training raises the accuracy under PGD at eps {plan.defence_eps:g} "
        f"from {c.pgd_accuracy[j]:.1%} to {r.pgd_accuracy[j]:.1%}"
        + (f" (by at least {gain:.0%})" if gain else ""),
        r.pgd_accuracy[j] > c.pgd_accuracy[j] + gain,
    )


def attack_metrics(plan: Plan, c: Scores, r: Scores, fooled: float) -> dict[str, float]:
    """The attacks' numbers by name: ``fgsm_success@0.3``, ``pgd_accuracy@0.3``,
    ``patch_success@8`` ... for the clean-trained model, the same with ``robust_`` for the
    adversarially trained one, and ``fgsm_fooled_test_set``."""
    out = {"fgsm_fooled_test_set": fooled, "attacked_images": float(c.total)}
    for prefix, s in (("", c), ("robust_", r)):
        for i, e in enumerate(plan.epsilons):
            out[f"{prefix}fgsm_success@{e:g}"] = s.fgsm[i]
            out[f"{prefix}pgd_success@{e:g}"] = s.pgd[i]
            out[f"{prefix}fgsm_accuracy@{e:g}"] = s.fgsm_accuracy[i]
            out[f"{prefix}pgd_accuracy@{e:g}"] = s.pgd_accuracy[i]
        for i, k in enumerate(plan.patch_sizes):
            out[f"{prefix}patch_success@{k}"] = s.patch[i]
    return out


@register(
    "adversarial",
    "FGSM, PGD and a sticker patch against LeNet-5 on MNIST; adversarial training as a defence",
)
def run(config: Config) -> Result:
    result = Result("adversarial")
    plan = QUICK if config.quick else FULL
    heading("MNIST")
    splits, mean, std = load_pixels(config)
    splits = quick_splits(splits, config)
    result.splits = splits.sizes()
    test_set = splits.test
    attack_set = test_set.subset(plan.n_attack, config.seed + 2)

    heading("LeNet-5 trained on clean images")
    clean = clean_model(config, plan, splits, mean, std, result)

    heading(
        f"LeNet-5 trained adversarially (half clean, half FGSM from a random start, "
        f"eps {TRAIN_EPS:g})"
    )
    ax.manual_seed(config.seed + 1)
    robust = attacks.Normalized(models.lenet5(), mean, std).to(config.device)
    epochs = config.epochs or plan.adversarial_epochs
    run_robust = train_adversarially(
        robust,
        splits,
        epochs=epochs,
        eps=TRAIN_EPS,
        seed=config.seed,
        config=config,
    )
    print(
        f"  clean val accuracy {run_robust.val_accuracy:.2%}, clean test accuracy "
        f"{run_robust.test_accuracy:.2%}"
    )
    result.metrics.update(
        {
            "robust_val_accuracy": run_robust.val_accuracy,
            "robust_test_accuracy": run_robust.test_accuracy,
        }
    )
    check_learning(
        result,
        run_robust,
        config,
        claim=ROBUST_CLEAN_CLAIM,
        what="clean test accuracy",
        model="adversarially trained LeNet-5",
    )
    save_weights(robust.model, config.out / "adversarial_lenet_robust.safetensors")

    heading(f"Attacking {len(attack_set)} test images at their true labels")
    start = time.perf_counter()
    scores = [attack_model(m, attack_set, plan, config.seed + 3) for m in (clean, robust)]
    c, r = scores
    print(
        f"  FGSM and PGD at {len(plan.epsilons)} radii, patches of {len(plan.patch_sizes)} "
        f"sizes, on both models: {time.perf_counter() - start:.1f} s"
    )
    print_scores(plan, c, r)

    fooled, n = whole_test_set_fgsm(clean, test_set, CLAIM_EPS, c)
    check_claims(result, config, plan, c, r, fooled, n)
    result.metrics.update(attack_metrics(plan, c, r, fooled))
    save_success_figure(result, plan, c, r, config.out / "adversarial_success.png")
    save_patch_figure(
        result, plan, c, r, attack_set.x.shape[-1], config.out / "adversarial_patch.png"
    )
    save_examples(
        result, clean, attack_set, plan, config.seed + 4, config.out / "adversarial_examples.png"
    )
    return result
