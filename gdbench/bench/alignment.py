"""Channel alignment ablation (`prune.round_to`, issue 16): one trained baseline pruned by Gate
Decorator to the same FLOPs target with the kept channels of every layer rounded to multiples of
1 (the paper's pruning), 8 and 16, each fine-tuned alike, then the test accuracy and the measured
latency of every model, timed side by side (one call of each in turn, so that drift on a shared
machine hits them all alike).

Data: scikit-learn's real handwritten digits (gdbench.data.digits, on every machine), upsampled
from 8×8 to `image_size` so that a CIFAR network (ResNet-56, VGG-16-M, one input channel) computes
on maps of its usual sizes: at 32 the convolutions are those of CIFAR but for the first one's
input channels. Timing: PyTorch eager and onnxruntime on CPU (`gdbench.timing`), p50 of
`repeats` runs per batch size and thread count.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gdbench import deploy, timing
from gdbench.data import digits
from gdbench.evaluate import evaluate_classifier
from gdbench.flops import count_flops
from gdbench.models import build_model
from gdbench.pruning.api import prune
from gdbench.train import TrainConfig, fit


def digits_batches(
    root: Path, image_size: int, batch_size: int, seed: int, train_samples: int | None = None
) -> dict[str, list]:
    """The digits' train and test splits as normalised (N, 1, S, S) batches, upsampled
    (bilinear) to `image_size`; the training batches (the first `train_samples` of one seeded
    shuffle, default all 1,257) in that order."""
    digits.prepare_digits(root)
    batches = {}
    for split in ("train", "test"):
        images, labels, (mean, std) = digits.load_digits_split(root, split)
        images = (images.float() - mean) / std  # the statistics are of the raw 0..16 pixels
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
        if split == "test":
            order = torch.arange(len(labels))
        elif train_samples is not None:
            order = order[:train_samples]
        size = batch_size if split == "train" else 256
        batches[split] = [
            (images[order[i : i + size]], labels[order[i : i + size]]) for i in range(0, len(order), size)
        ]
    return batches


def _timed_side_by_side(models: dict[str, nn.Module], shape, settings: list[tuple], repeats: int, folder: Path):
    """p50 milliseconds of every model per (runtime, batch, threads), one call of each in turn."""
    exported = {}
    if any(runtime == "onnxruntime" for runtime, _, _ in settings):
        exported = {name: deploy.export_onnx(m.eval(), folder / f"{name}.onnx") for name, m in models.items()}
    latency = {name: {} for name in models}
    for runtime, batch, threads in settings:
        inputs = torch.randn(batch, *shape)
        if runtime == "eager":
            calls = {name: timing.eager_call(m, inputs) for name, m in models.items()}
        else:
            calls = {name: timing.onnxruntime_call(exported[name], inputs, threads) for name in models}
        with timing.cpu_threads(threads):
            samples = timing.time_side_by_side(calls, repeats, warmup=3)
        for name in models:
            latency[name][f"{runtime} b{batch} t{threads}"] = timing.percentiles(samples[name])["p50_ms"]
    return latency


def round_to_ablation(
    model_name: str = "resnet56",
    round_to=(1, 8, 16),
    target_flops_ratio: float = 0.3,
    image_size: int = 32,
    epochs: int = 6,
    finetune_epochs: int = 2,
    prune_fraction_per_tick: float = 0.05,
    batch_sizes=(1, 64),
    threads=None,
    runtimes=("eager", "onnxruntime"),
    repeats: int = 20,
    seed: int = 0,
    data_root: str | None = None,
    train_samples: int | None = None,
    tick_data_fraction: float = 1.0,
) -> dict:
    """One baseline, pruned to `target_flops_ratio` with each `round_to`, fine-tuned for
    `finetune_epochs`: accuracy, FLOPs and p50 latency of each, and its measured speed-up over
    the baseline against the speed-up its FLOPs promise. Pruning: Gate Decorator's Tick-Tock with
    gdbench.prune's first-try schedule (a 1-epoch Tock every 4 Ticks) at `prune_fraction_per_tick`,
    each Tick on `tick_data_fraction` of the training batches."""
    torch.manual_seed(seed)
    threads = list(threads or sorted({1, timing.all_threads()}))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        root = Path(data_root) if data_root else folder / "data"
        batches = digits_batches(root, image_size, 64, seed, train_samples)
        shape = (1, image_size, image_size)
        baseline = build_model(model_name, num_classes=10, in_channels=1, input_size=image_size)
        fit(baseline, batches["train"], nn.CrossEntropyLoss(), TrainConfig(epochs=epochs, lr=0.05, schedule="cosine"))
        models, rows, unreachable = {"baseline": baseline}, {}, {}
        original = count_flops(baseline, shape).flops
        for r in round_to:
            torch.manual_seed(seed)
            try:
                models[f"round_to {r}"] = prune(
                    copy.deepcopy(baseline),
                    batches["train"],
                    target_flops_ratio,
                    finetune_epochs=finetune_epochs,
                    example_inputs=torch.zeros(1, *shape),
                    round_to=r,
                    prune_fraction_per_tick=prune_fraction_per_tick,
                    tick_data_fraction=tick_data_fraction,
                )
            except RuntimeError as error:  # every group at its floor: the target is out of this round_to's reach
                unreachable[f"round_to {r}"] = str(error)
        settings = [(runtime, b, t) for runtime in runtimes for b in batch_sizes for t in threads]
        latency = _timed_side_by_side(models, shape, settings, repeats, folder)
    for name, model in models.items():
        flops = count_flops(model, shape).flops
        widths = list(deploy.channels(model).values())
        rows[name] = {
            "flops_ratio": flops / original,
            "test_top1": evaluate_classifier(model, batches["test"])["top1"],
            "widths_multiple_of_8": sum(w % 8 == 0 for w in widths) / len(widths),
            "widths_multiple_of_16": sum(w % 16 == 0 for w in widths) / len(widths),
            "p50_ms": latency[name],
        }
    for row in rows.values():
        row["speedup"] = {k: rows["baseline"]["p50_ms"][k] / v for k, v in row["p50_ms"].items()}
        row["speedup_over_flops_speedup"] = {k: s * row["flops_ratio"] for k, s in row["speedup"].items()}
    return {
        "model": model_name,
        "data": f"digits (real, {sum(len(y) for _, y in batches['train'])} training images), "
        f"upsampled to {image_size}x{image_size}, 1 channel",
        "target_flops_ratio": target_flops_ratio,
        "epochs": epochs,
        "finetune_epochs": finetune_epochs,
        "prune_fraction_per_tick": prune_fraction_per_tick,
        "tick_data_fraction": tick_data_fraction,
        "repeats": repeats,
        "rows": rows,
        "unreachable": unreachable,
    }


def markdown(result: dict) -> str:
    """The ablation as a table: a row per model, p50 ms and measured / FLOPs speed-up per setting."""
    rows = result["rows"]
    settings = list(rows["baseline"]["p50_ms"])
    head = ["model", "FLOPs", "test top-1", *[f"{s}: p50 ms (measured / FLOPs speed-up)" for s in settings]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, row in rows.items():
        cells = [name, f"{row['flops_ratio']:.1%}", f"{row['test_top1']:.2%}"]
        for s in settings:
            ratio = "" if name == "baseline" else f" ({row['speedup_over_flops_speedup'][s]:.2f})"
            cells.append(f"{row['p50_ms'][s]:.2f}{ratio}")
        lines.append("| " + " | ".join(cells) + " |")
    for name, why in result.get("unreachable", {}).items():
        lines.append(f"| {name} | not reached: {why} |" + " |" * (len(head) - 2))
    return "\n".join(lines)
