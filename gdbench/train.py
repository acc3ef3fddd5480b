"""Training: one loop (`fit`) for baseline training, fine-tuning, Scratch-E/B, Tocks and the
baselines' sparsity phases; `train_one_epoch` for the Ticks and rounds that prune between epochs."""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from gdbench import progress as progress_lines
from gdbench.checkpoint import load_resumable, save_checkpoint, state_digest
from gdbench.config import config_record, dataclass_from_dict
from gdbench.distributed import is_distributed, is_main_process


def triangular_lr(step: int, total_steps: int, lr_min: float, lr_max: float) -> float:
    """lr_min -> lr_max over the first half of `total_steps`, back to lr_min over the second
    (authors' `tock` iter_hook, updated every step)."""
    half = total_steps / 2
    if step < half:
        return lr_min + (lr_max - lr_min) * step / half
    return max(0.0, lr_max - (lr_max - lr_min) * (step - half) / half)


def progress(iterable, desc: str, total: int | None = None):
    """A progress bar on a terminal, silence elsewhere (logs, CI)."""
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=not sys.stderr.isatty())


def train_one_epoch(
    model: nn.Module,
    batches: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    device: torch.device | str = "cpu",
    *,
    lr_at_step: Callable[[int], float] | None = None,
    extra_loss: Callable[[], torch.Tensor] | None = None,
    after_backward: Callable[[], None] | None = None,
    max_steps: int | None = None,
    epoch: int = 0,
    desc: str = "train",
    bf16: bool = False,
) -> dict:
    """One pass over `batches` (at most `max_steps` of them); returns mean loss and counts.

    `extra_loss` adds a term to every step's loss (the Tock's λ·Σ|φ|); `after_backward` may edit
    the gradients before the optimizer step (DepGraph's regulariser). `bf16` runs the forward
    pass under bfloat16 autocast. A NaN or infinite loss stops training with an error naming the
    epoch and step.
    """
    device_type = torch.device(device).type
    model.train()
    total_loss, samples, steps = 0.0, 0, 0
    for step, (inputs, targets) in enumerate(progress(batches, desc, total=max_steps)):
        if max_steps is not None and step >= max_steps:
            break
        if lr_at_step is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at_step(step)
        inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(inputs), targets)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"{desc}: loss is {loss.item()} at epoch {epoch}, step {step}")
        total = loss + extra_loss() if extra_loss is not None else loss
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if after_backward is not None:
            after_backward()
        optimizer.step()
        total_loss += loss.item() * inputs.shape[0]
        samples += inputs.shape[0]
        steps += 1
    return {"loss": total_loss / max(samples, 1), "samples": samples, "steps": steps}


SCHEDULES = ("step", "cosine", "triangular")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")


@dataclass(frozen=True)
class TrainConfig:
    """Baseline training (authors' CIFAR recipe: SGD 0.9, lr 0.1 ÷10 at 80 and 120, 160 epochs)."""

    epochs: int = 160
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4  # the authors' ResNet-56 used 5e-4 (their issue #8)
    schedule: str = "step"
    milestones: tuple[int, ...] = (80, 120)
    gamma: float = 0.1
    lr_min: float = 1e-3  # triangular: lr_min -> lr -> lr_min
    # the last `constant_epochs` of `epochs` run at `constant_lr`, the schedule spanning the rest
    # (the authors' ResNet-56 fine-tuning ends with 10 epochs at 1e-3)
    constant_epochs: int = 0
    constant_lr: float = 1e-3
    bf16: bool = False  # GPU fast path: bfloat16 autocast,
    channels_last: bool = False  # NHWC memory layout,
    compile: bool = False  # torch.compile of the training model,
    # with this mode: "reduce-overhead" replays CUDA graphs, 2.8x faster for ResNet-56 at batch
    # 128 on an H100, where eager training is launch-bound (results/gpu_check/2026-11-26_h100/)
    compile_mode: str = "default"

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule = {self.schedule!r}: must be one of {SCHEDULES}")
        if self.epochs < 1:
            raise ValueError(f"TrainConfig.epochs = {self.epochs}: must be >= 1")
        if self.compile_mode not in COMPILE_MODES:
            raise ValueError(f"TrainConfig.compile_mode = {self.compile_mode!r}: must be one of {COMPILE_MODES}")
        if not 0 <= self.constant_epochs < self.epochs:
            raise ValueError(
                f"TrainConfig.constant_epochs = {self.constant_epochs}: must be in [0, epochs = {self.epochs})"
            )

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return dataclass_from_dict(cls, values, "training")

    def lr_at(self, step: int, steps_per_epoch: int) -> float:
        """Learning rate of global batch `step` (schedules move every batch, not every epoch)."""
        scheduled = self.epochs - self.constant_epochs
        if step >= scheduled * steps_per_epoch:
            return self.constant_lr
        total = scheduled * steps_per_epoch
        if self.schedule == "step":
            epoch = step // steps_per_epoch
            return self.lr * self.gamma ** sum(epoch >= m for m in self.milestones)
        if self.schedule == "cosine":
            return 0.5 * self.lr * (1 + math.cos(math.pi * step / total))
        return triangular_lr(step, total, self.lr_min, self.lr)


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning after pruning as the authors ran it (`prune/utils.py`, `finetune`): a triangular
    lr 1e-3 <-> 1e-2 over `epochs`, no sparsity term, and momentum 0.0 (their hook sets it on every
    step), then `constant_epochs` at `constant_lr` (their ResNet-56 notebook: 10 at 1e-3).
    `batch_size` replaces the data section's for fine-tuning (their ResNet-56 notebook: 64)."""

    epochs: int = 40
    lr_min: float = 1e-3
    lr_max: float = 1e-2
    momentum: float = 0.0
    weight_decay: float = 1e-4
    constant_epochs: int = 0
    constant_lr: float = 1e-3
    batch_size: int | None = None

    @classmethod
    def from_dict(cls, values: dict) -> FinetuneConfig:
        return dataclass_from_dict(cls, values, "fine-tuning")

    def training(self) -> TrainConfig:
        return dataclasses.replace(
            triangular(self.epochs + self.constant_epochs, self.lr_min, self.lr_max, self.momentum, self.weight_decay),
            constant_epochs=self.constant_epochs,
            constant_lr=self.constant_lr,
        )


