"""The Host header check (DNS rebinding): the names a server answers to, parsed from any header."""

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install 'rnntext[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

from rnntext.serve.app import create_app  # noqa: E402
from rnntext.serve.hosts import allowed_hosts, allows, name_of  # noqa: E402


@pytest.mark.parametrize(("header", "name"), [
    ("localhost:8000", "localhost"), ("LocalHost.", "localhost"), ("[::1]:80", "::1"), ("[::1]", "::1"),
    ("127.0.0.1", "127.0.0.1"), ("a.example:x", None), ("[::1]x", None), ("", None), (":80", None)])
def test_names_of_host_headers(header, name):
    assert name_of(header) == name


def test_the_names_a_server_answers_to():
    local = allowed_hosts("127.0.0.1")
    assert allows(local, "localhost:1") and allows(local, "[::1]:1") and not allows(local, "evil.example")
    assert not allows(local, None) and not allows(local, "10.0.0.2")
    lan = allowed_hosts("0.0.0.0", ["box.lan"])  # every interface: any literal address, and the names given
    assert allows(lan, "10.0.0.2:8000") and allows(lan, "[fe80::1]:8000") and allows(lan, "box.lan")
    assert not allows(lan, "evil.example") and not allows(lan, "10.0.0.2.evil.example")
    assert allows(allowed_hosts("127.0.0.1", ["*"]), "anything.example")
    assert allows(allowed_hosts("rnn.internal"), "rnn.internal:8000")


def test_the_app_answers_400_to_another_host(tiny_run):
    app = create_app({"tiny": tiny_run})
    with TestClient(app, base_url="http://evil.example") as c:
        r = c.get("/healthz")
        assert r.status_code == 400 and "does not answer to the host 'evil.example'" in r.json()["error"]
        assert c.post("/v1/generate", json={"model": "tiny", "length": 3}).status_code == 400
    with TestClient(app, base_url="http://localhost:8000") as c:
        assert c.get("/healthz").status_code == 200
    with TestClient(create_app({"tiny": tiny_run}, hosts=["evil.example"]), base_url="http://evil.example") as c:
        assert c.get("/healthz").status_code == 200  # a name given with --allowed-hosts
