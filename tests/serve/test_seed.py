"""One seed rule for the server, the command line and the API (rnntext.sampling.with_seed): a
seed that is given is used; left out (or -1) a fresh one is drawn, and the reply returns it."""

import json
import shutil

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install 'rnntext[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

from rnntext import sampling  # noqa: E402
from rnntext.api import load  # noqa: E402
from rnntext.cli import main  # noqa: E402
from rnntext.serve.app import create_app  # noqa: E402


def test_the_rule():
    given = sampling.SampleConfig(seed=7)
    assert sampling.with_seed(given) is given
    fresh = {sampling.with_seed(sampling.SampleConfig()).seed for _ in range(20)}
    assert sampling.SampleConfig().seed == sampling.FRESH_SEED == -1
    assert len(fresh) == 20 and all(0 <= s < 2**31 for s in fresh)
    assert sampling.run_defaults({"seed": 0, "length": 9}) == {"length": 9}


def test_server_cli_and_api_follow_it(tiny_run, tmp_path, capsys):
    # a run whose config.toml records a seed (every run's does) still samples with fresh ones
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    config = (run / "config.toml").read_text()
    (run / "config.toml").write_text(config.replace("seed = -1\n", "seed = 5\n"))
    assert "seed = 5\n" in (run / "config.toml").read_text()
    request = {"model": "tiny", "prime": "the ", "length": 40, "temperature": 1.5}
    with TestClient(create_app({"tiny": run}), base_url="http://localhost") as client:
        replies = [client.post("/v1/generate", json=request).json() for _ in range(3)]
        seeds = [r["seed"] for r in replies]
        assert len(set(seeds)) == 3 and len({r["samples"][0] for r in replies}) == 3
        again = client.post("/v1/generate", json={**request, "seed": seeds[0]}).json()
        assert again == {**replies[0], "seconds": again["seconds"]}
        explicit_fresh = client.post("/v1/generate", json={**request, "seed": -1}).json()
        assert explicit_fresh["seed"] not in seeds and explicit_fresh["seed"] >= 0
        start = client.post("/v1/generate/stream", json=request).text.split("\n")[1]
        assert json.loads(start.removeprefix("data: "))["seed"] >= 0
    model = load(run)
    text = model.generate("the ", length=40, temperature=1.5, seed=seeds[1])
    assert text == replies[1]["samples"][0] and model.last_seed == seeds[1]
    assert main(["sample", str(run), "--prime", "the ", "--length", "40", "--temperature", "1.5",
                 "--seed", str(seeds[2])]) == 0
    assert capsys.readouterr().out == "the " + replies[2]["samples"][0] + "\n"
