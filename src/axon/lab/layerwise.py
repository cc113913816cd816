"""Greedy layer-wise pretraining (Hinton and Salakhutdinov 2006; Bengio et al. 2007)
against training from scratch, for a deep network with few labels.

The setting: the 8x8 digits split of the ``digits`` experiment, where only
``per_class`` training images of each digit keep their label (100 in all); the rest of
the training images (1,438) are there without labels. The network has ``depth`` hidden
layers of ``width`` units, h_l = act(W_l h_{l-1} + b_l), and a Linear(width, 10) head.

Pretraining uses the unlabelled images, one layer at a time, bottom up. Layer l is the
encoder of an autoencoder with a linear decoder,

    h_l = act(W_l h_{l-1} + b_l),     h_{l-1}' = V_l h_l + c_l,

trained (Adam, mini-batches) to minimise the reconstruction error mean ||h_{l-1}' -
h_{l-1}||^2 on the codes h_{l-1} that the layers below, already trained and now fixed,
give for every training image (for l = 1, the pixels). The decoder is then dropped.
Fine-tuning trains the whole stack with the head (a fresh Linear) on the labelled
images: full-batch Adam on the cross-entropy. From scratch: the same network, the same
initialisation of every layer, the same fine-tuning, without the pretraining.

What it shows, measured over several seeds (each seed draws a new split, new labelled
images and new initial weights): with sigmoid units the pretrained network ends far
ahead of the one trained from scratch. Both fit their 100 labelled images almost
perfectly, so the gap is in how they generalise: pretraining starts fine-tuning from
features of the images rather than random ones. With tanh units (zero-centred, four
times the slope at 0) training from scratch does much better and the gap shrinks.
For perspective the run also fits a logistic regression and 1-nearest neighbour on the
same 100 labelled images: on a problem this small they do at least as well as either
deep network, which is why pretraining faded once better initialisations, activations
and more labelled data arrived. With ``--device`` the deep networks train there; the two
shallow references fit on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import axon as ax
from axon import nn, optim
from axon.models import make_activation
from axon.models.classic import KNeighborsClassifier, LogisticRegression
from axon.nn import functional as F

from .. import plot
from .registry import register
from .shared.base import Config, Result, device_of, heading, table
from .shared.digits import split_digits
from .shared.vision_common import CHANCE

PER_CLASS = 10
DEPTH = 4
WIDTH = 64
FULL_FLOOR = 0.5  # a full run: the fine-tuned network's mean held-out accuracy at least this
QUICK_FLOOR = 0.35  # a quick run: the same, from one short run


class DeepNet(nn.Module):
    """``depth`` hidden layers ``Sequential(Linear, act)`` of ``width`` units (in
    ``layers``) and a Linear(width, classes) ``head``: (N, inputs) -> (N, classes)."""

    def __init__(
        self,
        activation: str = "sigmoid",
        depth: int = DEPTH,
        width: int = WIDTH,
        inputs: int = 64,
        classes: int = 10,
    ) -> None:
        super().__init__()
        sizes = [inputs] + [width] * depth
        self.layers = nn.ModuleList(
            [
                nn.Sequential(nn.Linear(a, b), make_activation(activation))
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )
        self.head = nn.Linear(width, classes)

    def forward(self, x: ax.Tensor) -> ax.Tensor:
        for layer in self.layers:
            x = layer(x)  # (N, width)
        return self.head(x)


def labelled_subset(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` images of each class, drawn at random (seeded)."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < per_class:
            raise ValueError(
                f"class {c} has {len(members)} images, fewer than per_class = {per_class}"
            )
        picks.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(picks))


def pretrain(
    net: DeepNet, x: np.ndarray, epochs: int, lr: float = 1e-2, batch_size: int = 64, seed: int = 0
) -> list[list[float]]:
    """Greedy layer-wise autoencoder pretraining of ``net.layers`` on the rows of x (N, D),
    on the network's device (the codes between layers are kept in host memory). Returns
    each layer's mean reconstruction error (MSE) per epoch."""
    rng = np.random.default_rng(seed)
    dev = device_of(net)
    h = x.astype(np.float32)
    curves = []
    for layer in net.layers:
        linear = layer[0]
        decoder = nn.Linear(linear.out_features, linear.in_features).to(dev)  # h_l -> h_{l-1}
        opt = optim.Adam(list(layer.parameters()) + list(decoder.parameters()), lr=lr)
        curve = []
        for _ in range(epochs):
            order = rng.permutation(len(h))
            total = 0.0
            for s in range(0, len(h), batch_size):
                batch = ax.from_numpy(h[order[s : s + batch_size]]).to(dev)  # (b, D_{l-1})
                opt.zero_grad()
                loss = F.mse_loss(decoder(layer(batch)), batch)
                loss.backward()
                opt.step()
                total += float(loss.item()) * len(batch)
            curve.append(total / len(h))
        curves.append(curve)
        with ax.no_grad():
            h = layer(ax.from_numpy(h).to(dev)).cpu().numpy()  # the codes for the next layer
    return curves


