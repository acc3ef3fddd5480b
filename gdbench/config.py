"""Configs: strict loading and validation, before any work starts.

`configs/config.yaml` says what to run; `configs/experiments/<name>.yaml` says how, with the
paper's hyper-parameters and expected numbers; `overrides` in the run config lay any part of an
experiment over its file (smoke.yaml shrinks everything that way). Both levels are checked
against JSON schemas (gdbench/schemas/) with `additionalProperties: false` everywhere, so a
misspelled key fails at DAG build with its full path and the keys allowed there.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml


class ConfigError(ValueError):
    """A config is malformed; the message names the file, the key path and what is allowed."""


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML ({error})") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a mapping of keys, got {type(data).__name__}")
    return data


@cache
def schema(name: str) -> dict:
    return yaml.safe_load(resources.files("gdbench.schemas").joinpath(f"{name}.schema.yaml").read_text())


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}"
    if error.validator == "enum":
        return f"{path}: {error.instance!r} is not allowed; allowed: {', '.join(map(repr, error.validator_value))}"
    if error.validator == "propertyNames":
        return f"{path}: {error.message}"
    if error.validator == "required":
        return f"{path}: {error.message}"
    return f"{path}: {error.instance!r} is invalid ({error.message})"


def validate(data: dict, schema_name: str, where: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("\n".join(f"{where}: {_describe(e)}" for e in errors))


def deep_merge(base: dict, update: dict) -> dict:
    """`update` laid over `base`: mappings merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _consistency_problems(experiment: dict) -> list[str]:
    """Rules one schema cannot state: settings that contradict each other."""
    problems = []
    prune = experiment["prune"]
    target, saves = prune["target_flops_ratio"], prune["save_flops_ratios"]
    if any(point < target for point in saves):
        problems.append(
            f"prune.save_flops_ratios {saves}: every save point must be >= "
            f"prune.target_flops_ratio {target} (pruning stops there)"
        )
    if prune.get("tock_lr_min", 1e-3) > prune.get("tock_lr_max", 1e-2):
        problems.append("prune.tock_lr_min must not exceed prune.tock_lr_max")
    finetune = experiment["finetune"]
    if finetune.get("lr_min", 1e-3) > finetune.get("lr_max", 1e-2):
        problems.append("finetune.lr_min must not exceed finetune.lr_max")
    methods = experiment.get("methods", [])
    matched = [m for m in methods if m.endswith("_matched")]
    if matched and "gate_decorator" not in methods:
        problems.append(
            f"methods {matched}: a compute-matched method is fine-tuned for gate_decorator's training "
            f"epochs on the same seed and target, so methods must include gate_decorator"
        )
    stray = [m for m in experiment.get("scratch_methods", []) if m not in methods]
    if stray:
        problems.append(f"scratch_methods {stray}: not in methods {methods} (only a pruned method's save points exist)")
    for index, row in enumerate(experiment["expected"]):
        if "target" in row and row["target"] not in saves:
            problems.append(f"expected.{index}.target {row['target']} is not one of prune.save_flops_ratios {saves}")
    return problems


