"""Fashion-MNIST: a small CNN with batch normalisation and dropout reaches 90%.

Fashion-MNIST has MNIST's format (60,000 + 10,000 grey 28x28 images, ten classes) but
pictures of clothes, which are harder to tell apart: shirts, T-shirts, pullovers and coats
look alike at this size. The network::

    [Conv2d 3x3 -> BatchNorm2d -> ReLU -> MaxPool2d 2] x 2      (N, 32, 7, 7)
    Flatten -> Dropout -> Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear   (N, 10)

Batch normalisation standardises each channel over the batch, y = gamma (x - mu_B) /
sqrt(var_B + eps) + beta, and keeps running averages of mu and var for evaluation; dropout
zeroes units at random during training only. So ``model.train()`` and ``model.eval()``
compute different functions, and fit/evaluate switch between them.

The network trains on 54,000 of the 60,000 training images; the other 6,000 (a seeded
10% of each class) are the validation split of the curves; the 10,000 test images are
scored once, after training.
"""

from __future__ import annotations

import axon as ax
from axon import nn, optim
from axon.data import FashionMNIST

from .registry import register
from .shared.base import Config, Result, heading, load_weights
from .shared.vision_common import (
    check_learning,
    load_idx_splits,
    print_per_class,
    report,
    save_feature_maps,
    save_figures,
    save_weights,
    train,
)

FASHION_CLAIM = 0.90


def fashion_cnn(
    channels: tuple[int, int] = (16, 32), hidden: int = 128, dropout: float = 0.3
) -> nn.Sequential:
    """The small CNN above, for 1x28x28 inputs and ten classes."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1),
        nn.BatchNorm2d(c1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, c1, 14, 14)
        nn.Conv2d(c1, c2, 3, padding=1),
        nn.BatchNorm2d(c2),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, c2, 7, 7)
        nn.Flatten(),  # (N, c2 * 49)
        nn.Dropout(dropout),
        nn.Linear(c2 * 7 * 7, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, 10),
    )


@register("fashion", "Fashion-MNIST with a small CNN (BatchNorm, Dropout): >= 90% test accuracy")
def run(config: Config) -> Result:
    result = Result("fashion")
    heading("Fashion-MNIST")
    splits = load_idx_splits(FashionMNIST, config)
    result.splits = splits.sizes()

    heading("The network")
    ax.manual_seed(config.seed)
    model = fashion_cnn().to(config.device)
    ax.summary(
        model, input_shape=(1, 1, 28, 28), print_fn=lambda s: print("  " + s.replace("\n", "\n  "))
    )
    n = model.num_parameters()

    epochs = config.epochs or (2 if config.quick else 10)
    lr = 2e-3
    heading("Training")
    print(f"  Adam lr {lr:g} with a cosine decay to 0, batch 64, {epochs} epochs")
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loaded = load_weights(config, model, "the Fashion-MNIST CNN")
    run = train(
        model,
        splits,
        optimizer=opt,
        epochs=epochs,
        batch_size=64,
        scheduler=sched,
        config=config,
        tag="fashion",
        loaded=loaded,
    )

    heading("Test set (scored once, after training), per class")
    matrix = print_per_class(splits.test, run.predictions)
    report(result, "Fashion CNN", run, n)
    check_learning(result, run, config, claim=FASHION_CLAIM)
    save_weights(model, config.out / "fashion_cnn.safetensors")
    title = "Fashion-MNIST, small CNN"
    save_figures(result, "fashion", title, run, splits.test, matrix, config.out)
    save_feature_maps(
        result, model, splits.test, "Fashion CNN", config.out / "fashion_feature_maps.png"
    )
    return result
