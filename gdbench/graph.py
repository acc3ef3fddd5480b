"""Reading a model's data flow from one traced forward pass (autograd graph, no torch.fx).

Autograd tracing works on any eager model, including those whose forward has Python control
flow (segmentation-models-pytorch, torchvision), which symbolic tracing does not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from torch import nn

# Layers that keep channel i in channel i: walking back from the output passes through them.
_CHANNEL_PRESERVING = (nn.BatchNorm2d, nn.ConvTranspose2d)


def example_inputs_for(model: nn.Module, example_inputs: torch.Tensor | None) -> torch.Tensor:
    """The given inputs, or a zero batch of `model.example_input_shape` (default 1×3×224×224)."""
    if example_inputs is not None:
        return example_inputs
    shape = getattr(model, "example_input_shape", (1, 3, 224, 224))
    ref = next(model.parameters())
    return torch.zeros(shape, device=ref.device, dtype=ref.dtype)


def flatten_outputs(out) -> list[torch.Tensor]:
    """Tensors in a model output that is a tensor, a tuple/list or a dict (torchvision's FCN)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for item in out for t in flatten_outputs(item)]
    return []


@contextlib.contextmanager
def _traceable(model: nn.Module) -> Iterator[None]:
    """Eval mode with every parameter requiring grad; both restored afterwards."""
    was_training = model.training
    requires = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in requires:
        p.requires_grad_(True)
    try:
        with torch.enable_grad():
            yield
    finally:
        for p, flag in requires:
            p.requires_grad_(flag)
        model.train(was_training)


class ModelTrace:
    """One traced forward pass: each parametric leaf layer mapped to the grad_fn of its output
    and of its inputs."""

    def __init__(self, model: nn.Module, example_inputs: torch.Tensor):
        self.layer_of_output: dict = {}
        self.input_fns: dict[nn.Module, list] = {}
        leaves = [
            m for m in model.modules() if not list(m.children()) and any(True for _ in m.parameters(recurse=False))
        ]

        def record(module, inputs, output):
            for t in flatten_outputs(output):
                if t.grad_fn is not None:
                    self.layer_of_output[t.grad_fn] = module
            self.input_fns[module] = [t.grad_fn for t in flatten_outputs(list(inputs)) if t.grad_fn is not None]

        handles = [m.register_forward_hook(record) for m in leaves]
        try:
            with _traceable(model):
                self.outputs = flatten_outputs(model(example_inputs))
        finally:
            for handle in handles:
                handle.remove()

    def producers(self, start_fns: Iterable, pass_through: tuple = ()) -> set[nn.Module]:
        """Parametric layers reached walking back from `start_fns` through parameter-free ops
        (and through layers of the `pass_through` types)."""
        found: set[nn.Module] = set()
        stack, seen = [f for f in start_fns if f is not None], set()
        while stack:
            fn = stack.pop()
            if fn in seen:
                continue
            seen.add(fn)
            layer = self.layer_of_output.get(fn)
            if layer is not None and not isinstance(layer, pass_through):
                found.add(layer)
                continue
            next_fns = (
                self.input_fns[layer]
                if layer is not None
                else [f for f, _ in fn.next_functions if f is not None and type(f).__name__ != "AccumulateGrad"]
            )
            stack.extend(next_fns)
        return found

    def producers_of_inputs(self, consumers: list[nn.Module]) -> set[nn.Module]:
        """Parametric layers whose output reaches one of `consumers` through parameter-free ops."""
        return self.producers([fn for layer in consumers for fn in self.input_fns.get(layer, [])])

    def output_layers(self) -> set[nn.Module]:
        """Layers whose output channels are the network's output channels.

        Walking back from the output passes through parameter-free ops, BN and transposed
        (up-sampling) convolutions, and stops at the first Conv2d or Linear on each path: the
        classifier of a CNN, the score layers of an FCN, the head of a segmentation net.
        """
        return self.producers([t.grad_fn for t in self.outputs], pass_through=_CHANNEL_PRESERVING)
