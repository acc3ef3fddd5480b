import pytest

from gdbench.bench.latency import latency, pruned_copy
from gdbench.bench.training import train_throughput
from gdbench.flops import count_flops
from gdbench.gates import GATED_TYPES
from gdbench.models import build_model


def test_pruned_copy_reaches_the_flops_ratio_as_a_plain_model():
    model = pruned_copy("resnet20", 0.5)
    ratio = count_flops(model).flops / count_flops(build_model("resnet20")).flops
    assert 0.4 < ratio <= 0.5
    assert not any(isinstance(m, GATED_TYPES) for m in model.modules())


def test_latency_reports_speedups_against_flops():
    result = latency("resnet20", 0.5, batch_sizes=(2,), repeats=2, device="cpu")
    assert result["batch2_speedup"] == pytest.approx(result["batch2_baseline_ms"] / result["batch2_pruned_ms"])
    assert result["batch2_speedup_over_flops_speedup"] == pytest.approx(
        result["batch2_speedup"] * result["flops_ratio"]
    )


def test_throughput_measures_every_requested_path():
    result = train_throughput(
        "resnet20",
        ("dataloader", "tensor", "tensor_bf16_cl"),
        samples=128,
        batch_size=64,
        epochs=1,
        workers=0,
        device="cpu",
    )
    for variant in ("dataloader", "tensor", "tensor_bf16_cl"):
        assert result[f"{variant}_images_per_s"] > 0
        assert result[f"{variant}_s_per_cifar10_epoch"] == pytest.approx(50_000 / result[f"{variant}_images_per_s"])
    assert result["ratio_tensor_to_dataloader"] == pytest.approx(
        result["tensor_images_per_s"] / result["dataloader_images_per_s"]
    )


def test_step_profile_splits_a_step_into_host_and_device_time():
    from gdbench.bench.training import step_profile

    result = step_profile("resnet20", batch_size=8, steps=2, bf16=False, device="cpu")
    assert result["wall_ms_per_step"] > 0
    assert result["device_kernel_ms_per_step"] == 0 and result["device_busy_share"] == 0  # no CUDA kernels on CPU