@dataclass
class FineTuned:
    """One fine-tuning run: the training loss per step, the held-out accuracy every
    ``every`` steps (and after the last), and the final held-out accuracy."""

    losses: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)

    @property
    def final(self) -> float:
        return self.accuracy[-1]


def finetune(
    net: DeepNet,
    x: np.ndarray,
    y: np.ndarray,
    xt: np.ndarray,
    yt: np.ndarray,
    steps: int,
    lr: float = 1e-3,
    every: int = 10,
) -> FineTuned:
    """Full-batch Adam on the cross-entropy of (x, y) for ``steps`` steps, scoring the
    held-out (xt, yt) every ``every`` steps, on the network's device."""
    opt = optim.Adam(net.parameters(), lr=lr)
    dev = device_of(net)
    inputs = ax.from_numpy(x.astype(np.float32)).to(dev)
    target = ax.from_numpy(y.astype(np.int64)).to(dev)
    held_out = ax.from_numpy(xt.astype(np.float32)).to(dev)
    run = FineTuned()
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = F.cross_entropy(net(inputs), target)
        loss.backward()
        opt.step()
        run.losses.append(float(loss.item()))
        if step % every == 0 or step == steps:
            with ax.no_grad():
                pred = net(held_out).cpu().numpy().argmax(axis=1)
            run.steps.append(step)
            run.accuracy.append(float((pred == yt).mean()))
    return run


@dataclass
class Trial:
    """One seed of one activation: pretraining curves and the two fine-tuning runs."""

    seed: int
    pretraining: list[list[float]]
    scratch: FineTuned
    pretrained: FineTuned


def trial(
    activation: str, seed: int, per_class: int, epochs: int, steps: int, device: str = "cpu"
) -> Trial:
    """Split, pick the labelled images, and train the network both ways from one init,
    on ``device``."""
    train_set, test_set = split_digits(seed)
    x, xt = train_set.flat(), test_set.flat()  # (n, 64), (m, 64)
    idx = labelled_subset(train_set.y, per_class, seed)
    ax.manual_seed(seed)
    scratch = DeepNet(activation).to(device)
    pretrained = DeepNet(activation).to(device)
    pretrained.load_state_dict(scratch.state_dict())  # the same starting weights
    curves = pretrain(pretrained, x, epochs, seed=seed)
    runs = [
        finetune(net, x[idx], train_set.y[idx], xt, test_set.y, steps)
        for net in (scratch, pretrained)
    ]
    return Trial(seed, curves, runs[0], runs[1])


def references(seed: int, per_class: int) -> tuple[float, float]:
    """Held-out accuracy of logistic regression and 1-NN on the same labelled images."""
    train_set, test_set = split_digits(seed)
    idx = labelled_subset(train_set.y, per_class, seed)
    x, y = train_set.flat()[idx], train_set.y[idx]
    logreg = LogisticRegression(C=1.0, max_iter=300).fit(x, y).score(test_set.flat(), test_set.y)
    knn = KNeighborsClassifier(1).fit(x, y).score(test_set.flat(), test_set.y)
    return logreg, knn


