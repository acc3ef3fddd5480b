"""Dataset names the command line and configs use, mapped to their prepare and synth steps."""

from __future__ import annotations

from functools import partial

from gdbench.data import cub, imagenet, voc
from gdbench.data.cifar import prepare_cifar
from gdbench.data.synthetic import synth_cifar, synth_cub, synth_imagenet, synth_voc

# prepare(root): download where a stable address exists, verify, extract safely, write a manifest
PREPARE = {
    "cifar10": partial(prepare_cifar, name="cifar10"),
    "cifar100": partial(prepare_cifar, name="cifar100"),
    "cub200": cub.prepare_cub,
    "imagenet": imagenet.prepare_imagenet,   # manual placement, verified
    "sbd": voc.prepare_sbd,
    "voc2011": voc.prepare_voc2011,          # manual placement, verified
}

# synth(out, seed): small generated data in the dataset's real on-disk format
SYNTH = {
    "cifar10": lambda out, seed: synth_cifar(out, "cifar10", seed=seed),
    "cifar100": lambda out, seed: synth_cifar(out, "cifar100", seed=seed),
    "cub200": lambda out, seed: synth_cub(out, seed=seed),
    "imagenet": lambda out, seed: synth_imagenet(out, seed=seed),
    "voc": lambda out, seed: synth_voc(out, seed=seed),  # SBD and VOC 2011 together
}
