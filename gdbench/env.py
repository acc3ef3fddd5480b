"""The environment a number was measured in: device name, library versions."""

from __future__ import annotations

import platform

import torch


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def device_name(device: torch.device | str) -> str:
    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()


def environment_record(device: torch.device | str = "cpu") -> dict:
    from importlib.metadata import version  # importing torchvision itself costs over a second

    return {
        "device": device_name(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": version("torchvision"),
        "python": platform.python_version(),
    }
