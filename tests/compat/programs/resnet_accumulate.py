"""A tiny torchvision-style ResNet: BasicBlock with a downsample shortcut, the
model.modules() initialisation loop (kaiming_normal_ for convolutions, constant_ for
norms, zero-init of the last BN in each residual branch), SGD with Nesterov momentum
under MultiStepLR, label-smoothed cross-entropy, and gradient accumulation over
micro-batches with a custom autograd.Function (a straight-through clamp) on the way."""

import numpy as np
import torch
import torch.nn as nn


class StraightThroughClamp(torch.autograd.Function):
    """Clamps in the forward pass, passes the gradient through unchanged."""

    @staticmethod
    def forward(ctx, input, lo, hi):
        ctx.save_for_backward(input)
        ctx.lo, ctx.hi = lo, hi
        return input.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        inside = ((input > ctx.lo - 1) & (input < ctx.hi + 1)).to(grad_output.dtype)
        return grad_output * inside, None, None


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers=(1, 1), num_classes=4, width=4):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(2 * width, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2 * width * BasicBlock.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        for m in self.modules():
            if isinstance(m, BasicBlock) and m.bn2.weight is not None:
                nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * BasicBlock.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(
                    self.inplanes, planes * BasicBlock.expansion, 1, stride=stride, bias=False
                ),
                nn.BatchNorm2d(planes * BasicBlock.expansion),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * BasicBlock.expansion
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(StraightThroughClamp.apply(x, -3.0, 3.0))


def run(initial=None, accumulation_steps=2):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.normal(size=(24, 3, 8, 8)).astype(np.float32))
    targets = torch.from_numpy(rng.integers(0, 4, size=24))
    model = ResNet()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1, 2], gamma=0.1)

    losses, lrs = [], []
    for epoch in range(3):
        model.train()
        optimizer.zero_grad()
        for i in range(0, 24, 6):
            output = model(images[i : i + 6])
            loss = criterion(output, targets[i : i + 6]) / accumulation_steps
            loss.backward()
            if (i // 6 + 1) % accumulation_steps == 0:
                optimizer.step()
                optimizer.zero_grad()
            losses.append(loss.item())
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        print(f"Epoch [{epoch + 1}/3], Loss: {loss.item():.4f}")

    model.eval()
    with torch.no_grad():
        logits = model(images)
        top2 = logits.topk(2, dim=1).indices
        correct = top2.eq(targets.view(-1, 1).expand_as(top2)).any(dim=1).float().sum()
    return {
        "initial": start,
        "losses": losses,
        "lrs": lrs,
        "logits": logits.numpy(),
        "top2_acc": correct.item() / 24,
        "zero_bn2": float(start["layer1.0.bn2.weight"].sum()),
        "n_convs": sum(isinstance(m, nn.Conv2d) for m in model.modules()),
        "num_batches_tracked": int(model.bn1.num_batches_tracked),
    }
