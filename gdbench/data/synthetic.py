"""Small generated datasets written in the exact on-disk format of the real ones.

Tests and the smoke run read them through the same loaders as the real data. Each class has its
own colour and stripe pattern under heavy noise, so a small net trained for a minute on a CPU
clearly beats chance, while no single pixel gives the class away.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from gdbench.data.cifar import SPECS, _all_files
from gdbench.data.integrity import write_manifest


def class_images(labels: np.ndarray, rng: np.random.Generator, size: int = 32,
                 noise: float = 96.0) -> np.ndarray:
    """uint8 images (N, 3, size, size): class c gets colour palette[c] on stripes whose angle
    and frequency depend on c, plus Gaussian noise."""
    classes = int(labels.max()) + 1
    palette = np.random.default_rng(1234).uniform(-1, 1, size=(classes, 3))
    angles = np.linspace(0, np.pi, classes, endpoint=False)
    frequencies = 1 + (np.arange(classes) % 4)
    y, x = np.mgrid[0:size, 0:size] / size
    images = np.empty((len(labels), 3, size, size), dtype=np.uint8)
    for index, label in enumerate(labels):
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * frequencies[label] *
                      (x * np.cos(angles[label]) + y * np.sin(angles[label])) + phase)
        pixels = 128 + 50 * palette[label][:, None, None] * (1 + wave)[None]
        pixels += rng.normal(0, noise, size=pixels.shape)
        images[index] = np.clip(pixels, 0, 255).astype(np.uint8)
    return images


def _write_pickle(path: Path, entry: dict) -> None:
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)


def synth_cifar(out: str | Path, name: str, train_per_class: int = 50, test_per_class: int = 10,
                seed: int = 0) -> Path:
    """Write a CIFAR-format folder under `out`; returns the folder."""
    spec = SPECS[name]
    rng = np.random.default_rng(seed)
    folder = Path(out) / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    classes = spec.num_classes

    def batch(files: list[str], per_class: int, tag: str) -> None:
        labels = rng.permutation(np.repeat(np.arange(classes), per_class))
        data = class_images(labels, rng).reshape(len(labels), 3072)
        for part, (file, chunk) in enumerate(zip(files, np.array_split(np.arange(len(labels)), len(files)))):
            entry = {"batch_label": f"synthetic {tag} batch {part + 1}", "data": data[chunk],
                     spec.label_key: labels[chunk].tolist(),
                     "filenames": [f"synthetic_{tag}_{i}.png" for i in chunk]}
            if name == "cifar100":
                entry["coarse_labels"] = (labels[chunk] // 5).tolist()
            _write_pickle(folder / file, entry)

    batch(list(spec.train_files), train_per_class, "train")
    batch(list(spec.test_files), test_per_class, "test")
    if name == "cifar10":
        meta = {"label_names": [f"class_{c}" for c in range(classes)],
                "num_cases_per_batch": train_per_class * classes // 5, "num_vis": 3072}
    else:
        meta = {"fine_label_names": [f"class_{c}" for c in range(classes)],
                "coarse_label_names": [f"superclass_{c}" for c in range(classes // 5)]}
    _write_pickle(folder / spec.meta_file[0], meta)
    write_manifest(folder, _all_files(spec), source="synthetic")
    return folder
