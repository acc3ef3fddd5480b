"""One function per DAG node; the only module that composes data, models, training and pruning.

Each stage writes into its own folder: a resumable checkpoint, the final weights and
`result.json` (metrics with their evidence: seed, device, library versions).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from gdbench.checkpoint import load_checkpoint, save_checkpoint
from gdbench.data.loaders import LoaderConfig, build_loaders
from gdbench.env import environment_record
from gdbench.distributed import barrier, init_from_env, is_main_process, local_device, resolve_device
from gdbench.evaluate import evaluate_classifier, evaluate_segmentation
from gdbench.flops import count_flops
from gdbench.models import build_model
from gdbench.train import TrainConfig, fit

SEGMENTATION_DATASETS = ("voc", "voc_seg11valid")


def _task(dataset: str, num_classes: int):
    """Loss and evaluation for the dataset's task: (loss_fn, evaluate(model, batches, device))."""
    if dataset in SEGMENTATION_DATASETS:
        return (nn.CrossEntropyLoss(ignore_index=255),
                lambda model, batches, device: evaluate_segmentation(model, batches, num_classes, device))
    return nn.CrossEntropyLoss(), evaluate_classifier


def train_baseline(model_name: str, model_kwargs: dict, loaders: LoaderConfig, training: TrainConfig,
                   out_dir: str | Path, device: str = "auto", seed: int = 0) -> dict:
    """Train from scratch (or an ImageNet backbone), select the epoch by validation, evaluate
    that model once on the test set; resumes from `out_dir/checkpoint.pt` after a crash."""
    out_dir = Path(out_dir)
    distributed = init_from_env()
    device = local_device(str(resolve_device(device))) if distributed else resolve_device(device)
    torch.manual_seed(seed)
    model = build_model(model_name, **model_kwargs).to(device)
    batches = build_loaders(loaders, device, training.channels_last, distributed)
    num_classes = model_kwargs.get("num_classes", 21 if loaders.dataset in SEGMENTATION_DATASETS else 10)
    loss_fn, evaluate = _task(loaders.dataset, num_classes)
    key = "miou" if loaders.dataset in SEGMENTATION_DATASETS else "top1"
    best_path = out_dir / "best.pt"  # model selection survives a restart
    best_score = load_checkpoint(best_path)["score"] if best_path.is_file() else -1.0

    def validate(current: nn.Module) -> dict:
        nonlocal best_score
        metrics = {f"val_{k}": v for k, v in evaluate(current, batches["val"], device).items()}
        if metrics[f"val_{key}"] > best_score and is_main_process():
            best_score = metrics[f"val_{key}"]
            save_checkpoint({"state_dict": current.state_dict(), "score": best_score}, best_path)
        return metrics

    history = fit(model, batches["train"], loss_fn, training, device,
                  checkpoint_path=out_dir / "checkpoint.pt", evaluate=validate)
    barrier()  # rank 0 writes best.pt; every rank reads it
    model.load_state_dict(load_checkpoint(best_path, map_location=device)["state_dict"])
    test = {f"test_{k}": v for k, v in evaluate(model, batches["test"], device).items()}
    count = count_flops(model, model.example_input_shape[1:])
    result = {"model": model_name, "dataset": loaders.dataset, "seed": seed, "epochs": training.epochs,
              "flops": count.flops, "params": count.params, **test,
              "best_val": best_score, "history": history, "environment": environment_record(device)}
    if is_main_process():
        save_checkpoint({"state_dict": model.state_dict()}, out_dir / "model.pt")
        (out_dir / "result.json").write_text(json.dumps(result, indent=2))
    return result
