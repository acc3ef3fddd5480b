"""The dataset table: every dataset gdbench knows, under one name used by configs, the command
line, loaders, prepare, synth, evaluation and the report.

    name            task            classes  on disk under the data root
    digits          classification  10       digits/ (scikit-learn's 1,797 real 8×8 digits, no download)
    cifar10         classification  10       cifar-10-batches-py/
    cifar100        classification  100      cifar-100-python/
    cub200          classification  200      CUB_200_2011/
    imagenet        classification  1000     imagenet/train, imagenet/val
    voc             segmentation    21       SBD benchmark_RELEASE/ (train 8498, test 2857)
    voc_seg11valid  segmentation    21       SBD (train) + VOCdevkit/VOC2011 (seg11valid test, 736)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from gdbench.catalog import CLASSIFICATION, SEGMENTATION
from gdbench.data import cub, custom, digits, imagenet, voc
from gdbench.data.cifar import prepare_cifar
from gdbench.data.loaders import (
    LoaderConfig,
    cifar_loaders,
    digits_loaders,
    image_folder_loaders,
    segmentation_loaders,
)
from gdbench.data.synthetic import synth_cifar, synth_cub, synth_imagenet, synth_voc


def _synth_classification(writer, root, per_class, seed, test_key="test_per_class", **fixed):
    size = {} if per_class is None else {"train_per_class": per_class, test_key: max(2, per_class // 2)}
    writer(root, seed=seed, **fixed, **size)


def _real_digits(root, per_class, seed):
    # the real digits ship with scikit-learn: even a run on generated data uses them as they are
    digits.prepare_digits(root)


def _synth_voc(root, per_class, seed):
    # per_class: training scenes / 4 (segmentation has no per-class count)
    size = {} if per_class is None else {"train": 4 * per_class, "val": per_class, "seg11valid": per_class}
    synth_voc(root, seed=seed, **size)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    task: str  # CLASSIFICATION or SEGMENTATION
    num_classes: int
    layout: str  # where it lives under the data root
    # prepare steps, in order: download where a stable address exists, verify, extract safely,
    # write the manifest the loaders check; steps for data placed by hand only verify
    prepare_steps: tuple[Callable[[Path], Path], ...]
    synth: Callable[[Path, int | None, int], None]  # generated data in the real layout (root, per_class, seed)
    loaders: Callable[..., dict]  # (LoaderConfig, device, channels_last, distributed)
    # under `synthetic_data: true` its files are generated noise in the real layout; False for data
    # that is real everywhere (the digits ship with scikit-learn; a plug-in's data is its own)
    generated_when_synthetic: bool = True

    @property
    def segmentation(self) -> bool:
        return self.task == SEGMENTATION

    @property
    def metric(self) -> str:
        """The test metric its tables report and its models are selected by."""
        return "miou" if self.segmentation else "top1"


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "digits",
            CLASSIFICATION,
            10,
            "digits/",
            (digits.prepare_digits,),
            _real_digits,
            digits_loaders,
            generated_when_synthetic=False,
        ),
        DatasetSpec(
            "cifar10",
            CLASSIFICATION,
            10,
            "cifar-10-batches-py/",
            (partial(prepare_cifar, name="cifar10"),),
            partial(_synth_classification, partial(synth_cifar, name="cifar10")),
            cifar_loaders,
        ),
        DatasetSpec(
            "cifar100",
            CLASSIFICATION,
            100,
            "cifar-100-python/",
            (partial(prepare_cifar, name="cifar100"),),
            partial(_synth_classification, partial(synth_cifar, name="cifar100")),
            cifar_loaders,
        ),
        DatasetSpec(
            "cub200",
            CLASSIFICATION,
            200,
            "CUB_200_2011/",
            (cub.prepare_cub,),
            partial(_synth_classification, synth_cub),
            image_folder_loaders,
        ),
        DatasetSpec(
            "imagenet",
            CLASSIFICATION,
            1000,
            "imagenet/",
            (imagenet.prepare_imagenet,),  # placed by hand
            partial(_synth_classification, synth_imagenet, test_key="val_per_class"),
            image_folder_loaders,
        ),
        DatasetSpec(
            "voc", SEGMENTATION, 21, "benchmark_RELEASE/", (voc.prepare_sbd,), _synth_voc, segmentation_loaders
        ),
        # VOC 2011 is placed by hand (its host is gone): verified first, so a missing placement is
        # reported before the SBD download starts
        DatasetSpec(
            "voc_seg11valid",
            SEGMENTATION,
            21,
            "benchmark_RELEASE/ + VOCdevkit/VOC2011/",
            (voc.prepare_voc2011, voc.prepare_sbd),
            _synth_voc,
            segmentation_loaders,
        ),
    ]
}


_BUILT_IN = frozenset(DATASETS)


def register_dataset(name: str, plugin) -> DatasetSpec:
    """A user's dataset under `name` (README, "Add your own model, method or dataset"): a full
    DatasetSpec, or an object with the small interface of gdbench.data.custom (num_classes,
    prepare(root), load(root, split)), which lives under `<data_root>/<name>/`."""
    if name in _BUILT_IN:
        raise ValueError(f"dataset {name!r} is built in; name the plug-in otherwise")
    if isinstance(plugin, DatasetSpec):
        spec = dataclasses.replace(plugin, name=name)
    else:
        missing = custom.missing_interface(plugin)
        if missing:
            raise TypeError(
                f"dataset plug-in {name!r}: {plugin!r} lacks {', '.join(missing)} (a dataset needs "
                f'{", ".join(custom.INTERFACE)}; README, "Add your own model, method or dataset")'
            )

        def prepare(root: Path) -> Path:
            folder = Path(root) / name
            folder.mkdir(parents=True, exist_ok=True)
            plugin.prepare(folder)
            custom.record_prepared(folder, name)
            return folder

        # generated data is the real data here too: a user's dataset has no generator of its own
        spec = DatasetSpec(
            name,
            CLASSIFICATION,
            int(plugin.num_classes),
            f"{name}/",
            (prepare,),
            lambda root, per_class, seed: prepare(root),
            custom.tensor_loaders(name, plugin),
            generated_when_synthetic=False,
        )
    DATASETS[name] = spec
    return spec


def dataset(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def build_loaders(
    config: LoaderConfig, device: torch.device | str = "cpu", channels_last: bool = False, distributed: bool = False
) -> dict[str, object]:
    """{'train', 'val', 'test'} batch iterables of `config.dataset`; 'val' is carved from train."""
    return dataset(config.dataset).loaders(config, device, channels_last, distributed)


def synth(name: str, root: str | Path, per_class: int | None = None, seed: int = 0) -> None:
    """Generated data in the dataset's real layout; `per_class`: training images per class."""
    dataset(name).synth(Path(root), per_class, seed)


def prepare(name: str, root: str | Path) -> list[Path]:
    """The real dataset's prepare steps; returns the manifests written."""
    return [step(root) for step in dataset(name).prepare_steps]
