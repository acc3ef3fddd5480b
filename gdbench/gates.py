"""Gates: the Gate Decorator's per-channel scaling factors and the model transforms around them.

Glossary (the paper's vocabulary, used throughout gdbench):
    gate (φ)                one scalar per output channel; multiplying a channel by φ = 0 is the same
                            as removing the filter that produces it (paper §3.1, eq. 7).
    gate score (Θ)          Θ_i = |∂L/∂φ_i · φ_i|, a first-order Taylor estimate of the loss change
                            when φ_i -> 0 (paper §3.2); see gdbench.pruning.score.
    group                   channels of several gated layers tied by residual additions; pruned
                            together, scored by the sum of member scores (paper §3.4).
    tick / tock             the two phases of the Tick-Tock schedule (paper §3.3); see
                            gdbench.pruning.ticktock.
    target FLOPs ratio      kept FLOPs / original FLOPs at which pruning stops.

`decorate(model)` swaps every BatchNorm2d for a GatedBatchNorm2d (GBN) and wraps every Conv2d
whose output reaches no BN (the FCN on VGG-16) in a GatedConv2d. `undecorate(model)` folds the
gates back into plain BatchNorm2d / Conv2d layers, so no extra op remains (paper §3.1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from gdbench.graph import ModelTrace, example_inputs_for

# The authors clamp β/γ to ±10 when moving γ into the gate (authors' code, GatedBatchNorm2d).
_BIAS_CLAMP = 10.0


class GatedBatchNorm2d(nn.BatchNorm2d):
    """GBN: z_out = φ ⊙ BN₁(z_in), as the authors built it.

    φ starts at BN's γ; γ is then fixed to 1 (not trained) and β becomes β/γ clamped to ±10
    (authors' code, `GatedBatchNorm2d.extract_from_bn`). With |β/γ| <= 10 the layer computes
    exactly what the wrapped BN computed. φ = 0 zeroes the channel whatever β is.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__(
            num_features,
            eps=eps,
            momentum=momentum,
            affine=True,
            track_running_stats=track_running_stats,
            device=device,
            dtype=dtype,
        )
        self.weight.requires_grad_(False)  # γ ≡ 1; the gate carries the scale
        self.gate = nn.Parameter(torch.ones(num_features, device=device, dtype=dtype))

    @classmethod
    def from_batchnorm(cls, bn: nn.BatchNorm2d) -> GatedBatchNorm2d:
        ref = bn.running_mean if bn.running_mean is not None else bn.weight
        gbn = cls(
            bn.num_features,
            eps=bn.eps,
            momentum=bn.momentum,
            track_running_stats=bn.track_running_stats,
            device=ref.device,
            dtype=ref.dtype,
        )
        with torch.no_grad():
            if bn.track_running_stats:
                gbn.running_mean.copy_(bn.running_mean)
                gbn.running_var.copy_(bn.running_var)
                gbn.num_batches_tracked.copy_(bn.num_batches_tracked)
            if bn.affine:
                gamma, beta = bn.weight, bn.bias
                # γ = 0 gives φ = 0: the channel is already dead and β no longer matters.
                safe_gamma = torch.where(gamma == 0, torch.ones_like(gamma), gamma)
                beta_over_gamma = torch.where(gamma == 0, torch.zeros_like(beta), beta / safe_gamma)
                gbn.bias.copy_(beta_over_gamma.clamp(-_BIAS_CLAMP, _BIAS_CLAMP))
                gbn.gate.copy_(gamma)
            else:
                gbn.bias.zero_()
        gbn.train(bn.training)
        return gbn

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        return super().forward(x) * self.gate.view(1, -1, 1, 1)

    def to_batchnorm(self) -> nn.BatchNorm2d:
        """Fold φ into the affine parameters: γ' = φ·γ₁, β' = φ·β₁ (paper §3.1, 'merge')."""
        bn = nn.BatchNorm2d(
            self.num_features,
            eps=self.eps,
            momentum=self.momentum,
            affine=True,
            track_running_stats=self.track_running_stats,
            device=self.gate.device,
            dtype=self.gate.dtype,
        )
        with torch.no_grad():
            bn.weight.copy_(self.gate * self.weight)
            bn.bias.copy_(self.gate * self.bias)
            if self.track_running_stats:
                bn.running_mean.copy_(self.running_mean)
                bn.running_var.copy_(self.running_var)
                bn.num_batches_tracked.copy_(self.num_batches_tracked)
        bn.train(self.training)
        return bn


class GatedConv2d(nn.Conv2d):
    """A convolution followed by a per-output-channel gate, for nets with no BN.

    The authors gated the FCN's convolutions this way but did not publish that code (authors'
    issue #16). φ starts at 1, so decorating changes nothing until φ trains.
    """

    # DEVIATION: the gate sits after the conv's bias (z = φ·(W∗x + b)), our reading of
    # "gated convolution"; the authors' FCN code is unpublished.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gate = nn.Parameter(torch.ones(self.out_channels, device=self.weight.device, dtype=self.weight.dtype))

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> GatedConv2d:
        gated = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        with torch.no_grad():
            gated.weight.copy_(conv.weight)
            if conv.bias is not None:
                gated.bias.copy_(conv.bias)
        gated.weight.requires_grad_(conv.weight.requires_grad)
        gated.train(conv.training)
        return gated

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C_in, H, W) -> (N, C_out, H', W')
        return super().forward(x) * self.gate.view(1, -1, 1, 1)

    def to_conv(self) -> nn.Conv2d:
        """Fold φ into the filters: W' = φ·W, b' = φ·b."""
        conv = nn.Conv2d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=self.bias is not None,
            padding_mode=self.padding_mode,
            device=self.weight.device,
            dtype=self.weight.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(self.weight * self.gate.view(-1, 1, 1, 1))
            if self.bias is not None:
                conv.bias.copy_(self.bias * self.gate)
        conv.train(self.training)
        return conv