@register(
    "layerwise-pretraining",
    "Greedy layer-wise autoencoder pretraining then "
    "fine-tuning vs training from scratch: a deep sigmoid (and tanh) net, 100 labels",
)
def run(config: Config) -> Result:
    result = Result("layerwise-pretraining")
    quick = config.quick
    seeds = [config.seed] if quick else [config.seed + i for i in range(5)]
    activations = ["sigmoid"] if quick else ["sigmoid", "tanh"]
    epochs = config.epochs or (3 if quick else 30)
    steps = 150 if quick else 600
    heading("Greedy layer-wise pretraining against training from scratch")
    print(
        f"  8x8 digits: {PER_CLASS} labelled training images per digit ({10 * PER_CLASS} "
        f"in all); all 1,438 training images unlabelled for pretraining"
    )
    print(
        f"  network: 64 -> {DEPTH} x [Linear({WIDTH}) -> act] -> Linear(10); pretraining "
        f"{epochs} epochs per layer (Adam lr 1e-2, batch 64, MSE, linear decoder); "
        f"fine-tuning {steps} full-batch Adam steps (lr 1e-3); seeds {seeds}"
    )
    trials: dict[str, list[Trial]] = {}
    for act in activations:
        heading(f"{act} units")
        trials[act] = _trials_of(act, seeds, epochs, steps, result, config.device)
    heading(f"For perspective: shallow models on the same {10 * PER_CLASS} labelled images")
    _show_references(seeds, activations, result)
    _check(trials, quick, seeds, result)
    save_figures(result, trials, config)
    return result


def _trials_of(
    act: str, seeds: list[int], epochs: int, steps: int, result: Result, device: str = "cpu"
) -> list[Trial]:
    """One activation's trials, one per seed (trained on ``device``): the table of
    pretraining and fine-tuning, and the mean held-out accuracies both ways (kept as
    metrics)."""
    rows = []
    trials = []
    for seed in seeds:
        t = trial(act, seed, PER_CLASS, epochs, steps, device)
        trials.append(t)
        rows.append(
            [
                seed,
                " ".join(f"{c[0]:.3f}->{c[-1]:.3f}" for c in t.pretraining),
                f"{t.scratch.losses[-1]:.3f}",
                f"{t.scratch.final:.2%}",
                f"{t.pretrained.losses[-1]:.3f}",
                f"{t.pretrained.final:.2%}",
            ]
        )
    table(
        [
            "seed",
            "pretraining MSE per layer (first -> last epoch)",
            "scratch: train loss",
            "held-out",
            "pretrained: train loss",
            "held-out",
        ],
        rows,
        align="rlrrrr",
    )
    scratch = np.array([t.scratch.final for t in trials])
    pre = np.array([t.pretrained.final for t in trials])
    wins = int((pre > scratch).sum())
    print(
        f"  held-out accuracy, mean over {len(seeds)} seed(s): from scratch "
        f"{scratch.mean():.2%}, pretrained {pre.mean():.2%} "
        f"(difference {100 * (pre.mean() - scratch.mean()):+.1f} points; pretraining "
        f"ahead in {wins} of {len(seeds)})"
    )
    result.metrics.update(
        {
            f"{act}_scratch_accuracy": float(scratch.mean()),
            f"{act}_pretrained_accuracy": float(pre.mean()),
            f"{act}_pretraining_wins": wins,
        }
    )
    return trials


