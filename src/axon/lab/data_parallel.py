"""Data-parallel training: P processes take the steps one process takes on the same batches.

``axon run data-parallel --nproc P`` (P >= 2; without ``--nproc`` it starts 2) trains
LeNet-5 on MNIST twice from the same initial weights, for the same K steps of SGD with
momentum:

1. on P MPI processes with ``nn.parallel.DistributedDataParallel``: each rank reads its
   own share of every epoch (``axon.data.DistributedSampler``), B examples a step, and
   the gradients are averaged over the ranks during backward,

       g = (1/P) sum_r grad L_r(w),   L_r = the mean loss of rank r's B examples;

2. on rank 0 alone, one process, on the union of the ranks' batches (P*B examples a
   step, rank 0's first, then rank 1's, ...): with equal batches, the gradient of the
   mean loss over the P*B examples is the same g, so the two runs take the same steps.

The same steps, up to rounding: the two runs add the same numbers in another order, so
after one step their float32 weights differ by about 1e-7 of the largest weight. Training
amplifies any difference, in jumps where a ReLU or a max-pool switches between the two
runs, so after a few hundred float32 steps the difference reaches about 1e-3 and the two
become different trainings, equally good. The claims are therefore about the first
``CLAIM_STEPS`` steps: the weights agree to 1e-4 of the largest weight in float32, and
to 1e-10 in float64 (a second, short run), where rounding starts 1e-9 times smaller. The
ranks also start equal although each one draws its own initial weights:
DistributedDataParallel broadcasts rank 0's when it wraps the model.

The examples per second of both float32 runs give the speed-up of P processes over one
and the scaling efficiency (speed-up / P). Every process has the same number of BLAS
threads (the cores divided by the ranks), so this is P processes against one at the
same threads each. These are measurements: a busy machine lowers them, so they are
printed, not claimed.
"""

from __future__ import annotations

import time

import numpy as np

import axon as ax
import axon.distributed as dist
from axon import models, nn, optim
from axon.data import MNIST, DataLoader, DistributedSampler, TensorDataset

from .. import plot
from .registry import register
from .shared.base import Config, Result, heading, table
from .shared.vision_common import load_idx_dataset

LR, MOMENTUM = 0.02, 0.9
CLAIM_STEPS = 30  # the weights are claimed equal after this many steps (or K if fewer)
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}  # max |w_ddp - w_one| / max |w_one|
QUICK_EXAMPLES = 512  # training images in quick mode
SNAPSHOTS = 30  # about this many steps at which both runs keep a copy of their weights


def batches(loader: DataLoader, sampler: DistributedSampler, steps: int):
    """The loader's first ``steps`` batches, over as many epochs as they take (each
    epoch's shuffle set by ``sampler.set_epoch``, as torch asks)."""
    epoch, taken = 0, 0
    while True:
        sampler.set_epoch(epoch)
        for batch in loader:
            if taken == steps:
                return
            yield batch
            taken += 1
        epoch += 1


def rank_loader(data: TensorDataset, batch: int, ranks: int, rank: int, seed: int):
    """Rank ``rank``'s loader of ``batch`` examples and its sampler (every rank's batch is
    full, so that the mean over the ranks is the mean over the union)."""
    sampler = DistributedSampler(data, num_replicas=ranks, rank=rank, shuffle=True, seed=seed)
    return DataLoader(data, batch_size=batch, sampler=sampler, drop_last=True), sampler


def snapshot_steps(steps: int) -> list[int]:
    """The steps after which both runs copy their weights: 1, every K/30-th, and K."""
    every = max(1, steps // SNAPSHOTS)
    return sorted({1, min(CLAIM_STEPS, steps), *range(every, steps + 1, every), steps})


def flat(model: nn.Module) -> np.ndarray:
    """Every parameter of ``model`` in one float64 vector (a copy)."""
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]).astype(
        np.float64
    )


def spread_over_ranks(model: nn.Module) -> float:
    """The largest difference between any two ranks' values of any parameter."""
    high = ax.tensor(flat(model))
    low = high.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    return float((high - low).abs().max().item())


def step(model, opt, loss_fn, x, y, dtype) -> float:
    """One SGD step on the batch (x, y); returns its loss."""
    opt.zero_grad()
    loss = loss_fn(model(x.to(dtype)), y)
    loss.backward()  # under DDP the gradients are averaged over the ranks here
    opt.step()
    return loss.item()


