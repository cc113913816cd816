"""MAML on sine regression, the way the original PyTorch re-implementations write it: the
network as a list of tensors run through F.linear, an inner SGD step built from
torch.autograd.grad(create_graph=True) (second order), the meta-loss over a task batch
backpropagated through the inner step into the initial weights, Adam on the meta level,
and first-order MAML (create_graph=False) for comparison."""

import math

import numpy as np
import torch
import torch.nn.functional as F


def forward(x, weights):
    x = F.relu(F.linear(x, weights[0], weights[1]))
    x = F.relu(F.linear(x, weights[2], weights[3]))
    return F.linear(x, weights[4], weights[5])


def init_weights(hidden=16):
    sizes = [(hidden, 1), (hidden, hidden), (1, hidden)]
    weights = []
    for out_f, in_f in sizes:
        w = torch.empty(out_f, in_f)
        torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5))
        bound = 1 / math.sqrt(in_f)
        weights += [w.requires_grad_(), torch.empty(out_f).uniform_(-bound, bound).requires_grad_()]
    return weights


def sample_task(rng, k=10):
    amplitude, phase = rng.uniform(0.1, 5.0), rng.uniform(0, math.pi)
    xs = rng.uniform(-5, 5, size=(2 * k, 1))
    ys = amplitude * np.sin(xs - phase)
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return t(xs[:k]), t(ys[:k]), t(xs[k:]), t(ys[k:])


def run(initial=None, meta_steps=5, first_order=False, inner_lr=0.01):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    weights = init_weights()
    if initial is not None:
        with torch.no_grad():
            for w, v in zip(weights, initial["weights"], strict=True):
                w.copy_(torch.tensor(v))
    start = {"weights": [w.detach().numpy().copy() for w in weights]}
    meta_optimizer = torch.optim.Adam(weights, lr=1e-3)
    meta_losses, inner_losses = [], []
    for _step in range(meta_steps):
        meta_optimizer.zero_grad()
        meta_loss = 0.0
        for _task in range(4):
            x_s, y_s, x_q, y_q = sample_task(rng)
            loss = ((forward(x_s, weights) - y_s) ** 2).mean()
            grads = torch.autograd.grad(loss, weights, create_graph=not first_order)
            fast = [w - inner_lr * g for w, g in zip(weights, grads, strict=True)]
            inner_losses.append(loss.item())
            meta_loss = meta_loss + ((forward(x_q, fast) - y_q) ** 2).mean()
        meta_loss = meta_loss / 4
        meta_loss.backward()
        meta_optimizer.step()
        meta_losses.append(meta_loss.item())
    return {
        "initial": start,
        "meta_losses": meta_losses,
        "inner_losses": inner_losses,
        "final": [w.detach().numpy().copy() for w in weights],
    }
