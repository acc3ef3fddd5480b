"""Small generated datasets written in the exact on-disk format of the real ones.

Tests and the smoke run read them through the same loaders as the real data. Each class has its
own colour and stripe pattern under heavy noise, so a small net trained for a minute on a CPU
clearly beats chance, while no single pixel gives the class away.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from gdbench.data import cub, imagenet, voc
from gdbench.data.cifar import SPECS, _all_files
from gdbench.data.integrity import write_manifest


def class_images(labels: np.ndarray, rng: np.random.Generator, size: int = 32, noise: float = 96.0) -> np.ndarray:
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
        wave = np.sin(2 * np.pi * frequencies[label] * (x * np.cos(angles[label]) + y * np.sin(angles[label])) + phase)
        pixels = 128 + 50 * palette[label][:, None, None] * (1 + wave)[None]
        pixels += rng.normal(0, noise, size=pixels.shape)
        images[index] = np.clip(pixels, 0, 255).astype(np.uint8)
    return images


def _write_pickle(path: Path, entry: dict) -> None:
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)


def synth_cifar(out: str | Path, name: str, train_per_class: int = 50, test_per_class: int = 10, seed: int = 0) -> Path:
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
            entry = {
                "batch_label": f"synthetic {tag} batch {part + 1}",
                "data": data[chunk],
                spec.label_key: labels[chunk].tolist(),
                "filenames": [f"synthetic_{tag}_{i}.png" for i in chunk],
            }
            if name == "cifar100":
                entry["coarse_labels"] = (labels[chunk] // 5).tolist()
            _write_pickle(folder / file, entry)

    batch(list(spec.train_files), train_per_class, "train")
    batch(list(spec.test_files), test_per_class, "test")
    if name == "cifar10":
        meta = {
            "label_names": [f"class_{c}" for c in range(classes)],
            "num_cases_per_batch": train_per_class * classes // 5,
            "num_vis": 3072,
        }
    else:
        meta = {
            "fine_label_names": [f"class_{c}" for c in range(classes)],
            "coarse_label_names": [f"superclass_{c}" for c in range(classes // 5)],
        }
    _write_pickle(folder / spec.meta_file[0], meta)
    write_manifest(folder, _all_files(spec), source="synthetic")
    return folder


def _save_jpeg(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image.transpose(1, 2, 0)).save(path, quality=95)


def synth_cub(
    out: str | Path, classes: int = 10, train_per_class: int = 6, test_per_class: int = 3, size: int = 64, seed: int = 0
) -> Path:
    """A CUB_200_2011 folder with `classes` species (the real one has 200)."""
    rng = np.random.default_rng(seed)
    folder = Path(out) / cub.FOLDER
    per_class = train_per_class + test_per_class
    labels = np.repeat(np.arange(classes), per_class)
    images = class_images(labels, rng, size=size)
    names = [f"{c + 1:03d}.Synthetic_bird_{c + 1}" for c in range(classes)]
    lines = {name: [] for name in cub.LISTS}
    for index, (label, image) in enumerate(zip(labels, images), start=1):
        relative = f"{names[label]}/Synthetic_{index:05d}.jpg"
        _save_jpeg(image, folder / "images" / relative)
        lines["images.txt"].append(f"{index} {relative}")
        lines["image_class_labels.txt"].append(f"{index} {label + 1}")
        lines["train_test_split.txt"].append(f"{index} {int((index - 1) % per_class < train_per_class)}")
    lines["classes.txt"] = [f"{c + 1} {name}" for c, name in enumerate(names)]
    for name, content in lines.items():
        (folder / name).write_text("\n".join(content) + "\n")
    write_manifest(folder, cub.LISTS, source="synthetic")
    return folder


def synth_imagenet(
    out: str | Path, classes: int = 10, train_per_class: int = 6, val_per_class: int = 2, size: int = 64, seed: int = 0
) -> Path:
    """An ImageNet folder layout with `classes` made-up wnids (the real one has 1000)."""
    rng = np.random.default_rng(seed)
    folder = Path(out) / imagenet.FOLDER
    for split, per_class in (("train", train_per_class), ("val", val_per_class)):
        labels = np.repeat(np.arange(classes), per_class)
        for index, (label, image) in enumerate(zip(labels, class_images(labels, rng, size=size))):
            _save_jpeg(image, folder / split / f"n{label:08d}" / f"synthetic_{split}_{index:05d}.JPEG")
    imagenet.prepare_imagenet(out, allow_partial=True)
    return folder


VOC_PALETTE = [
    v
    for c in range(256)
    for v in (
        sum(((c >> (3 * k)) & 1) << (7 - k) for k in range(3)),
        sum(((c >> (3 * k + 1)) & 1) << (7 - k) for k in range(3)),
        sum(((c >> (3 * k + 2)) & 1) << (7 - k) for k in range(3)),
    )
]  # the VOC devkit's bit-interleaved colour map


def _scene(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """An image with 2-4 class-coloured rectangles on noise (objects cover about half of it,
    so that all-background is no good answer); mask with a 255 border round each object."""
    palette = np.random.default_rng(1234).uniform(40, 215, size=(voc.NUM_CLASSES, 3))
    mask = np.zeros((size, size), dtype=np.uint8)
    for _ in range(rng.integers(2, 5)):
        label = int(rng.integers(1, voc.NUM_CLASSES))
        height, width = rng.integers(size // 4, size * 2 // 3, size=2)
        top, left = rng.integers(0, size - height), rng.integers(0, size - width)
        mask[max(0, top - 1) : top + height + 1, max(0, left - 1) : left + width + 1] = voc.IGNORE_INDEX
        mask[top : top + height, left : left + width] = label
    colours = palette[np.where(mask == voc.IGNORE_INDEX, 0, mask)]  # (H, W, 3)
    image = np.clip(colours + rng.normal(0, 30, colours.shape), 0, 255).astype(np.uint8)
    return image.transpose(2, 0, 1), mask


def synth_voc(
    out: str | Path, train: int = 80, val: int = 16, seg11valid: int = 8, size: int = 48, seed: int = 0
) -> Path:
    """SBD (img/*.jpg, cls/*.mat, train.txt, val.txt) and VOC 2011 (JPEGImages, palette PNG
    SegmentationClass, seg11valid.txt) with generated scenes."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    sbd = out / voc.SBD_FOLDER
    ids = {"train.txt": [f"2008_{i:06d}" for i in range(train)], "val.txt": [f"2009_{i:06d}" for i in range(val)]}
    for list_name, names in ids.items():
        for name in names:
            image, mask = _scene(rng, size)
            _save_jpeg(image, sbd / "img" / f"{name}.jpg")
            (sbd / "cls").mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(
                sbd / "cls" / f"{name}.mat",
                {"GTcls": {"Segmentation": mask, "CategoriesPresent": np.unique(mask[(mask > 0) & (mask < 255)])}},
            )
        (sbd / list_name).write_text("\n".join(names) + "\n")
    write_manifest(sbd, list(voc.SBD_COUNTS), source="synthetic")
    voc_folder = out / voc.VOC_FOLDER
    names = [f"2010_{i:06d}" for i in range(seg11valid)]
    for name in names:
        image, mask = _scene(rng, size)
        _save_jpeg(image, voc_folder / "JPEGImages" / f"{name}.jpg")
        png = Image.fromarray(mask, mode="P")
        png.putpalette(VOC_PALETTE)
        (voc_folder / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        png.save(voc_folder / "SegmentationClass" / f"{name}.png")
    (voc_folder / voc.SEG11VALID).parent.mkdir(parents=True, exist_ok=True)
    (voc_folder / voc.SEG11VALID).write_text("\n".join(names) + "\n")
    write_manifest(voc_folder, [str(voc.SEG11VALID)], source="synthetic")
    return out
