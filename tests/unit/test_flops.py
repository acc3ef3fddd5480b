import pytest
import thop
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gdbench import count_flops, decorate
from gdbench.models import VGG, resnet_cifar
from gdbench.pruning.groups import GateGraph
from gdbench.pruning.plan import GroupState, plan_tick


def test_two_layer_net_by_hand():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 10 * 10, 5))
    count = count_flops(net, (3, 10, 10))
    conv = (8 * 10 * 10) * (3 * 3 * 3)  # outputs × MACs per output
    linear = 800 * 5
    assert count.flops == conv + linear
    assert count.params == (8 * 3 * 9 + 8) + (800 * 5 + 5)


def _resnet56_option_a_macs(classes=10):
    """Closed form: stem, 3 stages of 18 3×3 convs (the first of stages 2-3 strided), fc."""
    total = 32 * 32 * 16 * 3 * 9
    for stage, (width, side) in enumerate([(16, 32), (32, 16), (64, 8)]):
        in_width = width // 2 if stage > 0 else width
        total += side * side * width * in_width * 9 + 17 * side * side * width * width * 9
    return total + 64 * classes


def test_resnet56_option_a_is_125_49_m():
    expected = _resnet56_option_a_macs()
    assert expected == 125_485_696
    assert count_flops(resnet_cifar(56, 10, "A")).flops == expected


def test_resnet56_option_b_adds_the_two_projections():
    projections = 16 * 16 * 32 * 16 + 8 * 8 * 64 * 32
    assert count_flops(resnet_cifar(56, 10, "B")).flops == _resnet56_option_a_macs() + projections


def test_thop_mode_gives_the_authors_127_932_m():
    """The authors printed 127.932 M for their option-B ResNet-56 (thop); thop 0.1.1 itself
    gives 127,931,072: agreement to 7e-6."""
    flops = count_flops(resnet_cifar(56, 10, "B"), convention="thop").flops
    assert flops == pytest.approx(127.932e6, rel=1e-5)


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda: resnet_cifar(56, 10, "B"), (1, 3, 32, 32)),
        (lambda: resnet_cifar(56, 10, "A"), (1, 3, 32, 32)),
        (lambda: VGG(100), (1, 3, 32, 32)),
        (lambda: torchvision.models.resnet18(weights=None), (1, 3, 64, 64)),
    ],
    ids=["resnet56-B", "resnet56-A", "vgg16", "resnet18"],
)
def test_thop_mode_equals_thop(build, shape):
    model = build().eval()
    reference, _ = thop.profile(model, inputs=(torch.zeros(shape),), verbose=False)
    model = build().eval()  # thop leaves counters on the model; count a clean copy
    assert count_flops(model, shape, convention="thop").flops == int(reference)


def test_torchvision_resnet50_is_4_09_g():
    assert count_flops(torchvision.models.resnet50(weights=None), (3, 224, 224)).flops == pytest.approx(
        4.09e9, rel=2e-3
    )


def _flop_counter(model, shape):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(shape))
    return counter.get_total_flops()


def test_pruned_ratio_agrees_with_torch_flop_counter():
    model = decorate(resnet_cifar(56, 10))
    ours_before, torch_before = count_flops(model).flops, _flop_counter(model, (1, 3, 32, 32))
    graph = GateGraph(model)
    groups = [g for g in graph.groups if g.prunable]
    keeps = plan_tick([GroupState(torch.rand(g.width), len(g.names), 1) for g in groups], 0.4)
    for group, keep in zip(groups, keeps):
        graph.remove_channels(group, keep)
    ours_ratio = count_flops(model).flops / ours_before
    torch_ratio = _flop_counter(model, (1, 3, 32, 32)) / torch_before
    assert ours_ratio < 0.8
    assert ours_ratio == pytest.approx(torch_ratio, rel=1e-9)


def test_gates_are_not_counted_as_parameters():
    model = resnet_cifar(20, 10)
    assert count_flops(decorate(model)).params == sum(p.numel() for p in resnet_cifar(20, 10).parameters())


def test_unknown_convention_is_refused():
    with pytest.raises(ValueError, match="convention"):
        count_flops(resnet_cifar(20, 10), convention="flops")
