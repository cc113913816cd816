"""A graph convolutional network written from scratch, as tutorials do without PyG: an
edge_index of shape (2, E), self-loops added with torch.arange and torch.cat, symmetric
normalisation deg^-1/2 from index_add_, messages gathered with index_select and summed
with index_add_ (and a dense D^-1/2 (A + I) D^-1/2 check through torch.diag), a
train/val/test split by boolean masks, and node classification with log_softmax."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def add_self_loops(edge_index, num_nodes):
    loop = torch.arange(num_nodes, dtype=torch.long).unsqueeze(0).repeat(2, 1)
    return torch.cat([edge_index, loop], dim=1)


def gcn_norm(edge_index, num_nodes):
    row, col = edge_index
    deg = torch.zeros(num_nodes).index_add_(0, col, torch.ones(col.size(0)))
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt[deg_inv_sqrt == float("inf")] = 0
    return deg_inv_sqrt[row] * deg_inv_sqrt[col]


class GCNConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        nn.init.xavier_uniform_(self.lin.weight)

    def forward(self, x, edge_index, norm):
        x = self.lin(x)
        row, col = edge_index
        messages = x.index_select(0, row) * norm.view(-1, 1)
        out = torch.zeros_like(x).index_add_(0, col, messages)
        return out + self.bias


class GCN(nn.Module):
    def __init__(self, num_features, hidden, num_classes, dropout=0.0):
        super().__init__()
        self.conv1 = GCNConv(num_features, hidden)
        self.conv2 = GCNConv(hidden, num_classes)
        self.dropout = dropout

    def forward(self, x, edge_index, norm):
        x = F.relu(self.conv1(x, edge_index, norm))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return F.log_softmax(self.conv2(x, edge_index, norm), dim=1)


def run(initial=None):
    torch.manual_seed(12345)
    rng = np.random.default_rng(12345)
    num_nodes, num_classes = 30, 3
    labels = np.repeat(np.arange(num_classes), num_nodes // num_classes)
    edges = set()
    while len(edges) < 60:  # two communities in three: mostly edges within a class
        a, b = rng.integers(0, num_nodes, size=2)
        if a != b and (labels[a] == labels[b] or rng.random() < 0.1):
            edges.add((int(a), int(b)))
            edges.add((int(b), int(a)))
    edge_index = torch.tensor(sorted(edges), dtype=torch.long).t().contiguous()
    x = torch.tensor(rng.normal(size=(num_nodes, 8)) + labels[:, None] * 0.3, dtype=torch.float)
    y = torch.tensor(labels)
    perm = rng.permutation(num_nodes)
    train_mask = torch.zeros(num_nodes, dtype=torch.bool)
    train_mask[torch.tensor(perm[:12])] = True
    test_mask = ~train_mask

    full_edges = add_self_loops(edge_index, num_nodes)
    norm = gcn_norm(full_edges, num_nodes)
    adj = torch.zeros(num_nodes, num_nodes)
    adj[full_edges[0], full_edges[1]] = 1.0
    d = torch.diag(adj.sum(dim=1).pow(-0.5))
    dense = d @ adj @ d

    model = GCN(8, 16, num_classes)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    losses, accs = [], []
    for _epoch in range(15):
        model.train()
        optimizer.zero_grad()
        out = model(x, full_edges, norm)
        loss = F.nll_loss(out[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            pred = model(x, full_edges, norm).argmax(dim=1)
            accs.append(int((pred[test_mask] == y[test_mask]).sum()) / int(test_mask.sum()))
    with torch.no_grad():
        h = model.conv1.lin(x)
        sparse_way = torch.zeros_like(h).index_add_(
            0, full_edges[1], h[full_edges[0]] * norm.view(-1, 1)
        )
        dense_way = dense.t() @ h
    return {
        "initial": start,
        "losses": losses,
        "accs": accs,
        "norm": norm.numpy(),
        "sparse_way": sparse_way.numpy(),
        "dense_way": dense_way.numpy(),
        "n_edges": int(edge_index.size(1)),
    }
