"""The time budget and the schedule that follows it, with given step times (a fake clock): no
test here measures a duration."""

import math

import pytest

from rnntext.config import TrainConfig
from rnntext.training.budget import Budget, resumed_progress, scheduled_before
from rnntext.training.schedules import follows_budget, lr_at


class Clock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


AUTO = TrainConfig(lr=0.003, time_limit=60.0)  # the default schedule with a time limit


def _train(budget: Budget, clock: Clock, step_s) -> list[tuple[float, float]]:
    """Step until the budget is over; (seconds since the command began, lr) of every step.
    `step_s(t)`: how long a step takes `t` seconds into the command."""
    budget.begin()
    steps = []
    while not budget.over():
        steps.append((clock.now - budget.started, lr_at(AUTO, len(steps), 0, 1.0, budget.progress())))
        clock.now += step_s(clock.now - budget.started)
    return steps


@pytest.mark.parametrize("case", ["idle", "busy", "busy from 30% to 60%", "fast then slow"])
def test_the_rate_reaches_its_floor_in_the_last_3_percent_whatever_the_speed(case):
    # 60 s from the command's start: 4 s of preparing and probing, the last validation 1.5 s
    step_s = {"idle": lambda t: 0.02, "busy": lambda t: 0.09,
              "busy from 30% to 60%": lambda t: 0.2 if 18 <= t < 36 else 0.02,
              "fast then slow": lambda t: 0.01 if t < 10 else 0.3}[case]
    clock = Clock()
    budget = Budget(60.0, clock.now, clock=clock)
    clock.now += 4.0
    budget.measured_final(1.25)  # kept back: 1.5 s
    steps = _train(budget, clock, step_s)
    floor_at = 0.97 * 60
    assert all(lr > 1e-3 * AUTO.lr for t, lr in steps if t < 0.9 * 60)  # never near the floor early
    last_t, last_lr = steps[-1]
    assert last_t >= floor_at - 0.3 and last_lr < 0.01 * AUTO.lr  # the last step is at the floor, at the end
    assert steps[0][1] == pytest.approx(AUTO.lr)  # and the first at the peak
    lrs = [lr for _, lr in steps]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # monotone whatever the step times did


def test_a_predicted_iteration_count_would_have_ended_early_and_the_budget_does_not():
    # the old rule fitted a cosine length from the first steps' speed: steps 10x slower after 10 s
    # would have ended the schedule nowhere near the deadline; by time, half the budget is half the cosine
    clock = Clock()
    budget = Budget(100.0, clock.now, clock=clock)
    budget.keep_back(0.0)
    budget.begin()
    clock.now += 50.0
    assert budget.progress() == pytest.approx(0.5)
    assert lr_at(AUTO, 10, 0, 1.0, budget.progress()) == pytest.approx(0.5 * AUTO.lr)


def test_a_resume_continues_the_schedule_of_the_whole():
    clock = Clock()
    first = Budget(60.0, clock.now, clock=clock)
    first.keep_back(0.0)
    first.begin()
    clock.now += 20.0  # interrupted at 20 s
    at_interrupt = first.progress()
    assert first.record() == {"scheduled_s": 20.0}
    state = {"budget": first.record(), "elapsed_s": 20.0}
    second = Budget(40.0, clock.now, scheduled_before=scheduled_before(state), clock=clock)
    second.keep_back(0.0)
    second.begin()
    assert second.progress() == pytest.approx(at_interrupt) == pytest.approx(1 / 3)
    clock.now += 40.0
    assert second.progress() == 1.0 and second.over()


def test_a_finished_run_given_more_time_restarts_below_its_peak_and_anneals_again():
    # a finished 120-s run resumed with --time-limit 60: the schedule spans 180 s in all
    assert resumed_progress(60.0, 120.0, startup_s=0.0) == pytest.approx(120 / 179)
    share = lr_at(AUTO, 0, 0, 1.0, resumed_progress(60.0, 120.0)) / AUTO.lr
    assert 0.2 < share < 0.3  # a quarter of the peak: trains, and never a budget at the floor
    clock = Clock()
    budget = Budget(60.0, clock.now, scheduled_before=120.0, clock=clock)
    budget.keep_back(1.0)
    budget.begin()
    clock.now += 30.0
    assert 0 < lr_at(AUTO, 0, 0, 1.0, budget.progress()) < share * AUTO.lr


def test_what_a_checkpoint_says_was_scheduled():
    assert scheduled_before(None) == 0.0
    assert scheduled_before({"budget": {"scheduled_s": 12.5}, "elapsed_s": 99.0}) == 12.5
    # written before the budget was recorded: a time-limited run's whole time; an unlimited run's none
    assert scheduled_before({"elapsed_s": 30.0, "config": {"train": {"time_limit": 60.0}}}) == 30.0
    assert scheduled_before({"elapsed_s": 30.0, "config": {"train": {"time_limit": 0.0}}}) == 0.0


def test_without_a_limit_nothing_stops_and_the_schedule_stays_at_its_peak():
    clock = Clock()
    budget = Budget(0.0, clock.now, clock=clock)
    budget.begin()
    clock.now += 1e6
    assert not budget.over() and budget.progress() is None and budget.remaining() == math.inf
    assert lr_at(TrainConfig(lr=0.01), 10**6, 99, 1.0, budget.progress()) == 0.01
    assert not follows_budget(TrainConfig()) and follows_budget(TrainConfig(time_limit=5.0))
    assert not follows_budget(TrainConfig(time_limit=5.0, lr_schedule="cosine", cosine_iters=100))


def test_a_shrinking_reserve_never_takes_the_schedule_back():
    # the reserve estimated from the training speed (20 s) turns out larger than the first
    # validation measured (5 s, kept back as 6): the deadline moves 14 s later, and the share
    # spent would fall from 0.5 to about 0.43; the schedule keeps its place instead
    clock = Clock()
    budget = Budget(60.0, clock(), clock=clock)
    budget.begin()
    budget.keep_back(20.0)
    clock.now += 20.0
    assert budget.progress() == pytest.approx(20.0 / 40.0)
    budget.measured_final(5.0)
    assert budget.progress() == pytest.approx(0.5)
    clock.now += 10.0
    assert budget.progress() == pytest.approx(30.0 / 54.0)  # then it moves on along the later deadline
