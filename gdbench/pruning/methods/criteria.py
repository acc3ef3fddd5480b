"""Per-channel importance of every prunable group, one criterion per baseline method.

Each function returns one score vector per group (higher = keep), in the order of the groups
given. Members of a group are summed, as Gate Decorator sums its member scores (paper §3.4), so
that the grouping rule is held fixed across methods.
"""

from __future__ import annotations

import torch
from torch import nn

from gdbench.pruning.groups import GateGraph, GateGroup


def filters(layer: nn.Module) -> torch.Tensor:
    """(output channels, rest) view of a layer's weight: row c is the filter producing channel c."""
    weight = layer.weight.detach()
    if isinstance(layer, nn.ConvTranspose2d):
        weight = weight.transpose(0, 1)
    return weight.flatten(1).float()


def _normalised(scores: torch.Tensor) -> torch.Tensor:
    mean = scores.mean()
    return scores / mean if mean > 0 else scores


# DEVIATION: L1-norm and FPGM rank filters within a layer in their papers (Li et al. chose
# per-layer ratios by sensitivity analysis; He et al. prune a fixed share per layer). Here every
# method shares one global ranking, so these layer-local scores are divided by their group's mean
# first (torch-pruning's default normalizer='mean' does the same).
def l1_norm(graph: GateGraph, groups: list[GateGroup]) -> list[torch.Tensor]:
    """Σ_members ‖W_c‖₁ of the filters producing each channel (Li et al. 2017, "Pruning filters
    for efficient ConvNets", §3.1), mean-normalised per group."""
    return [_normalised(sum(filters(layer).abs().sum(1) for layer in graph.producers(group))) for group in groups]


# DEVIATION: FPGM zeroes the selected filters after every training epoch and lets them recover
# (soft pruning) before removing them at the end; here the criterion ranks the trained baseline's
# filters once and removes them (hard, one-shot), like the other criteria.
def fpgm(graph: GateGraph, groups: list[GateGroup]) -> list[torch.Tensor]:
    """Σ_j ‖W_c − W_j‖₂ over the other filters of the same layer: filters near the layer's
    geometric median are replaceable by the others and score low (He et al. 2019, "Filter
    pruning via geometric median", eq. 6 with the sum-of-distances approximation)."""

    def distance_sums(layer):
        weight = filters(layer)
        return torch.cdist(weight.unsqueeze(0), weight.unsqueeze(0)).squeeze(0).sum(1)

    return [_normalised(sum(distance_sums(layer) for layer in graph.producers(group))) for group in groups]


def gate_magnitude(groups: list[GateGroup]) -> list[torch.Tensor]:
    """Σ_members |φ_c|: in a decorated model the gate is the BN scaling factor γ that Network
    Slimming ranks globally, unnormalised (Liu et al. 2017, "Learning efficient convolutional
    networks through network slimming", §3)."""
    return [sum(layer.gate.detach().abs() for layer in group.layers) for group in groups]


def random_scores(groups: list[GateGroup], generator: torch.Generator) -> list[torch.Tensor]:
    """Uniform random scores from a seeded generator: the same seed prunes the same channels."""
    return [torch.rand(group.width, generator=generator) for group in groups]


def group_norm(graph: GateGraph, groups: list[GateGroup]) -> list[torch.Tensor]:
    """DepGraph's group importance: the L2 norm of every parameter tied to a channel (its filter
    and the next layers' input slices), through torch-pruning's GroupMagnitudeImportance (Fang
    et al. 2023, "DepGraph: towards any structural pruning", §3.3)."""
    import torch_pruning as tp

    importance = tp.importance.GroupMagnitudeImportance(p=2, group_reduction="mean", normalizer="mean")
    scores = []
    for group in groups:
        score = importance(graph.dependency_group(group))
        if score is None:
            raise ValueError(
                f"depgraph: torch-pruning finds no plain conv or linear weights tied to "
                f"group {group.names} (a GatedConv2d net such as the FCN); use another method"
            )
        scores.append(score.detach().cpu())
    return scores


class TaylorWeightCollector:
    """Context manager: while open, each backward pass adds (Σ_{w ∈ filter} ∂L/∂w · w)² per filter
    of every producer layer (Molchanov et al. 2019, "Importance estimation for neural network
    pruning", eq. 4, the weight variant); `scores(groups)` averages over the passes."""

    def __init__(self, graph: GateGraph, groups: list[GateGroup]):
        self.producers = [graph.producers(group) for group in groups]  # one graph walk per group
        self.layers = list(dict.fromkeys(layer for layers in self.producers for layer in layers))
        self.sums = {layer: torch.zeros(filters(layer).shape[0]) for layer in self.layers}
        self.passes = 0
        self._handles: list = []

    def _hook(self, layer: nn.Module):
        def accumulate(grad: torch.Tensor) -> None:
            weight = layer.weight.detach()
            product = grad * weight
            if isinstance(layer, nn.ConvTranspose2d):
                product = product.transpose(0, 1)
            self.sums[layer] += product.flatten(1).sum(1).pow(2).float().cpu()
            if layer is self.layers[0]:
                self.passes += 1

        return accumulate

    def __enter__(self) -> TaylorWeightCollector:
        self._handles = [layer.weight.register_hook(self._hook(layer)) for layer in self.layers]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def scores(self) -> list[torch.Tensor]:
        passes = max(self.passes, 1)
        return [sum(self.sums[layer] for layer in layers) / passes for layers in self.producers]
