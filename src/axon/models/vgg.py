"""VGG (Simonyan and Zisserman, 2014): stacks of 3x3 convolutions, as in
``torchvision.models.vgg*`` (same modules, names, state-dict keys and initialisation)."""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor

__all__ = [
    "VGG",
    "make_layers",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]

# The paper's configurations: an int is a 3x3 convolution (padding 1) with that many
# output channels followed by ReLU, "M" a 2x2 max pool with stride 2 (halves the side).
CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # VGG-11
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # 13
    "D": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ],  # VGG-16
    "E": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],  # VGG-19
}


def _every(module: nn.Module, tensor: Tensor) -> bool:
    """``init._deferred``'s predicate for VGG: every Conv2d and Linear parameter (all
    that ``VGG._initialize_weights`` draws; batch norms draw nothing)."""
    return isinstance(module, nn.Conv2d | nn.Linear)


def make_layers(cfg: list[int | str], batch_norm: bool = False) -> nn.Sequential:
    """The convolutional trunk: ``Conv2d(3x3, pad 1) -> [BatchNorm2d] -> ReLU`` for each
    int in ``cfg`` and ``MaxPool2d(2, 2)`` for each ``"M"``, numbered in one Sequential."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU(inplace=True))
        in_channels = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (the conv trunk from :func:`make_layers`), ``avgpool``
    (AdaptiveAvgPool2d((7, 7))) and ``classifier``:
    Linear(25088, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout,
    Linear(4096, num_classes).

    On 224x224 inputs the five pools leave 512x7x7 = 25,088 features; the adaptive pool
    gives the classifier that size for any input (on 64x64 it spreads 2x2 over 7x7).
    With ``init_weights`` (torchvision's scheme): convolutions Kaiming-normal with
    fan_out and the ReLU gain (std = sqrt(2 / (out_channels * 9))), their biases 0;
    batch norm weight 1, bias 0; Linear weights N(0, 0.01^2), biases 0. Those layers
    skip their default draw (``nn.init._deferred``), so each weight is drawn once: the
    ``classifier`` made here, and the ``features`` when built by ``vgg16()`` and kin.
    """

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        with nn.init._deferred(_every if init_weights else None):  # drawn once, below
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(True),
                nn.Dropout(p=dropout),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(p=dropout),
                nn.Linear(4096, num_classes),
            )
        if init_weights:
            self._initialize_weights()

    def _initialize_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # (N, 512, h / 32, w / 32)
        x = self.avgpool(x)  # (N, 512, 7, 7)
        x = x.flatten(1)  # (N, 25088)
        return self.classifier(x)


def _vgg(cfg: str, batch_norm: bool, num_classes: int, dropout: float, init_weights: bool) -> VGG:
    # VGG's _initialize_weights draws every Conv2d and Linear parameter: the layers skip
    # their default draw, so each weight is drawn once (torchvision draws them twice)
    with nn.init._deferred(_every if init_weights else None):
        features = make_layers(CFGS[cfg], batch_norm=batch_norm)
    return VGG(features, num_classes=num_classes, init_weights=init_weights, dropout=dropout)


def vgg11(
    num_classes: int = 1000,
    batch_norm: bool = False,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """VGG-11 (configuration "A"): 8 convolutions + 3 Linear; 132,863,336 parameters."""
    return _vgg("A", batch_norm, num_classes, dropout, init_weights)


def vgg13(
    num_classes: int = 1000,
    batch_norm: bool = False,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """VGG-13 (configuration "B"): 10 convolutions + 3 Linear; 133,047,848 parameters."""
    return _vgg("B", batch_norm, num_classes, dropout, init_weights)


def vgg16(
    num_classes: int = 1000,
    batch_norm: bool = False,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """VGG-16 (configuration "D"): 13 convolutions + 3 Linear; 138,357,544 parameters."""
    return _vgg("D", batch_norm, num_classes, dropout, init_weights)


def vgg19(
    num_classes: int = 1000,
    batch_norm: bool = False,
    dropout: float = 0.5,
    init_weights: bool = True,
) -> VGG:
    """VGG-19 (configuration "E"): 16 convolutions + 3 Linear; 143,667,240 parameters."""
    return _vgg("E", batch_norm, num_classes, dropout, init_weights)


def vgg11_bn(num_classes: int = 1000, dropout: float = 0.5, init_weights: bool = True) -> VGG:
    """VGG-11 with BatchNorm2d after every convolution."""
    return _vgg("A", True, num_classes, dropout, init_weights)


def vgg13_bn(num_classes: int = 1000, dropout: float = 0.5, init_weights: bool = True) -> VGG:
    """VGG-13 with BatchNorm2d after every convolution."""
    return _vgg("B", True, num_classes, dropout, init_weights)


def vgg16_bn(num_classes: int = 1000, dropout: float = 0.5, init_weights: bool = True) -> VGG:
    """VGG-16 with BatchNorm2d after every convolution."""
    return _vgg("D", True, num_classes, dropout, init_weights)


def vgg19_bn(num_classes: int = 1000, dropout: float = 0.5, init_weights: bool = True) -> VGG:
    """VGG-19 with BatchNorm2d after every convolution."""
    return _vgg("E", True, num_classes, dropout, init_weights)