def experiment_files(folders: list) -> dict[str, Path]:
    """Experiment name -> its file, over the package's folder and the run config's
    `experiment_dirs` (relative to the working directory); one name, one file."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.yaml")):
            if path.stem in found:
                raise ConfigError(
                    f"run config: experiment {path.stem!r} is defined twice: {found[path.stem]} and {path}"
                )
            found[path.stem] = path
    return found


def resolve(config: dict, experiments_dir: str | Path, check=None) -> dict:
    """The run config with every selected experiment loaded, overridden and validated.
    `check(experiment) -> list of problems` adds rules that need the upper floors' tables
    (gdbench.run_config.resolve_run passes the names and the model/dataset fit)."""
    validate(config, "config", "run config")
    resolved = {key: copy.deepcopy(value) for key, value in config.items() if key != "overrides"}
    # Any configs/experiments/<name>.yaml is an experiment (names are checked against the files,
    # not a list). Overrides of experiments that are not selected are ignored, so that smoke.yaml
    # can be laid over a run of a few experiments, but each must name an experiment that exists.
    overrides = config.get("overrides", {})
    available = experiment_files([experiments_dir, *config.get("experiment_dirs", [])])
    for key, names in (("experiments", config["experiments"]), ("overrides", list(overrides))):
        for index, name in enumerate(names):
            if name not in available:
                where = f"{key}.{index}" if key == "experiments" else f"overrides.{name}"
                raise ConfigError(
                    f"run config: {where}: {name!r} is not allowed: no {Path(experiments_dir) / (name + '.yaml')}; "
                    f"allowed: {', '.join(map(repr, sorted(available)))}"
                )
    resolved["experiments"] = {}
    for name in config["experiments"]:
        path = available[name]
        experiment = deep_merge(load_yaml(path), overrides.get(name, {}))
        where = f"experiment {name} ({path}{' + overrides' if name in overrides else ''})"
        validate(experiment, "experiment", where)
        experiment.setdefault("methods", list(config["methods"]))
        # the run's latency settings, under the experiment's own (only the latency job reads them)
        experiment["latency"] = {**LATENCY_DEFAULTS, **config.get("latency", {}), **experiment.get("latency", {})}
        # what each job asks a cluster scheduler for, per stage: defaults, the run's, the experiment's
        experiment["cluster"] = {
            request: {
                **CLUSTER_DEFAULTS[request],
                **config.get("cluster", {}).get(request, {}),
                **experiment.get("cluster", {}).get(request, {}),
            }
            for request in CLUSTER_DEFAULTS
        }
        # The one place that says it: with no save points, pruning saves at its target only.
        experiment["prune"].setdefault("save_flops_ratios", [experiment["prune"]["target_flops_ratio"]])
        problems = _consistency_problems(experiment) + (check(experiment) if check is not None else [])
        if problems:
            raise ConfigError("\n".join(f"{where}: {p}" for p in problems))
        resolved["experiments"][name] = experiment
    resolved.setdefault("mlflow", {"tracking_uri": None})
    return resolved


def fingerprint(part: dict) -> str:
    """Short stable hash of a config part: a rule reruns when the settings it uses change."""
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:12]


# What each DAG stage reads of the resolved config: run-level keys, then sections of its
# experiment. A job sees only these parts (`stage_settings`), and its rule's rerun trigger
# hashes exactly them, so a job reruns when, and only when, a setting it reads changes: adding
# a seed or a method, or editing `expected:`, leaves every existing job alone. `method_settings`
# means the job's own method's entry only. Seeds, methods and targets reach a job as wildcards.
RUN_KEYS = ("profile", "data_root", "synthetic_data", "device")
STAGE_READS: dict[str, tuple[str, ...]] = {
    "train_baseline": ("model", "data", "train"),
    "prune": ("model", "data", "prune", "method_settings"),
    "finetune": ("model", "data", "finetune"),
    "scratch": ("model", "data", "train", "scratch_budget"),
    "evaluate": ("model", "data"),
    "latency": ("model", "data", "latency"),
}
# MLPerf-style: p50/p90/p99 of fixed timed runs after a warm-up; batch 1 and a throughput batch;
# one thread and all of the job's; eager and onnxruntime on CPU, eager and CUDA graphs on a GPU
LATENCY_DEFAULTS = {
    "repeats": 50,
    "warmup": 10,
    "batch_sizes": [1, 64],
    "threads": [1, "all"],
    "runtimes": ["eager", "onnxruntime", "cuda_graphs"],
    "alone": True,  # the job takes every core: no other job shares the machine while it times
}


# What a job of each stage asks a cluster scheduler for (profiles/slurm: --time, --mem), by stage
# with a default; read by the rules' resources only, so a change reruns nothing. Sized for the
# paper run on one GPU: ResNet-56's Tick-Tock takes about a day.
CLUSTER_DEFAULTS = {
    "runtime": {"default": 240, "train_baseline": 2880, "prune": 2880, "scratch": 2880, "finetune": 720},  # minutes
    "mem_mb": {"default": 16000},
}


def without_cluster(run: dict) -> dict:
    """The resolved run without its scheduler requests, run-level and per experiment (what the
    report's rerun trigger hashes: asking a cluster for more time changes no result)."""
    stripped = {key: value for key, value in run.items() if key not in ("cluster", "experiments")}
    stripped["experiments"] = {
        name: {key: value for key, value in experiment.items() if key != "cluster"}
        for name, experiment in run.get("experiments", {}).items()
    }
    return stripped


def cluster_request(config: dict, request: str, stage: str) -> int:
    """A job's `request` (runtime in minutes, mem_mb) for `stage`: of a resolved experiment, or of
    the run (its `cluster:` over the defaults) for the report, which has no experiment."""
    requests = {**CLUSTER_DEFAULTS[request], **config.get("cluster", {}).get(request, {})}
    return int(requests.get(stage, requests["default"]))


@dataclasses.dataclass(frozen=True)
class StageSettings:
    """The part of the resolved config that one job of `stage` reads (STAGE_READS), nothing else."""

    stage: str
    experiment: str
    run: dict
    sections: dict

    def __getitem__(self, section: str):
        if section not in self.sections:
            raise KeyError(
                f"stage {self.stage} does not read {section!r} (it reads "
                f"{', '.join(self.sections)}; gdbench.config.STAGE_READS)"
            )
        return self.sections[section]

    def record(self) -> dict:
        return {"run": self.run, "experiment": self.sections}

    def narrow(self, stage: str) -> StageSettings:
        """The view of `stage`, for a job that also does that stage's work (a training job
        evaluates the model it made): its parts must be among this job's, so this job's rerun
        trigger covers them."""
        missing = sorted(set(STAGE_READS[stage]) - set(self.sections))
        if missing:
            raise KeyError(f"stage {self.stage} cannot do {stage}'s work: it does not read {', '.join(missing)}")
        return StageSettings(stage, self.experiment, self.run, {k: self.sections[k] for k in STAGE_READS[stage]})

    def fingerprint(self) -> str:
        return fingerprint(self.record())


# Stages that train data-parallel over all the experiment's GPUs (torchrun); the others run in one
# process on one GPU, so they ask for one, or none where the experiment uses none.
MULTI_GPU_STAGES = ("train_baseline", "finetune", "scratch")


def stage_gpus(experiment: dict, stage: str) -> int:
    """GPUs a job of `stage` takes from the experiment's `gpus`."""
    return experiment["gpus"] if stage in MULTI_GPU_STAGES else min(1, experiment["gpus"])


def stage_settings(resolved: dict, experiment: str, stage: str, method: str | None = None) -> StageSettings:
    """What a job of `stage` on `experiment` (and `method`, for prune) reads of the resolved config."""
    if stage not in STAGE_READS:
        raise ValueError(f"unknown stage {stage!r}; allowed: {sorted(STAGE_READS)}")
    if experiment not in resolved["experiments"]:
        raise ValueError(
            f"experiment {experiment!r} is not in the run config (it has {sorted(resolved['experiments'])})"
        )
    spec = resolved["experiments"][experiment]
    sections = {name: copy.deepcopy(spec.get(name, {})) for name in STAGE_READS[stage]}
    if "method_settings" in sections:
        # a compute-matched variant prunes as its method does, with that method's settings
        own = sections["method_settings"]
        key = method if method in own or method is None else method.removesuffix("_matched")
        sections["method_settings"] = copy.deepcopy(own.get(key, {}))
    run = {key: resolved[key] for key in RUN_KEYS if key in resolved}
    plugins = plugins_used(resolved.get("plugins"), spec, method if stage == "prune" else None)
    if plugins:
        run["plugins"] = plugins
    return StageSettings(stage, experiment, run, sections)


def plugins_used(plugins: dict | None, experiment: dict, method: str | None = None) -> dict:
    """The plug-ins (gdbench.plugins) a job of `experiment` (and of `method`, for prune) uses: part
    of its rerun trigger, so that pointing a name at another object reruns the jobs that use it,
    and only those."""
    if not plugins:
        return {}
    names = {
        "models": {experiment["model"]["name"]},
        "datasets": {experiment["data"]["dataset"]},
        "criteria": {method.removesuffix("_ticktock")} if method else set(),
    }
    chosen = {kind: {n: s for n, s in plugins.get(kind, {}).items() if n in wanted} for kind, wanted in names.items()}
    chosen = {kind: entries for kind, entries in chosen.items() if entries}
    if chosen and plugins.get("python_path"):
        chosen["python_path"] = list(plugins["python_path"])
    return chosen


def target_label(flops_ratio: float) -> str:
    """How a FLOPs target is spelt everywhere (folders, checkpoint files, MLflow keys): 0.3, not 0.30."""
    return f"{flops_ratio:g}"


def write_resolved(resolved: dict, path: str | Path) -> str:
    """Write the resolved config as JSON for the stage commands; the file is rewritten only
    when its content changes, so an unchanged config never looks newer to Snakemake."""
    path = Path(path)
    text = json.dumps(resolved, indent=2, sort_keys=True)
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(path)


def config_record(config) -> dict:
    """A config dataclass as plain data (tuples as lists): loadable with weights_only."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def dataclass_from_dict(cls, values: dict, what: str):
    """Build a frozen config dataclass from a mapping: unknown keys are named, lists become
    tuples (YAML has no tuples)."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {what} setting(s) {unknown}; allowed: {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
