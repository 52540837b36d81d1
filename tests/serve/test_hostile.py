"""The server on a real uvicorn, under clients that hold connections: idle sockets, headers and
bodies sent a byte at a time, clients that leave while their text is generated.

Every wait below is bounded and far above what the behaviour under test needs (a timeout of
0.5 s is given 5 s); without the behaviour, each test runs into its bound and fails.
"""

import http.client
import json
import select
import socket
import threading
import time
from contextlib import contextmanager

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
uvicorn = pytest.importorskip("uvicorn", reason="these tests need uvicorn: pip install 'rnntext[serve]'")

from rnntext.serve.app import create_app, server_config  # noqa: E402

TIMEOUT = 0.5  # the server's header and body timeouts here
LIMITS = {"max_batch": 1, "max_concurrent": 1, "max_queue": 1, "request_timeout_s": 60, "max_length": 3000, "header_timeout_s": TIMEOUT,
          "body_timeout_s": TIMEOUT}


@contextmanager
def serving(app):
    """`app` on uvicorn, configured as `rnntext serve` does, in a thread on a free loopback port; yields the port."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def port(tiny_run):
    with serving(create_app({"tiny": tiny_run}, LIMITS)) as port:
        yield port


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def post(port: int, path: str, body: dict, timeout: float = 10) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing `sock`, if it closed it within `seconds`; else None."""
    received, deadline = b"", time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0]:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk
    return None


def test_idle_connections_do_not_turn_requests_away(port):
    # More idle sockets than requests the server queues, and than the connection cap it once
    # gave uvicorn (max_concurrent + max_queue + 64): a real request is still answered.
    idle = [connect(port) for _ in range(LIMITS["max_concurrent"] + LIMITS["max_queue"] + 80)]
    try:
        status, body = post(port, "/v1/generate", {"model": "tiny", "length": 5})
        assert status == 200 and len(body["samples"][0]) == 5
        assert all(closed_within(s, 10 * TIMEOUT) == b"" for s in idle), "an idle connection was kept open"
    finally:
        for s in idle:
            s.close()


def test_headers_sent_a_byte_at_a_time_are_cut_off(port):
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    with connect(port) as s:
        start, sent = time.monotonic(), 0
        while sent < len(head):  # 0.05 s a byte: the whole head would take 12 s
            try:
                s.sendall(head[sent:sent + 1])
            except OSError:  # closed by the server
                break
            sent += 1
            if closed_within(s, 0.05) is not None:
                break
        assert sent < len(head) and time.monotonic() - start < 10 * TIMEOUT


def request_head(path: str, length: int) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_a_stalled_body_gets_408(port):
    body = json.dumps({"model": "tiny", "prime": "the " * 20}).encode()
    with connect(port) as s:
        s.sendall(request_head("/v1/generate", len(body)) + body[:10])
        answer = closed_within(s, 10 * TIMEOUT)
    assert answer is not None and answer.startswith(b"HTTP/1.1 408 "), answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["limit"] == "body_timeout_s"


def test_a_body_sent_a_byte_at_a_time_is_cut_off(port):
    body = json.dumps({"model": "tiny", "prime": "the " * 50}).encode()
    with connect(port) as s:
        s.sendall(request_head("/v1/generate", len(body)))
        start, answer = time.monotonic(), None
        for i in range(len(body)):  # 0.05 s a byte: the whole body would take 10 s
            try:
                s.sendall(body[i:i + 1])
            except OSError:
                answer = b""
                break
            if (answer := closed_within(s, 0.05)) is not None:
                break
        assert answer is not None and i < len(body) - 1 and time.monotonic() - start < 10 * TIMEOUT
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.mark.parametrize("path", ["/v1/generate", "/v1/generate/stream"])
def test_a_client_that_leaves_stops_its_generation(counting_model, path):
    # A batch of one stream, 10 ms a step: the abandoned 3000 tokens would hold its place 30 s.
    app = create_app({"count": counting_model}, LIMITS)
    with serving(app) as port:
        body = json.dumps({"model": "count", "length": 3000}).encode()
        with connect(port) as s:
            s.sendall(request_head(path, len(body)) + body)
            wait_for(lambda: counting_model.generated > 5, 10, "the generation did not start")
        start = time.monotonic()
        status, reply = post(port, "/v1/generate", {"model": "count", "length": 5}, timeout=15)
        assert status == 200 and time.monotonic() - start < 5, "the abandoned generation kept its place"
        steps = counting_model.generated
        time.sleep(0.2)  # twenty steps' time: nothing steps any more
        assert counting_model.generated == steps < 3000


