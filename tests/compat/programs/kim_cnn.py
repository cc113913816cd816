"""Kim's CNN for sentence classification, as its popular PyTorch ports write it: an
embedding viewed as a one-channel image, nn.ModuleList of Conv2d with kernels (k, embed),
squeeze(3), F.max_pool1d over the whole length with x.size(2), torch.cat of the pooled
features, Adagrad, and a max-norm constraint on the classifier's rows applied in place
(w.mul_ of a clamped ratio) under no_grad after each step."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN_Text(nn.Module):
    def __init__(self, V, D, C, Co=3, Ks=(2, 3, 4), dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.convs1 = nn.ModuleList([nn.Conv2d(1, Co, (K, D)) for K in Ks])
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(len(Ks) * Co, C)

    def forward(self, x):
        x = self.embed(x)  # (N, W, D)
        x = x.unsqueeze(1)  # (N, Ci, W, D)
        x = [F.relu(conv(x)).squeeze(3) for conv in self.convs1]  # [(N, Co, W), ...]
        x = [F.max_pool1d(i, i.size(2)).squeeze(2) for i in x]  # [(N, Co), ...]
        x = torch.cat(x, 1)
        x = self.dropout(x)
        return self.fc1(x)


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    V, D, C, W = 20, 6, 2, 9
    tokens = rng.integers(1, V, size=(24, W))
    labels = ((tokens == 3).any(1) & ~(tokens == 4).any(1)).astype(np.int64)
    x, y = torch.from_numpy(tokens), torch.from_numpy(labels)
    model = CNN_Text(V, D, C)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1)
    max_norm = 0.5
    losses, norms = [], []
    for _epoch in range(4):
        for i in range(0, 24, 8):
            optimizer.zero_grad()
            logit = model(x[i : i + 8])
            loss = F.cross_entropy(logit, y[i : i + 8])
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                w = model.fc1.weight
                row_norms = w.norm(p=2, dim=1, keepdim=True)
                w.mul_(torch.clamp(max_norm / (row_norms + 1e-7), max=1.0))
            norms.append(model.fc1.weight.norm(dim=1).max().item())
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(x)
        corrects = (torch.max(logits, 1)[1].view(y.size()) == y).sum()
    return {
        "initial": start,
        "losses": losses,
        "norms": norms,
        "logits": logits.numpy(),
        "corrects": int(corrects),
    }
