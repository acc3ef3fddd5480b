"""CIFAR ResNets (He et al. 2016, §4.2): 6n+2 layers, three stages of 16/32/64 channels.

The authors of Gate Decorator pruned a ResNet-56 whose down-sampling blocks use a 1×1-conv + BN
projection shortcut ("option B", authors' `models/cifar/resnet56.py`); that is the default here.
He et al.'s original "option A" (stride-2 subsampling and zero channel padding, no parameters)
is selectable with `shortcut="A"`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ChannelPadShortcut(nn.Module):
    """Option-A shortcut: keep every other pixel and zero-pad the channels (He et al. 2016).

    Channel i of the input becomes channel i + pad of the output, so the channels on both sides
    are tied by an index offset. gdbench's grouping freezes every channel that passes through
    this layer (gdbench.pruning.groups), told so by the attribute below.
    """

    maps_channels_with_offset = True

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, C', H/s, W/s)
        pad = self.out_channels - self.in_channels
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, pad // 2, pad - pad // 2))


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, channels: int, stride: int, shortcut: str):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            if shortcut == "A":
                self.shortcut = ChannelPadShortcut(in_channels, channels, stride)
            else:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(channels),
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    def __init__(
        self,
        depth: int = 56,
        num_classes: int = 10,
        shortcut: str = "B",
        base_width: int = 16,
        in_channels: int = 3,
        input_size: int = 32,
    ):
        super().__init__()
        self.example_input_shape = (1, in_channels, input_size, input_size)
        if (depth - 2) % 6 != 0:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be 'A' or 'B', got {shortcut!r}")
        blocks_per_stage = (depth - 2) // 6
        widths = (base_width, 2 * base_width, 4 * base_width)
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        stages, in_channels = [], widths[0]
        for stage, width in enumerate(widths):
            blocks = []
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(BasicBlock(in_channels, width, stride, shortcut))
                in_channels = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[2], num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, classes)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(torch.flatten(self.avgpool(out), 1))


def resnet_cifar(
    depth: int = 56, num_classes: int = 10, shortcut: str = "B", base_width: int = 16, **kwargs
) -> ResNetCifar:
    return ResNetCifar(depth, num_classes, shortcut, base_width, **kwargs)
