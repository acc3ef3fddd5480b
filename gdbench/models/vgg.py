"""VGG-16-M: the paper's VGG-16 for CIFAR-100 (32×32) and CUB-200 (224×224).

The paper does not define "VGG-16-M" and the authors' code holds no model of that name
(docs/facts.md, Method). We take the authors' CIFAR VGG-16 (`models/cifar/vgg.py`): thirteen 3×3 convolutions (with
bias) + BN + ReLU in five stages, max-pooling after each, and a single linear classifier on the
512 pooled features. For 224×224 inputs the global average pool makes the same net work, and its
`features` are laid out as torchvision's `vgg16_bn`, so ImageNet weights load by name
(gdbench.models.pretrained) for CUB-200.
"""
# DEVIATION: "VGG-16-M" = the authors' CIFAR VGG-16 (one linear classifier, global average
# pooling) for both CIFAR-100 and CUB-200; the paper gives no definition.

from __future__ import annotations

import torch
from torch import nn

VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class VGG(nn.Module):
    def __init__(
        self,
        num_classes: int = 100,
        stages=VGG16_STAGES,
        width_divisor: int = 1,
        batch_norm: bool = True,
        input_size: int = 32,
        in_channels: int = 3,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        image_channels = in_channels
        for stage in stages:
            for width in stage:
                width = max(1, width // width_divisor)
                layers.append(nn.Conv2d(in_channels, width, 3, padding=1))  # bias, as the authors' VGG
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU(inplace=True))
                in_channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.example_input_shape = (1, image_channels, input_size, input_size)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, classes)
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
