"""GPU benchmark: axon on CUDA (its CuPy backend) against PyTorch on CUDA and axon on the CPU.

Training steps (forward, backward, optimizer step) of six workloads, the shapes of the CPU
benchmarks whose models it imports (bench_vision, bench_rnn, bench_transformer):

  mlp          MLP 784-256-256-10, batch 128, Adam (bench_engine's)
  lenet        LeNet-5, batch 256 of 1x28x28, Adam
  cnn          conv32-conv64-maxpool-fc128-fc10, batch 256 of 1x28x28, Adam
  lstm         LSTM language model: vocab 65, embedding 64, hidden 256, L 64, N 32, Adam
  transformer  Transformer LM: d 128, 4 heads, 2 layers, ff 512, causal, L 64, N 32, Adam
  resnet18     ResNet-18, batch 64 of 3x224x224, 1000 classes, SGD (momentum 0.9)

Each framework gets the same initial weights (torch's, copied into axon through
``load_state_dict``) and the same synthetic batch, placed on the device once; the first
losses are compared (relative difference over 1e-3 marks the workload failed). After
warm-up steps (the first one includes CuPy's kernel compilation: its time is reported
apart), each timed step sits between two synchronizations; the table gives the median in
milliseconds. The CPU column runs fewer steps (ResNet-18's one warm-up and one timed
step: a step takes seconds; ``--skip-cpu-resnet`` leaves it out). Both frameworks compute
in float32: torch's TF32 is switched off unless ``--tf32``.

Goals (issue 18): ResNet-18 and the CNN within 3x of torch's step, the LSTM and the
Transformer within 2x; every workload at least 10x faster than axon on this machine's CPU.

Without CUDA (in axon or in torch) it prints one "skipped" line and exits 0; the exit
status is 1 when a workload failed (its traceback is printed and the others still run).

    python benchmarks/bench_gpu.py [--steps 20] [--only cnn,resnet18] [--no-cpu] [--json PATH]

``--device cpu`` (not listed in --help) runs axon on the CPU against torch on the CPU, to
check on a machine without a GPU that every workload builds and steps.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import platform
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_rnn  # noqa: E402
import bench_transformer  # noqa: E402
from bench_memory import torch_resnet18  # noqa: E402
from bench_vision import axon_cnn, axon_lenet5, torch_cnn, torch_lenet5  # noqa: E402

CPU_GOAL = 10.0  # axon-cpu / axon-cuda at least this
LOSS_RTOL = 1e-3  # first losses of the columns agree to this relative difference


# ----------------------------------------------------------------------------- models
def nn_of(fw: str):
    """The ``nn`` namespace of a framework: ``torch.nn`` or ``axon.nn``."""
    return importlib.import_module(f"{fw}.nn")


def mlp(nn):
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )


def lstm_lm(nn):
    """bench_rnn's LSTM language model as one module (same state-dict keys in both)."""
    V, E, H = bench_rnn.VOCAB, bench_rnn.EMBED, bench_rnn.HIDDEN

    class LSTMLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, E)
            self.lstm = nn.LSTM(E, H)
            self.head = nn.Linear(H, V)

        def forward(self, x):  # x: (L, N) tokens
            out, _ = self.lstm(self.embed(x))  # (L, N, H)
            return self.head(out.reshape(-1, H))  # (L*N, V)

    return LSTMLM()


def axon_resnet18():
    from axon.models.resnet import resnet18

    return resnet18()


# ----------------------------------------------------------------------------- workloads
def images(n, c, hw, classes):
    def make(rng):
        x = rng.standard_normal((n, c, hw, hw), dtype="float32")  # (N, C, H, W)
        return (x,), rng.integers(0, classes, n)

    return make


def tokens(shape, target_len, mask=False):
    """Random tokens of ``shape`` and next-token targets; with the causal (L, L) mask."""
    import numpy as np

    V, L = bench_rnn.VOCAB, bench_transformer.SEQ  # the same vocabulary (65) in both LMs
    causal = np.triu(np.full((L, L), -np.inf, np.float32), 1)  # -inf above the diagonal
    return lambda rng: (
        (rng.integers(0, V, shape), causal) if mask else (rng.integers(0, V, shape),),
        rng.integers(0, V, target_len),
    )


