"""The run config validated once, in full, before any job exists (the Snakefile's first step):
schemas, consistency, that every name is a built-in or a declared plug-in, and that each model fits
its dataset. Without plug-ins it imports neither torch nor the registries (gdbench.catalog holds
the built-in names), so `snakemake -n` answers in about a second less than three."""

from __future__ import annotations

from pathlib import Path

from gdbench.catalog import DATASET_TASKS, METHOD_NAMES, MODEL_NAMES, SEGMENTATION, SEGMENTATION_MODELS, plugin_methods
from gdbench.config import ConfigError, resolve, validate


def _problems(experiment: dict, models: tuple, datasets: dict, methods: tuple) -> list[str]:
    """Names the registries must know (schemas check only their spelling), then the fit."""
    problems = []
    model, dataset = experiment["model"]["name"], experiment["data"]["dataset"]
    for key, name, known in (("model.name", model, models), ("data.dataset", dataset, tuple(datasets))):
        if name not in known:
            problems.append(f"{key}: {name!r} is not allowed; allowed: {', '.join(map(repr, known))} (or a plug-in)")
    for index, method in enumerate(experiment["methods"]):
        if method not in methods:
            problems.append(
                f"methods.{index}: {method!r} is not allowed; allowed: {', '.join(map(repr, methods))} "
                f"(or a criterion plug-in)"
            )
    if problems or model not in MODEL_NAMES:  # a plug-in model says nothing of its task
        return problems
    segmentation = datasets[dataset] == SEGMENTATION
    if (model in SEGMENTATION_MODELS) != segmentation:
        problems.append(
            f"model.name {model!r} does not fit data.dataset {dataset!r} ({datasets[dataset]} "
            f"needs a {'segmentation model' if segmentation else 'classifier'})"
        )
    return problems


def _plugin_tasks(declared: dict) -> dict[str, str]:
    """Import and register the declared plug-ins; their datasets' tasks."""
    from gdbench import plugins
    from gdbench.data.registry import DATASETS

    plugins.register(declared)
    return {name: DATASETS[name].task for name in declared.get("datasets", {})}


def resolve_run(config: dict, experiments_dir: str | Path) -> dict:
    """The run config validated, its experiments loaded and overridden (gdbench.config.resolve)."""
    validate(config, "config", "run config")
    declared = config.get("plugins", {})
    tasks = _plugin_tasks(declared) if declared else {}
    models = MODEL_NAMES + tuple(declared.get("models", {}))
    datasets = {**DATASET_TASKS, **tasks}
    methods = METHOD_NAMES + plugin_methods(declared.get("criteria"))
    for index, method in enumerate(config["methods"]):
        if method not in methods:
            raise ConfigError(
                f"run config: methods.{index}: {method!r} is not allowed; allowed: {', '.join(map(repr, methods))}"
            )
    return resolve(config, experiments_dir, check=lambda experiment: _problems(experiment, models, datasets, methods))
