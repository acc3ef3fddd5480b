import pytest
import torch
import torchvision
from torch import nn

from gdbench import GatedBatchNorm2d, GatedConv2d, decorate, undecorate
from gdbench.gates import gated_layers
from gdbench.models import FCN, resnet_cifar


def _random_bn(channels: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    return bn


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gbn_with_unit_gates_equals_fresh_bn(mode):
    bn = nn.BatchNorm2d(6)
    gbn = GatedBatchNorm2d.from_batchnorm(bn)
    assert torch.equal(gbn.gate.detach(), torch.ones(6))
    bn.train(mode == "train"), gbn.train(mode == "train")
    x = torch.randn(4, 6, 5, 5)
    torch.testing.assert_close(gbn(x), bn(x))
    torch.testing.assert_close(gbn.running_mean, bn.running_mean)
    torch.testing.assert_close(gbn.running_var, bn.running_var)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gbn_reproduces_a_trained_bn(mode):
    bn = _random_bn(6)
    gbn = GatedBatchNorm2d.from_batchnorm(bn)
    torch.testing.assert_close(gbn.gate.detach(), bn.weight.detach())  # φ starts at γ
    assert not gbn.weight.requires_grad and torch.equal(gbn.weight.detach(), torch.ones(6))
    bn.train(mode == "train"), gbn.train(mode == "train")
    x = torch.randn(4, 6, 5, 5)
    torch.testing.assert_close(gbn(x), bn(x), rtol=1e-5, atol=1e-5)


def test_zero_gate_zeroes_its_channel_whatever_the_bias():
    gbn = GatedBatchNorm2d.from_batchnorm(_random_bn(4)).eval()
    with torch.no_grad():
        gbn.gate[2] = 0
    out = gbn(torch.randn(3, 4, 5, 5))
    assert torch.count_nonzero(out[:, 2]) == 0
    assert torch.count_nonzero(out[:, 1]) > 0


def test_gated_conv_zero_gate_and_fold():
    conv = GatedConv2d.from_conv(nn.Conv2d(3, 5, 3, padding=1))
    with torch.no_grad():
        conv.gate.copy_(torch.tensor([1.0, 0.0, 0.5, 2.0, -1.0]))
    x = torch.randn(2, 3, 6, 6)
    out = conv(x)
    assert torch.count_nonzero(out[:, 1]) == 0
    torch.testing.assert_close(conv.to_conv()(x), out)


def _randomize_gates(model: nn.Module) -> None:
    with torch.no_grad():
        for _, layer in gated_layers(model):
            layer.gate.uniform_(0.2, 1.5)


@pytest.mark.parametrize(
    "build",
    [
        lambda: resnet_cifar(20, 10, "B"),
        lambda: resnet_cifar(20, 10, "A"),
        lambda: FCN(21, "8s", width_divisor=16),
        lambda: torchvision.models.resnet18(weights=None, num_classes=7),
    ],
    ids=["resnet20-B", "resnet20-A", "fcn8s", "torchvision-resnet18"],
)
def test_undecorate_decorate_computes_the_same(build):
    model = build().eval()
    x = torch.randn(2, 3, 64, 64)
    expected = model(x)
    decorated = decorate(model, x)
    torch.testing.assert_close(decorated(x), expected, rtol=1e-4, atol=1e-4)
    _randomize_gates(decorated)
    gated_output = decorated(x)
    plain = undecorate(decorated)
    torch.testing.assert_close(plain(x), gated_output, rtol=1e-4, atol=1e-4)
    assert not any(isinstance(m, (GatedBatchNorm2d, GatedConv2d)) for m in plain.modules())


def test_undecorated_torchvision_model_holds_no_gdbench_class():
    model = decorate(torchvision.models.resnet18(weights=None))
    plain = undecorate(model)
    assert {type(m).__module__.split(".")[0] for m in plain.modules()} == {"torch", "torchvision"}


def test_decorate_gates_bn_everywhere_and_conv_only_where_no_bn_follows():
    resnet = decorate(resnet_cifar(20, 10))
    kinds = [type(layer) for _, layer in gated_layers(resnet)]
    assert kinds.count(GatedBatchNorm2d) == sum(isinstance(m, nn.BatchNorm2d) for m in resnet.modules())
    assert GatedConv2d not in kinds  # every conv of a ResNet feeds a BN
    fcn = decorate(FCN(21, "8s", width_divisor=16))
    gated = {name for name, _ in gated_layers(fcn)}
    assert len(gated) == 15  # 13 VGG convs + fc6 + fc7
    assert not any(name.startswith("score") for name in gated)  # class-score layers stay plain


def test_decorating_twice_is_refused():
    model = decorate(resnet_cifar(20, 10))
    with pytest.raises(ValueError, match="already decorated"):
        decorate(model)
