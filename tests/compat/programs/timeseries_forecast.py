"""Forecasting a noisy seasonal series: min-max scaling, a sliding-window Dataset subclass,
a Conv1d front end feeding an LSTM that is given its own zero (h0, c0), MSELoss with
Adam, early stopping on a validation loss with a saved best state_dict (copy.deepcopy),
and an autoregressive rollout that feeds predictions back with torch.cat."""

import copy
import math

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


class WindowDataset(Dataset):
    def __init__(self, series, window):
        self.series = torch.tensor(series, dtype=torch.float32)
        self.window = window

    def __len__(self):
        return len(self.series) - self.window

    def __getitem__(self, idx):
        x = self.series[idx : idx + self.window].unsqueeze(-1)
        y = self.series[idx + self.window]
        return x, y


class ConvLSTM(nn.Module):
    def __init__(self, input_size=1, channels=6, hidden_size=12, num_layers=1):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.conv = nn.Conv1d(input_size, channels, kernel_size=3, padding=1)
        self.lstm = nn.LSTM(channels, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        x = torch.relu(self.conv(x.permute(0, 2, 1))).permute(0, 2, 1)
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(x.device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(x.device)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :]).squeeze(-1)


def run(initial=None, patience=2):
    torch.manual_seed(42)
    rng = np.random.default_rng(42)
    t = np.arange(120)
    raw = 10 + 3 * np.sin(2 * math.pi * t / 12) + 0.05 * t + 0.3 * rng.standard_normal(120)
    lo, hi = raw[:90].min(), raw[:90].max()
    series = (raw - lo) / (hi - lo)
    window = 12
    train_ds = WindowDataset(series[:90], window)
    val_ds = WindowDataset(series[90 - window :], window)
    train_loader = DataLoader(train_ds, batch_size=26, shuffle=False)
    val_loader = DataLoader(val_ds, batch_size=64)

    model = ConvLSTM()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    best_loss, best_state, bad_epochs = float("inf"), None, 0
    train_losses, val_losses = [], []
    for epoch in range(8):
        stopped_at = epoch
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item() * xb.size(0)
        train_losses.append(running / len(train_ds))
        model.eval()
        with torch.no_grad():
            val_loss = sum(
                criterion(model(xb), yb).item() * xb.size(0) for xb, yb in val_loader
            ) / len(val_ds)
        val_losses.append(val_loss)
        if val_loss < best_loss:
            best_loss, best_state, bad_epochs = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        history = torch.tensor(series[90 - window : 90], dtype=torch.float32).view(1, window, 1)
        forecast = []
        for _ in range(6):
            next_value = model(history)
            forecast.append(next_value.item())
            history = torch.cat([history[:, 1:], next_value.view(1, 1, 1)], dim=1)
    forecast = np.array(forecast) * (hi - lo) + lo
    return {
        "initial": start,
        "train_losses": train_losses,
        "val_losses": val_losses,
        "stopped_at": stopped_at,
        "best_loss": best_loss,
        "forecast": forecast,
        "n_windows": (len(train_ds), len(val_ds)),
        "item_shape": tuple(train_ds[0][0].shape),
    }
