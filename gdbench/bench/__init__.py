"""`gdbench bench ...`: performance measured side by side in one process.

The machine may be shared and noisy, so every benchmark measures the compared variants in the
same run and reports their ratio, with the device and library versions.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from gdbench.env import environment_record


def environment() -> dict:
    return environment_record("cuda" if torch.cuda.is_available() else "cpu")


def gpu_check(model_name: str = "resnet56") -> dict:
    """The GPU preset (scripts/gpu_check.sh): every training data path on a CIFAR-10-sized
    epoch, and pruned-against-baseline latency; about 5 minutes on one H100."""
    from gdbench.bench.latency import latency
    from gdbench.bench.training import train_throughput

    throughput = train_throughput(model_name, samples=50_000, epochs=2, workers=8)
    speed = latency(model_name, flops_ratio=0.3, batch_sizes=(1, 32, 256, 1024), repeats=30, channels_last=True)
    return {**throughput, **{f"latency_{k}": v for k, v in speed.items() if k != "model"}}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device | None = None) -> float:
    """Seconds `fn` takes, waiting for the GPU before and after."""
    if device is not None:
        synchronize(device)
    start = time.perf_counter()
    fn()
    if device is not None:
        synchronize(device)
    return time.perf_counter() - start
