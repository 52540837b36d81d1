"""A cap on request bodies, enforced before any of the body is parsed.

Pure ASGI rather than a route check: the framework would read and parse a body of any size
(memory) before a handler could look at it. A declared Content-Length over the cap is refused
at once; a body without one (chunked) is read up to the cap and refused as soon as it passes it.
"""

from __future__ import annotations

import json


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                return await self.refuse(send)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self.refuse(send)
        return await self.app(scope, replay(body, receive), send)

    async def refuse(self, send) -> None:
        payload = json.dumps({"error": f"the request body is over this server's limit of {self.max_bytes} bytes "
                                       f"(max_body_bytes, from max_prime_chars)", "limit": "max_body_bytes"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload.encode()})


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
