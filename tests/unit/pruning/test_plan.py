import pytest
import torch

from gdbench.pruning.plan import GroupState, floor_channels, plan_tick


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
