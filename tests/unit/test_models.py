import hashlib

import pytest
import torch
import torchvision

from gdbench import count_flops
from gdbench.catalog import TORCHVISION_WEIGHTS
from gdbench.models import MODELS, build_model
from gdbench.models.pretrained import TORCHVISION_FILES, WeightsError, download_weights, read_weights, weights_url


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
        FileNotFoundError, match=r"place torchvision's ImageNet resnet50 state dict \(resnet50-0676ba61.pth\)"
    ):
        build_model("resnet50", pretrained=str(missing))


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="resnet56"):
        build_model("resnet57")


def test_the_fetchable_weights_are_torchvision_s_files():
    """catalog.TORCHVISION_WEIGHTS (torch-free, read by the Snakefile) names each file by the URL
    torchvision's weights API gives it."""
    for name in TORCHVISION_WEIGHTS:
        assert weights_url(name).rsplit("/", 1)[1] == name
    assert set(TORCHVISION_FILES.values()) <= set(TORCHVISION_WEIGHTS)


def _served_weights(tmp_path):
    """A state dict under a torchvision-style name whose suffix is its true sha256 prefix."""
    source = tmp_path / "served" / "plain.pth"
    source.parent.mkdir()
    torch.save({"features.0.weight": torch.arange(6.0)}, source)
    prefix = hashlib.sha256(source.read_bytes()).hexdigest()[:8]
    return source, prefix


def test_weights_download_checks_the_hash_its_name_carries(tmp_path):
    source, prefix = _served_weights(tmp_path)
    target = download_weights(source.as_uri(), tmp_path / "weights" / f"vgg16_bn-{prefix}.pth")
    assert target.read_bytes() == source.read_bytes()
    assert torch.equal(read_weights(target, "vgg16_bn")["features.0.weight"], torch.arange(6.0))


@pytest.mark.reliability("bad data")
def test_weights_that_do_not_match_their_hash_are_refused_and_not_kept(tmp_path):
    source, prefix = _served_weights(tmp_path)
    wrong = "0" * 8 if prefix != "0" * 8 else "1" * 8
    target = tmp_path / "weights" / f"vgg16_bn-{wrong}.pth"
    with pytest.raises(WeightsError, match=f"does not match the sha256 prefix {wrong}"):
        download_weights(source.as_uri(), target)
    assert list(target.parent.iterdir()) == []  # neither the file nor a partial one


@pytest.mark.reliability("resources")
def test_offline_weights_fetch_names_the_file_and_where_to_put_it(tmp_path, monkeypatch, capsys):
    """`gdbench stage fetch_weights` (the fetch_weights rule) with no network: nothing listens on
    port 9 of this machine, so the download fails as an offline one does."""
    from gdbench import cli
    from gdbench.models import pretrained

    monkeypatch.setattr(pretrained, "weights_url", lambda name: f"http://127.0.0.1:9/models/{name}")
    target = tmp_path / "weights" / "vgg16_bn-6c64b313.pth"
    assert cli.main(["stage", "fetch_weights", "--file", target.name, "--out", str(target)]) == 1
    error = capsys.readouterr().err
    assert f"cannot download {target.name}" in error
    assert f"place it at {target}" in error and "sha256 begins 6c64b313" in error
    assert not target.exists()


def test_an_unknown_weights_file_lists_the_fetchable_ones():
    with pytest.raises(WeightsError, match="vgg16_bn-6c64b313.pth"):
        weights_url("vgg17.pth")
