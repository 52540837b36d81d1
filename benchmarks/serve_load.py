"""The server under load, and under garbage, as one JSON line.

    python benchmarks/serve_load.py [--run RUN] [--requests 200] [--clients 64] [--length 200] [--single 20] [--exact]

Starts `rnntext.serve` in a child process on a free loopback port (a small 2x128 LSTM trained
here for a few seconds unless --run names one), then:
- one stream: `single` POST /v1/generate calls one after another from one client: its
  characters per second (the text's characters over the wall time, HTTP included);
- `requests` POST /v1/generate calls from `clients` threads, each on its own keep-alive
  connection, all stepping in the model's batch: successes (`answered_200`, and `all_200`
  when every one was), failures, p50/p95 latency, requests per second, and the aggregate
  characters per second, with its ratio to one stream's (`batching_gain`);
- the server's resident memory, polled from /proc while it works: after the first 50 and the
  last 50 requests, and its peak (VmHWM) — flat memory means the two "after" figures agree;
- the limit the arithmetic sets, measured in this process before the server starts: a step of
  one stream and a step of `clients` rows through the server's own Streams (batched, or row by
  row with --exact), each as characters per second; `products_gain`, what the batch gains in
  the products alone (`clients` x one step's time / the batch step's time); `gain_ceiling`, the
  most `batching_gain` could be if everything but the batch's products (HTTP, the draws, the
  bookkeeping, the clients) cost nothing: the batch's arithmetic rate over the one stream
  measured through HTTP; `fraction_of_ceiling`; and the server's rate for requests of one
  token from `clients` clients (`one_token_requests_per_s`), what HTTP alone allows;
- then `requests` malformed requests (broken JSON, wrong types, oversized bodies and primes,
  unknown and path-like model names): how many got a 4xx, memory after them, and whether
  /healthz still answers.
Everything is bounded (a timeout per request and for the whole run) and the child is always
stopped; nothing leaves the loopback interface.

    python benchmarks/serve_load.py --hostile [--run RUN] [--length 200] [--single 30]

measures instead the p50/p95 latency of `single` requests of `length` tokens, one after another,
alone and then beside two hostile requests sent again as soon as each ends: a beam search and
16 samples, each of 2000 tokens with 16 stop strings of 1000 characters in all (the largest the
default limits take). It reports a lone step's time (a lone request's latency over its length)
and how much later the light requests finished beside the hostile ones.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rnntext import hardware

HOST = "127.0.0.1"
TIMEOUT_S = 60
TEXT = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 200


def train_small(root: Path) -> Path:
    import rnntext

    corpus = root / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    run = root / "small"
    rnntext.train(corpus, run, max_iters=40, num_layers=2, hidden_size=(128,), embed_size=32, seq_len=32,
                  batch_size=8, sample_every=0, quiet=True)
    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(run: Path, port: int, exact: bool = False) -> subprocess.Popen:
    code = f"from rnntext.serve.app import run; run([{str(run)!r}], {HOST!r}, {port}, exact_batching={exact})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            if call(port, "GET", "/healthz")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def call(port: int, method: str, path: str, body: bytes | None = None, conn=None, headers=None, reply=None):
    """(status, seconds); opens a connection unless given one; `reply` (a list) receives the body."""
    own = conn is None
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_S)
    start = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if reply is not None:
            reply.append(data)
        return response.status, time.perf_counter() - start
    finally:
        if own:
            conn.close()


def generate(port: int, name: str, length: int, seed: int, conn=None) -> tuple[int, float, int]:
    """One POST /v1/generate: (status, seconds, characters of text)."""
    body = json.dumps({"model": name, "prime": "the ", "length": length, "temperature": 0.8, "seed": seed})
    reply: list[bytes] = []
    status, seconds = call(port, "POST", "/v1/generate", body.encode(), conn, reply=reply)
    chars = sum(map(len, json.loads(reply[0])["samples"])) if status == 200 else 0
    return status, seconds, chars


def single(port: int, name: str, count: int, length: int) -> float:
    """Characters per second of one client's requests, one after another."""
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_S)
    try:
        start, chars = time.perf_counter(), 0
        for i in range(count):
            status, _, n = generate(port, name, length, 10_000 + i, conn)
            if status != 200:
                raise RuntimeError(f"a lone request got {status}")
            chars += n
        return chars / (time.perf_counter() - start)
    finally:
        conn.close()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def model_name(port: int) -> str:
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", "/v1/models")
        return json.loads(conn.getresponse().read())["models"][0]["name"]
    finally:
        conn.close()


