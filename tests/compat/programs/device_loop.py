"""The everyday training loop of a tutorial: a device picked at run time, a DataLoader, a
one-cycle schedule, gradient clipping, label smoothing and an evaluation pass."""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_model():
    return nn.Sequential(
        nn.Linear(10, 32),
        nn.SiLU(),
        nn.Dropout(0.0),
        nn.Linear(32, 32),
        nn.Hardswish(),
        nn.Linear(32, 4),
    )


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.normal(size=(96, 10)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 4, size=96), dtype=torch.long)
    train = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16)
    test = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=32)
    model = make_model().to(device)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.2, epochs=3, steps_per_epoch=len(train)
    )
    log, lrs = [], []
    for epoch in range(3):
        model.train()
        for batch, (X, Y) in enumerate(train):
            X, Y = X.to(device), Y.to(device)
            loss = loss_fn(model(X), Y)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
            log.append(f"epoch {epoch} batch {batch} loss {loss:>7.4f}")
        model.eval()
        correct, total = 0, 0
        with torch.no_grad():
            for X, Y in test:
                pred = model(X.to(device))
                correct += (pred.argmax(1) == Y).type(torch.float).sum().item()
                total += Y.size(0)
    return {"initial": start, "log": log, "lrs": lrs, "accuracy": correct / total}
