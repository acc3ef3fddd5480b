"""Training loops shared by baseline training, Tock, Tick and fine-tuning."""

from __future__ import annotations

import math
import sys
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm


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


def train_one_epoch(model: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer,
                    loss_fn: Callable, device: torch.device | str = "cpu", *,
                    lr_at_step: Callable[[int], float] | None = None,
                    extra_loss: Callable[[], torch.Tensor] | None = None,
                    max_steps: int | None = None, epoch: int = 0, desc: str = "train") -> dict:
    """One pass over `batches` (at most `max_steps` of them); returns mean loss and counts.

    `extra_loss` adds a term to every step's loss (the Tock's λ·Σ|φ|). A NaN or infinite loss
    stops training with an error naming the epoch and step.
    """
    model.train()
    total_loss, samples, steps = 0.0, 0, 0
    for step, (inputs, targets) in enumerate(progress(batches, desc, total=max_steps)):
        if max_steps is not None and step >= max_steps:
            break
        if lr_at_step is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at_step(step)
        inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        loss = loss_fn(model(inputs), targets)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"{desc}: loss is {loss.item()} at epoch {epoch}, step {step}")
        total = loss + extra_loss() if extra_loss is not None else loss
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        total_loss += loss.item() * inputs.shape[0]
        samples += inputs.shape[0]
        steps += 1
    return {"loss": total_loss / max(samples, 1), "samples": samples, "steps": steps}


def train_triangular(model: nn.Module, batches, loss_fn: Callable, epochs: int, lr_min: float,
                     lr_max: float, momentum: float, weight_decay: float,
                     device: torch.device | str = "cpu", *,
                     extra_loss: Callable[[], torch.Tensor] | None = None,
                     desc: str = "train") -> list[dict]:
    """`epochs` epochs of SGD over every trainable weight with a triangular lr stepped per
    batch (Tock and fine-tuning, authors' code); one result row per epoch."""
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr_min,
                                momentum=momentum, weight_decay=weight_decay)
    steps_per_epoch = len(batches)
    total_steps = max(1, epochs * steps_per_epoch)
    history = []
    for epoch in range(epochs):
        def lr_at(step, epoch=epoch):
            return triangular_lr(epoch * steps_per_epoch + step, total_steps, lr_min, lr_max)
        history.append(train_one_epoch(model, batches, optimizer, loss_fn, device, lr_at_step=lr_at,
                                       extra_loss=extra_loss, epoch=epoch,
                                       desc=f"{desc} {epoch + 1}/{epochs}"))
    return history