def triangular(epochs: int, lr_min: float, lr_max: float, momentum: float, weight_decay: float) -> TrainConfig:
    """`epochs` of SGD with a triangular lr lr_min -> lr_max -> lr_min stepped per batch (Tock,
    fine-tuning and sparsity phases; authors' `tock` iter_hook)."""
    return TrainConfig(
        epochs=epochs, lr=lr_max, lr_min=lr_min, schedule="triangular", momentum=momentum, weight_decay=weight_decay
    )


def training_identity(model: nn.Module, config: TrainConfig, extra: dict | None = None) -> dict:
    """What a training run's resumable files must have been written for: its settings, the
    weights it starts from and whatever else the caller names (e.g. the data settings)."""
    return {"training": config_record(config), "start": state_digest(model.state_dict()), **(extra or {})}


def fit(
    model: nn.Module,
    train_batches,
    loss_fn: Callable,
    config: TrainConfig,
    device: torch.device | str = "cpu",
    *,
    checkpoint_path: str | Path | None = None,
    evaluate: Callable[[nn.Module], dict] | None = None,
    identity: dict | None = None,
    extra_loss: Callable[[], torch.Tensor] | None = None,
    after_backward: Callable[[], None] | None = None,
    desc: str = "train",
) -> list[dict]:
    """Train for `config.epochs`, checkpointing after every epoch (atomic write). A checkpoint
    written by a run of the same identity (`training_identity`: settings and starting weights,
    computed here when not given) is resumed after its last complete epoch with model, optimizer,
    RNG states and history restored, so that on CPU a resumed run ends with the same weights as
    an uninterrupted one; a checkpoint of any other identity is discarded. `extra_loss` and
    `after_backward` go to every step (train_one_epoch). Returns one row of metrics per epoch."""
    if checkpoint_path is not None and identity is None:
        identity = training_identity(model, config)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    history, start = [], 0
    state = load_resumable(checkpoint_path, identity) if checkpoint_path is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        history, start = state["history"], state["epoch"]
    trained = model
    if is_distributed():
        trained = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if torch.device(device).type == "cuda" else None
        )
    if config.compile:
        trained = torch.compile(trained, mode=config.compile_mode)
    steps_per_epoch = len(train_batches)
    started = time.monotonic()
    for epoch in range(start, config.epochs):
        sampler = getattr(train_batches, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)  # a new shuffle per epoch under DistributedSampler
        row = train_one_epoch(
            trained,
            train_batches,
            optimizer,
            loss_fn,
            device,
            epoch=epoch,
            bf16=config.bf16,
            desc=f"{desc} {epoch + 1}/{config.epochs}",
            extra_loss=extra_loss,
            after_backward=after_backward,
            lr_at_step=lambda step, e=epoch: config.lr_at(e * steps_per_epoch + step, steps_per_epoch),
        )
        row = {"epoch": epoch + 1, **row, **(evaluate(model) if evaluate is not None else {})}
        history.append(row)
        if is_main_process():
            done = (epoch + 1 - start) / (config.epochs - start)
            shown = {k: v for k, v in row.items() if k not in ("epoch", "samples", "steps")}
            progress_lines.write(desc, f"epoch {epoch + 1}/{config.epochs}", shown, started, done)
            progress_lines.record(desc, epoch + 1, row)
        if checkpoint_path is not None and is_main_process():
            save_checkpoint(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch + 1,
                    "history": history,
                    "rng": {
                        "torch": torch.get_rng_state(),
                        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                    },
                    "identity": identity,
                },
                checkpoint_path,
            )
    return history
