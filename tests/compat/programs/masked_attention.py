"""A small BERT-style masked-token model written the way recent code writes attention:
an additive mask from torch.finfo(dtype).min, labels of -100 that the loss ignores,
masked positions found with torch.where(condition), data through
torch.utils.data.DataLoader, and a linear warm-up then decay with LambdaLR."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x, attention_mask):
        b, t, h = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (z.view(b, t, self.heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        extended = 1.0 - attention_mask[:, None, None, :].to(scores.dtype)
        scores = scores + extended * torch.finfo(scores.dtype).min
        probs = scores.softmax(dim=-1)
        context = (probs @ v).transpose(1, 2).reshape(b, t, h)
        return self.out(context)


class TinyMLM(nn.Module):
    def __init__(self, vocab, hidden=16, heads=2, max_len=12):
        super().__init__()
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_len, hidden)
        self.attn = SelfAttention(hidden, heads)
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.ff = nn.Sequential(nn.Linear(hidden, 32), nn.GELU(), nn.Linear(32, hidden))
        self.head = nn.Linear(hidden, vocab)

    def forward(self, input_ids, attention_mask):
        pos = torch.arange(input_ids.size(1)).unsqueeze(0)
        x = self.tok(input_ids) + self.pos(pos)
        x = self.norm1(x + self.attn(x, attention_mask))
        x = self.norm2(x + self.ff(x))
        return self.head(x)


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vocab, pad_id, mask_id, n, max_len = 12, 0, 1, 24, 10
    lengths = rng.integers(5, max_len + 1, size=n)
    ids = np.zeros((n, max_len), dtype=np.int64)
    for i, length in enumerate(lengths):
        ids[i, :length] = rng.integers(2, vocab, size=length)
    attention = (ids != pad_id).astype(np.int64)
    chosen = (rng.random(ids.shape) < 0.25) & (attention == 1)
    labels = np.where(chosen, ids, -100)
    inputs = np.where(chosen, mask_id, ids)
    dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(inputs), torch.from_numpy(attention), torch.from_numpy(labels)
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=False)

    model = TinyMLM(vocab)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    total, warmup = 9, 3
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else (total - s) / (total - warmup)
    )
    losses = []
    for _epoch in range(3):
        for input_ids, attention_mask, target in loader:
            logits = model(input_ids, attention_mask)
            loss = F.cross_entropy(logits.view(-1, vocab), target.view(-1), ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        input_ids, attention_mask, target = dataset[:4]
        logits = model(input_ids, attention_mask)
        rows, cols = torch.where(target != -100)
        predicted = logits[rows, cols].argmax(-1)
        # the padded keys get no attention weight: changing them changes nothing
        noisy = input_ids.masked_fill(attention_mask == 0, 5)
        same = torch.allclose(
            model(noisy, attention_mask)[attention_mask.bool()],
            logits[attention_mask.bool()],
            atol=1e-6,
        )
    return {
        "initial": start,
        "losses": losses,
        "rows": rows.numpy(),
        "cols": cols.numpy(),
        "predicted": predicted.numpy(),
        "logits": logits.numpy(),
        "padding_ignored": same,
        "min": torch.finfo(torch.float32).min,
    }
