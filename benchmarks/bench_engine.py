"""Engine benchmark: axon against PyTorch (CPU), side by side in one run.

Measures, with the same thread count for both:
  1. a training step (forward, backward, Adam) of an MLP 784-256-256-10 on batch 128;
  2. the per-op overhead of small ops: a chain of 1,000 elementwise ops on a 16-element
     tensor, forward and backward;
  3. peak memory (max RSS) of a process that runs the MLP training, per framework.

Timings alternate between the frameworks in blocks and report medians over many repeats
(small PyTorch steps are noisy). Ratios are axon / torch: below 1.0 means axon is faster.

    python benchmarks/bench_engine.py [--threads 2] [--repeats 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def set_threads(n: int) -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def mlp_axon(batch: int = 128):
    import numpy as np

    import axon as ax
    from axon import nn, optim

    ax.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = ax.from_numpy(rng.standard_normal((batch, 784), dtype=np.float32))
    y = ax.from_numpy(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def mlp_torch(batch: int = 128):
    import numpy as np
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((batch, 784), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def chain_axon(n: int = 1000):
    import axon as ax

    x = ax.randn(16, requires_grad=True)

    def run():
        y = x
        for i in range(n):
            y = y * 1.001 if i % 2 else y + 0.01
        y.sum().backward()

    return run


def chain_torch(n: int = 1000):
    import torch

    x = torch.randn(16, requires_grad=True)

    def run():
        y = x
        for i in range(n):
            y = y * 1.001 if i % 2 else y + 0.01
        y.sum().backward()

    return run


def median_pair(fa, fb, repeats: int, block: int = 20, settle: int = 3) -> tuple[float, float]:
    """Median seconds per call of fa and fb.

    The two alternate in blocks of ``block`` calls, so both see the same machine state
    over the run; the first ``settle`` calls of each block are not counted, so neither is
    timed while the other's idle BLAS/OpenMP threads are still spinning on the cores.
    """
    ta: list[float] = []
    tb: list[float] = []
    while len(ta) < repeats:
        for f, out in ((fa, ta), (fb, tb)):
            for i in range(block):
                t0 = time.perf_counter()
                f()
                if i >= settle:
                    out.append(time.perf_counter() - t0)
    ta.sort()
    tb.sort()
    return ta[len(ta) // 2], tb[len(tb) // 2]


def peak_rss_child(framework: str, steps: int) -> float:
    """Run the MLP training in a fresh process; return its peak RSS in MB."""
    # VmHWM (not ru_maxrss, which Linux carries over from the parent across exec)
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import sys; sys.path.insert(0, {here!r})\n"
        "import bench_engine as b\n"
        f"step = b.mlp_{framework}()\n"
        f"for _ in range({steps}): step()\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(hwm.split()[1]) / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)

    results = {}
    a, t = median_pair(mlp_axon(), mlp_torch(), args.repeats)
    results["mlp_step"] = (a * 1e3, t * 1e3)
    a, t = median_pair(chain_axon(), chain_torch(), max(args.repeats // 4, 20))
    results["chain_1000_ops"] = (a * 1e3, t * 1e3)
    ma = peak_rss_child("axon", 50)
    mt = peak_rss_child("torch", 50)
    results["peak_rss_mb"] = (ma, mt)

    print(f"threads: {args.threads}   (ratio = axon / torch; < 1 means axon is faster/smaller)")
    print(f"{'workload':<44}{'axon':>10}{'torch':>10}{'ratio':>8}")
    labels = {
        "mlp_step": "MLP 784-256-256-10 step, batch 128 (ms)",
        "chain_1000_ops": "1,000 small ops, forward+backward (ms)",
        "peak_rss_mb": "peak memory, MLP training process (MB)",
    }
    for key, (va, vt) in results.items():
        print(f"{labels[key]:<44}{va:>10.2f}{vt:>10.2f}{va / vt:>8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    k: {"axon": v[0], "torch": v[1], "ratio": v[0] / v[1]}
                    for k, v in results.items()
                },
                f,
                indent=2,
            )
    return results


if __name__ == "__main__":
    main()
