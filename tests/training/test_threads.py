"""The thread count is chosen by timing real steps where other processes compete for the cores,
and chosen again after a collapse. Other processes' load is given, never the machine's own."""

import pytest

from rnntext.training import threads
from rnntext.training.threads import TRIAL_STEPS, ThreadTuner


def others_use(cores=1.0):
    """A measure_others whose reading is `cores` (another process holds that many cores)."""
    return lambda: lambda: cores


IDLE, NO_PROC_STAT = others_use(0.05), lambda: None


def _run(tuner, seconds_per_step, steps, tokens=1000):
    for _ in range(steps):
        tuner.after_step(seconds_per_step[tuner_threads[-1]], tokens)


tuner_threads = [2]


def test_the_fastest_count_wins_and_a_collapse_starts_a_new_trial(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    tuner = ThreadTuner([2, 1, 1], others=others_use())
    assert tuner.candidates == [2, 1] and tuner_threads[-1] == 2
    _run(tuner, {2: 0.10, 1: 0.05}, 2 * (TRIAL_STEPS + 1))  # a busy machine: one thread is twice as fast
    assert tuner.chosen == 1 and tuner_threads[-1] == 1 and tuner.speed == 1000 / 0.05
    assert tuner.choices == [{"threads": 1, "tokens_per_s": {2: 10_000, 1: 20_000}, "trial": True, "other_cores": 1.0}]
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
    tuner = ThreadTuner([2, 1], others=others_use())
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
    tuner = ThreadTuner([2, 1], clock=lambda: now[0], others=others_use())
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
    tuner = ThreadTuner([2, 1], others=others_use(0.25))  # at the threshold: a trial
    for seconds in (0.1, 0.02, 0.02, 0.5, 0.02):  # 2 threads: the untimed first step, then one step slowed tenfold
        tuner.after_step(seconds, 1000)
    for seconds in (0.1, 0.03, 0.03, 0.03, 0.03):
        tuner.after_step(seconds, 1000)
    assert tuner.chosen == 2 and tuner.speed == pytest.approx(1000 / 0.02)


def test_an_idle_machine_keeps_the_full_count_from_the_first_step(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    start = len(tuner_threads)
    tuner = ThreadTuner([2, 1], others=others_use(0.24))  # just under BUSY_CORES
    assert tuner.trying  # the first steps are measured before anything is kept
    _run(tuner, {2: 0.04, 1: 0.05}, TRIAL_STEPS + 1)
    assert not tuner.trying and tuner.chosen == 2 and tuner_threads[start:] == [2, 2]  # never one thread
    assert tuner.speed == 1000 / 0.04
    assert tuner.choices == [{"threads": 2, "tokens_per_s": {2: 25_000}, "trial": False, "other_cores": 0.24}]
    _run(tuner, {2: 0.04, 1: 0.05}, 10)
    tuner.check()  # the speed holds: nothing more to try
    assert not tuner.trying and len(tuner.choices) == 1


def test_a_busy_machine_and_one_that_cannot_say_time_every_count(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    too_short = others_use(None)  # measured, but over too few clock ticks to tell
    for others, measured in ((others_use(0.9), 0.9), (NO_PROC_STAT, None), (too_short, None)):
        tuner = ThreadTuner([2, 1], others=others)
        _run(tuner, {2: 0.10, 1: 0.04}, TRIAL_STEPS + 1)
        assert tuner.trying and tuner_threads[-1] == 1  # the full count's steps were timed; now one thread's
        _run(tuner, {2: 0.10, 1: 0.04}, TRIAL_STEPS + 1)
        assert tuner.chosen == 1 and tuner.speed == 1000 / 0.04
        assert tuner.choices == [{"threads": 1, "tokens_per_s": {2: 10_000, 1: 25_000}, "trial": True,
                                  "other_cores": measured}]


def test_after_a_choice_without_a_trial_a_collapse_still_starts_one(monkeypatch):
    monkeypatch.setattr(threads, "set_threads", tuner_threads.append)
    tuner = ThreadTuner([2, 1], others=IDLE)
    _run(tuner, {2: 0.04, 1: 0.05}, TRIAL_STEPS + 1)
    assert tuner.chosen == 2 and tuner.choices[0]["trial"] is False
    later = {2: 0.2, 1: 0.05}  # another process has started: 2 threads crawl
    _run(tuner, later, 10)
    tuner.check()  # 5,000 tokens/s against 25,000: a trial, as after any choice
    assert tuner.trying and tuner_threads[-1] == 2
    _run(tuner, later, 2 * (TRIAL_STEPS + 1))
    assert tuner.chosen == 1 and tuner_threads[-1] == 1 and tuner.speed == 1000 / 0.05
    assert tuner.choices[-1] == {"threads": 1, "tokens_per_s": {2: 5_000, 1: 20_000}}  # later trials: as before


def test_other_processes_are_the_busy_time_less_this_process_over_the_wall_time(monkeypatch):
    stat = {"busy": 100.0, "own": 3.0, "now": 50.0}
    monkeypatch.setattr(threads, "_busy_s", lambda cpus: stat["busy"])
    monkeypatch.setattr(threads.time, "process_time", lambda: stat["own"])
    monkeypatch.setattr(threads.time, "monotonic", lambda: stat["now"])
    read = threads.measure_others()
    stat.update(busy=102.4, own=4.8, now=51.0)  # 2.4 core-seconds busy in 1 s, 1.8 of them this process's
    assert read() == pytest.approx(0.6)
    stat.update(busy=102.9, own=6.0, now=52.0)  # since the start: 2.9 busy, 3.0 this process's (ticks undercount it)
    assert read() == 0.0  # never below none
    stat["now"] = 50.0 + threads.MEASURE_S / 2
    assert read() is None  # too short a window to tell
    monkeypatch.setattr(threads, "_busy_s", lambda cpus: None)
    assert threads.measure_others() is None  # no /proc/stat (macOS, Windows)


def test_proc_stat_is_read_for_the_given_cpus(monkeypatch, tmp_path):
    lines = ["cpu  30 0 10 500 5 0 0 0 0 0", "cpu0 10 0 5 250 5 0 0 0 0 0", "cpu1 20 0 5 250 0 1 1 2 0 0", "intr 1 2"]
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(tmp_path / "stat", *a, **k)
                        if path == "/proc/stat" else real_open(path, *a, **k))
    (tmp_path / "stat").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    assert threads._busy_s({0}) == pytest.approx(0.15)  # user + system; idle and iowait are not busy
    assert threads._busy_s({1}) == pytest.approx(0.29)  # irq, softirq and steal are
    assert threads._busy_s(None) == pytest.approx(0.44)
    assert threads._busy_s({5}) is None
