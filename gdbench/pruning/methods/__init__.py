"""Pruning methods compared on one pipeline, selectable by name (`methods:` in the run config or
an experiment). Every method prunes a decorated copy of the same baseline through the same
groups, global ranking with floors, surgery, step size, FLOPs target and save points
(gdbench.pruning.engine); the fine-tuning and from-scratch budgets are the DAG's, the same for all.

    gate_decorator     GBN + Tick-Tock (You et al. 2019)
    l1_norm            filter L1 norm (Li et al. 2017)
    network_slimming   BN-γ L1 sparsity training, then |γ| (Liu et al. 2017)
    taylor_weights     first-order Taylor on weights, iterative (Molchanov et al. 2019)
    taylor_bn          first-order Taylor on the BN scale and shift, iterative (Molchanov et al. 2019)
    fpgm               distance to the layer's geometric median (He et al. 2019)
    random             seeded random scores
    uniform_shrink     every layer narrowed alike to the same FLOPs (the paper's "shrunk")
    depgraph           group-norm sparse learning + group L2 norm via torch-pruning (Fang et al. 2023)
Each criterion also runs inside Gate Decorator's schedule, only the Ticks' score replaced
(`<name>_ticktock`: same Tocks with λ·Σ|φ|, Ticks, step size, floors, save points), so that a
row says "L1 one-shot" or "L1 under Tick-Tock" and the criterion is compared apart from the
schedule: l1_norm, network_slimming (|φ|), taylor_weights, taylor_bn, fpgm, random, depgraph.
Each one-shot method also runs compute-matched (`<name>_matched`): the same pruning, then fine-tuned
for as many more epochs as Gate Decorator trained in its Tocks and Ticks to reach the same save
point on the same seed, so "same compute after the baseline" is a row, not an argument:
l1_norm, network_slimming, fpgm, random, uniform_shrink, depgraph.
Ablations of Gate Decorator:
    gd_one_shot        one Tock, one scoring Tick, then straight to the target
    gd_no_sparsity     Tocks without the λ·Σ|φ| term
    gd_group_mean      a group scores the mean, not the sum, of its members
    gd_tick_subset     Ticks see a share of the training data (`tick_data_fraction`, default 0.5)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gdbench.catalog import MATCHED
from gdbench.config import dataclass_from_dict
from gdbench.pruning.engine import GlobalPruner
from gdbench.pruning.methods import criteria, depgraph
from gdbench.pruning.methods.runners import (
    IterativeTaylor,
    OneShotPruning,
    UniformShrink,
    depgraph_sparsity,
    slimming_sparsity,
)
from gdbench.pruning.ticktock import TickCriterion, TickTock, TickTockConfig


@dataclass(frozen=True)
class NoSettings:
    pass


@dataclass(frozen=True)
class SlimmingSettings:
    # λ: Liu et al. used 1e-4 for VGG and 1e-5 for ResNets and DenseNets (their network-slimming
    # README; docs/facts.md, Baselines): the ResNet experiments set 1e-5 in method_settings.
    sparsity_weight: float = 1e-4
    sparsity_epochs: int | None = None  # None: one Tock's epochs (the prune config's tock_epochs)


@dataclass(frozen=True)
class DepGraphSettings:
    regularization: float = 1e-4  # torch-pruning's GroupNormPruner default
    alpha: float = 4.0  # decay scale range [2^0, 2^α] (Fang et al. 2023)
    sparsity_epochs: int | None = None  # None: one Tock's epochs


@dataclass(frozen=True)
class TickSubsetSettings:
    tick_data_fraction: float = 0.5


@dataclass(frozen=True)
class Method:
    name: str
    reference: str  # the paper it follows
    build: Callable[..., GlobalPruner]
    settings: type = NoSettings
    ablation_of: str | None = None
    budget_of: str | None = None  # fine-tuned for this method's training epochs (compute-matched)


def _ticktock(criterion: Callable[[int], TickCriterion] | None = None, **overrides):
    """Tick-Tock with `overrides` of its config; `criterion(seed)` replaces Θ in the Ticks."""

    def build(model, batches, loss_fn, config: TickTockConfig, settings, *, seed, **kwargs) -> GlobalPruner:
        changes = {**overrides, **dataclasses.asdict(settings)}
        scored = criterion(seed) if criterion is not None else None
        return TickTock(model, batches, loss_fn, dataclasses.replace(config, **changes), criterion=scored, **kwargs)

    return build


# The criteria that run under Tick-Tock too (`<name>_ticktock`), each a TickCriterion of a seed.
TICK_CRITERIA: dict[str, Callable[[int], TickCriterion]] = {
    "l1_norm": lambda seed: TickCriterion("l1_norm", static=lambda p: criteria.l1_norm(p.graph, p.prunable_groups)),
    "network_slimming": lambda seed: TickCriterion(
        "network_slimming", static=lambda p: criteria.gate_magnitude(p.prunable_groups)
    ),
    "taylor_weights": lambda seed: TickCriterion(
        "taylor_weights", collector=criteria.TaylorWeightCollector, weight_gradients=True
    ),
    "taylor_bn": lambda seed: TickCriterion("taylor_bn", collector=criteria.TaylorGateCollector),
    "fpgm": lambda seed: TickCriterion("fpgm", static=lambda p: criteria.fpgm(p.graph, p.prunable_groups)),
    # new scores each Tick, from the seed and the Tick's number
    "random": lambda seed: TickCriterion(
        "random",
        static=lambda p: criteria.random_scores(
            p.prunable_groups, torch.Generator().manual_seed(seed * 100_003 + p.ticks)
        ),
    ),
    "depgraph": lambda seed: TickCriterion(
        "depgraph", static=lambda p: depgraph.group_norm(p.graph, p.prunable_groups)
    ),
}


def _one_shot(criterion: Callable[[OneShotPruning, int], list[torch.Tensor]], prepare=None):
    """A one-shot method; only one with a sparsity phase (`prepare`) reads the Tock's budget."""

    def build(model, batches, loss_fn, config: TickTockConfig, settings, *, seed, **kwargs) -> GlobalPruner:
        return OneShotPruning(
            model,
            batches,
            loss_fn,
            config if prepare else config.shared(),
            criterion=lambda p: criterion(p, seed),
            prepare=prepare(config, settings) if prepare else None,
            **kwargs,
        )

    return build


