"""Dataset names the command line and configs use, mapped to their prepare and synth steps."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from gdbench.data import cub, imagenet, voc
from gdbench.data.cifar import prepare_cifar
from gdbench.data.synthetic import synth_cifar, synth_cub, synth_imagenet, synth_voc

SYNTHETIC = ("cifar10", "cifar100", "cub200", "imagenet", "voc")  # voc: SBD and VOC 2011 together

# prepare(root): download where a stable address exists, verify, extract safely, write a manifest
PREPARE = {
    "cifar10": partial(prepare_cifar, name="cifar10"),
    "cifar100": partial(prepare_cifar, name="cifar100"),
    "cub200": cub.prepare_cub,
    "imagenet": imagenet.prepare_imagenet,   # manual placement, verified
    "sbd": voc.prepare_sbd,
    "voc2011": voc.prepare_voc2011,          # manual placement, verified
}

def synth(dataset: str, root: str | Path, per_class: int | None = None, seed: int = 0) -> None:
    """Generated data for a loader dataset name (voc and voc_seg11valid share one writer);
    `per_class`: training images per class (for voc: training scenes / 4)."""
    size = {} if per_class is None else {"train_per_class": per_class,
                                         "test_per_class": max(2, per_class // 2)}
    if dataset in ("cifar10", "cifar100"):
        synth_cifar(root, dataset, seed=seed, **size)
    elif dataset == "cub200":
        synth_cub(root, seed=seed, **size)
    elif dataset == "imagenet":
        synth_imagenet(root, seed=seed, **({} if per_class is None else
                                          {"train_per_class": per_class, "val_per_class": max(2, per_class // 2)}))
    elif dataset in ("voc", "voc_seg11valid"):
        synth_voc(root, seed=seed, **({} if per_class is None else
                                     {"train": 4 * per_class, "val": per_class, "seg11valid": per_class}))
    else:
        raise KeyError(f"no generated form of dataset {dataset!r}")


def prepare(dataset: str, root: str | Path) -> None:
    """The real dataset's prepare step for a loader dataset name."""
    names = {"voc": ["sbd"], "voc_seg11valid": ["sbd", "voc2011"]}.get(dataset, [dataset])
    for name in names:
        PREPARE[name](root)
