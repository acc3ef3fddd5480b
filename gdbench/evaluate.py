"""Evaluation metrics: top-k accuracy for classification, mIoU for segmentation.

mIoU follows the FCN paper: one confusion matrix accumulated over the whole split, pixels
labelled 255 (VOC's border / ignore label) left out, IoU per class = TP / (TP + FP + FN), mean
over the classes that occur in the ground truth or the prediction.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

IGNORE_INDEX = 255


def topk_correct(logits: torch.Tensor, targets: torch.Tensor, ks=(1, 5)) -> dict[int, int]:
    """Number of samples whose target is among the k highest logits, for each k."""
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices  # (N, k)
    hits = top == targets[:, None]
    return {k: int(hits[:, :k].any(1).sum()) for k in ks}


def confusion_matrix(
    predictions: torch.Tensor, targets: torch.Tensor, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> torch.Tensor:
    """(num_classes, num_classes) int64 counts, rows = ground truth, columns = prediction."""
    keep = targets != ignore_index
    targets, predictions = targets[keep].long(), predictions[keep].long()
    if targets.numel() and (targets.max() >= num_classes or targets.min() < 0):
        raise ValueError(f"target labels outside [0, {num_classes}) and not {ignore_index}")
    flat = targets * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def mean_iou(confusion: torch.Tensor) -> float:
    confusion = confusion.double()
    true_positive = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - true_positive
    present = union > 0
    return float((true_positive[present] / union[present]).mean()) if present.any() else float("nan")


@torch.no_grad()
def evaluate_classifier(model: nn.Module, batches: Iterable, device="cpu") -> dict[str, float]:
    """top1 and top5 accuracy in [0, 1], in eval mode (mode restored), and how many samples."""
    was_training = model.training
    model.eval()
    correct, seen = {1: 0, 5: 0}, 0
    for inputs, targets in batches:
        hits = topk_correct(model(inputs.to(device)), targets.to(device))
        correct = {k: correct[k] + hits[k] for k in correct}
        seen += targets.numel()
    model.train(was_training)
    return {"top1": correct[1] / max(seen, 1), "top5": correct[5] / max(seen, 1), "samples": seen}


@torch.no_grad()
def evaluate_segmentation(model: nn.Module, batches: Iterable, num_classes: int, device="cpu") -> dict[str, float]:
    """mIoU and pixel accuracy from one confusion matrix over all `batches`, and how many images."""
    was_training = model.training
    model.eval()
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    images = 0
    for inputs, targets in batches:
        predictions = model(inputs.to(device)).argmax(1)  # (N, H, W)
        confusion += confusion_matrix(predictions, targets.to(device), num_classes)
        images += len(targets)
    model.train(was_training)
    pixel_accuracy = float(confusion.diag().sum() / confusion.sum().clamp(min=1))
    return {"miou": mean_iou(confusion), "pixel_accuracy": pixel_accuracy, "samples": images}
