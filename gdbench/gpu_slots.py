"""GPU slots: distinct devices for concurrent GPU jobs on one machine.

Snakemake's `--resources gpu=N` only caps how many GPU jobs run at once; it never says which
GPU a job should use (docs/facts.md, Library pitfalls). Each GPU job therefore takes its devices here: under one lock
on `<state_dir>/lock`, a job takes all the devices it needs or none (so two multi-GPU jobs can
never each hold half and wait for the other), writes one claim file per device, and releases
them when it ends. Claims of processes that died are reclaimed. With no GPU, jobs run on CPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


def visible_devices() -> list[int]:
    """GPU ids this machine offers: GDBENCH_GPUS (e.g. '0,1,2,3', for tests and for sharing a
    box), else every CUDA device."""
    listed = os.environ.get("GDBENCH_GPUS")
    if listed is not None:
        return [int(x) for x in listed.split(",") if x.strip()]
    try:
        import torch

        return list(range(torch.cuda.device_count()))
    except ImportError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free(state_dir: Path, devices: list[int]) -> list[int]:
    free = []
    for device in devices:
        claim = state_dir / f"gpu{device}.claim"
        if claim.exists():
            try:
                holder = int(claim.read_text().strip() or "0")
            except ValueError:
                holder = 0
            if holder and _alive(holder):
                continue
            claim.unlink(missing_ok=True)  # its process is gone
        free.append(device)
    return free


@contextlib.contextmanager
def gpu_slots(
    count: int,
    state_dir: str | Path,
    devices: list[int] | None = None,
    poll_seconds: float = 1.0,
    timeout_seconds: float | None = None,
) -> Iterator[list[int]]:
    """Hold `count` distinct GPUs (all or none) and set CUDA_VISIBLE_DEVICES to them while open.
    Yields [] when the machine has no GPU or none is asked for: the job runs on CPU."""
    devices = visible_devices() if devices is None else devices
    if count <= 0 or not devices:
        yield []
        return
    if count > len(devices):
        raise ValueError(
            f"this job needs {count} GPUs, but this machine offers {len(devices)} "
            f"({devices}); lower the experiment's `gpus`"
        )
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    taken: list[int] = []
    while not taken:
        with open(state_dir / "lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            free = _free(state_dir, devices)
            if len(free) >= count:
                taken = free[:count]
                for device in taken:
                    (state_dir / f"gpu{device}.claim").write_text(str(os.getpid()))
            fcntl.flock(lock, fcntl.LOCK_UN)
        if not taken:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"no {count} free GPUs among {devices} within {timeout_seconds} s")
            time.sleep(poll_seconds)
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, taken))
    try:
        yield taken
    finally:
        for device in taken:
            (state_dir / f"gpu{device}.claim").unlink(missing_ok=True)
        if previous is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = previous
