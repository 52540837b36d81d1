"""The thread count is chosen by timing real steps, and chosen again after a collapse."""

from rnntext.training import threads
from rnntext.training.threads import TRIAL_STEPS, ThreadTuner


def _run(tuner, seconds_per_step, steps, tokens=1000):
    for _ in range(steps):
        tuner.after_step(seconds_per_step[tuner_threads[-1]], tokens)


tuner_threads = [2]


def test_the_fastest_count_wins_and_a_collapse_starts_a_new_trial(monkeypatch):
    monkeypatch.setattr(threads, "_set_threads", tuner_threads.append)
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
    monkeypatch.setattr(threads, "_set_threads", tuner_threads.append)
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
