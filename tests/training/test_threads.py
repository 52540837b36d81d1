"""The thread count is chosen by timing real steps, and chosen again after a collapse."""

import pytest

from rnntext.training import threads
from rnntext.training.threads import TRIAL_STEPS, ThreadTuner


def _run(tuner, seconds_per_step, steps, tokens=1000):
    for _ in range(steps):
        tuner.after_step(seconds_per_step[tuner_threads[-1]], tokens)


tuner_threads = [2]


def test_the_fastest_count_wins_and_a_collapse_starts_a_new_trial(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    tuner = ThreadTuner([2, 1, 1])
    assert tuner.candidates == [2, 1] and tuner_threads[-1] == 2
    _run(tuner, {2: 0.10, 1: 0.05}, 2 * (TRIAL_STEPS + 1))  # a busy machine: one thread is twice as fast
    assert tuner.chosen == 1 and tuner_threads[-1] == 1 and tuner.speed == 1000 / 0.05
    assert tuner.choices == [{"threads": 1, "tokens_per_s": {2: 10_000, 1: 20_000}}]
    _run(tuner, {2: 0.10, 1: 0.06}, 10)
    tuner.check()  # 16,700 tokens/s: above 60% of 20,000, no new trial
    assert tuner_threads[-1] == 1 and len(tuner.choices) == 1
    _run(tuner, {2: 0.04, 1: 0.2}, 10)
    tuner.check()  # 5,000 tokens/s: collapsed, so every count is timed again
    assert tuner_threads[-1] == 2
    _run(tuner, {2: 0.04, 1: 0.2}, 2 * (TRIAL_STEPS + 1))
    assert tuner.chosen == 2 and tuner.choices[-1]["tokens_per_s"] == {2: 25_000, 1: 5_000}


def test_tiny_steps_and_one_candidate_leave_the_default(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    assert not ThreadTuner([4]).active and not ThreadTuner([]).active
    tuner = ThreadTuner([2, 1])
    _run(tuner, {2: 0.0001, 1: 0.0001}, TRIAL_STEPS + 1)
    assert not tuner.active and tuner_threads[-1] == 2  # not worth a trial: the default stays


def test_explicit_threads_and_the_numpy_engine_are_left_alone():
    class Engine:
        name = "numpy"

    assert not ThreadTuner.for_engine(Engine(), 0).active
    Engine.name = "torch"
    assert not ThreadTuner.for_engine(Engine(), 2).active  # --threads 2: the user's choice


def test_fewer_threads_than_cores_are_timed_again_and_a_core_given_back_is_used(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    now = [0.0]
    tuner = ThreadTuner([2, 1], clock=lambda: now[0])
    busy = {2: 0.30, 1: 0.05}  # another process holds a core: 2 threads crawl
    _run(tuner, busy, 2 * (TRIAL_STEPS + 1))
    assert tuner.chosen == 1
    now[0] += threads.RETRY_S - 1
    _run(tuner, busy, 10)
    tuner.check()
    assert tuner_threads[-1] == 1  # not yet
    now[0] += 1
    _run(tuner, busy, 10)
    tuner.check()  # a minute on one thread: time both again
    assert tuner_threads[-1] == 2
    _run(tuner, busy, 2 * (TRIAL_STEPS + 1))  # still busy: one thread stays, and the next try waits twice as long
    assert tuner.chosen == 1 and tuner._retry_s == 2 * threads.RETRY_S
    now[0] += 2 * threads.RETRY_S
    _run(tuner, busy, 10)
    tuner.check()
    assert tuner_threads[-1] == 2
    idle = {2: 0.03, 1: 0.05}  # the other process has ended
    _run(tuner, idle, 2 * (TRIAL_STEPS + 1))
    assert tuner.chosen == 2 and tuner.choices[-1]["tokens_per_s"] == {2: round(1000 / 0.03), 1: 20_000}
    now[0] += 10 * threads.RETRY_S
    _run(tuner, idle, 10)
    tuner.check()  # all the cores: nothing to gain by trying fewer unless the speed collapses
    assert tuner_threads[-1] == 2 and not tuner.trying


def test_a_trial_takes_the_median_step(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    tuner = ThreadTuner([2, 1])
    for seconds in (0.1, 0.02, 0.02, 0.5, 0.02):  # 2 threads: the untimed first step, then one step slowed tenfold
        tuner.after_step(seconds, 1000)
    for seconds in (0.1, 0.03, 0.03, 0.03, 0.03):
        tuner.after_step(seconds, 1000)
    assert tuner.chosen == 2 and tuner.speed == pytest.approx(1000 / 0.02)
