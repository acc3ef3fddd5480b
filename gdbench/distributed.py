"""Multi-GPU data parallelism under `torchrun` (ResNet-50 on ImageNet), and nothing otherwise.

`torchrun --standalone --nproc_per_node N -m gdbench.cli train ...` sets WORLD_SIZE, RANK and
LOCAL_RANK; a plain run leaves them unset and everything here is a no-op.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env() -> bool:
    """Join the process group torchrun describes; True when running distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return True


def barrier() -> None:
    """Wait for every process (e.g. for rank 0's files) when distributed."""
    if is_distributed():
        dist.barrier()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def is_main_process() -> bool:
    return not is_distributed() or dist.get_rank() == 0


def local_device(requested: str) -> torch.device:
    """The device this process trains on: its own GPU under torchrun, else `requested`."""
    if is_distributed() and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(requested)


def resolve_device(requested: str) -> torch.device:
    """'auto' -> cuda if present else cpu; a GPU asked for where none exists is a clear error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {requested!r} was asked for, but this machine has no CUDA GPU; use --device cpu or --device auto"
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {requested!r} was asked for, but only {torch.cuda.device_count()} GPU(s) exist")
    return device
