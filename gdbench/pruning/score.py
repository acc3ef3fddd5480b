"""Gate score Θ: a first-order Taylor estimate of the loss change when a gate φ_i -> 0 (paper §3.2).

    Θ_i = |∂L/∂φ_i · φ_i|

accumulated as the authors do (`GatedBatchNorm2d.cal_score`): the absolute value per mini-batch,
L being the batch-mean loss, summed over every mini-batch of one Tick. The gradients come from
a hook on each gate, so scoring costs no extra forward or backward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from gdbench.gates import gated_layers


class GateScoreCollector:
    """Context manager: while open, every backward pass adds |∂L/∂φ · φ| to `scores[name]`."""

    def __init__(self, model: nn.Module):
        self.layers = dict(gated_layers(model))
        self.scores = {name: torch.zeros_like(layer.gate, requires_grad=False) for name, layer in self.layers.items()}
        self._handles: list = []

    def _hook(self, name: str, layer: nn.Module):
        def accumulate(grad: torch.Tensor) -> None:
            self.scores[name] += (grad * layer.gate.detach()).abs()

        return accumulate

    def __enter__(self) -> GateScoreCollector:
        self._handles = [layer.gate.register_hook(self._hook(name, layer)) for name, layer in self.layers.items()]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def group_scores(groups, scores: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """Per-channel score of each group: the sum of its members' scores (paper §3.4)."""
    return [torch.stack([scores[name] for name in group.names]).sum(0) for group in groups]
