"""CUB-200-2011 (Wah et al. 2011): 200 bird species, 5994 training / 5794 test images.

CUB_200_2011/images/<NNN.Name>/*.jpg
CUB_200_2011/images.txt              <image id> <relative path>
CUB_200_2011/image_class_labels.txt  <image id> <class id, 1-based>
CUB_200_2011/train_test_split.txt    <image id> <1 = train, 0 = test>
CUB_200_2011/classes.txt             <class id> <NNN.Name>
"""

from __future__ import annotations

from pathlib import Path

from gdbench.data.integrity import DataError, download, safe_extract, verify_files, write_manifest

FOLDER = "CUB_200_2011"
URL = "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz"
ARCHIVE_MD5 = "97eceeb196236b17998738112f37df78"
LISTS = ["images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt"]


def _read_pairs(path: Path) -> dict[int, str]:
    pairs = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f"{path}, line {number}: expected '<id> <value>', got {line!r}")
        pairs[int(parts[0])] = parts[1].strip()
    return pairs


def load_cub(root: str | Path, split: str) -> list[tuple[Path, int]]:
    """(image path, 0-based class) of split 'train' or 'test', after checking the lists."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(root) / FOLDER
    verify_files(folder, LISTS, f"run `gdbench data prepare --dataset cub200 --root {root}`")
    images = _read_pairs(folder / "images.txt")
    labels = _read_pairs(folder / "image_class_labels.txt")
    is_train = _read_pairs(folder / "train_test_split.txt")
    classes = len(_read_pairs(folder / "classes.txt"))
    if set(images) != set(labels) or set(images) != set(is_train):
        raise DataError(
            f"{folder}: images.txt, image_class_labels.txt and train_test_split.txt list different image ids"
        )
    wanted = "1" if split == "train" else "0"
    samples = []
    for image_id in sorted(images):
        if is_train[image_id] != wanted:
            continue
        label = int(labels[image_id]) - 1
        if not 0 <= label < classes:
            raise DataError(
                f"{folder / 'image_class_labels.txt'}: class {label + 1} of image {image_id} is outside 1..{classes}"
            )
        path = folder / "images" / images[image_id]
        if not path.is_file():
            raise DataError(f"{path} is missing (listed in {folder / 'images.txt'})")
        samples.append((path, label))
    return samples


def prepare_cub(root: str | Path) -> Path:
    root = Path(root)
    archive = download(URL, root / "CUB_200_2011.tgz", ARCHIVE_MD5)
    if not (root / FOLDER / "images.txt").is_file():
        safe_extract(archive, root)
    return write_manifest(root / FOLDER, LISTS, source=URL)
