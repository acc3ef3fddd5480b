"""Tables and figures from a small MLflow store filled with known runs."""

import os

import pandas as pd
import pytest

from gdbench.report import figures, tables
from gdbench.report.build import build_report
from gdbench.track import init_store, log_stage, stage_runs

EXPECTED = [
    {"stage": "baseline", "metric": "test_top1", "value": 0.93, "tolerance": 0.005, "source": "test"},
    {"stage": "finetune", "target": 0.4, "metric": "test_top1", "value": 0.92, "tolerance": 0.005, "source": "test"},
    {"stage": "finetune", "target": 0.4, "metric": "flops_reduction", "value": 0.601, "tolerance": 0.01, "source": "test"},
]


def _evaluation(uri, stage, seed, top1, flops_reduction, target=None):
    where = "baseline" if target is None else f"gd/{target}"
    log_stage(uri, "resnet56_cifar10", "test", f"evaluate/{stage}/{where}/seed{seed}",
              params={"seed": seed, "stage": stage, "method": "gd" if target else "none",
                      "target": "none" if target is None else target},
              metrics={"test_top1": top1, "test_top5": 0.99, "flops_reduction": flops_reduction,
                       "params_reduction": flops_reduction / 2})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    init_store(uri, ["resnet56_cifar10"], "test")
    for seed, (base, pruned) in enumerate([(0.90, 0.915), (0.92, 0.925)]):
        _evaluation(uri, "baseline", seed, base, 0.0)
        _evaluation(uri, "finetune", seed, pruned, 0.60, target=0.4)
    trace = pd.DataFrame({"phase": ["tock", "tick", "tick", "tock", "tick"], "flops_ratio": [1, .8, .6, .6, .4],
                          "accuracy": [.5, .45, .44, .5, .42]})
    return uri, trace


def test_table_cells_and_verdicts(store):
    uri, _ = store
    models = tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test"))
    assert "MLFLOW_TRACKING_URI" not in os.environ  # reading runs must not redirect child processes
    table = tables.comparison(models, EXPECTED)
    row = table.set_index("stage").loc["finetune"]
    assert row["n"] == 2
    assert row["test_top1_mean"] == pytest.approx(0.92)
    assert row["test_top1_change_mean"] == pytest.approx(0.01)  # per seed: +0.015 and +0.005
    assert row["test_top1_change_std"] == pytest.approx(0.00707, abs=1e-4)
    assert row["test_top1_verdict"] == "within"                 # |0.92 - 0.92| <= 0.005
    assert row["flops_reduction_verdict"] == "within"           # |0.60 - 0.601| <= 0.01
    assert row["baseline_test_top1_mean"] == pytest.approx(0.91)
    assert row["baseline_test_top1_verdict"] == "outside"       # |0.91 - 0.93| > 0.005


def test_markdown_and_latex_show_ours_beside_the_paper(store, tmp_path):
    uri, _ = store
    table = tables.comparison(tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test")), EXPECTED)
    paths = tables.write_table(table, "Table 1", tmp_path / "table1")
    markdown = paths[0].read_text()
    assert "92.00 ± 0.71 (paper 92.00, within)" in markdown
    assert "multiply-accumulates" in markdown  # the FLOPs convention under every table
    assert r"$\pm$" in paths[2].read_text() and pd.read_csv(paths[1]).shape[0] == 1


def test_figures_have_their_series(store, tmp_path):
    uri, trace = store
    models = tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test"))
    assert figures.accuracy_vs_flops(models, "test_top1", "t", tmp_path / "acc") == 2  # baseline + gd
    assert figures.tick_tock_trace(trace, "t", tmp_path / "trace") == 2               # FLOPs + accuracy
    assert figures.channels_and_accuracy({"a": 3, "b": 5}, {"a": 8, "b": 8}, None, {"baseline": 0.9},
                                         "t", tmp_path / "channels") == 3
    for stem in ("acc", "trace", "channels"):
        for suffix in (".png", ".pdf"):
            assert (tmp_path / f"{stem}{suffix}").stat().st_size > 1000


def test_build_report_writes_everything_from_mlflow(store, tmp_path):
    uri, _ = store
    resolved = {"profile": "test", "experiments": {"resnet56_cifar10": {"expected": EXPECTED,
                                                                          "data": {"dataset": "cifar10"}}}}
    report = build_report(uri, resolved, tmp_path)
    text = report.read_text()
    assert "Table 1: ResNet-56 on CIFAR-10" in text and "figures/resnet56_cifar10_accuracy_vs_flops.png" in text
    assert (tmp_path / "tables" / "resnet56_cifar10.tex").is_file()
    assert (tmp_path / "summary.md").is_file()
