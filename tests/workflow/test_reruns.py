"""Exact reruns on the finished smoke DAG: a job reruns when, and only when, a setting it reads
changes (issue 11). Each case is a dry run with one edit laid over the smoke config; the jobs
Snakemake plans, and why, are read off its output."""

import re

from conftest import CONFIGS, snakemake


def _planned(workdir, edit: str, tmp_path) -> list[dict]:
    """The jobs a dry run plans with `edit` (YAML) laid over the smoke config: rule, output, reason."""
    extra = tmp_path / "edit.yaml"
    extra.write_text(edit)
    result = snakemake(workdir, "-n", "--cores", "2", "--configfile", *CONFIGS, str(extra))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    jobs = []
    for block in re.split(r"\n(?=rule |localrule )", output)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        out = re.search(r"^\s+output: (.*)$", block, re.M)
        reason = re.search(r"^\s+reason: (.*)$", block, re.M)
        jobs.append({"rule": rule, "output": out.group(1) if out else "", "reason": reason.group(1) if reason else ""})
    return jobs


def _smoke_override(experiment: str, text: str) -> str:
    """An edit of one experiment; Snakemake merges config files key by key, so it lands on top
    of smoke.yaml's own overrides of that experiment."""
    return f"overrides:\n  {experiment}: {{{text}}}\n"


def _rules(jobs) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["rule"]] = counts.get(job["rule"], 0) + 1
    return counts


EXPERIMENT = "resnet56_cifar10"  # suite: seed 0; gate_decorator; save point 0.5; Scratch-B
LATENCY = f"results/smoke/{EXPERIMENT}/latency/latency.json"  # the experiment's latency job: its models changed


def _downstream(job) -> bool:
    """The report, and the latency job of the edited experiment (it times every evaluated model)."""
    return job["rule"] in ("report", "all") or (job["rule"] == "latency" and job["output"] == LATENCY)


def test_adding_a_seed_reruns_no_existing_job(smoke, tmp_path):
    workdir, _, _ = smoke
    jobs = _planned(workdir, _smoke_override(EXPERIMENT, "seeds: [0, 2]"), tmp_path)
    for job in jobs:
        if _downstream(job):
            continue  # the report and the latency job gain the new seed's evaluations
        assert "seed2" in job["output"] and job["reason"].startswith("Missing output files"), job
    # seed 2 alone: its baseline, one prune, the save point, its fine-tune and Scratch-B (each evaluates its model)
    assert _rules(jobs) == {"train_baseline": 1, "prune": 1, "save_point": 1, "finetune": 1, "scratch": 1,
                            "latency": 1, "report": 1, "all": 1}


def test_editing_expected_reruns_only_the_report(smoke, tmp_path):
    workdir, _, _ = smoke
    edit = _smoke_override(EXPERIMENT, "expected: [{stage: baseline, metric: test_top1, value: 0.5, "
                                       "tolerance: 0.5, source: 'a test'}]")
    jobs = _planned(workdir, edit, tmp_path)
    assert _rules(jobs) == {"report": 1, "all": 1}
    assert "Params have changed" in next(j for j in jobs if j["rule"] == "report")["reason"]


def test_editing_finetune_reruns_finetune_its_evaluations_and_the_report(smoke, tmp_path):
    """(A finetune job evaluates the model it makes, so its evaluation reruns with it; the latency job
    of the experiment times the new models.)"""
    workdir, _, resolved = smoke
    jobs = _planned(workdir, _smoke_override(EXPERIMENT, "finetune: {epochs: 2}"), tmp_path)
    experiment = resolved["experiments"][EXPERIMENT]
    tuned = len(experiment["seeds"]) * len(experiment["prune"]["save_flops_ratios"])
    assert _rules(jobs) == {"finetune": tuned, "latency": 1, "report": 1, "all": 1}
    assert next(j for j in jobs if j["rule"] == "latency")["output"] == LATENCY  # the edited experiment's only
    assert all(f"/{EXPERIMENT}/" in j["output"] and "/finetune/" in j["output"] for j in jobs if j["rule"] == "finetune")
    assert all("Params have changed" in j["reason"] for j in jobs if j["rule"] == "finetune")


