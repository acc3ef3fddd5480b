"""VGG-16 with BN for small inputs (CIFAR 32×32).

The paper's "VGG-16-M" is not defined in the authors' code (FACTS §1); its definition is settled
with the models/datasets work. This is the common CIFAR VGG-16-BN: thirteen 3×3 conv + BN + ReLU
layers in five stages, and a small classifier.
"""

from __future__ import annotations

import torch
from torch import nn

VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class VGG(nn.Module):
    example_input_shape = (1, 3, 32, 32)

    def __init__(self, num_classes: int = 100, stages=VGG16_STAGES, width_divisor: int = 1,
                 batch_norm: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for stage in stages:
            for width in stage:
                width = max(1, width // width_divisor)
                layers.append(nn.Conv2d(in_channels, width, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU(inplace=True))
                in_channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> (N, classes)
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
