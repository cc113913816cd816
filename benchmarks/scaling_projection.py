"""Projected scaling of data-parallel training over p machines: a model, not a measurement.

Its inputs are measured (one process's step time at 1 thread, the gradient's bytes, this
machine's all_reduce overhead and bandwidth, from ``bench_distributed.py``) or assumed (a
network's latency and bandwidth). The model, per training step, weak scaling (each of the
p machines keeps its batch, so the global batch grows with p):

    T(p) = t0 + 2 (p - 1) alpha + 2 (p - 1) / p * n / B        ring all-reduce of n bytes
    E(p) = t_step / (t_step + T(p))                              scaling efficiency

  - t_step: one process's training step at 1 thread (forward, backward, optimizer);
  - n: the gradient's bytes (float32 parameters x 4), reduced as one message: both models'
    gradients fit one 25 MiB DistributedDataParallel bucket, so the reduction starts when
    backward ends and nothing of it overlaps computation;
  - alpha: the network's latency per ring step (assumed, not measured here): 30 us for
    MPI over TCP on 10 Gbit/s Ethernet, 3 us for RDMA on 100 Gbit/s;
  - B: the smaller of the link's bandwidth and this machine's measured all_reduce
    bandwidth between 2 processes over shared memory: every ring step also sums the chunk
    it receives in host memory, and a link cannot make that faster;
  - t0: the measured all_reduce of a small message between 2 processes over shared memory,
    paid once per call (Python, mpi4py and the wait as well as MPI's own latency).

Left out: stragglers (a synchronous step waits for the slowest of p machines), the
collective algorithms MPI picks for small messages (recursive doubling: log2(p) latencies
instead of 2 (p - 1)), congestion on a shared switch, and what a global batch p times
larger does to convergence.

    python benchmarks/scaling_projection.py [--json bench_distributed.json]

prints the README's table in Markdown. ``--json`` takes the inputs from a file that
``bench_distributed.py --json`` wrote; without it, the figures of the last recorded run
(``MEASURED`` below) are used.
"""

from __future__ import annotations

import argparse
import json

# The last recorded run of bench_distributed.py (1 process x 1 thread; all_reduce between
# 2 processes over shared memory): update from a quiet machine's run with --json.
MEASURED = {
    "lenet": {"batch": 64, "examples_per_s": 6651.0, "params": 61_706},
    "lstm": {"batch": 32, "examples_per_s": 342.0, "params": 350_593},
    "allreduce_overhead_s": 9e-6,  # 2 processes, <= 4 KB
    "allreduce_bytes_per_s": 3.168e9,  # 2 processes, the best rate from 1 MB up
}
LINKS = {  # name: (latency per ring step in seconds, bandwidth in bytes per second)
    "10 Gbit/s, TCP (alpha 30 us)": (30e-6, 10e9 / 8),
    "100 Gbit/s, RDMA (alpha 3 us)": (3e-6, 100e9 / 8),
}
MACHINES = (2, 4, 8, 16, 32, 64)
MODEL_NAMES = {"lenet": "LeNet-5", "lstm": "LSTM LM"}


def ring_allreduce_s(
    p: int, nbytes: float, alpha: float, bandwidth: float, overhead: float = 0.0
) -> float:
    """Seconds of a ring all-reduce of ``nbytes`` over ``p`` machines: 2 (p - 1) steps
    (reduce-scatter, then all-gather), each moving nbytes / p bytes, plus ``overhead`` once."""
    return overhead + 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes / bandwidth


def efficiency(step_s: float, reduce_s: float) -> float:
    """Weak-scaling efficiency of a step followed by its reduction, without overlap."""
    return step_s / (step_s + reduce_s)


def projection(measured: dict = MEASURED, links: dict = LINKS, machines=MACHINES) -> dict:
    """{model: {link: [(p, all-reduce seconds, efficiency), ...]}} from ``measured``."""
    table = {}
    for name in MODEL_NAMES:
        figures = measured[name]
        step_s = figures["batch"] / figures["examples_per_s"]
        nbytes = 4 * figures["params"]
        table[name] = {}
        for link, (alpha, bandwidth) in links.items():
            bandwidth = min(bandwidth, measured["allreduce_bytes_per_s"])
            rows = []
            for p in machines:
                t = ring_allreduce_s(p, nbytes, alpha, bandwidth, measured["allreduce_overhead_s"])
                rows.append((p, t, efficiency(step_s, t)))
            table[name][link] = rows
    return table


