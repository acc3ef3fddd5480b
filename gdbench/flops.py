"""FLOPs and parameter counts, per input sample.

Convention (the one every gdbench table states): **FLOPs = multiply-accumulates (MACs) of
convolution, transposed-convolution and linear layers**, as pruning papers, Gate Decorator
included, call them. BN, activations, pooling and additions count nothing. A CIFAR ResNet-56
with option-A shortcuts has 125.49 M such FLOPs.

`convention="thop"` reproduces the counter the authors used (thop 0.1.1): convolutions without
bias terms, BN at 2 per element (4 when affine), adaptive average pooling at kernel+1 per
output, ReLU free. It gives 127.93 M for the authors' option-B ResNet-56 (they printed
127.932 M). Only ratios compare across conventions (docs/facts.md, FLOPs).

Parameters are those of the plain model: gates are not counted, since undecorate() folds them
into the layer they scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

CONVENTIONS = ("macs", "thop")


@dataclass(frozen=True)
class FlopsCount:
    flops: int  # per sample, in the chosen convention
    params: int  # parameters of the undecorated model


def _conv_macs(layer: nn.modules.conv._ConvNd, inputs: torch.Tensor, output: torch.Tensor) -> int:
    kernel = math.prod(layer.kernel_size)
    if layer.transposed:  # each input element scatters into out_channels/groups × kernel outputs
        return inputs.numel() * (layer.out_channels // layer.groups) * kernel
    return output.numel() * (layer.in_channels // layer.groups) * kernel


def _thop_ops(layer: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    if isinstance(layer, nn.modules.conv._ConvNd):
        # thop uses the output size and the input channels for transposed convs too
        return output.numel() * (inputs.shape[1] // layer.groups) * math.prod(layer.kernel_size)
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        return inputs.numel() * (4 if layer.affine else 2)
    if isinstance(layer, nn.Linear):
        return layer.in_features * output.numel()
    if isinstance(layer, nn.AdaptiveAvgPool2d):
        kernel = math.prod(i // o for i, o in zip(inputs.shape[2:], output.shape[2:]))
        return (kernel + 1) * output.numel()
    if isinstance(layer, nn.AvgPool2d):
        return output.numel()
    return 0


def _macs(layer: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    if isinstance(layer, nn.modules.conv._ConvNd):
        return _conv_macs(layer, inputs, output)
    if isinstance(layer, nn.Linear):
        return layer.in_features * output.numel()
    return 0


def count_params(model: nn.Module) -> int:
    """Parameters of the model as undecorate() would leave it (gates excluded)."""
    return sum(p.numel() for name, p in model.named_parameters() if name != "gate" and not name.endswith(".gate"))


def count_flops(model: nn.Module, input_shape: tuple[int, ...] | None = None, convention: str = "macs") -> FlopsCount:
    """FLOPs for one sample of `input_shape` (C, H, W) or (1, C, H, W), and parameters.

    Default shape: `model.example_input_shape`. The model's train/eval mode is restored.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if input_shape is None:
        input_shape = getattr(model, "example_input_shape", None)
        if input_shape is None:
            raise ValueError("pass input_shape, e.g. (3, 224, 224): the model has no example_input_shape attribute")
    shape = tuple(input_shape)
    shape = shape if len(shape) == 4 else (1, *shape)
    if shape[0] != 1:
        shape = (1, *shape[1:])
    rule = _macs if convention == "macs" else _thop_ops
    total = 0

    def hook(layer, inputs, output):
        nonlocal total
        total += rule(layer, inputs[0], output)

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    ref = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(shape, device=ref.device, dtype=ref.dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return FlopsCount(flops=int(total), params=count_params(model))
