import copy

import pytest
import torch
from torch import nn

from gdbench import count_flops, decorate
from gdbench.checkpoint import load_checkpoint, load_pruned_state_dict
from gdbench.config import schema
from gdbench.gates import gated_layers
from gdbench.models import VGG, resnet_cifar
from gdbench.pruning.engine import checkpoint_name
from gdbench.pruning.groups import GateGraph
from gdbench.pruning.methods import METHODS, build_pruner, criteria, depgraph, method_settings
from gdbench.pruning.plan import floor_channels
from gdbench.pruning.score import GateScoreCollector
from gdbench.pruning.score import group_scores as gate_group_scores
from gdbench.pruning.ticktock import TickTockConfig
from gdbench.train import triangular_lr

SHAPE = (1, 3, 16, 16)


def _data(samples=96, batch_size=32):
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 4, (samples,), generator=generator)
    inputs = torch.randn(samples, 3, 16, 16, generator=generator) * 0.5 + targets.view(-1, 1, 1, 1) * 0.5
    return [(inputs[i : i + batch_size], targets[i : i + batch_size]) for i in range(0, samples, batch_size)]


def _config(**settings):
    return TickTockConfig(
        **{
            "target_flops_ratio": 0.45,
            "save_flops_ratios": (0.6, 0.45),
            "prune_fraction_per_tick": 0.06,
            "ticks_per_tock": 3,
            "tock_epochs": 1,
            **settings,
        }
    )


_RUNS: dict = {}


@pytest.fixture(scope="module")
def pruned_run(tmp_path_factory):
    """`_pruned` with the default settings, run once per method for every test of this module that
    reads it (a pruning run is read, never changed, by these tests); its save points in its folder."""

    def run(name):
        if name not in _RUNS:
            folder = tmp_path_factory.mktemp(name)
            _RUNS[name] = (*_pruned(name, folder), folder)
        return _RUNS[name]

    return run


def _pruned(name, tmp_path, seed=0, base_width=8, **settings):
    torch.manual_seed(0)
    model = decorate(resnet_cifar(14, 4, base_width=base_width), torch.zeros(SHAPE))
    widths = {n: layer.gate.numel() for n, layer in gated_layers(model)}
    pruner = build_pruner(
        name,
        model,
        _data(),
        nn.CrossEntropyLoss(),
        _config(**settings),
        seed=seed,
        example_inputs=torch.zeros(SHAPE),
        save_dir=tmp_path,
    )
    return pruner, pruner.run(), widths


# A compute-matched variant prunes exactly as its method does (it differs in fine-tuning only); of
# the criteria under Tick-Tock, which share one schedule, the three with their own code paths run
# here (weight gradients, the plain model, per-Tick random scores), the others' Ticks below.
SCHEDULE_SHARED = {"l1_norm_ticktock", "network_slimming_ticktock", "taylor_bn_ticktock", "fpgm_ticktock"}


