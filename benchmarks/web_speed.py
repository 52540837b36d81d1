"""The exported web page: its size and its generation speed in headless Chromium, as one JSON line.

    python benchmarks/web_speed.py [--tokens N]

The model is a 2x256 LSTM on 65 characters with a 64-wide embedding, its weights drawn by the
project's own initialisation (random: speed does not depend on what was learned). It is
written as a run directory and exported with `export_web`; Debian's /usr/bin/chromium
(headless, driven by Playwright; $RNNTEXT_CHROMIUM overrides) opens the page from file://.
Measured:
- `export_bytes`: the whole folder (index.html, page.js, runtime.js, model.js), beside
  `model_js_bytes` and the run's `safetensors_bytes`;
- `load_s`: from navigation to the page being ready (model.js parsed, weights decoded);
- `tokens_per_s` at temperature 0.8 and `greedy_tokens_per_s`: one stream, after a 10-token
  prime and 300 warm-up tokens, generation only (the runtime's generator, no drawing);
- `numpy_tokens_per_s`: the NumPy runtime on the same weights and rule, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import string
import tempfile
import time
from pathlib import Path

import numpy as np

from rnntext import hardware
from rnntext.config import ModelConfig
from rnntext.generation.rules import Rule
from rnntext.generation.runtime import Runtime
from rnntext.interop.web import export_web
from rnntext.model.parameters import init_params
from rnntext.model.saved import RunInfo, write_model
from rnntext.text.levels.symbols import Vocab

V, E, H = 65, 64, 256
CHROMIUM = os.environ.get("RNNTEXT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-dev-shm-usage"]
TIMED = """([n, temperature]) => {
  const m = rnntextModel, prime = m.encode("The quick brown").ids.slice(0, 10);
  const options = {length: 300, temperature, seed: 1n};
  for (const _ of m.tokens(prime, options)) {}            // warm-up: V8 optimises the hot loops
  const start = performance.now();
  let count = 0;
  for (const _ of m.tokens(prime, {...options, length: n, seed: 2n})) count++;
  return count / ((performance.now() - start) / 1000);
}"""


def make_run(root: Path) -> Path:
    cfg = ModelConfig(cell="lstm", num_layers=2, hidden_size=(H,), embed_size=E, dropout=0.0, weight_drop=0.0)
    vocab = Vocab("char", tuple(sorted(set(string.ascii_letters + "012" + " \n.,;:!?'-"))))
    assert len(vocab) == V
    run = root / "run"
    run.mkdir()
    write_model(run, RunInfo(run, cfg, vocab, {}, {}), init_params(cfg, V, np.random.default_rng(0)))
    return run


def numpy_speed(run: Path, n: int) -> float:
    from rnntext import api

    model = api.load(run)
    streams = Runtime(model.info.model, V, model.weights).streams(1)
    streams.prime(model.encode("The quick brown")[0][:10])
    for _ in streams.generate(50, Rule(temperature=0.8), seed=1):
        pass
    start = time.perf_counter()
    for _ in streams.generate(n, Rule(temperature=0.8), seed=2):
        pass
    return n / (time.perf_counter() - start)


def browser_figures(index: Path, n: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(index.as_uri())
        page.wait_for_selector("body[data-state=ready]")
        load_s = time.perf_counter() - start
        sampled = page.evaluate(TIMED, [n, 0.8])
        greedy = page.evaluate(TIMED, [n, 0])
        version = browser.version
        browser.close()
    return {"load_s": round(load_s, 3), "tokens_per_s": round(sampled), "greedy_tokens_per_s": round(greedy),
            "browser": f"chromium {version} (headless)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=3000, help="tokens to time per measurement (default: 3000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = make_run(Path(tmp))
        index = export_web(run, Path(tmp) / "site")
        sizes = {p.name: p.stat().st_size for p in index.parent.iterdir()}
        figures = browser_figures(index, args.tokens)
        result = {"model": f"2x{H} lstm, char, V={V}, embed {E}", "weights": "random (the project's init)",
                  "export_bytes": sum(sizes.values()), "model_js_bytes": sizes["model.js"],
                  "safetensors_bytes": (run / "model.safetensors").stat().st_size, **figures,
                  "numpy_tokens_per_s": round(numpy_speed(run, args.tokens)), "tokens": args.tokens,
                  "machine": hardware.describe()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
