"""Evaluation speed: a text scored as one stream (the old way) against many streams at once, on
the NumPy engine and on torch (the default where torch is installed) in float32 and autocast.

    .venv/bin/python benchmarks/evaluation.py RUN TEXT [--repeat 3] [--slow]

Prints one JSON line: the machine, the load average, and for each way the seconds (best of
--repeat), the loss and the tokens. The model's random weights do not matter for the speed:
any run directory will do (`rnntext train ... --max-iters 1`). --slow runs the same on the slow
speed class: under ../shared/tools/as-avx2 --one-core (one core, AVX2 kernels, float32).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rnntext import api, hardware, scoring

SLOW_TOOL = Path(__file__).resolve().parents[2] / "shared" / "tools" / "as-avx2"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("text")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--slow", action="store_true", help="run under ../shared/tools/as-avx2 --one-core")
    args = p.parse_args()
    if args.slow:
        if not SLOW_TOOL.is_file():
            sys.exit(f"--slow: {SLOW_TOOL} is absent (it lives beside the project)")
        rest = [a for a in sys.argv[1:] if a != "--slow"]
        os.execv(str(SLOW_TOOL), [str(SLOW_TOOL), "--one-core", sys.executable, str(Path(__file__).resolve()),
                                  *rest])
    model = api.load(args.run)
    text = model.read_text([args.text])
    rows, default = {}, scoring.EVAL_STREAMS
    ways = [("numpy, one stream", "numpy", "auto", 1), (f"numpy, {default} streams", "numpy", "auto", default),
            (f"torch float32, {default} streams", "torch", "float32", default),
            (f"torch auto, {default} streams (the default)", "torch", "auto", default)]
    for name, engine, precision, streams in ways:
        scoring.EVAL_STREAMS = streams
        best, result = float("inf"), None
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = model.evaluate(text, engine=engine, precision=precision)
            best = min(best, time.perf_counter() - start)
        rows[name] = {"seconds": round(best, 2), "loss": round(result["loss"], 5), "tokens": result["tokens"],
                      "precision": result["precision"]}
    print(json.dumps({"machine": hardware.describe(), "load_average": os.getloadavg(),
                      "model": f"{model.info.model.num_layers}x{model.info.model.hidden_sizes[0]} "
                               f"{model.info.model.cell}", "characters": len(text), **rows}))


if __name__ == "__main__":
    main()
