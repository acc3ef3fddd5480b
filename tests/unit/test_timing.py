"""Latency as MLPerf reports it (gdbench.timing) and the latency job's bookkeeping (stages.latency)."""

import time
from pathlib import Path

import pytest
import torch

from gdbench import timing
from gdbench.stages import _speedups, evaluated_model


def test_percentiles_are_mlperf_s_order_statistics():
    samples = [i / 1000 for i in range(100, 0, -1)]  # 1 ms .. 100 ms, unordered
    assert timing.percentiles(samples) == pytest.approx({"p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 99.0})
    assert timing.percentiles([0.002]) == pytest.approx({"p50_ms": 2.0, "p90_ms": 2.0, "p99_ms": 2.0})


def test_each_timed_call_is_counted_after_the_warm_up():
    calls = []
    samples = timing.time_calls(lambda: calls.append(1), repeats=7, warmup=3)
    assert len(samples) == 7 and len(calls) == 10 and all(s >= 0 for s in samples)


def test_threads_are_set_for_the_measurement_and_restored():
    before = torch.get_num_threads()
    with timing.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_onnxruntime_times_the_exported_model(tmp_path):
    from gdbench import deploy
    from gdbench.models import build_model

    model = build_model("resnet20", base_width=4).eval()
    path = deploy.export_onnx(model, tmp_path / "model.onnx")
    inputs = torch.randn(2, 3, 32, 32)
    call = timing.onnxruntime_call(path, inputs, threads=1)
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(call()[0]), model(inputs), atol=1e-4)


def test_an_evaluation_path_names_its_model():
    root = Path("results/p/exp")
    assert evaluated_model(root / "baseline/seed2/evaluate/evaluate.json") == {
        "stage": "baseline", "method": "none", "target": "none", "seed": 2,
        "model": root / "baseline/seed2/train/model.pt",
    }  # fmt: skip
    assert evaluated_model(root / "l1_norm/0.3/seed1/scratch_b/evaluate/evaluate.json") == {
        "stage": "scratch_b", "method": "l1_norm", "target": "0.3", "seed": 1,
        "model": root / "l1_norm/0.3/seed1/scratch_b/train/model.pt",
    }  # fmt: skip


def test_speed_ups_compare_with_the_same_seed_s_baseline_in_the_same_setting():
    def row(stage, seed, threads, p50, flops):
        return {"stage": stage, "seed": seed, "device": "cpu", "runtime": "eager", "threads": threads,
                "batch": 1, "p50_ms": p50, "flops": flops}  # fmt: skip

    rows = [
        row("baseline", 0, 1, 10.0, 100), row("baseline", 0, "all", 6.0, 100), row("baseline", 1, 1, 12.0, 100),
        row("finetune", 0, 1, 5.0, 25), row("finetune", 0, "all", 4.0, 25), row("finetune", 1, 1, 4.0, 25),
    ]  # fmt: skip
    _speedups(rows)
    assert [r["speedup"] for r in rows[3:]] == [2.0, 1.5, 3.0]  # each against its own seed and threads
    assert all(r["flops_speedup"] == 4.0 for r in rows[3:])
    assert rows[3]["speedup_over_flops_speedup"] == 0.5


def test_side_by_side_timing_calls_each_in_turn_after_its_warmup():
    order = []
    calls = {"fast": lambda: order.append("fast"), "slow": lambda: (order.append("slow"), time.sleep(0.01))}
    samples = timing.time_side_by_side(calls, repeats=3, warmup=1)
    assert order == ["fast", "slow"] * 4  # one warm-up each, then three rounds in turn
    assert [len(samples[name]) for name in calls] == [3, 3]
    assert min(samples["slow"]) >= 0.009  # the sleeping call is timed as itself, not as its neighbour
