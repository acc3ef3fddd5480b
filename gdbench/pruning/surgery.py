"""Rebuilding a pruned architecture from its state dict.

Physical channel removal itself is `GateGraph.remove_channels` (torch-pruning's group surgery).
A pruned checkpoint holds only tensors (it loads with weights_only=True), so to load it the
original architecture is built and each layer is shrunk to the shapes the state dict holds.
"""

from __future__ import annotations

import torch
from torch import nn


def _resize(layer: nn.Module, state: dict[str, torch.Tensor], prefix: str) -> None:
    for name, param in list(layer.named_parameters(recurse=False)):
        saved = state.get(prefix + name)
        if saved is not None and saved.shape != param.shape:
            setattr(layer, name, nn.Parameter(torch.empty_like(saved, device=param.device),
                                              requires_grad=param.requires_grad))
    for name, buffer in list(layer.named_buffers(recurse=False)):
        saved = state.get(prefix + name)
        if buffer is not None and saved is not None and saved.shape != buffer.shape:
            setattr(layer, name, torch.empty_like(saved, device=buffer.device))
    weight = getattr(layer, "weight", None)
    if isinstance(layer, nn.modules.conv._ConvNd):
        out_dim, in_dim = (1, 0) if layer.transposed else (0, 1)
        layer.out_channels = weight.shape[out_dim] * (layer.groups if layer.transposed else 1)
        layer.in_channels = weight.shape[in_dim] * (1 if layer.transposed else layer.groups)
    elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
        layer.num_features = (weight if weight is not None else layer.running_mean).shape[0]
    elif isinstance(layer, nn.Linear):
        layer.out_features, layer.in_features = weight.shape


def load_pruned_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> nn.Module:
    """Shrink every conv, BN and linear layer of `model` to the shapes in `state_dict`, then
    load it (strictly). Works for any pruning that only removes channels."""
    for name, layer in model.named_modules():
        if isinstance(layer, (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm, nn.Linear)):
            _resize(layer, state_dict, f"{name}." if name else "")
    model.load_state_dict(state_dict, strict=True)
    return model
