"""AlexNet (Krizhevsky et al., 2012), in torchvision's single-tower form ("One weird
trick", Krizhevsky 2014): the same modules, names and state-dict keys as
``torchvision.models.alexnet``, so its weights load unchanged."""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """Five convolutions and three fully connected layers; 61,100,840 parameters.

    Shapes for a batch of N 3x224x224 images::

        features.0   Conv2d(3, 64, 11, stride 4, pad 2)   (N, 64, 55, 55)
        features.2   MaxPool2d(3, stride 2)               (N, 64, 27, 27)
        features.3   Conv2d(64, 192, 5, pad 2)            (N, 192, 27, 27)
        features.5   MaxPool2d(3, stride 2)               (N, 192, 13, 13)
        features.6   Conv2d(192, 384, 3, pad 1)           (N, 384, 13, 13)
        features.8   Conv2d(384, 256, 3, pad 1)           (N, 256, 13, 13)
        features.10  Conv2d(256, 256, 3, pad 1)           (N, 256, 13, 13)
        features.12  MaxPool2d(3, stride 2)               (N, 256, 6, 6)
        avgpool      AdaptiveAvgPool2d((6, 6))            (N, 256, 6, 6)
        flatten                                           (N, 9216)
        classifier   Dropout, Linear(9216, 4096), ReLU,
                     Dropout, Linear(4096, 4096), ReLU,
                     Linear(4096, num_classes)            (N, num_classes)

    Every convolution and hidden Linear is followed by a ReLU. The adaptive pooling makes
    the classifier's input 256x6x6 whatever the image size (63x63 is the smallest that
    survives the three max pools). Weights keep PyTorch's default initialisation.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # (N, 256, h, w)
        x = self.avgpool(x)  # (N, 256, 6, 6)
        x = x.flatten(1)  # (N, 9216)
        return self.classifier(x)


def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet as in torchvision (see :class:`AlexNet`)."""
    return AlexNet(num_classes=num_classes, dropout=dropout)
