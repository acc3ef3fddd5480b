import io
import pickle
import tarfile

import pytest
import torch

from gdbench.data.cifar import SPECS, load_cifar, train_val_split
from gdbench.data.integrity import DataError, safe_extract
from gdbench.data.synthetic import synth_cifar


@pytest.fixture(scope="module", params=["cifar10", "cifar100"])
def synthetic(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    synth_cifar(root, request.param, train_per_class=3, test_per_class=1)
    return root, request.param


def test_loader_reads_the_generated_pickles(synthetic):
    root, name = synthetic
    classes = SPECS[name].num_classes
    images, labels = load_cifar(root, name, "train")
    assert images.dtype == torch.uint8 and images.shape == (3 * classes, 3, 32, 32)
    assert torch.equal(labels.bincount(minlength=classes), torch.full((classes,), 3))
    test_images, _ = load_cifar(root, name, "test")
    assert test_images.shape[0] == classes


def test_generated_files_are_real_format_pickles(synthetic):
    root, name = synthetic
    spec = SPECS[name]
    with open(root / spec.folder / next(iter(spec.train_files)), "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    assert entry["data"].shape[1] == 3072 and entry["data"].dtype.name == "uint8"
    assert {"batch_label", "filenames", spec.label_key} <= set(entry)


def _copy(tmp_path, synthetic):
    import shutil

    root, name = synthetic
    shutil.copytree(root, tmp_path / "data")
    return tmp_path / "data", name, tmp_path / "data" / SPECS[name].folder


@pytest.mark.reliability("bad data")
def test_truncated_file_is_named(tmp_path, synthetic):
    root, name, folder = _copy(tmp_path, synthetic)
    victim = folder / next(iter(SPECS[name].train_files))
    victim.write_bytes(victim.read_bytes()[:1000])
    with pytest.raises(DataError, match=str(victim)):
        load_cifar(root, name, "train")


@pytest.mark.reliability("bad data")
def test_wrong_checksum_is_named(tmp_path, synthetic):
    """Same size, one byte changed: only the md5 against the manifest can tell."""
    root, name, folder = _copy(tmp_path, synthetic)
    victim = folder / next(iter(SPECS[name].train_files))
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"{victim} is corrupted \(md5 differs"):
        load_cifar(root, name, "train")


@pytest.mark.reliability("bad data")
def test_missing_file_is_named_with_what_to_do(tmp_path, synthetic):
    root, name, folder = _copy(tmp_path, synthetic)
    victim = folder / next(iter(SPECS[name].test_files))
    victim.unlink()
    with pytest.raises(DataError, match=rf"{victim} is missing.*gdbench data prepare"):
        load_cifar(root, name, "test")


@pytest.mark.reliability("bad data")
def test_unreadable_pickle_is_named_even_with_a_matching_manifest(tmp_path, synthetic):
    from gdbench.data.cifar import _all_files
    from gdbench.data.integrity import write_manifest

    root, name, folder = _copy(tmp_path, synthetic)
    victim = folder / next(iter(SPECS[name].test_files))
    victim.write_bytes(b"not a pickle at all")
    write_manifest(folder, _all_files(SPECS[name]), source="test")
    with pytest.raises(DataError, match=rf"{victim} is not a readable CIFAR pickle"):
        load_cifar(root, name, "test")


def test_validation_split_is_disjoint_and_reproducible():
    train, val = train_val_split(50_000, 5_000, seed=3)
    assert len(train) == 45_000 and len(val) == 5_000
    assert not set(train.tolist()) & set(val.tolist())
    assert torch.equal(val, train_val_split(50_000, 5_000, seed=3)[1])


def _tar_with(tmp_path, member: tarfile.TarInfo, payload: bytes = b"x"):
    archive = tmp_path / "crafted.tar"
    with tarfile.open(archive, "w") as tar:
        member.size = len(payload) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(payload) if member.isfile() else None)
    return archive


@pytest.mark.reliability("security")
def test_extraction_refuses_a_member_escaping_the_target(tmp_path):
    archive = _tar_with(tmp_path, tarfile.TarInfo("../escaped.txt"))
    with pytest.raises(DataError, match="escapes"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


@pytest.mark.reliability("security")
def test_extraction_refuses_a_link_pointing_outside(tmp_path):
    link = tarfile.TarInfo("data/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
    with pytest.raises(DataError, match="points outside"):
        safe_extract(_tar_with(tmp_path, link), tmp_path / "out")


def test_extraction_of_a_clean_archive(tmp_path):
    archive = _tar_with(tmp_path, tarfile.TarInfo("cifar/file.txt"), b"hello")
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "cifar" / "file.txt").read_bytes() == b"hello"


# The authors' normalisation (loader/cifar10.py, loader/cifar100.py), typed here as the reference.
AUTHORS_STATISTICS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)),
    "cifar100": ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
}


@pytest.mark.parametrize("tensor_path", [True, False])
def test_each_cifar_is_normalised_with_its_own_statistics(synthetic, tensor_path):
    from gdbench.data.loaders import LoaderConfig, cifar_loaders

    root, name = synthetic
    config = LoaderConfig(name, str(root), eval_batch_size=1000, workers=0, tensor_path=tensor_path, val_size=1)
    images, _ = next(iter(cifar_loaders(config, "cpu", False, False)["test"]))
    raw, _ = load_cifar(root, name, "test")
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in AUTHORS_STATISTICS[name])
    torch.testing.assert_close(images, (raw.float() / 255 - mean) / std, atol=2e-3, rtol=0)