def load(port: int, pid: int, name: str, requests: int, clients: int, length: int) -> dict:
    done, marks, lock = [], {}, threading.Lock()
    local = threading.local()

    def one(i: int):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_S)
        try:
            status, seconds, chars = generate(port, name, length, i, local.conn)
        except OSError:
            local.conn.close()
            del local.conn
            status, seconds, chars = 0, float("nan"), 0
        with lock:
            done.append((status, seconds, chars))
            if len(done) in (50, requests):
                marks[len(done)] = rss_mb(pid)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - start
    ok = sorted(s for status, s, _ in done if status == 200)
    pick = lambda q: round(1000 * ok[min(len(ok) - 1, int(q * len(ok)))], 1) if ok else None  # noqa: E731
    return {"answered_200": len(ok), "all_200": len(ok) == requests, "failures": requests - len(ok),
            "p50_ms": pick(0.5), "p95_ms": pick(0.95), "requests_per_s": round(requests / wall, 1),
            "aggregate_chars_per_s": round(sum(chars for *_, chars in done) / wall),
            "rss_after_first_50_mb": round(marks.get(50, 0), 1), "rss_after_last_50_mb": round(marks.get(requests, 0), 1)}


def arithmetic_limit(run: Path, clients: int, exact: bool, steps: int = 400) -> dict:
    """One stream's step and a step of `clients` rows on the server's Streams, timed here."""
    from rnntext.generation.runtime import Runtime
    from rnntext.trained import Model

    model = Model.load(run)
    runtime = Runtime(model.info.model, len(model.vocab), model.weights, None)
    rng = np.random.default_rng(0)

    def step_seconds(width: int) -> float:
        streams = runtime.streams(width, rowwise=exact)
        streams.prime([0])
        ids = rng.integers(0, streams.V, (steps, width))
        for row in ids[:20]:
            streams.step(row)
        start = time.perf_counter()
        for row in ids:
            streams.step(row)
        return (time.perf_counter() - start) / steps

    one, batch = step_seconds(1), step_seconds(clients)
    return {"one_step_us": round(one * 1e6, 1), "batch_step_us": round(batch * 1e6, 1),
            "one_stream_arithmetic_chars_per_s": round(1 / one), "batch_arithmetic_chars_per_s": round(clients / batch),
            "products_gain": round(clients * one / batch, 2)}


def malformed(rng: random.Random, name: str, big: int) -> tuple[str, bytes]:
    """One hostile request: (path, body)."""
    kinds = [
        lambda: b"{not json",
        lambda: bytes(rng.randrange(256) for _ in range(64)),
        lambda: b"[" * 20_000,
        lambda: json.dumps({"model": rng.choice([f"../{name}", "/etc/passwd", f"{name}/../{name}", "nope", ""])}).encode(),
        lambda: json.dumps({"model": name, "length": rng.choice(["x", -5, 10**9, 1.5, [1]])}).encode(),
        lambda: json.dumps({"model": name, "num_samples": 10**6}).encode(),
        lambda: json.dumps({"model": name, "prime": "a" * 10_001}).encode(),
        lambda: json.dumps({"model": name, "prime": "b" * big}).encode(),
    ]
    path = rng.choice(["/v1/generate", "/v1/generate/stream", "/v1/next"])
    return path, rng.choice(kinds)()


def garbage(port: int, pid: int, name: str, count: int) -> dict:
    rng, rejected, closed = random.Random(0), 0, 0
    for _ in range(count):
        path, body = malformed(rng, name, 200_000)
        try:
            rejected += 400 <= call(port, "POST", path, body)[0] < 500
        except OSError:  # the server may close on an oversized body before reading it all
            closed += 1
    return {"malformed_sent": count, "malformed_4xx": rejected, "malformed_closed": closed,
            "rss_after_malformed_mb": round(rss_mb(pid), 1),
            "healthy_after": call(port, "GET", "/healthz")[0] == 200}


