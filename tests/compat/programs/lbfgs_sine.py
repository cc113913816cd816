"""Fit a sine wave with two stacked LSTM cells and L-BFGS: the closure-driven loop of a
time-series example, at toy size."""

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Sequence(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        n = input.size(0)
        h_t = torch.zeros(n, self.hidden, dtype=torch.double)
        c_t = torch.zeros(n, self.hidden, dtype=torch.double)
        h_t2 = torch.zeros(n, self.hidden, dtype=torch.double)
        c_t2 = torch.zeros(n, self.hidden, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def run(initial=None, steps=3):
    torch.manual_seed(0)
    T, L, N = 20, 30, 8
    x = np.empty((N, L), np.int64)
    x[:] = np.arange(L) + np.random.default_rng(0).integers(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    input, target = torch.from_numpy(data[:, :-1]), torch.from_numpy(data[:, 1:])
    seq = Sequence().double()
    if initial is not None:
        seq.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().cpu().numpy().copy() for k, v in seq.state_dict().items()}
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    losses, calls = [], [0]
    for i in range(steps):

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            loss.backward()
            calls[0] += 1
            return loss

        losses.append(optimizer.step(closure).item())
    with torch.no_grad():
        future = 5
        pred = seq(input[:2], future=future)
        y = pred.detach().numpy()
    return {"initial": start, "losses": losses, "calls": calls[0], "prediction": y}
