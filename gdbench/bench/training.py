"""Training throughput (images/s) of one model on the current device, per data path."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

from gdbench.bench import timed
from gdbench.data.loaders import CIFAR_STATISTICS, CifarTensorBatches, _CifarSamples
from gdbench.models import build_model
from gdbench.train import train_one_epoch

VARIANTS = ("dataloader", "tensor", "tensor_bf16_cl", "tensor_bf16_cl_compile")
# torch.compile modes by variant suffix: "reduce-overhead" replays CUDA graphs, removing the
# per-kernel launch cost that bounds small nets such as ResNet-56 on a fast GPU.
COMPILE_BY_SUFFIX = {"compile": "default", "cudagraphs": "reduce-overhead"}


def _batches(
    variant: str, images: torch.Tensor, labels: torch.Tensor, batch_size: int, device: torch.device, workers: int
):
    if variant == "dataloader":
        loader = DataLoader(
            _CifarSamples(images, labels, train=True, statistics=CIFAR_STATISTICS["cifar10"]),
            batch_size=batch_size,
            shuffle=True,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            drop_last=True,
            persistent_workers=workers > 0,
        )
        return loader
    return CifarTensorBatches(images, labels, batch_size, True, device, channels_last="_cl" in variant)


def train_throughput(
    model_name: str = "resnet56",
    variants=VARIANTS,
    samples: int = 10_000,
    batch_size: int = 128,
    epochs: int = 2,
    workers: int = 4,
    device: str | None = None,
) -> dict:
    """Images/s of `epochs` timed epochs (after one warm-up epoch) of `samples` CIFAR-sized
    images, for each data path; plus seconds per 50,000-image CIFAR-10 epoch."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (samples, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (samples,), generator=generator)
    result = {"model": model_name, "device_type": device.type, "batch_size": batch_size}
    for variant in variants:
        torch.manual_seed(0)
        model = build_model(model_name).to(device)
        if "_cl" in variant:
            model = model.to(memory_format=torch.channels_last)
        mode = COMPILE_BY_SUFFIX.get(variant.rsplit("_", 1)[-1])
        trained = torch.compile(model, mode=mode) if mode else model
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        batches = _batches(variant, images, labels, batch_size, device, workers)
        bf16 = "bf16" in variant

        def epoch(trained=trained, batches=batches, optimizer=optimizer, bf16=bf16):
            return train_one_epoch(trained, batches, optimizer, nn.CrossEntropyLoss(), device, bf16=bf16)

        epoch()  # warm-up: compilation, cuDNN autotuning, worker start-up
        seconds = sum(timed(epoch, device) for _ in range(epochs))
        result[f"{variant}_images_per_s"] = epochs * samples / seconds
        result[f"{variant}_s_per_cifar10_epoch"] = 50_000 / result[f"{variant}_images_per_s"]
    for variant in variants:
        if variant != "dataloader" and "dataloader" in variants:
            result[f"ratio_{variant}_to_dataloader"] = (
                result[f"{variant}_images_per_s"] / result["dataloader_images_per_s"]
            )
    return result


def step_profile(
    model_name: str = "resnet56", batch_size: int = 128, steps: int = 20, bf16: bool = True, device: str | None = None
) -> dict:
    """Where one training step's time goes: host (Python + dispatch + launches) against device
    kernel time, from torch.profiler over `steps` steps after warm-up. A step whose host time
    exceeds its device time is launch-bound: a faster GPU cannot help, CUDA graphs can."""
    from torch.profiler import ProfilerActivity, profile

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(0)
    model = build_model(model_name).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.randint(0, 256, (batch_size * steps, 3, 32, 32), dtype=torch.uint8)
    batches = CifarTensorBatches(
        images, torch.randint(0, 10, (len(images),)), batch_size, True, device, channels_last=True
    )
    loss_fn = nn.CrossEntropyLoss()
    train_one_epoch(model, batches, optimizer, loss_fn, device, bf16=bf16, max_steps=3)  # warm-up
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as trace:
        wall = timed(
            lambda: train_one_epoch(model, batches, optimizer, loss_fn, device, bf16=bf16, max_steps=steps), device
        )
    events = trace.key_averages()
    device_us = sum(getattr(e, "self_device_time_total", 0) for e in events)
    kernels = sum(e.count for e in events if getattr(e, "self_device_time_total", 0) > 0)
    return {
        "model": model_name,
        "batch_size": batch_size,
        "steps": steps,
        "wall_ms_per_step": 1e3 * wall / steps,
        "device_kernel_ms_per_step": device_us / 1e3 / steps,
        "kernels_per_step": kernels / steps,
        "device_busy_share": (device_us / 1e6) / wall if wall > 0 else 0.0,
    }
