"""The CPU thread count, chosen by timing real training steps where another process competes
for the cores, and again when the speed collapses or a core may have come back.

torch uses one thread per core by default. On a machine that is busy with something else that
can be far slower than fewer threads: each step waits for its slowest thread, and a thread that
shares its core with another process is slow (measured on 2 cores with one busy-loop process
beside training: 3,600 tokens/s with 2 threads against 6,900 with 1; for a small model the
factor reaches 100). With `--threads 0` (auto) the recipe's size probe times every candidate
count (rnntext.training.autosize), and the trainer makes its first choice this way: the first
few steps run on the full count while it measures how many cores other processes used meanwhile
(on Linux: the busy time /proc/stat gives for this process's CPUs, less this process's own CPU
time, over the wall time). Below BUSY_CORES the machine is idle enough: the full count stays from
the first step and those steps' speed is the one later windows are compared with. At or above
it, or where the machine cannot say (no /proc/stat: macOS, Windows), the trial goes on: each
other count runs a few real steps too (none is wasted: they train) and the fastest by the
median step is kept. Either way the trainer tries again when a window's speed falls well below
the speed the choice was made at, or, while it trains on fewer threads than cores, every
RETRY_S seconds (the other process may have ended). An explicit `--threads N`, the NumPy
engine and GPUs are left alone.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIAL_STEPS = 4  # timed steps per candidate (after one untimed step: the first pays for the switch)
COLLAPSE = 0.6  # a log window this much slower than the chosen speed starts a new trial
RETRY_S = 60.0  # seconds before a trial while fewer threads than cores are used (doubled each time it keeps them)
MIN_STEP_S = 0.002  # steps faster than this are not worth a trial
# Cores other processes may use during the first steps without a trial. A quarter of a core is
# well above what an idle machine's daemons and the measurement's own error show (the kernel counts
# busy time in 10 ms ticks: a few hundredths of a core over the MEASURE_S the steps take at the
# least: 0.00-0.02 measured on an idle 2-core machine) and well below what a busy-loop process
# beside training shows (0.72-0.79: training takes part of its core), which makes one thread over
# twice as fast as two. Below it a thread loses at most a quarter of its core, which costs less
# than halving the threads does.
BUSY_CORES = 0.25
MEASURE_S = 0.25  # a shorter window holds too few ticks to tell: the trial runs

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


def _busy_s(cpus: set[int] | None) -> float | None:
    """Seconds the CPUs `cpus` (all where None) have been busy since boot, from /proc/stat: every
    state but idle and iowait, steal included (a virtual machine's core running someone else).
    None where the file cannot be read or names none of them."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    ticks, seen = 0, False
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or (cpus is not None and int(name[3:]) not in cpus):
            continue
        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in (fields + ["0"] * 8)[:8])
        ticks, seen = ticks + user + nice + system + irq + softirq + steal, True
    return ticks / os.sysconf("SC_CLK_TCK") if seen else None


def measure_others() -> Callable[[], float | None] | None:
    """Start measuring the CPU other processes use on the cores this process may run on. Returns
    a function that says how many cores they used on average since (the cores' busy time less this
    process's own CPU time, all its threads, over the wall time), or None where the machine cannot
    say (no /proc/stat); that function says None too when too little time has passed to tell."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    busy = _busy_s(cpus)
    if busy is None:
        return None
    own, start = time.process_time(), time.monotonic()

    def read() -> float | None:
        wall, now = time.monotonic() - start, _busy_s(cpus)
        if now is None or wall < MEASURE_S:
            return None
        return max(0.0, (now - busy - (time.process_time() - own)) / wall)

    return read


def set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


class ThreadTuner:
    """Call `after_step(seconds, tokens)` after each training step and `check()` after each log window.

    `others` starts the measurement of other processes' load that decides whether the first choice
    needs a trial (measure_others by default; tests give their own)."""

    def __init__(self, counts: list[int], clock=time.monotonic, others=None):
        self.candidates = sorted(set(counts), reverse=True)
        self.active = len(self.candidates) > 1
        self.chosen = self.candidates[0] if self.candidates else 0
        self.speed = None  # tokens/s measured when the choice was made
        self.choices: list[dict] = []  # what each trial measured, for the run's record
        self.clock, self._chosen_at, self._retry_s = clock, clock(), RETRY_S
        self._trial: dict | None = None
        self._window = [0.0, 0]  # seconds and tokens since the last check
        if self.active:
            self._start_trial(others=(others or measure_others)())

    @classmethod
    def for_engine(cls, engine, threads: int) -> ThreadTuner:
        return cls(candidates(engine, threads))

    @property
    def trying(self) -> bool:
        """Whether the steps now are a trial's (their speed is not the chosen count's)."""
        return self._trial is not None

    def _start_trial(self, retry: bool = False, **first) -> None:
        """Time the counts from the full one down. The run's first trial is given `others` (what
        measure_others returned as it began) and stops after the full count's steps where those
        were not contended."""
        self._trial = {"index": 0, "step": 0, "times": [], "tokens": 0, "speeds": {}, "retry": retry, **first}
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
        if "others" in t:  # the run's first steps, on the full count: did other processes compete?
            read = t.pop("others")
            t["other_cores"] = read() if read is not None else None
            if t["other_cores"] is not None and t["other_cores"] < BUSY_CORES:
                self._choose(t)
                log.info("threads: %d (other processes used %.2f cores over the first steps: no trial; %.0f tokens/s)",
                         self.chosen, t["other_cores"], self.speed)
                return
        if t["index"] < len(self.candidates):
            set_threads(self.candidates[t["index"]])
            return
        self._choose(t)
        log.info("threads: %d (tokens/s by thread count: %s)", self.chosen, self.choices[-1]["tokens_per_s"])

    def _choose(self, t: dict) -> None:
        """End trial `t`: keep its fastest count (the full count where it timed only that one)."""
        before, self.chosen = self.chosen, max(t["speeds"], key=t["speeds"].get)
        self._retry_s = 2 * self._retry_s if t.get("retry") and self.chosen == before else RETRY_S
        self.speed = t["speeds"][self.chosen]
        choice = {"threads": self.chosen, "tokens_per_s": {k: round(v) for k, v in t["speeds"].items()}}
        if "other_cores" in t:  # the first choice says what was measured and whether it took a trial
            other = t["other_cores"]
            choice.update(trial=len(t["speeds"]) > 1, other_cores=None if other is None else round(other, 2))
        self.choices.append(choice)
        set_threads(self.chosen)
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