def markdown(measured: dict = MEASURED, links: dict = LINKS, machines=MACHINES) -> str:
    """The projection as a Markdown table: one row per p, one all-reduce time and
    efficiency per model and link."""
    table = projection(measured, links, machines)
    head = ["machines"]
    for name in MODEL_NAMES:
        for link in links:
            head.append(f"{MODEL_NAMES[name]}, {link.split(',')[0]}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, p in enumerate(machines):
        cells = [str(p)]
        for name in MODEL_NAMES:
            for link in links:
                _, t, e = table[name][link][i]
                cells.append(f"{e:.0%} ({t * 1e3:.2f} ms)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def inputs_line(measured: dict = MEASURED) -> str:
    """One line naming the inputs, to print under the table."""
    parts = []
    for name, label in MODEL_NAMES.items():
        f = measured[name]
        parts.append(
            f"{label}: step {f['batch'] / f['examples_per_s'] * 1e3:.1f} ms "
            f"(batch {f['batch']}, {f['examples_per_s']:,.0f} examples/s), "
            f"gradient {4 * f['params'] / 1e6:.2f} MB ({f['params']:,} float32)"
        )
    parts.append(
        f"this machine: all_reduce overhead {measured['allreduce_overhead_s'] * 1e6:.0f} us, "
        f"{measured['allreduce_bytes_per_s'] / 1e9:.1f} GB/s"
    )
    return "; ".join(parts)


def breakdown(measured: dict = MEASURED, links: dict = LINKS) -> list[str]:
    """Where each model and link breaks down: the p above which the latency term
    2 (p - 1) alpha outgrows the bandwidth term (p > n / (alpha B)), and the first
    p = 2^k (up to 4096) whose efficiency falls below 90%."""
    lines = []
    for name, label in MODEL_NAMES.items():
        figures = measured[name]
        step_s = figures["batch"] / figures["examples_per_s"]
        nbytes = 4 * figures["params"]
        for link, (alpha, bandwidth) in links.items():
            bandwidth = min(bandwidth, measured["allreduce_bytes_per_s"])
            p, e = 2, 1.0
            while p <= 4096:
                t = ring_allreduce_s(p, nbytes, alpha, bandwidth, measured["allreduce_overhead_s"])
                e = efficiency(step_s, t)
                if e < 0.9:
                    break
                p *= 2
            below = f"below 90% from p = {p} ({e:.1%})" if p <= 4096 else ">= 90% up to p = 4096"
            lines.append(
                f"{label}, {link}: latency outweighs bandwidth above p = "
                f"{nbytes / (alpha * bandwidth):.0f}; efficiency {below}"
            )
    return lines


def from_bench(figures: dict) -> dict:
    """The projection's inputs from ``bench_distributed.py``'s figures (its --json file):
    axon's 1 process x 1 thread run, and of its 2-process all_reduce times the fastest up
    to 4 KB (the overhead) and the best bandwidth from 1 to 16 MiB: this machine's best
    case, so a lower bound on the time of the reduction."""
    one = figures["axon"]["1 process x 1 thread"]
    times = {int(n): s for n, s in figures["axon"]["2 processes x 1 thread"]["allreduce"].items()}
    small = [s for n, s in times.items() if 4 * n <= 4096]
    large = [4 * n / s for n, s in times.items() if 2**20 <= 4 * n <= 2**24]
    return {
        "lenet": {k: one["lenet"][k] for k in ("batch", "examples_per_s", "params")},
        "lstm": {k: one["lstm"][k] for k in ("batch", "examples_per_s", "params")},
        "allreduce_overhead_s": min(small) if small else MEASURED["allreduce_overhead_s"],
        "allreduce_bytes_per_s": max(large) if large else MEASURED["allreduce_bytes_per_s"],
    }


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="bench_distributed.py's --json file (default: MEASURED)")
    args = parser.parse_args(argv)
    measured = MEASURED
    if args.json:
        with open(args.json) as f:
            measured = from_bench(json.load(f))
    text = markdown(measured)
    print(text)
    print(f"\nInputs: {inputs_line(measured)}.")
    print("\n".join(["", *breakdown(measured)]))
    return text


if __name__ == "__main__":
    main()
