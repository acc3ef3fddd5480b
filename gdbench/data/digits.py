"""scikit-learn's handwritten digits: 1,797 real 8×8 grey images of 10 classes, shipped inside the
scikit-learn package (`sklearn.datasets.load_digits`, the UCI "Optical Recognition of Handwritten
Digits" test set), so every machine has a real dataset without a download.

`prepare_digits` writes it once, under the data root, in gdbench's own layout:

    digits/
        train.npz   images uint8 (1257, 1, 8, 8), pixel values 0..16; labels int64 (1257,)
        val.npz     the same, 180 images (10 %)
        test.npz    the same, 360 images (20 %)
        split.json  how the split was drawn: seed, per-class counts per split, source, versions
        MANIFEST.json  md5 of each file (gdbench.data.integrity), checked by every loader

The split is stratified by class and seeded with SPLIT_SEED, fixed for all experiments and seeds
(an experiment's seed changes initialisation and batch order, never which images are tested).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from gdbench.data.integrity import DataError, verify_files, write_manifest

FOLDER = "digits"
SPLITS = ("train", "val", "test")
SPLIT_SEED = 0
TEST_SHARE, VAL_SHARE = 0.2, 0.1  # of all 1,797 images
# Images per class of load_digits (its DESCR: 1797 instances, about 180 per class); a different
# count means a different dataset, and is refused.
CLASS_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)
HINT = "run `gdbench data prepare --dataset digits --root {root}`"


def _source() -> tuple[np.ndarray, np.ndarray, str]:
    """(images uint8 (N, 1, 8, 8), labels int64 (N,), scikit-learn version), checked."""
    import sklearn
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images, digits.target
    counts = tuple(int(c) for c in np.bincount(labels, minlength=10))
    if images.shape != (1797, 8, 8) or counts != CLASS_COUNTS or images.min() < 0 or images.max() > 16:
        raise DataError(
            f"sklearn.datasets.load_digits returned {images.shape} images, class counts {counts}, "
            f"values {images.min()}..{images.max()}: not the 1,797 digits of counts {CLASS_COUNTS}, values 0..16"
        )
    return images.astype(np.uint8)[:, None], labels.astype(np.int64), sklearn.__version__


def split_indices(labels: np.ndarray, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Disjoint, class-stratified train / val / test indices (sorted) of `labels`."""
    from sklearn.model_selection import train_test_split

    everything = np.arange(len(labels))
    rest, test = train_test_split(everything, test_size=TEST_SHARE, stratify=labels, random_state=seed)
    val_share = VAL_SHARE / (1 - TEST_SHARE)
    train, val = train_test_split(rest, test_size=val_share, stratify=labels[rest], random_state=seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def prepare_digits(root: str | Path) -> Path:
    """Write the split files, split.json and the manifest (idempotent: the same bytes each time)."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    images, labels, version = _source()
    indices = split_indices(labels)
    train = images[indices["train"]].astype(np.float64)
    record = {
        "source": "sklearn.datasets.load_digits",
        "sklearn": version,
        "split_seed": SPLIT_SEED,
        "shares": {"val": VAL_SHARE, "test": TEST_SHARE},
        "per_class": {split: np.bincount(labels[index], minlength=10).tolist() for split, index in indices.items()},
        "mean": float(train.mean()),
        "std": float(train.std()),
    }
    for split, index in indices.items():
        # np.savez with fixed arrays writes the same bytes each run (no timestamps in .npy)
        with open(folder / f"{split}.npz", "wb") as handle:
            np.savez(handle, images=images[index], labels=labels[index])
    (folder / "split.json").write_text(json.dumps(record, indent=2))
    return write_manifest(folder, [*(f"{s}.npz" for s in SPLITS), "split.json"], source=record["source"])


def load_digits_split(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
    """uint8 images (N, 1, 8, 8), int64 labels (N,) of `split`, and the (mean, std) to normalise by."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = Path(root) / FOLDER
    verify_files(folder, [f"{split}.npz", "split.json"], HINT.format(root=root))
    try:
        with np.load(folder / f"{split}.npz") as data:
            images, labels = data["images"], data["labels"]
        record = json.loads((folder / "split.json").read_text())
        statistics = (float(record["mean"]), float(record["std"]))
    except (OSError, ValueError, KeyError) as error:
        raise DataError(f"{folder}: unreadable {split} split ({type(error).__name__}: {error})") from error
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (1, 8, 8) or len(labels) != len(images):
        raise DataError(f"{folder / split}.npz: expected uint8 images (N, 1, 8, 8) and N labels, got {images.shape}")
    return torch.from_numpy(images), torch.from_numpy(labels), statistics
