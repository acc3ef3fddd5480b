"""Datasets of image files: reading with errors that name the file, and the standard transforms."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from gdbench.data.integrity import DataError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def read_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(f"{path} is not a readable image ({error})") from error


def read_palette_mask(path: Path, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Class ids of a VOC palette PNG (mode 'P'); never converted to RGB (docs/facts.md, Data)."""
    try:
        with Image.open(path) as image:
            if image.mode not in ("P", "L"):
                raise DataError(f"{path}: mask must be a palette ('P') PNG of class ids, got mode {image.mode}")
            mask = np.array(image)
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"{path} is not a readable mask ({error})") from error
    return check_mask(mask, path, num_classes, ignore_index)


def check_mask(mask: np.ndarray, path: Path, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    bad = (mask >= num_classes) & (mask != ignore_index)
    if bad.any():
        raise DataError(
            f"{path}: mask labels {sorted(set(np.unique(mask[bad]).tolist()))} are outside "
            f"[0, {num_classes}) and not the ignore label {ignore_index}"
        )
    return mask


def classification_transform(train: bool, size: int) -> Callable:
    """ImageNet-style: random-resized crop + flip for training, resize + centre crop otherwise."""
    # torchvision imports torch._dynamo (about 1.3 s): only image-dataset code loads it, so
    # CIFAR jobs start faster.
    from torchvision.transforms import v2

    steps = (
        [v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
        if train
        else [v2.Resize(int(size * 8 / 7), antialias=True), v2.CenterCrop(size)]
    )
    return v2.Compose(
        [v2.PILToTensor(), *steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    )


class ImageListDataset(Dataset):
    """(image path, label) pairs read lazily; a bad file raises DataError naming it."""

    def __init__(self, samples: list[tuple[Path, int]], transform: Callable | None = None):
        self.samples, self.transform = samples, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        image = read_rgb(path)
        return (self.transform(image) if self.transform else image), label
