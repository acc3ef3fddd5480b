"""The Tick-Tock pruning schedule (paper §3.3, fig. 2; authors' `IterRecoverFramework`).

    Tock (once first, then after every `ticks_per_tock` Ticks): all weights train on the full
        training data with loss + λ·Σ|φ| and a triangular lr, so that unimportant gates shrink.
    Tick: one epoch on a fraction of the training data with conv weights frozen; only gates,
        BN biases and the output layer train, at a constant lr, while the gate scores Θ
        accumulate; then the globally lowest-scored `prune_fraction_per_tick` of the remaining
        filters are physically removed (the authors' threshold rule: dead channels go free,
        gdbench.pruning.plan), no more than the next save point needs.

Pruning stops once the model's FLOPs ratio (kept / original) reaches `target_flops_ratio`. A
checkpoint of the plain (gates folded) model is written when the ratio first reaches each of
`save_flops_ratios`, so one run yields every row of a FLOPs sweep (authors' ResNet-56 runs saved
at 40, 38, 35, 32 and 30 %).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import nn

from gdbench.checkpoint import load_pruned_state_dict, load_resumable, save_checkpoint, state_digest
from gdbench.config import config_record, dataclass_from_dict
from gdbench.gates import GatedBatchNorm2d, gated_layers
from gdbench.pruning.engine import GlobalPruner, PruneConfig, checkpoint_name, write_trace  # noqa: F401 (re-exported)
from gdbench.pruning.score import GateScoreCollector, group_scores
from gdbench.train import fit, train_one_epoch, triangular


@dataclass(frozen=True)
class TickTockConfig(PruneConfig):
    """The shared pruning settings (PruneConfig) plus the Tick-Tock schedule's own. The baselines
    that train while they prune (Network Slimming's and DepGraph's sparsity phases, Taylor's
    rounds) borrow the Tock's and Tick's budgets from here, so every method spends alike."""

    ticks_per_tock: int = 10  # T (paper fig. 2)
    tick_lr: float = 1e-3  # constant lr of a Tick (authors' code)
    tick_data_fraction: float = 1.0  # share of the training batches a Tick sees
    tock_epochs: int = 10
    tock_lr_min: float = 1e-3  # triangular lr 1e-3 -> 1e-2 -> 1e-3 (authors' code)
    tock_lr_max: float = 1e-2
    gate_l1_weight: float = 1e-3  # λ of the Tock's λ·Σ|φ| (paper §3.3)
    momentum: float = 0.9
    weight_decay: float = 1e-4  # the authors used 5e-4 for ResNet-56 (their issue #8)
    # Ablations (README, Baselines and ablations), the paper's choices by default:
    group_reduction: str = "sum"  # a group's score: sum of its members' (paper §3.4) or mean
    one_shot: bool = False  # True: one Tock, one scoring Tick, then remove to the target

    def __post_init__(self):
        super().__post_init__()
        check = self._check
        check("ticks_per_tock", self.ticks_per_tock >= 1, ">= 1")
        check("tick_data_fraction", 0 < self.tick_data_fraction <= 1, "in (0, 1]")
        check("tock_epochs", self.tock_epochs >= 0, ">= 0")
        check("group_reduction", self.group_reduction in ("sum", "mean"), "'sum' or 'mean'")

    @classmethod
    def from_dict(cls, values: dict) -> TickTockConfig:
        return dataclass_from_dict(cls, values, "Tick-Tock")

    def shared(self) -> PruneConfig:
        """Only what every method shares: for the methods that neither train nor score over time."""
        return PruneConfig(**{f.name: getattr(self, f.name) for f in fields(PruneConfig)})


STATE_FILE = "ticktock_state.pt"


@dataclass(frozen=True)
class TickCriterion:
    """What the Ticks score channels with in place of Θ, so that any criterion runs inside the
    same schedule (same Tocks with λ·Σ|φ|, Ticks, step size, floors and save points): either
    `static(pruner)`, scores of the model after the Tick's training, or `collector(graph,
    groups)`, a context manager gathering scores over the Tick's passes (`.scores()`), which with
    `weight_gradients` needs ∂L/∂W of the producing convs (computed, never applied: the Tick
    still trains only gates, biases and the output layer)."""

    name: str
    static: Callable | None = None
    collector: Callable | None = None
    weight_gradients: bool = False


class TickTock(GlobalPruner):
    """Runs Tick-Tock on a decorated model, in place. `run()` returns the trace, one row per
    Tick or Tock: FLOPs, params, FLOPs ratio, filters left, loss, seconds."""

    def __init__(
        self,
        model: nn.Module,
        train_batches: Iterable,
        loss_fn: Callable,
        config: TickTockConfig,
        *,
        device: torch.device | str = "cpu",
        example_inputs: torch.Tensor | None = None,
        save_dir: str | Path | None = None,
        evaluate: Callable[[nn.Module], float] | None = None,
        identity: dict | None = None,
        criterion: TickCriterion | None = None,
    ):
        # What a resumable state must have been written for: these settings, this criterion,
        # these starting weights and whatever the caller adds (the job's data settings).
        identity = {
            "ticktock": config_record(config),
            "criterion": criterion.name if criterion else "gate_score",
            "start": state_digest(model.state_dict()),
            **(identity or {}),
        }
        self.criterion = criterion
        state = self._interrupted_state(save_dir, config, identity)
        if state is not None:  # shrink the model to the architecture it had when the run stopped
            load_pruned_state_dict(model, state["model"])
        super().__init__(
            model, config, example_inputs=example_inputs, save_dir=save_dir, evaluate=evaluate, identity=identity
        )
        self.train_batches, self.loss_fn, self.device = train_batches, loss_fn, device
        if state is not None:
            self._restore(state)

    # -- resume after an interruption ---------------------------------------------------------
    # After every Tick and Tock the run's state (pruned weights, trace, save points, original
    # sizes, RNG) is written atomically to <save_dir>/ticktock_state.pt; a run started on the
    # same save_dir with the same settings and starting weights continues from there, and on CPU
    # ends with the weights an uninterrupted run ends with; a state of any other identity is
    # discarded. The file is removed when the run completes.

    @staticmethod
    def _interrupted_state(save_dir, config: TickTockConfig, identity: dict) -> dict | None:
        if save_dir is None or config.one_shot:
            return None
        return load_resumable(Path(save_dir) / STATE_FILE, identity)

    def _restore(self, state: dict) -> None:
        widths = state["original_widths"]
        for group in self.graph.groups:
            group.original_width = widths[group.names[0]]
        self.original_flops, self.trace, self.ticks = state["original_flops"], state["trace"], state["ticks"]
        self.training_epochs = self.trace[-1].get("training_epochs", 0.0) if self.trace else 0.0
        self.saved = {float(point): Path(path) for point, path in state["saved"].items()}
        torch.set_rng_state(state["rng"])

    def _save_state(self) -> None:
        if self.save_dir is None or self.config.one_shot:
            return
        save_checkpoint(
            {
                "model": self.model.state_dict(),
                "trace": self.trace,
                "ticks": self.ticks,
                "saved": {str(point): str(path) for point, path in self.saved.items()},
                "original_flops": self.original_flops,
                "rng": torch.get_rng_state(),
                "original_widths": {g.names[0]: g.original_width for g in self.graph.groups},
                "identity": self.identity,
            },
            self.save_dir / STATE_FILE,
        )

    def _tock_due(self) -> bool:
        """After every `ticks_per_tock` Ticks, unless the target is reached."""
        return (
            self.ticks > 0
            and self.ticks % self.config.ticks_per_tock == 0
            and self.trace[-1]["flops_ratio"] > self.config.target_flops_ratio
        )

    # -- phases ------------------------------------------------------------------------------

    def tock(self) -> dict:
        """All weights train, loss + λ·Σ|φ|, triangular lr over the whole Tock (per step)."""
        config = self.config
        gates = [layer.gate for _, layer in gated_layers(self.model)]
        extra_loss = (
            (lambda: config.gate_l1_weight * sum(g.abs().sum() for g in gates)) if config.gate_l1_weight > 0 else None
        )
        if config.tock_epochs == 0:
            return {"loss": math.nan}
        training = triangular(
            config.tock_epochs, config.tock_lr_min, config.tock_lr_max, config.momentum, config.weight_decay
        )
        history = fit(
            self.model, self.train_batches, self.loss_fn, training, self.device, extra_loss=extra_loss, desc="tock"
        )
        return {"loss": history[-1]["loss"] if history else math.nan, "epochs": float(config.tock_epochs)}

    def tick(self) -> tuple[dict, list[torch.Tensor]]:
        """One epoch on a share of the data, conv weights frozen; returns loss and the group
        scores (Θ, or the criterion's)."""
        trainable = self._tick_parameters()
        criterion = self.criterion
        graded = set(trainable)
        if criterion is not None and criterion.weight_gradients:
            graded |= {layer.weight for group in self.prunable_groups for layer in self.graph.producers(group)}
        saved_flags = {p: p.requires_grad for p in self.model.parameters()}
        for p in self.model.parameters():
            p.requires_grad_(p in graded)
        # DEVIATION: a fresh SGD (momentum, no weight decay) per Tick; the authors reused the
        # training optimizer, weight decay and momentum buffers included.
        optimizer = torch.optim.SGD(list(trainable), lr=self.config.tick_lr, momentum=self.config.momentum)
        # DEVIATION: the Tick's data subset is the first share of the (shuffled) training
        # batches, drawn anew each Tick; the authors passed a fixed `tick_trainset`.
        steps = max(1, math.ceil(self.config.tick_data_fraction * len(self.train_batches)))
        other = (
            criterion.collector(self.graph, self.prunable_groups)
            if criterion is not None and criterion.collector is not None
            else contextlib.nullcontext()
        )
        try:
            with GateScoreCollector(self.model) as collector, other as gathered:
                result = train_one_epoch(
                    self.model,
                    self.train_batches,
                    optimizer,
                    self.loss_fn,
                    self.device,
                    max_steps=steps,
                    epoch=self.ticks,
                    desc=f"tick {self.ticks + 1}",
                )
        finally:
            for p, flag in saved_flags.items():
                p.requires_grad_(flag)
                if p not in trainable:
                    p.grad = None  # gradients taken for a criterion only
        result["epochs"] = result["steps"] / max(1, len(self.train_batches))
        if criterion is None:
            return result, self.group_scores(collector.scores)
        scores = criterion.static(self) if criterion.static is not None else gathered.scores()
        return result, [s.detach().cpu() for s in scores]

    def _tick_parameters(self) -> set[nn.Parameter]:
        """Gates, BN biases and the output layer (paper fig. 2; authors' `freeze_conv`)."""
        params = {layer.gate for _, layer in gated_layers(self.model)}
        params |= {m.bias for m in self.model.modules() if isinstance(m, GatedBatchNorm2d)}
        params |= {p for layer in self.graph.output_layers for p in layer.parameters()}
        return params

    def group_scores(self, scores: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        groups = self.prunable_groups
        summed = group_scores(groups, scores)
        if self.config.group_reduction == "mean":
            return [s / len(g.names) for s, g in zip(summed, groups)]
        return summed

    def prune(self, scores: list[torch.Tensor]) -> int:
        """Remove the globally lowest-scored channels (group scores); returns the filters removed."""
        return self.remove(scores)[0]

    # -- schedule ----------------------------------------------------------------------------

    def run(self) -> list[dict]:
        if not self.trace or (self.trace[-1]["phase"] == "tick" and self._tock_due()):
            self.record("tock", self.tock())  # the first Tock, or the one an interruption cut short
            self._save_state()
        if self.config.one_shot:
            result, scores = self.tick()
            self.record("score", result)
            self.prune_to_target(scores)
            return self.trace
        while not self.reached():
            self.check_budget()
            result, scores = self.tick()
            result["filters_removed"] = self.prune(scores)
            self.step_done("tick", result)
            self._save_state()
            if self._tock_due():
                self.record("tock", self.tock())
                self._save_state()
        if self.save_dir is not None:
            (self.save_dir / STATE_FILE).unlink(missing_ok=True)
        return self.trace
