"""Batches for training and evaluation, per dataset family (the dataset table,
gdbench.data.registry, says which family each dataset is).

Every family returns the same splits, by the experiment's `data.protocol`:
    paper    "train" is the whole training split (the authors trained on it and reported the
             last epoch); "monitor" is a fixed seeded subset of it in eval mode, for progress
             shown during pruning only; no split selects a model.
    heldout  "train" is the training split minus a seeded validation split of `val_size`, "val"
             (also "monitor") selects the best epoch.
"test" is the dataset's test split, read once per trained model at the end.
"subsets" records what a reduced dataset kept (gdbench.data.subset): images kept of each split.

CIFAR has two paths: the tensor path keeps the whole uint8 dataset on the training device and
augments each sample there (gdbench.data.augment), the DataLoader path decodes and augments on
CPU workers. The large datasets always use DataLoaders (a DistributedSampler under torchrun).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from gdbench.data import cub, digits, imagenet, voc
from gdbench.data.augment import random_crop_flip
from gdbench.data.cifar import load_cifar, train_val_split
from gdbench.data.images import ImageListDataset, classification_transform
from gdbench.data.subset import describe, subset_indices

# Per-channel mean and std of each training split, as the authors normalise (their
# loader/cifar10.py and loader/cifar100.py; docs/facts.md, Method).
CIFAR_STATISTICS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)),
    "cifar100": ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
}


class CifarTensorBatches:
    """Iterates (images, labels) batches from a uint8 (N, C, H, W) tensor held on `device`:
    shuffled and (with `augment`) cropped and flipped per sample on that device when `train`,
    normalised float out (`statistics`: per-channel mean and std of pixels scaled to [0, 1] by
    `pixel_max`)."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        train: bool,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
        statistics: tuple = CIFAR_STATISTICS["cifar10"],
        augment: bool = True,
        pixel_max: float = 255.0,
    ):
        self.images, self.labels = images.to(device), labels.to(device)
        self.batch_size, self.train, self.device = batch_size, train, torch.device(device)
        self.channels_last, self.augment = channels_last, augment
        mean, std = (torch.tensor(value, dtype=torch.float32, device=device).view(1, -1, 1, 1) for value in statistics)
        self.mean, self.std = mean * pixel_max, std * pixel_max

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self):
        count = len(self.labels)
        order = torch.randperm(count, device=self.device) if self.train else torch.arange(count, device=self.device)
        for start in range(0, count, self.batch_size):
            index = order[start : start + self.batch_size]
            images = self.images[index]
            if self.train and self.augment:
                images = random_crop_flip(images)
            images = (images.float() - self.mean) / self.std
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, self.labels[index]


