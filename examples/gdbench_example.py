"""A worked example of gdbench's plug-ins: a model, a pruning criterion and a dataset from a
module of your own, run through the whole DAG beside the built-in methods (README, "Add your own
model, method or dataset"; tests/workflow/test_plugins.py runs it end to end):

    snakemake --cores 2 --configfile examples/plugins.yaml

The module imports only torch and numpy: gdbench finds its objects by the names in
examples/plugins.yaml (`gdbench_example:tiny_cnn`, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

# -- a model: any callable that takes the experiment's model.kwargs and returns an nn.Module --------


def tiny_cnn(num_classes: int = 4, width: int = 8) -> nn.Module:
    """Three 3×3 conv + BN + ReLU stages on 1×12×12 images. Every BN is a gate gdbench can prune;
    `example_input_shape` is the input the pruning graph and the FLOPs are taken at."""
    layers, channels = [], 1
    for stage in range(3):
        out = width * 2**stage
        layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
        if stage < 2:
            layers.append(nn.MaxPool2d(2))
        channels = out
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
    model.example_input_shape = (1, 1, 12, 12)
    return model


# -- a pruning criterion: score(pruner) -> one score vector per prunable group (higher = keep) ----------
# `pruner.prunable_groups`: the channel groups (`group.layers`, their gates; `group.width`);
# `pruner.graph.producers(group)`: the convolutions that produce a group's channels;
# `pruner.model`, `pruner.train_batches`, `pruner.loss_fn`, `pruner.device` for a data-driven score.
# gdbench runs it one-shot (`filter_l2`) and in the Ticks of Tick-Tock (`filter_l2_ticktock`), with the
# same floors, global ranking, FLOPs target and save points as every built-in method.


def filter_l2(pruner) -> list[torch.Tensor]:
    """Σ over a group's producing convolutions of each filter's L2 norm, divided by the group's
    mean so that one global ranking compares layers of different scales."""
    scores = []
    for group in pruner.prunable_groups:
        norms = sum(layer.weight.detach().flatten(1).float().norm(dim=1) for layer in pruner.graph.producers(group))
        scores.append(norms / norms.mean().clamp_min(1e-12))
    return scores


# -- a dataset: num_classes, prepare(root) and load(root, split) ---------------------------------------


class Bars:
    """Four classes of 12×12 grey images, a bar at one of four orientations (—, |, \\, /) at a random
    offset under noise, written once to `root/bars.npz` (fixed seed): 400 training, 80 validation
    and 160 test images. A stand-in for your data: any files you can turn into tensors."""

    num_classes = 4
    sizes = {"train": 400, "val": 80, "test": 160}

    def prepare(self, root: Path) -> None:
        generator = np.random.default_rng(0)
        arrays = {}
        for split, count in self.sizes.items():
            labels = np.arange(count) % self.num_classes
            images = generator.normal(0.0, 0.35, (count, 1, 12, 12)).astype(np.float32)
            for index, label in enumerate(labels):
                images[index, 0] += _bar(int(label), int(generator.integers(-3, 4)))
            arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels.astype(np.int64)
        np.savez(Path(root) / "bars.npz", **arrays)

    def load(self, root: Path, split: str):
        path = Path(root) / "bars.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run the DAG's prepare_data job (or Bars().prepare)")
        with np.load(path) as data:
            return torch.from_numpy(data[f"{split}_images"]), torch.from_numpy(data[f"{split}_labels"])


def _bar(orientation: int, offset: int) -> np.ndarray:
    image = np.zeros((12, 12), np.float32)
    line = np.arange(12)
    position = np.clip(6 + offset, 0, 11)
    if orientation == 0:
        image[position, :] = 1.0
    elif orientation == 1:
        image[:, position] = 1.0
    elif orientation == 2:
        image[line, np.clip(line + offset, 0, 11)] = 1.0
    else:
        image[line, np.clip(11 - line + offset, 0, 11)] = 1.0
    return image


bars = Bars()
