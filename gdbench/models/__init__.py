"""Model registry: a plain dict from name to constructor. Every entry builds offline."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from gdbench.catalog import SEGMENTATION_MODELS  # the models that predict a class per pixel
from gdbench.models.fcn import FCN
from gdbench.models.resnet_cifar import ResNetCifar, resnet_cifar
from gdbench.models.vgg import VGG


def _resnet50(num_classes: int = 1000, input_size: int = 224) -> nn.Module:
    """torchvision's ResNet-50; `input_size`: the image size FLOPs and the pruning graph are taken
    at (the data's crop size)."""
    import torchvision

    model = torchvision.models.resnet50(weights=None, num_classes=num_classes)
    model.example_input_shape = (1, 3, input_size, input_size)
    return model


def _smp_unet(num_classes: int = 21, encoder: str = "resnet18") -> nn.Module:
    import segmentation_models_pytorch as smp

    # encoder_weights=None: smp's default downloads ImageNet weights at construction (docs/facts.md, Library pitfalls).
    model = smp.Unet(encoder_name=encoder, encoder_weights=None, classes=num_classes)
    model.example_input_shape = (1, 3, 64, 64)
    return model


def _vgg6(num_classes: int = 10, width_divisor: int = 1) -> nn.Module:
    """A VGG-style CNN for 8×8 grey digits: 3×3 conv + BN + ReLU, three stages of two convs (16, 32,
    64 filters), a max pool after each (8 → 4 → 2 → 1), global pool, one linear classifier (the
    VGG-16-M layout)."""
    return VGG(num_classes, ((16, 16), (32, 32), (64, 64)), width_divisor, input_size=8, in_channels=1)


def _resnet14(num_classes: int = 10, base_width: int = 8) -> nn.Module:
    """A CIFAR-style ResNet-14 for 8×8 grey digits: two blocks per stage, stages of 8, 16, 32 channels
    at 8, 4, 2 pixels, option-B 1×1 projection shortcuts as the authors' ResNet-56, so residual
    channel groups are pruned together."""
    return resnet_cifar(14, num_classes, "B", base_width, in_channels=1, input_size=8)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet20": lambda **kw: resnet_cifar(depth=20, **kw),
    "resnet32": lambda **kw: resnet_cifar(depth=32, **kw),
    "resnet56": lambda **kw: resnet_cifar(depth=56, **kw),
    "resnet110": lambda **kw: resnet_cifar(depth=110, **kw),
    "vgg16m": VGG,
    "vgg6": _vgg6,
    "resnet14": _resnet14,
    "resnet50": _resnet50,
    "fcn8s_vgg16": lambda **kw: FCN(variant="8s", **kw),
    "fcn32s_vgg16": lambda **kw: FCN(variant="32s", **kw),
    "unet_resnet18": _smp_unet,
}
_BUILT_IN = frozenset(MODELS)


# ImageNet backbone each model can start from (torchvision state-dict names).
BACKBONES = {"vgg16m": "vgg16_bn", "resnet50": "resnet50", "fcn8s_vgg16": "vgg16", "fcn32s_vgg16": "vgg16"}


def register_model(name: str, factory: Callable[..., nn.Module]) -> None:
    """A user's model constructor under `name` (README, "Add your own model, method or dataset"):
    `factory(**model.kwargs)` returns an nn.Module whose `example_input_shape` (1, C, H, W) says
    the input the pruning graph and FLOPs are taken at."""
    if name in _BUILT_IN:
        raise ValueError(f"model {name!r} is built in; name the plug-in otherwise")
    MODELS[name] = factory


def build_model(name: str, pretrained: str | None = None, **kwargs) -> nn.Module:
    """Build a registered model offline; `pretrained` is the path of ImageNet backbone weights."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    model = MODELS[name](**kwargs)
    if pretrained is not None:
        if name not in BACKBONES:
            raise ValueError(
                f"model {name!r} has no pretrained backbone; models with one: {', '.join(sorted(BACKBONES))}"
            )
        from gdbench.models.pretrained import load_backbone

        load_backbone(model, pretrained, BACKBONES[name])
    return model


__all__ = [
    "BACKBONES",
    "FCN",
    "MODELS",
    "SEGMENTATION_MODELS",
    "ResNetCifar",
    "VGG",
    "build_model",
    "register_model",
    "resnet_cifar",
]