GATED_TYPES = (GatedBatchNorm2d, GatedConv2d)


def gated_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """(qualified name, layer) for every gated layer, in registration order."""
    for name, module in model.named_modules():
        if isinstance(module, GATED_TYPES):
            yield name, module


def decorate(model: nn.Module, example_inputs: torch.Tensor | None = None) -> nn.Module:
    """Gate every eligible layer of `model`, in place; returns `model`.

    Every BatchNorm2d becomes a GatedBatchNorm2d. A Conv2d gets its own gate (GatedConv2d) when
    its output reaches no BN and it does not produce the network's output (the classifier or
    the FCN's score layers). Both rules come from tracing one forward pass on `example_inputs`
    (default: a zero batch of `model.example_input_shape`, or 1×3×224×224).
    """
    if any(True for _ in gated_layers(model)):
        raise ValueError("model is already decorated; call gdbench.undecorate(model) first")
    example_inputs = example_inputs_for(model, example_inputs)
    _replace_layers(model, lambda m: type(m) is nn.BatchNorm2d, GatedBatchNorm2d.from_batchnorm)
    trace = ModelTrace(model, example_inputs)
    covered_by_bn = trace.producers_of_inputs([m for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    outputs = trace.output_layers()
    _replace_layers(
        model,
        lambda m: type(m) is nn.Conv2d and m not in covered_by_bn and m not in outputs,
        GatedConv2d.from_conv,
    )
    return model


def undecorate(model: nn.Module) -> nn.Module:
    """Fold every gate back into its layer, in place; returns a model with no gate class left."""
    _replace_layers(model, lambda m: isinstance(m, GatedBatchNorm2d), lambda m: m.to_batchnorm())
    _replace_layers(model, lambda m: isinstance(m, GatedConv2d), lambda m: m.to_conv())
    return model


def _replace_layers(
    model: nn.Module, select: Callable[[nn.Module], bool], convert: Callable[[nn.Module], nn.Module]
) -> None:
    """Swap each selected sub-module for convert(sub-module), keeping its name (timm's habit)."""
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if select(child):
                setattr(parent, child_name, convert(child))


def load_undecorated(decorated: nn.Module, plain: nn.Module) -> nn.Module:
    """Set `decorated` to compute what `plain` computes, `plain` being an undecorated copy of it
    (same names and widths) trained further: the inverse of undecorate(). A GBN takes φ = γ and
    β/γ as its bias, unclamped, so that the round trip is exact for every γ ≠ 0 (a channel with
    γ = 0 has φ = 0 and is dead either way, whatever β); a GatedConv2d takes the folded filters
    with φ = 1. Returns `decorated`."""
    modules = dict(plain.named_modules())
    with torch.no_grad():
        for name, layer in decorated.named_modules():
            source = modules[name]
            if isinstance(layer, GatedBatchNorm2d):
                gamma = source.weight
                safe = torch.where(gamma == 0, torch.ones_like(gamma), gamma)
                layer.gate.copy_(gamma)
                layer.bias.copy_(torch.where(gamma == 0, torch.zeros_like(gamma), source.bias / safe))
                for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                    if getattr(layer, buffer) is not None:
                        getattr(layer, buffer).copy_(getattr(source, buffer))
            elif isinstance(layer, GatedConv2d):
                layer.weight.copy_(source.weight)
                layer.gate.fill_(1.0)
                if layer.bias is not None:
                    layer.bias.copy_(source.bias)
            elif not list(layer.children()):
                layer.load_state_dict(source.state_dict())
    return decorated
