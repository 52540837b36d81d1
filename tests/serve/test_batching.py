"""Continuous batching: requests join and leave one model's stepping batch between steps, each
with its own options and seed. With exact_batching each gets exactly the text it gets alone;
by default one matrix product steps the batch, and a row's logits stay within the documented
tolerance of the same row alone."""

import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install 'rnntext[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

from rnntext.api import load  # noqa: E402
from rnntext.serve.app import create_app  # noqa: E402
from rnntext.serve.batching import BATCH_LOGIT_TOLERANCE  # noqa: E402

EXACT = {"exact_batching": True}

TARGET = {"prime": "the ", "length": 120, "temperature": 0.9, "seed": 7}
OTHERS = [  # every option varied; several samples each for some
    {"prime": "a st", "length": 80, "top_k": 3, "seed": 1},
    {"prime": "the q", "length": 60, "greedy": True},
    {"length": 100, "top_p": 0.5, "seed": 2, "num_samples": 3},
    {"length": 70, "temperature": 1.5, "top_k": 10, "top_p": 0.9, "seed": 3},
    {"prime": "fox", "length": 90, "temperature": 0},
    {"length": 50, "temperature": 0.5, "seed": 4, "num_samples": 2},
    {"prime": "Qthe lazy", "unknown": "skip", "length": 110, "seed": 5},
    {"length": 40, "top_k": 1, "seed": 6},
    {"prime": "dog. ", "length": 85, "temperature": 2.0, "seed": 8},
    {"length": 65, "top_p": 0.95, "seed": 9, "num_samples": 4},
    {"length": 75, "repetition_penalty": 1.5, "seed": 10, "num_samples": 2},   # each row its own penalty
    {"prime": "the ", "length": 95, "stop": ["og", "x"], "seed": 11, "num_samples": 3},
    {"prime": "th", "length": 30, "beam": 3},                                   # searched beside the batch
]


def post(client, model: str, body: dict) -> dict:
    response = client.post("/v1/generate", json={"model": model, **body})
    assert response.status_code == 200, response.text
    return response.json()


