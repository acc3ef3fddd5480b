"""The paper experiments (configs/experiments/) carry the authors' and the baselines' own choices,
each with its source in docs/facts.md; every remaining difference is a `# DEVIATION:`."""

from pathlib import Path

import pytest

from gdbench.config import load_yaml
from gdbench.pruning.methods import method_settings
from gdbench.pruning.ticktock import TickTockConfig
from gdbench.train import FinetuneConfig

EXPERIMENTS = Path(__file__).resolve().parents[2] / "configs" / "experiments"
# the paper's experiments; the digits benchmark (*_digits) is ours, with its own validation split
PAPER_EXPERIMENTS = sorted(path.stem for path in EXPERIMENTS.glob("*.yaml") if not path.stem.endswith("_digits"))


def _experiment(name: str) -> dict:
    return load_yaml(EXPERIMENTS / f"{name}.yaml")


@pytest.mark.parametrize("name", PAPER_EXPERIMENTS)
def test_network_slimming_lambda_is_liu_et_al_s_for_the_model_family(name):
    """1e-5 for ResNets, 1e-4 for VGG (Liu et al.'s network-slimming README)."""
    experiment = _experiment(name)
    settings = method_settings("network_slimming", experiment.get("method_settings", {}).get("network_slimming"))
    expected = 1e-5 if experiment["model"]["name"].startswith("resnet") else 1e-4
    assert settings.sparsity_weight == expected


@pytest.mark.parametrize("name", PAPER_EXPERIMENTS)
def test_fine_tuning_runs_without_momentum(name):
    """The authors' fine-tune hook sets momentum 0.0 on every step (prune/utils.py, `finetune`)."""
    training = FinetuneConfig.from_dict(_experiment(name)["finetune"]).training()
    assert training.momentum == 0.0


def test_resnet56_fine_tuning_is_the_authors_notebook():
    """run/resnet-56/finetune.ipynb: batch 64, 40 triangular epochs 1e-3 <-> 1e-2, then 10 at 1e-3."""
    finetuning = FinetuneConfig.from_dict(_experiment("resnet56_cifar10")["finetune"])
    training = finetuning.training()
    assert finetuning.batch_size == 64 and training.epochs == 50
    steps = 100
    lrs = [training.lr_at(step, steps) for step in range(50 * steps)]
    assert max(lrs[: 40 * steps]) == pytest.approx(1e-2, rel=1e-3) and lrs[20 * steps] == pytest.approx(1e-2)
    assert lrs[0] == pytest.approx(1e-3) and lrs[40 * steps - 1] == pytest.approx(1e-3, rel=0.01)
    assert set(lrs[40 * steps :]) == {1e-3}


def test_resnet50_tocks_last_ten_epochs():
    """The triangular lr values in a user's log of the authors' script (their issue #22) fit a
    10-epoch Tock."""
    assert TickTockConfig.from_dict(_experiment("resnet50_imagenet")["prune"]).tock_epochs == 10


@pytest.mark.parametrize("name", PAPER_EXPERIMENTS)
def test_stop_and_save_points_use_the_authors_flops_counter(name):
    """The authors stopped, saved and reported with thop (prune/utils.py, `analyse_model`); their
    FCN code is unpublished, and thop's count of its fixed up-sampling swamps the rest."""
    expected = "macs" if name == "fcn8s_voc" else "thop"
    assert TickTockConfig.from_dict(_experiment(name)["prune"]).flops_convention == expected


@pytest.mark.parametrize("name", PAPER_EXPERIMENTS)
def test_paper_experiments_train_on_the_whole_split_and_report_the_last_epoch(name):
    assert _experiment(name)["data"]["protocol"] == "paper"
