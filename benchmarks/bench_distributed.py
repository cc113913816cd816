"""Data-parallel benchmark: axon on MPI against PyTorch on gloo, side by side in one run.

Measures, for axon (``mpiexec``, ``init_process_group("mpi")``) and for torch
(``init_process_group("gloo")`` over loopback, one process per rank started by this
script with ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT``), the same code
and shapes in both (the worker below runs with ``fw`` = ``axon`` or ``torch``):
  1. training examples per second of LeNet-5 (batch 64 per process, 1x28x28) and of the
     LSTM language model of ``bench_rnn`` (batch 32 per process, 64 steps), SGD with
     momentum, for 1 process x 1 thread, 2 processes x 1 thread (DistributedDataParallel)
     and 1 process x 2 threads; the scaling efficiency is (2 processes) / (2 x 1 process);
  2. the share of a 2-process step spent reducing gradients: the step with the reduction
     against the same step under ``no_sync`` (no communication);
  3. all_reduce time against message size on 2 processes (float32, in place): the
     latency and bandwidth of each framework's collectives on this machine.
Each step is timed after a barrier and the median is reported. Ratios are axon / torch
of the times: below 1.0 means axon is faster. At the end it prints the README's scaling
projection (``scaling_projection.py``) from axon's measured figures.

Goals (issue 16): 2 processes reach >= 1.8x one process's examples/s at 1 thread each,
and the gradient reduction adds at most 10% to a step. Every run of processes has a
timeout (``--timeout``); ``--quick`` takes a few steps and small messages, to check
that the script works (its figures mean nothing).

    python benchmarks/bench_distributed.py [--steps 30] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scaling_projection  # noqa: E402

SIZES = [2**k for k in range(4, 25, 2)]  # float32 elements: 64 B .. 64 MiB
QUICK_SIZES = [2**k for k in range(4, 19, 2)]  # .. 1 MiB
RUNS = {  # label: (processes, threads per process)
    "1 process x 1 thread": (1, 1),
    "2 processes x 1 thread": (2, 1),
    "1 process x 2 threads": (1, 2),
}
MODELS = {"lenet": "LeNet-5", "lstm": "LSTM LM"}


# ----------------------------------------------------------------------------- models
def lenet(fw, rank: int):
    """LeNet-5 (axon.models.LeNet5's layers) and a batch of 64 random images, seeded by
    rank so that the ranks' batches differ."""
    nn = fw.nn

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
            return self.classifier(self.features(x).flatten(1))  # (N, 400) -> (N, 10)

    rng = fw.Generator().manual_seed(rank)
    x = fw.randn(64, 1, 28, 28, generator=rng)
    y = fw.randint(0, 10, (64,), generator=rng)
    return LeNet5(), x, y, 64


def lstm_lm(fw, rank: int):
    """bench_rnn's LSTM language model (Embedding 65 -> 64, LSTM 256, Linear 256 -> 65)
    and a batch of 32 random sequences of 64 tokens, time-first."""
    nn = fw.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(65, 64)
            self.rnn = nn.LSTM(64, 256)
            self.head = nn.Linear(256, 65)

        def forward(self, x):
            out, _ = self.rnn(self.emb(x))  # (64, 32, 256)
            return self.head(out.reshape(-1, 256))

    rng = fw.Generator().manual_seed(rank)
    x = fw.randint(0, 65, (64, 32), generator=rng)
    y = fw.randint(0, 65, (64 * 32,), generator=rng)
    return LM(), x, y, 32


# ----------------------------------------------------------------------------- one rank
def worker(framework: str, steps: int, quick: bool) -> None:
    """One rank, under mpiexec (axon) or started by ``launch_torch`` (torch), or alone:
    time each workload's step, print one JSON line from rank 0."""
    ranks = int(os.environ.get("BENCH_RANKS", "1"))
    if framework == "axon":
        import axon as fw

        if ranks > 1:
            fw.distributed.init_process_group("mpi")
    else:
        import torch as fw

        fw.set_num_threads(int(os.environ["BENCH_THREADS"]))
        if ranks > 1:
            timeout = datetime.timedelta(seconds=float(os.environ["BENCH_TIMEOUT"]))
            fw.distributed.init_process_group("gloo", init_method="env://", timeout=timeout)
    dist = fw.distributed
    rank = dist.get_rank() if ranks > 1 else 0

    def timed(fn) -> float:
        """Median seconds of ``fn`` over ``steps`` calls after 3 unmeasured ones (1 when
        ``quick``)."""
        for _ in range(1 if quick else 3):
            fn()
        times = []
        for _ in range(steps):
            if ranks > 1:
                dist.barrier()
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    result = {}
    for name, make in (("lenet", lenet), ("lstm", lstm_lm)):
        fw.manual_seed(0)
        model, x, y, batch = make(fw, rank)
        params = sum(p.numel() for p in model.parameters())
        if ranks > 1:
            model = fw.nn.parallel.DistributedDataParallel(model)
        opt = fw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = fw.nn.CrossEntropyLoss()

        def step(model=model, opt=opt, loss_fn=loss_fn, x=x, y=y):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        seconds = timed(step)
        result[name] = {
            "batch": batch,
            "params": params,
            "step_s": seconds,
            "examples_per_s": ranks * batch / seconds,
        }
        if ranks > 1:

            def local_step(model=model, step=step):
                with model.no_sync():
                    step()

            result[name]["no_sync_step_s"] = timed(local_step)
    if ranks > 1:
        result["allreduce"] = allreduce_times(fw, quick)
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)
    if ranks > 1 and framework == "torch":
        dist.destroy_process_group()


