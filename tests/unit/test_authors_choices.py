"""The paper experiments (configs/experiments/) carry the authors' and the baselines' own choices,
each with its source in docs/facts.md; every remaining difference is a `# DEVIATION:`."""

from pathlib import Path

import pytest

from gdbench.config import load_yaml
from gdbench.pruning.methods import method_settings

EXPERIMENTS = Path(__file__).resolve().parents[2] / "configs" / "experiments"
PAPER_EXPERIMENTS = sorted(path.stem for path in EXPERIMENTS.glob("*.yaml"))


def _experiment(name: str) -> dict:
    return load_yaml(EXPERIMENTS / f"{name}.yaml")


@pytest.mark.parametrize("name", PAPER_EXPERIMENTS)
def test_network_slimming_lambda_is_liu_et_al_s_for_the_model_family(name):
    """1e-5 for ResNets, 1e-4 for VGG (Liu et al.'s network-slimming README)."""
    experiment = _experiment(name)
    settings = method_settings("network_slimming", experiment.get("method_settings", {}).get("network_slimming"))
    expected = 1e-5 if experiment["model"]["name"].startswith("resnet") else 1e-4
    assert settings.sparsity_weight == expected