def train_ddp(data, dtype, batch: int, steps: int, seed: int) -> dict:
    """K steps of LeNet-5 under DistributedDataParallel on every rank; each rank starts
    from its own draw (seed + rank), which the wrapper replaces by rank 0's. Returns the
    weights after each snapshot step, the ranks' mean loss at each step, the seconds of
    steps 2..K (the slowest rank's) and the ranks' largest disagreement before and
    after training."""
    rank, ranks = dist.get_rank(), dist.get_world_size()
    ax.manual_seed(seed + rank)
    model = nn.parallel.DistributedDataParallel(models.lenet5().to(dtype))
    start_spread = spread_over_ranks(model.module)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    loader, sampler = rank_loader(data, batch, ranks, rank, seed)
    keep, weights, losses = set(snapshot_steps(steps)), {}, []
    dist.barrier()
    for k, (x, y) in enumerate(batches(loader, sampler, steps), start=1):
        if k == 2:  # the first step is a warm-up (first calls, allocations): not timed
            begin = time.perf_counter()
        losses.append(step(model, opt, loss_fn, x, y, dtype))
        if k in keep:
            weights[k] = flat(model.module)
    seconds = ax.tensor([time.perf_counter() - begin], dtype=ax.float64)
    dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
    mean_losses = ax.tensor(losses, dtype=ax.float64)
    dist.all_reduce(mean_losses, op=dist.ReduceOp.AVG)
    return {
        "weights": weights,
        "losses": mean_losses.tolist(),
        "seconds": float(seconds.item()),
        "start_spread": start_spread,
        "end_spread": spread_over_ranks(model.module),
    }


def train_one_process(data, dtype, batch: int, steps: int, seed: int, ranks: int) -> dict:
    """The same K steps in this process alone: the same initial weights (rank 0's draw),
    each step on the union of the ranks' batches (P * B examples, in rank order)."""
    ax.manual_seed(seed)
    model = models.lenet5().to(dtype)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    streams = [batches(*rank_loader(data, batch, ranks, r, seed), steps) for r in range(ranks)]
    keep, weights, losses = set(snapshot_steps(steps)), {}, []
    for k, parts in enumerate(zip(*streams, strict=True), start=1):
        if k == 2:
            begin = time.perf_counter()
        x = ax.cat([x for x, _ in parts])  # P batches of (B, 1, 28, 28) -> (P*B, 1, 28, 28)
        y = ax.cat([y for _, y in parts])
        losses.append(step(model, opt, loss_fn, x, y, dtype))
        if k in keep:
            weights[k] = flat(model)
    return {"weights": weights, "losses": losses, "seconds": time.perf_counter() - begin}


def compare(data, dtype_name: str, batch: int, steps: int, seed: int) -> dict:
    """Both runs in ``dtype_name``; what rank 0 found (the relative difference of the
    weights at each snapshot step, max |w_ddp - w_one| / max |w_one|, the losses and the
    times), sent to every rank so that every rank makes the same claims."""
    dtype = getattr(ax, dtype_name)
    ranks = dist.get_world_size()
    ddp = train_ddp(data, dtype, batch, steps, seed)
    found = [None]
    if dist.get_rank() == 0:  # the other ranks wait in the broadcast meanwhile
        one = train_one_process(data, dtype, batch, steps, seed, ranks)
        at = snapshot_steps(steps)
        gaps = [np.abs(ddp["weights"][k] - one["weights"][k]) for k in at]
        scales = [np.abs(one["weights"][k]).max() for k in at]
        found[0] = {
            "steps": at,
            "max_abs": [float(g.max()) for g in gaps],
            "relative": [float(g.max() / w) for g, w in zip(gaps, scales, strict=True)],
            "finite": bool(all(np.isfinite(g).all() for g in gaps)),
            "losses_ddp": ddp["losses"],
            "losses_one": one["losses"],
            "seconds_ddp": ddp["seconds"],
            "seconds_one": one["seconds"],
        }
    dist.broadcast_object_list(found, src=0)
    return {**found[0], "start_spread": ddp["start_spread"], "end_spread": ddp["end_spread"]}


def at_step(found: dict, key: str, k: int) -> float:
    return found[key][found["steps"].index(k)]