def allreduce_times(fw, quick: bool) -> dict:
    """Median seconds of an in-place float32 all_reduce of each size of SIZES (QUICK_SIZES
    when ``quick``), after a barrier."""
    out = {}
    for n in QUICK_SIZES if quick else SIZES:
        t = fw.zeros(n)
        reps = 5 if quick else 50 if n < 2**20 else 10
        fw.distributed.all_reduce(t)  # the first of a size sets up buffers
        times = []
        for _ in range(reps):
            fw.distributed.barrier()
            start = time.perf_counter()
            fw.distributed.all_reduce(t)
            times.append(time.perf_counter() - start)
        out[str(n)] = sorted(times)[reps // 2]
    return out


# ----------------------------------------------------------------------------- driver
def _result(label: str, code: int | None, out: str, err: str) -> dict:
    found = re.search(r"^RESULT (.*)$", out, re.M)
    if code or not found:
        sys.exit(f"{label} failed (exit code {code}):\n{out}\n{err}")
    return json.loads(found.group(1))


def _worker_cmd(framework: str, args) -> list[str]:
    return [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        framework,
        "--steps",
        str(args.steps),
        *(["--quick"] if args.quick else []),
    ]


def _env(ranks: int, threads: int, timeout: float) -> dict:
    env = dict(os.environ, BENCH_RANKS=str(ranks), BENCH_THREADS=str(threads))
    env["BENCH_TIMEOUT"] = str(timeout)
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    env["OMPI_ALLOW_RUN_AS_ROOT"] = env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return env


def launch_axon(ranks: int, threads: int, args) -> dict:
    """axon's worker on ``ranks`` MPI processes (plain python for one); the launcher and
    its ranks are killed (their process group) when ``args.timeout`` runs out."""
    cmd = _worker_cmd("axon", args)
    if ranks > 1:
        here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
        mpiexec = here if os.path.exists(here) else shutil.which("mpiexec")
        if mpiexec is None:
            sys.exit("no mpiexec: pip install 'axon[distributed]'")
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    proc = subprocess.Popen(
        cmd,
        env=_env(ranks, threads, args.timeout),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        sys.exit(f"axon on {ranks} processes ran past {args.timeout} s:\n{out}\n{err}")
    return _result(f"axon on {ranks} processes", proc.returncode, out, err)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_torch(ranks: int, threads: int, args) -> dict:
    """torch's worker on ``ranks`` processes, one per rank, rendezvous over loopback
    (``env://``). When one rank fails the others are killed; when ``args.timeout`` runs
    out, all are."""
    env = _env(ranks, threads, args.timeout)
    env.update(
        WORLD_SIZE=str(ranks),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(_free_port()),
        GLOO_SOCKET_IFNAME="lo",
    )
    with tempfile.TemporaryDirectory() as tmp:
        procs, files = [], []
        for rank in range(ranks):
            out = open(os.path.join(tmp, f"{rank}.out"), "w+")
            err = open(os.path.join(tmp, f"{rank}.err"), "w+")
            files.append((out, err))
            procs.append(
                subprocess.Popen(
                    _worker_cmd("torch", args),
                    env=dict(env, RANK=str(rank)),
                    stdout=out,
                    stderr=err,
                    text=True,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + args.timeout
        timed_out = False
        while any(p.poll() is None for p in procs):
            timed_out = time.monotonic() > deadline
            if timed_out or any(p.poll() for p in procs):  # past the deadline, or one failed
                for p in procs:
                    if p.poll() is None:
                        os.killpg(p.pid, signal.SIGKILL)
                        p.wait()
                break
            time.sleep(0.05)
        texts = []
        for out, err in files:
            out.seek(0)
            err.seek(0)
            texts.append((out.read(), err.read()))
            out.close()
            err.close()
    label = f"torch on {ranks} processes"
    if timed_out:
        sys.exit(f"{label} ran past {args.timeout} s:\n{texts[0][0]}\n{texts[0][1]}")
    for rank, p in enumerate(procs):
        if p.returncode and p.returncode != -signal.SIGKILL:  # the first to fail
            sys.exit(f"{label}: rank {rank} failed:\n{texts[rank][0]}\n{texts[rank][1]}")
    return _result(label, procs[0].returncode, *texts[0])


def report(runs: dict) -> dict:
    """Print the tables; return the derived figures (efficiency, reduction share)."""
    print("examples per second (ratio = axon / torch of the step time; < 1: axon faster)")
    print(f"{'':26s}" + "".join(f"{MODELS[m]:>27s}" for m in MODELS))
    print(f"{'':26s}" + f"{'axon':>11s}{'torch':>9s}{'ratio':>7s}" * len(MODELS))
    for label in RUNS:
        cells = ""
        for m in MODELS:
            a, t = runs["axon"][label][m], runs["torch"][label][m]
            cells += f"{a['examples_per_s']:11.0f}{t['examples_per_s']:9.0f}"
            cells += f"{a['step_s'] / t['step_s']:7.2f}"
        print(f"{label:26s}{cells}")
    derived = {}
    for fw in ("axon", "torch"):
        one, two = runs[fw]["1 process x 1 thread"], runs[fw]["2 processes x 1 thread"]
        for m in MODELS:
            eff = two[m]["examples_per_s"] / (2 * one[m]["examples_per_s"])
            share = two[m]["step_s"] / two[m]["no_sync_step_s"] - 1
            derived[f"{fw}_{m}_efficiency"], derived[f"{fw}_{m}_reduce_share"] = eff, share
    for key, title, goal in (
        ("efficiency", "scaling efficiency, 2 x 1", "goal >= 90%"),
        ("reduce_share", "reduction's share of step", "goal <= 10%"),
    ):
        cells = "".join(
            f"{derived[f'axon_{m}_{key}']:11.0%}{derived[f'torch_{m}_{key}']:9.0%}{'':7s}"
            for m in MODELS
        )
        print(f"{title:26s}{cells}  axon's {goal}")

    head = f"{'axon':>11s}{'torch':>11s}{'ratio':>7s}{'axon GB/s':>11s}{'torch GB/s':>11s}"
    print(f"\n{'all_reduce, 2 processes, float32':32s}{head}")
    two_a = runs["axon"]["2 processes x 1 thread"]["allreduce"]
    two_t = runs["torch"]["2 processes x 1 thread"]["allreduce"]
    for n, a in two_a.items():
        t, nbytes = two_t[n], 4 * int(n)
        print(
            f"{nbytes:>26,d} bytes{a * 1e6:>8.1f} us{t * 1e6:>8.1f} us{a / t:7.2f}"
            f"{nbytes / a / 1e9:11.2f}{nbytes / t / 1e9:11.2f}"
        )
    return derived


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per workload")
    parser.add_argument(
        "--quick", action="store_true", help="3 steps, messages up to 1 MiB: checks it works"
    )
    parser.add_argument("--timeout", type=float, help="seconds for each run of processes")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--worker", choices=("axon", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 3)
    if args.timeout is None:
        args.timeout = 120.0 if args.quick else 1800.0
    if args.worker:
        worker(args.worker, args.steps, args.quick)
        return {}

    runs = {fw: {} for fw in ("axon", "torch")}
    for label, (ranks, threads) in RUNS.items():
        runs["axon"][label] = launch_axon(ranks, threads, args)
        runs["torch"][label] = launch_torch(ranks, threads, args)
    figures = {**runs, **report(runs)}

    measured = scaling_projection.from_bench(figures)
    print("\nProjected scaling over p machines (a model from axon's figures above, see")
    print("scaling_projection.py; efficiency and ring all-reduce time per step):\n")
    print(scaling_projection.markdown(measured))
    print(f"\nInputs: {scaling_projection.inputs_line(measured)}.")
    print("\n".join(["", *scaling_projection.breakdown(measured)]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return figures


if __name__ == "__main__":
    main()
