"""What runs, what waits, and each request's generation: the gate, the jobs, disconnects.

Generating is CPU-bound NumPy and runs off the event loop, which stays free to answer
/healthz and to queue the rest. Each model has one stepping batch in a thread of its own
(rnntext.serve.batching): every running generation of that model steps in it, joining and
leaving between steps. Primes and next-token lists run in a small pool of threads, beam
searches in threads of their own (max_beams), so that a long search never keeps another
request from its prime. NumPy releases the GIL in its matrix products, so these overlap.

The gate admits a generation when its model's batch has room for its num_samples streams,
and a next-token request when a pool thread is free; up to `max_queue` requests wait, in
order, and the rest get 503 with Retry-After. Nobody waits past the request's deadline, and a
running generation (a beam search too) checks its deadline and its cancel flag at every step,
so it ends within a step of either. A request's cost is bounded before it starts (its length,
samples, beam and stop strings: rnntext.serve.limits), and its stop strings are matched by one
automaton (rnntext.generation.stops), at a cost that follows the text, not the strings. A
handler is not cancelled when its client leaves (Starlette lets it run to its answer), so
`unless_gone` watches for the ASGI disconnect message itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rnntext.errors import RnntextError
from rnntext.generation.rules import Penalty, Rule, Uniforms
from rnntext.generation.stops import StopWatch
from rnntext.sampling import SampleConfig
from rnntext.serve.batching import Batch
from rnntext.serve.limits import Limits
from rnntext.serve.schemas import GenerateRequest, LimitError, api_wording, check_generate

log = logging.getLogger(__name__)


class Gate:
    """Each model's batch (max_batch streams), the pool (max_concurrent threads) and the queue
    of at most max_queue requests waiting for either; made on the serving event loop."""

    def __init__(self, limits: Limits):
        self.limits, self.waiting = limits, 0
        self.loop = asyncio.get_running_loop()
        self.threads = asyncio.Semaphore(limits.max_concurrent)
        self.pool = ThreadPoolExecutor(max_workers=limits.max_concurrent, thread_name_prefix="rnntext-serve")
        self.searching = asyncio.Semaphore(limits.max_beams)  # beam searches: threads of their own
        self.beams = ThreadPoolExecutor(max_workers=limits.max_beams, thread_name_prefix="rnntext-beam")
        self.batches: dict[str, Batch] = {}
        self.starting: set[asyncio.Task] = set()

    def batch(self, name: str, model) -> Batch:
        """The stepping batch of the model served as `name` (made, with its thread, at its first request)."""
        if name not in self.batches:
            self.batches[name] = Batch(model, self.limits.max_batch, name, self.limits.exact_batching)
        return self.batches[name]

    def refuse_if_full(self) -> None:
        if self.waiting >= self.limits.max_queue:
            raise LimitError(503, "max_queue", f"the server is busy: {self.waiting} requests are already waiting "
                                               f"(max_queue {self.limits.max_queue}); retry shortly")

    async def queued(self, wait: Awaitable, deadline: float) -> None:
        """Await `wait` as one of the requests waiting, until `deadline` (then the timeout's 503)."""
        # asyncio.timeout, not wait_for: wait_for (3.11) runs its awaitable in a task of its own,
        # so a request that found room would still count as waiting for a loop turn or two.
        self.waiting += 1
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await wait
        except TimeoutError:
            raise timed_out(self.limits) from None
        finally:
            self.waiting -= 1

    async def run(self, fn: Callable, deadline: float):
        """fn() in a pool thread, once one is free; the thread is counted busy until fn really ends."""
        if self.threads.locked():
            self.refuse_if_full()
            await self.queued(self.threads.acquire(), deadline)
        else:
            await self.threads.acquire()
        try:
            future = self.loop.run_in_executor(self.pool, fn)
        except BaseException:
            self.threads.release()
            raise
        future.add_done_callback(lambda _: self.threads.release())
        return await asyncio.shield(future)  # a thread cannot be cancelled: it runs to its end

    async def admit(self, batch: Batch, job: Job) -> None:
        """Take room in `batch` for the job's streams, waiting in the queue if need be; then start
        it: primed in a pool thread, it joins the batch (the job gives the room back when it ends)."""
        if batch.fits(job.n):
            batch.take(job.n)
        else:
            self.refuse_if_full()
            await self.queued(batch.reserve(job.n), job.deadline)
        job.release = lambda: batch.release(job.n)
        job.start = time.monotonic()
        task = asyncio.create_task(self.prime_and_join(batch, job))
        self.starting.add(task)
        task.add_done_callback(self.starting.discard)

    async def prime_and_join(self, batch: Batch, job: Job) -> None:
        """Prime the job and hand it to its batch: with the state of an earlier request with the
        same prime (Batch.primed) at once, else primed in a pool thread; a beam search runs
        whole, in a thread of the beam searches' own, checking its deadline and cancel flag at
        every step."""
        job.primed = None if job.cfg.beam else batch.primed(job.cfg)
        if job.primed is None and not await self.in_thread(batch, job):
            return
        if job.cancel.is_set():
            return job.finish()
        if job.cfg.length == 0 or job.cfg.beam:
            return job.finish(job.result())
        batch.join(job)

    async def in_thread(self, batch: Batch, job: Job) -> bool:
        """The job primed, or searched, in a thread; False when it has finished (an error, its
        deadline or its cancel flag)."""
        slots, pool = (self.searching, self.beams) if job.cfg.beam else (self.threads, self.pool)
        try:
            async with asyncio.timeout(max(0.0, job.deadline - time.monotonic())):
                await slots.acquire()
        except TimeoutError:
            job.finish(error=timed_out(self.limits))
            return False
        try:
            if not job.cancel.is_set() and job.cfg.beam:
                job.add(await self.loop.run_in_executor(pool, job.search))
            elif not job.cancel.is_set():
                job.primed = await self.loop.run_in_executor(pool, batch.prime, job.cfg)
        except Cancelled:
            job.finish()
            return False
        except Exception as e:
            if not isinstance(e, (RnntextError, LimitError)):
                log.exception("priming failed")
            job.finish(error=e)
            return False
        finally:
            slots.release()
        return True

    def close(self) -> None:
        for task in self.starting:
            task.cancel()
        for batch in self.batches.values():
            batch.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.beams.shutdown(wait=False, cancel_futures=True)


class CancelFlag(threading.Event):
    """A job's cancel flag; setting it also calls `hook` (its batch's poke), if it has one."""

    hook: Callable[[], None] | None = None

    def set(self) -> None:
        super().set()
        if self.hook is not None:
            self.hook()


class Cancelled(Exception):
    """A job's cancel flag was seen (its client left, or the server is closing)."""


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


async def unless_gone(request, work: Awaitable):
    """Await `work`, cancelling it and raising ClientGone as soon as the client disconnects."""
    task, gone = asyncio.ensure_future(work), asyncio.ensure_future(disconnected(request.receive))
    try:
        done, _ = await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        task.cancel()  # nothing when it is done; else the client left, or this waiter was cancelled
    if task in done:
        return task.result()
    gone.result()  # the watcher's own error, if it had one
    raise ClientGone


async def disconnected(receive) -> None:
    """Return when the ASGI server reports that the client went away (the body was read before)."""
    while (await receive())["type"] != "http.disconnect":
        await asyncio.sleep(0.1)  # a server that repeats empty body messages: poll, don't spin


def timed_out(limits: Limits) -> LimitError:
    return LimitError(503, "request_timeout_s", f"the request took longer than this server's limit of "
                                                f"{limits.request_timeout_s:g} s (request_timeout_s): ask for "
                                                f"fewer tokens or samples")


def sample_options(req: GenerateRequest, model, limits: Limits) -> SampleConfig:
    """The sampling options of a request, built once (Model.sampling): the run's [sample]
    defaults under the request's fields, a random seed when it gave none (the reply returns
    it), a length it left out capped at max_length. Checked now, so that errors are a 422 (or
    the limit's status), not a broken stream."""
    cfg = model.sampling(**req.options())
    if req.length is None and cfg.length > limits.max_length:
        cfg = dataclasses.replace(cfg, length=limits.max_length)
    check_generate(cfg, limits)
    if cfg.prime:
        model.encode(cfg.prime, cfg.unknown)  # raises the user's error for unknown symbols
    return cfg


def error_event(error: BaseException) -> dict:
    if isinstance(error, LimitError):
        return {"event": "error", "error": str(error), "limit": error.limit}
    if isinstance(error, RnntextError):
        return {"event": "error", "error": api_wording(error)}
    return {"event": "error", "error": "internal error while generating (see the server log)"}


class Job:
    """One generation request: its streams' rule, draws and stops, the steps it has been given,
    and where its outcome goes: `outcome` (a future on the loop) or, streaming, `events` (a queue
    on the loop of event dicts as text arrives, then None). Its batch's thread steps it (its
    Group holds its rows' numbers and stops while it runs, and hands it its steps: `add`)."""

    def __init__(self, model, cfg: SampleConfig, limits: Limits, deadline: float, streaming: bool = False):
        self.model, self.cfg, self.limits, self.deadline = model, cfg, limits, deadline
        self.n = cfg.num_samples
        self.rule = Rule.from_config(cfg)
        self.uniforms = Uniforms(cfg.seed, self.n)
        self.penalty = Penalty(self.rule.repetition_penalty, self.n, len(model.vocab))
        self.stop_id = model.end_id() if cfg.stop_at_end else None
        self.watch = StopWatch(model.decoder, cfg.stop, self.n) if cfg.stop else None
        self.chunks: list[np.ndarray] = []         # its steps so far: (T_i, n) ids, -1 after a stream stopped
        self.count = 0                             # steps in chunks
        self.moved = 0                             # its group's steps already in chunks
        self.cancel = CancelFlag()
        self.loop = asyncio.get_running_loop()
        self.outcome = self.loop.create_future()
        self.events: asyncio.Queue | None = asyncio.Queue() if streaming else None
        self.start = 0.0                           # when the gate admitted it (monotonic)
        self.release: Callable[[], None] | None = None  # gives the batch's room back, on the loop (set by the gate)
        self.primed = None                         # the one-stream state it joins its batch with
        self.rows = slice(0, 0)                    # its streams' rows in the batch
        self.finished = False
        self.decoders = [model.decoder(cfg.stop) for _ in range(self.n)] if streaming else []
        self.flushed, self.last_flush = 0, time.monotonic()

    def add(self, steps) -> None:
        """Steps generated for it: (T, n) ids, or a list of (n,) arrays."""
        steps = np.asarray(steps, np.int64).reshape(-1, self.n)
        if len(steps):
            self.chunks.append(steps)
            self.count += len(steps)

    def grid(self, start: int = 0) -> np.ndarray:
        """Its steps from `start` on, (T, n)."""
        if len(self.chunks) > 1:  # joined once, for the next call too
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0][start:] if self.chunks else np.zeros((0, self.n), np.int64)

    def search(self) -> list[np.ndarray]:
        """A beam search's steps, whole (in a thread of its own: the search runs before any step
        is known, so a beam request does not join the stepping batch); it ends at its deadline or
        when its client leaves, checked before every step."""
        return [ids.copy() for _, ids in self.model.steps(self.cfg, check=self.check)]

    def check(self) -> None:
        """Raise when the job should end now: cancelled (Cancelled), or past its deadline (the timeout's 503)."""
        if self.cancel.is_set():
            raise Cancelled
        if time.monotonic() > self.deadline:
            raise self.late()

    def late(self) -> LimitError:
        return timed_out(self.limits)

    def result(self) -> dict:
        return {"samples": self.model.decode_steps(self.grid(), self.n, self.cfg.stop), "tokens": self.count,
                "seed": self.cfg.seed, "seconds": round(time.monotonic() - self.start, 4)}

    def flush(self, final: bool = False) -> None:
        """Send the text of the steps since the last flush (each sample's stream decoder's)."""
        grid, self.flushed = self.grid(self.flushed).T, self.count
        delta = [d.feed(row) + (d.flush() if final else "") for d, row in zip(self.decoders, grid)]
        if any(delta):
            self.emit({"event": "tokens", "delta": delta, "tokens": self.count})

    def finish(self, result: dict | None = None, error: BaseException | None = None) -> None:
        """The end, once: the result, an error, or neither (cancelled); gives the room back."""
        self.finished = True
        if self.events is not None:
            if result is not None:
                self.flush(final=True)
            if result is not None or error is not None:
                self.emit({"event": "done", **result} if result is not None else error_event(error))
            self.emit(None)
            if self.release is not None:
                self.post(self.release)
        else:  # one wake-up of the loop, not two: each costs the batch's thread a GIL hand-over
            self.post(self.answered, result, error)

    def answered(self, result: dict | None, error: BaseException | None) -> None:
        """On the event loop: the waiter's answer, and the room given back."""
        settle(self.outcome, result, error)
        if self.release is not None:
            self.release()

    def emit(self, event: dict | None) -> None:
        self.post(self.events.put_nowait, event)

    def post(self, fn: Callable, *args) -> None:
        """fn(*args) on the event loop, from any thread; nothing once the loop has closed (shutdown)."""
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass

    async def answer(self) -> dict | None:
        """The result (or the error raised); the client leaving (this waiter cancelled) cancels the job."""
        try:
            return await asyncio.shield(self.outcome)
        except asyncio.CancelledError:
            self.cancel.set()
            raise


def settle(future: asyncio.Future, result, error) -> None:
    if not future.done():
        future.set_exception(error) if error is not None else future.set_result(result)
