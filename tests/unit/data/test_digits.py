"""scikit-learn's real digits as a dataset of the table: written once, read like every other."""

import json

import numpy as np
import pytest
import torch

from gdbench.data import digits, registry
from gdbench.data.integrity import DataError
from gdbench.data.loaders import LoaderConfig
from gdbench.models import build_model


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    registry.prepare("digits", root)
    return root


def _split(root, name):
    with np.load(root / "digits" / f"{name}.npz") as data:
        return data["images"], data["labels"]


def test_the_split_is_fixed_stratified_disjoint_and_whole(root, tmp_path):
    from sklearn.datasets import load_digits

    source = load_digits()
    parts = {name: _split(root, name) for name in digits.SPLITS}
    assert [len(parts[name][1]) for name in digits.SPLITS] == [1257, 180, 360]
    # every image exactly once: the three splits together are the 1,797 digits
    everything = np.concatenate([parts[name][0] for name in digits.SPLITS]).reshape(1797, 64)
    assert sorted(map(bytes, everything)) == sorted(map(bytes, source.images.astype(np.uint8).reshape(1797, 64)))
    overall = np.bincount(source.target) / 1797
    for name, (_, labels) in parts.items():  # stratified: each split's class shares match the whole
        assert np.abs(np.bincount(labels, minlength=10) / len(labels) - overall).max() < 0.01, name
    # written again elsewhere: the same bytes (the split does not depend on the run or machine state)
    registry.prepare("digits", tmp_path)
    for name in digits.SPLITS:
        assert (tmp_path / "digits" / f"{name}.npz").read_bytes() == (root / "digits" / f"{name}.npz").read_bytes()
    record = json.loads((root / "digits" / "split.json").read_text())
    assert record["per_class"]["test"] == np.bincount(parts["test"][1]).tolist()


def test_loaders_follow_the_protocols(root):
    heldout = registry.build_loaders(LoaderConfig("digits", str(root), protocol="heldout", eval_batch_size=1000))
    images, labels = next(iter(heldout["val"]))
    assert images.shape == (180, 1, 8, 8) and images.dtype == torch.float32
    assert torch.equal(labels, torch.from_numpy(_split(root, "val")[1]))
    train = torch.cat([x for x, _ in heldout["train"]])
    assert abs(train.mean().item()) < 0.05 and abs(train.std().item() - 1) < 0.05  # normalised by train stats
    paper = registry.build_loaders(LoaderConfig("digits", str(root), protocol="paper", val_size=100))
    assert "val" not in paper and sum(len(y) for _, y in paper["train"]) == 1257  # the whole training split


def test_a_corrupted_split_file_is_named(root, tmp_path):
    registry.prepare("digits", tmp_path)
    path = tmp_path / "digits" / "test.npz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"test\.npz is corrupted"):
        registry.build_loaders(LoaderConfig("digits", str(tmp_path)))
    (tmp_path / "digits" / "manifest.json").unlink()
    with pytest.raises(DataError, match=r"manifest\.json is missing: run `gdbench data prepare --dataset digits"):
        registry.build_loaders(LoaderConfig("digits", str(tmp_path)))


@pytest.mark.parametrize("name", ["vgg6", "resnet14"])
def test_the_digits_models_take_grey_8x8_images(name):
    model = build_model(name).eval()
    assert model.example_input_shape == (1, 1, 8, 8)
    assert model(torch.zeros(4, 1, 8, 8)).shape == (4, 10)
