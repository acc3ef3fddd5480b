"""The schedules of the baseline methods, each on the shared GlobalPruner (engine.py): same
groups, floors, step size (`prune_fraction_per_tick`), FLOPs target, save points and trace.

    OneShotPruning   optional sparsity training, score once, remove to the target
                     (L1-norm, FPGM, random, Network Slimming, DepGraph)
    IterativeTaylor  rounds of training while scores accumulate, one removal step per round
                     (Taylor on weights, Taylor on BN gates), the Tick's budget per round
    UniformShrink    every group narrowed by the same share of its width (the paper's "shrunk")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn

from gdbench.gates import gated_layers
from gdbench.pruning.engine import GlobalPruner
from gdbench.pruning.methods import criteria
from gdbench.pruning.methods.depgraph import PlainModel
from gdbench.pruning.plan import aligned_width, floor_channels
from gdbench.train import fit, train_one_epoch, triangular


class _TrainingPruner(GlobalPruner):
    def __init__(
        self,
        model: nn.Module,
        train_batches: Iterable,
        loss_fn: Callable,
        config,
        *,
        device: torch.device | str = "cpu",
        example_inputs: torch.Tensor | None = None,
        save_dir: str | Path | None = None,
        evaluate=None,
        identity: dict | None = None,
    ):
        super().__init__(
            model, config, example_inputs=example_inputs, save_dir=save_dir, evaluate=evaluate, identity=identity
        )
        self.train_batches, self.loss_fn, self.device = train_batches, loss_fn, device

    def sparsity_training(self, epochs: int, *, model=None, extra_loss=None, after_backward=None) -> dict:
        """Training of every weight of `model` (default: the pruned model) with a sparsity term,
        on the Tock's triangular lr."""
        config = self.config
        if epochs == 0:
            return {"loss": math.nan}
        training = triangular(epochs, config.tock_lr_min, config.tock_lr_max, config.momentum, config.weight_decay)
        history = fit(
            self.model if model is None else model,
            self.train_batches,
            self.loss_fn,
            training,
            self.device,
            extra_loss=extra_loss,
            after_backward=after_backward,
            desc="sparsity",
        )
        return {"loss": history[-1]["loss"] if history else math.nan, "epochs": float(epochs)}


