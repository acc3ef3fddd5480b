"""Pruned models people can deploy: saved as plain files, loaded without gdbench, exported to ONNX.

A deployable folder (`save_deployable`, `gdbench export`):

    architecture.json   the model's constructor name and arguments, the output channels of every
                        convolution (what pruning changed), the input shape, FLOPs in both
                        conventions, parameters, the checkpoint it came from and the git revision
    weights.pt          the state_dict: torch.load(path, weights_only=True), tensors only
    model.pt2           (format pt2) the network as a torch.export program:
                        torch.export.load(path).module() runs it with nothing but torch
    model.onnx          (format onnx) for onnxruntime, TensorRT and the like; its parity with
                        PyTorch is checked when it is written (`onnx_parity`)

`load_deployable` rebuilds the plain, trainable nn.Module from architecture.json and weights.pt
(the constructor is gdbench's model registry, or torchvision's for its models).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from gdbench.checkpoint import load_checkpoint, load_pruned_state_dict, save_checkpoint
from gdbench.flops import count_flops
from gdbench.models import build_model

ARCHITECTURE, WEIGHTS, PROGRAM, ONNX = "architecture.json", "weights.pt", "model.pt2", "model.onnx"
FORMAT_VERSION = 1
# fp32 outputs of an exported model may differ from PyTorch's by float rounding only: at most this
# share of the output's largest magnitude (absolute for outputs of magnitude up to 1)
PARITY_TOLERANCE = 1e-4


def channels(model: nn.Module) -> dict[str, int]:
    """Output channels of every convolution, in registration order: the pruned architecture."""
    return {name: layer.out_channels for name, layer in model.named_modules() if isinstance(layer, nn.Conv2d)}


def architecture_record(model: nn.Module, constructor: str, kwargs: dict, source: str = "", git: str = "") -> dict:
    shape = list(model.example_input_shape)
    macs, thop = count_flops(model, tuple(shape[1:])), count_flops(model, tuple(shape[1:]), "thop")
    return {
        "format": FORMAT_VERSION,
        "constructor": constructor,
        "kwargs": kwargs,
        "channels": channels(model),
        "input_shape": shape,
        "flops": {"macs": macs.flops, "thop": thop.flops},
        "params": macs.params,
        "source": source,
        "git_revision": git,
    }


def save_deployable(
    model: nn.Module, constructor: str, kwargs: dict, out_dir: str | Path, source: str = "", git: str = ""
) -> Path:
    """architecture.json and weights.pt of `model` (a plain network, no gates) under `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_checkpoint(state, out / WEIGHTS)
    (out / WEIGHTS).chmod(0o644)  # a file to hand on, not a private checkpoint
    record = architecture_record(model, constructor, kwargs, source, git)
    (out / ARCHITECTURE).write_text(json.dumps(record, indent=2))
    return out


def load_deployable(folder: str | Path) -> nn.Module:
    """The plain nn.Module of a deployable folder, in eval mode, checked against its record."""
    folder = Path(folder)
    path = folder / ARCHITECTURE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: not a deployable folder (gdbench export writes one)")
    record = json.loads(path.read_text())
    if record.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: format {record.get('format')!r}, this gdbench reads format {FORMAT_VERSION}")
    model = build_model(record["constructor"], **record["kwargs"])
    model = load_pruned_state_dict(model, load_checkpoint(folder / WEIGHTS))
    model.example_input_shape = tuple(record["input_shape"])
    if channels(model) != record["channels"]:
        raise ValueError(f"{folder}: the weights' channels differ from {ARCHITECTURE}'s")
    return model.eval()


def example_input(model: nn.Module, batch: int = 2, seed: int = 0) -> torch.Tensor:
    shape = tuple(model.example_input_shape[1:])
    return torch.randn((batch, *shape), generator=torch.Generator().manual_seed(seed))


def _output(value) -> torch.Tensor:
    """A model's main output: the tensor itself, or the 'out' of torchvision's segmentation dicts."""
    return value["out"] if isinstance(value, dict) else value


def export_program(model: nn.Module, path: str | Path) -> Path:
    """The network as a torch.export program with a dynamic batch dimension."""
    inputs = example_input(model)
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(model.eval(), (inputs,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return Path(path)


def export_onnx(model: nn.Module, path: str | Path) -> Path:
    """ONNX with a dynamic batch dimension, input `input`, output `output`."""
    inputs = example_input(model)
    names = {"input_names": ["input"], "output_names": ["output"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # the TorchScript-based exporter (dynamo=False) where torch still has it: 2 s for a
        # ResNet-56 here, against 10-14 s for the torch.export-based one (the default since torch
        # 2.9); the parity check holds either to the same tolerance.
        try:
            torch.onnx.export(
                model.eval(),
                (inputs,),
                str(path),
                dynamo=False,
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                **names,
            )
        except TypeError:  # a torch without the TorchScript exporter
            batch = torch.export.Dim("batch", min=1, max=4096)
            torch.onnx.export(model.eval(), (inputs,), str(path), dynamic_shapes=({0: batch},), **names)
    return Path(path)


def parity(expected: torch.Tensor, got: torch.Tensor) -> dict:
    """max |Δ| of two outputs, and whether it is within PARITY_TOLERANCE of the output's scale."""
    difference = float((expected - got).abs().max())
    scale = max(1.0, float(expected.abs().max()))
    return {"max_abs_difference": difference, "output_scale": scale, "within": difference <= PARITY_TOLERANCE * scale}


def onnx_parity(model: nn.Module, path: str | Path, batch: int = 3) -> dict:
    """Run the ONNX file in onnxruntime (CPU) on a batch the export did not see, against PyTorch."""
    import onnxruntime

    inputs = example_input(model, batch, seed=1)
    with torch.no_grad():
        expected = _output(model.eval()(inputs))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: inputs.numpy()})[0])
    return parity(expected, got)


def program_parity(model: nn.Module, path: str | Path, batch: int = 3) -> dict:
    inputs = example_input(model, batch, seed=1)
    with torch.no_grad():
        expected = _output(model.eval()(inputs))
        got = _output(torch.export.load(str(path)).module()(inputs))
    return parity(expected, got)
