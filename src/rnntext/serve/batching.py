"""Continuous batching: every running generation of a model steps in one batch, in one thread.

Requests join and leave between two steps. A joining request is primed alone (a prime may be
long, and the others should not wait for it: it runs in the gate's pool with the runtime's
one-stream prime) and its state is then copied into the batch, once per sample. The last
PRIMES_KEPT primed states are kept by prime: a request whose prime was served before (an
empty prompt, a playground's example) joins with that state at once. Between steps
the batch is regrouped whenever requests join or leave: a Streams of exactly the running
streams, each request's rows side by side, so a lone request steps as `rnntext sample` does
and nothing is computed for empty places. Each row draws under its own request's options
(generation.RowSampler, after its request's repetition penalty) from its own request's random
numbers (Uniforms(seed, num_samples)): sample b of a request is what a lone stream draws from
that seed's stream b (generation/rules.py).

The products. By default one matrix product per layer steps the whole batch (X @ W.T): several
times faster under load than a product per stream, but BLAS picks its kernels by the matrix's
shape, so a row's float32 rounding depends on how many rows run beside it: a request's logits
differ from its logits alone by about 1e-6 (BATCH_LOGIT_TOLERANCE bounds it; a test measures
it), and a draw whose number falls that close to the edge between two tokens can go the other
way. With `exact_batching` the batch multiplies row by row (Streams' `rowwise`), the very
products of a lone stream, so a request's text is the same, bit for bit, whatever else runs
beside it, and its first sample is `rnntext sample`'s text for the same options and seed.
A lone request is always a batch of one, `rnntext sample`'s products.

The bookkeeping of a step is one NumPy call per kind of work for the whole batch, not a Python
loop over requests: every row's random numbers sit in one table (the blocks each request's
Uniforms draws), which rows have ended is one Ending over per-row stop ids, and each step's ids
are kept once for the group; a request collects its columns when it ends, when it is streamed
to, or when the group is regrouped. Only requests with a repetition penalty or stop strings are
visited one by one, for those parts.

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
from collections import OrderedDict, defaultdict, deque

import numpy as np

from rnntext.errors import RunError
from rnntext.generation.rules import RowSampler
from rnntext.generation.stops import Ending

log = logging.getLogger(__name__)

SPARE_SIZES = 8  # Streams kept for regrouping, by batch size (making one costs about 0.1 ms)
PRIMES_KEPT = 64  # primed one-stream states kept, by prime (a prime's state is the same every time)
FLUSH_SECONDS = 0.05  # streaming: send what was generated at most this often
BATCH_LOGIT_TOLERANCE = 1e-4  # most a logit of a batched row may differ from the same row alone (float32)


class Group:
    """The running jobs in row order, their Streams, and every row's rule, numbers, stops and steps.

    Made from the previous group (`old`), whose jobs that stay keep their state, numbers and
    stops (copied with one indexed assignment per array), and from joining jobs (their primed
    stream, fresh numbers)."""

    def __init__(self, jobs: list, streams, old: Group | None = None):
        self.jobs, self.streams = jobs, streams
        B = streams.B
        self.sampler = RowSampler([job.rule for job in jobs for _ in range(job.n)], streams.V)
        width = max(job.uniforms.block for job in jobs)
        self.table = np.empty((B, width))       # each row's block of random numbers (read only up to its lim)
        self.col = np.zeros(B, np.int64)         # the next number's column, per row
        self.lim = np.zeros(B, np.int64)         # the row's block length: at col == lim it draws the next block
        stop = np.full(B, -1, np.int64)          # each row's stop token (-1: none; ids are >= 0)
        self.owner = np.zeros(B, np.int64)       # row -> index of its job
        self.penalised = [job for job in jobs if job.penalty.active]
        self.watched = [job for job in jobs if job.watch is not None]
        self.stoppable = [job for job in jobs if job.watch is not None or job.stop_id is not None]
        self.streaming = [job for job in jobs if job.events is not None]
        self.ends: dict[int, list] = defaultdict(list)  # group step -> jobs whose length it completes
        self.ending = Ending(B, self, None, self._watch if self.watched else None)
        kept = [job for job in jobs if job.primed is None]
        starts = np.cumsum([0] + [job.n for job in jobs]).tolist()
        rows_of = [slice(a, b) for a, b in zip(starts, starts[1:])]  # each job's rows here (job.rows: in `old`)
        for j, (job, rows) in enumerate(zip(jobs, rows_of)):
            self.owner[rows] = j
            if job.stop_id is not None:
                stop[rows] = job.stop_id
            self.ends[job.cfg.length - job.count].append(job)
            if job.primed is not None:  # a new job: every sample starts from its one primed stream
                streams.copy_streams(rows, job.primed, np.zeros(job.n, np.int64))
                job.primed = None
                self.lim[rows] = self.col[rows] = job.uniforms.block  # its first step draws a block
            job.moved = 0
        if kept:  # the staying jobs were first in `jobs`, in their old order: one copy per array
            n = starts[len(kept)]
            idx = np.concatenate([np.arange(job.rows.start, job.rows.stop) for job in kept])
            streams.copy_streams(slice(0, n), old.streams, idx)
            w = min(width, old.table.shape[1])   # a row's block fits both tables
            self.table[:n, :w] = old.table[idx, :w]
            self.col[:n], self.lim[:n] = old.col[idx], old.lim[idx]
            self.ending.stopped[:n] = old.ending.stopped[idx]
        for job, rows in zip(jobs, rows_of):
            job.rows = rows
        self.ending.stop = stop if (stop >= 0).any() else None
        self.left = int((self.lim - self.col).min())  # steps before some row needs a new block
        self.hist: list[np.ndarray] = []        # each step's ids (B,), -1 for a row that had stopped
        self.t = 0                              # steps taken by this group
        self.done = 0                           # jobs of this group that have finished
        self.next_flush = time.monotonic() + FLUSH_SECONDS if self.streaming else float("inf")
        self.deadline = min(job.deadline for job in jobs)  # the first time a job runs out
        self.rows = np.arange(B)

    # Ending's penalty and watch, per job: only the jobs that have them are visited.
    def saw(self, out: np.ndarray) -> None:
        for job in self.penalised:
            job.penalty.saw(out[job.rows])

    def _watch(self, out: np.ndarray) -> np.ndarray:
        ended = np.zeros(len(out), bool)
        for job in self.watched:
            ended[job.rows] = job.watch(out[job.rows])
        return ended

    def numbers(self) -> np.ndarray:
        """Every row's next random number (B,): its job's Uniforms stream, block by block."""
        if self.left == 0:
            for j in np.unique(self.owner[self.col == self.lim]).tolist():
                job = self.jobs[j]
                job.uniforms.fill(self.table[job.rows, :job.uniforms.block])
                self.col[job.rows] = 0
            self.left = int((self.lim - self.col).min())
        u = self.table[self.rows, self.col]
        self.col += 1
        self.left -= 1
        return u

    def step(self) -> None:
        """Draw one token per stream, finish the jobs that are done, and step the streams still running."""
        u = self.numbers()
        logits = self.streams.logits
        if self.penalised:  # each job's repetition penalty on its own rows, as generate applies it
            logits = logits.copy()
            for job in self.penalised:
                logits[job.rows] = job.penalty(logits[job.rows])
        ids = self.sampler(logits, u)
        self.hist.append(self.ending.take(ids))
        self.t += 1
        done = self.ends.pop(self.t, [])
        if self.stoppable:
            stopped = self.ending.stopped
            done += [job for job in self.stoppable if not job.finished and job not in done and stopped[job.rows].all()]
        now = time.monotonic()
        if now >= self.next_flush:
            self.flush(now)
        for job in done:
            self.collect(job)
            job.finish(job.result())
        self.done += len(done)
        if self.done < len(self.jobs):
            self.streams.step(ids)

    def flush(self, now: float) -> None:
        """Send the streaming jobs' new text (each at most every FLUSH_SECONDS)."""
        for job in self.streaming:
            if not job.finished and now - job.last_flush >= FLUSH_SECONDS:
                self.collect(job)
                job.flush()
                job.last_flush = now
        self.next_flush = min((job.last_flush for job in self.streaming if not job.finished), default=now) + FLUSH_SECONDS

    def collect(self, job, grid: np.ndarray | None = None) -> None:
        """Hand `job` its steps taken in this group since it last collected them."""
        if job.moved < self.t:
            grid = np.stack(self.hist[job.moved:]) if grid is None else grid[job.moved:]
            job.add(grid[:, job.rows])
            job.moved = self.t

    def hand_over(self) -> None:
        """Before a regroup: every unfinished job collects its steps (the history is stacked once)."""
        if self.t:
            grid = np.stack(self.hist)
            for job in self.jobs:
                if not job.finished:
                    self.collect(job, grid)


