"""What every pruning method shares, so that a comparison holds all but the criterion fixed:
the graph-derived groups, the global ranking with per-group floors (plan.py), the surgery,
the FLOPs target, the save points (one plain checkpoint per FLOPs ratio), and the trace.

A method supplies per-channel group scores; `GlobalPruner.remove` takes the globally
lowest-scored `prune_fraction_per_tick` of the remaining filters (the authors' threshold rule,
plan.py), `prune_to_target` removes the lowest-scored channels of fixed scores up to each save
point and the target (one-shot pruning). Either lands on the next save point or target: a step
that would pass it removes only the channels reaching it needs, so every method's save points
meet their FLOPs ratio alike (within one channel's FLOPs).
"""

from __future__ import annotations

import copy
import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gdbench import progress
from gdbench.checkpoint import load_pruned_state_dict, save_checkpoint
from gdbench.config import config_record, target_label
from gdbench.flops import CONVENTIONS, count_flops
from gdbench.gates import gated_layers, undecorate
from gdbench.pruning.groups import GateGraph, GateGroup
from gdbench.pruning.plan import REMOVAL_RULES, group_states, keep_masks, planned_removals, removal_order


@dataclass(frozen=True)
class PruneConfig:
    """What every method shares, so that a comparison holds all but the criterion fixed."""

    target_flops_ratio: float = 0.3  # stop when kept / original FLOPs <= this
    save_flops_ratios: tuple[float, ...] = ()  # checkpoint when the ratio first reaches each
    # p: a share of the remaining filters, as the authors take it (num = int(left · p) in their
    # notebooks); ResNet 0.2 %, VGG and FCN 1 % (paper §5)
    prune_fraction_per_tick: float = 0.002
    # which channels a Tick removes for p (plan.planned_removals): "threshold" is the authors'
    # (every channel at or below the num-th smallest score, dead channels free); "count" removes
    # exactly round(p · n) filters, dead channels in the budget
    removal_rule: str = "threshold"
    floor_ratio: float = 0.1  # each group keeps max(1, int(0.1·C)) channels
    # DEVIATION: channel alignment, not in the paper: with round_to > 1 every group's width stays a
    # multiple of it (channels leave in blocks ranked by their mean score, plan.py), for hardware
    # that computes in tiles of 8 or 16 channels; 1 (the default) is the paper's pruning
    round_to: int = 1
    max_ticks: int = 100_000  # pruning steps before giving up
    flops_convention: str = "macs"  # gdbench.flops.CONVENTIONS

    def _check(self, name: str, ok: bool, allowed: str) -> None:
        if not ok:
            raise ValueError(f"{type(self).__name__}.{name} = {getattr(self, name)!r}: must be {allowed}")

    def __post_init__(self):
        check = self._check
        check("target_flops_ratio", 0 < self.target_flops_ratio < 1, "in (0, 1)")
        check(
            "save_flops_ratios",
            all(self.target_flops_ratio <= r < 1 for r in self.save_flops_ratios),
            "each in [target_flops_ratio, 1)",
        )
        check("prune_fraction_per_tick", 0 < self.prune_fraction_per_tick < 1, "in (0, 1)")
        check("floor_ratio", 0 <= self.floor_ratio < 1, "in [0, 1)")
        check("round_to", isinstance(self.round_to, int) and self.round_to >= 1, "a positive integer")
        check("removal_rule", self.removal_rule in REMOVAL_RULES, f"one of {REMOVAL_RULES}")
        check("flops_convention", self.flops_convention in CONVENTIONS, f"one of {CONVENTIONS}")


