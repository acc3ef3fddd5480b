import torchvision

from gdbench import decorate
from gdbench.models import resnet_cifar
from gdbench.pruning.groups import GateGraph


def _groups(model):
    return GateGraph(decorate(model)).groups


def test_resnet56_option_b_groups_follow_the_papers_rule():
    """One group per stage: stem BN (stage 1) or projection BN (stages 2, 3) with every block's
    last BN; the 27 inner BNs are free (authors' code)."""
    groups = _groups(resnet_cifar(56, 10, "B"))
    tied = sorted(sorted(g.names) for g in groups if len(g.names) > 1)
    expected = sorted(
        [
            sorted(["bn1"] + [f"layer1.{i}.bn2" for i in range(9)]),
            sorted(["layer2.0.shortcut.1"] + [f"layer2.{i}.bn2" for i in range(9)]),
            sorted(["layer3.0.shortcut.1"] + [f"layer3.{i}.bn2" for i in range(9)]),
        ]
    )
    assert tied == expected
    free = sorted(g.names[0] for g in groups if len(g.names) == 1)
    assert free == sorted(f"layer{s}.{i}.bn1" for s in (1, 2, 3) for i in range(9))
    assert all(g.prunable for g in groups)


def test_resnet56_option_a_freezes_the_padded_stage_channels():
    groups = _groups(resnet_cifar(56, 10, "A"))
    frozen = [g for g in groups if not g.prunable]
    assert len(frozen) == 3 and all("option-A" in g.frozen_reason for g in frozen)
    assert sorted(g.names[0] for g in groups if g.prunable) == sorted(
        f"layer{s}.{i}.bn1" for s in (1, 2, 3) for i in range(9)
    )


def test_resnet50_block_outputs_grouped_with_the_stage_downsample_bn():
    groups = _groups(torchvision.models.resnet50(weights=None))
    tied = {frozenset(g.names) for g in groups if len(g.names) > 1}
    blocks = {1: 3, 2: 4, 3: 6, 4: 3}
    expected = {
        frozenset([f"layer{s}.0.downsample.1"] + [f"layer{s}.{i}.bn3" for i in range(n)]) for s, n in blocks.items()
    }
    assert tied == expected
    free = {g.names[0] for g in groups if len(g.names) == 1}
    assert free == {"bn1"} | {f"layer{s}.{i}.bn{k}" for s, n in blocks.items() for i in range(n) for k in (1, 2)}
