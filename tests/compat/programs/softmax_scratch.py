"""Softmax regression from scratch, in the style of a textbook chapter: parameters as leaf
tensors, ``torch.no_grad()`` updates and ``grad.zero_()``."""

import numpy as np
import torch


def softmax(X):
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(1, keepdim=True)


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[list(range(len(y_hat))), y])


def run(initial=None):
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    features = torch.from_numpy(rng.normal(size=(120, 5)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 4, size=120))
    W = torch.normal(0, 0.01, size=(5, 4), requires_grad=True)
    b = torch.zeros(4, requires_grad=True)
    if initial is not None:
        with torch.no_grad():
            W.copy_(torch.tensor(initial["W"]))
    start = {"W": W.detach().numpy().copy()}
    lr, batch_size, losses = 0.5, 30, []
    for epoch in range(5):
        for i in range(0, 120, batch_size):
            X, y = features[i : i + batch_size], labels[i : i + batch_size]
            l = cross_entropy(softmax(X @ W + b), y)
            l.sum().backward()
            with torch.no_grad():
                for param in (W, b):
                    param -= lr * param.grad / batch_size
                    param.grad.zero_()
        with torch.no_grad():
            losses.append(float(cross_entropy(softmax(features @ W + b), labels).mean()))
    accuracy = (softmax(features @ W + b).argmax(axis=1) == labels).float().mean().item()
    return {"initial": start, "losses": losses, "accuracy": accuracy}