class GlobalPruner:
    """Shared state and steps of a pruning run on a decorated model, in place (settings: PruneConfig)."""

    def __init__(
        self,
        model: nn.Module,
        config: PruneConfig,
        *,
        example_inputs: torch.Tensor | None = None,
        save_dir: str | Path | None = None,
        evaluate=None,
        identity: dict | None = None,
    ):
        self.model, self.config, self.evaluate = model, config, evaluate
        self.identity = dict(identity or {})  # what the run is for (the job's settings), kept in its state
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.graph = GateGraph(model, example_inputs)
        self.input_shape = tuple(self.graph.example_shape)
        self.original_flops = self._flops().flops
        self.trace: list[dict] = []
        self.saved: dict[float, Path] = {}
        self.ticks = 0  # pruning steps taken
        self.training_epochs = 0.0  # epoch-equivalents of training spent so far (trace "epochs")
        self._started = time.monotonic()  # for the progress lines' elapsed and remaining time

    @property
    def prunable_groups(self) -> list[GateGroup]:
        return [g for g in self.graph.groups if g.prunable]

    def _flops(self):
        return count_flops(self.model, self.input_shape, self.config.flops_convention)

    def flops_ratio(self) -> float:
        return self._flops().flops / self.original_flops

    def reached(self) -> bool:
        return self.flops_ratio() <= self.config.target_flops_ratio

    # -- steps ---------------------------------------------------------------------------------

    def _graph_of(self, model: nn.Module) -> GateGraph:
        """A GateGraph of `model` (this run's model or a copy of it, same architecture), its groups
        keeping this run's original widths (floors and shares are taken of those)."""
        widths = {g.names[0]: g.original_width for g in self.graph.groups}
        graph = GateGraph(model, torch.zeros(self.input_shape, device=next(model.parameters()).device))
        for group in graph.groups:
            group.original_width = widths[group.names[0]]
        return graph

    def _ratio_after(self, edit) -> float:
        """The FLOPs ratio the model would have after `edit(graph, prunable groups)`, tried on a
        copy (the model is left as it is; torch-pruning's graph cannot be copied, so the copy gets
        its own: ~0.1 s for ResNet-56, ~0.5 s for ResNet-50)."""
        trial = copy.deepcopy(self.model)
        graph = self._graph_of(trial)
        edit(graph, [g for g in graph.groups if g.prunable])
        return count_flops(trial, self.input_shape, self.config.flops_convention).flops / self.original_flops

    def next_stop(self) -> float:
        """The FLOPs ratio the run must meet next: the highest save point not yet saved below the
        current ratio, else the target."""
        ratio = self.flops_ratio()
        stops = [p for p in self.config.save_flops_ratios if p < ratio and p not in self.saved]
        return max(stops + [self.config.target_flops_ratio])

    def _shortest_prefix(self, states, order, count: int, stop: float) -> int:
        """The fewest of the first `count` channels of `order` whose removal reaches `stop`, given
        that all `count` do (binary search on copies: FLOPs fall as the prefix grows)."""

        low, high = 1, count
        while low < high:
            middle = (low + high) // 2
            if self._reaches(states, order, middle, stop):
                high = middle
            else:
                low = middle + 1
        return high

    def _reaches(self, states, order, prefix: int, stop: float) -> bool:
        """Whether removing the first `prefix` channels of `order` brings the model to `stop`."""
        keeps = keep_masks(states, order, prefix)
        edit = lambda graph, groups: [graph.remove_channels(g, k) for g, k in zip(groups, keeps)]
        return self._ratio_after(edit) <= stop

    def _apply(self, states, order, count: int) -> list[torch.Tensor]:
        keeps = keep_masks(states, order, count)
        for group, keep in zip(self.prunable_groups, keeps):
            self.graph.remove_channels(group, keep)
        return keeps

    # DEVIATION: a Tick that would pass the next save point (or the target) removes only the
    # lowest-scored channels reaching it needs, so that every method meets its save points alike;
    # the authors saved at the first Tick at or below each point.
    def remove(
        self, scores: list[torch.Tensor], fraction: float | None = None, whole_order: bool = False
    ) -> tuple[int, list[torch.Tensor]]:
        """One pruning step: remove the globally lowest-scored share (`fraction`, by default
        `prune_fraction_per_tick`) of the remaining filters under the config's removal rule
        (`scores`: one per-channel vector per prunable group), but no more than reaching the next
        save point or the target needs; `whole_order`: as many channels as reaching it needs.
        Returns the filters removed and the keep-masks."""
        states = group_states(self.prunable_groups, scores, self.config.floor_ratio)
        order = removal_order(states, self.config.round_to)
        stop = self.next_stop()
        if whole_order:
            count = len(order)
            if count > 1 and self._reaches(states, order, count, stop):
                count = self._shortest_prefix(states, order, count, stop)
            keeps = self._apply(states, order, count)
        else:
            count = planned_removals(
                states, order, fraction or self.config.prune_fraction_per_tick, self.config.removal_rule
            )
            before = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            keeps = self._apply(states, order, count)
            if count > 1 and self.flops_ratio() <= stop:  # passed it: take back, land on it
                load_pruned_state_dict(self.model, before)
                self.graph = self._graph_of(self.model)
                keeps = self._apply(states, order, self._shortest_prefix(states, order, count, stop))
        removed = sum(int((~keep).sum()) * len(group.names) for group, keep in zip(self.prunable_groups, keeps))
        if removed == 0:
            raise RuntimeError(
                f"every group is at its floor (floor_ratio {self.config.floor_ratio}, round_to "
                f"{self.config.round_to}) at FLOPs ratio {self.flops_ratio():.4f}; target "
                f"{self.config.target_flops_ratio} is out of reach"
            )
        self.ticks += 1
        return removed, keeps

    def prune_to_target(self, scores: list[torch.Tensor], phase: str = "prune") -> None:
        """One-shot pruning: scores fixed once; for each save point and then the target, the
        fewest lowest-scored channels that reach it go (removing in steps with fixed scores would
        remove the same channels), a trace row and the save points after each."""
        scores = [s.detach().cpu() for s in scores]
        while not self.reached():
            self.check_budget()
            removed, keeps = self.remove(scores, whole_order=True)
            scores = [s[keep] for s, keep in zip(scores, keeps)]
            self.step_done(phase, {"filters_removed": removed})

    def check_budget(self) -> None:
        if self.ticks >= self.config.max_ticks:
            raise RuntimeError(
                f"target FLOPs ratio {self.config.target_flops_ratio} not reached after "
                f"{self.ticks} pruning steps (at {self.flops_ratio():.4f})"
            )

    def step_done(self, phase: str, result: dict) -> float:
        ratio = self.record(phase, result)
        self.save_points(ratio)
        return ratio

    # -- trace and save points ------------------------------------------------------------------

    def record(self, phase: str, result: dict) -> float:
        count = self._flops()
        row = {
            "phase": phase,
            "tick": self.ticks,
            "flops": count.flops,
            "params": count.params,
            "flops_ratio": count.flops / self.original_flops,
            "filters": sum(layer.gate.numel() for _, layer in gated_layers(self.model)),
            "loss": result.get("loss", math.nan),
            "filters_removed": result.get("filters_removed", 0),
            "epochs": result.get("epochs", 0.0),  # training in this step, in epochs of the training split
            "time": time.time(),
        }
        self.training_epochs += row["epochs"]
        row["training_epochs"] = self.training_epochs
        row.update({k: v for k, v in result.items() if k not in row and k not in ("samples", "steps")})
        if self.evaluate is not None:
            row["accuracy"] = self.evaluate(self.model)
        self.trace.append(row)
        target = self.config.target_flops_ratio
        progress.write(
            f"prune {phase}",
            f"step {self.ticks}  FLOPs {row['flops_ratio']:.1%} (target {target:.0%})  {row['filters']} filters",
            {"loss": row["loss"], "accuracy": row.get("accuracy", math.nan)},
            self._started,
            progress.pruning_done(row["flops_ratio"], target),
        )
        progress.record("prune", len(self.trace), row)
        if self.save_dir is not None:
            write_trace(self.trace, self.save_dir / "trace.csv")
        return row["flops_ratio"]

    def save_points(self, ratio: float) -> None:
        for point in self.config.save_flops_ratios:
            if ratio <= point and point not in self.saved and self.save_dir is not None:
                self.saved[point] = save_checkpoint(
                    self.plain_checkpoint(ratio), self.save_dir / checkpoint_name(point)
                )

    def plain_checkpoint(self, ratio: float) -> dict:
        """State of the model with gates folded in, plus its size: loadable weights_only."""
        plain = undecorate(copy.deepcopy(self.model))
        count = count_flops(plain, self.input_shape, self.config.flops_convention)
        return {
            "state_dict": plain.state_dict(),
            "flops": count.flops,
            "params": count.params,
            "flops_ratio": ratio,
            "original_flops": self.original_flops,
            "tick": self.ticks,
            "training_epochs": self.training_epochs,  # spent pruning, up to this point
            "config": config_record(self.config),
        }


def checkpoint_name(flops_ratio: float) -> str:
    """File of the save point at `flops_ratio` (0.4 -> flops_0.4.pt)."""
    return f"flops_{target_label(flops_ratio)}.pt"


def write_trace(trace: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in trace for key in row))
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(trace)
    tmp.replace(path)
