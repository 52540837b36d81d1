"""Evaluation speed: a text scored as one stream (the old way) against many streams at once.

    .venv/bin/python benchmarks/evaluation.py RUN TEXT [--repeat 3]

Prints one JSON line: the machine, the load average, and for each way the seconds (best of
--repeat), the loss and the tokens. The model's random weights do not matter for the speed:
any run directory will do (`rnntext train ... --max-iters 1`).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from rnntext import api, hardware


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("text")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    model = api.load(args.run)
    text = model.read_text([args.text])
    rows, default = {}, api.EVAL_STREAMS
    for name, streams in (("one stream", 1), (f"{default} streams", default)):
        api.EVAL_STREAMS = streams
        best, result = float("inf"), None
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = model.evaluate(text)
            best = min(best, time.perf_counter() - start)
        rows[name] = {"seconds": round(best, 2), "loss": round(result["loss"], 5), "tokens": result["tokens"]}
    print(json.dumps({"machine": hardware.describe(), "load_average": os.getloadavg(),
                      "model": f"{model.info.model.num_layers}x{model.info.model.hidden_sizes[0]} "
                               f"{model.info.model.cell}", "characters": len(text), **rows}))


if __name__ == "__main__":
    main()
