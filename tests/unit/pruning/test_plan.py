import pytest
import torch

from gdbench.pruning.plan import GroupState, aligned_width, aligned_widths, floor_channels, plan_tick


def test_global_ranking_takes_the_lowest_scores_across_groups():
    groups = [
        GroupState(torch.tensor([0.9, 0.1, 0.8, 0.7]), members=1, floor=1),
        GroupState(torch.tensor([0.2, 0.95, 0.3, 0.6]), members=1, floor=1),
    ]
    keeps = plan_tick(groups, prune_fraction=3 / 8)  # 3 of 8 filters
    assert keeps[0].tolist() == [True, False, True, True]
    assert keeps[1].tolist() == [False, True, False, True]


def test_group_channels_count_once_per_member_filter():
    """Removing one channel of a 3-member group removes 3 filters (authors' `count`)."""
    groups = [
        GroupState(torch.tensor([0.1, 0.5, 0.9]), members=3, floor=1),
        GroupState(torch.tensor([0.2, 0.3, 0.4]), members=1, floor=1),
    ]
    keeps = plan_tick(groups, prune_fraction=3 / 12)
    assert keeps[0].tolist() == [False, True, True]
    assert keeps[1].all()


def test_floor_keeps_the_top_channels_of_every_group():
    groups = [
        GroupState(torch.tensor([0.0] * 10 + [5.0] * 10), members=1, floor=floor_channels(20, 0.1)),
        GroupState(torch.tensor([0.01, 0.02]), members=1, floor=1),
    ]
    keeps = plan_tick(groups, prune_fraction=0.99)
    assert keeps[0].sum() == 2 and keeps[0][10:].any()
    assert keeps[1].sum() == 1 and bool(keeps[1][1])


def test_floor_default_is_max_one_and_a_tenth():
    assert [floor_channels(c, 0.1) for c in (1, 9, 10, 64)] == [1, 1, 1, 6]


def test_at_least_one_channel_goes_each_tick():
    keeps = plan_tick([GroupState(torch.tensor([0.3, 0.2, 0.1]), 1, 1)], prune_fraction=1e-6)
    assert keeps[0].tolist() == [True, True, False]


def test_bad_fraction_is_refused():
    with pytest.raises(ValueError, match="prune_fraction"):
        plan_tick([GroupState(torch.ones(3), 1, 1)], prune_fraction=1.5)


def _authors_masks(groups, p):
    """The authors' `get_threshold` and `set_mask` (prune/universal.py), re-implemented with numpy
    as the reference: num = int(left · p) with left the filters still there, the threshold the
    num-th smallest non-zero score of the non-protected channels (each repeated once per member),
    a channel kept if it is among its group's top `minimal` or scores above the threshold."""
    import numpy as np

    left = sum(g.scores.numel() * g.members for g in groups)
    num = int(left * p)
    pool = []
    for g in groups:
        sorted_score = np.sort(g.scores.numpy())[: -g.floor]
        pool += [sorted_score[sorted_score != 0]] * g.members
    threshold = np.sort(np.concatenate(pool))[num]
    masks = []
    for g in groups:
        scores = g.scores.numpy()
        hard = scores >= float(np.sort(scores)[-g.floor])
        masks.append(torch.from_numpy(hard | (scores > threshold)))
    return masks


def test_threshold_rule_is_the_authors_dead_channels_go_free():
    """Their first ResNet-56 Tick: 2128 filters, p = 0.2 %, 41 dead channels: num = int(4.256) = 4,
    so the 41 dead and the 4 + 1 lowest-scored others go (2128 -> 2087, their notebook's log)."""
    generator = torch.Generator().manual_seed(0)
    widths = [16] * 19 + [32] * 19 + [64] * 19  # ResNet-56's 57 BNs: 2128 filters
    scores = torch.rand(sum(widths), generator=generator) + 0.01
    scores[torch.randperm(sum(widths), generator=generator)[:41]] = 0.0
    groups = [
        GroupState(chunk.clone(), members=1, floor=floor_channels(len(chunk), 0.1))
        for chunk in torch.split(scores, widths)
    ]
    keeps = plan_tick(groups, 0.002, rule="threshold")
    assert all(torch.equal(k, e) for k, e in zip(keeps, _authors_masks(groups, 0.002)))
    assert sum(int((~k).sum()) for k in keeps) == 46


