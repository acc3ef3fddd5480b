"""CIFAR-10 and CIFAR-100 in their original python-pickle format (Krizhevsky 2009).

    cifar-10-batches-py/   data_batch_1..5, test_batch, batches.meta   ('labels')
    cifar-100-python/      train, test, meta                           ('fine_labels')

Each pickle holds `data`, uint8 (N, 3072) in CHW order, and its labels. Images come back as one
uint8 tensor (N, 3, 32, 32), small enough to keep whole on a GPU (gdbench's fast path).
"""

from __future__ import annotations

import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gdbench.data.integrity import DataError, download, md5_file, safe_extract, verify_files, write_manifest


@dataclass(frozen=True)
class CifarSpec:
    folder: str
    url: str
    archive_md5: str
    train_files: dict[str, str]  # file -> official md5
    test_files: dict[str, str]
    meta_file: tuple[str, str]
    label_key: str
    num_classes: int


# Official checksums (the dataset page's archives; the same values torchvision checks).
SPECS = {
    "cifar10": CifarSpec(
        folder="cifar-10-batches-py",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        archive_md5="c58f30108f718f92721af3b95e74349a",
        train_files={
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        },
        test_files={"test_batch": "40351d587109b95175f43aff81a1287e"},
        meta_file=("batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
        label_key="labels",
        num_classes=10,
    ),
    "cifar100": CifarSpec(
        folder="cifar-100-python",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
        train_files={"train": "16019d7e3df5f24257cddd939b257f8d"},
        test_files={"test": "f0ef6b0ae62326f3e7ffdfab6717acfc"},
        meta_file=("meta", "7973b15100ade9c7d40fb424638fde48"),
        label_key="fine_labels",
        num_classes=100,
    ),
}


def _spec(name: str) -> CifarSpec:
    if name not in SPECS:
        raise KeyError(f"unknown CIFAR dataset {name!r}; known: {', '.join(SPECS)}")
    return SPECS[name]


def _all_files(spec: CifarSpec) -> list[str]:
    return [*spec.train_files, *spec.test_files, spec.meta_file[0]]


def _read_pickle(path: Path, label_key: str) -> tuple[np.ndarray, list[int]]:
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle, encoding="latin1")  # python-2 pickles
        data, labels = entry["data"], entry[label_key]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
        raise DataError(f"{path} is not a readable CIFAR pickle ({type(error).__name__}: {error})") from error
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(
            f"{path}: expected uint8 data (N, 3072) with N labels, got {data.dtype} "
            f"{data.shape} and {len(labels)} labels"
        )
    return data, labels


def load_cifar(root: str | Path, name: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, 3, 32, 32) and int64 labels (N,) of split 'train' or 'test'."""
    spec = _spec(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(root) / spec.folder
    files = list(spec.train_files if split == "train" else spec.test_files)
    hint = f"run `gdbench data prepare --dataset {name} --root {root}` (or `gdbench data synth` for generated data)"
    verify_files(folder, files, hint)
    parts = [_read_pickle(folder / file, spec.label_key) for file in files]
    images = np.concatenate([data for data, _ in parts]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([np.asarray(lab, dtype=np.int64) for _, lab in parts])
    if labels.min() < 0 or labels.max() >= spec.num_classes:
        raise DataError(f"{folder}: labels outside [0, {spec.num_classes})")
    return torch.from_numpy(images), torch.from_numpy(labels)


def train_val_split(num_samples: int, val_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint train / validation indices carved from the training set (CIFAR: 45k / 5k);
    model selection uses validation, the test set is evaluated once at the end."""
    if not 0 < val_size < num_samples:
        raise ValueError(f"val_size must be in (0, {num_samples}), got {val_size}")
    order = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed))
    return order[val_size:].sort().values, order[:val_size].sort().values


def prepare_cifar(root: str | Path, name: str) -> Path:
    """Download (if needed), verify the official checksums, extract safely, write the manifest."""
    spec = _spec(name)
    root = Path(root)
    archive = download(spec.url, root / Path(spec.url).name, spec.archive_md5)
    folder = root / spec.folder
    if not folder.is_dir():
        if not tarfile.is_tarfile(archive):
            raise DataError(f"{archive} is not a tar archive")
        safe_extract(archive, root)
    official = {**spec.train_files, **spec.test_files, spec.meta_file[0]: spec.meta_file[1]}
    for file, md5 in official.items():
        if not (folder / file).is_file() or md5_file(folder / file) != md5:
            raise DataError(f"{folder / file} is missing or does not match the official md5 {md5}")
    return write_manifest(folder, _all_files(spec), source=spec.url)
