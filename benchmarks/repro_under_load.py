"""Reproducibility under load: the same seeded LeNet-5, trained N times, must end with
the same weights bit for bit, whatever the thread count and whatever else runs.

Each run seeds axon, builds ``axon.models.LeNet5``, and trains it for ``--steps`` SGD
steps (momentum 0.9) on the same random batches of 64 1x28x28 images, at 1 and 2
threads in turn, while ``--busy`` processes spin beside it (``while True: pass``) and,
with ``--rival``, a Python thread in the same process splits convolutions and products
all the while (so the trainer's own splits are refused at moments that change from run
to run). It prints a SHA-256 of each run's final weights and how many distinct ones it
got: 1 is the goal (issue 14 measured 10 from 12 runs before the fix).

    python benchmarks/repro_under_load.py [--runs 12] [--steps 20] [--busy 2] [--rival]

Compare with another checkout: ``PYTHONPATH=/path/to/old/src python ...``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

BATCH = 64


def train(steps: int) -> str:
    """SHA-256 of the seeded LeNet-5's weights after ``steps`` steps."""
    import axon as ax
    from axon import models, nn

    ax.manual_seed(0)
    net = models.LeNet5()
    opt = ax.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = ax.tensor(rng.standard_normal((BATCH, 1, 28, 28), dtype=np.float32))
        y = ax.tensor(rng.integers(0, 10, BATCH))
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    digest = hashlib.sha256()
    for name, p in net.state_dict().items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(p.numpy()).tobytes())
    return digest.hexdigest()


class Rival(threading.Thread):
    """Splits a convolution's forward, a product in halves and a deferred product, over
    and over, recording no graph (axon's grad mode is one switch for the process)."""

    def __init__(self) -> None:
        super().__init__(name="rival", daemon=True)
        self.stop = threading.Event()
        self.rounds = 0

    def run(self) -> None:
        import axon as ax
        from axon import nn
        from axon.backend.numpy import threads

        rng = np.random.default_rng(1)
        x = ax.tensor(rng.standard_normal((BATCH, 6, 14, 14), dtype=np.float32))
        w = ax.tensor(rng.standard_normal((16, 6, 5, 5), dtype=np.float32))
        a = rng.standard_normal((64, 4096), dtype=np.float32)  # 33.5M multiply-adds:
        b = rng.standard_normal((4096, 128), dtype=np.float32)  # split by threads.matmul
        while not self.stop.is_set():
            nn.functional.conv2d(x, w)
            threads.matmul(a, b)
            threads.defer(lambda: a @ b).result()
            self.rounds += 1


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--busy", type=int, default=2, help="spinning processes beside it")
    parser.add_argument(
        "--rival", action="store_true", help="also a Python thread that splits all the while"
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import axon as ax

    before = ax.get_num_threads()
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    rival = Rival() if args.rival else None
    runs = []
    try:
        if rival is not None:
            rival.start()
        for run in range(args.runs):
            threads_ = 1 + run % 2
            ax.set_num_threads(threads_)
            t0 = time.perf_counter()
            digest = train(args.steps)
            runs.append(
                {
                    "threads": threads_,
                    "sha256": digest,
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
            print(
                f"run {run + 1:2d}  {threads_} thread{'s' if threads_ > 1 else ' '}  "
                f"{digest[:16]}  {runs[-1]['seconds']:6.2f} s",
                flush=True,
            )
    finally:
        if rival is not None:
            rival.stop.set()
            rival.join(timeout=60)
        for p in busy:
            p.kill()
            p.wait(timeout=60)
        ax.set_num_threads(before)
    distinct = len({r["sha256"] for r in runs})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{distinct} distinct final weights from {args.runs} runs "
        f"({args.busy} busy processes{', a rival thread' if rival else ''}, "
        f"load {load:.1f}): {'reproducible' if distinct == 1 else 'NOT reproducible'}"
    )
    result = {
        "runs": runs,
        "distinct": distinct,
        "busy": args.busy,
        "rival": bool(args.rival),
        "rival_rounds": rival.rounds if rival else 0,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
