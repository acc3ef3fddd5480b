"""ImageNet ILSVRC-2012 in folder layout (manual download only: the images need an account).

    <root>/imagenet/train/<wnid>/*.JPEG   1000 classes, 1,281,167 images
    <root>/imagenet/val/<wnid>/*.JPEG     1000 classes, 50,000 images (sorted into class folders)

`prepare` cannot download; it checks the layout and writes a manifest of class and image counts.
"""

from __future__ import annotations

import json
from pathlib import Path

from gdbench.data.integrity import MANIFEST, DataError

FOLDER = "imagenet"
EXPECTED = {"train": 1_281_167, "val": 50_000}
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}
PLACEMENT = (
    "place ILSVRC-2012 as {folder}/train/<wnid>/*.JPEG and {folder}/val/<wnid>/*.JPEG "
    "(validation images sorted into the same 1000 wnid folders), then run "
    "`gdbench data prepare --dataset imagenet --root {root}`"
)


def _scan(split_folder: Path) -> list[tuple[Path, int]]:
    classes = sorted(entry.name for entry in split_folder.iterdir() if entry.is_dir())
    samples = []
    for label, wnid in enumerate(classes):
        files = sorted(p for p in (split_folder / wnid).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        samples.extend((path, label) for path in files)
    return samples


def load_imagenet(root: str | Path, split: str) -> list[tuple[Path, int]]:
    """(image path, class index by sorted wnid) of split 'train' or 'val'."""
    if split not in EXPECTED:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    folder = Path(root) / FOLDER
    manifest = folder / MANIFEST
    hint = PLACEMENT.format(folder=folder, root=root)
    if not manifest.is_file():
        raise DataError(f"{manifest} is missing: {hint}")
    expected = json.loads(manifest.read_text())["counts"][split]
    samples = _scan(folder / split)
    classes = len({label for _, label in samples})
    if [classes, len(samples)] != [expected["classes"], expected["images"]]:
        raise DataError(
            f"{folder / split} holds {classes} classes and {len(samples)} images; "
            f"{manifest} recorded {expected['classes']} and {expected['images']}: {hint}"
        )
    return samples


def prepare_imagenet(root: str | Path, allow_partial: bool = False) -> Path:
    """Check the placed folders (1000 classes each, the official image counts unless
    `allow_partial`, as for generated data) and record the counts."""
    folder = Path(root) / FOLDER
    hint = PLACEMENT.format(folder=folder, root=root)
    counts = {}
    for split, images in EXPECTED.items():
        if not (folder / split).is_dir():
            raise DataError(f"{folder / split} is missing: {hint}")
        samples = _scan(folder / split)
        classes = len({label for _, label in samples})
        if not allow_partial and (classes != 1000 or len(samples) != images):
            raise DataError(
                f"{folder / split}: {classes} classes and {len(samples)} images, expected 1000 and {images}: {hint}"
            )
        counts[split] = {"classes": classes, "images": len(samples)}
    if counts["train"]["classes"] != counts["val"]["classes"]:
        raise DataError(f"{folder}: train has {counts['train']['classes']} classes, val {counts['val']['classes']}")
    path = folder / MANIFEST
    path.write_text(json.dumps({"source": "manual placement", "counts": counts}, indent=2))
    return path
