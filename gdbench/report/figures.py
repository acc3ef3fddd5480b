"""The paper's figures from MLflow runs: PNG and PDF, labelled axes with units.

Each function returns the number of data series it plotted (tests count them).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from gdbench.report.summary import FLOPS_NOTE  # noqa: E402


def _save(figure, out_stem: str | Path) -> list[Path]:
    stem = Path(out_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    figure.tight_layout()
    for path in paths:
        figure.savefig(path, dpi=150)
    plt.close(figure)
    return paths


def accuracy_vs_flops(
    models: pd.DataFrame, metric: str, title: str, out_stem: str | Path, convention: str = "macs"
) -> int:
    """One line per (stage, method): mean metric against kept FLOPs (by `convention`, the
    experiment's stop counter, as its tables), std as error bars; the baseline as a star at 100 %."""
    reduction = "flops_reduction" if convention == "macs" else f"flops_reduction_{convention}"
    figure, axes = plt.subplots(figsize=(6, 4))
    series = 0
    baseline = models[models["stage"] == "baseline"]
    if not baseline.empty:
        axes.errorbar(
            [100],
            [100 * baseline[metric].mean()],
            yerr=[100 * baseline[metric].std(ddof=0)],
            fmt="*",
            markersize=12,
            label="baseline",
        )
        series += 1
    for (stage, method), group in models[models["stage"] != "baseline"].groupby(["stage", "method"]):
        kept = group.assign(kept=100 * (1 - group[reduction])).groupby("target")
        points = kept.agg(kept=("kept", "mean"), mean=(metric, "mean"), std=(metric, "std")).sort_values("kept")
        axes.errorbar(
            points["kept"],
            100 * points["mean"],
            yerr=100 * points["std"].fillna(0),
            marker="o",
            capsize=3,
            label=f"{method} ({stage})",
        )
        series += 1
    axes.set_xlabel(f"kept FLOPs ({'MACs' if convention == 'macs' else convention}, % of the baseline)")
    axes.set_ylabel(f"{metric.replace('test_', 'test ')} (%)")
    axes.set_title(title)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.text(0.01, 0.005, FLOPS_NOTE, fontsize=5)
    _save(figure, out_stem)
    return series


def tick_tock_trace(
    trace: pd.DataFrame, title: str, out_stem: str | Path, accuracy_on: str = "validation split"
) -> int:
    """FLOPs ratio (and the accuracy when recorded, measured on `accuracy_on`) over the Ticks;
    Tocks as lines."""
    figure, axes = plt.subplots(figsize=(6, 4))
    ticks = trace.reset_index(drop=True)
    axes.plot(ticks.index, 100 * ticks["flops_ratio"], color="tab:blue", label="kept FLOPs")
    axes.set_xlabel("Tick-Tock step (Ticks and Tocks in order)")
    axes.set_ylabel("kept FLOPs (% of the baseline)", color="tab:blue")
    series = 1
    for index in ticks.index[ticks["phase"] == "tock"]:
        axes.axvline(index, color="grey", alpha=0.4, linestyle="--")
    if "accuracy" in ticks and ticks["accuracy"].notna().any():
        twin = axes.twinx()
        twin.plot(ticks.index, 100 * ticks["accuracy"], color="tab:orange", label=f"accuracy on the {accuracy_on}")
        twin.set_ylabel(f"accuracy / mIoU, {accuracy_on} (%)", color="tab:orange")
        series += 1
    axes.set_title(f"{title} (dashed: Tocks)")
    _save(figure, out_stem)
    return series


def channels_and_accuracy(
    pruned: dict[str, int],
    original: dict[str, int],
    shrunk: dict[str, int] | None,
    accuracies: dict[str, float],
    title: str,
    out_stem: str | Path,
) -> int:
    """Fig. 5: per-layer channels of the pruned (and, once run, the uniformly shrunk) net against
    the original; accuracies of baseline, shrunk, pruned and pruned-from-scratch."""
    figure, (layers, bars) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [2, 1]})
    names = list(original)
    positions = range(len(names))
    layers.plot(positions, [original[n] for n in names], marker=".", label="original")
    layers.plot(positions, [pruned.get(n, 0) for n in names], marker="o", label="pruned (Gate Decorator)")
    series = 2
    if shrunk:
        layers.plot(positions, [shrunk.get(n, 0) for n in names], marker="s", label="shrunk (uniform)")
        series += 1
    layers.set_xlabel("convolution layer (forward order)")
    layers.set_ylabel("output channels")
    layers.legend(fontsize=8)
    labels = list(accuracies)
    bars.bar(labels, [100 * accuracies[k] for k in labels])
    bars.set_ylabel("test top-1 (%)")
    bars.tick_params(axis="x", rotation=30)
    series += 1
    figure.suptitle(title)
    _save(figure, out_stem)
    return series


def methods_vs_flops(table: pd.DataFrame, metric: str, title: str, out_stem: str | Path) -> int:
    """Change in accuracy against kept FLOPs, one series per method (fine-tuned models run here,
    the 95 % t-interval of the mean over the seeds as error bars, none for one seed; quoted
    numbers as open squares; ablations as diamonds): comparable across papers' baselines. Gate
    Decorator is drawn last, on top."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    series = 0
    change = f"{metric}_change"
    methods = sorted(table["method"].unique(), key=lambda m: (m == "gate_decorator", m))
    colours = plt.get_cmap("tab20")
    for index, method in enumerate(methods):
        group = table[table["method"] == method]
        colour = colours(index % 20)
        here = group[group["n"] > 0].sort_values("kept_flops_mean")
        if not here.empty and f"{change}_mean" in here and here[f"{change}_mean"].notna().any():
            ablation = here["kind"].iloc[0].startswith("ablation")
            matched = "compute-matched" in here["kind"].iloc[0]
            mean = here[f"{change}_mean"]
            low = here.get(f"{change}_ci_low", mean).fillna(mean)
            high = here.get(f"{change}_ci_high", mean).fillna(mean)
            axes.errorbar(
                100 * here["kept_flops_mean"],
                100 * mean,
                yerr=[100 * (mean - low), 100 * (high - mean)],
                marker="D" if ablation else "^" if matched else "o",
                markersize=9 if method == "gate_decorator" else 6,
                linestyle="--" if ablation else "-",
                capsize=3,
                color=colour,
                label=f"{method} (run here)",
            )
            series += 1
        quoted = group[group["n"] == 0]
        if not quoted.empty:
            axes.plot(
                100 * quoted["kept_flops_mean"],
                100 * quoted[f"{change}_mean"],
                marker="s",
                linestyle="none",
                markerfacecolor="none",
                color=colour,
                label=f"{method} (quoted)",
            )
            series += 1
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xlabel("kept FLOPs (% of the baseline)")
    axes.set_ylabel(f"Δ {metric.replace('test_', 'test ')} vs baseline (% points)")
    axes.set_title(
        f"{title}: methods, 95 % intervals over the seeds\n(diamonds: ablations; triangles: compute-matched)",
        fontsize=10,
    )
    axes.legend(fontsize=6, ncol=2)
    axes.grid(alpha=0.3)
    figure.text(0.01, 0.005, FLOPS_NOTE, fontsize=5)
    _save(figure, out_stem)
    return series
