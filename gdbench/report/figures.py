"""The paper's figures from MLflow runs: PNG and PDF, labelled axes with units.

Each method has one colour and marker in every figure (`method_styles`: 10 colours × 12 markers,
distinct pairs for the 13+ methods of a run), Gate Decorator black and drawn on top; legends sit
beside the axes and say what the error bars are; footnotes are wrapped to the figure's width.
Each function returns the number of data series it plotted (tests count them).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from gdbench.report.summary import FLOPS_NOTE  # noqa: E402

REFERENCE = "gate_decorator"
MARKERS = "osD^vP<>Xph*"
# a stage's line style and marker fill (a one-point series has no line to tell it by)
STAGE_LOOKS = {
    "finetune": {"linestyle": "-", "fillstyle": "full"},
    "scratch_e": {"linestyle": "--", "fillstyle": "none"},
    "scratch_b": {"linestyle": ":", "fillstyle": "left"},
}
METRIC_NAMES = {"test_top1": "top-1", "test_top5": "top-5", "test_miou": "mIoU"}


def metric_name(metric: str) -> str:
    """'test_miou' -> 'mIoU', as the axes and captions spell it."""
    return METRIC_NAMES.get(metric, metric.removeprefix("test_"))


def _kept_axis(convention: str) -> str:
    return f"kept FLOPs ({'MACs' if convention == 'macs' else convention}, % of the baseline)"


def method_styles(methods) -> dict[str, dict]:
    """matplotlib keyword arguments per method: a tab10 colour and a marker each, so that no two
    methods of a run look alike (10 colours, 12 markers: 60 distinct pairs); Gate Decorator black,
    larger and above every other series."""
    colours = plt.get_cmap("tab10")
    others = sorted(m for m in set(methods) if m != REFERENCE)
    styles = {
        method: {"color": colours(i % 10), "marker": MARKERS[i % len(MARKERS)], "markersize": 6, "zorder": 3}
        for i, method in enumerate(others)
    }
    styles[REFERENCE] = {"color": "black", "marker": "*", "markersize": 12, "zorder": 10, "linewidth": 2.2}
    return styles


def _drawing_order(methods) -> list[str]:
    """Gate Decorator last, so that it is drawn over the others."""
    return sorted(set(methods), key=lambda m: (m == REFERENCE, m))


def _legend(axes, title: str) -> None:
    """Beside the axes (13 methods would cover the data inside them), titled with what the error
    bars are."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=7, title=title, title_fontsize=7, frameon=False)


def _footnote(figure, text: str) -> None:
    """Below the axes, wrapped to the figure's width (the saved file grows to hold it)."""
    width = int(figure.get_figwidth() * 17)  # about 17 characters an inch at 7 pt
    figure.text(0.01, -0.01, textwrap.fill(text, width), fontsize=7, va="top", ha="left", color="#444444")


def _percent_axis(axes) -> None:
    """An accuracy or mIoU in % can be neither below 0 nor above 100, whatever an error bar says."""
    low, high = axes.get_ylim()
    axes.set_ylim(max(0.0, low), min(100.0, high))


