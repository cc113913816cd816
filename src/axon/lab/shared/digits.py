"""The digit images several experiments train on: the 8x8 digits split at random
(:func:`split_digits`), MNIST or else the 8x8 digits (:func:`digit_images`), and their CNN.
"""

from __future__ import annotations

import numpy as np

from axon import nn
from axon.data import MNIST, load_digits

from .base import Config
from .vision_common import Images, standardise

HELD_OUT = 0.2  # the share of the 8x8 digits held out


def digits_cnn() -> nn.Sequential:
    """Conv(1, 16, 3) -> ReLU -> pool -> Conv(16, 32, 3) -> ReLU -> pool -> Linear(128, 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 4, 4)
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 32, 2, 2)
        nn.Flatten(),  # (N, 128)
        nn.Linear(32 * 2 * 2, 10),
    )


def split_digits(seed: int, held_out: float = HELD_OUT) -> tuple[Images, Images]:
    """The digits split at random (seeded) into training and held-out images,
    standardised with the training part's statistics (pixels scaled by 1/16)."""
    images, labels = load_digits()  # (1797, 8, 8) in [0, 16], (1797,)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(held_out * len(labels)))
    test_idx, train_idx = order[:n_test], order[n_test:]
    classes = [str(d) for d in range(10)]
    x, mean, std = standardise(images[train_idx], scale=16.0)
    train_set = Images(x, labels[train_idx], mean, std, classes)
    x, _, _ = standardise(images[test_idx], mean, std, scale=16.0)
    return train_set, Images(x, labels[test_idx], mean, std, classes)


def digit_images(config: Config) -> tuple[str, Images, Images]:
    """``(name, training images, held-out images)``: MNIST's training and test splits
    from the data directory when both are there (never downloaded; in quick mode not even
    looked for), standardised with the training split's mean and std; else the 8x8 digits
    that ship with axon, 80% / 20% at random (seeded)."""
    if not config.quick:
        try:
            train = MNIST(config.data_dir, train=True, download=False)
            test = MNIST(config.data_dir, train=False, download=False)
        except FileNotFoundError as e:
            print(f"  no MNIST in the data directory ({str(e).splitlines()[0]})")
        else:
            classes = list(MNIST.classes)
            (train_x, train_y), (test_x, test_y) = train.arrays(), test.arrays()
            x, mean, std = standardise(train_x)
            train_images = Images(x, train_y, mean, std, classes)
            x, _, _ = standardise(test_x, mean, std)
            print(
                f"  MNIST from {train.image_file.parent}: {len(train_images):,} training and "
                f"{len(test_y):,} test images"
            )
            return "MNIST", train_images, Images(x, test_y, mean, std, classes)
    train_images, test_images = split_digits(config.seed)
    print(
        f"  the 8x8 digits shipped with axon: {len(train_images):,} training and "
        f"{len(test_images):,} held-out images"
    )
    return "8x8 digits", train_images, test_images
