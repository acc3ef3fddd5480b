"""The paper's tables, ours beside the paper's, from MLflow runs.

Each pruned model's numbers are taken per seed (its change in accuracy against the baseline of
the same seed), then reported as mean ± std over n seeds with a 95 % t-interval, and the paired
differences with a verdict (gdbench.report.stats). The paper's numbers and tolerances
come from the experiment config's `expected:` list (every value a cell of
results/paper/paper_numbers.csv); each such cell gets a verdict: within or outside tolerance.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gdbench.report import render, stats
from gdbench.report.latency import speed_cell
from gdbench.report.render import stat_cell
from gdbench.report.summary import FLOPS_NOTE

ACCURACY = ("test_top1", "test_top5", "test_miou")
COLUMNS = (
    "flops_reduction",
    "flops_reduction_thop",
    "params_reduction",
    "baseline_test_top1",
    "test_top1",
    "test_top1_last",
    "test_top1_change",
    "baseline_test_top5",
    "test_top5",
    "test_top5_change",
    "baseline_test_miou",
    "test_miou",
    "test_miou_last",
)
LABELS = {
    "flops_reduction": "FLOPs ↓ (MACs)",
    "flops_reduction_thop": "FLOPs ↓ (thop)",
    "params_reduction": "Params ↓",
    "baseline_test_top1": "Baseline top-1",
    "test_top1": "Pruned top-1",
    "test_top1_last": "Pruned top-1, last epoch",
    "test_top1_change": "Δ top-1",
    "baseline_test_top5": "Baseline top-5",
    "test_top5": "Pruned top-5",
    "test_top5_change": "Δ top-5",
    "baseline_test_miou": "Baseline mIoU",
    "test_miou": "Pruned mIoU",
    "test_miou_last": "Pruned mIoU, last epoch",
}
# Under the heldout protocol the selected model is the best validation epoch, and the last epoch's
# test numbers stand beside it; under paper the model is the last epoch and there is no other.
PROTOCOL_NOTES = {
    "paper": "protocol paper: trained on the full training split, the last epoch, the test split read once",
    "heldout": "protocol heldout: a validation split kept out of training (carved from it, or the dataset's own) "
    "selects the best epoch; "
    "the last epoch's test numbers beside it",
}


def per_seed(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluated model and seed: metrics, plus the same seed's baseline accuracy
    and the change against it."""
    if runs.empty:
        return pd.DataFrame()
    frame = pd.DataFrame(
        {
            "stage": runs["params.stage"],
            "method": runs["params.method"],
            "target": runs["params.target"],
            "seed": runs["params.seed"].astype(int),
        }
    )
    for metric in (
        "flops_reduction",
        "flops_reduction_thop",
        "params_reduction",
        "epochs_after_baseline",
        *ACCURACY,
        *(f"{m}_last" for m in ACCURACY),
    ):
        if f"metrics.{metric}" in runs:
            frame[metric] = runs[f"metrics.{metric}"].to_numpy()
    baseline = frame[frame["stage"] == "baseline"].set_index("seed")
    for metric in ACCURACY:
        if metric in frame and frame[metric].notna().any():
            frame[f"baseline_{metric}"] = frame["seed"].map(baseline[metric])
            if metric != "test_miou":
                frame[f"{metric}_change"] = frame[metric] - frame[f"baseline_{metric}"]
    return frame


def _expected_value(expected: list[dict], stage: str, method: str, target: str, metric: str, convention: str):
    """The paper's number for one cell; the paper's "FLOPs ↓" goes with the count by the
    experiment's counter (`prune.flops_convention`: thop for the paper experiments, as the
    authors counted), not with the other."""
    if metric.startswith("flops_reduction"):
        if metric != ("flops_reduction" if convention == "macs" else f"flops_reduction_{convention}"):
            return None
        metric = "flops_reduction"
    for row in expected:
        if metric.startswith("baseline_") and row["stage"] == "baseline" and row["metric"] == metric[9:]:
            return row
        if (
            row["stage"] == stage
            and row.get("method", "gate_decorator") == method
            and row["metric"] == metric
            and f"{row.get('target', '')}" == target
        ):
            return row
    return None


