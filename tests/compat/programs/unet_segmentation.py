"""A two-level U-Net for binary segmentation of random blobs: double-conv blocks,
MaxPool2d down, bilinear nn.Upsample (align_corners=True) and F.interpolate up, skip
connections by torch.cat on channels, F.pad to match sizes, a soft Dice loss plus
BCEWithLogitsLoss with pos_weight, Adam with ExponentialLR, IoU under torch.no_grad()."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels=1, n_classes=1, width=4):
        super().__init__()
        self.inc = DoubleConv(n_channels, width)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(width, 2 * width))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(2 * width, 2 * width))
        self.up1 = Up(4 * width, width)
        self.up2 = Up(2 * width, width)
        self.outc = nn.Conv2d(width, n_classes, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def dice_loss(logits, target, epsilon=1e-6):
    probs = torch.sigmoid(logits)
    inter = 2 * (probs * target).sum(dim=(-1, -2))
    sets_sum = probs.sum(dim=(-1, -2)) + target.sum(dim=(-1, -2))
    sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
    dice = (inter + epsilon) / (sets_sum + epsilon)
    return 1 - dice.mean()


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(8)
    yy, xx = np.mgrid[0:12, 0:12]
    centres = rng.integers(3, 9, size=(8, 2))
    masks = np.stack([((yy - cy) ** 2 + (xx - cx) ** 2 < 6) for cy, cx in centres])
    images = masks + 0.5 * rng.standard_normal(masks.shape)
    x = torch.from_numpy(images[:, None].astype(np.float32))
    y = torch.from_numpy(masks[:, None].astype(np.float32))
    model = UNet()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    losses = []
    for _epoch in range(5):
        model.train()
        masks_pred = model(x)
        loss = criterion(masks_pred, y) + dice_loss(masks_pred, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(x)
        pred = (torch.sigmoid(logits) > 0.5).float()
        inter = (pred * y).sum()
        iou = inter / (pred.sum() + y.sum() - inter + 1e-6)
        coarse = F.interpolate(logits, size=(6, 6), mode="bilinear", align_corners=False)
        nearest = F.interpolate(logits, scale_factor=0.5, mode="nearest")
    return {
        "initial": start,
        "losses": losses,
        "logits": logits.numpy(),
        "iou": iou.item(),
        "coarse": coarse.numpy(),
        "nearest": nearest.numpy(),
        "lr": scheduler.get_last_lr()[0],
    }
