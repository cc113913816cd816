"""DataLoader benchmark: per-sample augmentation with 0 and 2 worker processes, axon
against PyTorch's DataLoader on the same images, side by side in one run.

The dataset holds N uint8 images (32x32x3 by default, seeded random pixels) and labels.
Every sample goes through the torchvision-style pipeline a CIFAR model trains with:
to float in [0, 1] (C, H, W), a random 32x32 crop of the image padded by 4, a random
horizontal flip, Gaussian noise (std 0.05) and per-channel normalisation. axon runs it with
``axon.data.transforms`` (``Compose([ToTensor(), RandomCrop(32, padding=4),
RandomHorizontalFlip(), GaussianNoise(0.05), Normalize(...)])``); torch runs the same
steps written with torch ops (torchvision is not installed), in a ``torch.utils.data``
Dataset, so both loaders do the same work per sample and collate batches of 128.

For each loader and worker count: one warm-up epoch (which starts the workers; they are
persistent), then ``--epochs`` timed epochs, the four loaders taking turns; the median
epoch gives samples/s. Speed-ups:
2 workers against 0 in each framework, and axon against torch at each worker count (above
1.0 means axon is faster).

    python benchmarks/bench_dataloader.py [--n 10000] [--epochs 3] [--batch 128]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)


def make_images(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded uint8 images (size, size, 3) and int64 labels 0-9."""
    rng = np.random.default_rng(0)
    return (
        rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
        rng.integers(0, 10, n).astype(np.int64),
    )


# ----------------------------------------------------------------------------- axon
def axon_loader(images, labels, workers: int, batch: int):
    from axon.data import DataLoader, Dataset
    from axon.data import transforms as T

    class Images(Dataset):
        def __init__(self):
            self.pipeline = T.Compose(
                [
                    T.ToTensor(),
                    T.RandomCrop(images.shape[1], padding=4),
                    T.RandomHorizontalFlip(),
                    T.GaussianNoise(0.05),
                    T.Normalize(MEAN, STD),
                ]
            )

        def __getitem__(self, i):
            return self.pipeline(images[i]), int(labels[i])

        def __len__(self):
            return len(images)

    return DataLoader(
        Images(),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )


# ----------------------------------------------------------------------------- torch
def torch_loader(images, labels, workers: int, batch: int):
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, Dataset

    mean = torch.tensor(MEAN)[:, None, None]
    std = torch.tensor(STD)[:, None, None]
    size = images.shape[1]

    class Images(Dataset):
        def __getitem__(self, i):
            x = torch.from_numpy(images[i]).permute(2, 0, 1).float().div(255)  # ToTensor
            x = F.pad(x, (4, 4, 4, 4))  # RandomCrop(size, padding=4)
            top, left = torch.randint(0, 9, (2,)).tolist()
            x = x[:, top : top + size, left : left + size]
            if torch.rand(()) < 0.5:  # RandomHorizontalFlip
                x = x.flip(-1)
            x = x + 0.05 * torch.randn_like(x)  # Gaussian noise
            return (x - mean) / std, int(labels[i])  # Normalize

        def __len__(self):
            return len(images)

    return DataLoader(
        Images(),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )


# ----------------------------------------------------------------------------- timing
def epoch_seconds(loaders: dict, epochs: int) -> dict:
    """The median of ``epochs`` timed epochs of each loader, after one warm-up epoch each.
    The loaders take turns, one epoch each per round, so that a change in the machine's
    load during the run falls on all of them alike."""
    for loader in loaders.values():
        for _ in loader:
            pass
    times = {key: [] for key in loaders}
    for _ in range(epochs):
        for key, loader in loaders.items():
            start = time.perf_counter()
            n = sum(len(y) for _, y in loader)
            times[key].append(time.perf_counter() - start)
            assert n == len(loader.dataset)
    return {key: statistics.median(t) for key, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="images in the dataset")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per loader")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    import torch

    import axon

    torch.set_num_threads(1)  # per-sample ops are tiny; workers use one thread each anyway
    axon.set_num_threads(1)
    axon.manual_seed(0)
    torch.manual_seed(0)
    images, labels = make_images(args.n, args.size)
    print(
        f"{args.n:,} images {args.size}x{args.size}x3, batches of {args.batch}, per-sample "
        f"crop(pad 4) + flip + noise + normalize; {os.cpu_count()} CPU(s); median of "
        f"{args.epochs} epochs after a warm-up"
    )
    loaders = {
        (name, workers): make(images, labels, workers, args.batch)
        for name, make in (("axon", axon_loader), ("torch", torch_loader))
        for workers in (0, 2)
    }
    rate = {}
    for (name, workers), seconds in epoch_seconds(loaders, args.epochs).items():
        rate[name, workers] = args.n / seconds
        print(
            f"  {name:5s} num_workers={workers}: {seconds:6.2f} s/epoch  "
            f"{rate[name, workers]:9,.0f} samples/s"
        )
    print("speed-ups:")
    for name in ("axon", "torch"):
        print(f"  {name:5s} 2 workers / 0 workers: {rate[name, 2] / rate[name, 0]:.2f}x")
    for workers in (0, 2):
        print(
            f"  axon / torch at num_workers={workers}: "
            f"{rate['axon', workers] / rate['torch', workers]:.2f}x"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{k[0]}_workers{k[1]}": v for k, v in rate.items()}, f, indent=1)


if __name__ == "__main__":
    main()
