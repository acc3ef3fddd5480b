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


# DEVIATION: channels are taken one by one until the filter count is met; the authors prune every
# channel scoring <= the threshold (`get_threshold`), which removes more when scores tie.
def plan_tick(groups: list[GroupState], prune_fraction: float) -> list[torch.Tensor]:
    """Keep-masks (True = keep), one per group, removing the lowest-scored channels until at
    least `prune_fraction` of the remaining filters are gone (at least one channel)."""
    if not 0 < prune_fraction < 1:
        raise ValueError(f"prune_fraction must be in (0, 1), got {prune_fraction}")
    keeps = [torch.ones(g.scores.numel(), dtype=torch.bool) for g in groups]
    remaining = sum(g.scores.numel() * g.members for g in groups)
    to_remove = max(1, round(prune_fraction * remaining))
    candidates = []  # (score, group index, channel); the top `floor` of each group are excluded
    for index, group in enumerate(groups):
        protected = min(group.floor, group.scores.numel())
        order = torch.argsort(group.scores.detach().cpu().double(), stable=True)
        for channel in order[: group.scores.numel() - protected].tolist():
            candidates.append((float(group.scores[channel]), index, channel))
    candidates.sort()
    removed = 0
    for _, index, channel in candidates:
        if removed >= to_remove:
            break
        keeps[index][channel] = False
        removed += groups[index].members
    return keeps
