"""The natural-gradient step at the heart of TRPO implementations: a policy's surrogate
loss, Fisher-vector products as the gradient of (grad KL . v) (torch.autograd.grad twice,
the first with create_graph=True), conjugate gradient on flat vectors built with
torch.cat([g.contiguous().view(-1) ...]), the step scaled to a KL radius, and a
backtracking line search that writes candidate weights with
nn.utils.vector_to_parameters and reads them with parameters_to_vector."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def flat_grad(y, params, **kwargs):
    grads = torch.autograd.grad(y, params, **kwargs)
    return torch.cat([g.contiguous().view(-1) for g in grads])


def conjugate_gradients(Avp, b, nsteps, residual_tol=1e-10):
    x = torch.zeros(b.size())
    r, p = b.clone(), b.clone()
    rdotr = torch.dot(r, r)
    for _ in range(nsteps):
        _Avp = Avp(p)
        alpha = rdotr / torch.dot(p, _Avp)
        x += alpha * p
        r -= alpha * _Avp
        new_rdotr = torch.dot(r, r)
        p = r + (new_rdotr / rdotr) * p
        rdotr = new_rdotr
        if rdotr < residual_tol:
            break
    return x


def run(initial=None, max_kl=1e-2, damping=1e-1):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    states = torch.tensor(rng.normal(size=(32, 4)), dtype=torch.float64)
    actions = torch.tensor(rng.integers(0, 3, size=32))
    advantages = torch.tensor(rng.normal(size=32), dtype=torch.float64)
    policy = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    if initial is not None:
        policy.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in policy.state_dict().items()}
    params = list(policy.parameters())
    with torch.no_grad():
        old_log_probs = F.log_softmax(policy(states), dim=1)
    fixed = old_log_probs.gather(1, actions.view(-1, 1)).squeeze(1)

    def get_loss():
        log_probs = F.log_softmax(policy(states), dim=1).gather(1, actions.view(-1, 1))
        return -(advantages * torch.exp(log_probs.squeeze(1) - fixed)).mean()

    def get_kl():
        log_probs = F.log_softmax(policy(states), dim=1)
        return (old_log_probs.exp() * (old_log_probs - log_probs)).sum(1).mean()

    def Fvp(v):
        grads = flat_grad(get_kl(), params, create_graph=True)
        kl_v = (grads * v).sum()
        return flat_grad(kl_v, params) + v * damping

    loss = get_loss()
    loss_grad = flat_grad(loss, params)
    stepdir = conjugate_gradients(Fvp, -loss_grad, 10)
    shs = 0.5 * (stepdir * Fvp(stepdir)).sum(0, keepdim=True)
    lm = torch.sqrt(shs / max_kl)
    fullstep = stepdir / lm[0]
    expected_improve = (-loss_grad * stepdir).sum(0, keepdim=True) / lm[0]
    prev_params = nn.utils.parameters_to_vector(params).detach()
    accepted, fraction = False, 1.0
    for fraction in 0.5 ** np.arange(6):
        nn.utils.vector_to_parameters(prev_params + fraction * fullstep, params)
        with torch.no_grad():
            new_loss = get_loss()
        actual_improve = loss - new_loss
        if (
            actual_improve / (expected_improve * fraction)
        ).item() > 0.1 and actual_improve.item() > 0:
            accepted = True
            break
    else:
        nn.utils.vector_to_parameters(prev_params, params)
    with torch.no_grad():
        kl_after = get_kl().item()
    return {
        "initial": start,
        "loss": loss.item(),
        "new_loss": new_loss.item(),
        "stepdir": stepdir.detach().numpy(),
        "fraction": float(fraction),
        "accepted": accepted,
        "kl_after": kl_after,
        "params": nn.utils.parameters_to_vector(params).detach().numpy(),
    }
