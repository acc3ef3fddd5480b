"""The README's main job: the whole DAG on generated data plus the digits slice on real data, on
CPU, end to end (minutes)."""

import json

from gdbench.track import stage_runs, tracking_uri

from conftest import CONFIGS, job_counts, snakemake


def _test_size(workdir, resolved, name) -> int:
    """Images in the experiment's test split, counted by the test (from the data on disk)."""
    import os

    from gdbench.data.loaders import LoaderConfig
    from gdbench.data.registry import build_loaders

    data = resolved["experiments"][name]["data"]
    root = os.path.join(workdir, resolved["data_root"])
    test = build_loaders(LoaderConfig(data["dataset"], root, workers=0, val_size=data.get("val_size", 5000)))["test"]
    return len(test.labels) if hasattr(test, "labels") else len(test.dataset)


def test_every_experiment_is_evaluated_and_reported(smoke):
    """Each evaluate.json holds what its checkpoints say: FLOPs reductions recomputed here from
    the saved weights, accuracies that are a whole number of test images, every save point
    reached, and a baseline that learnt where the generated data allow it (CUB)."""
    from gdbench.checkpoint import load_checkpoint
    from gdbench.flops import count_flops
    from gdbench.stages import Run

    workdir, _, resolved = smoke
    results = workdir / "results" / "smoke"
    resolved = {**resolved, "results_dir": str(workdir / "results")}
    for name, experiment in resolved["experiments"].items():
        run = Run(resolved, name, "evaluate")
        paths = [p for p in results.rglob("evaluate.json") if p.is_relative_to(results / name)]
        seeds, targets = len(experiment["seeds"]), len(experiment["prune"]["save_flops_ratios"])
        scratched = len(experiment.get("scratch_methods", experiment["methods"]))  # methods trained from scratch too
        assert len(paths) == seeds * (1 + targets * (len(experiment["methods"]) + scratched * len(experiment["scratch"])))
        size = None if run.dataset.segmentation else _test_size(workdir, resolved, name)
        for path in paths:
            row = json.loads(path.read_text())
            model_dir = path.parent.parent / "train"
            seed_dir = next(p for p in path.parents if p.name.startswith("seed"))
            model = run.pruned_model(load_checkpoint(model_dir / "model.pt")["state_dict"])
            baseline_path = results / name / "baseline" / seed_dir.name / "train" / "model.pt"
            baseline = run.pruned_model(load_checkpoint(baseline_path)["state_dict"])
            shape = model.example_input_shape[1:]
            expected = 1 - count_flops(model, shape).flops / count_flops(baseline, shape).flops
            assert abs(row["flops_reduction"] - expected) < 1e-12, path
            if size is not None:
                assert abs(row["test_top1"] * size - round(row["test_top1"] * size)) < 1e-6, path
            else:
                assert 0 <= row["test_miou"] <= 1
        reductions = [json.loads(p.read_text())["flops_reduction"] for p in paths]
        assert max(reductions) >= 1 - min(experiment["prune"]["save_flops_ratios"]) - 1e-9  # reached its target
    cub = [json.loads(p.read_text())["test_top1"] for p in (results / "vgg16m_cub200" / "baseline").rglob("evaluate.json")]
    assert min(cub) > 0.3  # 10 generated bird classes: chance is 0.1, the smoke baseline learns them
    digits = [json.loads(p.read_text())["test_top1"] for p in (results / "resnet14_digits").rglob("evaluate.json")]
    assert min(digits) > 0.5  # real digits: every baseline and pruned model is far above chance (0.1)
    summary = (results / "report" / "summary.md").read_text()
    for name in resolved["experiments"]:
        assert name in summary


def test_every_evaluated_model_has_its_latency_rows_in_the_report(smoke):
    """The latency job timed each evaluated model in every configured setting (issue 16), and the
    report shows them: a latency table per experiment, the speed-up beside FLOPs in its tables."""
    import pandas as pd

    workdir, _, resolved = smoke
    results = workdir / "results" / "smoke"
    for name, experiment in resolved["experiments"].items():
        rows = pd.DataFrame(json.loads((results / name / "latency" / "latency.json").read_text()))
        evaluated = {p.relative_to(results / name).parts[:-2] for p in (results / name).rglob("evaluate/evaluate.json")}
        assert len(evaluated) == len(set(zip(rows["stage"], rows["method"], rows["target"], rows["seed"])))
        settings = experiment["latency"]
        per_model = len(settings["batch_sizes"]) * len(settings["threads"]) * len(settings["runtimes"])
        assert len(rows) == len(evaluated) * per_model
        assert (rows["p50_ms"] <= rows["p90_ms"]).all() and (rows["p90_ms"] <= rows["p99_ms"]).all()
        pruned = rows[rows["stage"] != "baseline"]
        assert pruned["speedup"].notna().all() and (pruned["flops_speedup"] > 1).all()
        assert (results / "report" / "tables" / f"{name}_latency.csv").is_file()
    report = (results / "report" / "report.md").read_text()
    assert "Speed-up measured / by FLOPs" in report and "latency" in report