@dataclass
class Workload:
    name: str
    label: str
    models: dict  # framework -> a function building the network (on the CPU)
    data: object  # rng -> (inputs, target) as NumPy arrays
    sgd: bool = False  # SGD (lr 0.01, momentum 0.9) instead of Adam (lr 1e-3)
    goal: float | None = None  # axon-cuda / torch-cuda at most this
    cpu_steps: int | None = None  # caps the CPU column's timed steps


def both(make):
    return {"axon": lambda: make(nn_of("axon")), "torch": lambda: make(nn_of("torch"))}


R, T = bench_rnn, bench_transformer
WORKLOADS = [
    Workload(
        "mlp", "MLP 784-256-256-10, b128", both(mlp),
        lambda rng: ((rng.standard_normal((128, 784), dtype="float32"),), rng.integers(0, 10, 128)),
    ),
    Workload(
        "lenet", "LeNet-5, b256", {"axon": axon_lenet5, "torch": torch_lenet5},
        images(256, 1, 28, 10),
    ),
    Workload(
        "cnn", "CNN c32-c64-pool-fc128, b256", {"axon": axon_cnn, "torch": torch_cnn},
        images(256, 1, 28, 10), goal=3.0,
    ),
    Workload(
        "lstm", "LSTM LM h256, L64 N32", both(lstm_lm),
        tokens((R.SEQ, R.BATCH), R.SEQ * R.BATCH), goal=2.0,  # time first: (L, N)
    ),
    Workload(
        "transformer", "Transformer LM d128x2, L64 N32", both(T.make_lm),
        tokens((T.BATCH, T.SEQ), T.BATCH * T.SEQ, mask=True), goal=2.0,  # (N, L), mask
    ),
    Workload(
        "resnet18", "ResNet-18, b64 224x224", {"axon": axon_resnet18, "torch": torch_resnet18},
        images(64, 3, 224, 1000), sgd=True, goal=3.0, cpu_steps=1,
    ),
]  # fmt: skip


# ----------------------------------------------------------------------------- timing
@dataclass
class Column:
    name: str  # "axon-cuda", "torch-cuda", "axon-cpu"
    fw: str  # "axon" or "torch"
    device: str  # "cuda" or "cpu"
    steps: int  # timed steps
    warmup: int  # untimed steps first (the first gives the first loss)
    results: dict = field(default_factory=dict)  # workload name -> run_column's figures


