"""A small PixelCNN on binarised 8x8 images: a MaskedConv2d that subclasses nn.Conv2d,
keeps its mask as a buffer built from self.weight.data.clone(), zeroes the masked taps by
slice assignment and multiplies the weight data by the mask in place before calling
super().forward; 256-way-style per-pixel logits (here 2-way) with cross-entropy over the
(N, C, H, W) layout, and sampling pixel by pixel under torch.no_grad() (argmax, so the
two libraries draw the same image)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MaskedConv2d(nn.Conv2d):
    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assert mask_type in {"A", "B"}
        self.register_buffer("mask", self.weight.data.clone())
        _, _, kH, kW = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B") :] = 0
        self.mask[:, :, kH // 2 + 1 :] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


def pixel_cnn(fm=8):
    return nn.Sequential(
        MaskedConv2d("A", 1, fm, 5, 1, 2, bias=False),
        nn.BatchNorm2d(fm),
        nn.ReLU(True),
        MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False),
        nn.BatchNorm2d(fm),
        nn.ReLU(True),
        MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False),
        nn.BatchNorm2d(fm),
        nn.ReLU(True),
        nn.Conv2d(fm, 2, 1),
    )


def run(initial=None):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    stripes = np.zeros((16, 1, 8, 8), dtype=np.float32)
    for i in range(16):
        stripes[i, 0, :, rng.integers(0, 8)] = 1  # a vertical line somewhere
        stripes[i, 0, rng.integers(0, 8), :] = 1  # and a horizontal one
    data = torch.from_numpy(stripes)
    net = pixel_cnn()
    if initial is not None:
        net.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    losses = []
    for _epoch in range(4):
        net.train()
        for i in range(0, 16, 8):
            input = data[i : i + 8]
            target = input[:, 0].long()
            loss = F.cross_entropy(net(input), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    net.eval()
    sample = torch.zeros(2, 1, 8, 8)
    sample[1, 0, 0, 3] = 1  # the second image starts from a given pixel
    with torch.no_grad():
        for i in range(8):
            for j in range(8):
                out = net(sample)
                probs = F.softmax(out[:, :, i, j], dim=1)
                drawn = probs.argmax(dim=1, keepdim=True).float()
                sample[:, :, i, j] = torch.maximum(sample[:, :, i, j], drawn)
        probs = F.softmax(net(data[:2]), dim=1)
    # each forward pass re-applies the mask to the weights the optimizer moved
    masked_zero = all(
        float((m.weight.data * (1 - m.mask)).abs().sum()) == 0.0
        for m in net.modules()
        if isinstance(m, MaskedConv2d)
    )
    return {
        "initial": start,
        "losses": losses,
        "masked_zero": masked_zero,
        "sample": sample.numpy(),
        "probs": probs.numpy(),
        "mask_a": net[0].mask[0, 0].numpy().copy(),
    }
