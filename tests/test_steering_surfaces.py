"""Beam search, the repetition penalty and stop strings on every surface: `sample`, `chat`,
`eval --novelty`, the HTTP API (generated from SampleConfig) and the page's request."""

import io
import json
import sys

import pytest

import rnntext
from rnntext.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run trained by the command line (40 iterations, a few seconds)."""
    folder = tmp_path_factory.mktemp("steer")
    (folder / "t.txt").write_text("the quick brown fox jumps over the lazy dog.\n" * 80)
    flags = "--max-iters 40 --num-layers 1 --hidden-size 16 --embed-size 8 --seq-len 16 --batch-size 8 " \
            "--sample-every 0 --quiet --lr 0.01 --engine numpy"
    assert main(["train", str(folder / "t.txt"), "-o", str(folder / "run"), *flags.split()]) == 0
    return folder / "run"


def cli(capsys, *argv):
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_flags(run, capsys):
    model = rnntext.load(run)
    code, out, _ = cli(capsys, "sample", run, "--prime", "the ", "--length", "80", "--seed", "4", "--stop", "o",
                       "--stop", "z")
    expected = model.generate("the ", length=80, seed=4, stop=("o", "z"))
    assert code == 0 and out == f"the {expected}\n" and "o" not in expected and "z" not in expected
    code, out, _ = cli(capsys, "sample", run, "--prime", "the ", "--length", "40", "--beam", "3", "--num-samples", "2",
                       "--json", "--repetition-penalty", "1.3")
    texts = [json.loads(line)["text"] for line in out.splitlines()]
    assert code == 0 and texts == model.generate("the ", length=40, beam=3, num_samples=2, repetition_penalty=1.3)
    for bad in (["--beam", "2", "--num-samples", "3"], ["--repetition-penalty", "0"], ["--beam", "2", "--verbose"],
                ["--stop", ""], ["--beam", "65"]):
        code, _, err = cli(capsys, "sample", run, *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_chat_and_novelty_take_the_penalty(run, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(":repetition-penalty 1.5\n:beam 2\n:length 10\nthe q\n"))
    assert main(["chat", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["repetition_penalty = 1.5", "beam = 2", "length = 10"]
    assert out[3] == "the q" + rnntext.load(run).generate("the q", length=10, beam=2, repetition_penalty=1.5)
    code, out, err = cli(capsys, "eval", run, "--novelty", "--json", "--num-samples", "2", "--length", "60",
                         "--repetition-penalty", "1.2")
    assert code == 0, err
    assert 0 <= json.loads(out)["novel_share"] <= 1


@pytest.fixture(scope="module")
def client(run):
    pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
    pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx")
    from fastapi.testclient import TestClient

    from rnntext.serve.app import create_app

    with TestClient(create_app({"tiny": run}, {"max_samples": 4}), base_url="http://localhost") as c:
        yield c


def test_http_fields(client, run):
    model = rnntext.load(run)
    request = {"model": "tiny", "prime": "the ", "length": 60, "seed": 2, "stop": ["o", "e"],
               "repetition_penalty": 1.4}
    body = client.post("/v1/generate", json=request).json()
    assert body["samples"] == [model.generate("the ", length=60, seed=2, stop=("o", "e"), repetition_penalty=1.4)]
    one = client.post("/v1/generate", json={**request, "stop": "o"}).json()  # one text is one stop string
    assert "o" not in one["samples"][0]
    beam = client.post("/v1/generate", json={"model": "tiny", "prime": "the ", "length": 30, "beam": 3,
                                             "num_samples": 2}).json()
    assert beam["samples"] == model.generate("the ", length=30, beam=3, num_samples=2)
    response = client.post("/v1/generate/stream", json=request)
    frames = [f for f in response.text.strip().split("\n\n")]
    deltas = [json.loads(f.split("data: ", 1)[1])["delta"][0] for f in frames if f.startswith("event: tokens")]
    assert "".join(deltas) == body["samples"][0]
    for bad, status in (({"beam": 5}, 422), ({"stop": [""]}, 422), ({"stop": [3]}, 422),
                        ({"repetition_penalty": -1}, 422), ({"beam": 2, "num_samples": 3}, 422)):
        answer = client.post("/v1/generate", json={"model": "tiny", **bad})
        assert answer.status_code == status, (bad, answer.text)
    fields = client.get("/openapi.json").json()["components"]["schemas"]["GenerateRequest"]["properties"]
    assert {"beam", "repetition_penalty", "stop"} <= set(fields)
