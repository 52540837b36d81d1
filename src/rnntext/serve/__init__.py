"""The web playground and HTTP API (`rnntext serve`): an optional extra, rnntext[serve]
(rnntext.extras says how to install it).

Importing this package imports nothing heavy; `run` imports FastAPI and uvicorn when called
and turns their absence into the user's error with the command that fixes it.
"""

from __future__ import annotations

from rnntext.extras import missing


def run(run_dirs, host: str = "127.0.0.1", port: int = 8000, allowed_hosts=(), **limits) -> None:
    """Serve the trained runs `run_dirs` at http://host:port/ until interrupted.

    Requests must name localhost, the loopback addresses, `host` or one of `allowed_hosts` ("*":
    any) in their Host header (rnntext.serve.hosts). `limits` are fields of
    rnntext.serve.limits.Limits (max_length, max_samples, max_prime_chars, max_top_probs,
    max_stops, max_stop_chars, max_beam_stop_work, request_timeout_s, max_batch, max_concurrent,
    max_beams, max_queue, header_timeout_s, body_timeout_s).
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise missing("serve", "the server") from None
    from rnntext.serve.app import run as run_app

    run_app(run_dirs, host, port, tuple(allowed_hosts), **limits)


__all__ = ["run"]
