"""The CPU thread count, chosen by timing real training steps, and again when the speed
collapses or a core may have come back.

torch uses one thread per core by default. On a machine that is busy with something else that
can be far slower than fewer threads: each step waits for its slowest thread, and a thread that
shares its core with another process is slow (measured on 2 cores with one busy-loop process
beside training: 3,600 tokens/s with 2 threads against 6,900 with 1; for a small model the
factor reaches 100). With `--threads 0` (auto) the recipe's size probe times every candidate
count (rnntext.training.autosize), and the trainer tries each for a few real steps (none is
wasted: they train), keeps the fastest by the median step, and tries again when a window's
speed falls well below the speed the choice was made at, or, while it trains on fewer threads
than cores, every RETRY_S seconds (the other process may have ended). An explicit
`--threads N`, the NumPy engine and GPUs are left alone.
"""

from __future__ import annotations

import logging
import statistics
import time

log = logging.getLogger(__name__)

TRIAL_STEPS = 4  # timed steps per candidate (after one untimed step: the first pays for the switch)
COLLAPSE = 0.6  # a log window this much slower than the chosen speed starts a new trial
RETRY_S = 60.0  # seconds before a trial while fewer threads than cores are used (doubled each time it keeps them)
MIN_STEP_S = 0.002  # steps faster than this are not worth a trial

_default: list[int] = []  # torch's own count, read before anything here changes it


def default_threads() -> int:
    """torch's thread count as the process started (one per core, or OMP_NUM_THREADS)."""
    if not _default:
        import torch

        _default.append(torch.get_num_threads())
    return _default[0]


def candidates(engine, threads: int) -> list[int]:
    """The thread counts worth timing for `engine` (most first), or [] where the count is not
    ours to choose: an explicit --threads, the NumPy engine, a GPU, a single core."""
    if threads or getattr(engine, "name", "") != "torch" or engine.device.type != "cpu":
        return []
    n = default_threads()
    return sorted({n, max(1, n // 2), 1}, reverse=True) if n > 1 else []


def set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


class ThreadTuner:
    """Call `after_step(seconds, tokens)` after each training step and `check()` after each log window."""

    def __init__(self, counts: list[int], clock=time.monotonic):
        self.candidates = sorted(set(counts), reverse=True)
        self.active = len(self.candidates) > 1
        self.chosen = self.candidates[0] if self.candidates else 0
        self.speed = None  # tokens/s measured when the choice was made
        self.choices: list[dict] = []  # what each trial measured, for the run's record
        self.clock, self._chosen_at, self._retry_s = clock, clock(), RETRY_S
        self._trial: dict | None = None
        self._window = [0.0, 0]  # seconds and tokens since the last check
        if self.active:
            self._start_trial()

    @classmethod
    def for_engine(cls, engine, threads: int) -> ThreadTuner:
        return cls(candidates(engine, threads))

    @property
    def trying(self) -> bool:
        """Whether the steps now are a trial's (their speed is not the chosen count's)."""
        return self._trial is not None

    def _start_trial(self, retry: bool = False) -> None:
        self._trial = {"index": 0, "step": 0, "times": [], "tokens": 0, "speeds": {}, "retry": retry}
        set_threads(self.candidates[0])

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
            t["times"].append(seconds)
            t["tokens"] += tokens
        if t["step"] <= TRIAL_STEPS:
            return
        step_s = statistics.median(t["times"])  # one step slowed by another process does not decide
        if step_s < MIN_STEP_S:  # too small a model to matter: keep the default
            self.active = False
            set_threads(self.candidates[0])
            return
        t["speeds"][self.candidates[t["index"]]] = t["tokens"] / len(t["times"]) / step_s
        t.update(index=t["index"] + 1, step=0, times=[], tokens=0)
        if t["index"] < len(self.candidates):
            set_threads(self.candidates[t["index"]])
            return
        before, self.chosen = self.chosen, max(t["speeds"], key=t["speeds"].get)
        self._retry_s = 2 * self._retry_s if t.get("retry") and self.chosen == before else RETRY_S
        self.speed = t["speeds"][self.chosen]
        self.choices.append({"threads": self.chosen, "tokens_per_s": {k: round(v) for k, v in t["speeds"].items()}})
        set_threads(self.chosen)
        log.info("threads: %d (tokens/s by thread count: %s)", self.chosen, self.choices[-1]["tokens_per_s"])
        self._trial, self._window, self._chosen_at = None, [0.0, 0], self.clock()

    def check(self) -> None:
        """At the end of a log window: start a new trial if the speed has collapsed, or if fewer
        threads than cores were chosen RETRY_S seconds ago."""
        seconds, tokens = self._window
        self._window = [0.0, 0]
        if not self.active or self._trial is not None or not seconds:
            return
        if tokens / seconds < COLLAPSE * self.speed:
            log.info("training slowed to %.0f tokens/s from %.0f: trying the thread counts again",
                     tokens / seconds, self.speed)
            self._start_trial()
        elif self.chosen < self.candidates[0] and self.clock() - self._chosen_at >= self._retry_s:
            log.info("training on %d of %d threads for %.0f s: trying the thread counts again", self.chosen,
                     self.candidates[0], self._retry_s)
            self._start_trial(retry=True)