def comparison(models: pd.DataFrame, expected: list[dict], convention: str = "macs") -> pd.DataFrame:
    """Rows (stage, method, target) of every pruned model; per metric: ours mean/std/n, the
    paper's value and a verdict (FLOPs by `convention`, the experiment's stop counter)."""
    rows = []
    chosen = models[models["stage"] != "baseline"] if not models.empty else models
    groups = chosen.groupby(["stage", "method", "target"], sort=True) if not chosen.empty else []
    for (stage, method, target), group in groups:
        row = {"stage": stage, "method": method, "target": target, "n": group["seed"].nunique()}
        # kept FLOPs as measured on the checkpoints, by the experiment's stop counter (one
        # definition everywhere: the methods table and the README say the same)
        reduction = "flops_reduction" if convention == "macs" else f"flops_reduction_{convention}"
        if reduction in group and not group[reduction].isna().all():
            row.update(stats.summary(1 - group[reduction], "kept_flops"))
        row.update(_speedups(group))
        for metric in COLUMNS:
            if metric not in group or group[metric].isna().all():
                continue
            row.update(stats.summary(group[metric], metric))
            if metric in SIGNED:  # a per-seed difference against the same seed's baseline
                row[f"{metric}_vs"] = stats.verdict(row[f"{metric}_ci_low"], row[f"{metric}_ci_high"], row["n"])
            paper = _expected_value(expected, stage, method, target, metric, convention)
            if paper is not None:
                row[f"{metric}_paper"] = paper["value"]
                row[f"{metric}_verdict"] = (
                    "within" if abs(row[f"{metric}_mean"] - paper["value"]) <= paper["tolerance"] else "outside"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def _speedups(group: pd.DataFrame) -> dict:
    """Mean measured and FLOPs speed-ups over the seeds (gdbench.report.latency.merge), if timed."""
    if "speedup" not in group or group["speedup"].isna().all():
        return {}
    return {"speedup_mean": group["speedup"].mean(), "flops_speedup_mean": group["flops_speedup"].mean()}


def _speed(row) -> str:
    return speed_cell(row.get("speedup_mean", float("nan")), row.get("flops_speedup_mean", float("nan")))


SPEED = "Speed-up measured / by FLOPs"
SIGNED = {"test_top1_change", "test_top5_change"}
NOTE = (
    "Ours: mean ± std over n seeds (the mean alone when n = 1), in %, with the 95 % t-interval of the mean "
    "in brackets; Δ is paired by seed against the same seed's baseline, and says whether its interval is "
    "clear of zero; paper values and verdicts against the experiment's tolerance."
)


def _shown(table: pd.DataFrame) -> list[str]:
    return [m for m in COLUMNS if f"{m}_mean" in table]


def _comparison_cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    metrics = _shown(table)
    timed = "speedup_mean" in table
    header = [
        "Stage",
        "Method",
        "Target",
        "Kept FLOPs",
        *([SPEED] if timed else []),
        "n",
        *(LABELS[m] for m in metrics),
    ]
    rows = [
        [
            row["stage"],
            row["method"],
            row["target"],
            stat_cell(row, "kept_flops") if "kept_flops_mean" in row else "",
            *([_speed(row)] if timed else []),
            str(row["n"]),
            *(_with_verdict(row, m) for m in metrics),
        ]
        for _, row in table.iterrows()
    ]
    return header, rows


def _with_verdict(row, metric: str) -> str:
    text = stat_cell(row, metric, signed=metric in SIGNED)
    verdict = row.get(f"{metric}_vs")
    return f"{text}, {verdict}" if text and isinstance(verdict, str) and verdict else text


def to_markdown(table: pd.DataFrame, title: str) -> str:
    return render.markdown(*_comparison_cells(table), title, f"{NOTE} {FLOPS_NOTE}")


def write_table(table: pd.DataFrame, title: str, out_stem: str | Path) -> list[Path]:
    return render.write(table, *_comparison_cells(table), title, f"{NOTE} {FLOPS_NOTE}", out_stem)


def quoted_rows(paper_csv: str | Path, experiment: str) -> pd.DataFrame:
    """Other methods' numbers as the paper quotes them (results/paper/paper_numbers.csv rows of
    `experiment` that have a flops_reduction and a test_top1_change), as fractions."""
    path = Path(paper_csv)
    if not path.is_file():
        return pd.DataFrame()
    cells = pd.read_csv(path)
    cells = cells[(cells["experiment"] == experiment) & cells["metric"].isin(["flops_reduction", "test_top1_change"])]
    if cells.empty:
        return pd.DataFrame()
    wide = cells.pivot_table(index=["table", "row"], columns="metric", values="value", aggfunc="first")
    if not {"flops_reduction", "test_top1_change"} <= set(wide.columns):
        return pd.DataFrame()
    wide = wide.dropna()
    return pd.DataFrame(
        {
            "method": [row for _, row in wide.index],
            "table": [t for t, _ in wide.index],
            "flops_reduction": wide["flops_reduction"].to_numpy() / 100,
            "test_top1_change": wide["test_top1_change"].to_numpy() / 100,
        }
    )


def _kind(method: str, ablations: dict[str, str]) -> str:
    if method in ablations:
        return f"ablation of {ablations[method]}"
    if method.endswith("_matched"):  # gdbench.pruning.methods: fine-tuned for Gate Decorator's epochs
        return "method, compute-matched to gate_decorator"
    return "method"


FLOPS_BAND = 0.005  # "matched FLOPs": every save point within ±0.5 percentage points of its target
REFERENCE_METHOD = "gate_decorator"  # the methods table's paired differences are against it


def methods_comparison(
    models: pd.DataFrame,
    quoted: pd.DataFrame,
    ablations: dict[str, str],
    metric: str = "test_top1",
    convention: str = "macs",
) -> pd.DataFrame:
    """Every method at every FLOPs target, fine-tuned, side by side: kept FLOPs (measured, by the
    experiment's counter `convention`) and whether every seed's lies within ±0.5 pp of the target,
    accuracy and its change against the same seed's baseline as mean ± std over n seeds, and the
    training epochs spent after the baseline (pruning up to the save point, then fine-tuning, as
    the runs recorded them); each row says where its numbers come from ("run here (n seeds)" or
    "quoted from <paper, table>")."""
    rows = []
    tuned = models[models["stage"] == "finetune"] if not models.empty else models
    change = f"{metric}_change" if f"{metric}_change" in tuned else None
    reduction = "flops_reduction" if convention == "macs" else f"flops_reduction_{convention}"
    if reduction not in tuned:
        reduction = "flops_reduction"
    reference = tuned[tuned["method"] == REFERENCE_METHOD] if not tuned.empty else tuned
    for (method, target), group in tuned.groupby(["method", "target"]) if not tuned.empty else []:
        n = group["seed"].nunique()
        kept = 1 - group[reduction]
        row = {
            "method": method,
            "kind": _kind(method, ablations),
            "target": target,
            "n": n,
            "source": f"run here ({n} seed{'s' if n > 1 else ''})",
            "kept_flops_mean": kept.mean(),
            "in_band": bool((kept - float(target)).abs().le(FLOPS_BAND + 1e-12).all()),
            **stats.summary(group[metric], metric),
            **_speedups(group),
        }
        if "epochs_after_baseline" in group and group["epochs_after_baseline"].notna().any():
            row["epochs_mean"] = group["epochs_after_baseline"].mean()
        if change:
            row.update(stats.summary(group[change], f"{metric}_change"))
        if method != REFERENCE_METHOD:
            same_target = reference[reference["target"] == target].set_index("seed")[metric]
            row.update(stats.paired(group.set_index("seed")[metric], same_target, "vs_reference"))
        rows.append(row)
    for _, quote in quoted.iterrows():
        rows.append(
            {
                "method": quote["method"],
                "kind": "method",
                "target": "",
                "n": 0,
                "source": f"quoted from You et al. 2019, {quote['table']}",
                "kept_flops_mean": 1 - quote["flops_reduction"],
                f"{metric}_change_mean": quote["test_top1_change"],
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(["kind", "target", "method"], kind="stable").reset_index(drop=True) if rows else table


METHODS_NOTE = (
    "Fine-tuned models; % and % points, mean ± std over the seeds run here; Δ against the same seed's baseline. "
    'Kept FLOPs: measured, by the experiment\'s stop counter; "outside ±0.5 pp" flags a row whose kept FLOPs '
    "miss the target by more (not matched). Epochs: training after the baseline (pruning up to the save point, "
    "then fine-tuning), mean over seeds. [...]: 95 % t-interval of the mean over the seeds. vs Gate Decorator: "
    "the paired difference (same seed, same target) with its interval and verdict: better or worse only when "
    "the interval is clear of zero."
)


def _methods_cells(table: pd.DataFrame, metric: str) -> tuple[list[str], list[list[str]]]:
    label = metric.replace("test_", "")
    timed = "speedup_mean" in table
    header = [
        "Method", "Kind", "Target", "Kept FLOPs", "FLOPs band", *([SPEED] if timed else []), label, f"Δ {label}",
        f"{label} vs Gate Decorator", "Epochs", "Source",
    ]  # fmt: skip

    def band(row) -> str:
        if row["n"] == 0:
            return ""
        return "within ±0.5 pp" if row.get("in_band", True) else "outside ±0.5 pp"

    def versus(row) -> str:
        text = stat_cell(row, "vs_reference", signed=True)
        verdict = row.get("vs_reference_verdict")
        return f"{text}, {verdict}" if text and isinstance(verdict, str) else text

    def epochs(row) -> str:
        value = row.get("epochs_mean", float("nan"))
        return "" if pd.isna(value) else f"{value:.1f}"

    rows = [
        [
            row["method"],
            row["kind"],
            row["target"],
            stat_cell(row, "kept_flops"),
            band(row),
            *([_speed(row)] if timed else []),
            stat_cell(row, metric),
            stat_cell(row, f"{metric}_change", signed=True),
            versus(row),
            epochs(row),
            row["source"],
        ]
        for _, row in table.iterrows()
    ]
    return header, rows


def methods_markdown(table: pd.DataFrame, title: str, metric: str = "test_top1") -> str:
    return render.markdown(
        *_methods_cells(table, metric), f"{title}: methods at matched FLOPs", f"{METHODS_NOTE} {FLOPS_NOTE}"
    )


def write_methods_table(table: pd.DataFrame, title: str, out_stem: str | Path, metric: str = "test_top1") -> list[Path]:
    return render.write(
        table,
        *_methods_cells(table, metric),
        f"{title}: methods at matched FLOPs",
        f"{METHODS_NOTE} {FLOPS_NOTE}",
        out_stem,
    )


def headline_rows(
    table: pd.DataFrame, title: str, metric: str, convention: str = "macs", data: str = "real data"
) -> list[str]:
    """README rows (cells) of one experiment: Gate Decorator fine-tuned at each target, ours beside
    the paper's number where the experiment config has one; kept FLOPs by the experiment's stop
    counter (`convention`), named in the cell."""
    rows = []
    if table.empty:
        return rows
    chosen = table[(table["stage"] == "finetune") & (table["method"] == "gate_decorator")]
    for _, row in chosen.iterrows():
        reduction = "flops_reduction" if convention == "macs" else f"flops_reduction_{convention}"
        kept = 1 - row.get(f"{reduction}_mean", float("nan"))
        change = f"{metric}_change" if f"{metric}_change_mean" in row else None
        rows.append(
            [
                title,
                data,
                f"{100 * kept:.1f} % ({'MACs' if convention == 'macs' else convention})",
                stat_cell(row, metric),
                stat_cell(row, change, signed=True) if change else "",
                str(row["n"]),
            ]
        )
    return rows


def headline_markdown(rows: list[list[str]], profile: str) -> str:
    # the paper's number, where there is one, stands in the cell as "(paper …)": no column is the paper's alone
    header = ["experiment", "data", "kept FLOPs", "pruned, fine-tuned", "Δ vs baseline", "seeds"]
    intro = (
        f"Profile `{profile}`, Gate Decorator, mean ± std over the seeds, in %; read from MLflow by the report rule."
    )
    return f"{intro}\n\n" + render.markdown(header, rows)
