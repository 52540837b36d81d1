"""Guards on request bodies, enforced before any of the body is parsed: a size cap and a deadline.

Pure ASGI rather than a route check: the framework would read and parse a body of any size
(memory), for as long as the client cares to take (a connection held), before a handler could
look at it. A declared Content-Length over the cap is refused at once; otherwise the body is
read up to the cap, and refused as soon as it passes it. The whole body must arrive within
`timeout_s` of the request's headers (nginx's client_body_timeout plays the same part), or the
answer is 408 and the connection is closed: a client sending a byte a second holds nothing for
long. The per-request time limit starts only once the body is in.
"""

from __future__ import annotations

import asyncio
import json


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app, max_bytes: int, timeout_s: float = 10.0):
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self.refuse(send)
        try:
            body = await asyncio.wait_for(self.read(receive), self.timeout_s)
        except BodyTooLarge:
            return await self.refuse(send)
        except TimeoutError:
            return await self.too_slow(send)
        if body is None:  # the client left while sending
            return None
        return await self.app(scope, replay(body, receive), send)

    async def read(self, receive) -> bytes | None:
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                raise BodyTooLarge
        return body

    async def refuse(self, send) -> None:
        await answer(send, 413, {"error": f"the request body is over this server's limit of {self.max_bytes} "
                                          f"bytes (max_body_bytes, from max_prime_chars)", "limit": "max_body_bytes"})

    async def too_slow(self, send) -> None:
        await answer(send, 408, {"error": f"the request body did not arrive within this server's limit of "
                                          f"{self.timeout_s:g} s (body_timeout_s)", "limit": "body_timeout_s"})


async def answer(send, status: int, content: dict) -> None:
    """A JSON error that also closes the connection (the rest of the body is never read)."""
    payload = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


def replay(body: bytes, receive):
    """A receive() that hands over the buffered body once, then defers to the real one."""
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
