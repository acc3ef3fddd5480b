import pytest
import torch
import torchvision

from gdbench import count_flops
from gdbench.models import MODELS, build_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_builds_offline_and_runs(name):
    kwargs = {
        "fcn8s_vgg16": {"width_divisor": 16},
        "fcn32s_vgg16": {"width_divisor": 16},
        "vgg16m": {"width_divisor": 4},
    }.get(name, {})
    model = build_model(name, **kwargs).eval()
    shape = model.example_input_shape
    shape = (2, shape[1], min(shape[2], 64), min(shape[3], 64))
    with torch.no_grad():
        out = model(torch.zeros(shape))
    if name.startswith(("fcn", "unet")):
        assert out.shape[-2:] == shape[-2:]  # dense prediction at input size
    assert torch.isfinite(out).all()


def test_cifar_resnet_sizes_match_the_literature():
    """He et al. 2016: ResNet-20 0.27 M, ResNet-56 0.85 M, ResNet-110 1.7 M parameters."""
    params = {depth: count_flops(build_model(f"resnet{depth}", shortcut="A")).params for depth in (20, 56, 110)}
    assert params[20] == pytest.approx(0.27e6, rel=0.02)
    assert params[56] == pytest.approx(0.85e6, rel=0.01)
    assert params[110] == pytest.approx(1.7e6, rel=0.02)


def test_vgg16m_pretrained_backbone_loads_by_name(tmp_path):
    reference = torchvision.models.vgg16_bn(weights=None)
    torch.save(reference.state_dict(), tmp_path / "vgg16_bn.pth")
    model = build_model("vgg16m", num_classes=200, input_size=224, pretrained=str(tmp_path / "vgg16_bn.pth"))
    assert torch.equal(model.features[0].weight, reference.features[0].weight)
    assert torch.equal(model.features[41].running_var, reference.features[41].running_var)


def test_fcn_takes_vgg16_fc_layers_as_convolutions(tmp_path):
    reference = torchvision.models.vgg16(weights=None)
    torch.save(reference.state_dict(), tmp_path / "vgg16.pth")
    model = build_model("fcn8s_vgg16", pretrained=str(tmp_path / "vgg16.pth"))
    assert torch.equal(model.stage5[4].weight, reference.features[28].weight)  # conv5_3
    assert torch.equal(model.fc6[0].weight.flatten(1), reference.classifier[0].weight)


def test_missing_weights_file_says_what_to_place_where(tmp_path):
    missing = tmp_path / "nowhere" / "resnet50.pth"
    with pytest.raises(
        FileNotFoundError, match=r"place torchvision's ImageNet resnet50 state dict \(resnet50-11ad3fa6.pth\)"
    ):
        build_model("resnet50", pretrained=str(missing))


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="resnet56"):
        build_model("resnet57")
