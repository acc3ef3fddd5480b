"""Summary table: every evaluated model of a run, mean ± std over seeds, from MLflow.

One row per (experiment, stage, method, target): test metrics, FLOPs and parameter reductions,
and n, the number of seeds behind the numbers. The paper's tables and figures build on this.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gdbench.report import render
from gdbench.track import stage_runs

METRICS = ("test_top1", "test_top5", "test_miou", "flops_reduction", "params_reduction")
FLOPS_NOTE = (
    "FLOPs (MACs) = multiply-accumulates of conv and linear layers per input sample; FLOPs (thop) = "
    "the authors' counter (BN and pooling too), which decides stop and save points where an "
    "experiment's prune.flops_convention is thop (gdbench.flops); reductions are against the "
    "baseline of the same seed."
)


def evaluated_runs(uri: str, experiments: list[str], profile: str) -> pd.DataFrame:
    frames = []
    for experiment in experiments:
        runs = stage_runs(uri, experiment, profile)
        if runs.empty:
            continue
        runs = runs[runs["tags.gdbench.stage_key"].str.startswith("evaluate/")].copy()
        runs["experiment"] = experiment
        frames.append(runs)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return pd.DataFrame(columns=["experiment", "stage", "method", "target", "n"])
    keys = ["experiment", "params.stage", "params.method", "params.target"]
    rows = []
    for (experiment, stage, method, target), group in runs.groupby(keys, sort=True):
        row = {
            "experiment": experiment,
            "stage": stage,
            "method": method,
            "target": target,
            "n": group["params.seed"].nunique(),
        }
        for metric in METRICS:
            column = f"metrics.{metric}"
            if column in group and group[column].notna().any():
                values = group[column].dropna()
                row[f"{metric}_mean"] = values.mean()
                row[f"{metric}_std"] = values.std(ddof=1) if len(values) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame) -> str:
    columns = ["experiment", "stage", "method", "target", "n"]
    shown = [m for m in METRICS if f"{m}_mean" in table]
    rows = [[str(row[c]) for c in columns] + [render.stat_cell(row, m) for m in shown] for _, row in table.iterrows()]
    return render.markdown(columns + shown, rows, note=f"Values in %, mean ± std over n seeds. {FLOPS_NOTE}")


def write_summary(uri: str, experiments: list[str], profile: str, out_dir: str | Path) -> pd.DataFrame:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = summary_table(evaluated_runs(uri, experiments, profile))
    table.to_csv(out_dir / "summary.csv", index=False)
    (out_dir / "summary.md").write_text(_markdown(table))
    return table
