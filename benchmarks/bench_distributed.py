"""Data-parallel benchmark: how axon's training scales over MPI processes on this machine.

Measures, in one run:
  1. training examples per second of LeNet-5 (batch 64 per process, 1x28x28) and of the
     LSTM language model of ``bench_rnn`` (batch 32 per process, 64 steps), for
     1 process x 1 thread, 2 processes x 1 thread (DistributedDataParallel) and
     1 process x 2 threads; the scaling efficiency is (2 processes) / (2 x 1 process);
  2. the share of a 2-process step spent reducing gradients: the step with the reduction
     against the same step under ``no_sync`` (no communication);
  3. all_reduce time against message size on 2 processes (float32, in place): the
     latency and bandwidth of this machine's MPI.

Goals (issue 16): 2 processes reach >= 1.8x one process's examples/s at 1 thread each,
and the gradient reduction adds at most 10% to a step. PyTorch (gloo) is not timed yet.

    python benchmarks/bench_distributed.py [--steps 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

SIZES = [2**k for k in range(4, 25, 2)]  # float32 elements: 64 B .. 64 MiB


# ----------------------------------------------------------------------------- one rank
def lenet(ax, nn):
    from axon import models

    model = models.lenet5()
    rng = ax.Generator().manual_seed(ax.distributed.get_rank() if _dist_on(ax) else 0)
    x = ax.randn(64, 1, 28, 28, generator=rng)
    y = ax.randint(0, 10, (64,), generator=rng)
    return model, (x,), y, 64


def lstm_lm(ax, nn):
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn, self.head = (
                nn.Embedding(65, 64),
                nn.LSTM(64, 256),
                nn.Linear(256, 65),
            )

        def forward(self, x):
            out, _ = self.rnn(self.emb(x))
            return self.head(out.reshape(-1, 256))

    rng = ax.Generator().manual_seed(0)
    x = ax.randint(0, 65, (64, 32), generator=rng)
    y = ax.randint(0, 65, (64 * 32,), generator=rng)
    return LM(), (x,), y, 32


def _dist_on(ax) -> bool:
    return ax.distributed.is_initialized()


def worker(steps: int) -> None:
    """Run under mpiexec (or alone): time each workload's step, print one JSON line from
    rank 0."""
    import axon as ax
    from axon import nn, optim

    ranks = int(os.environ.get("AXON_BENCH_RANKS", "1"))
    if ranks > 1:
        ax.distributed.init_process_group("mpi")
    result = {}
    for name, make in (("lenet", lenet), ("lstm", lstm_lm)):
        model, inputs, target, batch = make(ax, nn)
        if ranks > 1:
            model = nn.parallel.DistributedDataParallel(model)
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def step(model=model, opt=opt, loss_fn=loss_fn, inputs=inputs, target=target):
            opt.zero_grad()
            loss_fn(model(*inputs), target).backward()
            opt.step()

        def timed(fn):
            for _ in range(3):
                fn()
            times = []
            for _ in range(steps):
                if ranks > 1:
                    ax.distributed.barrier()
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            return sorted(times)[len(times) // 2]

        seconds = timed(step)
        result[name] = {"step_s": seconds, "examples_per_s": ranks * batch / seconds}
        if ranks > 1:

            def local_step(model=model, step=step):
                with model.no_sync():
                    step()

            result[name]["no_sync_step_s"] = timed(local_step)
    if ranks > 1:
        result["allreduce"] = allreduce_times(ax)
    if not _dist_on(ax) or ax.distributed.get_rank() == 0:
        print("RESULT " + json.dumps(result), flush=True)


def allreduce_times(ax) -> dict:
    """Median seconds of an in-place float32 all_reduce of each size in SIZES."""
    out = {}
    for n in SIZES:
        t = ax.zeros(n)
        reps = 50 if n < 2**20 else 10
        times = []
        for _ in range(reps):
            ax.distributed.barrier()
            start = time.perf_counter()
            ax.distributed.all_reduce(t)
            times.append(time.perf_counter() - start)
        out[str(n)] = sorted(times)[reps // 2]
    return out


# ----------------------------------------------------------------------------- driver
def launch(ranks: int, threads: int, steps: int) -> dict:
    env = dict(os.environ, AXON_BENCH_RANKS=str(ranks))
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--worker", "--steps", str(steps)]
    if ranks > 1:
        here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
        mpiexec = here if os.path.exists(here) else shutil.which("mpiexec")
        if mpiexec is None:
            sys.exit("no mpiexec: pip install 'axon[distributed]'")
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    found = re.search(r"^RESULT (.*)$", done.stdout, re.M)
    if done.returncode or not found:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(found.group(1))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.steps)
        return {}
    runs = {
        "1 process x 1 thread": launch(1, 1, args.steps),
        "2 processes x 1 thread": launch(2, 1, args.steps),
        "1 process x 2 threads": launch(1, 2, args.steps),
    }
    one, two = runs["1 process x 1 thread"], runs["2 processes x 1 thread"]
    print(f"{'examples per second':40s} {'LeNet-5':>10s} {'LSTM LM':>10s}")
    for label, r in runs.items():
        print(
            f"{label:40s} {r['lenet']['examples_per_s']:10.0f} {r['lstm']['examples_per_s']:10.0f}"
        )
    figures = {"runs": runs}
    for name in ("lenet", "lstm"):
        eff = two[name]["examples_per_s"] / (2 * one[name]["examples_per_s"])
        share = two[name]["step_s"] / two[name]["no_sync_step_s"] - 1
        figures[f"{name}_efficiency"], figures[f"{name}_reduce_share"] = eff, share
        print(
            f"  {name}: scaling efficiency {eff:.0%} (goal >= 90%); the gradient "
            f"reduction adds {share:.1%} to a step (goal <= 10%)"
        )
    print(f"\n{'all_reduce, 2 processes, float32':40s} {'time':>10s} {'GB/s':>8s}")
    for n, seconds in two["allreduce"].items():
        nbytes = 4 * int(n)
        print(f"{nbytes:>32,d} bytes {seconds * 1e6:8.1f} us {nbytes / seconds / 1e9:8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return figures


if __name__ == "__main__":
    main()
