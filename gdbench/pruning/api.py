"""`gdbench.prune`: Gate Decorator on any torchvision-style CNN in one call."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn

from gdbench.gates import decorate, undecorate
from gdbench.pruning.ticktock import TickTockConfig
from gdbench.train import FinetuneConfig, fit

# DEVIATION: the call's own defaults are not the paper's; they are sized for a first try on a new
# model: 5 % of the filters per Tick, a 1-epoch Tock every 4 Ticks, so that a net reaches 50 % FLOPs
# in about 7 Ticks and 2 Tocks, 30 % in about 12 and 3 (a Tick or a Tock epoch is one pass over the
# data). The paper's ResNet-56 settings (0.2 % per Tick, 10 Ticks per Tock, 10-epoch Tocks;
# configs/experiments/resnet56_cifar10.yaml) make hundreds of passes; pass them by name to reproduce it.
FIRST_TRY_SETTINGS = {"prune_fraction_per_tick": 0.05, "ticks_per_tock": 4, "tock_epochs": 1}


def _first_inputs(train_loader: Iterable) -> torch.Tensor:
    """One example input, the first image of the first batch (the graph and FLOPs are taken at it)."""
    batch = next(iter(train_loader))
    images = batch[0] if isinstance(batch, (tuple, list)) else batch
    return images[:1]


def prune(
    model: nn.Module,
    train_loader: Iterable,
    target_flops_ratio: float,
    *,
    method: str = "gate_decorator",
    method_settings: dict | None = None,
    loss_fn: Callable | None = None,
    finetune_epochs: int = 0,
    example_inputs: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
    save_dir: str | Path | None = None,
    **ticktock_settings,
) -> nn.Module:
    """Prune a copy of `model` with Gate Decorator (or another `method` of
    gdbench.pruning.methods, with its `method_settings`) until its FLOPs ratio (kept / original)
    reaches `target_flops_ratio`; fine-tune it for `finetune_epochs`; return it as a plain,
    physically smaller torch model (gates folded into BN / conv, no gdbench layer left).

    `ticktock_settings` are TickTockConfig fields, e.g. `prune_fraction_per_tick=0.01`,
    `tock_epochs=2`, laid over FIRST_TRY_SETTINGS. `example_inputs` (default: the first image of
    the first batch, unless the model has an `example_input_shape`) is the input the channel
    graph and FLOPs are taken at. `save_dir` receives the Tick-Tock trace (trace.csv) and a
    checkpoint per `save_flops_ratios` entry. The input model is left untouched.
    """
    config = TickTockConfig.from_dict(
        {**FIRST_TRY_SETTINGS, **ticktock_settings, "target_flops_ratio": target_flops_ratio}
    )
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    if example_inputs is None and not hasattr(model, "example_input_shape"):
        example_inputs = _first_inputs(train_loader)
    if example_inputs is not None:
        example_inputs = example_inputs.to(device)
    pruned = decorate(copy.deepcopy(model).to(device), example_inputs)
    if example_inputs is not None:
        pruned.example_input_shape = tuple(example_inputs.shape)  # so later counts use the same input
    from gdbench.pruning.methods import build_pruner

    build_pruner(
        method,
        pruned,
        train_loader,
        loss_fn,
        config,
        method_settings,
        device=device,
        example_inputs=example_inputs,
        save_dir=save_dir,
    ).run()
    if finetune_epochs > 0:
        fit(pruned, train_loader, loss_fn, FinetuneConfig(epochs=finetune_epochs).training(), device, desc="finetune")
    return undecorate(pruned)
