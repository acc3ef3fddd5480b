"""How well each pruning criterion predicts what removing a channel costs.

The oracle (Molchanov et al. 2019, "Importance estimation for neural network pruning", §4.1):
remove one channel of a trained network at a time (its gates to 0) and measure the loss change on
a fixed set of training images. Each criterion's scores are ranked against it with Spearman's
rank correlation, over every prunable channel at once, since gdbench ranks channels globally. The
network is a small option-B residual net trained on real images (scikit-learn's 1,797 handwritten
digits, 8×8, no download), so the numbers mean something on any machine.
"""

from __future__ import annotations

import statistics

import torch
from torch import nn

from gdbench.gates import decorate
from gdbench.models import resnet_cifar
from gdbench.pruning.groups import GateGraph
from gdbench.pruning.methods import criteria, depgraph
from gdbench.pruning.score import GateScoreCollector, group_scores
from gdbench.train import fit, triangular


def digits_split(seed: int = 0, test_share: float = 0.3):
    """scikit-learn's digits as (train_x, train_y, test_x, test_y): pixels scaled to [0, 1] and
    repeated over 3 channels (N, 3, 8, 8), split stratified by class with a seeded shuffle."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).div(16).unsqueeze(1).repeat(1, 3, 1, 1)
    labels = torch.tensor(digits.target)
    train, test = train_test_split(range(len(labels)), test_size=test_share, stratify=digits.target, random_state=seed)
    return images[train], labels[train], images[test], labels[test]


def _batches(inputs, targets, batch_size, generator=None):
    order = torch.randperm(len(targets), generator=generator) if generator is not None else torch.arange(len(targets))
    return [
        (inputs[order[i : i + batch_size]], targets[order[i : i + batch_size]])
        for i in range(0, len(targets), batch_size)
    ]


def _mean_loss(model: nn.Module, batches) -> float:
    with torch.no_grad():
        return statistics.fmean(nn.functional.cross_entropy(model(x), y).item() for x, y in batches)


def oracle_loss_change(model: nn.Module, graph: GateGraph, groups, batches) -> list[torch.Tensor]:
    """Per prunable group, per channel: the loss (eval mode) with that channel's gates set to 0 in
    every member layer, minus the loss of the whole network."""
    model.eval()
    base = _mean_loss(model, batches)
    changes = []
    for group in groups:
        change = torch.zeros(group.width)
        for channel in range(group.width):
            saved = [layer.gate.data[channel].clone() for layer in group.layers]
            for layer in group.layers:
                layer.gate.data[channel] = 0.0
            change[channel] = _mean_loss(model, batches) - base
            for layer, value in zip(group.layers, saved):
                layer.gate.data[channel] = value
        changes.append(change)
    return changes


def criterion_scores(model: nn.Module, graph: GateGraph, groups, batches) -> dict[str, list]:
    """Every criterion's per-channel group scores on the same model, the gradient-based ones from
    one backward pass per batch (train mode, no weight update)."""
    model.train()
    with (
        GateScoreCollector(model) as gate,
        criteria.TaylorWeightCollector(graph, groups) as weights,
        criteria.TaylorGateCollector(graph, groups) as bn,
    ):
        for inputs, targets in batches:
            model.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(inputs), targets).backward()
    model.zero_grad(set_to_none=True)
    return {
        "gate_decorator": group_scores(groups, gate.scores),
        "taylor_weights": weights.scores(),
        "taylor_bn": bn.scores(),
        "l1_norm": criteria.l1_norm(graph, groups),
        "fpgm": criteria.fpgm(graph, groups),
        "network_slimming": criteria.gate_magnitude(groups),
        "depgraph": depgraph.group_norm(graph, groups),
    }


def spearman(scores: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(torch.cat(scores).numpy(), torch.cat(reference).numpy()).statistic)


def criteria_correlation(
    depth: int = 8,
    base_width: int = 8,
    epochs: int = 30,
    batch_size: int = 64,
    oracle_images: int = 512,
    random_draws: int = 20,
    seed: int = 0,
) -> dict:
    """Spearman correlation of each criterion with the oracle loss change, and random scores' mean
    and spread over `random_draws` seeds, for a ResNet-`depth` trained `epochs` on digits."""
    torch.manual_seed(seed)
    train_x, train_y, test_x, test_y = digits_split(seed)
    model = resnet_cifar(depth, 10, "B", base_width)
    training = triangular(epochs, 1e-3, 0.1, momentum=0.9, weight_decay=5e-4)
    fit(
        model,
        _batches(train_x, train_y, batch_size, torch.Generator().manual_seed(seed)),
        nn.CrossEntropyLoss(),
        training,
    )
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    example = torch.zeros(1, 3, 8, 8)
    decorated = decorate(model, example)
    graph = GateGraph(decorated, example)
    groups = [g for g in graph.groups if g.prunable]
    batches = _batches(train_x[:oracle_images], train_y[:oracle_images], batch_size)
    oracle = oracle_loss_change(decorated, graph, groups, batches)
    result = {
        "test_accuracy": accuracy,
        "channels": sum(g.width for g in groups),
        "oracle_images": min(oracle_images, len(train_y)),
    }
    for name, scores in criterion_scores(decorated, graph, groups, batches).items():
        result[f"spearman_{name}"] = spearman(scores, oracle)
    draws = [
        spearman(criteria.random_scores(groups, torch.Generator().manual_seed(seed + draw)), oracle)
        for draw in range(random_draws)
    ]
    result["spearman_random_mean"] = statistics.fmean(draws)
    result["spearman_random_std"] = statistics.stdev(draws) if len(draws) > 1 else 0.0
    return result
