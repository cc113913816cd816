"""A map-style dataset with per-sample work, loaded with and without worker processes."""

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info


class Shapes(Dataset):
    """Sample i is a deterministic 8x8 picture and its label; ``noise`` adds a random
    perturbation drawn from torch's generator (per worker, seeded by the loader)."""

    def __init__(self, n, noise=0.0):
        self.n, self.noise = n, noise

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        image = torch.tensor(rng.normal(size=(1, 8, 8)).astype(np.float32))
        if self.noise:
            image = image + self.noise * torch.randn(1, 8, 8)
        info = get_worker_info()
        worker = -1 if info is None else info.id
        return image, i % 5, worker


def batches(num_workers, noise=0.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        Shapes(50, noise),
        batch_size=8,
        shuffle=True,
        drop_last=False,
        num_workers=num_workers,
        generator=generator,
    )
    return [(x.numpy().copy(), y.numpy().copy(), w.numpy().copy()) for x, y, w in loader]


def run(initial=None):
    return {
        "serial": batches(0),
        "workers": batches(2),
        "noisy": batches(2, noise=0.1, seed=3),
        "noisy_again": batches(2, noise=0.1, seed=3),
        "noisy_other": batches(2, noise=0.1, seed=4),
    }