def run_column(w: Workload, col: Column) -> dict:
    """Build ``w`` for one column (torch's initial weights), warm up, time; returns the
    median ms per step, the first step's seconds and the first loss."""
    import numpy as np
    import torch

    import axon as ax

    torch.manual_seed(0)
    tmodel = w.models["torch"]()
    if col.fw == "torch":
        mod, model, from_numpy = torch, tmodel.to(col.device), torch.from_numpy
    else:
        ax.manual_seed(0)
        mod, model, from_numpy = ax, w.models["axon"](), ax.from_numpy
        model.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
        model.to(col.device)
    inputs, target = w.data(np.random.default_rng(0))  # placed on the device once
    inputs, target = [from_numpy(a).to(col.device) for a in inputs], from_numpy(target)
    target = target.to(col.device)
    params = model.parameters()
    opt = mod.optim.SGD(params, lr=0.01, momentum=0.9) if w.sgd else mod.optim.Adam(params, 1e-3)
    loss_fn = nn_of(col.fw).CrossEntropyLoss()
    sync = (lambda: None) if col.device == "cpu" else mod.cuda.synchronize

    def step():
        opt.zero_grad()
        loss = loss_fn(model(*inputs), target)
        loss.backward()
        opt.step()
        return loss

    steps = min(col.steps, w.cpu_steps or col.steps) if col.device == "cpu" else col.steps
    sync()
    t0 = time.perf_counter()
    loss0 = float(step().item())
    first_s = time.perf_counter() - t0  # on a fresh GPU: mostly compiling kernels
    for _ in range(col.warmup - 1):
        step()
    times = []
    for _ in range(steps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1e3
    return {"ms": ms, "steps": steps, "first_step_s": first_s, "loss0": loss0}


def free_memory() -> None:
    """Return the last workload's device memory to the pools' owners between columns."""
    gc.collect()
    with contextlib.suppress(Exception):
        import torch

        import axon as ax

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        ax.cuda.empty_cache()


def verdict(ratio, goal, at_least=False) -> str:
    if goal is None or ratio is None:
        return "-"
    return "PASS" if (ratio >= goal if at_least else ratio <= goal) else "MISS"


def summarize(w: Workload, cols: list[Column]) -> dict:
    """The ratios, the goals and PASS/MISS ('-': no goal or no figure) of one workload."""
    ms = {c.name: c.results.get(w.name, {}).get("ms") for c in cols}
    a, t = ms[cols[0].name], ms[cols[1].name]
    cpu, cpu_goal = (ms["axon-cpu"], CPU_GOAL) if len(cols) > 2 else (None, None)
    vs_torch = a / t if a and t else None
    cpu_x = cpu / a if cpu and a else None
    losses = [c.results[w.name]["loss0"] for c in cols if w.name in c.results]
    agree = all(abs(x - losses[0]) <= LOSS_RTOL * max(1.0, abs(losses[0])) for x in losses)
    return {
        "ms": ms,
        "vs_torch": vs_torch,
        "vs_torch_goal": w.goal,
        "vs_torch_result": verdict(vs_torch, w.goal),
        "cpu_over_cuda": cpu_x,
        "cpu_goal": cpu_goal,
        "cpu_result": verdict(cpu_x, cpu_goal, at_least=True),
        "losses_agree": agree,
    }


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def print_table(work: list[Workload], cols: list[Column], report: dict) -> None:
    names = [c.name for c in cols]
    head = f"{'workload (median ms/step)':<34}" + "".join(f"{n:>11}" for n in names)
    print("\n" + head + f"{'ax/torch':>10}{'goal':>6}{'':>6}{'cpu/ax':>8}{'goal':>6}{'':>6}")
    for w in work:
        s = report["workloads"].get(w.name, {}).get("summary")
        if s is None:
            continue
        row = f"{w.label:<34}" + "".join(f"{fmt(s['ms'][n]):>11}" for n in names)
        row += f"{fmt(s['vs_torch']):>10}{fmt(s['vs_torch_goal'], '.0f'):>6}"
        row += f"{s['vs_torch_result']:>6}{fmt(s['cpu_over_cuda'], '.1f'):>8}"
        print(row + f"{fmt(s['cpu_goal'], '.0f'):>6}{s['cpu_result']:>6}")
    print("goals: ax/torch at most the goal (3 for ResNet-18 and the CNN, 2 for the LSTM and the")
    print(f"Transformer); cpu/ax at least {CPU_GOAL:.0f}. '-' in a time: not run or failed.")


# ----------------------------------------------------------------------------- main
def cuda_missing() -> str | None:
    """Why this machine cannot run the benchmark on CUDA, or None when it can."""
    why = []
    try:
        import torch

        if not torch.cuda.is_available():
            why.append("torch sees no CUDA device")
    except ImportError as e:
        why.append(f"torch does not import ({e})")
    try:
        import axon as ax

        if not ax.cuda.is_available():
            why.append("axon.cuda.is_available() is False")
    except Exception as e:  # a broken backend must still give the one-line answer
        why.append(f"axon's CUDA check raised {e!r}")
    return "; ".join(why) or None


def versions(device: str) -> dict:
    import numpy as np
    import torch

    import axon as ax

    v = {"python": platform.python_version(), "numpy": np.__version__, "axon": ax.__version__}
    v |= {"torch": torch.__version__, "cpu_count": os.cpu_count()}
    if device == "cuda":
        v |= {"gpu": torch.cuda.get_device_name(), "torch_cuda": torch.version.cuda}
        v["cudnn"] = torch.backends.cudnn.version()
        try:
            import cupy

            v["cupy"] = cupy.__version__
            v["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        except Exception as e:
            v["cupy"] = f"not importable: {e!r}"
    return v


def run_workload(w: Workload, cols: list[Column], skip: set, entry: dict) -> bool:
    """Time ``w`` in every column (not those in ``skip``); fill ``entry``; True if it failed."""
    failed = False
    for c in cols:
        if c.name in skip:
            print(f"{w.name:<12} {c.name:<11} skipped (--skip-cpu-resnet)", flush=True)
            continue
        try:
            r = c.results[w.name] = run_column(w, c)
            print(
                f"{w.name:<12} {c.name:<11} {r['ms']:9.2f} ms/step (median of {r['steps']}; "
                f"first step {r['first_step_s']:.2f} s; loss {r['loss0']:.5f})",
                flush=True,
            )
        except Exception:
            failed = True
            entry["errors"][c.name] = traceback.format_exc()
            print(f"{w.name:<12} {c.name:<11} FAILED:", flush=True)
            traceback.print_exc(file=sys.stdout)
        free_memory()
    entry["columns"] = {c.name: c.results[w.name] for c in cols if w.name in c.results}
    entry["summary"] = summarize(w, cols)
    if not entry["summary"]["losses_agree"]:
        entry["errors"]["losses"] = "the first losses of the columns differ"
        print(f"{w.name:<12} FAILED: the first losses differ (the models are not the same)")
        failed = True
    return failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20, help="timed GPU steps (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="GPU warm-up steps (default 3)")
    parser.add_argument("--cpu-steps", type=int, default=3, help="timed CPU steps (default 3)")
    parser.add_argument("--only", help="comma-separated: " + ",".join(w.name for w in WORKLOADS))
    parser.add_argument("--no-cpu", action="store_true", help="leave out the axon-cpu column")
    parser.add_argument("--skip-cpu-resnet", action="store_true", help="no CPU ResNet-18 step")
    parser.add_argument("--tf32", action="store_true", help="keep torch's TF32 defaults")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    wanted = args.only.split(",") if args.only else [w.name for w in WORKLOADS]
    if unknown := set(wanted) - {w.name for w in WORKLOADS}:
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    work = [w for w in WORKLOADS if w.name in wanted]
    report: dict = {"status": "running", "workloads": {}}

    def save() -> None:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)

    if args.device == "cuda" and (why := cuda_missing()):
        print(f"bench_gpu: skipped: no CUDA here ({why})")
        report |= {"status": "skipped", "reason": why}
        save()
        return 0
    import torch

    if not args.tf32:  # both in plain float32 (CuPy uses TF32 only with CUPY_TF32=1)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    report["versions"] = versions(args.device)
    report["settings"] = vars(args)
    print("  ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print(f"float32: {'torch keeps its TF32 defaults' if args.tf32 else 'TF32 off in torch'}")
    dev = args.device
    cols = [Column(f"{fw}-{dev}", fw, dev, args.steps, args.warmup) for fw in ("axon", "torch")]
    if dev == "cuda" and not args.no_cpu:
        cols.append(Column("axon-cpu", "axon", "cpu", args.cpu_steps, 1))
    print(
        "steps: "
        + "; ".join(f"{c.name} {c.warmup} warm-up + {c.steps} timed" for c in cols)
        + (" (ResNet-18 on the CPU: 1 timed)" if dev == "cpu" or len(cols) > 2 else "")
    )
    failed = False
    try:
        for w in work:
            entry = report["workloads"].setdefault(w.name, {"label": w.label, "errors": {}})
            skip = {"axon-cpu"} if w.name == "resnet18" and args.skip_cpu_resnet else set()
            failed |= run_workload(w, cols, skip, entry)
            save()
    except KeyboardInterrupt:  # gpu_check.sh's timeout sends SIGINT: keep what was measured
        print("\ninterrupted: the table holds the workloads finished so far", flush=True)
        report["status"] = "interrupted"
        print_table(work, cols, report)
        save()
        return 1
    report["status"] = "failed" if failed else "ok"
    print_table(work, cols, report)
    if len(cols) > 2 and args.skip_cpu_resnet and "resnet18" in wanted:
        print("ResNet-18's CPU step was not timed (--skip-cpu-resnet): its cpu/ax is '-'")
    save()
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
