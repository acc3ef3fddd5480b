"""Reduced datasets: seeded, stratified subsets of the training and test splits, on generated
data in the real on-disk formats, read through the real loaders."""

import pytest
import torch

from gdbench.data import registry
from gdbench.data.cifar import load_cifar
from gdbench.data.loaders import LoaderConfig
from gdbench.data.subset import subset_indices


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    registry.synth("cifar10", root, per_class=12, seed=3)
    return root


def _rows(images: torch.Tensor) -> set[bytes]:
    return {bytes(row) for row in images.reshape(len(images), -1).numpy()}


def test_subsets_are_stratified_seeded_and_drawn_from_their_own_split(cifar):
    config = LoaderConfig("cifar10", str(cifar), train_per_class=5, test_per_class=2, workers=0, val_size=10)
    batches = registry.build_loaders(config)
    # the tensor path holds each split's uint8 images before any augmentation
    train, test = batches["train"], batches["test"]
    assert torch.bincount(train.labels).tolist() == [5] * 10 and torch.bincount(test.labels).tolist() == [2] * 10
    assert batches["subsets"]["train"]["kept"] == 50 and batches["subsets"]["train"]["of"] == 120
    raw_train, _ = load_cifar(cifar, "cifar10", "train")
    raw_test, _ = load_cifar(cifar, "cifar10", "test")
    assert _rows(train.images) <= _rows(raw_train) and not _rows(train.images) & _rows(raw_test)
    assert _rows(test.images) <= _rows(raw_test)
    again = registry.build_loaders(config)  # seeded: the same images again, for every experiment seed
    assert torch.equal(train.images, again["train"].images) and torch.equal(test.images, again["test"].images)
    assert again["subsets"] == batches["subsets"]
    other = registry.build_loaders(LoaderConfig("cifar10", str(cifar), train_per_class=6, workers=0, val_size=10))
    assert other["subsets"]["train"]["indices_md5"] != batches["subsets"]["train"]["indices_md5"]


def test_subset_indices_keep_each_class_s_share_and_change_with_the_seed():
    labels = torch.tensor([0] * 40 + [1] * 20 + [2] * 10)
    half = subset_indices(len(labels), labels, None, 0.5, seed=0)
    assert torch.bincount(labels[half]).tolist() == [20, 10, 5]
    assert torch.equal(half, half.sort().values)
    assert not torch.equal(half, subset_indices(len(labels), labels, None, 0.5, seed=1))
    capped = subset_indices(len(labels), labels, 15, None, seed=0)
    assert torch.bincount(labels[capped]).tolist() == [15, 15, 10]  # a class with fewer keeps all
    assert subset_indices(70, None, None, 0.1, seed=0).tolist() == sorted(
        subset_indices(70, None, None, 0.1, seed=0).tolist()
    )
    with pytest.raises(ValueError, match="per_class needs a classification split"):
        subset_indices(70, None, 3, None, seed=0)


def test_image_folder_and_segmentation_datasets_are_reduced_too(tmp_path):
    registry.synth("cub200", tmp_path, per_class=4)
    cub = registry.build_loaders(
        LoaderConfig("cub200", str(tmp_path), train_per_class=2, test_fraction=0.5, workers=0, image_size=32)
    )
    assert cub["subsets"]["train"]["per_class_max"] == 2 and cub["subsets"]["train"]["per_class_min"] == 2
    assert cub["subsets"]["test"]["kept"] == cub["subsets"]["test"]["of"] // 2
    registry.synth("voc", tmp_path, per_class=4)
    voc = registry.build_loaders(LoaderConfig("voc", str(tmp_path), train_fraction=0.5, workers=0, crop_size=32))
    assert voc["subsets"]["train"]["kept"] == 8 and voc["subsets"]["train"]["of"] == 16
    assert voc["subsets"]["test"]["kept"] == voc["subsets"]["test"]["of"]
