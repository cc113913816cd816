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
"""

from __future__ import annotations

import axon as ax
from axon import nn, optim
from axon.data import FashionMNIST

from .registry import register
from .shared.base import Config, Result, heading, load_weights
from .shared.vision_common import (
    check_learning,
    load_idx_dataset,
    print_per_class,
    quick_subsets,
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
    train_set, test_set = quick_subsets(*load_idx_dataset(FashionMNIST, config), config)

    heading("The network")
    ax.manual_seed(config.seed)
    model = fashion_cnn()
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
        train_set,
        test_set,
        optimizer=opt,
        epochs=epochs,
        batch_size=64,
        scheduler=sched,
        config=config,
        tag="fashion",
        loaded=loaded,
    )

    heading("Test set, per class")
    matrix = print_per_class(test_set, run.predictions)
    report(result, "Fashion CNN", run, n)
    check_learning(result, run, config, claim=FASHION_CLAIM)
    save_weights(model, config.out / "fashion_cnn.safetensors")
    save_figures(result, "fashion", "Fashion-MNIST, small CNN", run, test_set, matrix, config.out)
    save_feature_maps(
        result, model, test_set, "Fashion CNN", config.out / "fashion_feature_maps.png"
    )
    return result
