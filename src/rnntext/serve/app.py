"""The HTTP API (/v1) and the playground page (/), on FastAPI.

Models are loaded once, at start, from the run directories named on the command line, and
requests choose one by name: a dictionary look-up, so no text from a request ever reaches
the file system. Every error is JSON, {"error": message} (plus "limit" when a limit was hit).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import time
from collections.abc import Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from rnntext.errors import ConfigError, RnntextError
from rnntext.serve.limits import BodyLimit
from rnntext.serve.schemas import (
    UNKNOWN,
    GenerateRequest,
    LimitError,
    Limits,
    NextRequest,
    api_wording,
    check_generate,
    check_next,
)
from rnntext.serve.work import Gate, Job, sample_options

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


def model_names(run_dirs) -> dict[str, Path]:
    """Name each run by its directory's basename; a repeated name gets -2, -3, ..."""
    names: dict[str, Path] = {}
    for run in map(Path, run_dirs):
        base = run.resolve().name or "model"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names[name] = run
    return names


def load_models(models: Mapping) -> dict:
    """{name: Model} from {name: run directory or already loaded Model}; RunError if one is bad."""
    from rnntext.api import Model, load

    loaded = {name: m if isinstance(m, Model) else load(m) for name, m in models.items()}
    for model in loaded.values():
        model.streams(1)  # pack the weights now, not in two request threads at once
    return loaded


def describe(name: str, model) -> dict:
    summary, t = model.summary(), model.info.training
    m = model.info.model
    return {"name": name, "level": summary["level"], "vocab_size": summary["vocab_size"],
            "parameters": summary["total_parameters"], "cell": m.cell, "num_layers": m.num_layers,
            "hidden_size": list(m.hidden_sizes), "lines": model.lines,
            "training": {"iterations": t.get("iterations", 0), "epoch": t.get("epoch"),
                         "best_val_loss": t.get("best_val_loss"), "engine": t.get("engine")}}


def create_app(models: Mapping, limits: Limits | dict | None = None) -> FastAPI:
    """The app serving `models` ({name: run directory or Model}) under `limits`."""
    limits = Limits.of(limits)
    loaded = load_models(models)
    catalogue = {"models": [describe(n, m) for n, m in loaded.items()],
                 "limits": {**dataclasses.asdict(limits), "max_body_bytes": limits.max_body_bytes}}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.gate = Gate(limits)  # made here so its semaphore belongs to the serving loop
        yield
        app.state.gate.close()

    app = FastAPI(title="rnntext", summary="Generate text with recurrent language models trained by rnntext",
                  lifespan=lifespan)
    app.state.model_names = list(loaded)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def pick(name: str):
        try:
            return loaded[name]
        except KeyError:
            shown = name if len(name) <= 80 else name[:77] + "..."
            raise HTTPException(404, f"unknown model {shown!r}: this server has "
                                     f"{', '.join(loaded) or 'no models'} (GET /v1/models)") from None

    def deadline() -> float:
        return time.monotonic() + limits.time_limit_s

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "models": len(loaded)}

    @app.get("/v1/models")
    async def list_models():
        """The models this server was started with, and its limits."""
        return catalogue

    async def next_tokens(req: NextRequest, request: Request):
        check_next(req, limits)
        model = pick(req.model)
        job = lambda: model.next_tokens(req.prime, req.k, req.unknown)  # noqa: E731
        future = await request.app.state.gate.submit(job, deadline())
        tokens = await asyncio.shield(future)
        return {"model": req.model, "tokens": [{"token": t, "prob": p} for t, p in tokens]}

    @app.post("/v1/next")
    async def next_post(req: NextRequest, request: Request):
        """The k most likely next tokens after the prime, with probabilities."""
        return await next_tokens(req, request)

    @app.get("/v1/next")
    async def next_get(request: Request, model: str = Query(max_length=256), prime: str = "",
                       k: int = Query(10, ge=1), unknown: str = Query("error", max_length=64, pattern=UNKNOWN)):
        """As POST /v1/next, for short primes in a URL."""
        return await next_tokens(NextRequest(model=model, prime=prime, k=k, unknown=unknown), request)

    @app.post("/v1/generate")
    async def generate(req: GenerateRequest, request: Request):
        """Samples after the prime; `seed` in the reply reproduces them."""
        check_generate(req, limits)
        model = pick(req.model)
        job = Job(model, req, sample_options(req, model), limits, deadline())
        future = await request.app.state.gate.submit(job.run, job.deadline)
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            job.cancel.set()  # the client went away: stop at the next token
            raise
        return {"model": req.model, **result}

    @app.post("/v1/generate/stream")
    async def generate_stream(req: GenerateRequest, request: Request):
        """Server-sent events: `tokens` ({delta: [text per sample]} or {text: [...]}), then `done` or `error`."""
        check_generate(req, limits)
        model = pick(req.model)
        events: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        job = Job(model, req, sample_options(req, model), limits, deadline(),
                  emit=lambda event: loop.call_soon_threadsafe(events.put_nowait, event))
        await request.app.state.gate.submit(job.run_streaming, job.deadline)
        start = {"event": "start", "model": req.model, "num_samples": req.num_samples, "seed": job.options["seed"]}
        return StreamingResponse(relay(start, events, job), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return app


async def relay(start: dict, events: asyncio.Queue, job: Job):
    """The job's events as SSE frames; a client that leaves cancels the job."""
    try:
        yield sse(start)
        while (event := await events.get()) is not None:
            yield sse(event)
    finally:
        job.cancel.set()


def sse(event: dict) -> str:
    name = event.pop("event")
    return f"event: {name}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LimitError)
    async def over_limit(request, exc: LimitError):
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse({"error": str(exc), "limit": exc.limit}, exc.status, headers=headers)

    @app.exception_handler(RnntextError)
    async def user_error(request, exc: RnntextError):
        return JSONResponse({"error": api_wording(str(exc))}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": str(e.get("type"))}
                  for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return JSONResponse({"error": "the request body is not valid JSON", "detail": errors}, 400)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p != "body") or "request"
        return JSONResponse({"error": f"{where}: {first['msg']}", "detail": errors}, 422)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, so that a taken port is the user's error rather than uvicorn's exit."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as e:
        reason = (e.strerror or str(e)).split(" (while")[0]
        raise ConfigError(f"cannot listen on {host}:{port} ({reason}): choose another --port (or --host)") from None


def run(run_dirs, host: str = "127.0.0.1", port: int = 8000, **limits) -> None:
    """Load the runs, then serve them at http://host:port/ until interrupted (`rnntext serve`)."""
    import uvicorn

    limits = Limits.of(limits)
    app = create_app(model_names(run_dirs), limits)
    sock = listen(host, port)
    # Connections beyond the queue get uvicorn's own 503 before any work is done for them.
    config = uvicorn.Config(app, log_level="info", limit_concurrency=limits.max_concurrent + limits.max_queue + 64)
    # uvicorn configured its loggers just now; it announces no address for a socket it was given.
    shown = f"[{host}]" if ":" in host else host
    logging.getLogger("uvicorn.error").info("rnntext: serving %s at http://%s:%d/ (API docs at /docs)",
                                            ", ".join(app.state.model_names), shown, sock.getsockname()[1])
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
