"""A deadline for each request's headers, on uvicorn's h11 protocol.

uvicorn times out a connection only between requests (`timeout_keep_alive`, armed after a
response); a connection that opens and sends nothing, or sends its headers a byte at a time,
is held for ever. Production servers close those (nginx's client_header_timeout, Apache's
mod_reqtimeout), and so does this: a timer is armed when a connection opens and after each
response, and closes the connection unless a new request's headers have arrived by then.
Slow bodies are the ASGI layer's (bodies.BodyLimit); the per-request time limit is the app's.

h11, not httptools: it is pure Python, always installed with uvicorn, so the behaviour is the
same everywhere; parsing speed is no bound here (generating text is).
"""

from __future__ import annotations

import asyncio


def header_timeout_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's H11Protocol, closing a connection whose request headers take over `seconds`."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self.arm_header_timer()

        def on_response_complete(self) -> None:
            # Armed before uvicorn starts a pipelined request, whose cycle then disarms it.
            self.arm_header_timer()
            super().on_response_complete()

        def connection_lost(self, exc) -> None:
            self.disarm_header_timer()
            super().connection_lost(exc)

        def arm_header_timer(self) -> None:
            self.disarm_header_timer()
            if not self.transport.is_closing():
                self.header_timer = self.loop.call_later(seconds, self.headers_late, self.cycle)

        def disarm_header_timer(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def headers_late(self, cycle) -> None:
            """The timer's end: no request began since it was armed (the cycle is the same), so close."""
            self.header_timer = None
            if self.cycle is cycle and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol
