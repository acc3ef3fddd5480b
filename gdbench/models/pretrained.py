"""ImageNet weights for backbones, always from a file the config names; never downloaded at
construction. Files are torchvision state dicts (e.g. `vgg16_bn-6c64b313.pth`,
`vgg16-397923af.pth`, `resnet50-11ad3fa6.pth`) loaded with weights_only=True."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gdbench.models.fcn import FCN

TORCHVISION_FILES = {
    "vgg16_bn": "vgg16_bn-6c64b313.pth",
    "vgg16": "vgg16-397923af.pth",
    "resnet50": "resnet50-11ad3fa6.pth",
}


def read_weights(path: str | Path, architecture: str) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained weights not found at {path}: place torchvision's ImageNet {architecture} "
            f"state dict ({TORCHVISION_FILES.get(architecture, 'a .pth file')}) there, or change "
            f"the config's pretrained path"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"cannot read pretrained weights {path}: {error}") from error
    return state.get("state_dict", state) if isinstance(state, dict) else state


def load_matching(model: nn.Module, state: dict[str, torch.Tensor], required_prefix: str) -> list[str]:
    """Copy every tensor whose name and shape match; every model key under `required_prefix`
    must be covered. Returns the model keys left at their initialisation (e.g. a new classifier)."""
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing_backbone = [k for k in own if k.startswith(required_prefix) and k not in usable]
    if missing_backbone:
        raise ValueError(
            f"pretrained weights lack {len(missing_backbone)} backbone tensors, e.g. {missing_backbone[:3]}"
        )
    model.load_state_dict(usable, strict=False)
    return [k for k in own if k not in usable]


def fcn_state_from_vgg16(state: dict[str, torch.Tensor], model: FCN) -> dict[str, torch.Tensor]:
    """torchvision vgg16 names -> FCN names; fc6/fc7 become 7×7 and 1×1 convolutions (Long et al.)."""
    mapping, index = {}, 0
    for stage in ("stage1", "stage2", "stage3", "stage4", "stage5"):
        block = getattr(model, stage)
        for position, layer in enumerate(block):
            if isinstance(layer, nn.Conv2d):
                mapping[f"features.{index}"] = f"{stage}.{position}"
            index += 1
    converted = {}
    for source, target in mapping.items():
        converted[f"{target}.weight"] = state[f"{source}.weight"]
        converted[f"{target}.bias"] = state[f"{source}.bias"]
    fc6, fc7 = model.fc6[0], model.fc7[0]
    converted["fc6.0.weight"] = state["classifier.0.weight"].reshape(fc6.weight.shape)
    converted["fc6.0.bias"] = state["classifier.0.bias"]
    converted["fc7.0.weight"] = state["classifier.3.weight"].reshape(fc7.weight.shape)
    converted["fc7.0.bias"] = state["classifier.3.bias"]
    return converted


def load_backbone(model: nn.Module, path: str | Path, architecture: str) -> list[str]:
    """Load ImageNet weights into `model`'s backbone; returns the keys left untouched."""
    state = read_weights(path, architecture)
    if isinstance(model, FCN):
        return load_matching(model, fcn_state_from_vgg16(state, model), required_prefix="stage")
    prefix = "features." if architecture.startswith("vgg") else "layer"
    return load_matching(model, state, required_prefix=prefix)
