"""Global ranking: which channels a Tick removes (paper §3.3, authors' `get_threshold`).

Every channel of every prunable group is ranked together by its group score. A group channel
removes one filter per member layer, so the plan counts filters, not group channels. Each group
keeps at least its floor, the top max(1, int(floor_ratio · original width)) channels
(authors' `minimal_filter`, floor_ratio 0.1).

Channel alignment (`round_to`, not in the paper): with round_to r > 1 a group's channels leave in
blocks, so that every width a group passes through is a multiple of r (its first block takes a
width that is not one down to the next multiple). A block is ranked by the mean score of its
channels, the group's lowest-scored first; r = 1 is the paper's channel-by-channel ranking.
Hardware runs convolutions in tiles of 8 or 16 channels, so a width of 57 costs what 64 does.
"""

from __future__ import annotations

import math
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

# One removal candidate: (score, group index, channels). A channel alone when round_to is 1, else a
# block of the group's lowest-scored channels ranked by their mean score.
Candidate = tuple[float, int, tuple[int, ...]]


def aligned_widths(width: int, floor: int, round_to: int = 1) -> list[int]:
    """The widths, below `width` and widest first, that a group may be cut to: every width down to
    its floor when round_to is 1, else the multiples of round_to at or above the floor (a group no
    wider than round_to keeps its width)."""
    if round_to < 1:
        raise ValueError(f"round_to must be a positive integer, got {round_to}")
    lowest = max(1, min(floor, width))
    if round_to == 1:
        return list(range(width - 1, lowest - 1, -1))
    start = (width - 1) // round_to * round_to
    return [kept for kept in range(start, 0, -round_to) if kept >= lowest]


def aligned_width(target: int, width: int, floor: int, round_to: int = 1) -> int:
    """The width a group cut towards `target` channels gets: the nearest width it may have
    (aligned_widths), never below the lowest of them; `width` when it may not be cut."""
    allowed = aligned_widths(width, floor, round_to)
    if not allowed or target >= width:
        return width
    return min(allowed, key=lambda kept: (abs(kept - target), kept))


def removal_order(groups: list[GroupState], round_to: int = 1) -> list[Candidate]:
    """Every channel (or block of channels, round_to > 1) a Tick may remove, lowest score first, as
    (score, group index, channels): all but the top `floor` channels of each group, and with
    round_to > 1 only so many that each group's width stays a multiple of it. Ties keep group then
    channel order."""
    candidates = []
    for index, group in enumerate(groups):
        scores = group.scores.detach().cpu().double()
        order = torch.argsort(scores, stable=True).tolist()
        width, above, previous = len(order), len(order), -math.inf
        for rank, kept in enumerate(aligned_widths(width, group.floor, round_to)):
            block = order[width - above : width - kept]  # the channels between the last width and this one
            above = kept
            # a group's blocks in their order, so that a prefix of the ranking never skips one (the
            # means rise block by block; max() guards against rounding in them)
            previous = max(previous, float(scores[block].mean()))
            candidates.append((previous, index, rank, tuple(block)))
    candidates.sort(key=lambda candidate: candidate[:3])
    return [(score, index, block) for score, index, _, block in candidates]


def planned_removals(
    groups: list[GroupState], order: list[Candidate], prune_fraction: float, rule: str = "threshold"
) -> int:
    """How many candidates of `order` (a prefix) one Tick removes for `prune_fraction` of the
    remaining filters, a group channel counting once per member filter (a block once per channel).

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
        for taken, (_, index, channels) in enumerate(order):
            if removed >= to_remove:
                return taken
            removed += groups[index].members * len(channels)
        return len(order)
    num = int(prune_fraction * remaining)
    threshold, seen = None, 0
    for score, index, channels in order:
        if score == 0:
            continue
        seen += groups[index].members * len(channels)
        if seen > num:
            threshold = score
            break
    if threshold is None:  # fewer non-zero candidates than num: all of them go
        return len(order)
    return sum(1 for score, _, _ in order if score <= threshold)


def keep_masks(groups: list[GroupState], order: list[Candidate], count: int) -> list[torch.Tensor]:
    """Keep-masks (True = keep), one per group, removing the first `count` candidates of `order`."""
    keeps = [torch.ones(g.scores.numel(), dtype=torch.bool) for g in groups]
    for _, index, channels in order[:count]:
        keeps[index][list(channels)] = False
    return keeps


def plan_tick(
    groups: list[GroupState], prune_fraction: float, rule: str = "count", round_to: int = 1
) -> list[torch.Tensor]:
    """Keep-masks (True = keep), one per group, for one Tick of `prune_fraction` under `rule`
    (planned_removals): the globally lowest-scored channels go, each group keeping its floor."""
    order = removal_order(groups, round_to)
    return keep_masks(groups, order, planned_removals(groups, order, prune_fraction, rule))
