"""``axon.fit`` and ``axon.evaluate`` under a process group, on every rank, against one
process doing the same global batches by hand (the union of the ranks' shards, read with
the DistributedSampler's indices). Argument: a directory for the files the callbacks
write. Prints ``rank R ok``; rank 0's progress lines (``verbose=2``) go to stdout too.

The data sizes do not divide by 2 or 3 ranks, so the samplers pad (torch's rule)."""

import math
import os
import sys

import numpy as np

import axon as ax
import axon.distributed as dist
from axon import nn, optim
from axon.autograd.function import POST_ACCUMULATE_HOOKS
from axon.data import DataLoader, DistributedSampler, IterableDataset, TensorDataset
from axon.data.transforms import BatchTransformLoader

ax.set_default_dtype(ax.float64)
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
OUT = sys.argv[1]
SEED, N, N_VAL, BATCH, EPOCHS, LR = 100, 37, 11, 4, 3, 0.1

data = np.random.default_rng(7)
X, Y = data.standard_normal((N, 5)), data.integers(0, 3, N)
XV, YV = data.standard_normal((N_VAL, 5)), data.integers(0, 3, N_VAL)


def mlp():
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))


def sgd(model):
    return optim.SGD(model.parameters(), lr=LR, momentum=0.9)


def flat(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def everywhere(obj):
    """Every rank's ``obj`` (JSON), in rank order."""
    out = [None] * world
    dist.all_gather_object(out, obj)
    return out


def close(a, b, what, tol=1e-12):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} and {b.shape}"
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)), f"{what}: not finite"
    err = np.max(np.abs(a - b) / (1 + np.abs(b)))
    assert err <= tol, f"{what}: relative difference {err:.3g} > {tol}"


def shards(n, epoch, shuffle):
    """Each rank's indices of the epoch, as the DistributedSampler draws them."""
    out = []
    for r in range(world):
        s = DistributedSampler(range(n), world, r, shuffle=shuffle, seed=SEED)
        s.set_epoch(epoch)
        out.append(list(s))
    return out


def sums(model, x, y, indices):
    """The summed loss, correct predictions and count over ``indices``' examples."""
    with ax.no_grad():
        out = model(ax.tensor(x[indices]))
        target = ax.tensor(y[indices])
        loss = nn.functional.cross_entropy(out, target).item() * len(indices)
        right = float((out.numpy().argmax(1) == y[indices]).sum())
    return loss, right, len(indices)


def oracle(epochs, steps_in_last=None):
    """One process: rank 0's initial weights, each step the union of the ranks' batches
    (the mean of the ranks' mean losses, as DDP averages gradients); the history as the
    all-rank example-weighted means. Returns (model, history)."""
    ax.manual_seed(SEED)
    model = mlp()
    opt = sgd(model)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for epoch in range(epochs):
        parts = shards(N, epoch, shuffle=True)
        steps = math.ceil(len(parts[0]) / BATCH)
        if steps_in_last is not None and epoch == epochs - 1:
            steps = steps_in_last
        loss = right = count = 0.0
        for k in range(steps):
            batches = [p[k * BATCH : (k + 1) * BATCH] for p in parts]
            for b in batches:
                l, c, n = sums(model, X, Y, b)
                loss, right, count = loss + l, right + c, count + n
            opt.zero_grad()
            losses = [
                nn.functional.cross_entropy(model(ax.tensor(X[b])), ax.tensor(Y[b]))
                for b in batches
            ]
            (sum(losses[1:], losses[0]) / world).backward()
            opt.step()
        history["loss"].append(loss / count)
        history["accuracy"].append(right / count)
        vl = vr = vn = 0.0
        for b in shards(N_VAL, 0, shuffle=False):
            l, c, n = sums(model, XV, YV, b)
            vl, vr, vn = vl + l, vr + c, vn + n
        history["val_loss"].append(vl / vn)
        history["val_accuracy"].append(vr / vn)
    return model, history


