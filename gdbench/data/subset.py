"""Reduced datasets: a seeded subset of a split, stratified by class where the split has classes.

`data.train_per_class` / `data.test_per_class` keep at most that many images of each class;
`data.train_fraction` / `data.test_fraction` keep that share of each class (of the whole split
for segmentation, whose samples have no single class). The subset is drawn with the loader seed
(fixed, not the experiment's seed), so every seed and every method of an experiment trains and is
tested on the same images, and a training subset is drawn from the training split only: it can
never hold a test image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch


def subset_indices(
    count: int, labels: Sequence[int] | None, per_class: int | None, fraction: float | None, seed: int
) -> torch.Tensor | None:
    """Sorted indices into a split of `count` samples, or None when nothing is asked for."""
    if per_class is None and fraction is None:
        return None
    if per_class is not None and fraction is not None:
        raise ValueError("give per_class or fraction, not both")
    generator = torch.Generator().manual_seed(seed)
    if labels is None:
        if per_class is not None:
            raise ValueError("per_class needs a classification split; use fraction")
        keep = max(1, round(fraction * count))
        return torch.randperm(count, generator=generator)[:keep].sort().values
    labels = torch.as_tensor(labels)
    chosen = []
    for label in labels.unique().tolist():
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        keep = per_class if per_class is not None else max(1, round(fraction * len(members)))
        chosen.append(members[:keep])
    return torch.cat(chosen).sort().values


def describe(indices: torch.Tensor | None, count: int, labels: Sequence[int] | None) -> dict:
    """What a subset kept, for the job's record: sizes and, with labels, images per class."""
    kept = torch.arange(count) if indices is None else indices
    record = {"kept": int(len(kept)), "of": int(count)}
    if indices is not None:  # a whole split needs no digest (ImageNet's would cost every job a second)
        record["indices_md5"] = hashlib.md5(",".join(map(str, kept.tolist())).encode()).hexdigest()
    if labels is not None:
        counts = torch.bincount(torch.as_tensor(labels)[kept]) if len(kept) else torch.zeros(1, dtype=torch.long)
        record["per_class_min"], record["per_class_max"] = int(counts.min()), int(counts.max())
    return record
