"""The boilerplate of a modern training script on a machine without a GPU: a
seed_everything helper (random, NumPy, torch, cuda, cudnn flags, deterministic
algorithms), device = "cuda" if available else "cpu", GradScaler and autocast switched off
by enabled=use_amp, scaler.scale(loss).backward() / unscale_ / clip_grad_norm_ / step /
update, non_blocking transfers, pin_memory=torch.cuda.is_available(), a checkpoint holding
the scaler's state, and torch.set_float32_matmul_precision."""

import io
import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def seed_everything(seed):
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def run(initial=None, epochs=3):
    seed_everything(42)
    torch.set_float32_matmul_precision("high")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    use_amp = device == "cuda"
    rng = np.random.default_rng(42)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    y = (x @ rng.normal(size=(6, 1)) > 0).astype(np.float32).ravel()
    g = torch.Generator()
    g.manual_seed(0)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=10,
        shuffle=False,
        num_workers=0,
        pin_memory=torch.cuda.is_available(),
        worker_init_fn=seed_worker,
        generator=g,
    )
    model = nn.Sequential(nn.Linear(6, 16), nn.SiLU(), nn.LayerNorm(16), nn.Linear(16, 1))
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    model = model.to(device, non_blocking=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scaler = torch.amp.GradScaler(device, enabled=use_amp)
    losses, norms = [], []
    for _epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            with torch.autocast(device_type=device, dtype=torch.float16, enabled=use_amp):
                logits = model(xb).squeeze(-1)
                loss = F.binary_cross_entropy_with_logits(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5).item())
            scaler.step(optimizer)
            scaler.update()
            losses.append(loss.detach().cpu().item())
    buffer = io.BytesIO()
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "epoch": epochs,
        },
        buffer,
    )
    buffer.seek(0)
    checkpoint = torch.load(buffer, map_location=device)
    restored = nn.Sequential(nn.Linear(6, 16), nn.SiLU(), nn.LayerNorm(16), nn.Linear(16, 1))
    restored.load_state_dict(checkpoint["model"])
    scaler2 = torch.amp.GradScaler(device, enabled=use_amp)
    scaler2.load_state_dict(checkpoint["scaler"])
    with torch.inference_mode():
        probs = torch.sigmoid(restored(torch.from_numpy(x))).squeeze(-1)
    accuracy = ((probs > 0.5).float() == torch.from_numpy(y)).float().mean().item()
    # process-wide switches go back to their defaults for whatever runs next
    torch.use_deterministic_algorithms(False)
    torch.set_float32_matmul_precision("highest")
    return {
        "initial": start,
        "losses": losses,
        "norms": norms,
        "accuracy": accuracy,
        "device": device,
        "scale": scaler.get_scale(),
        "epoch": checkpoint["epoch"],
        "probs": probs.numpy(),
    }