def _save(figure, out_stem: str | Path) -> list[Path]:
    stem = Path(out_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    figure.tight_layout()
    for path in paths:
        # tight: the legend beside the axes and the footnote below them are inside the file
        figure.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(figure)
    return paths


def accuracy_vs_flops(
    models: pd.DataFrame, metric: str, title: str, out_stem: str | Path, convention: str = "macs"
) -> int:
    """One line per (stage, method): mean metric against kept FLOPs (by `convention`, the
    experiment's stop counter, as its tables), std over the seeds as error bars; the method's colour
    and marker, the stage's line style; the baseline as a grey star at 100 %."""
    reduction = "flops_reduction" if convention == "macs" else f"flops_reduction_{convention}"
    figure, axes = plt.subplots(figsize=(6.5, 4))
    series = 0
    baseline = models[models["stage"] == "baseline"]
    if not baseline.empty:
        axes.errorbar(
            [100],
            [100 * baseline[metric].mean()],
            yerr=[100 * baseline[metric].std(ddof=0)],
            fmt="*",
            markersize=12,
            color="grey",
            capsize=3,
            clip_on=False,  # a point at 0 % sits on the axis, visible
            label="baseline",
        )
        series += 1
    pruned = models[models["stage"] != "baseline"]
    styles = method_styles(pruned["method"])
    for method in _drawing_order(pruned["method"]):
        for stage, group in pruned[pruned["method"] == method].groupby("stage"):
            kept = group.assign(kept=100 * (1 - group[reduction])).groupby("target")
            points = kept.agg(kept=("kept", "mean"), mean=(metric, "mean"), std=(metric, "std")).sort_values("kept")
            axes.errorbar(
                points["kept"],
                100 * points["mean"],
                yerr=100 * points["std"].fillna(0),
                capsize=3,
                clip_on=False,
                label=f"{method} ({stage})",
                **STAGE_LOOKS.get(stage, {"linestyle": "-."}),
                **styles[method],
            )
            series += 1
    axes.set_xlabel(_kept_axis(convention))
    axes.set_ylabel(f"test {metric_name(metric)} (%)")
    axes.set_title(title)
    _percent_axis(axes)
    _legend(
        axes,
        "error bars: std over the seeds\nfilled, solid: fine-tuned\n"
        "open, dashed: Scratch-E\nhalf-filled, dotted: Scratch-B",
    )
    axes.grid(alpha=0.3)
    _footnote(figure, FLOPS_NOTE)
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
    axes.set_ylim(0, 100)
    if "accuracy" in ticks and ticks["accuracy"].notna().any():
        twin = axes.twinx()
        twin.plot(ticks.index, 100 * ticks["accuracy"], color="tab:orange", label=f"accuracy on the {accuracy_on}")
        twin.set_ylabel(f"accuracy / mIoU, {accuracy_on} (%)", color="tab:orange")
        _percent_axis(twin)
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
    layers.plot(
        positions, [pruned.get(n, 0) for n in names], marker="*", color="black", label="pruned (Gate Decorator)"
    )
    series = 2
    if shrunk:
        layers.plot(positions, [shrunk.get(n, 0) for n in names], marker="s", label="shrunk (uniform)")
        series += 1
    layers.set_xlabel("convolution layer (forward order)")
    layers.set_ylabel("output channels")
    layers.legend(fontsize=8)
    labels = list(accuracies)
    drawn = bars.bar(labels, [100 * accuracies[k] for k in labels], color="tab:grey")
    bars.bar_label(drawn, fmt="%.1f", fontsize=7)  # a bar at 0 is still read as 0, not as missing
    bars.set_ylabel("test top-1 (%)")
    plt.setp(bars.get_xticklabels(), rotation=30, ha="right")
    series += 1
    figure.suptitle(title)
    _save(figure, out_stem)
    return series


def methods_vs_flops(
    table: pd.DataFrame, metric: str, title: str, out_stem: str | Path, convention: str = "macs"
) -> int:
    """Change in accuracy against kept FLOPs, one series per method in its colour and marker
    (fine-tuned models run here, the 95 % t-interval of the mean over the seeds as error bars,
    none for one seed; ablations dashed, compute-matched dotted; numbers quoted from papers as
    open markers): comparable across papers' baselines. Gate Decorator is drawn last, on top."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    series = 0
    change = f"{metric}_change"
    styles = method_styles(table["method"])
    for method in _drawing_order(table["method"]):
        group = table[table["method"] == method]
        style = styles[method]
        here = group[group["n"] > 0].sort_values("kept_flops_mean")
        if not here.empty and f"{change}_mean" in here and here[f"{change}_mean"].notna().any():
            kind = here["kind"].iloc[0]
            mean = here[f"{change}_mean"]
            low = here.get(f"{change}_ci_low", mean).fillna(mean)
            high = here.get(f"{change}_ci_high", mean).fillna(mean)
            axes.errorbar(
                100 * here["kept_flops_mean"],
                100 * mean,
                yerr=[100 * (mean - low), 100 * (high - mean)],
                linestyle="--" if kind.startswith("ablation") else ":" if "compute-matched" in kind else "-",
                capsize=3,
                label=f"{method} (run here)",
                **style,
            )
            series += 1
        quoted = group[group["n"] == 0]
        if not quoted.empty:
            axes.plot(
                100 * quoted["kept_flops_mean"],
                100 * quoted[f"{change}_mean"],
                linestyle="none",
                markerfacecolor="none",
                label=f"{method} (quoted)",
                **{**style, "zorder": style["zorder"] - 1},
            )
            series += 1
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xlabel(_kept_axis(convention))
    axes.set_ylabel(f"Δ test {metric_name(metric)} vs baseline (% points)")
    axes.set_title(f"{title}: methods at matched FLOPs", fontsize=10)
    _legend(
        axes,
        "error bars: 95 % interval of the mean\nover the seeds (none for one seed)\n"
        "dashed: ablations; dotted: compute-matched;\nopen markers: quoted, not run here",
    )
    axes.grid(alpha=0.3)
    _footnote(figure, FLOPS_NOTE)
    _save(figure, out_stem)
    return series