@pytest.mark.parametrize("members", [1, 3])
def test_threshold_rule_matches_the_authors_on_random_groups(members):
    generator = torch.Generator().manual_seed(members)
    groups = []
    for width in (8, 16, 24, 40):
        scores = torch.rand(width, generator=generator)
        scores[torch.rand(width, generator=generator) < 0.2] = 0.0
        groups.append(GroupState(scores, members=members if width == 16 else 1, floor=floor_channels(width, 0.1)))
    for p in (0.01, 0.05, 0.2):
        keeps = plan_tick(groups, p, rule="threshold")
        assert all(torch.equal(k, e) for k, e in zip(keeps, _authors_masks(groups, p))), p


def test_count_rule_counts_dead_channels_in_the_budget():
    groups = [GroupState(torch.tensor([0.0, 0.0, 0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]), members=1, floor=1)]
    assert int((~plan_tick(groups, 0.2, rule="count")[0]).sum()) == 2  # round(0.2 · 10), dead or not
    assert int((~plan_tick(groups, 0.2, rule="threshold")[0]).sum()) == 3 + 3  # 3 dead free, int(2) + 1


# -- channel alignment (round_to) -------------------------------------------------------------------


def test_round_to_removes_the_lowest_scored_channels_in_blocks_leaving_multiples():
    scores = torch.tensor([0.9, 0.05, 0.8, 0.01, 0.7, 0.6, 0.02, 0.5, 0.4, 0.03, 0.3, 0.2] + [1.0] * 8)
    groups = [GroupState(scores, members=1, floor=1)]
    keeps = plan_tick(groups, prune_fraction=0.1, round_to=8)  # 2 of 20 filters: one block goes
    assert int(keeps[0].sum()) == 16  # 20 -> 16: the first block takes the width to a multiple of 8
    assert sorted(torch.nonzero(~keeps[0]).flatten().tolist()) == [1, 3, 6, 9]  # the four lowest
    keeps = plan_tick(groups, prune_fraction=0.3, round_to=8)  # 6 of 20: two blocks
    assert int(keeps[0].sum()) == 8
    assert keeps[0][12:].all()  # the eight highest stay


def test_round_to_ranks_blocks_across_groups_by_their_mean_score():
    low_mean = GroupState(torch.tensor([0.0, 0.0, 0.0, 0.9, 1.0, 1.0, 1.0, 1.0]), members=1, floor=1)
    low_min = GroupState(torch.tensor([-0.1, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]), members=1, floor=1)
    keeps = plan_tick([low_mean, low_min], prune_fraction=0.25, round_to=4)  # 4 of 16: one block
    assert keeps[0].tolist() == [False] * 4 + [True] * 4  # mean 0.225 beats 0.35, though -0.1 is lowest
    assert keeps[1].all()


def test_round_to_never_cuts_a_group_no_wider_than_it_and_keeps_the_floor_rounded_up():
    narrow = GroupState(torch.zeros(8), members=1, floor=1)
    wide = GroupState(torch.arange(64.0), members=1, floor=floor_channels(64, 0.1))  # floor 6
    keeps = plan_tick([narrow, wide], prune_fraction=0.99, round_to=8)
    assert keeps[0].all()
    assert int(keeps[1].sum()) == 8  # 6 rounded up to the next multiple of 8
    assert aligned_widths(20, 1, 8) == [16, 8] and aligned_widths(5, 1, 1) == [4, 3, 2, 1]
    assert aligned_width(30, 64, 6, 16) == 32 and aligned_width(3, 64, 6, 16) == 16
    assert aligned_width(70, 64, 6, 16) == 64 and aligned_width(3, 12, 2, 16) == 12


def test_round_to_one_removes_channel_by_channel_in_global_score_order():
    """Reference: walk every channel of every group in ascending score, counting its group's
    members, until round(p · filters) filters are gone (floors do not bind at these p)."""
    generator = torch.Generator().manual_seed(3)
    groups = [GroupState(torch.rand(n, generator=generator), m, 1) for n, m in ((16, 1), (32, 2), (24, 1))]
    filters = sum(g.scores.numel() * g.members for g in groups)
    walk = sorted((float(s), i, c) for i, g in enumerate(groups) for c, s in enumerate(g.scores))
    for p in (0.01, 0.1, 0.4):
        expected, removed = set(), 0
        for _, index, channel in walk:
            if removed >= max(1, round(p * filters)):
                break
            expected.add((index, channel))
            removed += groups[index].members
        keeps = plan_tick(groups, p, rule="count", round_to=1)
        assert {(i, c) for i, k in enumerate(keeps) for c in torch.nonzero(~k).flatten().tolist()} == expected
