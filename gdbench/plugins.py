"""Bring your own model, pruning criterion or dataset: objects of the user's importable modules,
named in the run config as `package.module:name` under `plugins` (README, "Add your own model,
method or dataset"; the worked example is examples/gdbench_example.py):

    plugins:
      python_path: [examples]                        # folders put on sys.path, from the working directory
      models:   {tiny_cnn: "gdbench_example:tiny_cnn"}        # factory(**model.kwargs) -> nn.Module
      criteria: {filter_l2: "gdbench_example:filter_l2"}      # score(pruner) -> one vector per group
      datasets: {bars: "gdbench_example:bars"}                # num_classes, prepare(root), load(root, split)

A criterion becomes two methods, `<name>` (one-shot) and `<name>_ticktock` (under Tick-Tock), on the
same engine, floors, FLOPs target and save points as the built-in ones. The Snakefile and every
job register the same plug-ins before they read an experiment, so a plug-in's name is used like a
built-in one's (`model.name`, `methods`, `data.dataset`).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from gdbench.config import ConfigError
from gdbench.data.registry import register_dataset
from gdbench.models import register_model

KINDS = ("models", "criteria", "datasets")


def load_object(spec: str, where: str):
    """The object `package.module:name` names, or a ConfigError saying what failed."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            f"{where}: cannot import {module_name!r} ({error}); is it installed, or its folder listed "
            f"in plugins.python_path? (sys.path: {', '.join(sys.path[:4])}, ...)"
        ) from error
    try:
        return getattr(module, attribute)
    except AttributeError as error:
        raise ConfigError(f"{where}: module {module_name!r} ({module.__file__}) has no {attribute!r}") from error


def register(plugins: dict | None, base: str | Path = ".", criteria: bool = False) -> None:
    """Import the plug-ins of a run config's `plugins` section and register its models and datasets
    (idempotent); criteria are imported (so a bad name fails early) and registered as methods only
    with `criteria`, by the prune job: the pruning engine loads torch-pruning (about 3 s), which no
    other job needs."""
    if not plugins:
        return
    for folder in plugins.get("python_path", []):
        path = str((Path(base) / folder).resolve())
        if path not in sys.path:
            sys.path.insert(0, path)
    for kind, register_one in (
        ("models", _register_model),
        ("criteria", _register_criterion),
        ("datasets", _register_dataset),
    ):
        for name, spec in plugins.get(kind, {}).items():
            where = f"plugins.{kind}.{name}"
            try:
                register_one(name, spec, load_object(spec, where), criteria)
            except (TypeError, ValueError) as error:
                raise ConfigError(f"{where}: {error}") from error


def _register_model(name: str, spec: str, factory, criteria: bool) -> None:
    if not callable(factory):
        raise TypeError(f"{spec} is not callable (a model is factory(**model.kwargs) -> nn.Module)")
    register_model(name, factory)


def _register_criterion(name: str, spec: str, score, criteria: bool) -> None:
    if not callable(score):
        raise TypeError(f"{spec} is not a function score(pruner)")
    if criteria:
        from gdbench.pruning.methods import register_criterion

        register_criterion(name, score, f"plug-in {spec}")


def _register_dataset(name: str, spec: str, plugin, criteria: bool) -> None:
    register_dataset(name, plugin)
