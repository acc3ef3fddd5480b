"""Classic FCN (Long, Shelhamer & Darrell, CVPR 2015) on a VGG-16 backbone: FCN-32s and FCN-8s.

VGG-16 has no BN, so Gate Decorator gates these convolutions with GatedConv2d (authors' issue
#16). The 100-pixel padding of conv1_1 and the crop offsets (19 for FCN-32s; 5, 9 and 31 for
FCN-8s) follow the FCN paper's Caffe models, which let any input size through.
"""

from __future__ import annotations

import torch
from torch import nn

_VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Per-channel bilinear up-sampling weights, (C, C, k, k), the FCN paper's initialisation."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    ramp = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / factor
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = ramp[:, None] * ramp[None, :]
    return weight


def _upsample(channels: int, kernel_size: int, stride: int) -> nn.ConvTranspose2d:
    layer = nn.ConvTranspose2d(channels, channels, kernel_size, stride=stride, bias=False)
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, kernel_size))
    return layer


class FCN(nn.Module):
    """FCN-32s (`variant="32s"`) or FCN-8s (`variant="8s"`); `width_divisor` thins every layer."""

    example_input_shape = (1, 3, 64, 64)

    def __init__(self, num_classes: int = 21, variant: str = "8s", width_divisor: int = 1):
        super().__init__()
        if variant not in ("32s", "8s"):
            raise ValueError(f"FCN variant must be '32s' or '8s', got {variant!r}")
        self.variant = variant
        stages, in_channels = [], 3
        for index, stage in enumerate(_VGG16_STAGES):
            layers: list[nn.Module] = []
            for position, width in enumerate(stage):
                width = max(1, width // width_divisor)
                padding = 100 if index == 0 and position == 0 else 1
                layers += [nn.Conv2d(in_channels, width, 3, padding=padding), nn.ReLU(inplace=True)]
                in_channels = width
            layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
            stages.append(nn.Sequential(*layers))
        self.stage1, self.stage2, self.stage3, self.stage4, self.stage5 = stages
        fc_width = max(1, 4096 // width_divisor)
        self.fc6 = nn.Sequential(nn.Conv2d(in_channels, fc_width, 7), nn.ReLU(inplace=True), nn.Dropout2d())
        self.fc7 = nn.Sequential(nn.Conv2d(fc_width, fc_width, 1), nn.ReLU(inplace=True), nn.Dropout2d())
        self.score_fr = nn.Conv2d(fc_width, num_classes, 1)
        if variant == "32s":
            self.upscore = _upsample(num_classes, 64, 32)
        else:
            self.score_pool4 = nn.Conv2d(stages[3][-3].out_channels, num_classes, 1)
            self.score_pool3 = nn.Conv2d(stages[2][-3].out_channels, num_classes, 1)
            self.upscore2 = _upsample(num_classes, 4, 2)
            self.upscore_pool4 = _upsample(num_classes, 4, 2)
            self.upscore8 = _upsample(num_classes, 16, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> (N, classes, H, W)
        height, width = x.shape[-2:]
        pool3 = self.stage3(self.stage2(self.stage1(x)))
        pool4 = self.stage4(pool3)
        score = self.score_fr(self.fc7(self.fc6(self.stage5(pool4))))
        if self.variant == "32s":
            return self.upscore(score)[:, :, 19 : 19 + height, 19 : 19 + width]
        up2 = self.upscore2(score)
        score_pool4 = self.score_pool4(pool4)[:, :, 5 : 5 + up2.shape[2], 5 : 5 + up2.shape[3]]
        up4 = self.upscore_pool4(up2 + score_pool4)
        score_pool3 = self.score_pool3(pool3)[:, :, 9 : 9 + up4.shape[2], 9 : 9 + up4.shape[3]]
        up8 = self.upscore8(up4 + score_pool3)
        return up8[:, :, 31 : 31 + height, 31 : 31 + width]
