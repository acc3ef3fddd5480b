"""The whole report of a run: summary, one table and its figures per paper experiment, all read
back from MLflow (`snakemake report` regenerates it without retraining)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from gdbench.data.registry import dataset
from gdbench.report import figures, provenance, tables
from gdbench.report import latency as latency_report
from gdbench.report.html import write_html
from gdbench.report.summary import write_summary
from gdbench.track import download_artifact, stage_runs

TITLES = {
    "resnet56_cifar10": "Table 1: ResNet-56 on CIFAR-10",
    "resnet50_imagenet": "Table 2: ResNet-50 on ImageNet",
    "vgg16m_cub200": "Figure 4: VGG-16-M on CUB-200",
    "vgg16m_cifar100": "Figure 5: VGG-16-M on CIFAR-100",
    "fcn8s_voc": "FCN-8s on VOC 2011 + SBD",
    "resnet14_digits": "ResNet-14 on digits (real data)",
    "vgg6_digits": "VGG-6 on digits (real data)",
}
GENERATED = "generated data (smoke)"


def _configured(runs: pd.DataFrame, experiment: dict) -> pd.DataFrame:
    """The runs of what the experiment configures now: its baselines and its methods' jobs, on its
    seeds. A method or seed dropped from the config leaves its runs in MLflow; they must not
    stand in a table beside the ones the config asks for."""
    if runs.empty:
        return runs
    keep = pd.Series(True, index=runs.index)
    if "params.method" in runs and "methods" in experiment:
        keep &= runs["params.method"].fillna("none").isin({"none", *experiment["methods"]})
    if "params.seed" in runs and "seeds" in experiment:
        keep &= runs["params.seed"].fillna("-1").astype(str).isin({str(s) for s in experiment["seeds"]} | {"-1"})
    return runs[keep]


def _runs_with_prefix(runs: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return runs[runs["tags.gdbench.stage_key"].str.startswith(prefix)] if not runs.empty else runs


def _artifact_json(uri: str, run_id: str, name: str) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = download_artifact(uri, run_id, name, tmp)
        return json.loads(path.read_text()) if path is not None else None


def _trace(uri: str, runs: pd.DataFrame) -> pd.DataFrame | None:
    """The Tick-Tock trace of Gate Decorator's first seed."""
    prunes = _runs_with_prefix(runs, "prune/").sort_values("tags.gdbench.stage_key")
    if not prunes.empty and "params.method" in prunes:
        prunes = prunes[prunes["params.method"] == "gate_decorator"]
    if prunes.empty:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = download_artifact(uri, prunes.iloc[0]["run_id"], "trace.csv", tmp)
        return pd.read_csv(path) if path is not None else None


def _channels_figure(uri: str, name: str, title: str, evals: pd.DataFrame, models: pd.DataFrame, out: Path) -> bool:
    """Fig. 5: channels per layer of the Gate Decorator net and the uniformly shrunk one (seed 0),
    with the accuracies of baseline, shrunk (from scratch), pruned and pruned-from-scratch."""
    seed0 = evals[evals["params.seed"] == "0"]

    def architecture(stage: str, method: str) -> dict | None:
        chosen = seed0[(seed0["params.stage"] == stage) & (seed0["params.method"] == method)]
        return _artifact_json(uri, chosen.iloc[0]["run_id"], "architecture.json") if not chosen.empty else None

    pruned, original = architecture("finetune", "gate_decorator"), architecture("baseline", "none")
    if pruned is None or original is None:
        return False
    shrunk = architecture("finetune", "uniform_shrink")
    accuracies = {"baseline": models[models["stage"] == "baseline"]["test_top1"].mean()}
    for stage, method, label in (
        ("scratch_e", "uniform_shrink", "shrunk, from scratch"),
        ("finetune", "gate_decorator", "pruned"),
        ("scratch_e", "gate_decorator", "pruned, from scratch"),
    ):
        chosen = models[(models["stage"] == stage) & (models["method"] == method)]
        if not chosen.empty:
            accuracies[label] = chosen["test_top1"].mean()
    figures.channels_and_accuracy(pruned, original, shrunk, accuracies, title, out / f"{name}_channels")
    return True


