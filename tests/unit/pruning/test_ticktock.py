import math

import pytest
import torch
from torch import nn

from gdbench import count_flops, decorate
from gdbench.checkpoint import load_checkpoint, load_pruned_state_dict
from gdbench.gates import gated_layers
from gdbench.models import resnet_cifar
from gdbench.pruning.plan import floor_channels
from gdbench.pruning.ticktock import TickTock, TickTockConfig, checkpoint_name
from gdbench.train import triangular_lr


def _data(samples=96, batch_size=32):
    """Generated data with class-dependent structure: the class sets the mean colour."""
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 4, (samples,), generator=generator)
    inputs = torch.randn(samples, 3, 16, 16, generator=generator) * 0.5 + targets.view(-1, 1, 1, 1) * 0.5
    return [(inputs[i : i + batch_size], targets[i : i + batch_size]) for i in range(0, samples, batch_size)]


def _ticktock(tmp_path, evaluate=None, baseline_seed=0, **settings):
    """Tick-Tock on a small decorated ResNet whose weights (the 'baseline') depend only on
    `baseline_seed`, not on the global RNG state."""
    config = TickTockConfig(
        **{
            "target_flops_ratio": 0.45,
            "save_flops_ratios": (0.8, 0.6),
            "prune_fraction_per_tick": 0.06,
            "ticks_per_tock": 3,
            "tock_epochs": 1,
            **settings,
        }
    )
    with torch.random.fork_rng():
        torch.manual_seed(baseline_seed)
        model = decorate(resnet_cifar(14, 4, base_width=8), torch.zeros(1, 3, 16, 16))
    return TickTock(
        model,
        _data(),
        nn.CrossEntropyLoss(),
        config,
        example_inputs=torch.zeros(1, 3, 16, 16),
        save_dir=tmp_path,
        evaluate=evaluate,
    )


def test_ticktock_reaches_target_keeps_floors_and_writes_save_points(tmp_path):
    runner = _ticktock(tmp_path)
    original_widths = {name: layer.gate.numel() for name, layer in gated_layers(runner.model)}
    trace = runner.run()

    ticks = [row for row in trace if row["phase"] == "tick"]
    assert ticks[-1]["flops_ratio"] <= 0.45 < ticks[-2]["flops_ratio"]  # stops as soon as reached
    ratios = [row["flops_ratio"] for row in ticks]
    assert all(later < earlier for earlier, later in zip(ratios, ratios[1:]))  # falls every Tick
    for name, layer in gated_layers(runner.model):
        assert layer.gate.numel() >= floor_channels(original_widths[name], 0.1)

    phases = [row["phase"] for row in trace]
    assert phases[0] == "tock"  # one Tock before the first Tick
    assert [i for i, p in enumerate(phases) if p == "tock"][1] == 4  # then after every 3 Ticks

    for point in (0.8, 0.6):
        checkpoint = load_checkpoint(tmp_path / checkpoint_name(point))
        assert checkpoint["flops_ratio"] <= point
        plain = load_pruned_state_dict(resnet_cifar(14, 4, base_width=8), checkpoint["state_dict"])
        assert count_flops(plain, (3, 16, 16)).flops == checkpoint["flops"]
    assert (tmp_path / "trace.csv").read_text().count("\n") == len(trace) + 1


def test_tick_trains_gates_bn_biases_and_classifier_only(tmp_path):
    runner = _ticktock(tmp_path)
    before = {name: p.detach().clone() for name, p in runner.model.named_parameters()}
    flags = {name: p.requires_grad for name, p in runner.model.named_parameters()}
    runner.tick()
    changed = {name for name, p in runner.model.named_parameters() if not torch.equal(p, before[name])}
    assert changed, "a Tick must train something"
    for name in changed:
        assert name.endswith(("gate", "bias")) or name.startswith("fc.")
        assert "conv" not in name
    assert any(name.endswith("gate") for name in changed)
    assert flags == {name: p.requires_grad for name, p in runner.model.named_parameters()}


def test_tock_adds_the_gate_l1_term(tmp_path):
    """The same Tock from the same start, with λ = 1 against λ = 0: the L1 term's gradient λ·sign(φ)
    alone moves every gate by at least Σ lr_t·λ towards zero (momentum only adds to that)."""

    def gate_mass_after_tock(weight):
        torch.manual_seed(0)
        runner = _ticktock(tmp_path, gate_l1_weight=weight, tock_epochs=2)
        runner.tock()
        gates = [layer.gate for _, layer in gated_layers(runner.model)]
        return sum(g.abs().sum().item() for g in gates), sum(g.numel() for g in gates)

    (with_l1, gates), (without_l1, _) = gate_mass_after_tock(1.0), gate_mass_after_tock(0.0)
    steps = 2 * len(_data())
    least_shrink = sum(triangular_lr(s, steps, 1e-3, 1e-2) for s in range(steps)) * gates
    assert without_l1 - with_l1 > least_shrink


