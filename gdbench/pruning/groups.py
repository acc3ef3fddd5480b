"""Channel groups: gated layers whose channels are tied by the model graph (paper §3.4).

A residual addition ties channel i of every tensor it adds, so the gated layers that feed one
addition chain must lose the same channels; the paper prunes them as one group whose score is
the sum of its members' scores. Groups are derived from the traced graph by torch-pruning's
DependencyGraph (VainF/Torch-Pruning), never listed by hand, so the same code handles the
authors' ResNet-56, torchvision's bottleneck ResNet-50 (the case the authors' code never
handled, their issue #14), VGG, FCN and segmentation-models-pytorch nets.

A group is frozen (never pruned) when its channels reach the network output or pass through a
layer that maps channels with an offset (a module whose class sets `maps_channels_with_offset`,
as the option-A shortcut of the CIFAR ResNets does).
"""
# DEVIATION: with option-A shortcuts the three stage groups are frozen and only the 27 inner
# BNs of ResNet-56 are pruned; the authors only pruned option-B nets, whose stage groups are free.

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch_pruning as tp
from torch import nn

from gdbench.gates import gated_layers
from gdbench.graph import ModelTrace, example_inputs_for
from gdbench.pruning.surgery import customized_pruners, maps_channels_with_offset, remove_channels


@dataclass
class GateGroup:
    """Gated layers whose channel i is one and the same channel of the network."""

    names: list[str]  # qualified names of the member layers
    layers: list[nn.Module] = field(repr=False)
    original_width: int  # channels before any pruning
    frozen_reason: str = ""  # empty when the group may be pruned

    @property
    def prunable(self) -> bool:
        return not self.frozen_reason

    @property
    def width(self) -> int:
        return self.layers[0].gate.numel()


class GateGraph:
    """The gate groups of a decorated model plus the dependency graph that performs surgery."""

    def __init__(self, model: nn.Module, example_inputs: torch.Tensor | None = None):
        example_inputs = example_inputs_for(model, example_inputs)
        self.model = model
        self._names = {layer: name for name, layer in gated_layers(model)}
        if not self._names:
            raise ValueError("model has no gates: call gdbench.decorate(model) first")
        self.example_shape = tuple(example_inputs.shape)
        self.output_layers = ModelTrace(model, example_inputs).output_layers()
        was_training = model.training
        self.dependency_graph = tp.DependencyGraph().build_dependency(
            model, example_inputs=example_inputs, customized_pruners=customized_pruners(model)
        )
        model.train(was_training)  # torch-pruning leaves the model in eval mode
        self.groups = self._find_groups()

    def _full_group(self, layer: nn.Module):
        handler = self.dependency_graph.get_pruner_of_module(layer).prune_out_channels
        return self.dependency_graph.get_pruning_group(layer, handler, list(range(layer.gate.numel())))

    def _find_groups(self) -> list[GateGroup]:
        groups, assigned = [], set()
        for layer in self._names:
            if layer in assigned:
                continue
            members, frozen_reason = [], ""
            for item in self._full_group(layer):
                target, handler = item.dep.target.module, item.dep.handler
                is_out = self.dependency_graph.is_out_channel_pruning_fn(handler)
                if target in self._names and is_out and target not in members:
                    members.append(target)
                    if list(item.idxs) != list(item.root_idxs):
                        frozen_reason = f"{self._names[target]} maps channels with an offset"
                elif isinstance(target, tp.ops._OutputOp) or (is_out and target in self.output_layers):
                    frozen_reason = "channels reach the network output"
                elif maps_channels_with_offset(target):
                    frozen_reason = f"channels pass through {self._names_of(target)} (option-A shortcut)"
            assigned.update(members)
            groups.append(
                GateGroup(
                    names=[self._names[m] for m in members],
                    layers=members,
                    original_width=layer.gate.numel(),
                    frozen_reason=frozen_reason,
                )
            )
        return groups

    def producers(self, group: GateGroup) -> list[nn.Module]:
        """The convolutions and linear layers whose output channels are the group's channels:
        their filters are what the filter-level criteria (L1-norm, FPGM, Taylor) look at."""
        found = []
        for item in self._full_group(group.layers[0]):
            target, handler = item.dep.target.module, item.dep.handler
            if (
                isinstance(target, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))
                and self.dependency_graph.is_out_channel_pruning_fn(handler)
                and target not in found
            ):
                found.append(target)
        return found

    def dependency_group(self, group: GateGroup):
        """torch-pruning's Group of every channel of `group` (for torch-pruning's importances)."""
        return self._full_group(group.layers[0])

    def _names_of(self, layer: nn.Module) -> str:
        return next(name for name, m in self.model.named_modules() if m is layer)

    def remove_channels(self, group: GateGroup, keep: torch.Tensor) -> None:
        """Physically remove the channels of `group` where the keep-mask is False."""
        if not group.prunable:
            raise ValueError(f"group {group.names} is frozen: {group.frozen_reason}")
        if keep.numel() != group.width:
            raise ValueError(f"keep-mask has {keep.numel()} entries, group has {group.width}")
        drop = torch.nonzero(~keep.bool().cpu()).flatten().tolist()
        if not drop:
            return
        if len(drop) == group.width:
            raise ValueError(f"refusing to remove every channel of group {group.names}")
        remove_channels(self.dependency_graph, group.layers[0], drop)
