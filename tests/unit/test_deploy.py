"""Pruned models people can deploy (issue 16): every model family, pruned, saved as plain files,
loaded back, exported to ONNX and as a torch.export program, each computing what PyTorch does."""

import json
import subprocess
import sys

import pytest
import torch

from gdbench import cli, deploy
from gdbench.checkpoint import save_checkpoint
from gdbench.gates import decorate, undecorate
from gdbench.models import build_model
from gdbench.pruning.groups import GateGraph

FAMILIES = {
    "cifar_resnet": ("resnet20", {"num_classes": 10}),
    "vgg16m": ("vgg16m", {"num_classes": 100, "width_divisor": 4}),
    "resnet50": ("resnet50", {"num_classes": 10, "input_size": 64}),
    "fcn": ("fcn8s_vgg16", {"num_classes": 21, "width_divisor": 16}),
}


def _pruned(name: str, kwargs: dict) -> torch.nn.Module:
    """The model with every prunable group cut to about two thirds of its channels (random
    choice, fixed seed), as pruning leaves it: plain layers of uneven widths."""
    generator = torch.Generator().manual_seed(0)
    model = decorate(build_model(name, **kwargs))
    graph = GateGraph(model)
    for group in [g for g in graph.groups if g.prunable]:
        keep = torch.rand(group.width, generator=generator) < 0.67
        keep[0] = True
        graph.remove_channels(group, keep)
    return undecorate(model).eval()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_pruned_model_round_trips_through_every_format(family, tmp_path):
    name, kwargs = FAMILIES[family]
    model = _pruned(name, kwargs)
    widths = deploy.channels(model)
    assert widths != deploy.channels(build_model(name, **kwargs))  # pruning changed the architecture
    folder = deploy.save_deployable(model, name, kwargs, tmp_path, source="test", git="abc")
    record = json.loads((folder / deploy.ARCHITECTURE).read_text())
    assert record["channels"] == widths and record["constructor"] == name and record["kwargs"] == kwargs
    assert record["flops"]["macs"] < record["flops"]["thop"] and record["params"] > 0
    assert set(torch.load(folder / deploy.WEIGHTS, weights_only=True)) == set(model.state_dict())

    reloaded = deploy.load_deployable(folder)
    inputs = deploy.example_input(model, 2, seed=3)
    with torch.no_grad():
        assert torch.equal(reloaded(inputs), model(inputs))  # the same network, bit for bit
    onnx = deploy.onnx_parity(reloaded, deploy.export_onnx(reloaded, folder / deploy.ONNX))
    assert onnx["within"], onnx


def test_gdbench_export_writes_the_folder_and_a_program_that_runs_with_nothing_but_torch(tmp_path, capsys):
    """The command end to end, then the README's five lines on its .pt2 in a Python where gdbench
    cannot be imported."""
    name, kwargs = FAMILIES["cifar_resnet"]
    model = _pruned(name, kwargs)
    checkpoint = save_checkpoint({"state_dict": model.state_dict()}, tmp_path / "model.pt")
    out = tmp_path / "deploy"
    argv = ["export", str(checkpoint), "--out", str(out), "--model", name, "--model-kwargs", json.dumps(kwargs)]
    assert cli.main(argv) == 0
    error = capsys.readouterr().err
    assert "model.onnx: onnxruntime against PyTorch, max |difference| " in error and ": ok" in error
    assert "model.pt2: torch.export.load against PyTorch" in error
    parity = json.loads((out / "model.onnx.parity.json").read_text())
    assert parity["within"] and parity["max_abs_difference"] <= 1e-4 * parity["output_scale"]
    assert json.loads((out / deploy.ARCHITECTURE).read_text())["source"] == str(checkpoint)

    inputs = deploy.example_input(model, 3, seed=5)
    torch.save(inputs, tmp_path / "inputs.pt")
    with torch.no_grad():
        torch.save(model(inputs), tmp_path / "expected.pt")
    script = (
        "import sys; sys.modules['gdbench'] = None\n"  # any import of gdbench fails
        "import torch\n"
        f"model = torch.export.load({str(out / deploy.PROGRAM)!r}).module()\n"
        f"inputs = torch.load({str(tmp_path / 'inputs.pt')!r}, weights_only=True)\n"
        f"expected = torch.load({str(tmp_path / 'expected.pt')!r}, weights_only=True)\n"
        "assert torch.allclose(model(inputs), expected, rtol=0, atol=1e-5), 'outputs differ'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.reliability("bad config")
def test_gdbench_export_without_a_model_says_how_to_name_one(tmp_path, capsys):
    checkpoint = save_checkpoint({"state_dict": {}}, tmp_path / "model.pt")
    assert cli.main(["export", str(checkpoint), "--out", str(tmp_path / "out")]) == 2
    assert "name the model: --config and --experiment, or --model" in capsys.readouterr().err


def test_a_parity_beyond_the_tolerance_fails():
    expected = torch.tensor([[10.0, -3.0]])
    assert deploy.parity(expected, expected + 5e-4)["within"]  # 1e-4 of the output's scale, 10
    assert not deploy.parity(expected, expected + 2e-3)["within"]
    assert not deploy.parity(torch.tensor([0.5]), torch.tensor([0.5002]))["within"]  # absolute below 1
