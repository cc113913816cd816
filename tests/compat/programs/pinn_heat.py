"""A physics-informed network for the 1-D heat equation u_t = k u_xx, as PINN papers' code
writes it: collocation points with requires_grad_(True), first and second derivatives
through torch.autograd.grad(create_graph=True, grad_outputs=torch.ones_like(u)), a loss
mixing the PDE residual with initial and boundary terms, Adam then a few LBFGS steps with
line_search_fn="strong_wolfe", and Xavier-initialised tanh layers built in a loop."""

import math

import numpy as np
import torch
import torch.nn as nn


class PINN(nn.Module):
    def __init__(self, layers=(2, 12, 12, 1)):
        super().__init__()
        self.linears = nn.ModuleList(
            [nn.Linear(layers[i], layers[i + 1]) for i in range(len(layers) - 1)]
        )
        self.activation = nn.Tanh()
        for lin in self.linears:
            nn.init.xavier_normal_(lin.weight.data, gain=1.0)
            nn.init.zeros_(lin.bias.data)

    def forward(self, x, t):
        a = torch.cat([x, t], dim=1)
        for lin in self.linears[:-1]:
            a = self.activation(lin(a))
        return self.linears[-1](a)


def pde_residual(model, x, t, k=0.1):
    u = model(x, t)
    u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x), create_graph=True)[0]
    return u_t - k * u_xx


def run(initial=None, dtype="float64", adam_steps=6, lbfgs_steps=2):
    dtype = getattr(torch, dtype)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x_f = torch.tensor(rng.uniform(0, 1, size=(40, 1)), dtype=dtype).requires_grad_(True)
    t_f = torch.tensor(rng.uniform(0, 1, size=(40, 1)), dtype=dtype).requires_grad_(True)
    x_0 = torch.linspace(0, 1, 11, dtype=dtype).view(-1, 1)
    t_0 = torch.zeros_like(x_0)
    u_0 = torch.sin(math.pi * x_0)
    t_b = torch.linspace(0, 1, 6, dtype=dtype).view(-1, 1)
    model = PINN().to(dtype)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    mse = nn.MSELoss()

    def loss_fn():
        loss_f = pde_residual(model, x_f, t_f).pow(2).mean()
        loss_0 = mse(model(x_0, t_0), u_0)
        loss_b = (
            model(torch.zeros_like(t_b), t_b).pow(2).mean()
            + model(torch.ones_like(t_b), t_b).pow(2).mean()
        )
        return loss_f + loss_0 + loss_b

    losses = []
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(adam_steps):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    lbfgs = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=5, line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    for _ in range(lbfgs_steps):
        losses.append(lbfgs.step(closure).item())
    x_test = torch.linspace(0, 1, 5, dtype=dtype).view(-1, 1).requires_grad_(True)
    t_test = torch.full_like(x_test, 0.5).requires_grad_(True)
    residual = pde_residual(model, x_test, t_test)
    return {
        "initial": start,
        "losses": losses,
        "residual": residual.detach().numpy(),
        "u": model(x_test, t_test).detach().numpy(),
    }
