"""The time budget of a `--time-limit` run: what the limit holds, what is kept back, when to
stop, and how far through its schedule the run is.

The limit holds the whole command from the moment it is called: preparing the text, the size
probe, training, and the final validation and checkpoint. Training gets what is left once the
final work's time is kept back (`reserve`: what the last validation and checkpoint took, 1.2
times, or before any an estimate).

The learning-rate schedule of a time-limited run follows the share of the training time spent
(`progress`), not a prediction of the iteration count made from the first steps' speed: a
prediction fitted early is wrong whenever the speed changes (another process takes a core and
gives it back, the thread count changes, validation takes longer than guessed), and the rate
then reaches its floor long before the deadline or not at all. By time, it reaches the floor
at the deadline whatever the speed does on the way.

`Pace` holds the plan's speed against the speed training reaches, and says when the two
part by more than OFF_BY.

A resumed run continues its schedule as if its sessions had been one run given their time in
all: each checkpoint records the seconds trained under the time-following schedule
(`scheduled_s`), and a session with a new limit extends the whole by its own training time. A
run stopped at 20 s of 60 and resumed with `--time-limit 40` follows the uninterrupted run's
schedule; a run whose schedule has ended restarts from the rate at trained / (trained + new),
e.g. a quarter of the peak for a finished 120-s run given 60 s more, and anneals again to the
new deadline. Runs bounded by iterations or epochs never look at the clock, so they resume bit
for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

RESERVE_FACTOR = 1.2  # keep back this much more than the last validation and checkpoint took
FILES_S = 1.0  # before any checkpoint was timed: a second for writing the files


class Budget:
    """The clock of one session of a run. `limit` 0 means no time limit: nothing stops, and
    `progress()` is None (schedules that follow the budget then stay at their peak)."""

    def __init__(self, limit: float, started: float, scheduled_before: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.started, self.before, self.clock = limit, started, scheduled_before, clock
        self.train_start: float | None = None  # when this session's training began
        self.reserve_s = FILES_S
        self._reached = 0.0  # the furthest progress() has said: the schedule never goes back

    @property
    def limited(self) -> bool:
        return bool(self.limit)

    def begin(self) -> None:
        """Training starts now: what went before (preparing, the probe) is spent, not trained."""
        if self.train_start is None:
            self.train_start = self.clock()

    def spent(self) -> float:
        """Seconds since the command began (all of it counts against the limit)."""
        return self.clock() - self.started

    def keep_back(self, seconds: float) -> None:
        """What the final validation and checkpoint will take (an estimate or a measurement)."""
        self.reserve_s = max(0.0, seconds)

    def measured_final(self, seconds: float) -> None:
        """A validation and checkpoint just took `seconds`: keep back a little more than that."""
        self.keep_back(RESERVE_FACTOR * seconds)

    def deadline(self) -> float:
        """When training must stop (on the clock), so that the final work ends at the limit."""
        return self.started + self.limit - self.reserve_s

    def remaining(self) -> float:
        """Seconds of training left in this session (inf without a limit)."""
        return self.deadline() - self.clock() if self.limited else math.inf

    def over(self) -> bool:
        return self.limited and self.clock() >= self.deadline()

    def scheduled(self) -> float:
        """Seconds trained under the time-following schedule, this session's included."""
        if not self.limited or self.train_start is None:
            return self.before
        return self.before + max(0.0, self.clock() - self.train_start)

    def progress(self) -> float | None:
        """How far through the schedule the run is: 0 at the first step of its first session,
        1 at this session's deadline; None without a time limit. It never decreases: when the
        reserve shrinks (a validation turned out quicker than estimated), the deadline moves
        later and the share spent would fall, which would raise the learning rate again."""
        if not self.limited:
            return None
        start = self.clock() if self.train_start is None else self.train_start
        total = self.before + max(self.deadline() - start, 0.0)
        self._reached = max(self._reached, 1.0 if total <= 0 else min(1.0, self.scheduled() / total))
        return self._reached

    def record(self) -> dict:
        """What a checkpoint keeps for a resume."""
        return {"scheduled_s": round(self.scheduled(), 4)}