@pytest.mark.parametrize(
    "name", sorted(m for m in METHODS if METHODS[m].budget_of is None and m not in SCHEDULE_SHARED)
)
def test_each_method_reaches_its_target_keeps_every_layer_and_saves_loadable_points(name, pruned_run):
    pruner, trace, widths, tmp_path = pruned_run(name)
    assert trace[-1]["flops_ratio"] <= 0.45 < max(row["flops_ratio"] for row in trace[:-1])
    for layer_name, layer in gated_layers(pruner.model):
        assert layer.gate.numel() >= floor_channels(widths[layer_name], 0.1), layer_name
    assert pruner.model(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    for point in (0.6, 0.45):
        checkpoint = load_checkpoint(tmp_path / checkpoint_name(point))
        assert checkpoint["flops_ratio"] <= point
        plain = load_pruned_state_dict(resnet_cifar(14, 4, base_width=8), checkpoint["state_dict"])
        assert count_flops(plain, SHAPE[1:]).flops == checkpoint["flops"]


def test_random_pruning_is_reproducible_by_seed(tmp_path):
    def architecture(seed, folder):
        pruner, _, _ = _pruned("random", tmp_path / folder, seed=seed)
        return {
            name: layer.weight.detach().clone()
            for name, layer in pruner.model.named_modules()
            if isinstance(layer, nn.Conv2d)
        }

    first, again, other = architecture(1, "a"), architecture(1, "b"), architecture(2, "c")
    assert first.keys() == again.keys()
    assert all(torch.equal(first[name], again[name]) for name in first)  # same channels kept
    assert any(first[name].shape != other[name].shape or not torch.equal(first[name], other[name]) for name in first)


def test_uniform_shrink_meets_the_flops_target_with_one_width_share_for_every_group(tmp_path):
    """Stated tolerance: the kept FLOPs ratio lies within 0.03 below the target (one 1 % width
    step on a 16-64 channel ResNet-20)."""
    torch.manual_seed(0)
    model = decorate(resnet_cifar(20, 10), torch.zeros(1, 3, 32, 32))
    original = {n: layer.gate.numel() for n, layer in gated_layers(model)}
    config = TickTockConfig(target_flops_ratio=0.5, save_flops_ratios=(0.5,), floor_ratio=0.1)
    pruner = build_pruner("uniform_shrink", model, [], nn.CrossEntropyLoss(), config, save_dir=tmp_path)
    trace = pruner.run()
    assert 0.47 <= trace[-1]["flops_ratio"] <= 0.5
    share = trace[-1]["width_share"]
    for group in pruner.prunable_groups:
        expected = max(floor_channels(group.original_width, 0.1), round(share * group.original_width))
        assert group.width == expected, group.names
    assert 0.65 < share < 0.75  # FLOPs scale with width squared: √0.5 ≈ 0.71
    frozen = [g for g in pruner.graph.groups if not g.prunable]
    assert all(g.width == original[g.names[0]] for g in frozen)


@pytest.mark.parametrize("name", ["gate_decorator", "uniform_shrink", "l1_norm"])
def test_round_to_keeps_every_pruned_width_a_multiple_and_meets_the_target(name, tmp_path):
    """The shared engine aligns every method alike (Tick-Tock, one-shot, the uniform shrink)."""
    pruner, trace, widths = _pruned(name, tmp_path, base_width=16, round_to=8)
    assert trace[-1]["flops_ratio"] <= 0.45
    cut = 0
    for layer_name, layer in gated_layers(pruner.model):
        width = layer.gate.numel()
        assert width == widths[layer_name] or width % 8 == 0, (layer_name, width)
        cut += width < widths[layer_name]
    assert cut > 0
    assert pruner.model(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    assert load_checkpoint(tmp_path / checkpoint_name(0.45))["config"]["round_to"] == 8


def _vgg_graph():
    torch.manual_seed(0)
    model = decorate(VGG(10, width_divisor=16), torch.zeros(1, 3, 32, 32))
    graph = GateGraph(model)
    return model, graph, [g for g in graph.groups if g.prunable]


def test_l1_and_fpgm_scores_equal_a_loop_over_the_filters():
    model, graph, groups = _vgg_graph()
    l1, fpgm = criteria.l1_norm(graph, groups), criteria.fpgm(graph, groups)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert len(convs) == len(groups) == 13
    for conv, l1_score, fpgm_score in zip(convs, l1, fpgm):
        w = conv.weight.detach()
        norms = torch.tensor([w[c].abs().sum().item() for c in range(w.shape[0])])
        torch.testing.assert_close(l1_score, norms / norms.mean())
        distances = torch.tensor(
            [sum((w[c] - w[j]).norm().item() for j in range(w.shape[0])) for c in range(w.shape[0])]
        )
        torch.testing.assert_close(fpgm_score, distances / distances.mean(), rtol=1e-4, atol=1e-5)


def _batches(count=3, size=4, shape=(3, 32, 32), classes=10):
    generator = torch.Generator().manual_seed(1)
    return [
        (torch.randn(size, *shape, generator=generator), torch.randint(0, classes, (size,), generator=generator))
        for _ in range(count)
    ]


def test_taylor_weight_scores_square_each_weight_term_as_the_reference_code_does():
    """NVlabs/Taylor_pruning, pruning_engine.py, method 0: (w·∂L/∂w)² element by element, summed
    over the filter, averaged over the mini-batches."""
    model, graph, groups = _vgg_graph()
    batches = _batches()
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    reference = [torch.zeros(c.out_channels) for c in convs]
    for inputs, targets in batches:
        grads = torch.autograd.grad(nn.functional.cross_entropy(model(inputs), targets), [c.weight for c in convs])
        for total, conv, grad in zip(reference, convs, grads):
            for channel in range(conv.out_channels):
                terms = grad[channel] * conv.weight.detach()[channel]
                total[channel] += sum(t.item() ** 2 for t in terms.flatten()) / len(batches)
    with criteria.TaylorWeightCollector(graph, groups) as collector:
        for inputs, targets in batches:
            nn.functional.cross_entropy(model(inputs), targets).backward()
    for expected, actual in zip(reference, collector.scores()):
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-12)


def test_taylor_bn_scores_equal_the_taylor_score_of_the_plain_bn_scale_and_shift():
    """Method 22 of the reference code, a gate after each BN: per batch (γ·∂L/∂γ + β·∂L/∂β)² on the
    undecorated model, averaged over batches, equals the collector's (φ·∂L/∂φ)² on the decorated one."""
    torch.manual_seed(0)
    plain = VGG(10, width_divisor=16)
    bns = [m for m in plain.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():  # a scale and a shift that matter, within GBN's |β/γ| <= 10
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    model = decorate(copy.deepcopy(plain), torch.zeros(1, 3, 32, 32))
    graph = GateGraph(model)
    groups = [g for g in graph.groups if g.prunable]
    batches = _batches()
    reference = [torch.zeros(bn.num_features) for bn in bns]
    for inputs, targets in batches:
        loss = nn.functional.cross_entropy(plain(inputs), targets)
        grads = torch.autograd.grad(loss, [p for bn in bns for p in (bn.weight, bn.bias)])
        for index, bn in enumerate(bns):
            scale, shift = grads[2 * index], grads[2 * index + 1]
            reference[index] += (bn.weight.detach() * scale + bn.bias.detach() * shift).pow(2) / len(batches)
    with criteria.TaylorGateCollector(graph, groups) as collector:
        for inputs, targets in batches:
            nn.functional.cross_entropy(model(inputs), targets).backward()
    assert len(groups) == len(bns) == 13
    for expected, actual in zip(reference, collector.scores()):
        torch.testing.assert_close(actual, expected, rtol=1e-3, atol=1e-12)


def test_taylor_scores_are_far_from_zero_on_a_bn_network():
    """Σ_w ∂L/∂w · w over a filter followed by BN is 0 up to BN's ε (scale invariance): squared after
    summing, the weight variant scored ~1e-13 against gate scores ~0.05 on a ResNet-20. Every group's
    largest score must be within 1e-6 of the gate scores' scale."""
    torch.manual_seed(0)
    model = decorate(resnet_cifar(14, 4, base_width=8), torch.zeros(SHAPE))
    graph = GateGraph(model, torch.zeros(SHAPE))
    groups = [g for g in graph.groups if g.prunable]
    batches = _batches(shape=SHAPE[1:], classes=4)
    with (
        GateScoreCollector(model) as gate,
        criteria.TaylorWeightCollector(graph, groups) as weights,
        criteria.TaylorGateCollector(graph, groups) as bn,
    ):
        for inputs, targets in batches:
            nn.functional.cross_entropy(model(inputs), targets).backward()
    scale = max(float(s.max()) for s in gate_group_scores(groups, gate.scores))
    assert scale > 0
    for collector in (weights, bn):
        assert min(float(s.max()) for s in collector.scores()) > 1e-6 * scale, type(collector).__name__


def test_depgraph_importance_counts_the_bn_scale():
    """Zeroing a channel's BN scale (in a decorated model, its gate) lowers its group importance."""
    model, graph, groups = _vgg_graph()
    before = depgraph.group_norm(graph, groups)
    with torch.no_grad():
        groups[0].layers[0].gate[3] = 0.0
    after = depgraph.group_norm(graph, groups)
    assert after[0][3] < before[0][3] - 0.05
    torch.testing.assert_close(after[1], before[1])  # other groups' importances are untouched


def test_depgraph_regulariser_changes_the_bn_scale_gradients():
    model, graph, groups = _vgg_graph()
    plain = depgraph.PlainModel(graph)
    regulariser = plain.regulariser(1e-2, 4.0)
    inputs, targets = _batches(count=1)[0]
    nn.functional.cross_entropy(plain.model(inputs), targets).backward()
    bns = [m for m in plain.model.modules() if isinstance(m, nn.BatchNorm2d)]
    before = [bn.weight.grad.clone() for bn in bns]
    regulariser.regularize(plain.model, alpha=2**4)
    changed = [not torch.allclose(bn.weight.grad, grad) for bn, grad in zip(bns, before)]
    assert all(changed), changed


def test_depgraph_plain_copy_round_trips_to_the_decorated_model():
    """Weights trained on the plain copy come back exactly: the decorated model then computes
    what the plain copy computes (BN shifts beyond GBN's ±10 clamp included)."""
    model, graph, _ = _vgg_graph()
    plain = depgraph.PlainModel(graph)
    with torch.no_grad():
        for bn in (m for m in plain.model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.weight.uniform_(0.01, 0.05)  # β/γ up to 50
            bn.bias.uniform_(-0.5, 0.5)
    plain.load_into_decorated()
    model.eval(), plain.model.eval()
    inputs = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(model(inputs), plain.model(inputs), rtol=1e-4, atol=1e-5)


def test_group_scores_sum_their_members():
    torch.manual_seed(0)
    model = decorate(resnet_cifar(14, 4, base_width=8), torch.zeros(SHAPE))
    graph = GateGraph(model, torch.zeros(SHAPE))
    stage = next(g for g in graph.groups if g.prunable and len(g.names) > 1)
    expected = sum(criteria.filters(layer).abs().sum(1) for layer in graph.producers(stage))
    torch.testing.assert_close(criteria.l1_norm(graph, [stage])[0], expected / expected.mean())
    assert len(graph.producers(stage)) == len(stage.names)  # one conv feeds each member BN


def _after_sparsity_phase(name: str, settings: dict) -> nn.Module:
    """The model after `name`'s sparsity training alone (2 epochs), from the same start."""
    torch.manual_seed(0)
    model = decorate(resnet_cifar(14, 4, base_width=8), torch.zeros(SHAPE))
    pruner = build_pruner(
        name,
        model,
        _data(),
        nn.CrossEntropyLoss(),
        _config(target_flops_ratio=0.9, save_flops_ratios=()),
        {**settings, "sparsity_epochs": 2},
        example_inputs=torch.zeros(SHAPE),
    )
    pruner.prepare(pruner)
    return model


def test_network_slimming_sparsity_shrinks_the_gates():
    """λ = 0.5 against λ = 0 from the same start: the L1 term's gradient λ·sign(γ) alone moves every
    gate by at least Σ lr_t·λ towards zero."""

    def gate_mass(model):
        return sum(layer.gate.abs().sum().item() for _, layer in gated_layers(model))

    sparse = _after_sparsity_phase("network_slimming", {"sparsity_weight": 0.5})
    plain = _after_sparsity_phase("network_slimming", {"sparsity_weight": 0.0})
    gates = sum(layer.gate.numel() for _, layer in gated_layers(sparse))
    steps = 2 * len(_data())
    least_shrink = sum(triangular_lr(s, steps, 1e-3, 1e-2) for s in range(steps)) * 0.5 * gates
    assert gate_mass(plain) - gate_mass(sparse) > least_shrink


def test_depgraph_sparse_learning_decays_the_grouped_weights():
    def conv_norms(model):
        return sum(m.weight.norm().item() for m in model.modules() if isinstance(m, nn.Conv2d))

    def gate_norms(model):
        return sum(layer.gate.norm().item() for _, layer in gated_layers(model))

    regularised = _after_sparsity_phase("depgraph", {"regularization": 1.0})
    plain = _after_sparsity_phase("depgraph", {"regularization": 0.0})
    assert conv_norms(regularised) < 0.95 * conv_norms(plain)
    assert gate_norms(regularised) < 0.95 * gate_norms(plain)  # the BN scales are in the sparse learning


def test_one_shot_ablation_scores_once(pruned_run):
    _, trace, _, _ = pruned_run("gd_one_shot")
    phases = [row["phase"] for row in trace]
    assert phases[:2] == ["tock", "score"] and set(phases[2:]) == {"prune"}


def test_ablation_settings_reach_the_schedule(pruned_run):
    assert pruned_run("gd_tick_subset")[0].config.tick_data_fraction == 0.5
    assert pruned_run("gd_no_sparsity")[0].config.gate_l1_weight == 0.0
    assert pruned_run("gd_group_mean")[0].config.group_reduction == "mean"


@pytest.mark.reliability("bad config")
def test_unknown_method_and_setting_are_named():
    with pytest.raises(ValueError, match="l2_norm"):
        method_settings("l2_norm", {})
    with pytest.raises(ValueError, match="sparsity_wieght"):
        method_settings("network_slimming", {"sparsity_wieght": 1e-4})


def test_method_names_and_settings_match_the_registry():
    """The catalog the Snakefile checks names with (no pruning engine loaded) is the registry, and
    the schema's method_settings keys are each method's settings."""
    from gdbench.catalog import METHOD_NAMES

    assert set(METHOD_NAMES) == set(METHODS)
    experiment = schema("experiment")["properties"]
    for name, properties in experiment["method_settings"]["properties"].items():
        assert set(properties["properties"]) == set(method_settings(name, {}).__dataclass_fields__), name


@pytest.mark.parametrize("name", ["gate_decorator", "taylor_weights", "l1_norm", "uniform_shrink"])
def test_every_method_meets_each_save_point_within_one_percentage_point(name, tmp_path):
    """Steps of 10 % of the filters would pass a save point by several points of FLOPs; the step
    that would pass it removes only what reaching it needs (one channel of this VGG costs under
    1 % of its FLOPs), so every method is compared at the same kept FLOPs."""
    torch.manual_seed(0)
    model = decorate(VGG(10, width_divisor=4), torch.zeros(1, 3, 32, 32))
    batches = _batches(count=2, size=8)
    config = TickTockConfig(
        target_flops_ratio=0.5, save_flops_ratios=(0.8, 0.5), prune_fraction_per_tick=0.1, tock_epochs=0
    )
    pruner = build_pruner(name, model, batches, nn.CrossEntropyLoss(), config, save_dir=tmp_path)
    pruner.run()
    for point in (0.8, 0.5):
        ratio = load_checkpoint(tmp_path / checkpoint_name(point))["flops_ratio"]
        assert point - 0.01 < ratio <= point, (point, ratio)


@pytest.mark.parametrize("name", ["gate_decorator", "l1_norm", "network_slimming", "taylor_weights"])
def test_each_save_point_records_the_training_epochs_spent_to_reach_it(name, pruned_run):
    """The epochs a method trained while pruning (Tocks, Ticks' shares of the data, sparsity
    phases, Taylor rounds) come from its trace, never from its settings."""
    _, trace, _, tmp_path = pruned_run(name)
    assert trace[-1]["training_epochs"] == pytest.approx(sum(row["epochs"] for row in trace))
    for point in (0.6, 0.45):
        checkpoint = load_checkpoint(tmp_path / checkpoint_name(point))
        reached = next(row for row in trace if row["flops_ratio"] <= point)
        assert checkpoint["training_epochs"] == pytest.approx(reached["training_epochs"])
    tocks = sum(1 for row in trace if row["phase"] == "tock")
    ticks = sum(1 for row in trace if row["phase"] in ("tick", "round"))
    expected = {
        "gate_decorator": tocks * 1 + ticks * 1.0,  # tock_epochs 1, every Tick sees all 3 batches
        "l1_norm": 0.0,
        "network_slimming": 1.0,  # one Tock's epochs of sparsity training
        "taylor_weights": ticks * 1.0,
    }[name]
    assert trace[-1]["training_epochs"] == pytest.approx(expected) and (expected > 0) == (name != "l1_norm")


def test_a_criterion_under_tick_tock_keeps_the_schedule_and_replaces_only_the_score(pruned_run):
    """l1_norm_ticktock runs Gate Decorator's Tocks and Ticks (same config, same phases) but ranks
    by the filters' L1 norm: the channels it removes differ from Θ's."""
    ours, ours_trace, _, _ = pruned_run("gate_decorator")
    theirs, theirs_trace, _, _ = pruned_run("l1_norm_ticktock")
    assert theirs.config == ours.config
    assert (
        [row["phase"] for row in theirs_trace[:5]]
        == [row["phase"] for row in ours_trace[:5]]
        == [
            "tock",
            "tick",
            "tick",
            "tick",
            "tock",
        ]
    )
    widths = lambda p: [layer.gate.numel() for _, layer in gated_layers(p.model)]  # noqa: E731
    assert theirs_trace[1]["filters_removed"] > 0 and widths(theirs) != widths(ours)


def test_taylor_under_tick_tock_takes_weight_gradients_without_training_the_weights():
    torch.manual_seed(0)
    model = decorate(resnet_cifar(14, 4, base_width=8), torch.zeros(SHAPE))
    pruner = build_pruner(
        "taylor_weights_ticktock", model, _data(), nn.CrossEntropyLoss(), _config(), example_inputs=torch.zeros(SHAPE)
    )
    convs = {name: m.weight.detach().clone() for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    _, scores = pruner.tick()
    assert all(torch.equal(m.weight, convs[name]) for name, m in model.named_modules() if isinstance(m, nn.Conv2d))
    assert all(float(s.max()) > 0 for s in scores) and len(scores) == len(pruner.prunable_groups)
    assert all(m.weight.grad is None for m in model.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("name", sorted(SCHEDULE_SHARED))
def test_each_criterion_under_tick_tock_scores_every_group_in_a_tick(name):
    torch.manual_seed(0)
    model = decorate(resnet_cifar(14, 4, base_width=8), torch.zeros(SHAPE))
    pruner = build_pruner(name, model, _data(), nn.CrossEntropyLoss(), _config(), example_inputs=torch.zeros(SHAPE))
    _, scores = pruner.tick()
    assert [s.numel() for s in scores] == [g.width for g in pruner.prunable_groups]
    assert all(torch.isfinite(s).all() and float(s.max()) > 0 for s in scores)