@pytest.mark.reliability("bad config")
def test_unreachable_target_stops_with_a_clear_error(tmp_path):
    runner = _ticktock(
        tmp_path,
        target_flops_ratio=0.01,
        save_flops_ratios=(),
        floor_ratio=0.5,
        prune_fraction_per_tick=0.3,
        ticks_per_tock=100,
    )
    with pytest.raises(RuntimeError, match="floor"):
        runner.run()


@pytest.mark.reliability("bad config")
@pytest.mark.parametrize(
    "settings, key",
    [
        ({"target_flops_ratio": 1.5}, "target_flops_ratio"),
        ({"prune_fraction_per_tick": 0}, "prune_fraction_per_tick"),
        ({"save_flops_ratios": (0.2,), "target_flops_ratio": 0.3}, "save_flops_ratios"),
        ({"flops_convention": "flops"}, "flops_convention"),
    ],
)
def test_config_errors_name_the_setting(settings, key):
    with pytest.raises(ValueError, match=key):
        TickTockConfig(**settings)


@pytest.mark.reliability("bad config")
def test_unknown_setting_is_named():
    with pytest.raises(ValueError, match="prune_fraction_per_tik"):
        TickTockConfig.from_dict({"prune_fraction_per_tik": 0.01})


@pytest.mark.reliability("resources")
def test_nan_loss_names_epoch_and_step(tmp_path):
    runner = _ticktock(tmp_path)
    runner.train_batches = [(torch.full((4, 3, 16, 16), math.nan), torch.zeros(4, dtype=torch.long))]
    with pytest.raises(FloatingPointError, match="epoch 0, step 0"):
        runner.tock()


class _Killed(Exception):
    pass


@pytest.mark.reliability("interruption")
def test_an_interrupted_run_resumes_to_the_uninterrupted_weights(tmp_path):
    """Killed while recording its 4th Tick (the 6th evaluation: Tock, 3 Ticks, Tock, Tick), a run
    started again on the same folder continues after the last finished step (the second Tock)
    and ends where an uninterrupted run ends."""
    torch.manual_seed(0)
    reference = _ticktock(tmp_path / "reference")
    reference_trace = reference.run()

    calls = {"n": 0}

    def die_at_the_sixth_evaluation(model):
        calls["n"] += 1
        if calls["n"] == 6:
            raise _Killed
        return 0.0

    torch.manual_seed(0)
    first = _ticktock(tmp_path / "resumed", evaluate=die_at_the_sixth_evaluation)
    with pytest.raises(_Killed):
        first.run()
    assert (tmp_path / "resumed" / "ticktock_state.pt").is_file()
    torch.manual_seed(123)  # a new process starts with another RNG state
    resumed = _ticktock(tmp_path / "resumed")
    assert resumed.ticks == 3 and resumed.trace[-1]["phase"] == "tock"
    assert resumed.flops_ratio() < 1  # continues from the pruned model
    trace = resumed.run()
    assert [row["phase"] for row in trace] == [row["phase"] for row in reference_trace]
    assert [row["flops"] for row in trace] == [row["flops"] for row in reference_trace]
    for (name, expected), actual in zip(reference.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(expected, actual), name
    assert not (tmp_path / "resumed" / "ticktock_state.pt").exists()  # removed once complete
    for point in (0.8, 0.6):
        assert torch.equal(
            load_checkpoint(tmp_path / "resumed" / checkpoint_name(point))["state_dict"]["fc.weight"],
            load_checkpoint(tmp_path / "reference" / checkpoint_name(point))["state_dict"]["fc.weight"],
        )


def test_a_state_from_other_settings_is_not_resumed(tmp_path):
    torch.manual_seed(0)
    runner = _ticktock(tmp_path, evaluate=lambda m: (_ for _ in ()).throw(_Killed) if runner.ticks == 2 else 0.0)
    with pytest.raises(_Killed):
        runner.run()
    fresh = _ticktock(tmp_path, prune_fraction_per_tick=0.05)
    assert fresh.ticks == 0 and not (tmp_path / "ticktock_state.pt").exists()


@pytest.mark.reliability("interruption")
def test_a_state_from_other_starting_weights_is_not_resumed(tmp_path):
    """Same settings, another baseline (retrained upstream): the old state must not be resumed,
    or the rerun would prune the old baseline and log it as the new one."""
    torch.manual_seed(0)
    runner = _ticktock(tmp_path, evaluate=lambda m: (_ for _ in ()).throw(_Killed) if runner.ticks == 2 else 0.0)
    with pytest.raises(_Killed):
        runner.run()
    same = load_checkpoint(tmp_path / "ticktock_state.pt")["identity"]
    other = _ticktock(tmp_path, baseline_seed=1)
    assert other.ticks == 0 and other.trace == [] and not (tmp_path / "ticktock_state.pt").exists()
    assert other.identity["ticktock"] == same["ticktock"] and other.identity["start"] != same["start"]
