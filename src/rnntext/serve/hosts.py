"""The Host header, checked against the names the server was started for (DNS rebinding).

A web page on another site can make the browser reach a server on this machine under the
page's own name: its DNS answer changes to 127.0.0.1 (DNS rebinding), and the browser, seeing
the same origin, lets the page read the answers. Such a request still carries the page's name
in its Host header, so a server that answers only to its own names is out of reach. This one
answers to `localhost`, the loopback addresses, the address it is bound to, and the names given
with --allowed-hosts (`*`: any); others get 400. Bound to every interface (0.0.0.0 or ::), it
also answers to any IP address: a literal address cannot be rebound.
"""

from __future__ import annotations

import ipaddress
import json

LOCAL = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
ANY = "*"


def allowed_hosts(bound: str | None = None, extra=()) -> frozenset[str]:
    """The names a server bound to `bound` answers to: LOCAL, `bound`, and `extra`."""
    names = {*LOCAL, *(name_of(h) for h in extra)}
    if bound is not None:
        names.add(name_of(bound) if bound not in WILDCARDS else bound)
    return frozenset(n for n in names if n is not None)


def name_of(host: str) -> str | None:
    """The host name of a Host header (or a name given) without its port, lower case, with no
    final dot; an IPv6 address without its brackets. None when it is not a host name at all."""
    host = host.strip().lower()
    if host.startswith("["):
        inside, bracket, rest = host[1:].partition("]")
        return inside if bracket and (not rest or rest[1:].isdigit() and rest[0] == ":") else None
    if host.count(":") == 1:
        host, _, port = host.partition(":")
        if not port.isdigit():
            return None
    elif host.count(":") > 1:  # a bare IPv6 address (a name given, not a header)
        return host
    return host.rstrip(".") or None


def allows(allowed: frozenset[str], header: str | None) -> bool:
    if ANY in allowed:
        return True
    name = name_of(header) if header else None
    if name is None:
        return False
    if name in allowed:
        return True
    if allowed & set(WILDCARDS):
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            return False
    return False


class HostCheck:
    """ASGI middleware: a request whose Host header names none of `allowed` gets 400 (JSON)."""

    def __init__(self, app, allowed: frozenset[str]):
        self.app, self.allowed = app, allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        raw = dict(scope.get("headers") or ()).get(b"host")
        header = raw.decode("latin-1") if raw is not None else None
        if allows(self.allowed, header):
            return await self.app(scope, receive, send)
        shown = (header or "")[:80]
        body = json.dumps({"error": f"this server does not answer to the host {shown!r}: it answers to "
                                    f"{', '.join(sorted(n for n in self.allowed if n not in WILDCARDS))}; "
                                    f"start it with --allowed-hosts NAME to add a name"},
                          ensure_ascii=True).encode()
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
