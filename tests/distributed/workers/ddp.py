"""DistributedDataParallel on every rank against one process training on the union of the
ranks' batches (computed by each rank itself): after 10 steps the parameters agree.
Argument: float64 or float32. Prints ``rank R ok``."""

import sys

import numpy as np

import axon as ax
import axon.distributed as dist
from axon import nn, optim

DTYPE = {"float64": ax.float64, "float32": ax.float32}[sys.argv[1]]
TOL = {"float64": 1e-12, "float32": 1e-5}[sys.argv[1]]
dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
LOCAL, STEPS = 4, 10


def mlp(seed, sync=False):
    ax.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(DTYPE)


def cnn(seed, sync=False):
    """A convolution, batch norm (synchronised across ranks when ``sync``), ReLU, Linear."""
    ax.manual_seed(seed)
    model = nn.Sequential(
        # no bias before batch norm: its gradient is rounding noise, which Adam would amplify
        nn.Conv2d(2, 4, 3, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64, 3),
    ).to(DTYPE)
    return nn.SyncBatchNorm.convert_sync_batchnorm(model) if sync else model


class LastStep(nn.Module):
    """An LSTM over (N, T, 3), a Linear on its last step's output."""

    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(3, 6, batch_first=True), nn.Linear(6, 3)

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


def lstm(seed, sync=False):
    ax.manual_seed(seed)
    return LastStep().to(DTYPE)


SHAPES = {mlp: (5,), cnn: (2, 6, 6), lstm: (4, 3)}


def batch(step, r, make=mlp):
    """Rank r's examples at ``step`` (every rank can make every rank's)."""
    rng = np.random.default_rng(1000 * step + r)
    x = rng.standard_normal((LOCAL, *SHAPES[make]))
    return ax.tensor(x, dtype=DTYPE), ax.tensor(rng.integers(0, 3, LOCAL))


def close(a, b, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)), what
    err = np.max(np.abs(a - b) / (1 + np.abs(b)))
    assert err <= TOL, f"{what}: relative difference {err:.3g} > {TOL}"


for make, make_opt in (
    (mlp, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)),
    (mlp, lambda ps: optim.Adam(ps, lr=0.01)),
    (cnn, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)),
    (cnn, lambda ps: optim.Adam(ps, lr=0.01)),
    (lstm, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)),
    (lstm, lambda ps: optim.Adam(ps, lr=0.01)),
):
    ddp = nn.parallel.DistributedDataParallel(make(seed=rank, sync=True))  # seeded apart...
    ref = make(seed=0)  # ...but rank 0's weights are broadcast; plain BatchNorm on the union
    for (name, p), q in zip(ddp.module.named_parameters(), ref.parameters(), strict=True):
        close(p.detach().numpy(), q.detach().numpy(), f"broadcast {name}")
    opt, ref_opt = make_opt(ddp.parameters()), make_opt(ref.parameters())
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        x, y = batch(step, rank, make)
        opt.zero_grad()
        loss_fn(ddp(x), y).backward()
        opt.step()
        xs, ys = zip(*(batch(step, r, make) for r in range(size)), strict=True)
        ref_opt.zero_grad()
        loss_fn(ref(ax.cat(xs)), ax.cat(ys)).backward()
        ref_opt.step()
    what = f"{make.__name__} {type(opt).__name__}"
    for (name, p), q in zip(
        ddp.module.state_dict().items(), ref.state_dict().values(), strict=True
    ):
        close(p.numpy(), q.numpy(), f"{what} {name}")  # parameters and running statistics
    assert list(ddp.state_dict()) == [f"module.{k}" for k in ref.state_dict()]

# no_sync: two micro-batches, the first not reduced, equal one step on both
ddp, ref = nn.parallel.DistributedDataParallel(mlp(seed=rank)), mlp(seed=0)
loss_fn = nn.CrossEntropyLoss()
with ddp.no_sync():
    loss_fn(ddp(batch(0, rank)[0]), batch(0, rank)[1]).backward()
loss_fn(ddp(batch(1, rank)[0]), batch(1, rank)[1]).backward()
for k in (0, 1):
    xs, ys = zip(*(batch(k, r) for r in range(size)), strict=True)
    loss_fn(ref(ax.cat(xs)), ax.cat(ys)).backward()
for (name, p), q in zip(ddp.module.named_parameters(), ref.parameters(), strict=True):
    close(p.grad.numpy(), q.grad.numpy(), f"no_sync gradient of {name}")

dist.destroy_process_group()
print(f"rank {rank} ok", flush=True)
