"""A server of one model takes requests without "model"; with several, such a request is told
their names; a request's error names options as JSON fields."""

import json

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install 'rnntext[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

from rnntext.api import load  # noqa: E402
from rnntext.serve.app import create_app  # noqa: E402


@pytest.mark.parametrize("path", ["/v1/generate", "/v1/generate/stream", "/v1/next"])
def test_one_model_needs_no_name(tiny_run, path):
    with TestClient(create_app({"alice": tiny_run}), base_url="http://localhost") as client:
        reply = client.post(path, json={"prime": "the", "length": 20, "seed": 3} if "generate" in path
                            else {"prime": "the"})
    assert reply.status_code == 200, reply.text
    if path == "/v1/generate":
        assert reply.json()["model"] == "alice"
        assert reply.json()["samples"] == [load(tiny_run).generate("the", length=20, seed=3)]
    elif path == "/v1/next":
        assert reply.json()["model"] == "alice" and len(reply.json()["tokens"]) == 10
    else:
        start = reply.text.split("\n\n")[0]
        assert json.loads(start.split("data: ", 1)[1])["model"] == "alice"


def test_several_models_need_a_name_and_are_listed(tiny_run):
    with TestClient(create_app({"alice": tiny_run, "sequel": tiny_run}), base_url="http://localhost") as client:
        reply = client.post("/v1/generate", json={"prime": "the", "length": 5})
        named = client.post("/v1/generate", json={"model": "sequel", "prime": "the", "length": 5})
        wrong = client.post("/v1/generate", json={"model": "sequal", "prime": "the", "length": 5})
    assert reply.status_code == 422
    assert reply.json() == {"error": 'model: this server serves 2 models, so a request names one: "model": NAME, one '
                                     'of "alice", "sequel" (GET /v1/models)'}
    assert named.status_code == 200 and named.json()["model"] == "sequel"
    assert wrong.status_code == 404 and "alice, sequel" in wrong.json()["error"]


def test_a_requests_error_names_json_fields(tiny_run):
    with TestClient(create_app({"alice": tiny_run}), base_url="http://localhost") as client:
        reply = client.post("/v1/generate", json={"prime": "\u20ac\u20ac", "length": 5, "unknown": "error"})
    assert reply.status_code == 422
    assert reply.json()["error"].endswith('pass "unknown": "skip" or "unknown": "replace:C"')
