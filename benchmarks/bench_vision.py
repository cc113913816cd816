"""Vision benchmark: axon against PyTorch (CPU), side by side in one run.

Measures, with the same thread count for both and the same weights (copied from the
torch model into axon's through ``load_state_dict``):
  1. a LeNet-5 training step (forward, backward, Adam) on a batch of 64 1x28x28 images;
  2. a training step of the CNN conv(32, 3x3)-ReLU-conv(64, 3x3)-ReLU-maxpool 2-fc 128-
     ReLU-fc 10 on the same batch;
  3. one LeNet-5 epoch on MNIST's 60,000 training images in batches of 64 for axon: the
     DataLoader (shuffled, preloaded float32 arrays) and the training steps, timed for the
     whole epoch, or extrapolated from ``--epoch-steps`` steps (the output says which).
     It reads MNIST from the data directory (``--data-dir``, ``AXON_DATA_DIR``) and
     falls back to random images of the same shape when the files are not there (the
     time does not depend on the pixels).

Step timings alternate between the frameworks in blocks and report medians over many
repeats (bench_engine's ``median_pair``). Ratios are axon / torch: below 1.0 means axon
is faster. Goals: LeNet step <= 1.2x torch, the CNN <= 2.0x.

    python benchmarks/bench_vision.py [--threads 2] [--repeats 100] [--epoch-steps 0]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_engine import median_pair, set_threads  # noqa: E402

BATCH = 64


# ----------------------------------------------------------------------------- models
def torch_lenet5():
    """LeNet-5 in torch with axon.models.LeNet5's module names (features, classifier)."""
    import torch
    from torch import nn

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2),
                nn.ReLU(),
                nn.MaxPool2d(2, 2),
                nn.Conv2d(6, 16, 5),
                nn.ReLU(),
                nn.MaxPool2d(2, 2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))  # (N, 400)

    return LeNet5()


def axon_lenet5():
    from axon import models

    return models.lenet5()


def torch_cnn():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 12 * 12, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def axon_cnn():
    from axon import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 12 * 12, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


# ----------------------------------------------------------------------------- steps
def batch(seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, 28, 28), dtype=np.float32)  # (64, 1, 28, 28)
    y = rng.integers(0, 10, BATCH)
    return x, y


def pair(make_torch, make_axon):
    """Training-step closures for the same network in torch and axon, with the same
    initial weights and the same batch; also the first loss of each (a parity check)."""
    import torch

    import axon as ax
    from axon import nn, optim

    torch.manual_seed(0)
    tmodel = make_torch()
    amodel = make_axon()
    amodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    x, y = batch()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    ax_x, ax_y = ax.from_numpy(x), ax.from_numpy(y)
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    aopt = optim.Adam(amodel.parameters(), lr=1e-3)
    tloss, aloss = torch.nn.CrossEntropyLoss(), nn.CrossEntropyLoss()
    first = (float(aloss(amodel(ax_x), ax_y).item()), float(tloss(tmodel(tx), ty).item()))

    def torch_step():
        topt.zero_grad()
        loss = tloss(tmodel(tx), ty)
        loss.backward()
        topt.step()

    def axon_step():
        aopt.zero_grad()
        loss = aloss(amodel(ax_x), ax_y)
        loss.backward()
        aopt.step()

    return axon_step, torch_step, first


# ----------------------------------------------------------------------------- epoch
def mnist_arrays(data_dir):
    """MNIST's training images standardised as float32 (60000, 1, 28, 28) and labels;
    random images of that shape when the files are missing. Returns (x, y, source)."""
    import numpy as np

    from axon.data import MNIST

    try:
        ds = MNIST(data_dir, train=True, download=False)
    except FileNotFoundError:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((60000, 1, 28, 28), dtype=np.float32)
        return x, rng.integers(0, 10, 60000), "random images (MNIST files not found)"
    images, labels = ds.arrays()  # uint8 (60000, 28, 28) and int64 (60000,) NumPy arrays
    x = images.astype(np.float32)[:, None]  # (60000, 1, 28, 28)
    x = (x / 255 - 0.1307) / 0.3081
    return x.astype(np.float32), labels, f"MNIST from {ds.image_file.parent}"


