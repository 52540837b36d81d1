"""The thread count a generation loop steps on, chosen by timing its own steps.

NumPy's BLAS and torch use one thread per core. Beside another busy process that can be far
slower than one thread: each product waits for its slowest thread, and a thread that shares
its core with that process is slow. Measured on a 2-core EPYC beside a busy loop on one core:
`rnntext sample RUN --length 50000` (2x256 LSTM) took 7.3 s on two BLAS threads against 3.2 s
on one, and 256 streams on torch 7.1 s against 4.1 s; on the idle machine two threads are the
faster (2.7 s against 3.1 s). So a generation loop times its own steps: TRIAL_S seconds on the
full count, as long on one thread and on the full count again, and keeps one thread only where
it was clearly faster (Pacer). It tries again when a window of steps runs well slower than the
choice did, or, on one thread, after RETRY_S seconds (the other process may have ended), twice
as long each time one thread wins again. No step is wasted: every one generates.

The text must not depend on that choice. The products of one NumPy stream (matrix-vector) and
torch's CPU products come out the same, bit for bit, on any thread count on the machines
measured, but a BLAS may split a product differently by thread count (NumPy's matrix-matrix
products for several streams do). So before the first switch one step is taken on both counts
from the same state, and the trial goes on only where every state array and logit agrees;
elsewhere the full count stays for the whole run. The counts are the process's, shared by its
threads: only a loop in the main thread chooses them, and it puts the full count back when it
ends.

A Streams takes part by offering `thread_counts()` (the full count first; [] where there is no
choice), `use_threads(n)`, `snapshot()` (copies of its state and logits, as NumPy arrays) and
`restore(saved)`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

TRIAL_S = 0.04   # seconds of steps timed on each count (a scheduler's time slice is a few ms)
STRIDE = 8       # steps between two looks at the clock
MARGIN = 0.1     # one thread is kept only when this much faster than the full count's better window
RETRY_S = 0.5    # on one thread: a trial again after this long, doubled each time one thread wins again
RETRY_MAX_S = 8.0
COLLAPSE = 0.6   # a window slower than this fraction of the chosen count's speed: a trial again
WINDOW_S = 0.25  # the span of steps whose speed is watched after a choice
clock = time.perf_counter
log = logging.getLogger(__name__)


def paced(streams, step: Callable) -> tuple[Callable, Callable[[], None]]:
    """(the step to call, a function to call when the loop ends): `step` wrapped so that it
    runs on the faster thread count of `streams`, or `step` itself where there is no choice."""
    counts = streams.thread_counts() if hasattr(streams, "thread_counts") else []
    if len(counts) < 2 or threading.current_thread() is not threading.main_thread():
        return step, lambda: None
    pacer = Pacer(streams, step, counts)
    return pacer, pacer.close


class Pacer:
    """Calls `step(x)` on the count its timing chose of `counts` (the full count first, then 1).

    A trial times the full count, one thread, and the full count again (a first window can be
    slow for reasons of its own: a core waking, a thread being placed); one thread is kept only
    where it beat the better of the full count's two windows by MARGIN."""

    def __init__(self, streams, step: Callable, counts: list[int], clock: Callable[[], float] | None = None):
        self.streams, self.step = streams, step
        self.clock = clock or globals()["clock"]
        self.full, self.one = counts[0], counts[-1]
        self.checked = False      # the two counts were seen to give the same numbers
        self.count = self.full    # the count steps run on now
        self.retry, self.chosen_at, self.rate = RETRY_S, 0.0, 0.0
        self.choices: list[int] = []  # each trial's choice, for tests and logs
        self._trial(skip=2)

    def _trial(self, skip: int = 1) -> None:
        """A trial: `plan` the counts still to time, `timed` (count, steps/s) of those done."""
        self.plan, self.timed = [self.full, self.one, self.full], []
        self._start(self.full, skip)

    def _start(self, count: int, skip: int = 1) -> None:
        """Time `count` from the step after the next `skip` (the first steps pay for the switch)."""
        if count != self.count:
            self.streams.use_threads(count)
            self.count = count
        self.n, self.due, self.t0 = 0, skip, None

    def __call__(self, x) -> None:
        if self.plan and not self.checked and self.count == self.one:
            return self._check(x)
        self.step(x)
        self.n += 1
        if self.n >= self.due:
            self._look()

    def _look(self) -> None:
        now = self.clock()
        if self.t0 is None:            # the skipped steps are done: timing starts here
            self.t0, self.n0, self.due = now, self.n, self.n + STRIDE
            return
        span = now - self.t0
        self.due = self.n + STRIDE
        if span < (TRIAL_S if self.plan else WINDOW_S):
            return
        speed = (self.n - self.n0) / span
        if self.plan:
            self.timed.append((self.plan.pop(0), speed))
            if self.plan:
                return self._start(self.plan[0])
            return self._choose(now)
        if speed < COLLAPSE * self.rate or (self.count != self.full and now - self.chosen_at >= self.retry):
            return self._trial()
        self.t0, self.n0 = now, self.n

    def _choose(self, now: float) -> None:
        full = max(speed for count, speed in self.timed if count == self.full)
        one = max(speed for count, speed in self.timed if count == self.one)
        best, self.rate = (self.one, one) if one > full * (1 + MARGIN) else (self.full, full)
        if best == self.one and self.choices[-1:] == [self.one]:
            self.retry = min(2 * self.retry, RETRY_MAX_S)   # one thread won again: look less often
        elif best == self.full:
            self.retry = RETRY_S
        self.choices.append(best)
        self.chosen_at = now
        log.debug("generation threads: %d (steps/s: %s)", best,
                  ", ".join(f"{speed:.0f} on {count}" for count, speed in self.timed))
        self._start(best)

    def _check(self, x) -> None:
        """The step on both counts from the same state: the trial goes on where they agree."""
        streams = self.streams
        before = streams.snapshot()
        streams.use_threads(self.full)
        self.step(x)
        on_full = streams.snapshot()
        streams.restore(before)
        streams.use_threads(self.one)
        self.step(x)
        self.checked = True
        if not all(np.array_equal(a, b) for a, b in zip(on_full, streams.snapshot())):
            streams.restore(on_full)   # the run goes on as the full count computes it
            self.plan = []
            self.choices.append(self.full)
            self._start(self.full)
            self.due = float("inf")    # and the clock is not looked at again
            return
        self.n += 1
        if self.n >= self.due:
            self._look()

    def close(self) -> None:
        """The loop has ended: the full count again."""
        if self.count != self.full:
            self.streams.use_threads(self.full)
            self.count = self.full
