"""Channel surgery: removing channels physically, and rebuilding a pruned architecture.

Removal goes through torch-pruning's dependency graph (a whole group of tied channels at once),
with pruners of our own for the gated layers: torch-pruning's BN surgery slices weight, bias and
running statistics but would leave the gate full size (docs/facts.md, Library pitfalls). Which
channels form a group is gdbench.pruning.groups; this module only cuts. Loading a pruned
checkpoint into its architecture is gdbench.checkpoint.load_pruned_state_dict (it needs no
torch-pruning, which costs a job ~2.7 s to import).
"""

from __future__ import annotations

import torch_pruning as tp
from torch import nn
from torch_pruning.pruner import function as tp_function

from gdbench.gates import GatedBatchNorm2d, GatedConv2d


def maps_channels_with_offset(layer: nn.Module) -> bool:
    """A layer whose output channel i + k is its input channel i (the option-A shortcut's zero
    padding): its channels cannot be removed on one side only. Models declare such layers with a
    class attribute `maps_channels_with_offset = True`, so pruning never imports a model class."""
    return bool(getattr(type(layer), "maps_channels_with_offset", False))


class _GatedBatchNormPruner(tp_function.BatchnormPruner):
    """torch-pruning's BN surgery leaves extra parameters full size (docs/facts.md, Library pitfalls): slice the gate,
    and keep γ frozen."""

    def prune_out_channels(self, layer: GatedBatchNorm2d, idxs):
        keep = sorted(set(range(layer.num_features)) - set(idxs))
        gate = self._prune_parameter_and_grad(layer.gate, keep, 0)
        super().prune_out_channels(layer, idxs)
        layer.gate = gate
        layer.weight.requires_grad_(False)
        return layer

    prune_in_channels = prune_out_channels


class _GatedConvPruner(tp_function.ConvPruner):
    TARGET_MODULES = GatedConv2d

    def prune_out_channels(self, layer: GatedConv2d, idxs):
        keep = sorted(set(range(layer.out_channels)) - set(idxs))
        requires_grad = layer.weight.requires_grad
        gate = self._prune_parameter_and_grad(layer.gate, keep, 0)
        super().prune_out_channels(layer, idxs)
        layer.gate = gate
        layer.weight.requires_grad_(requires_grad)
        return layer

    def prune_in_channels(self, layer: GatedConv2d, idxs):
        requires_grad = layer.weight.requires_grad
        super().prune_in_channels(layer, idxs)
        layer.weight.requires_grad_(requires_grad)
        return layer


class _FrozenChannelsPruner(tp_function.BasePruningFunc):
    """Registers a channel-offset layer with the graph so that groups touching it are frozen."""

    def prune_out_channels(self, layer, idxs):
        raise RuntimeError(f"{type(layer).__name__} channels are frozen and cannot be pruned")

    def prune_in_channels(self, layer, idxs):
        raise RuntimeError(f"{type(layer).__name__} channels are frozen and cannot be pruned")

    def get_out_channels(self, layer):
        return layer.out_channels

    def get_in_channels(self, layer):
        return layer.in_channels


def customized_pruners(model: nn.Module) -> dict:
    """torch-pruning's pruner per layer type: the gated layers' own, and a refusing one for every
    channel-offset layer class in `model` (so that groups through it are recognised as frozen)."""
    offset_classes = {type(m) for m in model.modules() if maps_channels_with_offset(m)}
    return {
        GatedBatchNorm2d: _GatedBatchNormPruner(),
        GatedConv2d: _GatedConvPruner(),
        **{cls: _FrozenChannelsPruner() for cls in offset_classes},
    }


def remove_channels(dependency_graph: tp.DependencyGraph, layer: nn.Module, drop: list[int]) -> None:
    """Remove output channels `drop` of `layer`, and every channel tied to them, in place."""
    handler = dependency_graph.get_pruner_of_module(layer).prune_out_channels
    dependency_graph.get_pruning_group(layer, handler, drop).prune()