def lenet_epoch(data_dir, steps: int) -> tuple[float, str]:
    """Seconds for one LeNet-5 epoch (60,000 images, batch 64) in axon: measured over the
    whole epoch when ``steps`` is 0, else extrapolated from the first ``steps`` steps
    (after 5 warm-up steps). Returns (seconds, how it was obtained)."""
    import axon as ax
    from axon import nn, optim
    from axon.data import DataLoader, TensorDataset

    x, y, source = mnist_arrays(data_dir)
    ax.manual_seed(0)
    model = axon_lenet5()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    n_batches = len(loader)

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    batches = iter(loader)
    for _ in range(5):  # warm-up: scratch buffers, caches
        step(*next(batches))
    if steps:
        batches = iter(loader)
        t0 = time.perf_counter()
        for _ in range(steps):
            step(*next(batches))
        per_step = (time.perf_counter() - t0) / steps
        return per_step * n_batches, (
            f"extrapolated from {steps} steps to {n_batches} batches; {source}"
        )
    t0 = time.perf_counter()
    for xb, yb in loader:
        step(xb, yb)
    return time.perf_counter() - t0, f"measured, {n_batches} batches; {source}"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument(
        "--epoch-steps",
        type=int,
        default=0,
        help="extrapolate the epoch from this many steps (0: time it all)",
    )
    parser.add_argument("--data-dir", default=None, help="data directory holding mnist/")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)

    results = {}
    notes = {}
    # blocks of about 0.3 s or more, the first tenth of each not counted: after a block
    # of the other framework, its idle BLAS/OpenMP threads spin on the two cores for a
    # while (with blocks of 10 LeNet steps both frameworks measured 15-30% slower)
    for key, make_torch, make_axon, repeats, block, settle in [
        ("lenet_step", torch_lenet5, axon_lenet5, args.repeats, 40, 10),
        ("cnn_step", torch_cnn, axon_cnn, max(args.repeats // 2, 20), 10, 3),
    ]:
        a_step, t_step, (la, lt) = pair(make_torch, make_axon)
        if abs(la - lt) > 1e-4 * max(1.0, abs(lt)):
            raise SystemExit(
                f"{key}: the first losses differ (axon {la}, torch {lt}): the "
                f"two networks are not the same"
            )
        a, t = median_pair(a_step, t_step, repeats, block=block, settle=settle)
        results[key] = (a * 1e3, t * 1e3)
    seconds, how = lenet_epoch(args.data_dir, args.epoch_steps)
    notes["lenet_epoch_s"] = how
    torch_epoch = results["lenet_step"][1] * 1e-3 * -(-60000 // BATCH)
    results["lenet_epoch_s"] = (seconds, torch_epoch)

    print(f"threads: {args.threads}   (ratio = axon / torch; < 1 means axon is faster)")
    print(f"{'workload':<52}{'axon':>10}{'torch':>10}{'ratio':>8}")
    labels = {
        "lenet_step": "LeNet-5 step, batch 64 of 1x28x28 (ms)",
        "cnn_step": "CNN c32-c64-pool-fc128 step, batch 64 (ms)",
        "lenet_epoch_s": "LeNet-5 epoch, 60,000 images, batch 64 (s)",
    }
    for key, (va, vt) in results.items():
        print(f"{labels[key]:<52}{va:>10.2f}{vt:>10.2f}{va / vt:>8.2f}")
    print(f"  epoch: axon {notes['lenet_epoch_s']} (data loading included);")
    print("  torch: its median step times 938 steps (extrapolated, no data loading)")
    goals = {"lenet_step": 1.2, "cnn_step": 2.0}
    for key, goal in goals.items():
        ratio = results[key][0] / results[key][1]
        print(
            f"  goal {labels[key].split(',')[0]}: <= {goal}x torch: "
            f"{'met' if ratio <= goal else 'NOT met'} ({ratio:.2f}x)"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {k: {"axon": v[0], "torch": v[1], "ratio": v[0] / v[1]} for k, v in results.items()}
                | {"notes": notes},
                f,
                indent=2,
            )
    return results


if __name__ == "__main__":
    main()
