import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from gdbench.data import cub, imagenet, voc
from gdbench.data.images import ImageListDataset, classification_transform
from gdbench.data.integrity import DataError
from gdbench.data.synthetic import synth_cub, synth_imagenet, synth_voc


@pytest.fixture()
def root(tmp_path):
    synth_cub(tmp_path, classes=4, train_per_class=3, test_per_class=2, size=32)
    synth_imagenet(tmp_path, classes=3, train_per_class=2, val_per_class=1, size=32)
    synth_voc(tmp_path, train=5, val=3, seg11valid=2, size=40)
    return tmp_path


def test_cub_splits_and_labels(root):
    train, test = cub.load_cub(root, "train"), cub.load_cub(root, "test")
    assert len(train) == 12 and len(test) == 8
    assert sorted({label for _, label in train}) == [0, 1, 2, 3]  # 1-based on disk, 0-based here
    image, label = ImageListDataset(train, classification_transform(True, 24))[0]
    assert image.shape == (3, 24, 24) and image.dtype == torch.float32


def test_imagenet_folders_and_counts(root):
    train, val = imagenet.load_imagenet(root, "train"), imagenet.load_imagenet(root, "val")
    assert len(train) == 6 and len(val) == 3
    assert [label for _, label in val] == [0, 1, 2]  # class index = sorted wnid


@pytest.mark.reliability("bad data")
def test_imagenet_missing_images_are_reported(root):
    next((root / "imagenet" / "val").rglob("*.JPEG")).unlink()
    with pytest.raises(DataError, match="recorded"):
        imagenet.load_imagenet(root, "val")


def test_imagenet_prepare_prints_where_to_place_it(tmp_path):
    with pytest.raises(DataError, match=r"place ILSVRC-2012 as .*train/<wnid>"):
        imagenet.prepare_imagenet(tmp_path)


@pytest.mark.parametrize("split, count", [("sbd_train", 5), ("sbd_val", 3), ("seg11valid", 2)])
def test_segmentation_masks_hold_class_ids(root, split, count):
    pairs = voc.load_segmentation(root, split)
    assert len(pairs) == count
    image, mask = voc.SegmentationDataset(pairs)[0]
    assert image.shape == (3, 40, 40) and mask.shape == (40, 40) and mask.dtype == torch.int64
    labels = set(mask.unique().tolist())
    assert labels <= set(range(21)) | {255} and 255 in labels and len(labels - {0, 255}) >= 1


def test_training_crop_pads_the_mask_with_ignore(root):
    pairs = voc.load_segmentation(root, "sbd_train")
    _, mask = voc.SegmentationDataset(pairs, crop_size=64, train=False)[0]
    assert mask.shape == (64, 64) and (mask[40:, :] == 255).all() and (mask[:, 40:] == 255).all()


@pytest.mark.reliability("bad data")
def test_unreadable_image_is_named(root):
    path, _ = cub.load_cub(root, "train")[0]
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DataError, match=str(path)):
        ImageListDataset(cub.load_cub(root, "train"))[0]


@pytest.mark.reliability("bad data")
def test_mask_label_out_of_range_is_named(root):
    image_path, mask_path = voc.load_segmentation(root, "sbd_train")[0]
    mask = np.full((40, 40), 30, dtype=np.uint8)
    scipy.io.savemat(mask_path, {"GTcls": {"Segmentation": mask}})
    with pytest.raises(DataError, match=rf"{mask_path}: mask labels \[30\]"):
        voc.SegmentationDataset([(image_path, mask_path)])[0]


@pytest.mark.reliability("bad data")
def test_rgb_mask_is_refused(root):
    image_path, mask_path = voc.load_segmentation(root, "seg11valid")[0]
    Image.new("RGB", (40, 40)).save(mask_path)
    with pytest.raises(DataError, match="palette"):
        voc.SegmentationDataset([(image_path, mask_path)])[0]


@pytest.mark.reliability("bad data")
def test_missing_split_list_is_named(root):
    (root / voc.SBD_FOLDER / "val.txt").unlink()
    with pytest.raises(DataError, match="val.txt is missing"):
        voc.load_segmentation(root, "sbd_val")


@pytest.mark.reliability("bad data")
def test_missing_listed_image_is_named(root):
    image_path, _ = voc.load_segmentation(root, "sbd_val")[0]
    image_path.unlink()
    with pytest.raises(DataError, match=rf"{image_path} is missing"):
        voc.load_segmentation(root, "sbd_val")


@pytest.mark.reliability("bad data")
def test_cub_list_with_a_bad_line_is_named(root):
    labels = root / cub.FOLDER / "image_class_labels.txt"
    labels.write_text(labels.read_text() + "oops\n")
    with pytest.raises(DataError, match="image_class_labels.txt"):  # caught by the manifest first
        cub.load_cub(root, "train")