def together(client, model: str, bodies: list[dict], gap: float) -> list[dict]:
    """The replies to `bodies`, each sent from a thread of its own, `gap` seconds after the one before."""
    replies = [None] * len(bodies)

    def call(i):
        replies[i] = post(client, model, bodies[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
        time.sleep(gap)
    for t in threads:
        t.join(60)
    return replies


def test_a_request_gets_the_same_text_alone_and_beside_a_dozen_others(tiny_run, slowed):
    slow = slowed(tiny_run)  # the same weights, 10 ms a step: the requests overlap
    model = load(tiny_run)
    bodies = OTHERS[:5] + [TARGET] + OTHERS[5:]  # the target joins in the others' midst
    with TestClient(create_app({"tiny": tiny_run, "slow": slow}, EXACT), base_url="http://localhost") as c:
        alone = [post(c, "tiny", body)["samples"] for body in bodies]
        batched = [reply["samples"] for reply in together(c, "slow", bodies, gap=0.05)]
    assert batched == alone
    # They ran together: far fewer batch steps than tokens (one at a time would take one each).
    tokens = sum(body["length"] for body in bodies)
    assert slow.generated < tokens / 3
    # Alone, a request's first sample is `rnntext sample`'s text for its options, bit for bit.
    for body, samples in zip(bodies, alone):
        options = {k: v for k, v in body.items() if k != "num_samples"}
        assert samples[0] == model.generate(**options)
    assert len({s for samples in alone for s in samples}) > 10  # the options made different texts
    assert not any("og" in s or "x" in s for s in alone[-2])  # a stop string never shows


def test_a_request_joins_and_leaves_while_another_runs(tiny_run, slowed):
    slow = slowed(tiny_run)
    model = load(tiny_run)
    long, short = {"prime": "a st", "length": 300, "seed": 1}, {"prime": "the ", "length": 30, "seed": 2}
    with TestClient(create_app({"slow": slow}, EXACT), base_url="http://localhost") as c:
        first = {}
        runner = threading.Thread(target=lambda: first.update(post(c, "slow", long)))
        runner.start()
        deadline = time.monotonic() + 10
        while slow.generated < 50:  # well into its 3 s
            assert time.monotonic() < deadline, "the long request did not start"
            time.sleep(0.01)
        second = post(c, "slow", short)
        assert runner.is_alive(), "the short request waited for the long one"
        runner.join(30)
    assert second["samples"] == [model.generate(**short)] and second["tokens"] == 30
    assert first["samples"] == [model.generate(**long)] and first["tokens"] == 300
    assert slow.generated < 300 + 30 - 10  # the short one stepped in the long one's steps


def test_stops_in_a_batch(line_run, slowed):
    slow = slowed(line_run, delay=0.005)
    request = {"length": 300, "num_samples": 4, "seed": 0, "temperature": 0.5}
    bodies = [request, {**request, "stop_at_end": False}, {**request, "seed": 1, "num_samples": 1}]
    with TestClient(create_app({"lines": line_run, "slow": slow}, EXACT), base_url="http://localhost") as c:
        alone = [post(c, "lines", body) for body in bodies]
        batched = together(c, "slow", bodies, gap=0.02)
    assert [(r["samples"], r["tokens"]) for r in batched] == [(r["samples"], r["tokens"]) for r in alone]
    stopped, running = alone[0], alone[1]
    assert stopped["tokens"] < 300 and running["tokens"] == 300
    assert all(len(s) < 300 for s in stopped["samples"])


def test_the_batch_holds_max_batch_streams_and_the_queue_max_queue_requests(tiny_run, slowed):
    slow = slowed(tiny_run)
    limits = {"max_batch": 3, "max_queue": 1, "request_timeout_s": 20}
    with TestClient(create_app({"slow": slow}, limits), base_url="http://localhost") as c:
        too_many = c.post("/v1/generate", json={"model": "slow", "num_samples": 4})
        assert too_many.status_code == 422 and too_many.json()["limit"] == "max_batch"
        statuses, replies = [], {}

        def call(name, body):
            response = c.post("/v1/generate", json={"model": "slow", **body})
            statuses.append(response.status_code)
            replies[name] = response

        # two samples and one fill the batch; the next waits; the one after that is turned away
        bodies = {"two": {"length": 80, "num_samples": 2}, "one": {"length": 80}, "waits": {"length": 10},
                  "refused": {"length": 10}}
        threads = []
        for name, body in bodies.items():
            threads.append(threading.Thread(target=call, args=(name, body)))
            threads[-1].start()
            time.sleep(0.15)
        for t in threads:
            t.join(30)
        refused = replies["refused"]
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert refused.json()["limit"] == "max_queue" and "max_queue" in refused.json()["error"]
        assert sorted(statuses) == [200, 200, 200, 503]
        assert c.post("/v1/generate", json={"model": "slow", "length": 3}).status_code == 200  # it recovers


def test_a_request_out_of_time_leaves_the_batch_and_the_others_carry_on(tiny_run, slowed):
    slow = slowed(tiny_run)
    model = load(tiny_run)
    short = {"prime": "the ", "length": 20, "seed": 3}
    with TestClient(create_app({"slow": slow}, {"request_timeout_s": 0.5, **EXACT}), base_url="http://localhost") as c:
        replies = {}

        def call(name, body):
            replies[name] = c.post("/v1/generate", json={"model": "slow", **body})

        late = threading.Thread(target=call, args=("late", {"length": 200}))  # 2 s: over the limit
        late.start()
        time.sleep(0.1)
        call("short", short)
        late.join(10)
        assert replies["late"].status_code == 503 and replies["late"].json()["limit"] == "request_timeout_s"
        assert replies["short"].json()["samples"] == [model.generate(**short)]
        steps = slow.generated
        assert 20 <= steps <= 0.5 / slow.delay + 2  # at 10 ms or more a step: it left at its deadline
        time.sleep(0.1)
        assert slow.generated == steps


def test_next_tokens_and_health_answer_while_a_batch_runs(tiny_run, slowed):
    slow = slowed(tiny_run)
    with TestClient(create_app({"slow": slow}), base_url="http://localhost") as c:
        runner = threading.Thread(target=lambda: post(c, "slow", {"length": 150, "num_samples": 8}))
        runner.start()
        time.sleep(0.3)
        assert c.get("/healthz").status_code == 200
        tokens = c.get("/v1/next", params={"model": "slow", "prime": "the q"}).json()["tokens"]
        assert runner.is_alive()  # both answered while the batch still ran: neither waited for it
        assert [t["token"] for t in tokens] == [t for t, _ in load(tiny_run).next_tokens("the q")]
        runner.join(30)


def test_streaming_in_a_batch_sends_the_same_text(tiny_run, slowed):
    import json

    slow = slowed(tiny_run, delay=0.002)
    body = {"prime": "a st", "length": 200, "seed": 11, "top_p": 0.9, "num_samples": 2}
    with TestClient(create_app({"tiny": tiny_run, "slow": slow}, EXACT), base_url="http://localhost") as c:
        alone = post(c, "tiny", body)["samples"]
        others = threading.Thread(target=together, args=(c, "slow", OTHERS[:4], 0.02))
        others.start()
        response = c.post("/v1/generate/stream", json={"model": "slow", **body})
        others.join(60)
    frames = [f.split("\n") for f in response.text.strip().split("\n\n")]
    got = [(lines[0].removeprefix("event: "), json.loads(lines[1].removeprefix("data: "))) for lines in frames]
    deltas = [data["delta"] for name, data in got if name == "tokens"]
    assert got[0][0] == "start" and got[-1][0] == "done" and len(deltas) > 1
    assert ["".join(d[i] for d in deltas) for i in range(2)] == got[-1][1]["samples"] == alone


def test_by_default_one_product_steps_the_batch_and_rows_stay_within_the_tolerance(tiny_run, slowed):
    """The default batch: a row's logits against the same row alone, teacher-forced along one
    text for batches of several sizes, the row at several places; then the server's replies."""
    import numpy as np

    from rnntext.generation.runtime import Runtime

    model = load(tiny_run)
    runtime = Runtime(model.info.model, len(model.vocab), model.weights)
    ids = model.encode(model.generate(prime="the ", length=300, seed=5))[0]
    rng = np.random.default_rng(0)
    worst = 0.0
    for size, row in ((2, 1), (7, 3), (64, 0), (64, 37)):
        alone, batch = runtime.streams(1), runtime.streams(size)
        assert batch.product is np.matmul and alone.product is np.matmul  # X @ W.T for the batch
        alone.prime(ids[:4])
        batch.prime(ids[:4])
        others = rng.integers(0, batch.V, (len(ids), size))  # the other rows read other tokens
        for t in range(4, len(ids)):
            others[t, row] = ids[t]
            worst = max(worst, float(np.abs(batch.step(others[t])[row] - alone.step(ids[t:t + 1])[0]).max()))
    assert worst <= BATCH_LOGIT_TOLERANCE
    # The server by default: replies of the requested lengths, a lone request as `rnntext sample` writes it.
    slow = slowed(tiny_run, delay=0.002)
    with TestClient(create_app({"slow": slow}), base_url="http://localhost") as c:
        replies = together(c, "slow", OTHERS[:6], gap=0.02)
        lone = post(c, "slow", TARGET)
    assert [r["tokens"] for r in replies] == [body["length"] for body in OTHERS[:6]]
    assert lone["samples"] == [model.generate(**TARGET)]


def test_a_prime_served_before_is_not_primed_again_and_gives_the_same_text(tiny_run, monkeypatch):
    from rnntext.generation.runtime import Streams
    from rnntext.serve import batching

    passes = []
    real = Streams._sequence_pass
    monkeypatch.setattr(Streams, "_sequence_pass", lambda self, ids: (passes.append(ids.tolist()), real(self, ids))[1])
    monkeypatch.setattr(batching, "PRIMES_KEPT", 2)
    model = load(tiny_run)
    a, b, c_ = ({"prime": p, "length": 40, "seed": 3} for p in ("the ", "a st", "fox"))
    with TestClient(create_app({"tiny": tiny_run}, EXACT), base_url="http://localhost") as c:
        start = len(passes)
        first = post(c, "tiny", a)["samples"]
        assert len(passes) == start + 1
        again = post(c, "tiny", {**a, "seed": 4})["samples"]          # the same prime: no pass
        assert len(passes) == start + 1
        assert post(c, "tiny", a)["samples"] == first                 # and the same text for its seed
        assert len(passes) == start + 1
        post(c, "tiny", {**a, "unknown": "skip"})                     # the prime's reading differs: a pass
        post(c, "tiny", b)
        post(c, "tiny", c_)
        assert len(passes) == start + 4
        assert post(c, "tiny", a)["samples"] == first                 # two primes kept: "the " was dropped
        assert len(passes) == start + 5
    assert first == [model.generate(**a)] and again == [model.generate(**{**a, "seed": 4})]
    assert again != first
