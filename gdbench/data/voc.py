"""PASCAL VOC 2011 + SBD for FCN segmentation, 21 classes, label 255 = ignore / object border.

The paper trains on SBD train (8498 images) and tests on SBD val (2857), as the FCN paper's
released models did; the FCN paper's VOC 2011 list `seg11valid` (736 images) is selectable.

    <root>/benchmark_RELEASE/dataset/img/<id>.jpg, cls/<id>.mat (GTcls.Segmentation), train.txt, val.txt
    <root>/VOCdevkit/VOC2011/JPEGImages/<id>.jpg, SegmentationClass/<id>.png (palette PNG),
        ImageSets/Segmentation/seg11valid.txt
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import torch
from torch.utils.data import Dataset

from gdbench.data.images import IMAGENET_MEAN, IMAGENET_STD, check_mask, read_palette_mask, read_rgb
from gdbench.data.integrity import DataError, download, safe_extract, verify_files, write_manifest

NUM_CLASSES, IGNORE_INDEX = 21, 255
SBD_FOLDER = Path("benchmark_RELEASE") / "dataset"
SBD_URL = "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz"
SBD_MD5 = "82b4d87ceb2ed10f6038a1cba92111cb"
SBD_COUNTS = {"train.txt": 8498, "val.txt": 2857}
VOC_FOLDER = Path("VOCdevkit") / "VOC2011"
SEG11VALID = Path("ImageSets") / "Segmentation" / "seg11valid.txt"
SPLITS = ("sbd_train", "sbd_val", "seg11valid")


def read_sbd_mask(path: Path) -> np.ndarray:
    try:
        mask = scipy.io.loadmat(path)["GTcls"][0]["Segmentation"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise DataError(f"{path} is not a readable SBD class file ({type(error).__name__}: {error})") from error
    return check_mask(np.asarray(mask, dtype=np.uint8), path, NUM_CLASSES, IGNORE_INDEX)


def _ids(list_file: Path) -> list[str]:
    if not list_file.is_file():
        raise DataError(f"split list {list_file} is missing")
    return [line.strip() for line in list_file.read_text().splitlines() if line.strip()]


def load_segmentation(root: str | Path, split: str) -> list[tuple[Path, Path]]:
    """(image path, mask path) pairs of 'sbd_train', 'sbd_val' or 'seg11valid'."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root)
    if split == "seg11valid":
        folder = root / VOC_FOLDER
        verify_files(folder, [str(SEG11VALID)], f"run `gdbench data prepare --dataset voc2011 --root {root}`")
        pairs = [
            (folder / "JPEGImages" / f"{i}.jpg", folder / "SegmentationClass" / f"{i}.png")
            for i in _ids(folder / SEG11VALID)
        ]
    else:
        folder = root / SBD_FOLDER
        list_name = "train.txt" if split == "sbd_train" else "val.txt"
        verify_files(folder, [list_name], f"run `gdbench data prepare --dataset sbd --root {root}`")
        pairs = [(folder / "img" / f"{i}.jpg", folder / "cls" / f"{i}.mat") for i in _ids(folder / list_name)]
    for image, mask in pairs:
        for path in (image, mask):
            if not path.is_file():
                raise DataError(f"{path} is missing (listed in the {split} split)")
    return pairs


class SegmentationDataset(Dataset):
    """Image tensor (3, H, W) normalised, mask (H, W) int64. With `crop_size`, a random crop
    (padding: image 0, mask 255) and flip for training, a top-left pad/crop for evaluation."""

    def __init__(self, pairs: list[tuple[Path, Path]], crop_size: int | None = None, train: bool = False):
        self.pairs, self.crop_size, self.train = pairs, crop_size, train

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        from torchvision.transforms.v2 import functional as TF  # loaded on first use (see images.py)

        image_path, mask_path = self.pairs[index]
        image = TF.to_dtype(TF.pil_to_tensor(read_rgb(image_path)), torch.float32, scale=True)
        raw = read_sbd_mask(mask_path) if mask_path.suffix == ".mat" else read_palette_mask(mask_path, NUM_CLASSES)
        mask = torch.from_numpy(raw.astype(np.int64))
        if mask.shape != image.shape[1:]:
            raise DataError(f"{mask_path}: mask {tuple(mask.shape)} does not match image {tuple(image.shape[1:])}")
        if self.crop_size is not None:
            image, mask = self._crop(image, mask)
        return TF.normalize(image, IMAGENET_MEAN, IMAGENET_STD), mask

    def _crop(self, image: torch.Tensor, mask: torch.Tensor):
        size = self.crop_size
        pad_h, pad_w = max(0, size - image.shape[1]), max(0, size - image.shape[2])
        image = torch.nn.functional.pad(image, (0, pad_w, 0, pad_h))
        mask = torch.nn.functional.pad(mask, (0, pad_w, 0, pad_h), value=IGNORE_INDEX)
        top = int(torch.randint(0, image.shape[1] - size + 1, ())) if self.train else 0
        left = int(torch.randint(0, image.shape[2] - size + 1, ())) if self.train else 0
        image, mask = image[:, top : top + size, left : left + size], mask[top : top + size, left : left + size]
        if self.train and torch.rand(()) < 0.5:
            image, mask = image.flip(-1), mask.flip(-1)
        return image, mask


def prepare_sbd(root: str | Path, allow_partial: bool = False) -> Path:
    root = Path(root)
    folder = root / SBD_FOLDER
    if not (folder / "train.txt").is_file():
        safe_extract(download(SBD_URL, root / "benchmark.tgz", SBD_MD5), root)
    for list_name, count in SBD_COUNTS.items():
        found = len(_ids(folder / list_name))
        if found != count and not allow_partial:
            raise DataError(f"{folder / list_name} lists {found} images, expected {count}")
    return write_manifest(folder, list(SBD_COUNTS), source=SBD_URL)


def prepare_voc2011(root: str | Path, allow_partial: bool = False) -> Path:
    """VOC 2011's original host is gone (docs/facts.md, Data): check a manual placement."""
    folder = Path(root) / VOC_FOLDER
    hint = (
        f"place VOC 2011 as {folder}/JPEGImages/*.jpg and {folder}/SegmentationClass/*.png, and "
        f"the FCN paper's seg11valid list (736 ids) as {folder / SEG11VALID}"
    )
    if not (folder / SEG11VALID).is_file():
        raise DataError(f"{folder / SEG11VALID} is missing: {hint}")
    found = len(_ids(folder / SEG11VALID))
    if found != 736 and not allow_partial:
        raise DataError(f"{folder / SEG11VALID} lists {found} ids, expected 736: {hint}")
    return write_manifest(folder, [str(SEG11VALID)], source="manual placement")