class Batch:
    """One model's stepping batch: at most `capacity` streams, stepped by a thread of its own."""

    def __init__(self, model, capacity: int, name: str = "model", exact: bool = False):
        # The runtime's NumPy streams in float32, whatever a run's [sample] asks of `rnntext sample`;
        # a model with labels needs a condition, which requests cannot give: the user's error.
        one = model.streams(1, engine="numpy", device="cpu", precision="float32")
        self.kind, self.packed, self.model = type(one), one.packed, model
        self.capacity, self.exact = capacity, exact
        self.reserved, self.queue = 0, deque()          # the event loop's
        self.cond = threading.Condition()
        self.arriving: list = []                        # primed jobs handed over (under cond)
        self.closed = self.poked = False
        self.group: Group | None = None                 # the thread's
        self.spare: OrderedDict[int, object] = OrderedDict()
        self.primes: OrderedDict[tuple, object] = OrderedDict()  # model.prime_key -> primed stream
        self.primes_lock = threading.Lock()
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
        """A one-stream Streams primed with the request's prime (in a pool thread), kept for the
        next request with the same prime (`primed`)."""
        one = self.kind(self.packed, 1)
        one.prime(self.model.prime_ids(cfg))
        key = self.model.prime_key(cfg)
        with self.primes_lock:
            self.primes[key] = one
            self.primes.move_to_end(key)
            while len(self.primes) > PRIMES_KEPT:
                self.primes.popitem(last=False)
        return one

    def primed(self, cfg):
        """The stream an earlier request with the same prime was primed to, or None. It is only
        read (a joining job's rows copy it), so requests share it: the same state, bit for bit,
        that priming again would give, without the pass and the trip to a pool thread."""
        key = self.model.prime_key(cfg)
        with self.primes_lock:
            one = self.primes.get(key)
            if one is not None:
                self.primes.move_to_end(key)
        return one

    def join(self, job) -> None:
        """Hand a primed job to the batch: it starts at the next step (its cancel flag pokes the
        batch, which then looks at its jobs again before the next step)."""
        job.cancel.hook = self.poke
        with self.cond:
            self.arriving.append(job)
            self.cond.notify()

    def poke(self) -> None:
        with self.cond:
            self.poked = True
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
            poked, self.poked = self.poked, False
        old = self.group
        now = time.monotonic()
        if old is not None and not (arriving or poked or old.done) and now <= old.deadline:
            return  # nobody came, ended, was cancelled or ran out of time: nothing to look at
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
        if old is not None:
            old.hand_over()
        size = sum(job.n for job in staying + joining)
        streams = self.spare.pop(size, None) or self.kind(self.packed, size, rowwise=self.exact)
        return Group(staying + joining, streams, old)

    def fail_all(self, error: BaseException) -> None:
        with self.cond:
            arriving, self.arriving = self.arriving, []
        for job in (self.group.jobs if self.group else []) + arriving:
            if not job.finished:
                job.finish(error=error)
        self.group = None
