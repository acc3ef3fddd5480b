"""A dataset from the user's own module (README, "Add your own model, method or dataset").

The small interface: an object (a module, a class instance, a SimpleNamespace) with

    num_classes: int
    prepare(root: Path) -> None          write the data under `root` (the prepare_data job, once)
    load(root: Path, split) -> (images, labels)
                                         split "train" and "test", and "val" if it has one (else
                                         None); images float (N, C, H, W), labels int64 (N,)

`root` is `<data_root>/<name>/`. After `prepare`, gdbench writes `manifest.json` (every file's
md5) there, and every job verifies those files before it loads them: a file changed or truncated
after preparation is named before any training starts. Batches come from the same tensor batches as the digits: shuffled
training batches, normalised by the training split's per-channel mean and std, no augmentation,
the `paper` / `heldout` protocols and the reduced subsets (`train_per_class`, ...) as for every
built-in dataset. A dataset that needs more (image files, workers, augmentation) can instead be a
full `gdbench.data.registry.DatasetSpec`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from gdbench.data.integrity import MANIFEST, DataError, verify_files, write_manifest
from gdbench.data.loaders import CifarTensorBatches, LoaderConfig, reduced_splits

INTERFACE = ("num_classes", "prepare", "load")


def missing_interface(plugin) -> list[str]:
    return [name for name in INTERFACE if not hasattr(plugin, name)]


def record_prepared(root: Path, name: str) -> Path:
    """The manifest of what `prepare` wrote under `root` (every file, md5), for `verify_prepared`."""
    files = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file() and path.name != MANIFEST)
    return write_manifest(root, files, f"dataset plug-in {name}: its prepare(root)")


def verify_prepared(root: Path) -> None:
    """Every file the manifest lists is there with its md5; else DataError naming it."""
    hint = "run its prepare_data job again (snakemake --forcerun prepare_data)"
    if not (root / MANIFEST).is_file():
        raise DataError(f"{root / MANIFEST} is missing: the dataset was not prepared by gdbench; {hint}")
    try:
        files = list(json.loads((root / MANIFEST).read_text())["md5"])
    except (ValueError, KeyError) as error:
        raise DataError(f"{root / MANIFEST} is unreadable ({error}): {hint}") from error
    verify_files(root, files, hint)


def _split(plugin, root: Path, split: str):
    loaded = plugin.load(root, split)
    if loaded is None:
        return None
    images, labels = (torch.as_tensor(part) for part in loaded)
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"{root}: load(root, {split!r}) must return float images (N, C, H, W), got "
            f"{images.dtype} {tuple(images.shape)}"
        )
    if labels.shape != (len(images),):
        raise ValueError(
            f"{root}: load(root, {split!r}) returned {len(images)} images but labels of shape {tuple(labels.shape)}"
        )
    return images.float(), labels.long()


def tensor_loaders(name: str, plugin):
    """The loaders function of a DatasetSpec (config, device, channels_last, distributed) -> dict."""

    def loaders(config: LoaderConfig, device, channels_last: bool, distributed: bool) -> dict:
        root = Path(config.root) / name
        verify_prepared(root)
        images, labels = _split(plugin, root, "train")
        test_images, test_labels = _split(plugin, root, "test")
        validation = _split(plugin, root, "val")
        splits = reduced_splits(config, images, labels, test_images, test_labels)
        images, labels, test_images, test_labels, subsets = splits
        if config.protocol == "paper" or validation is None:
            train_index, monitor = config.split(len(labels))
            validation = images[monitor], labels[monitor]
            images, labels = images[train_index], labels[train_index]
        mean = images.mean(dim=(0, 2, 3)).tolist()
        std = images.std(dim=(0, 2, 3)).clamp_min(1e-8).tolist()

        def batches(x, y, train):
            size = config.batch_size if train else config.eval_batch_size
            return CifarTensorBatches(
                x, y, size, train, device, channels_last, (mean, std), augment=False, pixel_max=1.0
            )

        return config.splits(
            batches(images, labels, True),
            batches(*validation, False),
            batches(test_images, test_labels, False),
            subsets,
        )

    return loaders
