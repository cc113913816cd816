"""The spatial transformer network tutorial's model at toy size: a localisation network
whose last layer starts at the identity transform (weight.data.zero_(), bias.data.copy_),
F.affine_grid and F.grid_sample warping the input, then a small classifier with
F.dropout(training=self.training) and log_softmax, trained with SGD on NLL."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.conv2 = nn.Conv2d(4, 6, kernel_size=3)
        self.conv2_drop = nn.Dropout2d(p)
        self.fc1 = nn.Linear(6 * 2 * 2, 12)
        self.fc2 = nn.Linear(12, 3)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(4, 4, kernel_size=3),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
        )
        self.fc_loc = nn.Sequential(nn.Linear(4 * 2 * 2, 8), nn.ReLU(True), nn.Linear(8, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x, align_corners=False):
        xs = self.localization(x)
        xs = xs.view(-1, 4 * 2 * 2)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=align_corners)
        return F.grid_sample(x, grid, align_corners=align_corners), theta

    def forward(self, x):
        x, _ = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 6 * 2 * 2)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, p=self.p, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def run(initial=None, p=0.0):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=24)
    images = 0.2 * rng.random((24, 1, 14, 14))
    for i, c in enumerate(labels):  # a bar whose orientation is the class, shifted at random
        s = int(rng.integers(3, 9))
        if c == 0:
            images[i, 0, s, 2:12] = 1
        elif c == 1:
            images[i, 0, 2:12, s] = 1
        else:
            images[i, 0, range(2, 12), range(2, 12)] = 1
    data = torch.tensor(images, dtype=torch.float32)
    target = torch.tensor(labels)
    model = Net(p)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _epoch in range(3):
        model.train()
        for i in range(0, 24, 8):
            optimizer.zero_grad()
            output = model(data[i : i + 8])
            loss = F.nll_loss(output, target[i : i + 8])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        warped, theta = model.stn(data[:4])
        warped_ac, _ = model.stn(data[:4], align_corners=True)
        correct = model(data).max(1, keepdim=True)[1].eq(target.view(-1, 1)).sum().item()
    return {
        "initial": start,
        "losses": losses,
        "theta": theta.numpy(),
        "warped": warped.numpy(),
        "warped_ac": warped_ac.numpy(),
        "correct": correct,
    }