def _show_references(seeds: list[int], activations: list[str], result: Result) -> None:
    """Logistic regression and 1-NN on the same labelled images, beside the deep nets'
    accuracies (the references kept as metrics)."""
    refs = np.array([references(seed, PER_CLASS) for seed in seeds])  # (seeds, 2)
    table(
        ["model", "held-out accuracy (mean over seeds)"],
        [
            ["logistic regression", f"{refs[:, 0].mean():.2%}"],
            ["1-nearest neighbour", f"{refs[:, 1].mean():.2%}"],
        ]
        + [
            [f"deep {act} net, {kind}", f"{result.metrics[f'{act}_{kind}_accuracy']:.2%}"]
            for act in activations
            for kind in ("scratch", "pretrained")
        ],
        align="lr",
    )
    result.metrics.update(
        {"logreg_accuracy": float(refs[:, 0].mean()), "knn_accuracy": float(refs[:, 1].mean())}
    )


def _check(trials: dict[str, list[Trial]], quick: bool, seeds: list[int], result: Result) -> None:
    """The claims: every layer's reconstruction error fell, the pretrained sigmoid net
    beats chance, and (full run) pretraining beats training from scratch on average."""
    all_trials = [t for ts in trials.values() for t in ts]
    fell = all(c[-1] < c[0] for t in all_trials for c in t.pretraining)
    result.check(
        f"every layer's reconstruction error fell during pretraining "
        f"({len(all_trials)} run(s) x {DEPTH} layers)",
        fell,
    )
    floor = QUICK_FLOOR if quick else FULL_FLOOR
    sig = result.metrics["sigmoid_pretrained_accuracy"]
    result.check(
        f"the pretrained, fine-tuned sigmoid net beats chance ({CHANCE:.0%}): "
        f"held-out {sig:.2%} >= {floor:.0%}",
        sig >= floor,
    )
    if not quick:
        s0 = result.metrics["sigmoid_scratch_accuracy"]
        result.check(
            f"with sigmoid units, pretraining beats training from scratch on "
            f"average over {len(seeds)} seeds ({sig:.2%} against {s0:.2%})",
            sig > s0,
        )


@plot.style()
def save_figures(result: Result, trials: dict[str, list[Trial]], config: Config) -> None:
    """Pretraining curves; fine-tuning curves, both ways."""
    fig, axes = plot.figure(
        ncols=len(trials),
        size=(4.6, 3.6),
        title="Pretraining: each layer's reconstruction error (first seed)",
    )
    for panel, (act, ts) in zip(axes, trials.items(), strict=True):
        plot.curves(
            panel,
            {f"layer {i + 1}": c for i, c in enumerate(ts[0].pretraining)},
            ylabel="MSE",
            log=True,
        )
        panel.set_title(f"{act} units", fontsize=plot.SMALL)
    result.figures.append(plot.save(fig, config.out / "layerwise_pretraining.png"))

    fig, axes = plot.figure(
        ncols=2,
        nrows=len(trials),
        size=(4.6, 3.4),
        title="Fine-tuning on 100 labelled images: from scratch (grey) "
        "and pretrained (blue), one line per seed",
    )
    for r, (act, ts) in enumerate(trials.items()):
        acc, loss = axes[2 * r], axes[2 * r + 1]
        for t in ts:
            acc.plot(t.scratch.steps, t.scratch.accuracy, color="tab:grey", alpha=0.8)
            acc.plot(t.pretrained.steps, t.pretrained.accuracy, color="tab:blue", alpha=0.8)
            loss.plot(
                np.arange(1, len(t.scratch.losses) + 1),
                t.scratch.losses,
                color="tab:grey",
                alpha=0.8,
            )
            loss.plot(
                np.arange(1, len(t.pretrained.losses) + 1),
                t.pretrained.losses,
                color="tab:blue",
                alpha=0.8,
            )
        acc.axhline(CHANCE, color="k", linestyle=":", linewidth=1)
        acc.set(xlabel="step", ylabel="held-out accuracy", title=f"{act}: held-out accuracy")
        loss.set(
            xlabel="step",
            ylabel="training cross-entropy",
            yscale="log",
            title=f"{act}: training loss",
        )
        for a in (acc, loss):
            a.grid(alpha=0.3)
    result.figures.append(plot.save(fig, config.out / "layerwise_finetuning.png"))
