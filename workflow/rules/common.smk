# Helpers shared by the rules: what the config asks for, as lists of output paths, and what each
# job reads of it. A rule's `settings` param is the hash of exactly the config parts its stage
# reads (gdbench.config.STAGE_READS), so a job reruns when, and only when, one of them changes.
from gdbench.config import cluster_request, fingerprint, stage_gpus, stage_settings, target_label, without_cluster

EXPERIMENTS = RUN["experiments"]
# `snakemake --use-conda` builds this environment (it pip-installs gdbench) for every rule.
CONDA_ENV = str(Path(workflow.basedir) / "environment.yml")
# Every job reads the resolved config, but only its own part of it counts: that part is hashed
# into `settings`, so the file's own modification time must not rerun anything.
CONFIG_INPUT = ancient(CONFIG_JSON)
# mlflow.log_at: report: jobs queue their runs, and only the report job opens the store
QUEUED = RUN["mlflow"].get("log_at", "job") == "report"


wildcard_constraints:
    seed=r"\d+",
    target=r"0\.\d+",
    method=r"[a-z][a-z0-9_]*",
    variant=r"scratch_e|scratch_b",


def spec(wildcards):
    return EXPERIMENTS[wildcards.experiment]


def job_settings(stage):
    """The rerun trigger of a `stage` job: the hash of the config parts that job reads."""
    def settings(wildcards):
        method = getattr(wildcards, "method", None) if stage == "prune" else None
        return stage_settings(RUN, wildcards.experiment, stage, method).fingerprint()
    return settings


def job_gpus(stage):
    return lambda wildcards: stage_gpus(spec(wildcards), stage)


def job_request(stage, request):
    """What a `stage` job asks a cluster scheduler for (`runtime` minutes, `mem_mb`), from its
    experiment's `cluster:` (the report: the run's); profiles/slurm passes them to sbatch. Local
    runs ignore both unless --resources limits them."""
    if stage == "report":
        return cluster_request(RUN, request, stage)
    return lambda wildcards: cluster_request(spec(wildcards), request, stage)


def budget_source(wildcards):
    """Gate Decorator's save point of the same target and seed, for a compute-matched method."""
    if not wildcards.method.endswith("_matched"):
        return []
    return f"{R}/{wildcards.experiment}/gate_decorator/{wildcards.target}/seed{wildcards.seed}/save_point/model.pt"


def dataset_flag(wildcards):
    return f"{R}/data_ready/{spec(wildcards)['data']['dataset']}.json"


def spec_targets(experiment):
    return [target_label(t) for t in experiment["prune"]["save_flops_ratios"]]


def evaluations(only=None):
    """Every evaluate.json of the run (of experiment `only`, if given): baselines, fine-tuned and
    from-scratch models."""
    paths = []
    for name, experiment in EXPERIMENTS.items():
        if only is not None and name != only:
            continue
        for seed in experiment["seeds"]:
            paths.append(f"{R}/{name}/baseline/seed{seed}/evaluate/evaluate.json")
            for method in experiment["methods"]:
                scratch = experiment["scratch"] if method in experiment.get("scratch_methods", experiment["methods"]) else []
                for target in spec_targets(experiment):
                    for stage in ["finetune", *scratch]:
                        paths.append(f"{R}/{name}/{method}/{target}/seed{seed}/{stage}/evaluate/evaluate.json")
    return paths
