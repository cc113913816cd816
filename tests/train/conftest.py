"""Small problems for the training tests: Gaussian blobs and a tiny MLP."""

import numpy as np
import pytest

import axon
from axon import nn


def make_blobs(n: int = 300, classes: int = 3, seed: int = 0):
    """``n`` points in 2-D around ``classes`` well separated centres; float32 x, int64 y."""
    rng = np.random.default_rng(seed)
    centres = np.array(
        [
            [2.0 * np.cos(a), 2.0 * np.sin(a)]
            for a in np.linspace(0, 2 * np.pi, classes, endpoint=False)
        ]
    )
    y = rng.integers(0, classes, n)
    x = centres[y] + 0.5 * rng.normal(size=(n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def make_mlp(classes: int = 3, seed: int = 0) -> nn.Module:
    axon.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, classes))


@pytest.fixture
def blobs():
    return make_blobs()