class _CifarSamples(Dataset):
    """Per-sample CPU path: the same crop/flip/normalise, one image at a time."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, train: bool, statistics: tuple):
        # torchvision imports torch._dynamo (about 1.3 s): only image-dataset code loads it, so
        # CIFAR jobs start faster.
        from torchvision.transforms import v2

        steps = [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()] if train else []
        self.images, self.labels = images, labels
        self.transform = v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(*statistics)])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), self.labels[index]


@dataclass(frozen=True)
class LoaderConfig:
    dataset: str
    root: str
    batch_size: int = 128
    eval_batch_size: int = 256
    workers: int = 2
    tensor_path: bool = True  # CIFAR only: dataset resident on the device
    val_size: int = 5000  # carved from the training set (CIFAR 45k / 5k)
    image_size: int = 224  # CUB, ImageNet
    crop_size: int = 320  # VOC / SBD training crops
    seed: int = 0
    protocol: str = "paper"  # PROTOCOLS: what trains, what selects (module docstring)
    # reduced datasets (gdbench.data.subset): per class at most, or a share of each class
    train_per_class: int | None = None
    train_fraction: float | None = None
    test_per_class: int | None = None
    test_fraction: float | None = None

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"data.protocol = {self.protocol!r}: must be one of {PROTOCOLS}")
        for split in ("train", "test"):
            if getattr(self, f"{split}_per_class") is not None and getattr(self, f"{split}_fraction") is not None:
                raise ValueError(f"data.{split}_per_class and data.{split}_fraction: give one, not both")

    def reduce(self, split: str, count: int, labels=None) -> tuple[torch.Tensor | None, dict]:
        """(indices kept of a `split` of `count` samples, or None for all; what was kept)."""
        indices = subset_indices(
            count, labels, getattr(self, f"{split}_per_class"), getattr(self, f"{split}_fraction"), self.seed
        )
        return indices, describe(indices, count, labels)

    def split(self, count: int, smallest_share: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """(training indices, validation or monitor indices) of a training split of `count`: the
        monitor subset lies inside the training indices under `paper`, outside under `heldout`."""
        train_index, val_index = train_val_split(count, max(1, min(self.val_size, count // smallest_share)), self.seed)
        if self.protocol == "paper":
            train_index = torch.arange(count)
        return train_index, val_index

    def splits(self, train, val, test, subsets: dict | None = None) -> dict:
        """The loaders dict under this protocol (module docstring), from the three built splits."""
        if self.protocol == "paper":
            return {"train": train, "monitor": val, "test": test, "subsets": subsets or {}}
        return {"train": train, "val": val, "monitor": val, "test": test, "subsets": subsets or {}}


PROTOCOLS = ("paper", "heldout")


def _loader(dataset: Dataset, batch_size: int, train: bool, workers: int, distributed: bool) -> DataLoader:
    sampler = DistributedSampler(dataset, shuffle=train) if distributed else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        drop_last=False,
        persistent_workers=workers > 0,
    )


def cifar_loaders(config: LoaderConfig, device, channels_last: bool, distributed: bool) -> dict:
    images, labels = load_cifar(config.root, config.dataset, "train")
    test_images, test_labels = load_cifar(config.root, config.dataset, "test")
    splits = reduced_splits(config, images, labels, test_images, test_labels)
    images, labels, test_images, test_labels, subsets = splits
    train_index, val_index = config.split(len(labels))
    parts = {
        "train": (images[train_index], labels[train_index], True),
        "val": (images[val_index], labels[val_index], False),
        "test": (test_images, test_labels, False),
    }
    statistics = CIFAR_STATISTICS[config.dataset]
    if config.tensor_path and not distributed:
        built = {
            split: CifarTensorBatches(
                x, y, config.batch_size if train else config.eval_batch_size, train, device, channels_last, statistics
            )
            for split, (x, y, train) in parts.items()
        }
    else:
        built = {
            split: _loader(
                _CifarSamples(x, y, train, statistics),
                config.batch_size if train else config.eval_batch_size,
                train,
                config.workers,
                distributed and train,
            )
            for split, (x, y, train) in parts.items()
        }
    return config.splits(built["train"], built["val"], built["test"], subsets)


def reduced_splits(config: LoaderConfig, images, labels, test_images, test_labels) -> tuple:
    """Tensor splits cut to the configured subsets, and the record of what they kept."""
    train_keep, train_record = config.reduce("train", len(labels), labels)
    test_keep, test_record = config.reduce("test", len(test_labels), test_labels)
    if train_keep is not None:
        images, labels = images[train_keep], labels[train_keep]
    if test_keep is not None:
        test_images, test_labels = test_images[test_keep], test_labels[test_keep]
    return images, labels, test_images, test_labels, {"train": train_record, "test": test_record}


def digits_loaders(config: LoaderConfig, device, channels_last: bool, distributed: bool) -> dict:
    """scikit-learn's digits from its prepared split files (gdbench.data.digits): the validation
    split is its own file, so `heldout` selects on it; under `paper` the monitor subset is carved
    from the training split as for the other datasets. No augmentation: a flipped digit is
    another symbol, and a shifted 8×8 digit loses a quarter of its strokes."""
    images, labels, statistics = digits.load_digits_split(config.root, "train")
    val_images, val_labels, _ = digits.load_digits_split(config.root, "val")
    test_images, test_labels, _ = digits.load_digits_split(config.root, "test")
    splits = reduced_splits(config, images, labels, test_images, test_labels)
    images, labels, test_images, test_labels, subsets = splits
    if config.protocol == "paper":
        _, monitor = config.split(len(labels))
        val_images, val_labels = images[monitor], labels[monitor]
    mean, std = statistics

    def batches(x, y, train):
        size = config.batch_size if train else config.eval_batch_size
        return CifarTensorBatches(
            x, y, size, train, device, channels_last, ((mean,), (std,)), augment=False, pixel_max=1.0
        )

    return config.splits(
        batches(images, labels, True),
        batches(val_images, val_labels, False),
        batches(test_images, test_labels, False),
        subsets,
    )


def image_folder_loaders(config: LoaderConfig, device, channels_last: bool, distributed: bool) -> dict:
    """CUB-200 and ImageNet: decoded and augmented on CPU workers (`device` is where batches go)."""
    if config.dataset == "cub200":
        train_samples, test_samples = cub.load_cub(config.root, "train"), cub.load_cub(config.root, "test")
    else:
        train_samples = imagenet.load_imagenet(config.root, "train")
        test_samples = imagenet.load_imagenet(config.root, "val")  # ImageNet's val is the test set
    train_keep, train_record = config.reduce("train", len(train_samples), [label for _, label in train_samples])
    test_keep, test_record = config.reduce("test", len(test_samples), [label for _, label in test_samples])
    if train_keep is not None:
        train_samples = [train_samples[i] for i in train_keep.tolist()]
    if test_keep is not None:
        test_samples = [test_samples[i] for i in test_keep.tolist()]
    train_index, val_index = config.split(len(train_samples))
    train_set = ImageListDataset(train_samples, classification_transform(True, config.image_size))
    eval_set = ImageListDataset(train_samples, classification_transform(False, config.image_size))
    test_set = ImageListDataset(test_samples, classification_transform(False, config.image_size))
    return config.splits(
        _loader(Subset(train_set, train_index.tolist()), config.batch_size, True, config.workers, distributed),
        _loader(Subset(eval_set, val_index.tolist()), config.eval_batch_size, False, config.workers, False),
        _loader(test_set, config.eval_batch_size, False, config.workers, False),
        {"train": train_record, "test": test_record},
    )


def segmentation_loaders(config: LoaderConfig, device, channels_last: bool, distributed: bool) -> dict:
    train_pairs = voc.load_segmentation(config.root, "sbd_train")
    test_split = "seg11valid" if config.dataset == "voc_seg11valid" else "sbd_val"
    test_pairs = voc.load_segmentation(config.root, test_split)
    train_keep, train_record = config.reduce("train", len(train_pairs))
    test_keep, test_record = config.reduce("test", len(test_pairs))
    if train_keep is not None:
        train_pairs = [train_pairs[i] for i in train_keep.tolist()]
    if test_keep is not None:
        test_pairs = [test_pairs[i] for i in test_keep.tolist()]
    train_index, val_index = config.split(len(train_pairs))
    train_set = voc.SegmentationDataset([train_pairs[i] for i in train_index], config.crop_size, train=True)
    val_set = voc.SegmentationDataset([train_pairs[i] for i in val_index])
    # evaluation: whole images, one at a time (sizes differ), as the FCN paper scored them
    return config.splits(
        _loader(train_set, config.batch_size, True, config.workers, distributed),
        _loader(val_set, 1, False, config.workers, False),
        _loader(voc.SegmentationDataset(test_pairs), 1, False, config.workers, False),
        {"train": train_record, "test": test_record},
    )
