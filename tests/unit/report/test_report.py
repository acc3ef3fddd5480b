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
    {
        "stage": "finetune",
        "target": 0.4,
        "metric": "flops_reduction",
        "value": 0.601,
        "tolerance": 0.01,
        "source": "test",
    },
]


def _evaluation(uri, stage, seed, top1, flops_reduction, target=None, method="gate_decorator", epochs=None):
    method = method if target else "none"
    where = "baseline" if target is None else f"{method}/{target}"
    log_stage(
        uri,
        "resnet56_cifar10",
        "test",
        f"evaluate/{stage}/{where}/seed{seed}",
        params={"seed": seed, "stage": stage, "method": method, "target": "none" if target is None else target},
        metrics={
            "test_top1": top1,
            "test_top5": 0.99,
            "flops_reduction": flops_reduction,
            "flops_reduction_thop": flops_reduction - 0.005,
            "params_reduction": flops_reduction / 2,
            "test_samples": 500,
            **({"epochs_after_baseline": epochs} if epochs is not None else {}),
        },
        tags={"git_revision": "abc123def4567890", "gdbench.settings": "5e771295"},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    init_store(uri, ["resnet56_cifar10"], "test")
    for seed, (base, pruned) in enumerate([(0.90, 0.915), (0.92, 0.925)]):
        _evaluation(uri, "baseline", seed, base, 0.0)
        _evaluation(uri, "finetune", seed, pruned, 0.60, target=0.4, epochs=420.0 + seed)
    for seed, top1 in enumerate([0.88, 0.91]):
        _evaluation(uri, "finetune", seed, top1, 0.58, target=0.4, method="l1_norm")
    _evaluation(uri, "finetune", 0, 0.89, 0.62, target=0.4, method="gd_one_shot")
    log_stage(
        uri,
        "resnet56_cifar10",
        "test",
        "prune/resnet56_cifar10/gd_one_shot/seed0",
        params={"seed": 0, "method": "gd_one_shot", "ablation_of": "gate_decorator"},
        metrics={"steps": 3},
    )
    trace = pd.DataFrame(
        {
            "phase": ["tock", "tick", "tick", "tock", "tick"],
            "flops_ratio": [1, 0.8, 0.6, 0.6, 0.4],
            "accuracy": [0.5, 0.45, 0.44, 0.5, 0.42],
        }
    )
    return uri, trace


def test_table_cells_and_verdicts(store):
    uri, _ = store
    models = tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test"))
    assert "MLFLOW_TRACKING_URI" not in os.environ  # reading runs must not redirect child processes
    table = tables.comparison(models, EXPECTED)
    row = table.set_index(["stage", "method"]).loc[("finetune", "gate_decorator")]
    assert row["n"] == 2
    assert row["test_top1_mean"] == pytest.approx(0.92)
    assert row["test_top1_change_mean"] == pytest.approx(0.01)  # per seed: +0.015 and +0.005
    assert row["test_top1_change_std"] == pytest.approx(0.00707, abs=1e-4)
    assert row["test_top1_verdict"] == "within"  # |0.92 - 0.92| <= 0.005
    assert row["flops_reduction_verdict"] == "within"  # |0.60 - 0.601| <= 0.01
    assert row["baseline_test_top1_mean"] == pytest.approx(0.91)
    assert row["baseline_test_top1_verdict"] == "outside"  # |0.91 - 0.93| > 0.005
    other = table.set_index(["stage", "method"]).loc[("finetune", "l1_norm")]
    assert "test_top1_verdict" not in other or pd.isna(other["test_top1_verdict"])  # the paper's number is GD's


def test_the_paper_s_flops_reduction_is_compared_with_the_experiment_s_counter(store):
    """Under flops_convention thop (the paper experiments) the paper's "FLOPs ↓" goes with the
    thop count; the MACs count is shown beside it, without a verdict."""
    uri, _ = store
    models = tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test"))
    row = tables.comparison(models, EXPECTED, "thop").set_index(["stage", "method"]).loc[("finetune", "gate_decorator")]
    assert row["flops_reduction_thop_mean"] == pytest.approx(0.595)
    assert row["flops_reduction_thop_paper"] == 0.601 and row["flops_reduction_thop_verdict"] == "within"
    assert row["flops_reduction_mean"] == pytest.approx(0.60)
    assert "flops_reduction_verdict" not in row or pd.isna(row["flops_reduction_verdict"])
    markdown = tables.to_markdown(tables.comparison(models, EXPECTED, "thop"), "t")
    assert "FLOPs ↓ (thop)" in markdown and "FLOPs ↓ (MACs)" in markdown


def test_methods_comparison_labels_every_row_with_its_source(store, tmp_path):
    uri, _ = store
    models = tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test"))
    paper = tmp_path / "paper.csv"
    paper.write_text(
        "experiment,table,row,metric,value,unit,provenance,status\n"
        "resnet56_cifar10,Table 1,L1 (Li et al.),test_top1_change,0.02,% points,test,unverified\n"
        "resnet56_cifar10,Table 1,L1 (Li et al.),flops_reduction,27.6,%,test,unverified\n"
        "resnet56_cifar10,Table 1,GBN-40,test_top1,93.43,%,test,unverified\n"
    )
    quoted = tables.quoted_rows(paper, "resnet56_cifar10")
    assert list(quoted["method"]) == ["L1 (Li et al.)"]  # rows with both numbers only
    table = tables.methods_comparison(models, quoted, {"gd_one_shot": "gate_decorator"})
    rows = table.set_index("method")
    assert rows.loc["gate_decorator", "source"] == "run here (2 seeds)"
    assert rows.loc["l1_norm", "test_top1_change_mean"] == pytest.approx(-0.015)  # -0.02 and -0.01 per seed
    assert rows.loc["l1_norm", "kept_flops_mean"] == pytest.approx(0.42)
    assert rows.loc["gd_one_shot", "source"] == "run here (1 seed)"
    assert rows.loc["gd_one_shot", "kind"] == "ablation of gate_decorator"
    assert rows.loc["L1 (Li et al.)", "source"] == "quoted from You et al. 2019, Table 1"
    assert rows.loc["L1 (Li et al.)", "kept_flops_mean"] == pytest.approx(0.724)
    markdown = tables.methods_markdown(table, "Table 1")
    # 95 % t-intervals with 2 seeds: mean ± t(0.975, 1) · std / √2, t(0.975, 1) = 12.706 (tables);
    # l1_norm: top-1 0.88, 0.91; Δ -0.02, -0.01; against Gate Decorator (0.915, 0.925): -0.035, -0.015
    assert (
        "| l1_norm | method | 0.4 | 42.00 | outside ±0.5 pp | 89.50 ± 2.12 [70.44, 108.56] "
        "| -1.50 ± 0.71 [-7.85, +4.85] | -2.50 ± 1.41 [-15.21, +10.21], not distinguishable with 2 seeds "
        "|  | run here (2 seeds) |" in markdown
    )
    assert (
        "| gd_one_shot | ablation of gate_decorator | 0.4 | 38.00 | outside ±0.5 pp | 89.00 | -1.00 "
        "| -2.50, one seed: no verdict |  | run here (1 seed) |" in markdown
    )
    # kept FLOPs 40.00 meets the target; the epochs column is the runs' own record (420 and 421)
    assert (
        "| gate_decorator | method | 0.4 | 40.00 | within ±0.5 pp | 92.00 ± 0.71 [85.65, 98.35] "
        "| +1.00 ± 0.71 [-5.35, +7.35] |  | 420.5 |" in markdown
    )
    assert "± 0.00" not in markdown  # one seed shows its number alone, in every table
    assert figures.methods_vs_flops(table, "test_top1", "t", tmp_path / "methods") == 4  # 3 run here + 1 quoted
    latex = tables.write_methods_table(table, "Table 1", tmp_path / "methods")[2].read_text()
    assert (
        r"l1\_norm & method & 0.4 & 42.00 & outside $\pm$0.5 pp & 89.50 $\pm$ 2.12 [70.44, 108.56] & -1.50 $\pm$ 0.71 "
        r"[-7.85, +4.85] & -2.50 $\pm$ 1.41 [-15.21, +10.21], not distinguishable with 2 seeds &  & run here" in latex
    )
    assert "---" not in latex


def test_markdown_and_latex_show_ours_beside_the_paper(store, tmp_path):
    uri, _ = store
    table = tables.comparison(tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test")), EXPECTED)
    paths = tables.write_table(table, "Table 1", tmp_path / "table1")
    markdown = paths[0].read_text()
    assert "92.00 ± 0.71 [85.65, 98.35] (paper 92.00, within)" in markdown
    assert (
        "| finetune | gd_one_shot | 0.4 | 38.00 | 1 | 62.00 |" in markdown
    )  # kept FLOPs measured; one seed: no "± 0.00"
    assert "multiply-accumulates" in markdown  # the FLOPs convention under every table
    assert r"$\pm$" in paths[2].read_text() and pd.read_csv(paths[1]).shape[0] == 3


def test_figures_have_their_series(store, tmp_path):
    uri, trace = store
    models = tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test"))
    assert figures.accuracy_vs_flops(models, "test_top1", "t", tmp_path / "acc") == 4  # baseline + 3 methods
    assert figures.tick_tock_trace(trace, "t", tmp_path / "trace") == 2  # FLOPs + accuracy
    assert (
        figures.channels_and_accuracy(
            {"a": 3, "b": 5}, {"a": 8, "b": 8}, None, {"baseline": 0.9}, "t", tmp_path / "channels"
        )
        == 3
    )
    for stem in ("acc", "trace", "channels"):
        for suffix in (".png", ".pdf"):
            assert (tmp_path / f"{stem}{suffix}").stat().st_size > 1000


def test_build_report_writes_everything_from_mlflow(store, tmp_path):
    uri, _ = store
    resolved = {
        "profile": "test",
        "experiments": {"resnet56_cifar10": {"expected": EXPECTED, "data": {"dataset": "cifar10"}}},
    }
    report = build_report(uri, resolved, tmp_path)
    text = report.read_text()
    assert "Table 1: ResNet-56 on CIFAR-10" in text and "figures/resnet56_cifar10_accuracy_vs_flops.png" in text
    assert (tmp_path / "tables" / "resnet56_cifar10.tex").is_file()
    assert (tmp_path / "summary.md").is_file()
    assert "methods at matched FLOPs" in text and (tmp_path / "figures" / "resnet56_cifar10_methods.png").is_file()
    assert "| gd_one_shot | ablation of gate_decorator |" in text  # read from the prune run's params


def test_the_html_report_opens_on_the_comparison_with_provenance_under_each_table(store, tmp_path):
    import json
    import re

    uri, _ = store
    resolved = {
        "profile": "test",
        "experiments": {"resnet56_cifar10": {"expected": EXPECTED, "data": {"dataset": "cifar10"}}},
    }
    build_report(uri, resolved, tmp_path)
    page = (tmp_path / "report.html").read_text()
    body = page[page.index("<body>") :]
    # the paper comparison first: the first table and its provenance come before any figure
    assert body.index("<table>") < body.index("<details>") < body.index("<img")
    assert "Table 1: ResNet-56 on CIFAR-10" in body[: body.index("<table>") + 2000]
    assert 'src="figures/' not in page  # one file: both figures (accuracy, methods) inlined
    assert page.count('src="data:image/png;base64,') == 2
    evaluations = stage_runs(uri, "resnet56_cifar10", "test")
    evaluations = evaluations[evaluations["tags.gdbench.stage_key"].str.startswith("evaluate/")]
    record = json.loads((tmp_path / "tables" / "resnet56_cifar10_provenance.json").read_text())
    assert record["mlflow_runs"] == sorted(evaluations["run_id"]) and record["seeds"] == [0, 1]
    summary = re.findall(r"<summary>(.*?)</summary>", page)
    assert len(summary) == 2  # under the paper table and under the methods table
    assert summary[0] == (
        "Provenance: git abc123def456; job settings 5e771295; seeds 0, 1; test set 500 samples; "
        f"{len(evaluations)} MLflow evaluation runs"
    )
    assert all(run_id in page for run_id in evaluations["run_id"])
    assert page.count("<p><em>") == 2  # each figure has its caption


def test_figures_give_each_of_13_methods_its_own_look_and_draw_gate_decorator_on_top(monkeypatch, tmp_path):
    """13 methods (more than matplotlib's 10 default colours): no two share colour and marker;
    Gate Decorator is drawn last and highest; an mIoU axis does not go below 0 whatever the error
    bars say; the legend says what the error bars are."""
    methods = ["gate_decorator", *(f"method_{i:02d}" for i in range(12))]
    styles = figures.method_styles(methods)
    assert len({(str(style["color"]), style["marker"]) for style in styles.values()}) == 13
    rows = []
    for index, method in enumerate(methods):
        for seed in (0, 1):
            rows.append(
                {
                    "stage": "finetune",
                    "method": method,
                    "target": "0.5",
                    "seed": seed,
                    "flops_reduction": 0.5,
                    "test_miou": 0.005 + 0.09 * seed + index / 1000,
                }
            )
    rows += [
        {"stage": "baseline", "method": "none", "target": "none", "seed": s, "flops_reduction": 0.0, "test_miou": 0.05}
        for s in (0, 1)
    ]
    drawn, seen = [], {}
    original = figures.plt.Axes.errorbar

    def errorbar(self, *args, **kwargs):
        drawn.append((kwargs.get("label"), kwargs.get("zorder", 2)))
        return original(self, *args, **kwargs)

    def keep(figure, out_stem):
        axes = figure.axes[0]
        seen.update(ylim=axes.get_ylim(), legend=axes.get_legend().get_title().get_text())
        figures.plt.close(figure)

    monkeypatch.setattr(figures.plt.Axes, "errorbar", errorbar)
    monkeypatch.setattr(figures, "_save", keep)
    assert figures.accuracy_vs_flops(pd.DataFrame(rows), "test_miou", "t", tmp_path / "miou") == 14
    assert drawn[-1][0] == "gate_decorator (finetune)"
    assert drawn[-1][1] == max(order for _, order in drawn)
    assert seen["ylim"][0] == 0.0  # the seed-spread error bars reach below 0 %
    assert "error bars: std over the seeds" in seen["legend"]


def test_readme_results_table_comes_from_the_report(store, tmp_path):
    import importlib.util
    from pathlib import Path

    uri, _ = store
    resolved = {
        "profile": "test",
        "experiments": {"resnet56_cifar10": {"expected": EXPECTED, "data": {"dataset": "cifar10"}}},
    }
    build_report(uri, resolved, tmp_path / "results" / "test" / "report")
    block = (tmp_path / "results" / "test" / "report" / "readme_results.md").read_text()
    assert (
        "| Table 1: ResNet-56 on CIFAR-10 | real data | 40.0 % (MACs) "
        "| 92.00 ± 0.71 [85.65, 98.35] (paper 92.00, within) "
        "| +1.00 ± 0.71 [-5.35, +7.35] | 2 |" in block
    )
    script = Path(__file__).resolve().parents[3] / "scripts" / "readme_results.py"
    spec = importlib.util.spec_from_file_location("readme_results", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- results:begin -->\nold\n<!-- results:end -->\nafter\n")
    assert module.main(["test", "--readme", str(readme), "--results", str(tmp_path / "results")]) == 0
    assert readme.read_text() == f"# x\n<!-- results:begin -->\n{block.rstrip()}\n<!-- results:end -->\nafter\n"


def test_the_accuracy_figure_counts_kept_flops_as_the_tables_do(store, monkeypatch, tmp_path):
    """One definition of kept FLOPs: under flops_convention thop the figure's x is the thop count
    (the test store's thop reductions are its MACs ones less 0.5 pp)."""
    uri, _ = store
    models = tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test"))
    drawn = {}
    original = figures.plt.Axes.errorbar

    def errorbar(self, x, y, yerr=None, **kwargs):
        drawn[kwargs["label"]] = list(x)
        return original(self, x, y, yerr=yerr, **kwargs)

    monkeypatch.setattr(figures.plt.Axes, "errorbar", errorbar)
    for convention in ("macs", "thop"):
        figures.accuracy_vs_flops(models, "test_top1", "t", tmp_path / convention, convention)
        drawn[convention] = drawn.pop("gd_one_shot (finetune)")
    assert drawn["macs"] == pytest.approx([38.0]) and drawn["thop"] == pytest.approx([38.5])


def test_numbers_from_generated_data_say_so_and_never_stand_beside_the_paper_s(store, tmp_path):
    uri, _ = store
    paper = tmp_path / "results" / "paper" / "paper_numbers.csv"
    paper.parent.mkdir(parents=True)
    paper.write_text(
        "experiment,table,row,metric,value,source\n"
        "resnet56_cifar10,Table 1,L1 (Li et al.),flops_reduction,27.6,p\n"
        "resnet56_cifar10,Table 1,L1 (Li et al.),test_top1_change,0.02,p\n"
    )
    experiment = {"expected": EXPECTED, "data": {"dataset": "cifar10"}}
    for synthetic, out in ((False, "real"), (True, "smoke")):
        resolved = {
            "profile": "test",
            "synthetic_data": synthetic,
            "results_dir": str(tmp_path / "results"),
            "experiments": {"resnet56_cifar10": experiment},
        }
        build_report(uri, resolved, tmp_path / out)
    real, smoke = ((tmp_path / out / "report.md").read_text() for out in ("real", "smoke"))
    assert "(paper 92.00, within)" in real and "L1 (Li et al.)" in real  # the paper's numbers and its quoted rows
    assert "Table 1: ResNet-56 on CIFAR-10, generated data (smoke)" in smoke
    assert "(paper" not in smoke and "L1 (Li et al.)" not in smoke
    methods = pd.read_csv(tmp_path / "smoke" / "tables" / "resnet56_cifar10_methods.csv")
    assert (methods["source"].str.startswith("run here")).all()  # nothing quoted in its figure either
    headline = (tmp_path / "smoke" / "readme_results.md").read_text()
    assert "| Table 1: ResNet-56 on CIFAR-10 | generated data (smoke) | 40.0 % (MACs) | 92.00 ± 0.71" in headline


def test_methods_figure_draws_the_95_percent_intervals(store, monkeypatch, tmp_path):
    uri, _ = store
    table = tables.methods_comparison(tables.per_seed(stage_runs(uri, "resnet56_cifar10", "test")), pd.DataFrame(), {})
    drawn = {}
    original = figures.plt.Axes.errorbar

    def errorbar(self, x, y, yerr=None, **kwargs):
        drawn[kwargs["label"]] = (list(y), [list(side) for side in yerr])
        return original(self, x, y, yerr=yerr, **kwargs)

    monkeypatch.setattr(figures.plt.Axes, "errorbar", errorbar)
    figures.methods_vs_flops(table, "test_top1", "t", tmp_path / "methods")
    means, (below, above) = drawn["l1_norm (run here)"]
    half = 100 * 12.7062 * 0.005  # Δ -0.02, -0.01: std 0.0071, t(0.975, 1) · std / √2
    assert means == pytest.approx([-1.5]) and below == pytest.approx([half], abs=1e-3)
    assert above == pytest.approx([half], abs=1e-3)
    assert drawn["gd_one_shot (run here)"][1] == [[0.0], [0.0]]  # one seed: no interval


def test_the_report_leaves_out_methods_and_seeds_the_config_no_longer_asks_for(store, tmp_path):
    uri, _ = store
    resolved = {
        "profile": "test",
        "experiments": {
            "resnet56_cifar10": {
                "expected": [],
                "data": {"dataset": "cifar10"},
                "methods": ["gate_decorator", "l1_norm"],  # gd_one_shot was dropped
                "seeds": [0, 1],
            }
        },
    }
    build_report(uri, resolved, tmp_path / "report")
    methods = pd.read_csv(tmp_path / "report" / "tables" / "resnet56_cifar10_methods.csv")
    assert set(methods["method"]) == {"gate_decorator", "l1_norm"}
    resolved["experiments"]["resnet56_cifar10"]["seeds"] = [1]
    build_report(uri, resolved, tmp_path / "one")
    table = pd.read_csv(tmp_path / "one" / "tables" / "resnet56_cifar10.csv")
    assert set(table["n"]) == {1}
