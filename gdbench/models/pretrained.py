"""ImageNet weights for backbones, always from a file the config names; never downloaded at
construction. Files are torchvision state dicts (e.g. `vgg16_bn-6c64b313.pth`,
`vgg16-397923af.pth`) loaded with weights_only=True. `fetch_weights` (the DAG's fetch_weights
rule) downloads one through torchvision's weights API, with its hash check."""

from __future__ import annotations

import os
import tempfile
import urllib.error
from pathlib import Path

import torch
import torchvision
from torch import nn

from gdbench.catalog import TORCHVISION_WEIGHTS
from gdbench.models.fcn import FCN

TORCHVISION_FILES = {
    "vgg16_bn": "vgg16_bn-6c64b313.pth",
    "vgg16": "vgg16-397923af.pth",
    "resnet50": "resnet50-0676ba61.pth",  # IMAGENET1K_V1, the weights of the paper's time
}


class WeightsError(RuntimeError):
    """A weights file cannot be fetched or does not match its hash; the message names the file."""


def weights_url(file_name: str) -> str:
    """torchvision's download address of `file_name`, from its weights API."""
    if file_name not in TORCHVISION_WEIGHTS:
        known = ", ".join(TORCHVISION_WEIGHTS)
        raise WeightsError(f"no torchvision weights file is named {file_name!r}; known: {known}")
    return torchvision.models.get_weight(TORCHVISION_WEIGHTS[file_name]).url


def download_weights(url: str, target: Path) -> Path:
    """Download `url` to `target` atomically, checking the sha256 prefix its file name carries
    (torchvision's `<name>-<sha256[:8]>.pth`, as torch.hub.load_state_dict_from_url checks it)."""
    target = Path(target)
    hash_prefix = target.stem.rsplit("-", 1)[-1]
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    by_hand = (
        f"download {url} on a machine that has internet and place it at {target} "
        f"(its sha256 begins {hash_prefix}), or point the config's model.pretrained at a copy"
    )
    try:
        torch.hub.download_url_to_file(url, partial, hash_prefix=hash_prefix, progress=False)
        os.replace(partial, target)
    except (urllib.error.URLError, OSError) as error:
        raise WeightsError(f"cannot download {target.name} ({getattr(error, 'reason', error)}): {by_hand}") from error
    except RuntimeError as error:  # torch.hub's "invalid hash value"
        raise WeightsError(f"{url} does not match the sha256 prefix {hash_prefix} ({error}): {by_hand}") from error
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def fetch_weights(file_name: str, target: Path) -> Path:
    return download_weights(weights_url(file_name), target)


def read_weights(path: str | Path, architecture: str) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained weights not found at {path}: place torchvision's ImageNet {architecture} "
            f"state dict ({TORCHVISION_FILES.get(architecture, 'a .pth file')}) there (the DAG's "
            f"fetch_weights rule downloads it into weights/), or change the config's pretrained path"
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
