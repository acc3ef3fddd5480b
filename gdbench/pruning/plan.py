"""Global ranking: which channels a Tick removes (paper §3.3, authors' `get_threshold`).

Every channel of every prunable group is ranked together by its group score. A group channel
removes one filter per member layer, so the plan counts filters, not group channels. Each group
keeps at least its floor, the top max(1, int(floor_ratio · original width)) channels
(authors' `minimal_filter`, floor_ratio 0.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GroupState:
    """What the planner needs to know about one prunable group."""

    scores: torch.Tensor  # (C,) current per-channel group score
    members: int  # filters removed per group channel
    floor: int  # channels the group always keeps


def floor_channels(original_width: int, floor_ratio: float) -> int:
    return max(1, int(floor_ratio * original_width))


def group_states(groups, scores: list[torch.Tensor], floor_ratio: float) -> list[GroupState]:
    """The planner's view of prunable GateGraph groups, given one score vector per group."""
    return [
        GroupState(score, len(group.names), floor_channels(group.original_width, floor_ratio))
        for group, score in zip(groups, scores)
    ]


REMOVAL_RULES = ("threshold", "count")


def removal_order(groups: list[GroupState]) -> list[tuple[float, int, int]]:
    """Every channel a Tick may remove, lowest score first, as (score, group index, channel): all
    but the top `floor` channels of each group. Ties keep group then channel order."""
    candidates = []
    for index, group in enumerate(groups):
        protected = min(group.floor, group.scores.numel())
        order = torch.argsort(group.scores.detach().cpu().double(), stable=True)
        for channel in order[: group.scores.numel() - protected].tolist():
            candidates.append((float(group.scores[channel]), index, channel))
    candidates.sort()
    return candidates


def planned_removals(
    groups: list[GroupState], order: list[tuple[float, int, int]], prune_fraction: float, rule: str = "threshold"
) -> int:
    """How many channels of `order` (a prefix) one Tick removes for `prune_fraction` of the
    remaining filters, a group channel counting once per member filter.

    threshold  the authors' rule (`prune/universal.py`, `get_threshold` and `set_mask`):
               num = int(p · remaining filters); the threshold is the num-th smallest non-zero
               score (0-based, each channel repeated once per member); every channel scoring at or
               below it goes, so at least num + 1 filters, and every channel scoring exactly 0
               (dead) goes as well, outside the count.
    count      channels one by one until max(1, round(p · remaining)) filters are gone, dead ones
               counted in the budget.
    """
    if not 0 < prune_fraction < 1:
        raise ValueError(f"prune_fraction must be in (0, 1), got {prune_fraction}")
    if rule not in REMOVAL_RULES:
        raise ValueError(f"removal rule must be one of {REMOVAL_RULES}, got {rule!r}")
    remaining = sum(g.scores.numel() * g.members for g in groups)
    if rule == "count":
        to_remove, removed = max(1, round(prune_fraction * remaining)), 0
        for taken, (_, index, _) in enumerate(order):
            if removed >= to_remove:
                return taken
            removed += groups[index].members
        return len(order)
    num = int(prune_fraction * remaining)
    threshold, seen = None, 0
    for score, index, _ in order:
        if score == 0:
            continue
        seen += groups[index].members
        if seen > num:
            threshold = score
            break
    if threshold is None:  # fewer non-zero candidates than num: all of them go
        return len(order)
    return sum(1 for score, _, _ in order if score <= threshold)


def keep_masks(groups: list[GroupState], order: list[tuple[float, int, int]], count: int) -> list[torch.Tensor]:
    """Keep-masks (True = keep), one per group, removing the first `count` channels of `order`."""
    keeps = [torch.ones(g.scores.numel(), dtype=torch.bool) for g in groups]
    for _, index, channel in order[:count]:
        keeps[index][channel] = False
    return keeps


def plan_tick(groups: list[GroupState], prune_fraction: float, rule: str = "count") -> list[torch.Tensor]:
    """Keep-masks (True = keep), one per group, for one Tick of `prune_fraction` under `rule`
    (planned_removals): the globally lowest-scored channels go, each group keeping its floor."""
    order = removal_order(groups)
    return keep_masks(groups, order, planned_removals(groups, order, prune_fraction, rule))
