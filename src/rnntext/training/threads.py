"""The CPU thread count, chosen by timing real training steps, and again when the speed collapses.

torch uses one thread per core by default. On a machine that is busy with something else that
can be far slower than fewer threads: each step waits for its slowest thread, and a thread that
shares its core with another process is slow (measured on 2 cores with one busy-loop process
beside training: 3,600 tokens/s with 2 threads against 6,900 with 1). With `--threads 0`
(auto) the trainer tries each candidate count for a few real steps (none is wasted: they train),
keeps the fastest, and tries again when a window's speed falls well below the speed the choice
was made at. An explicit `--threads N`, the NumPy engine and GPUs are left alone.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

TRIAL_STEPS = 4  # timed steps per candidate (after one untimed step: the first pays for the switch)
COLLAPSE = 0.6  # a log window this much slower than the chosen speed starts a new trial
MIN_STEP_S = 0.002  # steps faster than this are not worth a trial


class ThreadTuner:
    """Call `after_step(seconds, tokens)` after each training step and `check()` after each log window."""

    def __init__(self, candidates: list[int]):
        self.candidates = sorted(set(candidates), reverse=True)
        self.active = len(self.candidates) > 1
        self.chosen = self.candidates[0] if self.candidates else 0
        self.speed = None  # tokens/s measured when the choice was made
        self.choices: list[dict] = []  # what each trial measured, for the run's record
        self._trial: dict | None = None
        self._window = [0.0, 0]  # seconds and tokens since the last check
        if self.active:
            self._start_trial()

    @classmethod
    def for_engine(cls, engine, threads: int) -> ThreadTuner:
        if threads or getattr(engine, "name", "") != "torch" or engine.device.type != "cpu":
            return cls([])
        import torch

        n = torch.get_num_threads()
        return cls([n, max(1, n // 2), 1] if n > 1 else [])

    def _start_trial(self) -> None:
        self._trial = {"index": 0, "step": 0, "seconds": 0.0, "tokens": 0, "speeds": {}}
        _set_threads(self.candidates[0])

    def after_step(self, seconds: float, tokens: int) -> None:
        if not self.active:
            return
        if self._trial is None:
            self._window[0] += seconds
            self._window[1] += tokens
            return
        t = self._trial
        t["step"] += 1
        if t["step"] > 1:  # the first step after a switch is not timed
            t["seconds"] += seconds
            t["tokens"] += tokens
        if t["step"] <= TRIAL_STEPS:
            return
        if t["seconds"] / TRIAL_STEPS < MIN_STEP_S:  # too small a model to matter: keep the default
            self.active = False
            _set_threads(self.candidates[0])
            return
        t["speeds"][self.candidates[t["index"]]] = t["tokens"] / t["seconds"]
        t.update(index=t["index"] + 1, step=0, seconds=0.0, tokens=0)
        if t["index"] < len(self.candidates):
            _set_threads(self.candidates[t["index"]])
            return
        self.chosen = max(t["speeds"], key=t["speeds"].get)
        self.speed = t["speeds"][self.chosen]
        self.choices.append({"threads": self.chosen, "tokens_per_s": {k: round(v) for k, v in t["speeds"].items()}})
        _set_threads(self.chosen)
        log.info("threads: %d (tokens/s by thread count: %s)", self.chosen, self.choices[-1]["tokens_per_s"])
        self._trial, self._window = None, [0.0, 0]

    def check(self) -> None:
        """At the end of a log window: start a new trial if the speed has collapsed."""
        seconds, tokens = self._window
        self._window = [0.0, 0]
        if self.active and self._trial is None and seconds > 0 and tokens / seconds < COLLAPSE * self.speed:
            log.info("training slowed to %.0f tokens/s from %.0f: trying the thread counts again",
                     tokens / seconds, self.speed)
            self._start_trial()


def _set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
