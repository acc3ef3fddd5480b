import time

import pytest

from gdbench.bench import timed
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


def test_timed_measures_the_time_a_call_takes():
    assert 0.045 <= timed(lambda: time.sleep(0.05)) < 0.5


def test_latency_times_the_models_it_names():
    """The timings are real: 16 images take clearly longer than 1 on the same net (so a bench that
    timed nothing, or timed one model twice, fails), and the ratios follow from them."""
    result = latency("resnet20", 0.5, batch_sizes=(1, 16), repeats=3, device="cpu")
    for model in ("baseline", "pruned"):
        assert 0 < result[f"batch1_{model}_ms"] < 1000
        assert result[f"batch16_{model}_ms"] > 2 * result[f"batch1_{model}_ms"]
    assert 0.4 < result["flops_ratio"] <= 0.5
    assert result["batch1_speedup"] == pytest.approx(result["batch1_baseline_ms"] / result["batch1_pruned_ms"])
    assert result["batch1_speedup_over_flops_speedup"] == pytest.approx(
        result["batch1_speedup"] * result["flops_ratio"]
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


def test_taylor_and_gate_criteria_rank_channels_like_the_oracle_far_above_random():
    """On a residual net trained on real digits, the gradient criteria's ranking of channels
    follows the measured loss change of removing each (Spearman > 0.4, and above random scores'
    mean + 3 std); the weight variant squared after summing over a filter would rank at random."""
    from gdbench.bench.criteria import criteria_correlation

    result = criteria_correlation(epochs=5, oracle_images=256, random_draws=10)
    assert result["test_accuracy"] > 0.9
    noise = result["spearman_random_mean"] + 3 * result["spearman_random_std"]
    for name in ("gate_decorator", "taylor_weights", "taylor_bn"):
        assert result[f"spearman_{name}"] > max(0.4, noise), (name, result)


def test_a_job_that_queues_its_run_never_imports_mlflow(tmp_path):
    """What `gdbench bench startup` measures: a job under mlflow.log_at: report does everything a
    job does besides its work (the CLI, the stages, its run written) without loading MLflow."""
    import subprocess
    import sys

    from gdbench.bench.startup import JOB_IMPORTS

    code = JOB_IMPORTS + f"job('sqlite:///unused.db', {str(tmp_path / 'queue')!r}, prune=True); "
    code += "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'sqlalchemy')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert len(list((tmp_path / "queue").glob("*.json"))) == 1


def test_round_to_ablation_prunes_one_baseline_three_ways_and_times_them_side_by_side():
    """On real digits: every variant meets the FLOPs target, round_to 8 leaves every convolution a
    multiple of 8 (ResNet-20's 16/32/64 all are), round_to 1 does not, and the timings are real
    (batch 16 takes longer than batch 1)."""
    from gdbench.bench.alignment import markdown, round_to_ablation

    result = round_to_ablation(
        "resnet20",
        (1, 8),
        0.5,
        image_size=8,
        epochs=4,
        finetune_epochs=0,
        prune_fraction_per_tick=0.25,
        batch_sizes=(1, 16),
        threads=(1,),
        runtimes=("eager",),
        repeats=3,
        train_samples=320,
    )
    rows = result["rows"]
    assert list(rows) == ["baseline", "round_to 1", "round_to 8"]
    assert rows["baseline"]["flops_ratio"] == 1.0 and rows["baseline"]["test_top1"] > 0.2  # chance: 0.1
    assert "320 training images" in result["data"]
    for name in ("round_to 1", "round_to 8"):
        assert rows[name]["flops_ratio"] <= 0.5
        p50 = rows[name]["p50_ms"]
        assert p50["eager b16 t1"] > p50["eager b1 t1"] > 0
        assert rows[name]["speedup"]["eager b1 t1"] == rows["baseline"]["p50_ms"]["eager b1 t1"] / p50["eager b1 t1"]
    assert rows["round_to 8"]["widths_multiple_of_8"] == 1.0 > rows["round_to 1"]["widths_multiple_of_8"]
    assert "| round_to 8 | " in markdown(result)
