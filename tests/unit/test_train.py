import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gdbench.models import resnet_cifar
from gdbench.train import TrainConfig, fit, training_identity


def _loader():
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(
        torch.randn(48, 3, 16, 16, generator=generator), torch.randint(0, 4, (48,), generator=generator)
    )
    return DataLoader(data, batch_size=16, shuffle=True)  # shuffles with the global RNG


def _model():
    torch.manual_seed(0)
    model = resnet_cifar(8, 4, base_width=4)
    model.fc = nn.Sequential(nn.Dropout(0.3), model.fc)  # randomness inside the step too
    return model


class _Killed(Exception):
    pass


@pytest.mark.reliability("interruption")
def test_resume_after_a_kill_gives_the_same_weights(tmp_path):
    config = TrainConfig(epochs=4, lr=0.05, schedule="cosine")
    reference = _model()
    fit(reference, _loader(), nn.CrossEntropyLoss(), config)

    model, checkpoint = _model(), tmp_path / "train.pt"
    calls = {"n": 0}

    def kill_mid_run(_):
        calls["n"] += 1
        if calls["n"] == 3:  # dies during epoch 3's evaluation, after 2 complete epochs saved
            raise _Killed
        return {}

    with pytest.raises(_Killed):
        fit(model, _loader(), nn.CrossEntropyLoss(), config, checkpoint_path=checkpoint, evaluate=kill_mid_run)
    torch.manual_seed(123)  # a restarted process starts with another RNG state
    resumed = _model()
    history = fit(resumed, _loader(), nn.CrossEntropyLoss(), config, checkpoint_path=checkpoint)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(expected, actual), name


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.reliability("interruption")
@pytest.mark.parametrize("change", ["settings", "starting weights", "caller identity"])
def test_a_checkpoint_of_another_job_is_discarded_not_resumed(tmp_path, change):
    """The rerun defect: a finished checkpoint of lr 0.05 must not be handed back as the result of
    a job with lr 0.5 (or of one that starts from other weights, or reads other data)."""
    config, checkpoint = TrainConfig(epochs=2, lr=0.05, schedule="cosine"), tmp_path / "train.pt"
    first = _model()
    fit(first, _loader(), nn.CrossEntropyLoss(), config, checkpoint_path=checkpoint, identity=None)
    again = _model()
    assert fit(again, _loader(), nn.CrossEntropyLoss(), config, checkpoint_path=checkpoint) is not None
    assert all(torch.equal(a, b) for a, b in zip(_weights(first).values(), _weights(again).values()))  # resumed

    second, identity, other = _model(), None, config
    if change == "settings":
        other = TrainConfig(epochs=2, lr=0.5, schedule="cosine")
    elif change == "starting weights":
        with torch.no_grad():
            second.conv1.weight.mul_(1.01)
    else:
        identity = {**training_identity(second, config), "job": "other data settings"}
    start = _weights(second)
    history = fit(second, _loader(), nn.CrossEntropyLoss(), other, checkpoint_path=checkpoint, identity=identity)
    assert [row["epoch"] for row in history] == [1, 2]  # trained, not resumed
    assert not torch.equal(second.conv1.weight, start["conv1.weight"])
    if change != "caller identity":  # the same start, settings and data retrain to the same weights
        assert not torch.equal(second.conv1.weight, first.conv1.weight)
    saved = torch.load(checkpoint, weights_only=True)["identity"]
    assert saved == (identity or training_identity(_model_with(start), other))


def _model_with(state):
    model = _model()
    model.load_state_dict(state)
    return model


def test_schedules():
    step = TrainConfig(epochs=160, lr=0.1, milestones=(80, 120))
    assert [step.lr_at(e * 10, 10) for e in (0, 79, 80, 120)] == pytest.approx([0.1, 0.1, 0.01, 0.001])
    cosine = TrainConfig(epochs=10, lr=0.1, schedule="cosine")
    assert cosine.lr_at(0, 10) == pytest.approx(0.1) and cosine.lr_at(50, 10) == pytest.approx(0.05)
    triangular = TrainConfig(epochs=2, lr=0.01, lr_min=0.001, schedule="triangular")
    assert [triangular.lr_at(s, 5) for s in (0, 5, 10)] == pytest.approx([0.001, 0.01, 0.001])


@pytest.mark.reliability("bad config")
def test_unknown_schedule_is_named():
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear")


def test_compile_mode_is_checked():
    assert TrainConfig(compile=True, compile_mode="reduce-overhead").compile_mode == "reduce-overhead"
    with pytest.raises(ValueError, match="compile_mode = 'fast'"):
        TrainConfig(compile_mode="fast")


def test_constant_tail_follows_the_schedule_and_is_checked():
    config = TrainConfig(
        epochs=4, lr=0.1, schedule="step", milestones=(1,), gamma=0.1, constant_epochs=1, constant_lr=0.5
    )
    assert [config.lr_at(epoch * 10, 10) for epoch in range(4)] == pytest.approx([0.1, 0.01, 0.01, 0.5])
    with pytest.raises(ValueError, match="constant_epochs"):
        TrainConfig(epochs=2, constant_epochs=2)
