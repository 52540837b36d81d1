"""The HTTP API (/v1) and the playground page (/), on FastAPI.

Models are loaded once, at start, from the run directories named on the command line, and
requests choose one by name: a dictionary look-up, so no text from a request ever reaches
the file system. Every error is JSON, {"error": message} (plus "limit" when a limit was hit).
/docs is a page of this package's own that lists the endpoints from /openapi.json: FastAPI's
Swagger UI loads its scripts from a CDN, so it is blank on a machine without internet. A
request whose Host header names none of the server's names gets 400 before anything else
(DNS rebinding: rnntext.serve.hosts).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import time
from collections.abc import Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from rnntext.errors import ConfigError, RnntextError
from rnntext.serve.bodies import BodyLimit
from rnntext.serve.connections import header_timeout_protocol
from rnntext.serve.hosts import HostCheck, allowed_hosts
from rnntext.serve.limits import Limits
from rnntext.serve.schemas import GenerateRequest, LimitError, NextQuery, NextRequest, api_wording, check_next
from rnntext.serve.work import ClientGone, Gate, Job, sample_options, unless_gone

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
    from rnntext.trained import Model

    loaded = {name: m if isinstance(m, Model) else Model.load(m) for name, m in models.items()}
    for name, model in loaded.items():
        if labels := model.info.model.labels:  # a request has no field for a label, nor serve a flag
            shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
            raise ConfigError(f"{models[name] if not isinstance(models[name], Model) else name} was trained with "
                              f"labels ({shown}; --condition-by): rnntext serve serves "
                              f"runs trained without labels: sample this one with `rnntext sample RUN --condition "
                              f"LABEL`, or export it with `rnntext export onnx` (its label is an input)")
        model.streams(1)  # pack the weights now, not in two request threads at once
    return loaded


def catalogue_entry(name: str, model) -> dict:
    summary, t = model.summary(), model.info.training
    m = model.info.model
    return {"name": name, "level": summary["level"], "vocab_size": summary["vocab_size"],
            "parameters": summary["total_parameters"], "cell": m.cell, "num_layers": m.num_layers, "shape": m.shape(),
            "hidden_size": list(m.hidden_sizes), "lines": model.lines,
            "training": {"iterations": t.get("iterations", 0), "epoch": t.get("epoch"),
                         "best_val_loss": t.get("best_val_loss"), "engine": t.get("engine")}}


class Served:
    """The loaded models under their names, and the server's limits: what every route asks."""

    def __init__(self, loaded: dict, limits: Limits):
        self.loaded, self.limits = loaded, limits
        self.catalogue = {"models": [catalogue_entry(n, m) for n, m in loaded.items()],
                          "limits": {**dataclasses.asdict(limits), "max_body_bytes": limits.max_body_bytes}}

    def pick(self, req):
        name = req.choose_model(self.loaded)
        try:
            return self.loaded[name]
        except KeyError:
            shown = name if len(name) <= 80 else name[:77] + "..."
            raise HTTPException(404, f"unknown model {shown!r}: this server has "
                                     f"{', '.join(self.loaded) or 'no models'} (GET /v1/models)") from None

    def deadline(self) -> float:
        return time.monotonic() + self.limits.request_timeout_s


def create_app(models: Mapping, limits: Limits | dict | None = None, hosts=None) -> FastAPI:
    """The app serving `models` ({name: run directory or Model}) under `limits`, answering only
    requests whose Host header names one of `hosts` (rnntext.serve.hosts.allowed_hosts; by default
    localhost and the loopback addresses)."""
    limits = Limits.of(limits)
    hosts = hosts if isinstance(hosts, frozenset) else allowed_hosts(None, hosts or ())
    served = Served(load_models(models), limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.gate = Gate(limits)  # made here so its semaphore belongs to the serving loop
        yield
        app.state.gate.close()

    app = FastAPI(title="rnntext", summary="Generate text with recurrent language models trained by rnntext",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.model_names, app.state.limits = list(served.loaded), limits
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, timeout_s=limits.body_timeout_s)
    app.add_middleware(HostCheck, allowed=hosts)  # added last: the outermost, before anything reads the request
    add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_pages(app, served)
    add_next_routes(app, served)
    add_generate_routes(app, served)
    return app


def add_pages(app: FastAPI, served: Served) -> None:
    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return FileResponse(STATIC / "docs.html")

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "models": len(served.loaded)}

    @app.get("/v1/models")
    async def list_models():
        """The models this server was started with, and its limits."""
        return served.catalogue


def add_next_routes(app: FastAPI, served: Served) -> None:
    async def next_tokens(req: NextRequest, request: Request):
        model = served.pick(req)
        cfg = model.sample_config(**req.options())  # the run's [sample] unknown, under the request's
        check_next(cfg, served.limits)
        job = lambda: model.next_tokens(cfg.prime, cfg.top_probs, cfg.unknown)  # noqa: E731
        tokens = await unless_gone(request, request.app.state.gate.run(job, served.deadline()))
        return {"model": req.model, "tokens": [{"token": t, "prob": p} for t, p in tokens]}

    @app.post("/v1/next")
    async def next_post(req: NextRequest, request: Request):
        """The `top_probs` most likely next tokens after the prime, with probabilities."""
        return await next_tokens(req, request)

    @app.get("/v1/next")
    async def next_get(req: Annotated[NextQuery, Query()], request: Request):
        """As POST /v1/next, for short primes in a URL."""
        return await next_tokens(req, request)


