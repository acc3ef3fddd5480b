"""The README's API example, run as written, and what `gdbench.prune` promises."""

import re
from pathlib import Path

import torch

from gdbench.gates import GATED_TYPES

README = Path(__file__).resolve().parents[2] / "README.md"


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
    assert not any(isinstance(m, GATED_TYPES) for m in model.modules())   # input left untouched
    assert pruned(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert "FLOPs" in capsys.readouterr().out
