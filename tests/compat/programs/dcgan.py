"""A DCGAN-shaped training loop at toy size: a ConvTranspose2d generator and a strided
convolutional discriminator with BatchNorm2d and LeakyReLU, BCELoss against
torch.full labels, two optimizers, and .detach() on the fake batch for the D step."""

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

nz, ngf, ndf, nc = 8, 8, 8, 1


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # 8x8
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # 16x16
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # 8x8
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # 4x4
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),  # 1x1
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


def run(initial=None):
    torch.manual_seed(999)
    rng = np.random.default_rng(0)
    netG, netD = Generator(), Discriminator()
    netG.apply(weights_init)
    netD.apply(weights_init)
    if initial is not None:
        netG.load_state_dict({k: torch.tensor(v) for k, v in initial["G"].items()})
        netD.load_state_dict({k: torch.tensor(v) for k, v in initial["D"].items()})
    start = {
        name: {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        for name, net in (("G", netG), ("D", netD))
    }

    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    # "real" images: smooth blobs in [-1, 1]; the noise is drawn with NumPy for both libraries
    grid = np.linspace(-1, 1, 16)
    real_images = np.tanh(3 * np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) * 2) - 1.5)
    G_losses, D_losses, D_x_all = [], [], []
    for _iteration in range(4):
        real_cpu = torch.from_numpy(
            (real_images + 0.1 * rng.standard_normal((6, 1, 16, 16))).astype(np.float32)
        )
        b_size = real_cpu.size(0)
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        label = torch.full((b_size,), real_label, dtype=torch.float)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.from_numpy(rng.standard_normal((b_size, nz, 1, 1)).astype(np.float32))
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) update G: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()
        G_losses.append(errG.item())
        D_losses.append(errD.item())
        D_x_all.append(D_x)
    netG.eval()
    with torch.no_grad():
        fixed = netG(torch.ones(2, nz, 1, 1)).detach().cpu()
    return {
        "initial": start,
        "G_losses": G_losses,
        "D_losses": D_losses,
        "D_x": D_x_all,
        "fixed": fixed.numpy(),
        "running_var": netD.main[3].running_var.numpy().copy(),
    }