def test_editing_train_reruns_everything_downstream_of_training(smoke, tmp_path):
    workdir, _, resolved = smoke
    jobs = _planned(workdir, _smoke_override(EXPERIMENT, "train: {epochs: 3}"), tmp_path)
    experiment = resolved["experiments"][EXPERIMENT]
    seeds, targets = len(experiment["seeds"]), len(experiment["prune"]["save_flops_ratios"])
    assert _rules(jobs) == {"train_baseline": seeds, "prune": seeds, "save_point": seeds * targets,
                            "finetune": seeds * targets, "scratch": seeds * targets, "latency": 1, "report": 1,
                            "all": 1}
    assert all(f"/{EXPERIMENT}/" in j["output"] for j in jobs if j["rule"] not in ("report", "all"))


def test_editing_cluster_requests_reruns_nothing_and_reaches_the_jobs(smoke, tmp_path):
    """A scheduler request (profiles/slurm's --time, --mem) is no setting: nothing reruns; a
    forced dry run shows the request on the experiment's jobs."""
    workdir, _, _ = smoke
    edit = _smoke_override(EXPERIMENT, "cluster: {runtime: {prune: 77}, mem_mb: {default: 1234}}")
    assert _planned(workdir, edit, tmp_path) == []
    extra = tmp_path / "edit.yaml"
    target = f"results/smoke/{EXPERIMENT}/gate_decorator/seed0/prune/prune.json"
    result = snakemake(workdir, "-n", "-f", target, "--cores", "2", "--configfile", *CONFIGS, str(extra))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert re.search(r"resources: .*runtime=77, mem_mb=1234", result.stdout), result.stdout[-3000:]


def test_adding_a_method_reruns_nothing_existing(smoke, tmp_path):
    workdir, _, resolved = smoke
    jobs = _planned(workdir, _smoke_override(EXPERIMENT, "methods: [gate_decorator, l1_norm]"), tmp_path)
    for job in jobs:
        if _downstream(job):
            continue
        assert "/l1_norm/" in job["output"] and job["reason"].startswith("Missing output files"), job
    assert _rules(jobs)["prune"] == len(resolved["experiments"][EXPERIMENT]["seeds"])  # one per seed, l1_norm only


def test_a_rerun_with_new_settings_trains_and_logs_new_weights(tmp_path):
    """The defect of issue 11, as a user meets it: lr 0.05 -> 0.5, Snakemake reruns the
    baseline, and the job must train anew instead of handing back the finished lr 0.05 model."""
    from gdbench.track import flush_queue, stage_runs, tracking_uri

    target = f"results/smoke/{EXPERIMENT}/baseline/seed0/train/model.pt"
    only = tmp_path / "only.yaml"
    only.write_text(f"experiments: [{EXPERIMENT}]\n")
    first = snakemake(tmp_path, target, "--cores", "2", "--configfile", *CONFIGS, str(only))
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    old = (tmp_path / target).read_bytes()

    faster = tmp_path / "lr.yaml"
    faster.write_text(_smoke_override(EXPERIMENT, "train: {lr: 0.5}"))
    second = snakemake(tmp_path, target, "--cores", "2", "--configfile", *CONFIGS, str(only), str(faster))
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-3000:]
    assert "Params have changed" in output
    assert (tmp_path / target).read_bytes() != old
    uri = tracking_uri(tmp_path / "results")
    # the smoke profile queues runs for the report job (mlflow.log_at: report); log them as it would
    flush_queue(uri, tmp_path / "results" / "smoke" / "mlflow_queue")
    runs = stage_runs(uri, EXPERIMENT, "smoke")
    logged = runs[runs["tags.gdbench.stage_key"] == f"train_baseline/{EXPERIMENT}/seed0"]
    assert list(logged["params.experiment.train.lr"]) == ["0.5"]  # one run, the new one
