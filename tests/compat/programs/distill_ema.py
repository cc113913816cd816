"""Knowledge distillation with an exponential moving average of the student: a teacher in
eval mode under torch.no_grad(), the Hinton loss F.kl_div(log_softmax(s / T),
softmax(t / T), reduction="batchmean") * T * T mixed with cross-entropy, an EMA copy made
by copy.deepcopy and updated in place (mul_ / add_ with alpha), and a contrastive
embedding head with F.normalize, torch.cdist and nn.TripletMarginLoss."""

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(width):
    return nn.Sequential(
        nn.Linear(10, width),
        nn.GELU(),
        nn.Dropout(p=0.0),
        nn.Linear(width, width),
        nn.GELU(),
        nn.Linear(width, 3),
    )


@torch.no_grad()
def ema_update(ema_model, model, decay=0.9):
    for ema_p, p in zip(ema_model.parameters(), model.parameters(), strict=True):
        ema_p.mul_(decay).add_(p.detach(), alpha=1 - decay)
    for ema_b, b in zip(ema_model.buffers(), model.buffers(), strict=True):
        ema_b.copy_(b)


def distillation_loss(student_logits, teacher_logits, labels, T=2.0, alpha=0.7):
    soft = (
        F.kl_div(
            F.log_softmax(student_logits / T, dim=1),
            F.softmax(teacher_logits / T, dim=1),
            reduction="batchmean",
        )
        * T
        * T
    )
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard


def run(initial=None):
    torch.manual_seed(5)
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.normal(size=(40, 10)).astype(np.float32))
    y = torch.from_numpy((x[:, :3].numpy().argmax(1)).astype(np.int64))
    teacher, student = mlp(24), mlp(8)
    embed = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4))
    nets = {"teacher": teacher, "student": student, "embed": embed}
    if initial is not None:
        for name, net in nets.items():
            net.load_state_dict({k: torch.tensor(v) for k, v in initial[name].items()})
    start = {
        name: {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        for name, net in nets.items()
    }

    # the teacher first learns the task on its own
    t_opt = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    for _ in range(5):
        t_opt.zero_grad()
        F.cross_entropy(teacher(x), y).backward()
        t_opt.step()
    teacher.eval()

    ema = copy.deepcopy(student)
    for p in ema.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.RMSprop(student.parameters(), lr=5e-3, alpha=0.9)
    losses = []
    for step in range(6):
        student.train()
        batch = slice((step % 2) * 20, (step % 2) * 20 + 20)
        with torch.no_grad():
            teacher_logits = teacher(x[batch])
        loss = distillation_loss(student(x[batch]), teacher_logits, y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema_update(ema, student)
        losses.append(loss.item())
    with torch.no_grad():
        agreement = (student(x).argmax(1) == teacher(x).argmax(1)).float().mean().item()
        ema_logits = ema(x)

    # a triplet-loss embedding: anchor, a positive of the same class, a negative
    anchor_idx = torch.arange(12)
    positive_idx = torch.tensor([int(np.flatnonzero(y.numpy() == c)[1]) for c in y[:12].tolist()])
    negative_idx = torch.tensor([int(np.flatnonzero(y.numpy() != c)[0]) for c in y[:12].tolist()])
    triplet = nn.TripletMarginLoss(margin=0.5, p=2)
    e_opt = torch.optim.SGD(embed.parameters(), lr=0.1)
    triplet_losses = []
    for _ in range(4):
        z = F.normalize(embed(x), p=2, dim=1)
        loss = triplet(z[anchor_idx], z[positive_idx], z[negative_idx])
        e_opt.zero_grad()
        loss.backward()
        e_opt.step()
        triplet_losses.append(loss.item())
    with torch.no_grad():
        z = F.normalize(embed(x), dim=1)
        distances = torch.cdist(z[:5], z[:5])
        cosine = F.cosine_similarity(z[:5, None], z[None, :5], dim=-1)
    return {
        "initial": start,
        "losses": losses,
        "agreement": agreement,
        "ema_logits": ema_logits.numpy(),
        "ema_requires_grad": ema[0].weight.requires_grad,
        "triplet_losses": triplet_losses,
        "distances": distances.numpy(),
        "cosine": cosine.numpy(),
    }