HOSTILE_STOPS = ["zq" * 31 + f"{i:02d}" for i in range(15)] + ["z" * 40]  # 16 strings, 1000 characters
HOSTILE = ({"beam": 16, "num_samples": 1}, {"num_samples": 16})  # each with length 2000 and HOSTILE_STOPS


def latencies(port: int, name: str, count: int, length: int) -> list[float]:
    """Seconds of `count` requests of `length` tokens, one after another on one connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_S)
    try:
        return [generate(port, name, length, 20_000 + i, conn)[1] for i in range(count)]
    finally:
        conn.close()


def hostile(port: int, name: str, count: int, length: int) -> dict:
    """Light requests alone, then beside two hostile ones kept running (see the module docstring)."""
    def quantiles(seconds: list[float]) -> dict:
        ordered = sorted(seconds)
        return {"p50_ms": round(1000 * ordered[len(ordered) // 2], 1),
                "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)}

    alone = quantiles(latencies(port, name, count, length))
    stop, outcomes = threading.Event(), []

    def attack(options: dict) -> None:
        body = json.dumps({"model": name, "length": 2000, "stop": HOSTILE_STOPS, **options}).encode()
        while not stop.is_set():
            outcomes.append(call(port, "POST", "/v1/generate", body))
    threads = [threading.Thread(target=attack, args=(o,), daemon=True) for o in HOSTILE]
    for t in threads:
        t.start()
    time.sleep(1.0)  # both under way
    beside = quantiles(latencies(port, name, count, length))
    stop.set()
    for t in threads:
        t.join(TIMEOUT_S)
    step_ms = alone["p50_ms"] / length
    return {"light_alone": alone, "light_beside_hostile": beside, "lone_step_ms": round(step_ms, 3),
            "p95_delay_ms": round(beside["p95_ms"] - alone["p95_ms"], 1),
            "p95_delay_per_token_ms": round((beside["p95_ms"] - alone["p95_ms"]) / length, 3),
            "hostile_answers": {str(code): sum(c == code for c, _ in outcomes) for code in {c for c, _ in outcomes}},
            "hostile_longest_s": round(max((sec for _, sec in outcomes), default=0.0), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, help="a trained run directory (default: train a small one here)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--single", type=int, default=20, help="requests of the one-stream measure")
    parser.add_argument("--hostile", action="store_true", help="light requests' latency beside two hostile ones")
    parser.add_argument("--exact", action="store_true", help="serve with exact_batching (a product per stream)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    load_average = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or train_small(Path(tmp))
        limit = {} if args.hostile else arithmetic_limit(run, args.clients, args.exact)
        port = free_port()
        proc = start_server(run, port, args.exact)
        try:
            rss_start = rss_mb(proc.pid)
            name = model_name(port)
            single(port, name, 2, args.length)  # warm up
            if args.hostile:
                result = hostile(port, name, args.single, args.length)
            else:
                one = single(port, name, args.single, args.length)
                result = load(port, proc.pid, name, args.requests, args.clients, args.length)
                gain, ceiling = result["aggregate_chars_per_s"] / one, limit["batch_arithmetic_chars_per_s"] / one
                result |= {"single_stream_chars_per_s": round(one), "batching_gain": round(gain, 2), **limit,
                           "gain_ceiling": round(ceiling, 2), "fraction_of_ceiling": round(gain / ceiling, 2),
                           "one_token_requests_per_s": load(port, proc.pid, name, args.requests, args.clients, 1)[
                               "requests_per_s"]}
                result |= garbage(port, proc.pid, name, args.requests)
            result |= {"rss_at_start_mb": round(rss_start, 1), "rss_peak_mb": round(rss_mb(proc.pid, "VmHWM"), 1)}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps({"benchmark": "serve_load", "machine": hardware.describe(), "load_average_at_start": load_average,
                      "requests": args.requests, "clients": args.clients, "length": args.length,
                      "exact_batching": args.exact, **result}))


if __name__ == "__main__":
    main()
