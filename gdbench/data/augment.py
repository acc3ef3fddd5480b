"""Per-sample CIFAR augmentation on whole batches, on the batch's own device.

Random crop 32 with zero padding 4 and horizontal flip, drawn independently for every sample
(authors' baseline recipe). torchvision's batched v2 transforms draw one crop and one flip for
the whole batch (docs/facts.md, Library pitfalls), so they are not used here. Works on uint8 or float batches already
on the GPU, which keeps the whole CIFAR pipeline there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(images: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """images (N, C, H, W) -> (N, C, H, W), each sample shifted and flipped on its own."""
    n, _, height, width = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding))  # (N, C, H+2p, W+2p)
    offset_y = torch.randint(0, 2 * padding + 1, (n,), device=device, generator=generator)
    offset_x = torch.randint(0, 2 * padding + 1, (n,), device=device, generator=generator)
    flip = torch.rand(n, device=device, generator=generator) < 0.5
    rows = offset_y[:, None] + torch.arange(height, device=device)  # (N, H)
    columns = torch.arange(width, device=device).expand(n, width)
    columns = torch.where(flip[:, None], columns.flip(1), columns) + offset_x[:, None]  # (N, W)
    batch = torch.arange(n, device=device)[:, None, None]
    crops = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], columns[:, None, :]]  # (N, H, W, C)
    return crops.permute(0, 3, 1, 2).contiguous()
