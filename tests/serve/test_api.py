"""The HTTP API in-process: every endpoint, every limit, and what a hostile client can send."""

import json
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install 'rnntext[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

from rnntext.api import Model, load  # noqa: E402
from rnntext.errors import ConfigError, MissingExtra  # noqa: E402
from rnntext.sampling import SampleConfig  # noqa: E402
from rnntext.serve.app import ErrorJSON, create_app, listen, model_names  # noqa: E402
from rnntext.serve.limits import Limits  # noqa: E402

STATIC = Path(__file__).resolve().parents[2] / "src" / "rnntext" / "serve" / "static"


@pytest.fixture(scope="module")
def client(tiny_run):
    with TestClient(create_app({"tiny": tiny_run}), base_url="http://localhost") as c:
        yield c


def events(response) -> list[tuple[str, dict]]:
    """(event name, data) of a server-sent event stream."""
    out = []
    for frame in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def assert_error(response, status, limit=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    if limit:
        assert body["limit"] == limit and limit in body["error"]
    return body


def test_health_page_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok", "models": 1}
    page = client.get("/")
    assert page.status_code == 200 and "rnntext playground" in page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/models", "/v1/generate", "/v1/generate/stream", "/v1/next", "/healthz"} <= set(paths)


def test_docs_work_offline(client):
    # FastAPI's Swagger UI and ReDoc load their scripts from a CDN: /docs is a page of our own.
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "/static/docs.js" in docs.text and "://" not in docs.text
    script = client.get("/static/docs.js")
    assert script.status_code == 200 and "/openapi.json" in script.text and "innerHTML" not in script.text
    assert_error(client.get("/redoc"), 404)


def test_page_loads_nothing_from_elsewhere():
    # Works offline: no CDN, no web fonts, no absolute URLs at all.
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name


def test_models(client, tiny_run):
    body = client.get("/v1/models").json()
    (m,) = body["models"]
    summary = load(tiny_run).summary()
    assert m["name"] == "tiny" and m["level"] == "char" and m["cell"] == "lstm"
    assert m["vocab_size"] == summary["vocab_size"] and m["parameters"] == summary["total_parameters"]
    assert m["training"]["iterations"] == 30 and m["training"]["best_val_loss"] > 0
    assert body["limits"]["max_length"] == 2000 and body["limits"]["max_samples"] == 16


def test_generate_matches_the_python_api(client, tiny_run):
    request = {"model": "tiny", "prime": "the ", "length": 40, "temperature": 0.7, "top_k": 5, "seed": 3}
    body = client.post("/v1/generate", json=request).json()
    expected = load(tiny_run).generate("the ", length=40, temperature=0.7, top_k=5, seed=3)
    assert body["samples"] == [expected] and body["tokens"] == 40 and body["seed"] == 3


def test_generate_several_samples_and_a_returned_seed(client):
    body = client.post("/v1/generate", json={"model": "tiny", "length": 25, "num_samples": 3}).json()
    assert len(body["samples"]) == 3 and all(len(s) == 25 for s in body["samples"])
    again = client.post("/v1/generate", json={"model": "tiny", "length": 25, "num_samples": 3,
                                               "seed": body["seed"]}).json()
    assert again["samples"] == body["samples"]


def test_stream_sends_tokens_then_the_same_text(client):
    request = {"model": "tiny", "prime": "a st", "length": 300, "seed": 11, "top_p": 0.9}
    response = client.post("/v1/generate/stream", json=request)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    got = events(response)
    names = [name for name, _ in got]
    assert names[0] == "start" and names[-1] == "done" and "tokens" in names
    streamed = "".join(data["delta"][0] for name, data in got if name == "tokens")
    done = got[-1][1]
    assert streamed == done["samples"][0]
    assert done["samples"] == client.post("/v1/generate", json=request).json()["samples"]


def test_next_tokens_get_and_post(client, tiny_run):
    expected = load(tiny_run).next_tokens("the q", 10)
    for response in (client.get("/v1/next", params={"model": "tiny", "prime": "the q"}),
                     client.post("/v1/next", json={"model": "tiny", "prime": "the q", "top_probs": 10})):
        tokens = response.json()["tokens"]
        assert [t["token"] for t in tokens] == [token for token, _ in expected]
        assert [t["prob"] for t in tokens] == pytest.approx([p for _, p in expected])
    probs = [t["prob"] for t in client.get("/v1/next", params={"model": "tiny", "top_probs": 30}).json()["tokens"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize("path, request_, status, limit", [
    ("/v1/generate", {"length": 2001}, 422, "max_length"),
    ("/v1/generate", {"num_samples": 17}, 422, "max_samples"),
    ("/v1/generate", {"prime": "a" * 10_001}, 413, "max_prime_chars"),
    ("/v1/generate/stream", {"length": 2001}, 422, "max_length"),
    ("/v1/generate/stream", {"prime": "a" * 10_001}, 413, "max_prime_chars"),
    ("/v1/next", {"top_probs": 101}, 422, "max_top_probs"),
    ("/v1/next", {"prime": "a" * 10_001}, 413, "max_prime_chars"),
    ("/v1/generate", {"stop": [f"s{i}" for i in range(17)]}, 422, "max_stops"),
    ("/v1/generate/stream", {"stop": [f"s{i}" for i in range(17)]}, 422, "max_stops"),
    ("/v1/generate", {"stop": ["x" * 501, "y" * 500]}, 413, "max_stop_chars"),
])
def test_default_limits(client, path, request_, status, limit):
    assert_error(client.post(path, json={"model": "tiny", **request_}), status, limit)


def test_limits_at_the_edge_pass(client):
    ok = client.post("/v1/generate", json={"model": "tiny", "prime": "a" * 10_000, "length": 2000, "num_samples": 16})
    assert ok.status_code == 200 and len(ok.json()["samples"]) == 16
    stops = ["zq" * 31 + f"{i:02d}" for i in range(15)] + ["z" * 40]  # 16 strings, 1000 characters
    ok = client.post("/v1/generate", json={"model": "tiny", "length": 2000, "num_samples": 16, "stop": stops,
                                           "prime": "a" * 10_000})
    assert ok.status_code == 200 and len(ok.json()["samples"]) == 16
    ok = client.post("/v1/generate", json={"model": "tiny", "length": 2000, "beam": 16, "stop": stops})
    assert ok.status_code == 200  # 16 x 2000 x 16 = 512,000: max_beam_stop_work


def test_limits_are_configurable(tiny_run):
    limits = {"max_length": 50, "max_samples": 2, "max_prime_chars": 20, "max_top_probs": 5, "max_stops": 2,
              "max_stop_chars": 6, "max_beam_stop_work": 100}
    with TestClient(create_app({"tiny": tiny_run}, limits), base_url="http://localhost") as c:
        assert c.post("/v1/generate", json={"model": "tiny", "length": 50, "num_samples": 2}).status_code == 200
        assert_error(c.post("/v1/generate", json={"model": "tiny", "length": 51}), 422, "max_length")
        assert_error(c.post("/v1/generate", json={"model": "tiny", "num_samples": 3}), 422, "max_samples")
        assert_error(c.post("/v1/generate", json={"model": "tiny", "prime": "a" * 21}), 413, "max_prime_chars")
        assert_error(c.get("/v1/next", params={"model": "tiny", "top_probs": 6}), 422, "max_top_probs")
        assert_error(c.post("/v1/generate", json={"model": "tiny", "stop": ["a", "b", "c"]}), 422, "max_stops")
        assert_error(c.post("/v1/generate", json={"model": "tiny", "stop": ["abcd", "efg"]}), 413, "max_stop_chars")
        assert_error(c.post("/v1/generate", json={"model": "tiny", "stop": ["a", "b"], "beam": 2, "length": 50}), 422,
                     "max_beam_stop_work")
        assert c.post("/v1/generate", json={"model": "tiny", "stop": ["a"], "beam": 2, "length": 50}).status_code == 200
        assert c.get("/v1/models").json()["limits"]["max_length"] == 50


def test_bodies_over_the_cap_are_refused_unread(tiny_run):
    with TestClient(create_app({"tiny": tiny_run}, {"max_prime_chars": 100}), base_url="http://localhost") as c:
        cap = c.get("/v1/models").json()["limits"]["max_body_bytes"]
        big = json.dumps({"model": "tiny", "prime": "x" * cap}).encode()
        assert_error(c.post("/v1/generate", content=big, headers={"content-type": "application/json"}),
                     413, "max_body_bytes")
        chunks = iter([big[i:i + 4096] for i in range(0, len(big), 4096)])  # no Content-Length: chunked
        assert_error(c.post("/v1/generate", content=chunks, headers={"content-type": "application/json"}),
                     413, "max_body_bytes")
        small = iter([json.dumps({"model": "tiny", "length": 5}).encode()])
        assert c.post("/v1/generate", content=small, headers={"content-type": "application/json"}).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_request_timeout(slow_model):
    with TestClient(create_app({"slow": slow_model}, {"request_timeout_s": 0.3}), base_url="http://localhost") as c:
        assert_error(c.post("/v1/generate", json={"model": "slow", "length": 500}), 503, "request_timeout_s")
        got = events(c.post("/v1/generate/stream", json={"model": "slow", "length": 500}))
        assert got[-1][0] == "error" and got[-1][1]["limit"] == "request_timeout_s"
        assert c.post("/v1/generate", json={"model": "slow", "length": 5}).status_code == 200


def test_a_full_queue_answers_503_and_recovers(slow_model):
    limits = {"max_batch": 1, "max_concurrent": 1, "max_queue": 1, "request_timeout_s": 20}  # one runs, one waits
    with TestClient(create_app({"slow": slow_model}, limits), base_url="http://localhost") as c:
        statuses = []

        def call():
            response = c.post("/v1/generate", json={"model": "slow", "length": 60})
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["Retry-After"] == "1" and response.json()["limit"] == "max_queue"

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses)[:2] == [200, 200] and 503 in statuses
        busy = c.post("/v1/generate", json={"model": "slow", "length": 1})
        assert busy.status_code == 200 and c.get("/healthz").status_code == 200


@pytest.mark.parametrize("content, status", [
    (b"{not json", 400),
    (b'{"model": "tiny", "length": 10', 400),
    (b"\xff\xfe\x00garbage", 400),
    (b"[" * 50_000, 400),
    (b'["tiny"]', 422),
    (b'"tiny"', 422),
    (b"", 422),
    (b"null", 422),
])
def test_malformed_bodies(client, content, status):
    response = client.post("/v1/generate", content=content, headers={"content-type": "application/json"})
    assert_error(response, status)
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("field, value", [
    ("length", "abc"), ("length", -1), ("length", 1.5), ("temperature", "hot"), ("temperature", -0.1),
    ("top_k", -3), ("top_p", 0), ("top_p", 1.5), ("seed", -2), ("num_samples", 0), ("prime", 42),
    ("stop_at_end", "maybe"), ("greedy", "maybe"), ("model", ["tiny"]), ("unknown", "ignore"), ("surprise", 1),
])
def test_wrong_types_and_ranges_name_the_field(client, field, value):
    body = assert_error(client.post("/v1/generate", json={"model": "tiny", field: value}), 422)
    assert field in body["error"]


@pytest.mark.parametrize("path", ["/v1/generate", "/v1/generate/stream", "/v1/next"])
@pytest.mark.parametrize("field, value", [("prime", "\\ud800"), ("prime", "the \\udfff q"), ("model", "tiny\\udc80"),
                                          ("unknown", "replace:\\ud83d")])
def test_lone_surrogates_are_the_clients_error(client, path, field, value):
    # JSON can escape half of a surrogate pair alone; no UTF-8 text holds one.
    raw = json.dumps({"model": "tiny"})[:-1] + f', "{field}": "{value}"}}'
    body = assert_error(client.post(path, content=raw.encode(), headers={"content-type": "application/json"}), 422)
    assert body["error"].startswith(f"{field}: ") and "unicode" in body["error"].lower()
    pair = b'{"model": "tiny", "prime": "the \\ud83d\\ude00", "unknown": "skip"}'  # a whole pair is a character
    assert client.post(path, content=pair, headers={"content-type": "application/json"}).status_code == 200


def test_a_surrogate_in_a_key_is_refused_and_errors_always_encode(client):
    raw = b'{"model": "tiny", "\\ud800": 1}'
    assert_error(client.post("/v1/generate", content=raw, headers={"content-type": "application/json"}), 422)
    rendered = ErrorJSON({"error": "prime \ud800 and \u00e9"}).body
    assert json.loads(rendered) == {"error": "prime \ud800 and \u00e9"} and rendered.isascii()


def test_unknown_prime_symbols(client):
    body = assert_error(client.post("/v1/generate", json={"model": "tiny", "prime": "QZ"}), 422)
    assert "vocabulary" in body["error"] and body["error"].endswith('pass "unknown": "skip" or "unknown": "replace:C"')
    assert "--" not in body["error"] and "unknown=" not in body["error"]
    assert assert_error(client.post("/v1/generate/stream", json={"model": "tiny", "prime": "Q"}), 422)
    ok = client.post("/v1/generate", json={"model": "tiny", "prime": "Qthe", "unknown": "skip", "length": 5})
    assert ok.status_code == 200
    replaced = client.post("/v1/next", json={"model": "tiny", "prime": "Qthe", "unknown": "replace: "})
    assert replaced.json()["tokens"] == client.post("/v1/next", json={"model": "tiny", "prime": " the"}).json()["tokens"]
    for bad in ("ignore", "replace:", "replace"):
        assert_error(client.post("/v1/next", json={"model": "tiny", "prime": "Q", "unknown": bad}), 422)
        assert_error(client.get("/v1/next", params={"model": "tiny", "prime": "Q", "unknown": bad}), 422)


@pytest.mark.parametrize("name", ["nope", "../tiny", "/etc/passwd", "tiny/../tiny", "..", ".", "",
                                  "C:\\Windows\\win.ini", "tiny\x00", "%2e%2e%2ftiny", "~/tiny", "x" * 256])
def test_unknown_and_path_like_model_names(client, name):
    for response in (client.post("/v1/generate", json={"model": name}),
                     client.post("/v1/generate/stream", json={"model": name}),
                     client.post("/v1/next", json={"model": name}),
                     client.get("/v1/next", params={"model": name})):
        assert_error(response, 404)
    assert client.get("/healthz").json()["status"] == "ok"


def test_other_routes_and_methods(client):
    assert_error(client.get("/v1/nothing"), 404)
    assert_error(client.get("/v1/generate"), 405)
    assert_error(client.get("/static/../app.py"), 404)
    assert_error(client.get("/v1/next", params={"top_probs": "many"}), 422)
    assert client.get("/v1/next").json()["model"] == "tiny"  # the one model served, after an empty prime


def test_many_random_requests_get_no_server_error(client):
    import random

    rng = random.Random(0)
    fields = ["model", "model", "prime", "length", "temperature", "top_k", "top_p", "seed", "num_samples", "unknown",
              "top_probs", "k", "stop_at_end", "greedy", "x"]
    values = [None, -1, 0, 1e309, "tiny", "../tiny", [], {}, True, "\u0000", "a" * 300, 2**70, "Q\u00ff", "skip",
              "replace:", "replace:Z"]
    statuses = []
    for _ in range(200):
        body = {rng.choice(fields): rng.choice(values) for _ in range(rng.randint(0, 4))}
        raw = json.dumps(body).encode() if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in range(40))
        response = client.post(rng.choice(["/v1/generate", "/v1/next", "/v1/generate/stream"]), content=raw,
                               headers={"content-type": "application/json"})
        assert response.status_code < 500, (body, response.text)  # a few random bodies are valid
        statuses.append(response.status_code)
    assert sum(400 <= s < 500 for s in statuses) > 150 and client.get("/healthz").status_code == 200


def test_model_names_from_directories(tmp_path):
    a, b = tmp_path / "one" / "run", tmp_path / "two" / "run"
    assert list(model_names([a, b, tmp_path / "other"])) == ["run", "run-2", "other"]


def test_limits_are_checked():
    with pytest.raises(ConfigError, match="max_lenght"):
        Limits.of({"max_lenght": 5})
    with pytest.raises(ConfigError, match="max_queue"):
        Limits(max_queue=0)
    for bad in (float("nan"), float("inf"), -1.0, 0):
        with pytest.raises(ConfigError, match=r"request_timeout_s \(--request-timeout\): must be "):
            Limits(request_timeout_s=bad)
    with pytest.raises(ConfigError, match="whole number"):
        Limits(max_length=2.5)


def test_run_without_the_extra_is_the_users_error(monkeypatch):
    import sys

    from rnntext import serve

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingExtra, match=r"^the server needs FastAPI and uvicorn: .+ -m pip install .*'rnntext\[serve\]'$"):
        serve.run(["somewhere"])


