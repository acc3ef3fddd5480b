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


class _SquaredTaylorCollector:
    """Context manager: while open, each backward pass adds a per-channel squared Taylor term of
    every watched layer (`_term(layer, grad)`, from a hook on `_parameter(layer)`); `scores()`
    averages over the passes and sums each group's `_members`."""

    def __init__(self, members: list[list[nn.Module]]):
        self.members = members  # per group, the layers whose terms it sums
        self.layers = list(dict.fromkeys(layer for layers in members for layer in layers))
        self.sums = {layer: torch.zeros(self._width(layer)) for layer in self.layers}
        self.passes = 0
        self._handles: list = []

    def _hook(self, layer: nn.Module):
        def accumulate(grad: torch.Tensor) -> None:
            self.sums[layer] += self._term(layer, grad).float().cpu()
            if layer is self.layers[0]:
                self.passes += 1

        return accumulate

    def __enter__(self):
        self._handles = [self._parameter(layer).register_hook(self._hook(layer)) for layer in self.layers]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def scores(self) -> list[torch.Tensor]:
        passes = max(self.passes, 1)
        return [sum(self.sums[layer] for layer in layers) / passes for layers in self.members]


# DEVIATION: a group of tied channels scores the sum of its members' Taylor scores, as every method
# here sums (paper §3.4); Molchanov et al.'s reference code averages them (`group_criteria`).
class TaylorWeightCollector(_SquaredTaylorCollector):
    """While open, each backward pass adds Σ_{w ∈ filter} (∂L/∂w · w)² per filter of every producer
    layer of the groups; `scores()` averages over the passes and sums a group's producers.

    Molchanov et al. 2019, "Importance estimation for neural network pruning", the weight variant
    as their reference code computes it (NVlabs/Taylor_pruning, pruning_engine.py, method 0: each
    element's g·w squared, then summed over the filter). Summing g·w over the filter before
    squaring (their eq. 4 read literally) gives 0 for any conv followed by BatchNorm in train mode:
    the loss does not change when a filter is rescaled, so Σ_w ∂L/∂w · w = 0 (docs/facts.md)."""

    def __init__(self, graph: GateGraph, groups: list[GateGroup]):
        super().__init__([graph.producers(group) for group in groups])  # one graph walk per group

    @staticmethod
    def _width(layer: nn.Module) -> int:
        return filters(layer).shape[0]

    @staticmethod
    def _parameter(layer: nn.Module) -> torch.Tensor:
        return layer.weight

    @staticmethod
    def _term(layer: nn.Module, grad: torch.Tensor) -> torch.Tensor:
        product = grad * layer.weight.detach()
        if isinstance(layer, nn.ConvTranspose2d):
            product = product.transpose(0, 1)
        return product.flatten(1).pow(2).sum(1)


class TaylorGateCollector(_SquaredTaylorCollector):
    """While open, each backward pass adds (∂L/∂φ · φ)² per channel of every gated layer of the
    groups; `scores()` averages over the passes and sums a group's members.

    Molchanov et al. 2019's criterion for BN networks, a gate after each BN (NVlabs/Taylor_pruning,
    pruning_engine.py, method 22, recommended in its README): the gate g = 1 scales BN's output
    γ·x̂ + β, so ∂L/∂g = γ·∂L/∂γ + β·∂L/∂β, the Taylor score of the BN scale and shift. In a
    decorated model the gate φ is that scale (gdbench.gates.GatedBatchNorm2d: φ·(x̂ + β/γ)), so
    ∂L/∂g = φ·∂L/∂φ. It is the square of the per-batch term Gate Decorator sums in absolute value
    (paper §3.2), averaged rather than summed over the batches."""

    def __init__(self, graph: GateGraph, groups: list[GateGroup]):
        super().__init__([group.layers for group in groups])

    @staticmethod
    def _width(layer: nn.Module) -> int:
        return layer.gate.numel()

    @staticmethod
    def _parameter(layer: nn.Module) -> torch.Tensor:
        return layer.gate

    @staticmethod
    def _term(layer: nn.Module, grad: torch.Tensor) -> torch.Tensor:
        return (grad * layer.gate.detach()).pow(2)
