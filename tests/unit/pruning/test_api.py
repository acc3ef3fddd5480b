"""The README's API example, run as written, and what `gdbench.prune` promises."""

import re
from pathlib import Path

import torch

from gdbench.gates import GATED_TYPES

README = Path(__file__).resolve().parents[3] / "README.md"


def _readme_example() -> str:
    match = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert match, "README.md lost its API example block"
    return match.group(1)


def test_readme_example_is_the_example_script():
    script = (README.parent / "examples" / "prune_torchvision.py").read_text()
    assert _readme_example() in script


def test_readme_example_prunes_a_torchvision_model(capsys):
    namespace: dict = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    model, pruned, count = namespace["model"], namespace["pruned"], namespace["gdbench"].count_flops
    before, after = count(model, (3, 32, 32)), count(pruned, (3, 32, 32))
    assert after.flops <= 0.5 * before.flops
    assert after.params < before.params
    assert not any(isinstance(m, GATED_TYPES) for m in pruned.modules())  # plain torch model
    assert not any(isinstance(m, GATED_TYPES) for m in model.modules())  # input left untouched
    assert pruned(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert "FLOPs" in capsys.readouterr().out


def test_prune_takes_any_method_by_name():
    import gdbench
    from gdbench.models import resnet_cifar

    torch.manual_seed(0)
    model = resnet_cifar(14, 4, base_width=8)
    batches = [(torch.randn(8, 3, 16, 16), torch.randint(0, 4, (8,))) for _ in range(2)]
    pruned = gdbench.prune(
        model, batches, 0.6, method="l1_norm", example_inputs=torch.zeros(1, 3, 16, 16), prune_fraction_per_tick=0.05
    )
    assert gdbench.count_flops(pruned, (3, 16, 16)).flops <= 0.6 * gdbench.count_flops(model, (3, 16, 16)).flops
    assert not any(isinstance(m, GATED_TYPES) for m in pruned.modules())


def test_prune_takes_its_example_input_from_the_first_batch():
    """A 1-channel 12×12 net with no example_input_shape: the graph and the FLOPs target are taken
    at the data's input, not at a default 3×224×224 (which fails on the first convolution)."""
    import sys

    import gdbench

    sys.path.insert(0, str(README.parent / "examples"))
    from gdbench_example import tiny_cnn

    torch.manual_seed(0)
    model = tiny_cnn(num_classes=4)
    del model.example_input_shape
    batches = [(torch.randn(16, 1, 12, 12), torch.randint(0, 4, (16,))) for _ in range(2)]
    pruned = gdbench.prune(model, batches, 0.5)
    assert pruned.example_input_shape == (1, 1, 12, 12)
    kept = gdbench.count_flops(pruned, (1, 12, 12)).flops / gdbench.count_flops(model, (1, 12, 12)).flops
    assert 0.4 < kept <= 0.5
    assert pruned(torch.zeros(2, 1, 12, 12)).shape == (2, 4)
