"""Pruning benchmarks: the cost of a prune step and of a Tick, against their references."""

from __future__ import annotations

import statistics
import time
import warnings

import torch
from torch import nn

from gdbench.bench import timed as _timed
from gdbench.gates import decorate, gated_layers
from gdbench.models import build_model
from gdbench.pruning.groups import GateGraph
from gdbench.pruning.plan import group_states, plan_tick
from gdbench.pruning.score import group_scores
from gdbench.train import train_one_epoch


def _random_scores(model: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Stand-in gate scores: the prune step's cost does not depend on their values."""
    return {name: torch.rand(layer.gate.shape, generator=generator) for name, layer in gated_layers(model)}


def prune_step(model_name: str = "resnet56", steps: int = 5, prune_fraction: float = 0.002) -> dict:
    """Seconds per Gate Decorator prune step (score aggregation, plan, surgery) against one
    step of torch-pruning's global magnitude pruner removing the same share of channels."""
    import torch_pruning as tp

    generator = torch.Generator().manual_seed(0)
    gated = decorate(build_model(model_name))
    example = torch.zeros(gated.example_input_shape)
    graph_seconds = _timed(lambda: GateGraph(gated, example))
    graph = GateGraph(gated, example)
    plain = build_model(model_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        magnitude = tp.pruner.MagnitudePruner(
            plain,
            example,
            importance=tp.importance.MagnitudeImportance(p=1),
            global_pruning=True,
            pruning_ratio=prune_fraction * steps * 2,
            iterative_steps=steps * 2,
            ignored_layers=[m for m in plain.modules() if isinstance(m, nn.Linear)],
        )
    rows = {"score": [], "plan": [], "surgery": [], "gate_decorator_step": [], "torch_pruning_step": []}
    for _ in range(steps):
        scores = _random_scores(gated, generator)
        groups = [g for g in graph.groups if g.prunable]
        start = time.perf_counter()
        summed = group_scores(groups, scores)
        scored = time.perf_counter()
        states = group_states(groups, summed, 0.1)
        keeps = plan_tick(states, prune_fraction)
        planned = time.perf_counter()
        for group, keep in zip(groups, keeps):
            graph.remove_channels(group, keep)
        done = time.perf_counter()
        rows["score"].append(scored - start)
        rows["plan"].append(planned - scored)
        rows["surgery"].append(done - planned)
        rows["gate_decorator_step"].append(done - start)
        rows["torch_pruning_step"].append(_timed(magnitude.step))
    result = {k: statistics.median(v) for k, v in rows.items()}
    result["graph_build_once"] = graph_seconds
    result["ratio_gate_decorator_to_torch_pruning"] = result["gate_decorator_step"] / result["torch_pruning_step"]
    return result


def tick_overhead(model_name: str = "resnet56", samples: int = 1024, batch_size: int = 128, repeats: int = 2) -> dict:
    """Seconds of one Tick epoch (conv frozen, gate-score hooks) against one plain training
    epoch of the undecorated model on the same data, alternated `repeats` times."""
    from gdbench.pruning.ticktock import TickTock, TickTockConfig

    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(samples, 3, 32, 32, generator=generator)
    targets = torch.randint(0, 10, (samples,), generator=generator)
    batches = [(inputs[i : i + batch_size], targets[i : i + batch_size]) for i in range(0, samples, batch_size)]
    loss_fn = nn.CrossEntropyLoss()
    plain = build_model(model_name)
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.01, momentum=0.9)
    ticker = TickTock(decorate(build_model(model_name)), batches, loss_fn, TickTockConfig())
    plain_seconds, tick_seconds = [], []
    for _ in range(repeats):
        plain_seconds.append(_timed(lambda: train_one_epoch(plain, batches, optimizer, loss_fn)))
        tick_seconds.append(_timed(ticker.tick))
    result = {
        "plain_epoch": statistics.median(plain_seconds),
        "tick_epoch": statistics.median(tick_seconds),
        "samples": samples,
        "batch_size": batch_size,
    }
    result["ratio_tick_to_plain"] = result["tick_epoch"] / result["plain_epoch"]
    return result
