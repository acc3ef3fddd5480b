"""What only a GPU can show: the engine computes on CUDA what it computes on the CPU.

Run by scripts/gpu_check.sh on a lent GPU machine; skipped where torch sees no CUDA device
(CI has none), so the CPU suite proves the same properties on the CPU.
"""

import pytest
import torch
import torchvision
from torch import nn

from gdbench import count_flops, decorate
from gdbench.data.loaders import CifarTensorBatches
from gdbench.gates import gated_layers
from gdbench.models import resnet_cifar
from gdbench.pruning.groups import GateGraph
from gdbench.pruning.plan import GroupState, floor_channels, plan_tick
from gdbench.pruning.score import GateScoreCollector
from gdbench.pruning.ticktock import TickTock, TickTockConfig
from gdbench.train import train_one_epoch

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def _exact_float32():
    """TF32 would make CUDA and CPU differ by ~1e-3 for reasons that are not ours."""
    previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda: resnet_cifar(56, 10), (8, 3, 32, 32)),
        (lambda: torchvision.models.resnet50(weights=None), (4, 3, 96, 96)),
    ],
)
def test_masked_equals_pruned_on_cuda(build, shape):
    x = torch.randn(shape, device=CUDA)
    model = decorate(build(), x[:1].cpu()).to(CUDA).eval()
    with torch.no_grad():
        for _, layer in gated_layers(model):
            layer.gate.uniform_(0.5, 1.5)
    graph = GateGraph(model, x[:1])
    groups = [g for g in graph.groups if g.prunable]
    states = [GroupState(torch.rand(g.width), len(g.names), floor_channels(g.original_width, 0.1)) for g in groups]
    keeps = plan_tick(states, 0.3)
    with torch.no_grad():
        for group, keep in zip(groups, keeps):
            for layer in group.layers:
                layer.gate[~keep.to(CUDA)] = 0
        masked = model(x)
        for group, keep in zip(groups, keeps):
            graph.remove_channels(group, keep)
        pruned = model(x)
    assert all(p.is_cuda for p in model.parameters())  # surgery kept the tensors on the device
    torch.testing.assert_close(pruned, masked, rtol=1e-4, atol=1e-4 * masked.abs().max().item())


def test_gate_scores_on_cuda_equal_the_cpu_scores():
    torch.manual_seed(0)
    model = decorate(resnet_cifar(20, 10))
    inputs, targets = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    scores = {}
    for device in ("cpu", "cuda"):
        copy = decorate(resnet_cifar(20, 10))
        copy.load_state_dict(model.state_dict())
        copy.to(device).train()
        with GateScoreCollector(copy) as collector:
            nn.functional.cross_entropy(copy(inputs.to(device)), targets.to(device)).backward()
        scores[device] = {name: s.cpu() for name, s in collector.scores.items()}
    for name, expected in scores["cpu"].items():
        torch.testing.assert_close(scores["cuda"][name], expected, rtol=1e-3, atol=1e-6, msg=name)


def test_ticktock_on_cuda_reaches_its_target(tmp_path):
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 4, (96,), generator=generator)
    inputs = torch.randn(96, 3, 16, 16, generator=generator) * 0.5 + targets.view(-1, 1, 1, 1) * 0.5
    batches = [(inputs[i : i + 32], targets[i : i + 32]) for i in range(0, 96, 32)]
    model = decorate(resnet_cifar(14, 4, base_width=8), torch.zeros(1, 3, 16, 16)).to(CUDA)
    config = TickTockConfig(
        target_flops_ratio=0.45, save_flops_ratios=(0.6,), prune_fraction_per_tick=0.06, ticks_per_tock=3, tock_epochs=1
    )
    trace = TickTock(
        model,
        batches,
        nn.CrossEntropyLoss(),
        config,
        device=CUDA,
        example_inputs=torch.zeros(1, 3, 16, 16, device=CUDA),
        save_dir=tmp_path,
    ).run()
    assert trace[-1]["flops_ratio"] <= 0.45
    assert all(p.is_cuda for p in model.parameters())
    assert (
        count_flops(model.cpu(), (3, 16, 16)).flops
        < 0.46 * count_flops(decorate(resnet_cifar(14, 4, base_width=8)), (3, 16, 16)).flops
    )


def test_bf16_channels_last_training_on_the_device_tensor_path_learns():
    torch.manual_seed(0)
    labels = torch.randint(0, 10, (2048,))
    images = (labels.view(-1, 1, 1, 1) * 25 + torch.randint(0, 20, (2048, 3, 32, 32))).to(torch.uint8)
    batches = CifarTensorBatches(images, labels, 128, True, CUDA, channels_last=True)
    model = resnet_cifar(20, 10).to(CUDA, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    first = train_one_epoch(model, batches, optimizer, nn.CrossEntropyLoss(), CUDA, bf16=True)
    for _ in range(3):
        last = train_one_epoch(model, batches, optimizer, nn.CrossEntropyLoss(), CUDA, bf16=True)
    assert last["loss"] < 0.5 * first["loss"]


def test_fit_with_cuda_graphs_learns_checkpoints_and_evaluates(tmp_path):
    """train.compile_mode: reduce-overhead through fit(), as the DAG's training stages run it."""
    from gdbench.checkpoint import load_checkpoint
    from gdbench.evaluate import evaluate_classifier
    from gdbench.train import TrainConfig, fit

    torch.manual_seed(0)
    labels = torch.randint(0, 10, (2048,))
    images = (labels.view(-1, 1, 1, 1) * 25 + torch.randint(0, 20, (2048, 3, 32, 32))).to(torch.uint8)
    train = CifarTensorBatches(images, labels, 128, True, CUDA, channels_last=True)
    test = CifarTensorBatches(images[:512], labels[:512], 256, False, CUDA, channels_last=True)
    model = resnet_cifar(20, 10).to(CUDA)
    config = TrainConfig(
        epochs=3,
        lr=0.05,
        schedule="cosine",
        bf16=True,
        channels_last=True,
        compile=True,
        compile_mode="reduce-overhead",
    )
    history = fit(
        model,
        train,
        nn.CrossEntropyLoss(),
        config,
        CUDA,
        checkpoint_path=tmp_path / "c.pt",
        evaluate=lambda m: evaluate_classifier(m, test, CUDA),
    )
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert history[-1]["top1"] > 0.5
    saved = load_checkpoint(tmp_path / "c.pt", map_location=CUDA)
    assert saved["epoch"] == 3
    reloaded = resnet_cifar(20, 10).to(CUDA, memory_format=torch.channels_last)
    reloaded.load_state_dict(saved["model"])  # the checkpoint holds the weights the graphs trained
    assert evaluate_classifier(reloaded, test, CUDA)["top1"] == pytest.approx(history[-1]["top1"], abs=2 / 512)
