"""The latency job's measurements in the report: the headline speed-up beside FLOPs ↓ in the
paper and methods tables, and every measurement in the experiment's latency table."""

from __future__ import annotations

import pandas as pd

from gdbench.report import render

KEYS = ["stage", "method", "target", "seed"]


def headline(rows: pd.DataFrame) -> dict:
    """The measurement the tables show: eager at the smallest batch, on the GPU when one was timed,
    else on every CPU thread the job held (the largest thread setting)."""
    eager = rows[rows["runtime"] == "eager"] if (rows["runtime"] == "eager").any() else rows
    device = "cuda" if (eager["device"] == "cuda").any() else "cpu"
    chosen = eager[eager["device"] == device]
    top = str(chosen.loc[chosen["thread_count"].idxmax(), "threads"])  # the most threads the job timed with
    return {"device": device, "runtime": chosen["runtime"].iloc[0], "threads": top, "batch": int(chosen["batch"].min())}


def describe(config: dict, device_name: str = "") -> str:
    threads = (
        "" if config["threads"] == "gpu" else f", {config['threads']} thread{'s' if config['threads'] != '1' else ''}"
    )
    where = device_name or config["device"]
    return f"{config['runtime']} on {where}{threads}, batch {config['batch']}"


def merge(models: pd.DataFrame, rows: pd.DataFrame | None) -> tuple[pd.DataFrame, dict | None]:
    """Each evaluated model (per_seed) with the headline measurement's speed-ups beside it."""
    if rows is None or rows.empty or models.empty:
        return models, None
    config = headline(rows)
    chosen = rows[
        (rows["device"] == config["device"])
        & (rows["runtime"] == config["runtime"])
        & (rows["threads"].astype(str) == config["threads"])
        & (rows["batch"] == config["batch"])
    ]
    columns = [c for c in ("speedup", "flops_speedup", "p50_ms") if c in chosen]
    chosen = chosen[KEYS + columns].astype({"target": str, "seed": int})
    merged = models.astype({"target": str}).merge(chosen, on=KEYS, how="left")
    return merged, config


def speed_cell(measured: float, by_flops: float) -> str:
    """'1.42× / 3.40× (0.42)': measured speed-up, FLOPs speed-up, and the share realised."""
    if pd.isna(measured) or pd.isna(by_flops):
        return ""
    return f"{measured:.2f}× / {by_flops:.2f}× ({measured / by_flops:.2f})"


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """Every measurement, averaged over the seeds: p50/p90/p99 and the speed-ups per model and
    runtime, threads and batch."""
    group = ["stage", "method", "target", "device", "runtime", "threads", "batch"]
    values = [c for c in ("p50_ms", "p90_ms", "p99_ms", "speedup", "flops_speedup") if c in rows]
    frame = rows.astype({"threads": str}).groupby(group, sort=True)[values].mean().reset_index()
    frame["seeds"] = rows.astype({"threads": str}).groupby(group, sort=True)["seed"].nunique().to_numpy()
    return frame


def markdown(frame: pd.DataFrame, title: str, device_name: str) -> str:
    header = ["Stage", "Method", "Target", "Runtime", "Threads", "Batch", "p50 ms", "p90 ms", "p99 ms",
              "Speed-up measured / by FLOPs", "Seeds"]  # fmt: skip
    cells = [
        [
            row["stage"],
            row["method"],
            str(row["target"]),
            row["runtime"],
            str(row["threads"]),
            str(row["batch"]),
            f"{row['p50_ms']:.3f}",
            f"{row['p90_ms']:.3f}",
            f"{row['p99_ms']:.3f}",
            speed_cell(row.get("speedup", float("nan")), row.get("flops_speedup", float("nan"))),
            str(row["seeds"]),
        ]  # fmt: skip
        for _, row in frame.iterrows()
    ]
    note = (
        f"Measured on {device_name} by the DAG's latency job, alone on the machine: per model, p50/p90/p99 of the "
        "per-batch latency over the configured timed runs after a warm-up (MLPerf's order statistics), mean over "
        "the seeds. Speed-up: the same seed's baseline p50 over the model's, same runtime, threads and batch; by "
        "FLOPs: the baseline's conv + linear MACs over the model's; in brackets the share of the FLOPs speed-up "
        "the runtime realises (1 = all of it)."
    )
    return render.markdown(header, cells, f"{title}: latency", note)
