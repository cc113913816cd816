"""A CycleGAN step loop at toy size, as the reference implementation writes it: ResNet-block
generators with ReflectionPad2d and InstanceNorm2d, PatchGAN discriminators with
LeakyReLU, one Adam over itertools.chain of both generators' parameters, LSGAN (MSELoss)
targets built with torch.ones_like / zeros_like, cycle and identity L1 losses, an image
pool of past fakes (Python's random, seeded), set_requires_grad to freeze the
discriminators during the generator step, and a LambdaLR linear decay."""

import itertools
import random

import numpy as np
import torch
import torch.nn as nn


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, bias=True),
            nn.InstanceNorm2d(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, bias=True),
            nn.InstanceNorm2d(dim),
        )

    def forward(self, x):
        return x + self.conv_block(x)


def generator(ngf=4):
    return nn.Sequential(
        nn.ReflectionPad2d(3),
        nn.Conv2d(1, ngf, kernel_size=7),
        nn.InstanceNorm2d(ngf),
        nn.ReLU(True),
        nn.Conv2d(ngf, 2 * ngf, kernel_size=3, stride=2, padding=1),
        nn.InstanceNorm2d(2 * ngf),
        nn.ReLU(True),
        ResnetBlock(2 * ngf),
        nn.ConvTranspose2d(2 * ngf, ngf, kernel_size=3, stride=2, padding=1, output_padding=1),
        nn.InstanceNorm2d(ngf),
        nn.ReLU(True),
        nn.ReflectionPad2d(3),
        nn.Conv2d(ngf, 1, kernel_size=7),
        nn.Tanh(),
    )


def discriminator(ndf=4):
    return nn.Sequential(
        nn.Conv2d(1, ndf, kernel_size=4, stride=2, padding=1),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, 2 * ndf, kernel_size=4, stride=1, padding=1),
        nn.InstanceNorm2d(2 * ndf),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(2 * ndf, 1, kernel_size=4, stride=1, padding=1),
    )


class ImagePool:
    def __init__(self, pool_size):
        self.pool_size, self.images = pool_size, []

    def query(self, images):
        return_images = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                return_images.append(image)
            elif random.uniform(0, 1) > 0.5:
                random_id = random.randint(0, self.pool_size - 1)
                tmp = self.images[random_id].clone()
                self.images[random_id] = image
                return_images.append(tmp)
            else:
                return_images.append(image)
        return torch.cat(return_images, 0)


def set_requires_grad(nets, requires_grad=False):
    for net in nets:
        for param in net.parameters():
            param.requires_grad = requires_grad


def run(initial=None, n_epochs=1, n_epochs_decay=1):
    torch.manual_seed(0)
    random.seed(0)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:8, 0:8] / 7.0
    real_A = torch.tensor(np.tanh(rng.normal(size=(4, 1, 8, 8)) + xx), dtype=torch.float32)
    real_B = torch.tensor(np.tanh(rng.normal(size=(4, 1, 8, 8)) - yy), dtype=torch.float32)
    nets = {"G_A": generator(), "G_B": generator(), "D_A": discriminator(), "D_B": discriminator()}
    for name, net in nets.items():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight.data, 0.0, 0.02)
                nn.init.constant_(m.bias.data, 0.0)
        if initial is not None:
            net.load_state_dict({k: torch.tensor(v) for k, v in initial[name].items()})
    start = {
        name: {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        for name, net in nets.items()
    }
    netG_A, netG_B, netD_A, netD_B = nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"]
    criterionGAN, criterionCycle, criterionIdt = nn.MSELoss(), nn.L1Loss(), nn.L1Loss()
    optimizer_G = torch.optim.Adam(
        itertools.chain(netG_A.parameters(), netG_B.parameters()), lr=2e-3, betas=(0.5, 0.999)
    )
    optimizer_D = torch.optim.Adam(
        itertools.chain(netD_A.parameters(), netD_B.parameters()), lr=2e-3, betas=(0.5, 0.999)
    )

    def lambda_rule(epoch):
        return 1.0 - max(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1)

    schedulers = [
        torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda_rule)
        for o in (optimizer_G, optimizer_D)
    ]
    fake_A_pool, fake_B_pool = ImagePool(3), ImagePool(3)
    lambda_A = lambda_B = 10.0
    lambda_idt = 0.5
    log, lrs = [], []
    for _epoch in range(n_epochs + n_epochs_decay):
        for i in range(0, 4, 2):
            A, B = real_A[i : i + 2], real_B[i : i + 2]
            fake_B = netG_A(A)
            rec_A = netG_B(fake_B)
            fake_A = netG_B(B)
            rec_B = netG_A(fake_A)
            set_requires_grad([netD_A, netD_B], False)
            optimizer_G.zero_grad()
            idt_A, idt_B = netG_A(B), netG_B(A)
            loss_idt_A = criterionIdt(idt_A, B) * lambda_B * lambda_idt
            loss_idt_B = criterionIdt(idt_B, A) * lambda_A * lambda_idt
            pred_fake_B, pred_fake_A = netD_A(fake_B), netD_B(fake_A)
            loss_G_A = criterionGAN(pred_fake_B, torch.ones_like(pred_fake_B))
            loss_G_B = criterionGAN(pred_fake_A, torch.ones_like(pred_fake_A))
            loss_cycle_A = criterionCycle(rec_A, A) * lambda_A
            loss_cycle_B = criterionCycle(rec_B, B) * lambda_B
            loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
            loss_G.backward()
            optimizer_G.step()
            set_requires_grad([netD_A, netD_B], True)
            optimizer_D.zero_grad()
            losses_D = []
            for netD, real, fake in (
                (netD_A, B, fake_B_pool.query(fake_B)),
                (netD_B, A, fake_A_pool.query(fake_A)),
            ):
                pred_real = netD(real)
                pred_fake = netD(fake.detach())
                loss_D = (
                    criterionGAN(pred_real, torch.ones_like(pred_real))
                    + criterionGAN(pred_fake, torch.zeros_like(pred_fake))
                ) * 0.5
                loss_D.backward()
                losses_D.append(loss_D.item())
            optimizer_D.step()
            log.append([loss_G.item(), loss_cycle_A.item(), loss_idt_A.item(), *losses_D])
        for scheduler in schedulers:
            scheduler.step()
        lrs.append(optimizer_G.param_groups[0]["lr"])
    with torch.no_grad():
        translated = netG_A(real_A)
    return {
        "initial": start,
        "log": np.array(log),
        "lrs": lrs,
        "translated": translated.numpy(),
        "pool": len(fake_A_pool.images),
    }