def scheduled_before(state: dict | None) -> float:
    """Seconds trained under a time-following schedule before this session, from a checkpoint's
    state (a checkpoint written before the budget was recorded: its whole elapsed time)."""
    if not state:
        return 0.0
    if "budget" in state:
        return float(state["budget"]["scheduled_s"])
    limited = state.get("config", {}).get("train", {}).get("time_limit")
    return float(state.get("elapsed_s", 0.0)) if limited else 0.0


def resumed_progress(limit: float, scheduled_s: float, startup_s: float = 0.0) -> float:
    """Where the schedule of a run that trained `scheduled_s` seconds restarts when resumed with
    `limit` seconds (of which `startup_s` go to loading): the words a resume says it did."""
    total = scheduled_s + max(limit - startup_s - FILES_S, 0.0)
    return 0.0 if total <= 0 else scheduled_s / total


OFF_BY = 1.5  # a training speed this many times off the plan's is said, with the passes it now means


class Pace:
    """The plan's speed held against the speed training reaches. The plan predicts how often the
    run will pass over its data from the probe's speed; a machine can change under a run (another
    program starts or ends) and a probe can mislead. Once the trainer's thread count is chosen,
    each log window compares the recent training speed (the last 5% of the time limit, at least
    5 s, validations and checkpoints included) with the speed last stated; more than OFF_BY
    times off, it says so (a `pace` event, a log line) with the passes the run now makes, and the
    record keeps it. What can still adapt does by itself: the schedule follows the time budget,
    the thread count is timed again (rnntext.training.threads); the size and regularisation stay
    as chosen (they shaped the weights already trained)."""

    def __init__(self, recipe: dict | None, train_tokens: int, report):
        rec = recipe if recipe is not None else {}
        speeds, size = rec.get("tokens_per_s") or {}, (rec.get("model") or {}).get("hidden_sizes", [None])[0]
        self.stated = speeds.get(size, speeds.get(str(size)))  # tokens/s the plan assumed (JSON keys are text)
        self.planned_epochs = rec.get("expected_epochs")
        self.recipe, self.train_tokens, self.report = rec, train_tokens, report
        self.windows: list[tuple[float, int]] = []  # (seconds, tokens) of the recent log windows

    def add(self, seconds: float, tokens: int) -> None:
        self.windows.append((seconds, tokens))

    def check(self, budget, epochs_done: float) -> None:
        """After a log window: compare, and say so when the speed is OFF_BY times off."""
        if not self.stated or not budget.limited:
            return
        span = max(5.0, 0.05 * budget.limit)
        while len(self.windows) > 1 and sum(s for s, _ in self.windows[1:]) >= span:
            self.windows.pop(0)
        seconds = sum(s for s, _ in self.windows)
        if seconds < span:
            return
        speed = sum(t for _, t in self.windows) / seconds
        if 1 / OFF_BY <= speed / self.stated <= OFF_BY:
            return
        epochs = epochs_done + speed * max(budget.remaining(), 0.0) / self.train_tokens
        event = {"kind": "pace", "tokens_per_s": round(speed), "planned_tokens_per_s": round(self.stated),
                 "expected_epochs": round(epochs, 2), "planned_epochs": self.planned_epochs}
        self.recipe.setdefault("paces", []).append({k: v for k, v in event.items() if k != "kind"})
        self.stated = speed
        self.report(event)


def pace_words(event: dict) -> str:
    """A `pace` event in words."""
    ratio = event["tokens_per_s"] / event["planned_tokens_per_s"]
    planned = event.get("planned_epochs")
    was = f" (the plan said {planned:.3g})" if planned is not None else ""
    return (f"training runs at {event['tokens_per_s']:,} tokens/s, {ratio:.2g} times the {event['planned_tokens_per_s']:,} "
            f"assumed: about {event['expected_epochs']:.3g} passes over the training split{was}; "
            f"the schedule follows the time left")