class OneShotPruning(_TrainingPruner):
    """`prepare` (sparsity training, or nothing) then one scoring and removal to the target."""

    def __init__(
        self,
        *args,
        criterion: Callable[[OneShotPruning], list[torch.Tensor]],
        prepare: Callable[[OneShotPruning], dict] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.criterion, self.prepare = criterion, prepare

    def run(self) -> list[dict]:
        self.record("sparsity" if self.prepare else "start", self.prepare(self) if self.prepare else {})
        self.prune_to_target(self.criterion(self))
        return self.trace


# DEVIATION: Network Slimming and DepGraph train with their sparsity term from scratch or for a
# full schedule in their papers; here the sparsity phase starts from the shared trained baseline
# and lasts `sparsity_epochs` (default: one Tock), so that every method starts from the same weights.
def slimming_sparsity(weight: float, epochs: int) -> Callable[[OneShotPruning], dict]:
    """Network Slimming's sparsity training: loss + λ·Σ|γ| (Liu et al. 2017, eq. 1); the gates are
    the BN scales of a decorated model."""

    def prepare(pruner: OneShotPruning) -> dict:
        gates = [layer.gate for _, layer in gated_layers(pruner.model)]
        return pruner.sparsity_training(epochs, extra_loss=lambda: weight * sum(g.abs().sum() for g in gates))

    return prepare


def depgraph_sparsity(regularization: float, alpha: float, epochs: int) -> Callable[[OneShotPruning], dict]:
    """DepGraph's group-level sparse learning through torch-pruning's GroupNormPruner, on the plain
    BN model as its authors run it (depgraph.PlainModel: the BN scales are regularised too); the
    decorated model then takes the trained weights (Fang et al. 2023, §3.4)."""

    def prepare(pruner: OneShotPruning) -> dict:
        plain = PlainModel(pruner.graph)
        regulariser = plain.regulariser(regularization, alpha)
        result = pruner.sparsity_training(
            epochs, model=plain.model, after_backward=lambda: regulariser.regularize(plain.model, alpha=2**alpha)
        )
        plain.load_into_decorated()
        return result

    return prepare


class IterativeTaylor(_TrainingPruner):
    """Molchanov et al. 2019: train, accumulate a Taylor importance over the minibatches
    (`collector`: criteria.TaylorWeightCollector or TaylorGateCollector), remove the least
    important share, repeat. Each round trains every weight on the Tick's share of the data at
    the Tick's lr, so its pruning budget matches Gate Decorator's Ticks."""

    def __init__(self, *args, collector=criteria.TaylorWeightCollector, **kwargs):
        super().__init__(*args, **kwargs)
        self.collector = collector

    def round(self) -> tuple[dict, list[torch.Tensor]]:
        config = self.config
        optimizer = torch.optim.SGD(
            [p for p in self.model.parameters() if p.requires_grad],
            lr=config.tick_lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
        steps = max(1, math.ceil(config.tick_data_fraction * len(self.train_batches)))
        with self.collector(self.graph, self.prunable_groups) as collector:
            result = train_one_epoch(
                self.model,
                self.train_batches,
                optimizer,
                self.loss_fn,
                self.device,
                max_steps=steps,
                epoch=self.ticks,
                desc=f"round {self.ticks + 1}",
            )
        result["epochs"] = result["steps"] / max(1, len(self.train_batches))
        return result, collector.scores()

    def run(self) -> list[dict]:
        self.record("start", {})
        while not self.reached():
            self.check_budget()
            result, scores = self.round()
            result["filters_removed"] = self.remove(scores)[0]
            self.step_done("round", result)
        return self.trace


class UniformShrink(GlobalPruner):
    """Every prunable group keeps the same share of its original width (at least its floor), the
    largest share that meets each save point and then the FLOPs target: the paper's "shrunk"
    network (§5.2, fig. 5). Within a group the filters with the largest L1 norm stay, so that
    fine-tuning starts from trained weights; trained from scratch, which ones does not matter."""

    share_tolerance = 1e-4  # bisection of the width share stops this close

    def _shrink(self, graph, groups, share: float) -> int:
        """Narrow every group of `graph` to `share` of its original width; returns filters removed."""
        removed = 0
        for group, scores in zip(groups, criteria.l1_norm(graph, groups)):
            floor = floor_channels(group.original_width, self.config.floor_ratio)
            width = aligned_width(round(share * group.original_width), group.width, floor, self.config.round_to)
            if width < group.width:
                keep = torch.zeros(group.width, dtype=torch.bool)
                keep[torch.argsort(scores, descending=True, stable=True)[:width]] = True
                removed += (group.width - width) * len(group.names)
                graph.remove_channels(group, keep)
        return removed

    def _ratio_at(self, share: float) -> float:
        return self._ratio_after(lambda graph, groups: self._shrink(graph, groups, share))

    def _share_reaching(self, stop: float, high: float) -> float:
        """The largest width share below `high` whose network meets `stop` (bisection: FLOPs fall
        as the share does)."""
        low = 0.0
        if self._ratio_at(low) > stop:
            raise RuntimeError(f"uniform shrink cannot reach FLOPs ratio {stop}: every group at its floor")
        while high - low > self.share_tolerance:
            middle = (low + high) / 2
            if self._ratio_at(middle) <= stop:
                low = middle
            else:
                high = middle
        return low

    def run(self) -> list[dict]:
        self.record("start", {})
        share = 1.0
        while not self.reached():
            self.check_budget()
            share = self._share_reaching(self.next_stop(), share)
            removed = self._shrink(self.graph, self.prunable_groups, share)
            self.ticks += 1
            self.step_done("shrink", {"filters_removed": removed, "width_share": share})
        return self.trace
