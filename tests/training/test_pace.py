"""The plan's speed held against the speed training reaches (given windows: no clock)."""

import types

import pytest

from rnntext.training.budget import Pace, pace_words


def _budget(remaining: float, limit: float = 600.0):
    return types.SimpleNamespace(limited=True, limit=limit, remaining=lambda: remaining)


RECIPE = {"tokens_per_s": {"256": 20_000}, "model": {"hidden_sizes": [256]}, "expected_epochs": 11.4}


def test_within_a_factor_of_1_5_nothing_is_said():
    events = []
    pace = Pace(dict(RECIPE), 1_000_000, events.append)
    pace.add(30.0, 30 * 15_000)  # 0.75 of the plan's speed
    pace.check(_budget(540.0), 0.45)
    assert events == []


def test_a_speed_change_mid_run_is_said_with_the_passes_it_means_and_recorded():
    events, recipe = [], dict(RECIPE)
    pace = Pace(recipe, 1_000_000, events.append)
    pace.add(4.0, 4 * 5_000)
    pace.check(_budget(590.0), 0.02)
    assert events == []  # too early to judge (5% of the limit)
    pace.add(56.0, 56 * 5_000)  # a core was taken: a quarter of the speed the probe measured
    pace.check(_budget(540.0), 0.3)
    assert len(events) == 1
    event = events[0]
    assert event["tokens_per_s"] == 5_000 and event["planned_tokens_per_s"] == 20_000
    assert event["expected_epochs"] == pytest.approx(0.3 + 5_000 * 540 / 1_000_000)
    assert recipe["paces"] == [{k: v for k, v in event.items() if k != "kind"}]
    assert pace_words(event).startswith("training runs at 5,000 tokens/s, 0.25 times the 20,000 assumed: "
                                        "about 3 passes over the training split (the plan said 11.4)")
    pace.add(60.0, 60 * 5_000)
    pace.check(_budget(480.0), 0.6)
    assert len(events) == 1  # said once: the speed it is now held against is the new one
    pace.add(30.0, 30 * 40_000)  # the core came back: the recent speed (the last 30 s) is what counts
    pace.check(_budget(200.0), 1.0)
    assert len(events) == 2 and events[1]["planned_tokens_per_s"] == 5_000 and events[1]["tokens_per_s"] == 40_000


def test_a_plan_without_a_probe_or_a_time_limit_says_nothing():
    events = []
    Pace({"model": {"hidden_sizes": [24]}}, 1000, events.append).check(_budget(10.0), 1.0)
    pace = Pace(dict(RECIPE), 1000, events.append)
    pace.add(100.0, 10)
    pace.check(types.SimpleNamespace(limited=False, limit=0.0, remaining=lambda: float("inf")), 1.0)
    assert events == []