def add_generate_routes(app: FastAPI, served: Served) -> None:
    limits = served.limits

    async def admitted(req: GenerateRequest, request: Request, streaming: bool = False) -> Job:
        """The request's job, admitted to its model's batch (waiting in the queue if need be)."""
        model = served.pick(req)
        job = Job(model, sample_options(req, model, limits), limits, served.deadline(), streaming)
        gate = request.app.state.gate
        try:
            await unless_gone(request, gate.admit(gate.batch(req.model, model), job))
        except ClientGone:
            job.cancel.set()  # in case it was admitted just as its client left
            raise
        return job

    @app.post("/v1/generate")
    async def generate(req: GenerateRequest, request: Request):
        """Samples after the prime; `seed` in the reply reproduces them."""
        job = await admitted(req, request)
        result = await unless_gone(request, job.answer())
        return {"model": req.model, **result}

    @app.post("/v1/generate/stream")
    async def generate_stream(req: GenerateRequest, request: Request):
        """Server-sent events: `tokens` ({delta: [text per sample]}), then `done` or `error`."""
        job = await admitted(req, request, streaming=True)
        start = {"event": "start", "model": req.model, "num_samples": job.cfg.num_samples, "seed": job.cfg.seed}
        return StreamingResponse(relay(start, job), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def relay(start: dict, job: Job):
    """The job's events as SSE frames; a client that leaves cancels the job."""
    try:
        yield sse(start)
        while (event := await job.events.get()) is not None:
            yield sse(event)
    finally:
        job.cancel.set()


def sse(event: dict) -> str:
    name = event.pop("event")
    return f"event: {name}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


class ErrorJSON(JSONResponse):
    """JSON that survives request text echoed in a message: a lone surrogate (a JSON key "\\ud800")
    cannot be UTF-8, so such a message is sent with every non-ASCII character escaped."""

    def render(self, content) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LimitError)
    async def over_limit(request, exc: LimitError):
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return ErrorJSON({"error": str(exc), "limit": exc.limit}, exc.status, headers=headers)

    @app.exception_handler(RnntextError)
    async def user_error(request, exc: RnntextError):
        return ErrorJSON({"error": api_wording(exc)}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        return ErrorJSON({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @app.exception_handler(ClientGone)
    async def client_gone(request, exc: ClientGone):
        return Response(status_code=499)  # nobody reads it; nginx's code for a client that closed, in the log

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": str(e.get("type"))}
                  for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return ErrorJSON({"error": "the request body is not valid JSON", "detail": errors}, 400)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p != "body") or "request"
        return ErrorJSON({"error": f"{where}: {first['msg']}", "detail": errors}, 422)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, so that a taken port is the user's error rather than uvicorn's exit."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    except UnicodeError:  # a host name IDNA cannot encode (a label over 63 characters)
        raise ConfigError(f"cannot listen on {host!r}: not a valid host name (--host)") from None
    except OSError as e:
        reason = (e.strerror or str(e)).split(" (while")[0]
        raise ConfigError(f"cannot listen on {host}:{port} ({reason}): choose another --port (or --host)") from None


def check_port(port) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"port (--port): must be a whole number from 1 to 65535, not {port!r}")


def server_config(app: FastAPI, log_level: str = "info"):
    """uvicorn's configuration for an app of create_app's."""
    import uvicorn

    # No limit_concurrency: uvicorn counts open connections against it, so idle sockets would
    # turn real requests away with its 503. The gate counts requests (503 and Retry-After past
    # max_queue), and a connection that sends no request is closed after header_timeout_s.
    return uvicorn.Config(app, log_level=log_level, http=header_timeout_protocol(app.state.limits.header_timeout_s))


def run(run_dirs, host: str = "127.0.0.1", port: int = 8000, allowed: tuple[str, ...] = (), **limits) -> None:
    """Load the runs, then serve them at http://host:port/ until interrupted (`rnntext serve`),
    answering to localhost, `host` and the names `allowed` (rnntext.serve.hosts)."""
    import uvicorn

    limits = Limits.of(limits)
    check_port(port)
    app = create_app(model_names(run_dirs), limits, allowed_hosts(host, allowed))
    sock = listen(host, port)
    config = server_config(app)
    # uvicorn configured its loggers just now; it announces no address for a socket it was given.
    shown = f"[{host}]" if ":" in host else host
    logging.getLogger("uvicorn.error").info("rnntext: serving %s at http://%s:%d/ (API docs at /docs)",
                                            ", ".join(app.state.model_names), shown, sock.getsockname()[1])
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