def _epochs(config: TickTockConfig, settings) -> int:
    return config.tock_epochs if settings.sparsity_epochs is None else settings.sparsity_epochs


_METHODS = [
    Method("gate_decorator", "You et al. 2019, Gate Decorator (NeurIPS)", _ticktock()),
    Method(
        "l1_norm",
        "Li et al. 2017, Pruning filters for efficient ConvNets (ICLR)",
        _one_shot(lambda p, seed: criteria.l1_norm(p.graph, p.prunable_groups)),
    ),
    Method(
        "network_slimming",
        "Liu et al. 2017, Network slimming (ICCV)",
        _one_shot(
            lambda p, seed: criteria.gate_magnitude(p.prunable_groups),
            prepare=lambda c, s: slimming_sparsity(s.sparsity_weight, _epochs(c, s)),
        ),
        settings=SlimmingSettings,
    ),
    Method(
        "taylor_weights",
        "Molchanov et al. 2019, Importance estimation for neural network pruning (CVPR)",
        lambda model, batches, loss_fn, config, settings, *, seed, **kw: IterativeTaylor(
            model, batches, loss_fn, config, collector=criteria.TaylorWeightCollector, **kw
        ),
    ),
    Method(
        "taylor_bn",
        "Molchanov et al. 2019, Importance estimation for neural network pruning (CVPR), gate after BN",
        lambda model, batches, loss_fn, config, settings, *, seed, **kw: IterativeTaylor(
            model, batches, loss_fn, config, collector=criteria.TaylorGateCollector, **kw
        ),
    ),
    Method(
        "fpgm",
        "He et al. 2019, Filter pruning via geometric median (CVPR)",
        _one_shot(lambda p, seed: criteria.fpgm(p.graph, p.prunable_groups)),
    ),
    Method(
        "random",
        "random scores (seeded by the run's seed)",
        _one_shot(lambda p, seed: criteria.random_scores(p.prunable_groups, torch.Generator().manual_seed(seed))),
    ),
    Method(
        "uniform_shrink",
        "You et al. 2019, §5.2 and fig. 5: every layer shrunk alike",
        lambda model, batches, loss_fn, config, settings, *, seed, device="cpu", **kw: UniformShrink(
            model, config.shared(), **kw
        ),
    ),
    Method(
        "depgraph",
        "Fang et al. 2023, DepGraph: towards any structural pruning (CVPR), via torch-pruning",
        _one_shot(
            lambda p, seed: depgraph.group_norm(p.graph, p.prunable_groups),
            prepare=lambda c, s: depgraph_sparsity(s.regularization, s.alpha, _epochs(c, s)),
        ),
        settings=DepGraphSettings,
    ),
    Method(
        "gd_one_shot",
        "ablation: Tick-Tock against one-shot pruning",
        _ticktock(one_shot=True),
        ablation_of="gate_decorator",
    ),
    Method(
        "gd_no_sparsity",
        "ablation: Tocks without the gate L1 term",
        _ticktock(gate_l1_weight=0.0),
        ablation_of="gate_decorator",
    ),
    Method(
        "gd_group_mean",
        "ablation: group score mean instead of sum",
        _ticktock(group_reduction="mean"),
        ablation_of="gate_decorator",
    ),
    Method(
        "gd_tick_subset",
        "ablation: Ticks on a share of the training data",
        _ticktock(),
        settings=TickSubsetSettings,
        ablation_of="gate_decorator",
    ),
]
METHODS: dict[str, Method] = {m.name: m for m in _METHODS}
METHODS.update(
    {
        f"{name}_ticktock": Method(
            f"{name}_ticktock", f"{METHODS[name].reference}; its criterion under Tick-Tock", _ticktock(criterion)
        )
        for name, criterion in TICK_CRITERIA.items()
    }
)
METHODS.update(
    {
        f"{name}_matched": Method(
            f"{name}_matched",
            f"{METHODS[name].reference}; fine-tuned for Gate Decorator's training epochs (compute-matched)",
            METHODS[name].build,
            settings=METHODS[name].settings,
            budget_of="gate_decorator",
        )
        for name in MATCHED
    }
)


