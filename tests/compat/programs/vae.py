"""A variational autoencoder on random 8x8 "images": the reparameterisation trick with
randn_like, a summed binary cross-entropy plus the KL term, and sampling from the prior."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class VAE(nn.Module):
    def __init__(self, in_dim=64, hidden=32, latent=4):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, in_dim)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar, eps=None):
        std = torch.exp(0.5 * logvar)
        if eps is None:
            eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld, bce, kld


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    images = torch.from_numpy((rng.random((32, 1, 8, 8)) > 0.6).astype(np.float32))
    model = VAE()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    losses, parts = [], []
    for _epoch in range(3):
        model.train()
        train_loss = 0
        for batch_idx in range(4):
            data = images[batch_idx * 8 : (batch_idx + 1) * 8]
            # the noise comes from NumPy so that both libraries draw the same numbers
            eps = torch.from_numpy(rng.standard_normal((8, 4)).astype(np.float32))
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data, eps)
            loss, bce, kld = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            parts.append((bce.item(), kld.item()))
        losses.append(train_loss / len(images))

    model.eval()
    with torch.no_grad():
        recon, mu, logvar = model(images[:4], torch.zeros(4, 4))
        torch.manual_seed(1)
        noise = torch.randn_like(mu)
        samples = model.decode(torch.randn(16, 4))
    return {
        "initial": start,
        "losses": losses,
        "parts": parts,
        "recon": recon.numpy(),
        "noise_shape": tuple(noise.shape),
        "noise_is_float": noise.dtype == torch.float32,
        "samples": samples.numpy(),
    }
