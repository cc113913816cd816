"""A two-layer network trained by hand: the loop of a first PyTorch tutorial."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 16)
        self.fc2 = nn.Linear(16, 3)
        nn.init.xavier_uniform_(self.fc1.weight)
        self.fc1.bias.data.fill_(0.01)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(64, 4)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 3, size=64))
    net = Net()
    if initial is not None:
        net.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
    lr, losses = 0.1, []
    for step in range(30):
        loss = F.cross_entropy(net(x), y)
        net.zero_grad()
        loss.backward()
        for p in net.parameters():
            p.data.add_(p.grad.data, alpha=-lr)
        losses.append(loss.item())
        if step == 0:
            first = net.fc2.weight.data.clone()
    moved = (net.fc2.weight.data - first).abs().sum().item()
    return {"initial": start, "losses": losses, "moved": moved, "summary": f"{losses[-1]:.4f}"}
