"""A tiny Vision Transformer trained the way timm-era scripts do: patch embedding by a
strided Conv2d then flatten(2).transpose(1, 2), a cls token and position embedding as
nn.Parameter initialised with trunc_normal_, expand(B, -1, -1) and torch.cat, pre-norm
nn.TransformerEncoderLayer(activation="gelu", norm_first=True), a DropPath module
(stochastic depth via x.new_empty(...).bernoulli_, rate 0 here), AdamW with no weight
decay on norms, biases and embeddings, mixup with NumPy's Beta draw and a permutation,
and soft-target cross-entropy."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class DropPath(nn.Module):
    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep_prob = 1 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
        return x * random_tensor / keep_prob


class PatchEmbed(nn.Module):
    def __init__(self, img_size=8, patch_size=4, in_chans=1, embed_dim=16):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, C)


class ViT(nn.Module):
    def __init__(self, num_classes=3, embed_dim=16, depth=2, num_heads=2, drop_path=0.0):
        super().__init__()
        self.patch_embed = PatchEmbed(embed_dim=embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        self.blocks = nn.ModuleList(
            [
                nn.TransformerEncoderLayer(
                    embed_dim,
                    num_heads,
                    dim_feedforward=2 * embed_dim,
                    dropout=0.0,
                    activation="gelu",
                    batch_first=True,
                    norm_first=True,
                )
                for _ in range(depth)
            ]
        )
        self.drop_path = DropPath(drop_path)
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def no_weight_decay(self):
        return {"pos_embed", "cls_token"}

    def forward(self, x):
        x = self.patch_embed(x)
        cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls_tokens, x), dim=1) + self.pos_embed
        for blk in self.blocks:
            x = x + self.drop_path(blk(x) - x)
        return self.head(self.norm(x)[:, 0])


def param_groups_weight_decay(model, weight_decay=0.05, no_weight_decay_list=()):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list:
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]


def run(initial=None, mixup_alpha=0.8):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=24)
    images = 0.2 * rng.standard_normal((24, 1, 8, 8)).astype(np.float32)
    for i, c in enumerate(labels):
        images[i, 0, 4 * (c // 2) : 4 * (c // 2) + 4, 4 * (c % 2) : 4 * (c % 2) + 4] += 1.0
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    model = ViT()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    groups = param_groups_weight_decay(model, 0.05, model.no_weight_decay())
    optimizer = torch.optim.AdamW(groups, lr=3e-3)
    losses = []
    for _epoch in range(4):
        model.train()
        for i in range(0, 24, 8):
            inputs, targets = x[i : i + 8], F.one_hot(y[i : i + 8], num_classes=3).float()
            lam = float(rng.beta(mixup_alpha, mixup_alpha))
            index = torch.from_numpy(rng.permutation(inputs.size(0)))
            inputs = lam * inputs + (1 - lam) * inputs[index, :]
            targets = lam * targets + (1 - lam) * targets[index]
            outputs = model(inputs)
            loss = torch.sum(-targets * F.log_softmax(outputs, dim=-1), dim=-1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return {
        "initial": start,
        "losses": losses,
        "logits": logits.numpy(),
        "group_sizes": [len(g["params"]) for g in groups],
        "accuracy": (logits.argmax(1) == y).float().mean().item(),
    }