def test_a_client_that_leaves_the_queue_frees_its_place(tiny_run, counting_model):
    app = create_app({"count": counting_model}, LIMITS)
    body = json.dumps({"model": "count", "length": 2000}).encode()
    with serving(app) as port, connect(port) as running:
        running.sendall(request_head("/v1/generate", len(body)) + body)
        wait_for(lambda: counting_model.generated > 0, 10, "the generation did not start")
        with connect(port) as queued:
            queued.sendall(request_head("/v1/generate", len(body)) + body)
            wait_for(lambda: app.state.gate.waiting == 1, 10, "the second request was not queued")
        wait_for(lambda: app.state.gate.waiting == 0, 5, "a request whose client left kept its place in the queue")


STOPS = [f"zq{i:03d}" for i in range(16)]  # never in the tiny model's text: the samples run their length
HEAVY = {"beam": {"beam": 4, "length": 3000, "stop": STOPS[:8]},
         "samples": {"num_samples": 4, "length": 3000, "stop": STOPS},
         "stream": {"num_samples": 2, "length": 3000, "stop": STOPS}}


@pytest.mark.parametrize("kind", HEAVY)
def test_every_request_leaves_with_its_client_within_a_second(counting_model, kind):
    # 10 ms a step: the abandoned 3000 tokens would hold on for 30 s (a beam search: longer).
    app = create_app({"count": counting_model}, {**LIMITS, "max_batch": 4})
    path = "/v1/generate/stream" if kind == "stream" else "/v1/generate"
    with serving(app) as port:
        body = json.dumps({"model": "count", **HEAVY[kind]}).encode()
        with connect(port) as s:
            s.sendall(request_head(path, len(body)) + body)
            wait_for(lambda: counting_model.generated > 5, 10, "the generation did not start")
            left = counting_model.generated
        wait_for(lambda: counting_model.generated == (steps := counting_model.generated) and time.sleep(0.1) is None
                 and counting_model.generated == steps, 5, "the generation went on after its client left")
        # counted in steps of 10 ms at least (a loaded machine takes fewer steps in a second, never more)
        assert counting_model.generated - left <= 100, "it stepped on for over a second after its client left"


@pytest.mark.parametrize("kind", ["beam", "samples"])
def test_every_request_keeps_its_time_limit_within_a_second(counting_model, kind):
    app = create_app({"count": counting_model}, {**LIMITS, "max_batch": 4, "request_timeout_s": 0.5})
    with serving(app) as port:
        status, reply = post(port, "/v1/generate", {"model": "count", **HEAVY[kind]}, timeout=15)
        steps = counting_model.generated
        time.sleep(0.2)
        # steps of 10 ms at least: the 0.5 s limit and a second more take at most 150 (the request asks for 3000)
        assert status == 503 and reply["limit"] == "request_timeout_s" and steps <= 150, (status, steps)
        assert counting_model.generated == steps  # nothing steps after the answer


def test_a_host_the_server_was_not_started_for_gets_400(tiny_run):
    from rnntext.serve.hosts import allowed_hosts

    with serving(create_app({"tiny": tiny_run}, LIMITS, allowed_hosts("127.0.0.1", ["rnn.example"]))) as port:
        def status(host: str) -> tuple[int, bytes]:
            with connect(port) as s:
                s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                answer = closed_within(s, 5) or b""
            return int(answer.split(b" ")[1]), answer.split(b"\r\n\r\n", 1)[1]

        for host in ("evil.example", f"evil.example:{port}", "localhost.evil.example", "127.0.0.1.evil.example",
                     "[::2]", "10.0.0.1"):
            code, body = status(host)
            assert code == 400 and "does not answer to the host" in json.loads(body)["error"], host
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "LOCALHOST.", f"[::1]:{port}", "rnn.example"):
            assert status(host)[0] == 200, host
