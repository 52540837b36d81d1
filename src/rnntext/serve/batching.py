"""Continuous batching: every running generation of a model steps in one batch, in one thread.

Requests join and leave between two steps. A joining request is primed alone (a prime may be
long, and the others should not wait for it: it runs in the gate's pool with the runtime's
one-stream prime) and its state is then copied into the batch, once per sample. Between steps
the batch is regrouped whenever requests join or leave: a Streams of exactly the running
streams, each request's rows side by side, so a lone request steps as `rnntext sample` does
and nothing is computed for empty places. Each row draws under its own request's options
(generation.RowSampler, after its request's repetition penalty) from its own request's random
numbers (Uniforms(seed, num_samples)),
and the batch multiplies row by row (Streams' `rowwise`), the very products of a lone stream
(a matrix-matrix product would round each row differently as the batch changes size). So a
request's text is the same, bit for bit, whatever else runs beside it; a request's first
sample is `rnntext sample`'s text for the same options and seed, and sample b is what a lone
stream draws from that seed's stream b (generation/rules.py).

The event loop holds the count of streams promised to admitted requests and the queue of those
waiting for room (`fits`, `take`, `reserve`, `release`: event loop only); the batch's thread
owns the running jobs. They meet in `join` (a primed job handed over) and in each job's
`release` (its room given back when it ends).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict, deque

import numpy as np

from rnntext.errors import RunError
from rnntext.generation.rules import RowSampler

log = logging.getLogger(__name__)

SPARE_SIZES = 8  # Streams kept for regrouping, by batch size (making one costs about 0.1 ms)


class Group:
    """The running jobs in row order, their Streams, and the per-row rule, stops and draws."""

    def __init__(self, jobs: list, streams):
        self.jobs, self.streams = jobs, streams
        self.sampler = RowSampler([job.rule for job in jobs for _ in range(job.n)], streams.V)
        self.u = np.zeros(streams.B)
        self.penalised = [job for job in jobs if job.penalty.active]
        self.logits = np.zeros_like(streams.logits) if self.penalised else None

    def step(self) -> None:
        """Draw one token per stream, hand each job its own, and step the streams still running."""
        for job in self.jobs:
            self.u[job.rows] = job.uniforms.next()
        logits = self.streams.logits
        if self.penalised:  # each job's repetition penalty on its own rows, as generate applies it
            np.copyto(self.logits, logits)
            logits = self.logits
            for job in self.penalised:
                logits[job.rows] = job.penalty(logits[job.rows])
        ids = self.sampler(logits, self.u)
        now, running = time.monotonic(), False
        for job in self.jobs:
            job.take(ids[job.rows], now)
            running |= not job.finished
        if running:
            self.streams.step(ids)


class Batch:
    """One model's stepping batch: at most `capacity` streams, stepped by a thread of its own."""

    def __init__(self, model, capacity: int, name: str = "model"):
        # The runtime's NumPy streams in float32, whatever a run's [sample] asks of `rnntext sample`;
        # a model with labels needs a condition, which requests cannot give: the user's error.
        one = model.streams(1, engine="numpy", device="cpu", precision="float32")
        self.kind, self.packed, self.model = type(one), one.packed, model
        self.capacity = capacity
        self.reserved, self.queue = 0, deque()          # the event loop's
        self.cond = threading.Condition()
        self.arriving: list = []                        # primed jobs handed over (under cond)
        self.closed = False
        self.group: Group | None = None                 # the thread's
        self.spare: OrderedDict[int, object] = OrderedDict()
        self.thread = threading.Thread(target=self.run, name=f"rnntext-batch-{name}", daemon=True)
        self.thread.start()

    # --- the event loop's side ---------------------------------------------------------------
    def fits(self, n: int) -> bool:
        """Whether n streams can start now (nobody is waiting ahead of them)."""
        return not self.queue and self.reserved + n <= self.capacity

    def take(self, n: int) -> None:
        self.reserved += n

    async def reserve(self, n: int) -> None:
        """Wait in line until n streams are free, and take them."""
        entry = [n, asyncio.get_running_loop().create_future()]
        self.queue.append(entry)
        try:
            await entry[1]
        except BaseException:
            if entry[1].done() and not entry[1].cancelled():
                self.release(n)  # given room just as its wait ended
            elif entry in self.queue:
                self.queue.remove(entry)
                self.release(0)  # a large request leaving the head of the line lets smaller ones in
            raise

    def release(self, n: int) -> None:
        """n streams are free again: let the requests waiting in line in, in order, while they fit."""
        self.reserved -= n
        while self.queue and self.reserved + self.queue[0][0] <= self.capacity:
            n, future = self.queue.popleft()
            if not future.done():
                self.reserved += n
                future.set_result(None)

    # --- any thread ----------------------------------------------------------------------------
    def prime(self, cfg):
        """A one-stream Streams primed with the request's prime (in a pool thread)."""
        one = self.kind(self.packed, 1)
        one.prime(self.model.prime_ids(cfg))
        return one

    def join(self, job) -> None:
        """Hand a primed job to the batch: it starts at the next step."""
        with self.cond:
            self.arriving.append(job)
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()

    # --- the batch's thread --------------------------------------------------------------------
    def run(self) -> None:
        while True:
            with self.cond:
                while not (self.arriving or self.group or self.closed):
                    self.cond.wait()
                if self.closed:
                    break
            try:
                self.regroup()
                if self.group is not None:
                    self.group.step()
            except Exception as e:
                log.exception("the stepping batch failed")
                self.fail_all(e)
        self.fail_all(RunError("the server is shutting down"))

    def regroup(self) -> None:
        """Let the arrived jobs in and the ended ones out; a new Group when that changes anything."""
        with self.cond:
            arriving, self.arriving = self.arriving, []
        old = self.group
        now = time.monotonic()
        staying = [job for job in (old.jobs if old else []) if self.keeps(job, now)]
        joining = [job for job in arriving if self.keeps(job, now)]
        if old is not None and not joining and len(staying) == len(old.jobs):
            return
        self.group = self.regrouped(old, staying, joining) if staying or joining else None
        if old is not None:
            self.spare[old.streams.B] = old.streams
            self.spare.move_to_end(old.streams.B)
            while len(self.spare) > SPARE_SIZES:
                self.spare.popitem(last=False)

    def keeps(self, job, now: float) -> bool:
        """Whether `job` steps on; one that ended, was cancelled or ran out of time is finished."""
        if job.finished:
            return False
        if job.cancel.is_set():
            job.finish()
        elif now > job.deadline:
            job.finish(error=job.late())
        return not job.finished

    def regrouped(self, old: Group | None, staying: list, joining: list) -> Group:
        """The group of `staying` (their state from `old`) then `joining` (from their primes)."""
        size = sum(job.n for job in staying + joining)
        streams = self.spare.pop(size, None) or self.kind(self.packed, size, rowwise=True)
        start = 0
        for job in staying + joining:
            rows = slice(start, start + job.n)
            if job.primed is not None:  # every sample of a new job starts from its one primed stream
                streams.copy_streams(rows, job.primed, np.zeros(job.n, np.int64))
                job.primed = None
            else:
                streams.copy_streams(rows, old.streams, job.rows)
            job.rows, start = rows, start + job.n
        return Group(staying + joining, streams)

    def fail_all(self, error: BaseException) -> None:
        with self.cond:
            arriving, self.arriving = self.arriving, []
        for job in (self.group.jobs if self.group else []) + arriving:
            if not job.finished:
                job.finish(error=error)
        self.group = None