@register(
    "data-parallel",
    "LeNet-5 on MNIST, DDP on P processes takes one process's steps on the same global "
    "batches; examples/s and scaling",
)
def run(config: Config) -> Result:
    if not dist.is_initialized() or dist.get_world_size() < 2:
        raise RuntimeError(
            "data-parallel runs on several processes: `axon run data-parallel --nproc 2` "
            "(or, under `mpiexec -n 2`, after axon.distributed.init_process_group('mpi'))"
        )
    result = Result("data-parallel")
    ranks = dist.get_world_size()
    heading("MNIST")
    train_set, _ = load_idx_dataset(MNIST, config)
    if config.quick:
        train_set = train_set.subset(QUICK_EXAMPLES, config.seed)
        print(f"  quick mode: {len(train_set):,} training images")
    images = TensorDataset(train_set.x, train_set.y)
    batch, steps = (16, 10) if config.quick else (64, 300)
    claim_at, steps64 = min(CLAIM_STEPS, steps), (4 if config.quick else CLAIM_STEPS)

    heading(f"LeNet-5 on {ranks} processes, and on one")
    print(
        f"  SGD lr {LR:g} momentum {MOMENTUM:g}, {steps} steps of {batch} examples per "
        f"process ({ranks * batch} a step in all), {ax.get_num_threads()} thread(s) per process"
    )
    print(f"  1. {ranks} processes, DistributedDataParallel, each on its DistributedSampler share")
    print(f"  2. rank 0 alone on the union of the {ranks} batches of each step ({ranks * batch})")
    f32 = compare(images, "float32", batch, steps, config.seed)
    print(f"  then both again in float64 for {steps64} steps")
    f64 = compare(images, "float64", batch, steps64, config.seed)

    heading("The weights of the two runs after the same global batches")
    print("  relative difference: max |w_ddp - w_one| / max |w_one| over all parameters")
    shown = sorted({1, 10, claim_at, 100, steps} & set(f32["steps"]))
    rows = [
        [k, f"{at_step(f32, 'max_abs', k):.2e}", f"{at_step(f32, 'relative', k):.2e}"]
        for k in shown
    ]
    table(["float32 step", "max |difference|", "relative"], rows)
    print(
        "  rounding (another order of the same sums) starts the difference at ~1e-7; "
        "training\n  amplifies it, so the claims are about the first "
        f"{claim_at} steps (float64 after {steps64}: "
        f"{f64['relative'][-1]:.1e})"
    )
    print(
        f"  the ranks drew their own initial weights, DDP broadcast rank 0's: largest\n"
        f"  difference between ranks {f32['start_spread']:.1e}; after training "
        f"{f32['end_spread']:.1e}"
    )
    checks = (("float32", f32, claim_at), ("float64", f64, steps64))
    for name, found, k in checks:
        relative = at_step(found, "relative", k)
        result.check(
            f"{name}: after {k} steps the weights on {ranks} processes equal one process's "
            f"on the union of the batches (relative difference {relative:.1e} < "
            f"{TOLERANCE[name]:g})",
            found["finite"] and relative < TOLERANCE[name],
        )
    result.check(
        f"every rank starts from rank 0's weights (DDP broadcasts them) and all "
        f"{ranks} ranks end equal (largest difference {f32['end_spread']:.1e})",
        f32["start_spread"] == 0.0 and f32["end_spread"] == 0.0,
    )

    heading("Throughput (measured, not claimed: a busy machine lowers it)")
    examples = ranks * batch * (steps - 1)  # the first step is not timed
    one = examples / f32["seconds_one"]
    many = examples / f32["seconds_ddp"]
    speedup = many / one
    table(["processes", "examples/s"], [[1, f"{one:,.0f}"], [ranks, f"{many:,.0f}"]])
    efficiency = speedup / ranks
    print(f"  speed-up {speedup:.2f}x; scaling efficiency {efficiency:.0%} (speed-up / {ranks})")
    result.metrics.update(
        {
            "processes": ranks,
            "relative_float32": at_step(f32, "relative", claim_at),
            "relative_float64": f64["relative"][-1],
            "examples_per_s_1": one,
            f"examples_per_s_{ranks}": many,
            "speedup": speedup,
            "efficiency": efficiency,
        }
    )
    if dist.get_rank() == 0:
        result.figures.append(figure(f32, f64, one, many, ranks, config))
    return result


def figure(f32: dict, f64: dict, one: float, many: float, ranks: int, config: Config):
    """The loss at each step of both runs, the relative difference of their weights
    against the step, and the examples per second."""
    fig, (losses, gaps, speed) = plot.figure(ncols=3, title="LeNet-5 on MNIST, data-parallel")
    plot.curves(
        losses,
        {
            f"{ranks} processes (mean of the ranks)": f32["losses_ddp"],
            "1 process, union of the batches": f32["losses_one"],
        },
        xlabel="step",
        ylabel="training loss (float32)",
    )
    losses.lines[-1].set_linestyle("--")  # drawn over the first: they coincide at first
    for name, found in (("float32", f32), ("float64", f64)):
        (line,) = gaps.plot(found["steps"], found["relative"], "o-", ms=3, label=name)
        claim = f"{name} claim (at step {min(CLAIM_STEPS, found['steps'][-1])})"
        gaps.axhline(TOLERANCE[name], ls=":", color=line.get_color(), label=claim)
    gaps.set_yscale("log")
    gaps.set_xlabel("step")
    gaps.set_ylabel("max |w_ddp - w_one| / max |w_one|")
    gaps.legend()
    gaps.grid(alpha=0.3)
    speed.bar(["1 process", f"{ranks} processes"], [one, many], color=["tab:gray", "tab:blue"])
    speed.set_ylabel("examples / s")
    speed.set_title(f"speed-up {many / one:.2f}x, efficiency {many / one / ranks:.0%}")
    return plot.save(fig, config.out / "data_parallel.png")
