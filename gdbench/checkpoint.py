"""Checkpoint files: atomic writes, safe loads.

A checkpoint is written to a temporary file in the same folder, flushed to disk, then renamed
over the target, so a reader never sees a half-written file and a failed write leaves the
previous checkpoint intact. Loads use `weights_only=True`: a checkpoint holds tensors, numbers,
strings and containers of them, never pickled code.

A pruned checkpoint holds only tensors, so to load it the original architecture is built and
each layer is shrunk to the shapes the state dict holds (`load_pruned_state_dict`).

A resumable checkpoint records the identity of the job that wrote it (settings and starting
weights); `load_resumable` hands it back only to a job of the same identity.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn


def save_checkpoint(payload: dict, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as tmp:
            torch.save(payload, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated or foreign file: name it
        raise ValueError(f"cannot read checkpoint {path}: {error}") from error


def state_digest(state_dict: dict) -> str:
    """sha256 of a state_dict's names, dtypes, shapes and values: which weights a job started
    from. Two jobs with equal settings but other starting weights (a baseline retrained, a
    prune rerun) must not resume each other's state."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name]
        if not isinstance(tensor, torch.Tensor):
            digest.update(f"{name}={tensor!r};".encode())
            continue
        tensor = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{tensor.dtype}:{tuple(state_dict[name].shape)};".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_resumable(path: str | os.PathLike, identity: dict, map_location="cpu") -> dict | None:
    """The checkpoint at `path` if it was written for exactly `identity` (its recorded
    settings and starting weights), else None. A checkpoint of other settings is deleted, so that
    no later run can pick it up either: a rerun with new settings starts afresh."""
    path = Path(path)
    try:
        state = load_checkpoint(path, map_location=map_location)
    except FileNotFoundError:  # none, or another rank of this job discarded it a moment ago
        return None
    if state.get("identity") == identity:
        return state
    recorded = state.get("identity") or {}
    changed = sorted(k for k in set(recorded) | set(identity) if recorded.get(k) != identity.get(k))
    print(
        f"{path}: written for other settings ({', '.join(changed) or 'no record'} differ); starting afresh",
        file=sys.stderr,
    )
    path.unlink(missing_ok=True)
    return None


def _resize(layer: nn.Module, state: dict[str, torch.Tensor], prefix: str) -> None:
    for name, param in list(layer.named_parameters(recurse=False)):
        saved = state.get(prefix + name)
        if saved is not None and saved.shape != param.shape:
            setattr(
                layer,
                name,
                nn.Parameter(torch.empty_like(saved, device=param.device), requires_grad=param.requires_grad),
            )
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
