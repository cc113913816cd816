"""``callbacks.TensorBoard`` in ``fit`` under a process group: every rank runs the callback,
rank 0 alone writes. Argument: the log directory. Prints ``rank R pid P ok`` and, from
rank 0, the History's ``loss`` (every rank has the same) as ``loss <values>``."""

import os
import sys

import numpy as np

import axon as ax
import axon.distributed as dist
from axon import nn, optim
from axon.train.callbacks import TensorBoard

dist.init_process_group("mpi")
rank = dist.get_rank()
ax.manual_seed(0)
data = np.random.default_rng(0)
x = data.standard_normal((40, 3)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
history = ax.fit(
    model,
    (x, y),
    validation=(x[:10], y[:10]),
    loss="cross_entropy",
    optimizer=optim.SGD(model.parameters(), lr=0.1),
    epochs=2,
    batch_size=5,
    verbose=0,
    callbacks=[TensorBoard(sys.argv[1], histogram_freq=1, update_freq=1)],
)
if rank == 0:
    print("loss", " ".join(repr(v) for v in history["loss"]), flush=True)
print(f"rank {rank} pid {os.getpid()} ok", flush=True)
dist.destroy_process_group()