def _latency(uri: str, runs: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """The latency job's measurements (its latency.json) and the device it named."""
    timed = _runs_with_prefix(runs, "latency/")
    if timed.empty:
        return None, ""
    with tempfile.TemporaryDirectory() as tmp:
        path = download_artifact(uri, timed.iloc[0]["run_id"], "latency.json", tmp)
        rows = pd.DataFrame(json.loads(path.read_text())) if path is not None else None
    return rows, str(timed.iloc[0].get("params.device_name", ""))


def _ablations(runs: pd.DataFrame) -> dict[str, str]:
    """Method -> the method it ablates, as the prune runs logged it."""
    prunes = _runs_with_prefix(runs, "prune/")
    if prunes.empty or "params.ablation_of" not in prunes:
        return {}
    return {
        m: a
        for m, a in zip(prunes["params.method"], prunes["params.ablation_of"])
        if isinstance(a, str) and a != "none"
    }


def _methods_section(
    name: str,
    title: str,
    models: pd.DataFrame,
    ablations: dict[str, str],
    paper_csv: Path | None,
    metric: str,
    out: Path,
    convention: str = "macs",
    origin: str = "",
) -> list[str]:
    """The comparison of methods at matched FLOPs, when more than one method ran or the paper
    quotes others (`paper_csv` None: no quoted rows, for runs on generated data)."""
    quoted = tables.quoted_rows(paper_csv, name) if metric == "test_top1" and paper_csv else pd.DataFrame()
    tuned = models[models["stage"] == "finetune"]
    if tuned["method"].nunique() < 2 and quoted.empty:
        return []
    table = tables.methods_comparison(models, quoted, ablations, metric, convention)
    tables.write_methods_table(table, title, out / "tables" / f"{name}_methods", metric)
    figures.methods_vs_flops(table, metric, title, out / "figures" / f"{name}_methods", convention)
    return [
        tables.methods_markdown(table, title, metric),
        "",
        origin,
        "",
        f"![{title}: methods at matched FLOPs](figures/{name}_methods.png)",
        "",
        f"*{title}: the change in test {figures.metric_name(metric)} against the same seed's baseline, against kept "
        "FLOPs; one colour and marker per method, Gate Decorator drawn on top; error bars: the 95 % "
        "t-interval of the mean over the seeds (none for one seed); open squares: numbers quoted from "
        "other papers, never run here; diamonds: ablations; triangles: compute-matched.*",
        "",
    ]


def build_report(uri: str, resolved: dict, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    profile, experiments = resolved["profile"], resolved["experiments"]
    paper_csv = Path(resolved.get("results_dir", "results")) / "paper" / "paper_numbers.csv"
    write_summary(uri, list(experiments), profile, out)
    lines = [
        f"# gdbench report: {profile}",
        "",
        "Every number below is read from MLflow runs; under each table, its provenance (git revision, "
        "the hash of the job settings, seeds, test-set size and the MLflow runs it was read from).",
        "",
    ]
    headline = []
    for name, experiment in experiments.items():
        runs = _configured(stage_runs(uri, name, profile), experiment)
        evals = _runs_with_prefix(runs, "evaluate/")
        models = tables.per_seed(evals)
        if models.empty:
            continue
        timings, device_name = _latency(uri, runs)
        models, headline_speed = latency_report.merge(models, timings)
        spec = dataset(experiment["data"]["dataset"])
        generated = bool(resolved.get("synthetic_data")) and spec.generated_when_synthetic
        # a number from generated data never wears a paper name alone, nor stands beside the paper's
        data = GENERATED if generated else "real data"
        title = f"{TITLES.get(name, name)}, {GENERATED}" if generated else TITLES.get(name, name)
        heading = f"{title} ({tables.PROTOCOL_NOTES[experiment['data'].get('protocol', 'paper')]})"
        convention = experiment.get("prune", {}).get("flops_convention", "macs")
        table = tables.comparison(models, [] if generated else experiment["expected"], convention)
        tables.write_table(table, heading, out / "tables" / name)
        origin = provenance.provenance(evals)
        provenance.write(origin, out / "tables" / f"{name}_provenance.json")
        origin_md = provenance.markdown(origin)
        lines += [tables.to_markdown(table, heading), ""]
        if headline_speed is not None:
            lines += [
                f"Speed-up: {latency_report.describe(headline_speed, device_name)}; every runtime, thread "
                f"count and batch in the latency table below.",
                "",
            ]
        lines += [origin_md, ""]
        metric = f"test_{spec.metric}"
        headline += tables.headline_rows(table, TITLES.get(name, name), metric, convention, data)
        figures.accuracy_vs_flops(models, metric, title, out / "figures" / f"{name}_accuracy_vs_flops", convention)
        lines += [
            f"![{title}: accuracy against FLOPs](figures/{name}_accuracy_vs_flops.png)",
            "",
            f"*{title}: test {figures.metric_name(metric)} against kept FLOPs (measured), one line per method and "
            "stage; error bars: the standard deviation over the seeds; the star: the baseline.*",
            "",
        ]
        trace = _trace(uri, runs)
        if trace is not None:
            # what stages.prune measured the trace's accuracy on (never used to select)
            paper = experiment["data"].get("protocol", "paper") == "paper"
            accuracy_on = "training subset" if paper else "validation split"
            figures.tick_tock_trace(trace, f"{title}: Tick-Tock", out / "figures" / f"{name}_ticktock", accuracy_on)
            lines += [
                f"![{title}: Tick-Tock trace](figures/{name}_ticktock.png)",
                "",
                f"*{title}: Gate Decorator's Tick-Tock run (first seed): kept FLOPs and the accuracy on the "
                f"{accuracy_on} after each step; dashed lines: Tocks.*",
                "",
            ]
        if name == "vgg16m_cifar100" and _channels_figure(uri, name, title, evals, models, out / "figures"):
            lines += [
                f"![{title}: channels per layer](figures/{name}_channels.png)",
                "",
                f"*{title} (paper fig. 5): output channels per convolution of the original, the Gate "
                "Decorator-pruned and the uniformly shrunk network (seed 0), and their test top-1.*",
                "",
            ]
        lines.append("")
        quoted = paper_csv if not generated else None
        lines += _methods_section(name, title, models, _ablations(runs), quoted, metric, out, convention, origin_md)
        if timings is not None:
            frame = latency_report.table(timings)
            frame.to_csv(out / "tables" / f"{name}_latency.csv", index=False)
            lines += [latency_report.markdown(frame, title, device_name or "this machine"), ""]
    # The README's results table (scripts/readme_results.py copies it there)
    (out / "readme_results.md").write_text(tables.headline_markdown(headline, profile))
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    write_html(report, out / "report.html", f"gdbench report: {profile}")
    return report