def test_a_taken_port_is_the_users_error():
    with listen("127.0.0.1", 0) as taken:
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1:\d+ \(Address already in use\)"):
            listen("127.0.0.1", taken.getsockname()[1])


def test_stop_at_end_on_a_line_model(line_run):
    with TestClient(create_app({"lines": line_run}), base_url="http://localhost") as c:
        assert c.get("/v1/models").json()["models"][0]["lines"] is True
        request = {"model": "lines", "length": 300, "num_samples": 4, "seed": 0, "temperature": 0.5}
        stopped = c.post("/v1/generate", json=request).json()
        running = c.post("/v1/generate", json={**request, "stop_at_end": False}).json()
        assert stopped["tokens"] < 300 and running["tokens"] == 300
        old = c.post("/v1/generate", json={**request, "stop_at_eos": False}).json()  # the old name, for one release
        assert (old["samples"], old["tokens"]) == (running["samples"], 300)
        assert all(len(s) < 300 for s in stopped["samples"])


def test_old_names_still_work_for_one_release(client, tiny_run, caplog):
    new = client.post("/v1/next", json={"model": "tiny", "prime": "the q", "top_probs": 4}).json()["tokens"]
    assert len(new) == 4
    assert client.post("/v1/next", json={"model": "tiny", "prime": "the q", "k": 4}).json()["tokens"] == new
    assert client.get("/v1/next", params={"model": "tiny", "prime": "the q", "k": 4}).json()["tokens"] == new
    assert "old field 'k'" in caplog.text and "'top_probs'" in caplog.text
    with pytest.warns(DeprecationWarning, match="time_limit_s is now request_timeout_s"):
        assert Limits.of({"time_limit_s": 7.0}).request_timeout_s == 7.0
    with pytest.warns(DeprecationWarning, match="max_top is now max_top_probs"):
        assert Limits.of({"max_top": 3}).max_top_probs == 3


def test_a_left_out_option_is_the_runs_then_the_default(tiny_run):
    model = load(tiny_run)
    greedy = Model(model.info, model.weights, {"greedy": True, "length": 30})  # a run whose [sample] says so
    with TestClient(create_app({"plain": tiny_run, "greedy": greedy}, {"max_length": 700}), base_url="http://localhost") as c:
        body = c.post("/v1/generate", json={"model": "plain", "seed": 1}).json()
        assert body["tokens"] == SampleConfig.length == 500  # the one default, not a server's own
        assert body["samples"] == [model.generate(seed=1)]
        a = c.post("/v1/generate", json={"model": "greedy", "prime": "the "}).json()
        b = c.post("/v1/generate", json={"model": "greedy", "prime": "the ", "seed": 99}).json()
        assert a["tokens"] == 30 and a["samples"] == b["samples"] == [model.generate("the ", length=30, greedy=True)]
    with TestClient(create_app({"plain": tiny_run}, {"max_length": 40}), base_url="http://localhost") as c:
        assert c.post("/v1/generate", json={"model": "plain"}).json()["tokens"] == 40  # capped at max_length
        assert_error(c.post("/v1/generate", json={"model": "plain", "length": 41}), 422, "max_length")
