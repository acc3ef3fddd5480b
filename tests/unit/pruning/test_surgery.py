import pytest
import segmentation_models_pytorch as smp
import torch
import torchvision

from gdbench import count_flops, decorate
from gdbench.checkpoint import load_pruned_state_dict
from gdbench.flops import count_params
from gdbench.gates import gated_layers
from gdbench.models import FCN, VGG, resnet_cifar
from gdbench.pruning.groups import GateGraph
from gdbench.pruning.plan import GroupState, floor_channels, plan_tick

MODELS = {
    "resnet56": (lambda: resnet_cifar(56, 10), (2, 3, 32, 32)),
    "vgg16": (lambda: VGG(100, width_divisor=4), (2, 3, 32, 32)),
    "torchvision-resnet50": (lambda: torchvision.models.resnet50(weights=None), (2, 3, 64, 64)),
    "fcn8s": (lambda: FCN(21, "8s", width_divisor=16), (2, 3, 48, 48)),
    "smp-unet": (lambda: smp.Unet("resnet18", encoder_weights=None, classes=5), (2, 3, 64, 64)),
}


def _mask_then_prune(build, shape, fraction=0.3):
    """Zero the gates the plan removes, record the output, then remove those channels."""
    x = torch.randn(shape)
    model = decorate(build(), x[:1])
    with torch.no_grad():
        for _, layer in gated_layers(model):
            layer.gate.uniform_(0.5, 1.5)
    model.eval()
    graph = GateGraph(model, x[:1])
    groups = [g for g in graph.groups if g.prunable]
    states = [GroupState(torch.rand(g.width), len(g.names), floor_channels(g.original_width, 0.1)) for g in groups]
    keeps = plan_tick(states, fraction)
    with torch.no_grad():
        for group, keep in zip(groups, keeps):
            for layer in group.layers:
                layer.gate[~keep] = 0
        masked = model(x)
    params_before = count_params(model)
    for group, keep in zip(groups, keeps):
        graph.remove_channels(group, keep)
    with torch.no_grad():
        pruned = model(x)
    return model, masked, pruned, params_before, dict(zip((g.names[0] for g in groups), keeps)), groups


@pytest.mark.parametrize("name", list(MODELS))
def test_masked_equals_pruned(name):
    build, shape = MODELS[name]
    model, masked, pruned, params_before, _, _ = _mask_then_prune(build, shape)
    torch.testing.assert_close(pruned, masked, rtol=1e-4, atol=1e-4 * masked.abs().max().item())
    assert count_params(model) < params_before  # physically smaller, not masked


def test_resnet56_params_after_surgery_match_closed_form():
    model, _, _, _, keeps, groups = _mask_then_prune(*MODELS["resnet56"], fraction=0.3)
    width = {}  # every member of a group has the group's kept width
    for group in groups:
        kept = int(keeps[group.names[0]].sum())
        width.update({name: kept for name in group.names})
    total = 3 * width["bn1"] * 9 + 2 * width["bn1"]
    previous = width["bn1"]
    for stage in (1, 2, 3):
        for block in range(9):
            inner, out = width[f"layer{stage}.{block}.bn1"], width[f"layer{stage}.{block}.bn2"]
            total += previous * inner * 9 + 2 * inner + inner * out * 9 + 2 * out
            if stage > 1 and block == 0:  # option-B projection: 1×1 conv + BN
                total += previous * out + 2 * out
            previous = out
    total += previous * 10 + 10
    assert count_params(model) == total


def test_vgg_params_after_surgery_match_closed_form():
    model, _, _, _, keeps, _ = _mask_then_prune(*MODELS["vgg16"], fraction=0.3)
    widths = [int(keeps[f"features.{i}"].sum()) for i in range(1, 44) if f"features.{i}" in keeps]
    assert len(widths) == 13
    total, previous = 0, 3
    for width in widths:
        total += previous * width * 9 + width + 2 * width  # conv with bias + BN
        previous = width
    total += previous * 100 + 100
    assert count_params(model) == total


def test_pruned_state_dict_loads_into_a_fresh_architecture():
    model, _, _, _, _, _ = _mask_then_prune(*MODELS["resnet56"])
    fresh = decorate(resnet_cifar(56, 10))
    load_pruned_state_dict(fresh, model.state_dict())
    fresh.eval()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(fresh(x), model(x))
    assert count_flops(fresh).flops == count_flops(model).flops


def test_frozen_group_refuses_surgery():
    graph = GateGraph(decorate(resnet_cifar(20, 10, "A")))
    frozen = next(g for g in graph.groups if not g.prunable)
    with pytest.raises(ValueError, match="frozen"):
        graph.remove_channels(frozen, torch.zeros(frozen.width, dtype=torch.bool))
