"""A matrix-factorisation recommender with a second head, the way recommendation and
multi-task code is written: a Dataset returning dicts (batched by the default collate into
dicts of tensors), user/item nn.Embedding plus bias embeddings, a dot product by
(u * v).sum(1), a click head trained with BCEWithLogits next to the rating MSE, two
backward passes through a shared graph (retain_graph=True), torch.stack of the losses for
logging, per-user top-k recommendations with masking of seen items by scatter_."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class Ratings(Dataset):
    def __init__(self, users, items, ratings):
        self.users, self.items, self.ratings = users, items, ratings

    def __len__(self):
        return len(self.users)

    def __getitem__(self, idx):
        return {
            "user": torch.tensor(self.users[idx], dtype=torch.long),
            "item": torch.tensor(self.items[idx], dtype=torch.long),
            "rating": torch.tensor(self.ratings[idx], dtype=torch.float),
            "clicked": float(self.ratings[idx] >= 3.5),
        }


class MF(nn.Module):
    def __init__(self, n_users, n_items, dim=4):
        super().__init__()
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.click_head = nn.Linear(2 * dim, 1)
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.normal_(self.item_emb.weight, std=0.1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, user, item):
        u, v = self.user_emb(user), self.item_emb(item)
        rating = (
            (u * v).sum(1)
            + self.user_bias(user).squeeze(-1)
            + self.item_bias(item).squeeze(-1)
            + 3.0
        )
        click = self.click_head(torch.cat([u, v], dim=1)).squeeze(-1)
        return rating, click


def run(initial=None):
    torch.manual_seed(3)
    rng = np.random.default_rng(3)
    n_users, n_items = 6, 8
    true_u, true_v = rng.normal(size=(n_users, 2)), rng.normal(size=(n_items, 2))
    pairs = rng.choice(n_users * n_items, size=30, replace=False)
    users, items = pairs // n_items, pairs % n_items
    ratings = np.clip(3 + (true_u[users] * true_v[items]).sum(1), 1, 5)
    loader = DataLoader(Ratings(users, items, ratings), batch_size=10, shuffle=False)
    model = MF(n_users, n_items)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-4)
    log, batch_keys = [], None
    for _epoch in range(4):
        for batch in loader:
            batch_keys = sorted(batch.keys())
            pred_rating, pred_click = model(batch["user"], batch["item"])
            rating_loss = F.mse_loss(pred_rating, batch["rating"])
            click_loss = F.binary_cross_entropy_with_logits(pred_click, batch["clicked"].float())
            optimizer.zero_grad()
            rating_loss.backward(retain_graph=True)
            (0.5 * click_loss).backward()
            optimizer.step()
            log.append(torch.stack([rating_loss, click_loss]).detach().numpy())
    with torch.no_grad():
        scores = model.user_emb.weight @ model.item_emb.weight.t() + model.item_bias.weight.t()
        seen = torch.zeros(n_users, n_items, dtype=torch.bool)
        seen[torch.from_numpy(users), torch.from_numpy(items)] = True
        unseen_scores = scores.masked_fill(seen, float("-inf"))
        top = unseen_scores.topk(2, dim=1).indices
        hits = torch.zeros(n_users, n_items).scatter_(1, top, 1.0)
    return {
        "initial": start,
        "log": np.array(log),
        "batch_keys": batch_keys,
        "batch_dtypes": [str(batch[k].dtype).replace("torch.", "") for k in batch_keys],
        "top": top.numpy(),
        "hits": hits.numpy(),
        "scores": scores.numpy(),
    }
