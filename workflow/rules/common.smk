# Helpers shared by the rules: what the config asks for, as lists of output paths.
from gdbench.config import fingerprint

EXPERIMENTS = RUN["experiments"]
# `snakemake --use-conda` builds this environment (it pip-installs gdbench) for every rule.
CONDA_ENV = str(Path(workflow.basedir) / "environment.yml")


wildcard_constraints:
    seed=r"\d+",
    target=r"0\.\d+",
    method=r"[a-z][a-z0-9_]*",
    variant=r"scratch_e|scratch_b",
    stage=r"finetune|scratch_e|scratch_b",


def spec(wildcards):
    return EXPERIMENTS[wildcards.experiment]


def settings(wildcards):
    """Fingerprint of the experiment's settings: a job reruns when they change."""
    return fingerprint(spec(wildcards))


def gpus(wildcards):
    return spec(wildcards)["gpus"]


def dataset_flag(wildcards):
    return f"{R}/data_ready/{spec(wildcards)['data']['dataset']}.json"


def targets(name):
    return spec_targets(EXPERIMENTS[name])


def spec_targets(experiment):
    prune = experiment["prune"]
    return [f"{t:g}" for t in prune.get("save_flops_ratios", [prune["target_flops_ratio"]])]


def evaluations():
    """Every evaluate.json of the run: baselines, fine-tuned and from-scratch models."""
    paths = []
    for name, experiment in EXPERIMENTS.items():
        for seed in experiment["seeds"]:
            paths.append(f"{R}/{name}/baseline/seed{seed}/evaluate/evaluate.json")
            for method in experiment["methods"]:
                for target in spec_targets(experiment):
                    for stage in ["finetune", *experiment["scratch"]]:
                        paths.append(f"{R}/{name}/{method}/{target}/seed{seed}/{stage}/evaluate/evaluate.json")
    return paths