def test_a_second_run_has_nothing_to_do(smoke):
    workdir, _, _ = smoke
    result = snakemake(workdir, "-n", "--cores", "2", "--configfile", *CONFIGS)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_mlflow_holds_one_run_per_stage_of_every_job(smoke):
    """A prune or latency job logs one run; a training job two (its training and its evaluation)."""
    workdir, result, resolved = smoke
    jobs = job_counts(result.stdout + result.stderr)
    runs_per_job = {"train_baseline": 2, "prune": 1, "finetune": 2, "scratch": 2, "latency": 1}
    uri = tracking_uri(workdir / "results")
    # mlflow.log_at: report: the jobs queued their runs, the report job logged them all
    assert not list((workdir / "results" / "smoke" / "mlflow_queue").glob("*.json"))
    runs = {name: stage_runs(uri, name, "smoke") for name in resolved["experiments"]}
    assert sum(len(r) for r in runs.values()) == sum(jobs[rule] * n for rule, n in runs_per_job.items())
    for frame in runs.values():
        assert frame["tags.gdbench.stage_key"].is_unique  # no duplicates
        assert (frame["tags.mlflow.parentRunId"].nunique()) == 1  # all under the profile's parent run
        assert {"tags.git_revision", "tags.seed", "tags.device", "tags.torch"} <= set(frame.columns)
        assert {"params.run.profile", "params.experiment.train.lr"} <= set(frame.columns)  # the resolved config
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    ids = [client.get_experiment_by_name(name).experiment_id for name in resolved["experiments"]]
    parents = client.search_runs(ids, "tags.`gdbench.role` = 'parent'")
    assert len(parents) == len(ids) and {r.info.status for r in parents} == {"FINISHED"}  # ended with the report
    # the runs of one baseline's lineage, one method's and one model's, by their tags (issue 13)
    frame = runs["resnet14_digits"]
    method = resolved["experiments"]["resnet14_digits"]["methods"][0]
    lineage = frame[frame["tags.gdbench.lineage"] == "resnet14_digits/seed0"]
    assert set(lineage["tags.gdbench.method"]) == {"baseline", *resolved["experiments"]["resnet14_digits"]["methods"]}
    chain = lineage[lineage["tags.gdbench.method"].isin(["baseline", method])]
    kinds = {key.split("/")[0] for key in chain["tags.gdbench.stage_key"]}
    assert kinds == {"train_baseline", "prune", "finetune", "evaluate"}
    finetuned = chain[chain["tags.gdbench.stage_key"].str.startswith("finetune/")].iloc[0]
    model_runs = frame[frame["tags.gdbench.model"] == finetuned["tags.gdbench.model"]]
    assert sorted(key.split("/")[0] for key in model_runs["tags.gdbench.stage_key"]) == ["evaluate", "finetune"]
    # a prune run logs its save points, the checkpoints its fine-tuning starts from
    pruned = chain[chain["tags.gdbench.stage_key"].str.startswith("prune/")].iloc[0]
    logged = {item.path for item in client.list_artifacts(pruned["run_id"])}
    assert "trace.csv" in logged and any(name.endswith(".pt") for name in logged)


def test_report_compares_every_method_and_wraps_into_one_html_file(smoke):
    import pandas as pd

    workdir, _, resolved = smoke
    report = workdir / "results" / "smoke" / "report"
    digits = resolved["experiments"]["resnet14_digits"]
    methods = pd.read_csv(report / "tables" / "resnet14_digits_methods.csv")
    assert set(methods["method"]) == set(digits["methods"])
    assert (methods["source"] == f"run here ({len(digits['seeds'])} seeds)").all()
    others = methods[methods["method"] != "gate_decorator"]
    # every other method is paired with Gate Decorator over the same seeds, with an interval and a verdict
    assert (others["vs_reference_n"] == len(digits["seeds"])).all()
    assert (others["vs_reference_ci_low"] <= others["vs_reference_mean"]).all()
    n = len(digits["seeds"])
    assert others["vs_reference_verdict"].str.match(rf"better|worse|not distinguishable with {n} seeds").all()
    assert "vs Gate Decorator" in (report / "tables" / "resnet14_digits_methods.md").read_text()
    for figure in ("resnet14_digits_methods", "vgg16m_cifar100_channels", "resnet56_cifar10_ticktock"):
        assert (report / "figures" / f"{figure}.png").is_file() and (report / "figures" / f"{figure}.pdf").is_file()
    assert "| Figure 5: VGG-16-M on CIFAR-100 |" in (report / "readme_results.md").read_text()
    html = workdir / "report.html"
    result = snakemake(workdir, "--report", str(html), "--configfile", *CONFIGS)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    text = html.read_text(errors="replace")
    assert "resnet14_digits_methods.png" in text and "resnet56_cifar10.csv" in text
    # its front page points at report.html, which opens on the comparison with provenance per table
    assert "The paper comparison is the first result" in text and "results/smoke/report/report.html" in text
    page = (report / "report.html").read_text()
    assert page.index("<table>") < page.index("<details><summary>Provenance: git ") < page.index("<img")
    assert "generated data (smoke)" in page and 'src="figures/' not in page
