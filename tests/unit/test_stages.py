import json
import subprocess
import sys

import pytest

from gdbench.data.loaders import LoaderConfig
from gdbench.data.synthetic import synth_cifar, synth_voc
from gdbench.stages import train_baseline
from gdbench.train import TrainConfig


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    synth_cifar(root, "cifar10", train_per_class=20, test_per_class=5)
    synth_voc(root, train=12, val=4, size=48)
    return root


def test_train_baseline_selects_by_validation_and_tests_once(data_root, tmp_path):
    result = train_baseline("resnet20", {"base_width": 4}, LoaderConfig("cifar10", str(data_root), batch_size=32),
                            TrainConfig(epochs=2, lr=0.05), tmp_path, device="cpu")
    assert {"test_top1", "test_top5", "best_val", "flops", "params", "environment"} <= set(result)
    assert result["best_val"] == max(row["val_top1"] for row in result["history"])
    assert json.loads((tmp_path / "result.json").read_text())["test_top1"] == result["test_top1"]
    for name in ("checkpoint.pt", "best.pt", "model.pt"):
        assert (tmp_path / name).is_file()


def test_rerun_of_a_finished_stage_trains_nothing(data_root, tmp_path):
    args = ("resnet20", {"base_width": 4}, LoaderConfig("cifar10", str(data_root), batch_size=32),
            TrainConfig(epochs=1, lr=0.05), tmp_path)
    first = train_baseline(*args, device="cpu")
    stamp = (tmp_path / "checkpoint.pt").stat().st_mtime_ns
    second = train_baseline(*args, device="cpu")
    assert (tmp_path / "checkpoint.pt").stat().st_mtime_ns == stamp
    assert second["test_top1"] == first["test_top1"] and second["history"] == first["history"]


def test_fcn_segmentation_reports_miou(data_root, tmp_path):
    result = train_baseline("fcn8s_vgg16", {"width_divisor": 16},
                            LoaderConfig("voc", str(data_root), batch_size=4, crop_size=48, workers=0),
                            TrainConfig(epochs=1, lr=1e-3), tmp_path, device="cpu")
    assert 0 <= result["test_miou"] <= 1 and 0 <= result["test_pixel_accuracy"] <= 1


def test_torchrun_data_parallel_on_cpu(data_root, tmp_path):
    """Two processes (gloo) with a DistributedSampler: the ResNet-50/ImageNet path, on CPU."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "gdbench.cli", "train", "--model", "resnet20", "--dataset", "cifar10",
               "--data-root", str(data_root), "--out", str(tmp_path), "--epochs", "1",
               "--batch-size", "32", "--dataloader", "--workers", "0", "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["history"][0]["samples"] == 90  # each rank saw half of the 180 training images
