"""The README's main job: the whole DAG on generated data, on CPU, end to end (minutes)."""

import json

from gdbench.track import stage_runs, tracking_uri

from conftest import CONFIGS, job_counts, snakemake


def test_every_experiment_is_evaluated_and_reported(smoke):
    workdir, _, resolved = smoke
    results = workdir / "results" / "smoke"
    evaluations = list(results.rglob("evaluate.json"))
    for name, experiment in resolved["experiments"].items():
        mine = [json.loads(p.read_text()) for p in evaluations if p.is_relative_to(results / name)]
        metric = "test_miou" if experiment["data"]["dataset"] == "voc" else "test_top1"
        assert mine and all(0 <= row[metric] <= 1 for row in mine)
        pruned = [row for row in mine if row["flops_reduction"] > 0]
        target = min(experiment["prune"]["save_flops_ratios"])
        assert any(row["flops_reduction"] >= 1 - target - 1e-9 for row in pruned)  # reached its target
    summary = (results / "report" / "summary.md").read_text()
    for name in resolved["experiments"]:
        assert name in summary


def test_a_second_run_has_nothing_to_do(smoke):
    workdir, _, _ = smoke
    result = snakemake(workdir, "-n", "--cores", "2", "--configfile", *CONFIGS)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_mlflow_holds_one_run_per_job(smoke):
    workdir, result, resolved = smoke
    jobs = job_counts(result.stdout + result.stderr)
    logging_rules = ("train_baseline", "prune", "finetune", "scratch", "evaluate", "evaluate_baseline")
    uri = tracking_uri(workdir / "results")
    runs = {name: stage_runs(uri, name, "smoke") for name in resolved["experiments"]}
    assert sum(len(r) for r in runs.values()) == sum(jobs[rule] for rule in logging_rules)
    for frame in runs.values():
        assert frame["tags.gdbench.stage_key"].is_unique  # no duplicates
        assert (frame["tags.mlflow.parentRunId"].nunique()) == 1  # all under the profile's parent run
        assert {"tags.git_revision", "tags.seed", "tags.device", "tags.torch"} <= set(frame.columns)
        assert {"params.run.profile", "params.experiment.train.lr"} <= set(frame.columns)  # the resolved config


def test_report_compares_every_method_and_wraps_into_one_html_file(smoke):
    import pandas as pd

    workdir, _, resolved = smoke
    report = workdir / "results" / "smoke" / "report"
    methods = pd.read_csv(report / "tables" / "vgg16m_cub200_methods.csv")
    assert set(methods["method"]) == set(resolved["experiments"]["vgg16m_cub200"]["methods"])
    assert (methods["source"] == "run here (1 seed)").all()
    ablations = methods[methods["kind"] == "ablation of gate_decorator"]["method"]
    assert set(ablations) == {"gd_one_shot", "gd_no_sparsity", "gd_group_mean", "gd_tick_subset"}
    for figure in ("vgg16m_cub200_methods", "vgg16m_cifar100_channels", "resnet56_cifar10_ticktock"):
        assert (report / "figures" / f"{figure}.png").is_file() and (report / "figures" / f"{figure}.pdf").is_file()
    assert "| Figure 5: VGG-16-M on CIFAR-100 |" in (report / "readme_results.md").read_text()
    html = workdir / "report.html"
    result = snakemake(workdir, "--report", str(html), "--configfile", *CONFIGS)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    text = html.read_text(errors="replace")
    assert "vgg16m_cub200_methods.png" in text and "resnet56_cifar10.csv" in text
