"""Running generations off the event loop: a bounded gate, and the jobs that run in its threads.

Generation is CPU-bound NumPy, so it runs in a small thread pool (NumPy releases the GIL in
its matrix products) and the event loop stays free to answer /healthz and queue the rest.
A thread cannot be killed, so each job checks its deadline and a cancel flag every step;
its slot is freed only when the thread really ends, so the bound on concurrent work holds
even when clients disconnect. A handler is not cancelled when its client leaves (Starlette
lets it run to its answer), so `unless_gone` watches for the ASGI disconnect message itself.
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
from rnntext.sampling import SampleConfig, with_seed
from rnntext.serve.limits import Limits
from rnntext.serve.schemas import GenerateRequest, LimitError, api_wording, check_generate

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.05  # streaming: send what was generated at most this often (each send re-decodes)


class Gate:
    """At most `max_concurrent` jobs run; at most `max_queue` wait; nobody waits past their deadline."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.free = asyncio.Semaphore(limits.max_concurrent)
        self.waiting = 0
        self.pool = ThreadPoolExecutor(max_workers=limits.max_concurrent, thread_name_prefix="rnntext-serve")

    async def submit(self, fn: Callable, deadline: float) -> asyncio.Future:
        """Wait for a slot, then start fn() in the pool; returns its future (await it shielded)."""
        if self.free.locked() and self.waiting >= self.limits.max_queue:
            raise LimitError(503, "max_queue", f"the server is busy: {self.waiting} requests are already waiting "
                                               f"(max_queue {self.limits.max_queue}); retry shortly")
        # asyncio.timeout, not wait_for: wait_for (3.11) runs acquire() in a task of its own, so a
        # request that took a free slot would still count as waiting for a loop turn or two, and
        # others arriving then would be turned away from a queue that is empty.
        self.waiting += 1
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self.free.acquire()
        except TimeoutError:
            raise timed_out(self.limits) from None
        finally:
            self.waiting -= 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self.pool, fn)
        except BaseException:
            self.free.release()
            raise
        future.add_done_callback(lambda _: self.free.release())
        return future

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


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
    """The sampling options of a request: the run's [sample] defaults under the request's
    fields, a random seed when it gave none, a length it left out capped at max_length.
    Checked now, so that errors are a 422 (or the limit's status), not a broken stream."""
    options = req.options()
    cfg = model.sample_config(**options)
    if req.length is None and cfg.length > limits.max_length:
        cfg = model.sample_config(**options, length=limits.max_length)
    cfg = with_seed(cfg)  # the seed rule of rnntext.sampling: fresh unless given; the reply returns it
    check_generate(cfg, limits)
    if cfg.prime:
        model.encode(cfg.prime, cfg.unknown)  # raises the user's error for unknown symbols
    return cfg


class Job:
    """One generation, run in a pool thread; `emit` (streaming) receives event dicts as text arrives."""

    def __init__(self, model, cfg: SampleConfig, limits: Limits, deadline: float,
                 emit: Callable[[dict | None], None] | None = None):
        self.model, self.cfg, self.limits = model, cfg, limits
        self.deadline, self.emit = deadline, emit
        self.cancel = threading.Event()
        self.sent = [""] * cfg.num_samples

    def run(self) -> dict | None:
        """Generate; return {samples, tokens, seed, seconds}, or None when cancelled."""
        start, last_flush = time.monotonic(), 0.0
        steps: list[np.ndarray] = []  # each (B,) ids, -1 after a stream stopped
        options = dataclasses.asdict(self.cfg)
        for _, ids in self.model.stream_ids(options.pop("prime"), **options):
            steps.append(ids)
            if self.cancel.is_set():
                return None
            now = time.monotonic()
            if now > self.deadline:
                raise timed_out(self.limits)
            if self.emit and now - last_flush >= FLUSH_SECONDS:
                self.flush(steps)
                last_flush = now
        texts = self.texts(steps)
        if self.emit:
            self.flush(steps, texts)
        return {"samples": texts, "tokens": len(steps), "seed": self.cfg.seed,
                "seconds": round(time.monotonic() - start, 4)}

    def texts(self, steps: list[np.ndarray]) -> list[str]:
        return self.model.decode_steps(steps, self.cfg.num_samples)

    def flush(self, steps: list[np.ndarray], texts: list[str] | None = None) -> None:
        """Send what is new since the last flush; whole texts when decoding changed earlier text."""
        texts = self.texts(steps) if texts is None else texts
        if all(t.startswith(s) for t, s in zip(texts, self.sent)):
            delta = [t[len(s):] for t, s in zip(texts, self.sent)]
            if any(delta):
                self.emit({"event": "tokens", "delta": delta, "tokens": len(steps)})
        else:  # e.g. a byte-level sample that ended mid-character and has now completed it
            self.emit({"event": "tokens", "text": texts, "tokens": len(steps)})
        self.sent = texts

    def run_streaming(self) -> None:
        """run(), reporting the outcome as events and always ending with None."""
        try:
            result = self.run()
            if result is not None:
                self.emit({"event": "done", **result})
        except LimitError as e:
            self.emit({"event": "error", "error": str(e), "limit": e.limit})
        except RnntextError as e:
            self.emit({"event": "error", "error": api_wording(str(e))})
        except Exception:
            log.exception("generation failed")
            self.emit({"event": "error", "error": "internal error while generating (see the server log)"})
        finally:
            self.emit(None)
