"""Everyday tricks around a small network: forward hooks that collect activations,
freezing a backbone with requires_grad_(False) over named_parameters, an optimizer with
parameter groups at different learning rates, a WGAN-GP style gradient penalty through
torch.autograd.grad(create_graph=True), saving and loading a state_dict, evaluation
under torch.no_grad(), and f-string logging of tensor.item()."""

import io
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 12), nn.Tanh())
        self.head = nn.Linear(12, 1)

    def forward(self, x):
        return self.head(self.backbone(x))


def gradient_penalty(critic, real, fake, alpha):
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolates)
    gradients = torch.autograd.grad(
        outputs=scores,
        inputs=interpolates,
        grad_outputs=torch.ones_like(scores),
        create_graph=True,
        retain_graph=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def run(initial=None):
    torch.manual_seed(123)
    rng = np.random.default_rng(123)
    model = Net()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}

    activations = {}

    def get_activation(name):
        def hook(module, input, output):
            activations[name] = output.detach()

        return hook

    handles = [
        model.backbone[1].register_forward_hook(get_activation("tanh1")),
        model.head.register_forward_hook(get_activation("head")),
    ]

    real = torch.from_numpy(rng.normal(1.0, 0.5, size=(16, 6)).astype(np.float32))
    fake = torch.from_numpy(rng.normal(-1.0, 0.5, size=(16, 6)).astype(np.float32))
    alpha = torch.from_numpy(rng.random((16, 1)).astype(np.float32))

    # phase 1: a critic step with a gradient penalty, all parameters trained
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.0, 0.9))
    log, penalties = [], []
    for step in range(3):
        optimizer.zero_grad()
        gp = gradient_penalty(model, real, fake, alpha)
        loss = model(fake).mean() - model(real).mean() + 10.0 * gp
        loss.backward()
        optimizer.step()
        penalties.append(gp.item())
        log.append(f"step {step}: loss {loss.item():.4f} gp {gp.item():.4f}")
    hooked_shapes = {k: tuple(v.shape) for k, v in activations.items()}
    tanh1 = activations["tanh1"].numpy().copy()
    for h in handles:
        h.remove()
    activations.clear()
    model(real)
    hooks_removed = len(activations) == 0

    # phase 2: freeze the first layer, fine-tune the rest with two learning rates
    for name, param in model.named_parameters():
        if name.startswith("backbone.0"):
            param.requires_grad_(False)
    frozen_before = model.backbone[0].weight.detach().clone()
    frozen_grad = model.backbone[0].weight.grad.clone()  # left over from phase 1
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(
        [
            {"params": model.backbone[2].parameters(), "lr": 1e-3},
            {"params": model.head.parameters()},
        ],
        lr=1e-2,
        momentum=0.9,
    )
    target = (real.sum(dim=1, keepdim=True) > 6).float()
    losses = []
    for _step in range(4):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(real), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    frozen_still = torch.equal(frozen_before, model.backbone[0].weight)
    frozen_grad_kept = torch.equal(model.backbone[0].weight.grad, frozen_grad)

    # phase 3: save the state_dict, load it into a new model, evaluate without grad
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pth")
        torch.save(model.state_dict(), path)
        clone = Net()
        clone.load_state_dict(torch.load(path, weights_only=True))
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    opt_state = torch.load(buffer)
    clone.eval()
    with torch.no_grad():
        same = torch.allclose(clone(fake), model(fake))
        out = clone(fake)
    return {
        "initial": start,
        "log": log,
        "penalties": penalties,
        "losses": losses,
        "hooked_shapes": hooked_shapes,
        "tanh1": tanh1,
        "hooks_removed": hooks_removed,
        "trainable": trainable,
        "frozen_still": frozen_still,
        "frozen_grad_kept": frozen_grad_kept,
        "same": same,
        "out_requires_grad": out.requires_grad,
        "out": out.numpy(),
        "group_lrs": [g["lr"] for g in opt_state["param_groups"]],
        "momentum_keys": sorted(opt_state["state"]),
    }
