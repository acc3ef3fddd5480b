"""The whole report of a run: summary, one table and its figures per paper experiment, all read
back from MLflow (`snakemake report` regenerates it without retraining)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from gdbench.report import figures, tables
from gdbench.report.summary import write_summary
from gdbench.track import download_artifact, stage_runs

TITLES = {"resnet56_cifar10": "Table 1: ResNet-56 on CIFAR-10", "resnet50_imagenet": "Table 2: ResNet-50 on ImageNet",
          "vgg16m_cub200": "Figure 4: VGG-16-M on CUB-200", "vgg16m_cifar100": "Figure 5: VGG-16-M on CIFAR-100",
          "fcn8s_voc": "FCN-8s on VOC 2011 + SBD"}


def _runs_with_prefix(runs: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return runs[runs["tags.gdbench.stage_key"].str.startswith(prefix)] if not runs.empty else runs


def _artifact_json(uri: str, run_id: str, name: str) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = download_artifact(uri, run_id, name, tmp)
        return json.loads(path.read_text()) if path is not None else None


def _trace(uri: str, runs: pd.DataFrame) -> pd.DataFrame | None:
    prunes = _runs_with_prefix(runs, "prune/").sort_values("tags.gdbench.stage_key")
    if prunes.empty:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = download_artifact(uri, prunes.iloc[0]["run_id"], "trace.csv", tmp)
        return pd.read_csv(path) if path is not None else None


def _channels_figure(uri: str, name: str, evals: pd.DataFrame, models: pd.DataFrame, out: Path) -> bool:
    seed0 = evals[evals["params.seed"] == "0"]
    pruned = seed0[seed0["params.stage"] == "finetune"]
    baseline = seed0[seed0["params.stage"] == "baseline"]
    if pruned.empty or baseline.empty:
        return False
    pruned_channels = _artifact_json(uri, pruned.iloc[0]["run_id"], "architecture.json")
    original_channels = _artifact_json(uri, baseline.iloc[0]["run_id"], "architecture.json")
    if pruned_channels is None or original_channels is None:
        return False
    accuracies = {"baseline": models[models["stage"] == "baseline"]["test_top1"].mean()}
    for stage, label in (("finetune", "pruned"), ("scratch_e", "pruned, from scratch")):
        chosen = models[models["stage"] == stage]
        if not chosen.empty:
            accuracies[label] = chosen["test_top1"].mean()
    figures.channels_and_accuracy(pruned_channels, original_channels, None, accuracies,
                                  TITLES.get(name, name), out / f"{name}_channels")
    return True


def build_report(uri: str, resolved: dict, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    profile, experiments = resolved["profile"], resolved["experiments"]
    write_summary(uri, list(experiments), profile, out)
    lines = [f"# gdbench report: {profile}", "", "Every number below is read from MLflow runs.", ""]
    for name, experiment in experiments.items():
        runs = stage_runs(uri, name, profile)
        evals = _runs_with_prefix(runs, "evaluate/")
        models = tables.per_seed(evals)
        if models.empty:
            continue
        title = TITLES.get(name, name)
        table = tables.comparison(models, experiment["expected"])
        tables.write_table(table, title, out / "tables" / name)
        lines += [tables.to_markdown(table, title), ""]
        metric = "test_miou" if experiment["data"]["dataset"].startswith("voc") else "test_top1"
        figures.accuracy_vs_flops(models, metric, title, out / "figures" / f"{name}_accuracy_vs_flops")
        lines.append(f"![{title}: accuracy against FLOPs](figures/{name}_accuracy_vs_flops.png)")
        trace = _trace(uri, runs)
        if trace is not None:
            figures.tick_tock_trace(trace, f"{title}: Tick-Tock", out / "figures" / f"{name}_ticktock")
            lines.append(f"![{title}: Tick-Tock trace](figures/{name}_ticktock.png)")
        if name == "vgg16m_cifar100" and _channels_figure(uri, name, evals, models, out / "figures"):
            lines.append(f"![{title}: channels per layer](figures/{name}_channels.png)")
        lines.append("")
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
