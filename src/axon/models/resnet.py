"""ResNet (He et al., 2015): deep networks made trainable by residual connections, as in
``torchvision.models.resnet*`` (same modules, names, state-dict keys and initialisation).

A residual block learns a correction F(x) to its input instead of a whole new mapping:

    y = relu(F(x) + shortcut(x))

where the shortcut is the identity, or a strided 1x1 convolution + batch norm when the
block changes the number of channels or the resolution. Because dy/dx = dF/dx + 1
(through the identity path), the gradient reaches early layers undiminished.
"""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "conv1x1",
    "conv3x3",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 and no bias (the batch norm after it has one)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution without bias (changes channels; with stride 2, the resolution)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """The block of ResNet-18/34: two 3x3 convolutions and a skip connection.

        F(x) = bn2(conv2(relu(bn1(conv1(x)))))
        y    = relu(F(x) + x)                 (identity shortcut)
        y    = relu(F(x) + downsample(x))     (downsample = 1x1 conv, stride s -> bn)

    ``conv1`` carries the stride, so F(x) and the shortcut have the same shape:
    (N, inplanes, H, W) -> (N, planes, H / stride, W / stride).
    """

    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))  # F(x)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)  # relu(F(x) + x)


class Bottleneck(nn.Module):
    """The block of ResNet-50/101/152: 1x1 (reduce) -> 3x3 (strided) -> 1x1 (expand x4).

        F(x) = bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))))
        y    = relu(F(x) + shortcut(x))

    The stride sits on the 3x3 convolution (torchvision's "ResNet v1.5").
    """

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))  # F(x)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def _conv_weight(module: nn.Module, tensor: Tensor) -> bool:
    """``init._deferred``'s predicate for ResNet: the weights of Conv2d layers (the
    ones ``ResNet.__init__`` draws itself)."""
    return isinstance(module, nn.Conv2d) and tensor is module.weight


class ResNet(nn.Module):
    """A stem, four stages of residual blocks, global average pooling and one Linear.

    Shapes for N 3x224x224 images (ResNet-18/34; Bottleneck stages are 4x wider)::

        conv1    Conv2d(3, 64, 7, stride 2, pad 3), bn1, relu   (N, 64, 112, 112)
        maxpool  MaxPool2d(3, stride 2, pad 1)                  (N, 64, 56, 56)
        layer1   blocks of 64 channels                          (N, 64, 56, 56)
        layer2   128 channels, first block stride 2             (N, 128, 28, 28)
        layer3   256 channels, first block stride 2             (N, 256, 14, 14)
        layer4   512 channels, first block stride 2             (N, 512, 7, 7)
        avgpool  AdaptiveAvgPool2d((1, 1))                      (N, 512, 1, 1)
        fc       Linear(512, num_classes) after flattening      (N, num_classes)

    The first block of a stage gets a ``downsample`` shortcut (1x1 conv + BN) when it
    changes the resolution or the channel count. Initialisation as torchvision's:
    convolutions Kaiming-normal (fan_out, ReLU gain), batch norms weight 1 and bias 0,
    the fc layer PyTorch's default; ``zero_init_residual`` zeroes each block's last BN
    weight so that every block starts as the identity.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = 64
        # every Conv2d weight is drawn below (Kaiming-normal): the convolutions skip their
        # default draw of it, so each is drawn once (torchvision draws them twice)
        with nn.init._deferred(_conv_weight):
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(self.inplanes)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, 64, layers[0])
            self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
            self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
            self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        """One stage: ``blocks`` blocks of ``planes`` channels, the first with ``stride``."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H / 4, W / 4)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)  # (N, 512 * expansion, H / 32, W / 32)
        x = self.avgpool(x)  # (N, 512 * expansion, 1, 1)
        x = x.flatten(1)  # (N, 512 * expansion)
        return self.fc(x)


def resnet18(num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2]; 11,689,512 parameters."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, zero_init_residual)


def resnet34(num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]; 21,797,672 parameters."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, zero_init_residual)


def resnet50(num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3]; 25,557,032 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, zero_init_residual)


def resnet101(num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-101: Bottlenecks [3, 4, 23, 3]; 44,549,160 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, zero_init_residual)


def resnet152(num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-152: Bottlenecks [3, 8, 36, 3]; 60,192,808 parameters."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, zero_init_residual)