def register_criterion(name: str, score: Callable[..., list[torch.Tensor]], reference: str) -> None:
    """A user's criterion as two methods, `name` (one-shot: score the trained baseline once, remove
    to the target) and `<name>_ticktock` (its scores in Gate Decorator's Ticks), both through the
    shared engine like the built-in criteria. `score(pruner)` returns one score vector per group
    of `pruner.prunable_groups` (higher = keep); README, "Add your own model, method or dataset"."""
    methods = {
        name: Method(name, reference, _one_shot(lambda p, seed: score(p))),
        f"{name}_ticktock": Method(
            f"{name}_ticktock",
            f"{reference}; under Tick-Tock",
            _ticktock(lambda seed: TickCriterion(name, static=score)),
        ),
    }
    for key, method in methods.items():
        known = METHODS.get(key)
        if known is not None and known.reference != method.reference:
            raise ValueError(f"pruning method {key!r} exists already ({known.reference}); name the plug-in otherwise")
        METHODS[key] = method


def method_settings(name: str, values: dict | None):
    """The method's own settings from the experiment's `method_settings.<name>`, unknown keys named."""
    if name not in METHODS:
        raise ValueError(f"unknown pruning method {name!r}; allowed: {sorted(METHODS)}")
    return dataclass_from_dict(METHODS[name].settings, values or {}, f"method_settings.{name}")


def build_pruner(
    name: str,
    model: nn.Module,
    train_batches: Iterable,
    loss_fn: Callable,
    config: TickTockConfig,
    settings: dict | None = None,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    example_inputs: torch.Tensor | None = None,
    save_dir: str | Path | None = None,
    evaluate=None,
    identity: dict | None = None,
) -> GlobalPruner:
    """The pruning run of method `name` on a decorated model; `.run()` prunes it in place to
    `config.target_flops_ratio` and returns the trace. `identity` names what else the run depends
    on (the job's data settings): resumable state is resumed only by a run of the same identity."""
    typed = method_settings(name, settings)
    return METHODS[name].build(
        model,
        train_batches,
        loss_fn,
        config,
        typed,
        seed=seed,
        device=device,
        example_inputs=example_inputs,
        save_dir=save_dir,
        evaluate=evaluate,
        identity=identity,
    )