def no_hooks(model, what):
    for name, p in model.named_parameters():
        assert not POST_ACCUMULATE_HOOKS.get(id(p)), f"{what}: a hook is left on {name}"


def _double(t):
    return t * 2


def train(x=None, epochs=EPOCHS, **kw):
    """fit on every rank from differently seeded weights (rank 0's are broadcast)."""
    ax.manual_seed(SEED + rank)
    model = mlp()
    args = dict(loss="cross_entropy", metrics=["accuracy"], batch_size=BATCH, verbose=0)
    args.update(kw)
    history = ax.fit(model, (X, Y) if x is None else x, optimizer=sgd(model), epochs=epochs, **args)
    ax.manual_seed(SEED)  # the data order comes from rank 0's seed, whatever the rank's now
    return model, history


# (a), (b), (d), (e), (f): fit equals the oracle; the History is the same on every rank
# and is the oracle's; only rank 0 writes the CSV log, the checkpoints, the figure and
# the progress lines
csv_path = os.path.join(OUT, f"log{rank}.csv")
ckpt = os.path.join(OUT, f"ckpt{rank}-{{epoch}}.safetensors")
model, history = train(
    validation=(XV, YV),
    verbose=2,
    callbacks=[ax.callbacks.CSVLogger(csv_path), ax.callbacks.ModelCheckpoint(ckpt)],
)
ref, expected = oracle(EPOCHS)
close(flat(model), flat(ref), "parameters after fit")
assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"], history
for key, values in expected.items():
    close(history.history[key], values, f"history {key}")
assert all(h == history.history for h in everywhere(history.history)), "histories differ"
assert len(everywhere(flat(model).tolist())) == world
assert all(f == flat(model).tolist() for f in everywhere(flat(model).tolist()))
no_hooks(model, "fit")
history.plot(os.path.join(OUT, f"curves{rank}.png"))
dist.barrier()
written = sorted(os.listdir(OUT))
assert written == ["ckpt0-1.safetensors", "ckpt0-2.safetensors", "ckpt0-3.safetensors"] + [
    "curves0.png",
    "log0.csv",
], written
if rank == 0:
    with open(csv_path) as f:
        rows = f.read().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss", rows
    assert [float(v) for v in rows[-1].split(",")[1:]] == [
        history.history[k][-1] for k in ("accuracy", "loss", "val_accuracy", "val_loss")
    ]

# a DataLoader given by the user is rebuilt around a DistributedSampler: the same run
loader = DataLoader(TensorDataset(X, Y), batch_size=BATCH, shuffle=True)
same, _ = train(loader, epochs=1)
assert flat(same).tolist() == flat(train(epochs=1)[0]).tolist(), "a user DataLoader differs"

# an augmenting BatchTransformLoader around it: the shard's batches pass through the
# transform (doubling the inputs equals training on doubled arrays)
doubling = BatchTransformLoader(DataLoader(TensorDataset(X, Y), BATCH, shuffle=True), _double)
twice, _ = train(doubling, epochs=1)
assert flat(twice).tolist() == flat(train((X * 2, Y), epochs=1)[0]).tolist(), "transformed"

# evaluate: every rank's share, the all-rank means on every rank
logs = ax.evaluate(model, (XV, YV), loss="cross_entropy", metrics=["accuracy"], batch_size=3)
close(
    [logs["loss"], logs["accuracy"]],
    [expected["val_loss"][-1], expected["val_accuracy"][-1]],
    "evaluate",
)
assert all(e == logs for e in everywhere(logs))

# BackupAndRestore: rank 0 writes the backup (kept here); backups inside an epoch refused
backups = os.path.join(OUT, "backups")
train(callbacks=[ax.callbacks.BackupAndRestore(f"{backups}/{rank}", delete_checkpoint=False)])
dist.barrier()
assert os.listdir(backups) == ["0"], os.listdir(backups)
try:
    train(callbacks=[ax.callbacks.BackupAndRestore(f"{backups}/{rank}", save_freq=2)])
