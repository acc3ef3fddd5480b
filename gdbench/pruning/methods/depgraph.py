"""DepGraph (Fang et al. 2023, "DepGraph: towards any structural pruning") run as its authors run
it, through torch-pruning: on the plain BatchNorm model, so that each BN's scale is part of the
group norm and of the group-level sparse learning.

torch-pruning recognises a BN only through its own `prune_batchnorm_out_channels`; a decorated
model registers its gated BN with a pruner of gdbench's (surgery.py), so on the decorated model
torch-pruning neither scores nor sparsifies the BN parameters (docs/facts.md, Library pitfalls).
`PlainModel` is an undecorated copy with torch-pruning's own dependency graph; the scores it gives
are mapped back to the decorated model's groups by layer name (undecorate keeps names and
channel order), and weights trained on it are loaded back with gates.load_undecorated.
"""

from __future__ import annotations

import copy

import torch
import torch_pruning as tp

from gdbench.gates import load_undecorated, undecorate
from gdbench.pruning.groups import GateGraph, GateGroup
from gdbench.pruning.surgery import customized_pruners


class PlainModel:
    """An undecorated copy of a GateGraph's model, with torch-pruning's dependency graph on it."""

    def __init__(self, graph: GateGraph):
        self.decorated = graph.model
        was_training = graph.model.training
        self.model = undecorate(copy.deepcopy(graph.model))
        self.modules = dict(self.model.named_modules())
        names = {module: name for name, module in graph.model.named_modules()}
        self.output_layers = [self.modules[names[layer]] for layer in graph.output_layers]
        device = next(self.model.parameters()).device
        self.example_inputs = torch.zeros(graph.example_shape, device=device)
        # only the refusing pruners of channel-offset layers matter here: no gated layer is left
        self.customized_pruners = customized_pruners(self.model)
        self.dependency_graph = tp.DependencyGraph().build_dependency(
            self.model, example_inputs=self.example_inputs, customized_pruners=self.customized_pruners
        )
        self.model.train(was_training)  # torch-pruning leaves the model in eval mode

    def group(self, group: GateGroup):
        """torch-pruning's Group of every channel of `group`, rooted at its first member's plain
        layer (a BN, or the conv of a GatedConv2d)."""
        layer = self.modules[group.names[0]]
        handler = self.dependency_graph.get_pruner_of_module(layer).prune_out_channels
        return self.dependency_graph.get_pruning_group(layer, handler, list(range(group.width)))

    def regulariser(self, regularization: float, alpha: float) -> tp.pruner.GroupNormPruner:
        """torch-pruning's GroupNormPruner on the plain model: its `regularize(model, alpha=2**α)`
        adds to each group's gradients (BN scales included) a decay scaled by
        2^(α·(I_max − I)/(I_max − I_min)), strongest for the least important channels (§3.4)."""
        was_training = self.model.training
        pruner = tp.pruner.GroupNormPruner(
            self.model,
            self.example_inputs,
            importance=tp.importance.GroupMagnitudeImportance(p=2),
            reg=regularization,
            alpha=alpha,
            ignored_layers=self.output_layers,
            customized_pruners=self.customized_pruners,
        )
        self.model.train(was_training)
        return pruner

    def load_into_decorated(self) -> None:
        """The decorated model takes the plain copy's (trained) weights."""
        load_undecorated(self.decorated, self.model)


def group_norm(graph: GateGraph, groups: list[GateGroup]) -> list[torch.Tensor]:
    """DepGraph's group importance: the mean over a group's layers of the squared L2 norm of every
    parameter tied to a channel (its filters, BN scale and the next layers' input slices),
    mean-normalised, through torch-pruning's GroupMagnitudeImportance on the plain model (§3.3)."""
    plain = PlainModel(graph)
    importance = tp.importance.GroupMagnitudeImportance(p=2, group_reduction="mean", normalizer="mean")
    scores = []
    for group in groups:
        score = importance(plain.group(group))
        if score is None:
            raise ValueError(f"depgraph: torch-pruning finds no weights tied to group {group.names}")
        scores.append(score.detach().cpu())
    return scores
