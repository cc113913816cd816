"""A sequence classifier on nn.TransformerEncoder with a padding mask
(src_key_padding_mask), masked mean pooling, AdamW with a LinearLR warm-up chained into
CosineAnnealingLR by SequentialLR, clip_grad_value_; then nn.MultiheadAttention's
averaged attention weights on a padded batch."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=32):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]


class TransformerClassifier(nn.Module):
    def __init__(self, ntoken, d_model=16, nhead=2, d_hid=32, nlayers=2, num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(ntoken, d_model, padding_idx=0)
        self.pos_encoder = PositionalEncoding(d_model)
        encoder_layer = nn.TransformerEncoderLayer(
            d_model, nhead, d_hid, dropout=0.0, batch_first=True
        )
        self.transformer_encoder = nn.TransformerEncoder(
            encoder_layer, nlayers, enable_nested_tensor=False
        )
        self.classifier = nn.Linear(d_model, num_classes)
        self.d_model = d_model

    def forward(self, src, src_key_padding_mask):
        x = self.embedding(src) * math.sqrt(self.d_model)
        x = self.pos_encoder(x)
        x = self.transformer_encoder(x, src_key_padding_mask=src_key_padding_mask)
        keep = (~src_key_padding_mask).unsqueeze(-1).float()
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.classifier(pooled)


def make_data(rng, n, max_len, vocab):
    """Label 1 when token 3 occurs in the sequence; zero-padded to max_len."""
    lengths = rng.integers(3, max_len + 1, size=n)
    src = np.zeros((n, max_len), dtype=np.int64)
    for i, length in enumerate(lengths):
        src[i, :length] = rng.integers(1, vocab, size=length)
    labels = (src == 3).any(axis=1).astype(np.int64)
    return torch.from_numpy(src), torch.from_numpy(labels)


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(11)
    vocab, max_len = 10, 7
    src, labels = make_data(rng, 32, max_len, vocab)
    padding_mask = src == 0
    model = TransformerClassifier(vocab)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial["model"].items()})
    start = {"model": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}}
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[3])
    losses, lrs = [], []
    for step in range(8):
        model.train()
        batch = slice((step % 2) * 16, (step % 2) * 16 + 16)
        logits = model(src[batch], padding_mask[batch])
        loss = F.cross_entropy(logits, labels[batch])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(optimizer.param_groups[0]["lr"])

    model.eval()
    with torch.no_grad():
        logits = model(src, padding_mask)
        accuracy = (logits.argmax(-1) == labels).float().mean().item()
        # padding a sequence further must not change its logits
        longer = F.pad(src[:4], (0, 3), value=0)
        longer_logits = model(longer, longer == 0)

    mha = nn.MultiheadAttention(embed_dim=16, num_heads=4, batch_first=True)
    if initial is not None:
        mha.load_state_dict({k: torch.tensor(v) for k, v in initial["mha"].items()})
    start["mha"] = {k: v.detach().numpy().copy() for k, v in mha.state_dict().items()}
    x = model.embedding(src[:3]).detach().requires_grad_(True)
    attn_output, attn_weights = mha(
        x, x, x, key_padding_mask=padding_mask[:3], need_weights=True, average_attn_weights=True
    )
    attn_output.pow(2).sum().backward()
    return {
        "initial": start,
        "losses": losses,
        "lrs": lrs,
        "accuracy": accuracy,
        "n_params": n_params,
        "logits": logits.numpy(),
        "longer_logits": longer_logits.numpy(),
        "attn_weights": attn_weights.detach().numpy(),
        "attn_output": attn_output.detach().numpy(),
        "x_grad": x.grad.numpy(),
    }