except NotImplementedError as err:
    assert "save_freq=2" in str(err), err
else:
    raise AssertionError("a backup inside an epoch under a process group")

# a DistributedDataParallel given by the user is trained as it is, its hooks kept
ax.manual_seed(SEED + rank)
ddp = nn.parallel.DistributedDataParallel(mlp())
ax.fit(ddp, (X, Y), loss="cross_entropy", optimizer=sgd(ddp), batch_size=BATCH, verbose=0)
assert flat(ddp).tolist() == flat(same).tolist() and ddp._handles, "a user's DDP"

# (c) EarlyStopping stops every rank at the same epoch (no epoch improves by 1e9)
stopper = ax.callbacks.EarlyStopping(monitor="loss", min_delta=1e9)
_, history = train(callbacks=[stopper])
assert history.epoch == [0, 1] and stopper.stopped_epoch == 1, history.epoch
assert all(r == history.stopped_reason for r in everywhere(history.stopped_reason))


class StopOnOneRank(ax.train.Callback):
    """Rank 1 alone asks to stop, after the second batch of the second epoch (or at the
    first epoch's end); records the updates made."""

    def __init__(self, hook):
        self.hook = hook

    def on_batch_end(self, batch, logs=None):
        if self.hook == "batch" and rank == 1 and self.trainer.epoch == 1 and batch == 1:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.hook == "epoch" and rank == 1:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.updates = self.trainer.global_step


steps = math.ceil(math.ceil(N / world) / BATCH)  # per rank and epoch, padding included
for hook, epochs, updates in (("batch", 2, steps + 2), ("epoch", 1, steps)):
    cb = StopOnOneRank(hook)
    model, history = train(validation=(XV, YV), callbacks=[cb])
    assert cb.updates == updates and history.epoch == list(range(epochs)), (hook, cb.updates)
    assert all(u == updates for u in everywhere(cb.updates))
    ref, expected = oracle(epochs, steps_in_last=2 if hook == "batch" else None)
    close(flat(model), flat(ref), f"parameters after a stop at the {hook}'s end on rank 1")
    for key, values in expected.items():
        close(history.history[key], values, f"history {key} after a stop at the {hook}'s end")
    assert all(h == history.history for h in everywhere(history.history))

# the NaN guard decides alike: a NaN in one example (rank 1's first batch in order) stops
# every rank at the same step, each model restored to the same finite weights
bad = X.copy()
bad[1] = np.nan
model, history = train((bad, Y), shuffle=False, epochs=1)
assert history.stopped_reason is not None and history.epoch == [], history.stopped_reason
assert "epoch 1, step 1" in history.stopped_reason, history.stopped_reason
assert all(r == history.stopped_reason for r in everywhere(history.stopped_reason))
ax.manual_seed(SEED)
close(flat(model), flat(mlp()), "the weights after the NaN step")
no_hooks(model, "fit stopped by the guard")


# what fit cannot shard says so
class Stream(IterableDataset):
    def __iter__(self):
        return iter(zip(X, Y, strict=True))


for data, error, words in (
    (DataLoader(Stream(), batch_size=BATCH), TypeError, "IterableDataset"),
    ([(X[:4], Y[:4])], TypeError, "list"),
):
    try:
        train(data)
    except error as err:
        assert words in str(err) and f"{world} ranks" in str(err), err
    else:
        raise AssertionError(f"fit sharded a {type(data).__name__}")
try:
    ax.fit_stream(mlp(), [(X, Y)], loss="cross_entropy", optimizer=sgd(mlp()), verbose=0)
except NotImplementedError as err:
    assert "fit_stream" in str(err)
else:
    raise AssertionError("fit_stream ran under a process group")

dist.destroy_process_group()
print(f"rank {rank} ok", flush=True)
