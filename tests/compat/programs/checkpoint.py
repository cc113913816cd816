"""Train a small CNN, save a checkpoint dict mid-way, resume from it in fresh objects, and
finish: the resumed run must equal the uninterrupted one."""

import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(x, 1))


def make(initial):
    model = SmallCNN()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    optimizer = optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def train_epoch(model, optimizer, loader):
    model.train()
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(size=(48, 1, 8, 8)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 3, size=48))
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=False)

    model, optimizer, scheduler = make(initial)
    start = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    straight = []
    for epoch in range(4):
        straight.append(train_epoch(model, optimizer, loader))
        scheduler.step()
    final = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}

    model, optimizer, scheduler = make(start)
    resumed = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "checkpoint.pt")
        for epoch in range(2):
            resumed.append(train_epoch(model, optimizer, loader))
            scheduler.step()
        torch.save(
            {
                "epoch": epoch + 1,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "losses": resumed,
            },
            path,
        )
        del model, optimizer, scheduler
        checkpoint = torch.load(path, weights_only=True)
    model, optimizer, scheduler = make(None)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    resumed = list(checkpoint["losses"])
    for epoch in range(checkpoint["epoch"], 4):
        resumed.append(train_epoch(model, optimizer, loader))
        scheduler.step()
    again = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    return {
        "initial": start,
        "losses": straight,
        "resumed": resumed,
        "final": final,
        "final_resumed": again,
        "lr": scheduler.get_last_lr(),
    }
